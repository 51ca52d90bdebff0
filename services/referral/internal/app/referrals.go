package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/services/referral/internal/referral"
	repo "github.com/polku-hb/polku/services/referral/internal/store"
)

// Draft is the input of CreateReferral.
type Draft struct {
	ClientID           string
	SendingUnit        string
	SendingResponsible *referral.Person
	RecipientOffering  string
	Needs              []referral.NeedRef
	Urgency            string
	RequestNote        string
	Commitment         *referral.Commitment
}

func (d Draft) validate() error {
	var vs referral.Violations
	if d.ClientID == "" || strings.Contains(d.ClientID, "/") {
		vs = append(vs, referral.Violation{Field: "referral.client", Rule: "must be clients/{client}"})
	}
	if strings.TrimSpace(d.SendingUnit) == "" {
		vs = append(vs, referral.Violation{Field: "referral.sending_unit", Rule: "is required"})
	}
	if _, _, ok := offeringParts(d.RecipientOffering); !ok {
		vs = append(vs, referral.Violation{Field: "referral.recipient_offering", Rule: "must be providers/{provider}/offerings/{offering}"})
	}
	if c := d.Commitment; c != nil {
		if !strings.HasPrefix(c.Budget, "clients/"+d.ClientID+"/budgets/") {
			vs = append(vs, referral.Violation{Field: "referral.commitment.budget", Rule: "must be a budget of the referral's client"})
		}
		if c.LineID == "" {
			vs = append(vs, referral.Violation{Field: "referral.commitment.line_id", Rule: "is required"})
		}
		if c.AmountCents <= 0 {
			vs = append(vs, referral.Violation{Field: "referral.commitment.amount_cents", Rule: "must be greater than 0"})
		}
	}
	if len(vs) > 0 {
		return vs
	}
	return nil
}

func offeringParts(name string) (provider, offering string, ok bool) {
	rest, ok := strings.CutPrefix(name, "providers/")
	if !ok {
		return "", "", false
	}
	p, o, ok := strings.Cut(rest, "/offerings/")
	if !ok || p == "" || o == "" || strings.Contains(p, "/") || strings.Contains(o, "/") {
		return "", "", false
	}
	return p, o, true
}

// Create makes a DRAFT referral. A retry with the same request id (by the
// same caller) returns the first result: the id is derived from it.
func (s *Service) Create(ctx context.Context, d Draft, requestID string) (*referral.Referral, int64, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, 0, err
	}
	if err := d.validate(); err != nil {
		return nil, 0, err
	}
	if _, err := s.teamWorker(ctx, p, d.ClientID); err != nil {
		return nil, 0, err
	}
	id := newID()
	if requestID != "" {
		id = derivedID("create", p.Subject, requestID)
	}
	return s.create(ctx, p, d, id, requestID != "")
}

// create writes a DRAFT with the given id; when idempotent, an existing
// referral with the id is the result.
func (s *Service) create(ctx context.Context, p auth.Principal, d Draft, id string, idempotent bool) (*referral.Referral, int64, error) {
	if idempotent {
		if r, v, err := s.Repo.Referral(ctx, id); err == nil {
			return r, v, nil
		}
	}
	provider, _, _ := offeringParts(d.RecipientOffering)
	now := s.now()
	r := &referral.Referral{ID: id, ClientID: d.ClientID, Region: p.Region, Sender: p.Subject, SendingUnit: d.SendingUnit,
		RecipientOffering: d.RecipientOffering, RecipientProvider: provider, Needs: d.Needs, Urgency: d.Urgency,
		RequestNote: d.RequestNote, Commitment: d.Commitment, State: referral.Draft, StateSince: now,
		CreateTime: now, UpdateTime: now}
	if d.SendingResponsible != nil && d.SendingResponsible.DisplayName != "" {
		r.SendingResponsible = *d.SendingResponsible
	} else {
		r.SendingResponsible = referral.Person{Subject: p.Subject, DisplayName: p.Subject}
	}
	if r.Commitment != nil {
		r.Commitment.LedgerEntry, r.Commitment.Released = "", false
	}
	a := referral.Actor{Subject: p.Subject, Role: string(p.Role)}
	w := s.Repo.NewWrite(id).Referral(nil, r, 0).Emit(s.event(ctx, a, "referral.created", r, nil))
	if err := s.Repo.Commit(ctx, w); err != nil {
		if errors.Is(err, repo.ErrConflict) && idempotent {
			if r, v, err := s.Repo.Referral(ctx, id); err == nil {
				return r, v, nil
			}
		}
		return nil, 0, notFound(err)
	}
	return r, 1, nil
}

// View is a referral as a caller may see it.
type View struct {
	R       *referral.Referral
	Version int64
	// Provider is true when the caller is the recipient provider: the client
	// id and the commitment's budget fields are hidden, and the packet is
	// filtered by the consents in force now.
	Provider  bool
	Withdrawn []string
}

// Get reads a referral the caller may see. A DRAFT carries the offering's
// current capacity.
func (s *Service) Get(ctx context.Context, id string) (View, error) {
	p, err := principal(ctx)
	if err != nil {
		return View{}, err
	}
	r, v, err := s.Repo.Referral(ctx, id)
	if err != nil {
		return View{}, notFound(err)
	}
	view, err := s.view(ctx, p, r, v)
	if err != nil {
		return View{}, err
	}
	if r.State == referral.Draft {
		if o, err := s.Catalogue.Offering(ctx, r.RecipientOffering); err == nil {
			r.Capacity, r.WaitingBand = o.Capacity, o.WaitingBand
		}
	}
	return view, nil
}

// view authorizes a read and filters it for providers.
func (s *Service) view(ctx context.Context, p auth.Principal, r *referral.Referral, v int64) (View, error) {
	switch p.Role {
	case auth.RoleProvider:
		if p.ProviderID != r.RecipientProvider || !r.WasSent() {
			return View{}, ErrNotFound
		}
		out := View{R: r, Version: v, Provider: true}
		if r.Packet != nil {
			sctx, err := s.asService(ctx)
			if err != nil {
				return View{}, err
			}
			d, err := s.Clients.Disclosure(sctx, r.ClientID, r.RecipientProvider)
			if err != nil {
				return View{}, ErrPeerUnavailable // fail closed: no packet without a consent check
			}
			pk, withdrawn := r.Packet.Filter(d.Categories)
			r.Packet, out.Withdrawn = &pk, withdrawn
		}
		return out, nil
	case auth.RoleClient, auth.RoleAssistant:
		if !p.ActsFor(r.ClientID) {
			return View{}, ErrNotFound
		}
		return View{R: r, Version: v}, nil
	case auth.RoleWorker, auth.RoleManager:
		if _, err := s.teamWorker(ctx, p, r.ClientID); err != nil {
			if errors.Is(err, ErrPermission) {
				return View{}, ErrNotFound
			}
			return View{}, err
		}
		return View{R: r, Version: v}, nil
	}
	return View{}, ErrPermission
}

// Verb is a lifecycle verb's input.
type Verb struct {
	ID, Etag, RequestID string
	Reason              string
	AckNoCapacity       bool
	Receiving           *referral.Person
	Outcome             *referral.Outcome
	DeclineReason       string
}

type role int

const (
	byWorker role = iota
	byProvider
	byWorkerOrClient
)

var verbRole = map[referral.Verb]role{
	referral.VSend: byWorker, referral.VReceive: byProvider, referral.VAccept: byProvider, referral.VStart: byProvider,
	referral.VHold: byProvider, referral.VResume: byProvider, referral.VComplete: byProvider, referral.VDecline: byProvider,
	referral.VRedirect: byWorker, referral.VCancel: byWorkerOrClient, referral.VClose: byWorker, referral.VReopen: byWorker,
}

func (s *Service) authorizeVerb(ctx context.Context, p auth.Principal, r *referral.Referral, v referral.Verb) error {
	switch verbRole[v] {
	case byProvider:
		if p.Role != auth.RoleProvider || p.ProviderID != r.RecipientProvider || !r.WasSent() {
			if p.Role == auth.RoleProvider {
				return ErrNotFound
			}
			return ErrPermission
		}
		return nil
	case byWorkerOrClient:
		if (p.Role == auth.RoleClient || p.Role == auth.RoleAssistant) && p.ActsFor(r.ClientID) {
			return nil
		}
	}
	if p.Role == auth.RoleProvider {
		return ErrNotFound
	}
	_, err := s.teamWorker(ctx, p, r.ClientID)
	return err
}

func validateVerb(v referral.Verb, in Verb) error {
	var vs referral.Violations
	switch v {
	case referral.VHold, referral.VCancel, referral.VClose, referral.VReopen:
		if strings.TrimSpace(in.Reason) == "" {
			vs = append(vs, referral.Violation{Field: "reason", Rule: "is required"})
		}
	case referral.VAccept:
		if in.Receiving == nil || strings.TrimSpace(in.Receiving.DisplayName) == "" {
			vs = append(vs, referral.Violation{Field: "receiving_responsible.display_name", Rule: "is required"})
		}
	case referral.VDecline:
		if in.DeclineReason == "" || in.DeclineReason == "DECLINE_REASON_UNSPECIFIED" {
			vs = append(vs, referral.Violation{Field: "reason", Rule: "is required"})
		}
		if strings.TrimSpace(in.Reason) == "" {
			vs = append(vs, referral.Violation{Field: "note", Rule: "is required"})
		}
	case referral.VComplete:
		if in.Outcome == nil {
			vs = append(vs, referral.Violation{Field: "outcome", Rule: "is required"})
		} else if err := in.Outcome.Validate(); err != nil {
			return err
		}
	}
	if len(in.RequestID) > 100 {
		vs = append(vs, referral.Violation{Field: "request_id", Rule: "must be at most 100 characters"})
	}
	if len(vs) > 0 {
		return vs
	}
	return nil
}

// Do applies a lifecycle verb (all but :redirect).
func (s *Service) Do(ctx context.Context, v referral.Verb, in Verb) (View, error) {
	p, err := principal(ctx)
	if err != nil {
		return View{}, err
	}
	if err := validateVerb(v, in); err != nil {
		return View{}, err
	}
	r, ver, err := s.Repo.Referral(ctx, in.ID)
	if err != nil {
		return View{}, notFound(err)
	}
	if err := s.authorizeVerb(ctx, p, r, v); err != nil {
		return View{}, err
	}
	if in.RequestID != "" && r.Requests[in.RequestID] == v {
		return s.view(ctx, p, r, ver)
	}
	if err := checkEtag(in.Etag, ver); err != nil {
		return View{}, err
	}
	r, ver, err = s.apply(ctx, p, r, ver, v, in)
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, p, r, ver)
}

// apply runs one verb on a loaded referral: checks the transition, makes the
// peer calls the verb needs (catalogue, consent, budget) before anything is
// written, then writes the state, its escalations and its event in one batch.
func (s *Service) apply(ctx context.Context, p auth.Principal, r *referral.Referral, ver int64, v referral.Verb, in Verb) (out *referral.Referral, outVer int64, err error) {
	to, err := referral.Check(r, v)
	if err != nil {
		return nil, 0, err
	}
	ctx, span := s.startHandoff(ctx, SpanHandoff, r, v)
	defer func() { endSpan(span, err) }()
	span.SetAttributes(attribute.String(AttrStateTo, string(to)), attribute.String(AttrProviderKind, kindOf(r)))

	before := *r
	now := s.now()
	actor := referral.Actor{Subject: p.Subject, Role: string(p.Role)}
	data := map[string]string{"from": string(r.State), "to": string(to)}

	switch v {
	case referral.VSend:
		if err := s.prepareSend(ctx, r, in.AckNoCapacity, now); err != nil {
			return nil, 0, err
		}
		sc := span.SpanContext()
		r.FirstSpan = referral.SpanRef{TraceID: sc.TraceID().String(), SpanID: sc.SpanID().String()}
		r.SendTime = now
	case referral.VCancel, referral.VClose, referral.VRedirect:
		if err := s.release(ctx, p, r, in.Reason); err != nil {
			return nil, 0, err
		}
	case referral.VComplete:
		if !in.Outcome.ServiceDelivered {
			if err := s.release(ctx, p, r, in.Outcome.Reason); err != nil {
				return nil, 0, err
			}
		}
	}

	reason := in.Reason
	implicit := time.Duration(-1)
	if v == referral.VAccept && r.State == referral.Sent {
		// From SENT, RECEIVED is recorded too.
		implicit = r.Move(referral.Received, actor, "", now, s.Policy)
	}
	from := r.State
	spent := r.Move(to, actor, reason, now, s.Policy)
	switch v {
	case referral.VAccept:
		r.ReceivingResponsible = in.Receiving
		data["receiving_responsible"] = in.Receiving.Subject
	case referral.VHold:
		r.HoldReason = in.Reason
	case referral.VResume:
		r.HoldReason = ""
	case referral.VComplete:
		r.Outcome = in.Outcome
		r.Transitions[len(r.Transitions)-1].Reason = in.Outcome.Reason
		data["result"] = in.Outcome.Result
	case referral.VDecline:
		r.Decline = &referral.Decline{Reason: in.DeclineReason, Note: in.Reason, DeclinedBy: p.Subject, Time: now}
		data["decline_reason"] = in.DeclineReason
	case referral.VCancel, referral.VClose, referral.VReopen:
		r.EndReason = in.Reason
		if v == referral.VReopen {
			r.Outcome, r.Decline = nil, nil
		}
	}
	if in.RequestID != "" {
		if r.Requests == nil {
			r.Requests = map[string]referral.Verb{}
		}
		r.Requests[in.RequestID] = v
	}
	w := s.Repo.NewWrite(r.ID)
	if err := s.resolveEscalations(ctx, w, r, now); err != nil {
		return nil, 0, err
	}
	w.Referral(&before, r, ver).Emit(s.event(ctx, actor, "referral."+eventName[v], r, data))
	if err := s.Repo.Commit(ctx, w); err != nil {
		return nil, 0, notFound(err)
	}
	if implicit >= 0 {
		s.inState.Record(ctx, implicit.Seconds(), metric.WithAttributes(attribute.String("state", string(referral.Sent)),
			attribute.String("provider_kind", kindOf(r))))
	}
	s.observe(ctx, r, v, from, spent)
	return r, ver + 1, nil
}

// eventName is the event type (after "polku.referral.v1.referral.") of a verb.
var eventName = map[referral.Verb]string{
	referral.VSend: "sent", referral.VReceive: "received", referral.VAccept: "accepted", referral.VStart: "started",
	referral.VHold: "held", referral.VResume: "resumed", referral.VComplete: "completed", referral.VDecline: "declined",
	referral.VRedirect: "redirected", referral.VCancel: "cancelled", referral.VClose: "closed", referral.VReopen: "reopened",
}

// prepareSend checks the offering, freezes the packet and makes the budget
// commitment. Nothing is written: if any step fails the referral stays DRAFT.
// The commitment's request id is derived from the referral, so a send retried
// after a failed write finds the same commitment instead of making a second.
func (s *Service) prepareSend(ctx context.Context, r *referral.Referral, ack bool, now time.Time) error {
	o, err := s.Catalogue.Offering(ctx, r.RecipientOffering)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return referral.ErrNotLive
		}
		return err
	}
	if !o.Live {
		return referral.ErrNotLive
	}
	if o.Capacity == "CAPACITY_NO" && !ack {
		return referral.ErrNoCapacity
	}
	r.Capacity, r.WaitingBand, r.ProviderKind = o.Capacity, o.WaitingBand, o.ProviderKind
	r.ResponseDeadline, r.StartDeadline = o.ResponseDeadline, o.StartDeadline
	trace.SpanFromContext(ctx).SetAttributes(attribute.String(AttrProviderKind, kindOf(r)))

	d, err := s.Clients.Disclosure(ctx, r.ClientID, r.RecipientProvider)
	if err != nil {
		return err
	}
	r.Packet = &referral.Packet{Categories: d.Categories, Languages: d.Languages, ContactPreference: d.ContactPreference,
		Contact: d.Contact, CoordinatingWorker: d.CoordinatingWorker, RequestNote: r.RequestNote, FreezeTime: now}
	if err := s.fillPacket(ctx, r); err != nil {
		return err
	}

	if c := r.Commitment; c != nil && c.LedgerEntry == "" {
		entry, err := s.Budget.Commit(ctx, c.Budget, c.LineID, c.AmountCents, Name(r.ID), "providers/"+r.RecipientProvider,
			sendRequestID(r.ID, c))
		if err != nil {
			return err
		}
		c.LedgerEntry = entry
	}
	return nil
}

// sendRequestID is the budget request id of a send's commitment: derived from
// the referral and the commitment's terms, so a send retried after a lost
// answer finds the commitment it made, while a send after the draft's
// commitment was changed makes a new one instead of picking up a commitment
// for other terms. (The commitment of the failed attempt stays open in the
// budget until a worker releases it: docs/referral.md.)
func sendRequestID(id string, c *referral.Commitment) string {
	sum := sha256.Sum256([]byte(c.Budget + "\x00" + c.LineID + "\x00" + strconv.FormatInt(c.AmountCents, 10)))
	return budgetRequestID(id, "send-"+hex.EncodeToString(sum[:6]))
}

// budgetRequestID is the request id of a budget move made for a referral:
// derived from the referral so a retry finds the same move; the budget service
// allows no '/' in request ids, so it is not the resource name.
func budgetRequestID(id, move string) string { return "referral-" + id + "-" + move }

// fillPacket reads the consented categories owned by other services (plan
// goals and assessment summary from assessment, budget totals from budget)
// into the packet, only for the categories the clients service allowed. Any
// read failure fails the send (UNAVAILABLE): a packet is never frozen short
// of what the client agreed to share, and nothing is written.
func (s *Service) fillPacket(ctx context.Context, r *referral.Referral) error {
	pk := r.Packet
	for _, c := range pk.Categories {
		switch c {
		case referral.CategoryPlanGoals:
			if s.Assessment == nil {
				return ErrPeerUnavailable
			}
			goals, err := s.Assessment.PlanGoals(ctx, r.ClientID)
			if err != nil {
				return packetErr(err)
			}
			pk.PlanGoals = goals
		case referral.CategoryAssessmentSummary:
			if s.Assessment == nil {
				return ErrPeerUnavailable
			}
			sum, err := s.Assessment.AssessmentSummary(ctx, r.ClientID)
			if err != nil {
				return packetErr(err)
			}
			pk.AssessmentSummary = sum
		case referral.CategoryBudgetSummary:
			budget := ""
			if r.Commitment != nil {
				budget = r.Commitment.Budget
			}
			b, err := s.Budget.Summary(ctx, r.ClientID, budget)
			if err != nil {
				return packetErr(err)
			}
			pk.Budget = b
		}
	}
	return nil
}

// packetErr maps a failed packet read: the caller's own denials pass through,
// anything else is UNAVAILABLE.
func packetErr(err error) error {
	if errors.Is(err, ErrPermission) || errors.Is(err, ErrUnauthenticated) || errors.Is(err, context.Canceled) {
		return err
	}
	return ErrPeerUnavailable
}

// release returns an open commitment (idempotent on a request id derived
// from the referral and its transition count). Provider verbs release with
// the service's own identity: the provider has no say over the budget.
func (s *Service) release(ctx context.Context, p auth.Principal, r *referral.Referral, reason string) error {
	c := r.Commitment
	if c == nil || c.LedgerEntry == "" || c.Released {
		return nil
	}
	cctx := ctx
	if p.Role == auth.RoleProvider || p.Role == auth.RoleClient || p.Role == auth.RoleAssistant {
		var err error
		if cctx, err = s.asService(ctx); err != nil {
			return err
		}
	}
	if reason == "" {
		reason = "referral ended without service"
	}
	if err := s.Budget.Release(cctx, c.Budget, c.LedgerEntry, reason, budgetRequestID(r.ID, "release")); err != nil {
		return err
	}
	c.Released = true
	return nil
}

// Redirect closes a NEEDS_REDIRECT referral as DECLINED and sends a successor
// to another offering. Restartable: the successor's id is derived from the
// declined referral, so a retry finds and finishes it.
func (s *Service) Redirect(ctx context.Context, in Verb, offering, note string, commitment *referral.Commitment) (View, View, error) {
	p, err := principal(ctx)
	if err != nil {
		return View{}, View{}, err
	}
	if _, _, ok := offeringParts(offering); !ok {
		return View{}, View{}, referral.Violations{{Field: "recipient_offering", Rule: "must be providers/{provider}/offerings/{offering}"}}
	}
	r, ver, err := s.Repo.Referral(ctx, in.ID)
	if err != nil {
		return View{}, View{}, notFound(err)
	}
	if err := s.authorizeVerb(ctx, p, r, referral.VRedirect); err != nil {
		return View{}, View{}, err
	}
	if r.State == referral.Declined && r.RedirectedTo != "" {
		succ, sv, err := s.Repo.Referral(ctx, strings.TrimPrefix(r.RedirectedTo, "referrals/"))
		if err != nil {
			return View{}, View{}, notFound(err)
		}
		return View{R: r, Version: ver}, View{R: succ, Version: sv}, nil
	}
	if err := checkEtag(in.Etag, ver); err != nil {
		return View{}, View{}, err
	}
	if _, err := referral.Check(r, referral.VRedirect); err != nil {
		return View{}, View{}, err
	}
	if note == "" {
		note = r.RequestNote
	}
	d := Draft{ClientID: r.ClientID, SendingUnit: r.SendingUnit, SendingResponsible: &r.SendingResponsible,
		RecipientOffering: offering, Needs: r.Needs, Urgency: r.Urgency, RequestNote: note, Commitment: commitment}
	if err := d.validate(); err != nil {
		return View{}, View{}, err
	}
	// 1. The successor DRAFT (idempotent).
	// Its id derives from the declined referral alone, so a retry by anyone
	// finds it.
	succ, sv, err := s.create(ctx, p, d, derivedID("redirect", r.ID), true)
	if err != nil {
		return View{}, View{}, err
	}
	// 2. Send it (its own commitment idempotent on its id).
	if succ.State == referral.Draft {
		succ.RedirectedFrom = Name(r.ID)
		succ.FirstSpan = r.FirstSpan
		if succ, sv, err = s.apply(ctx, p, succ, sv, referral.VSend, Verb{ID: succ.ID, AckNoCapacity: in.AckNoCapacity}); err != nil {
			return View{}, View{}, err
		}
	}
	// 3. The declined one: release and close as DECLINED.
	r.RedirectedTo = Name(succ.ID)
	in.Reason = "redirected to " + offering
	r, ver, err = s.apply(ctx, p, r, ver, referral.VRedirect, in)
	if err != nil {
		return View{}, View{}, err
	}
	return View{R: r, Version: ver}, View{R: succ, Version: sv}, nil
}

// Update changes a DRAFT referral's fields named in mask (sending_unit,
// sending_responsible, needs, urgency, request_note, commitment); etag is
// required.
func (s *Service) Update(ctx context.Context, id, etag string, mask []string, d Draft) (*referral.Referral, int64, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, 0, err
	}
	if etag == "" {
		return nil, 0, referral.Violations{{Field: "referral.etag", Rule: "is required"}}
	}
	if len(mask) == 0 {
		return nil, 0, referral.Violations{{Field: "update_mask", Rule: "is required"}}
	}
	r, ver, err := s.Repo.Referral(ctx, id)
	if err != nil {
		return nil, 0, notFound(err)
	}
	if p.Role == auth.RoleProvider || p.Role == auth.RoleClient || p.Role == auth.RoleAssistant {
		return nil, 0, ErrNotFound
	}
	if _, err := s.teamWorker(ctx, p, r.ClientID); err != nil {
		return nil, 0, err
	}
	if err := checkEtag(etag, ver); err != nil {
		return nil, 0, err
	}
	if r.State != referral.Draft {
		return nil, 0, referral.ErrNotDraft
	}
	before := *r
	for _, f := range mask {
		switch f {
		case "sending_unit":
			r.SendingUnit = d.SendingUnit
		case "sending_responsible":
			if d.SendingResponsible == nil || d.SendingResponsible.DisplayName == "" {
				return nil, 0, referral.Violations{{Field: "referral.sending_responsible.display_name", Rule: "is required"}}
			}
			r.SendingResponsible = *d.SendingResponsible
		case "needs":
			r.Needs = d.Needs
		case "urgency":
			r.Urgency = d.Urgency
		case "request_note":
			r.RequestNote = d.RequestNote
		case "commitment":
			r.Commitment = d.Commitment
		default:
			return nil, 0, referral.Violations{{Field: "update_mask", Rule: "may name sending_unit, sending_responsible, needs, urgency, request_note, commitment; not " + f}}
		}
	}
	check := Draft{ClientID: r.ClientID, SendingUnit: r.SendingUnit, RecipientOffering: r.RecipientOffering, Commitment: r.Commitment}
	if err := check.validate(); err != nil {
		return nil, 0, err
	}
	r.UpdateTime = s.now()
	a := referral.Actor{Subject: p.Subject, Role: string(p.Role)}
	w := s.Repo.NewWrite(r.ID).Referral(&before, r, ver).Emit(s.event(ctx, a, "referral.updated", r, nil))
	if err := s.Repo.Commit(ctx, w); err != nil {
		return nil, 0, notFound(err)
	}
	return r, ver + 1, nil
}
