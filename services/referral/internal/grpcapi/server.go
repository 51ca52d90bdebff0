// Package grpcapi is the gRPC surface of the referral service: request
// validation, mapping between the API and the domain, and errors to statuses.
package grpcapi

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/polku-hb/polku/platform/apierr"
	"github.com/polku-hb/polku/platform/pagination"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
	"github.com/polku-hb/polku/services/referral/internal/app"
	"github.com/polku-hb/polku/services/referral/internal/referral"
)

// Server implements referralv1.ReferralServiceServer. Webhook subscriptions
// and deliveries are not implemented yet (UNIMPLEMENTED).
type Server struct {
	referralv1.UnimplementedReferralServiceServer
	app *app.Service
	log *slog.Logger
}

// New builds the server.
func New(a *app.Service, log *slog.Logger) *Server { return &Server{app: a, log: log} }

func idOf(name string) (string, error) {
	id, ok := strings.CutPrefix(name, "referrals/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", referral.Violations{{Field: "name", Rule: "must be referrals/{referral}"}}
	}
	return id, nil
}

func (s *Server) toStatus(ctx context.Context, resource string, err error) error {
	var vs referral.Violations
	var te *referral.TransitionError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &vs):
		out := make([]apierr.Violation, len(vs))
		for i, v := range vs {
			out[i] = apierr.Violation{Field: v.Field, Description: v.Rule}
		}
		return apierr.Invalid(out...)
	case errors.As(err, &te):
		return apierr.IllegalTransition(resource, string(te.From), te.Allowed)
	case errors.Is(err, referral.ErrNoCapacity):
		return apierr.New(codes.FailedPrecondition, "NO_CAPACITY", err.Error(), nil)
	case errors.Is(err, referral.ErrNotDraft):
		return apierr.New(codes.FailedPrecondition, "NOT_DRAFT", err.Error(), nil)
	case errors.Is(err, referral.ErrNotLive):
		return apierr.New(codes.FailedPrecondition, "OFFERING_NOT_LIVE", err.Error(), nil)
	case errors.Is(err, app.ErrBudgetRefused):
		return apierr.New(codes.FailedPrecondition, "COMMITMENT_REFUSED", "the budget service refused the commitment (budget not active or line without enough available funds); the referral stays DRAFT", nil)
	case errors.Is(err, pagination.ErrBadToken), errors.Is(err, pagination.ErrNegativeSize):
		return apierr.Invalid(apierr.Violation{Field: "page_token", Description: err.Error()})
	case errors.Is(err, app.ErrUnauthenticated):
		return status.Error(codes.Unauthenticated, "missing or invalid bearer token")
	case errors.Is(err, app.ErrPermission):
		return apierr.New(codes.PermissionDenied, "NO_RELATIONSHIP",
			"the caller has no relationship to "+resource+" that allows this (team worker, region manager, the recipient provider, or the client themself)", nil)
	case errors.Is(err, app.ErrNotFound):
		return apierr.NotFound(resource)
	case errors.Is(err, app.ErrStaleEtag):
		return apierr.StaleEtag(resource)
	case errors.Is(err, app.ErrBusy):
		return apierr.Conflict(resource)
	case errors.Is(err, app.ErrPeerUnavailable):
		return apierr.Unavailable("a peer service (clients, catalogue or budget); nothing was changed, retry with the same request_id")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	}
	s.log.ErrorContext(ctx, "request failed", "error", err.Error())
	return apierr.Unavailable("the referral store")
}

func lang(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, k := range []string{"accept-language", "grpcgateway-accept-language"} {
		if v := md.Get(k); len(v) > 0 && strings.HasPrefix(strings.ToLower(v[0]), "en") {
			return "en"
		}
	}
	return "fi"
}

// CreateReferral implements the API.
func (s *Server) CreateReferral(ctx context.Context, req *referralv1.CreateReferralRequest) (*referralv1.Referral, error) {
	in := req.GetReferral()
	d := app.Draft{ClientID: strings.TrimPrefix(in.GetClient(), "clients/"), SendingUnit: in.GetSendingUnit(),
		RecipientOffering: in.GetRecipientOffering(), Urgency: in.GetUrgency().String(), RequestNote: in.GetRequestNote()}
	if !strings.HasPrefix(in.GetClient(), "clients/") {
		d.ClientID = ""
	}
	if sr := in.GetSendingResponsible(); sr != nil {
		d.SendingResponsible = person(sr)
	}
	for _, n := range in.GetNeeds() {
		d.Needs = append(d.Needs, referral.NeedRef{Assessment: n.GetAssessment(), NeedID: n.GetNeedId()})
	}
	if c := in.GetCommitment(); c != nil {
		d.Commitment = &referral.Commitment{Budget: c.GetBudget(), LineID: c.GetLineId(), AmountCents: c.GetAmountCents()}
	}
	r, v, err := s.app.Create(ctx, d, req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, "referral", err)
	}
	return toProto(app.View{R: r, Version: v}, lang(ctx)), nil
}

func person(p *referralv1.ResponsiblePerson) *referral.Person {
	if p == nil {
		return nil
	}
	return &referral.Person{Subject: p.GetSubject(), DisplayName: p.GetDisplayName(), Phone: p.GetPhone(), Email: p.GetEmail()}
}

// GetReferral implements the API.
func (s *Server) GetReferral(ctx context.Context, req *referralv1.GetReferralRequest) (*referralv1.Referral, error) {
	id, err := idOf(req.GetName())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	v, err := s.app.Get(ctx, id)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return toProto(v, lang(ctx)), nil
}

// ListReferrals implements the API.
func (s *Server) ListReferrals(ctx context.Context, req *referralv1.ListReferralsRequest) (*referralv1.ListReferralsResponse, error) {
	if err := unsupportedListOptions("", req.GetOrderBy()); err != nil {
		return nil, s.toStatus(ctx, "referrals", err)
	}
	size, err := pagination.Size(req.GetPageSize())
	if err != nil {
		return nil, s.toStatus(ctx, "referrals", err)
	}
	f, err := app.ParseFilter(req.GetFilter())
	if err != nil {
		return nil, s.toStatus(ctx, "referrals", err)
	}
	q := req.GetFilter() + "|" + req.GetOrderBy()
	after, err := pagination.Decode(req.GetPageToken(), q)
	if err != nil {
		return nil, s.toStatus(ctx, "referrals", err)
	}
	views, next, err := s.app.List(ctx, f, after, size)
	if err != nil {
		return nil, s.toStatus(ctx, "referrals", err)
	}
	resp := &referralv1.ListReferralsResponse{}
	for _, v := range views {
		resp.Referrals = append(resp.Referrals, toProto(v, lang(ctx)))
	}
	if next.ID != "" {
		resp.NextPageToken = pagination.Encode(next, q)
	}
	return resp, nil
}

func (s *Server) do(ctx context.Context, v referral.Verb, name string, in app.Verb) (*referralv1.Referral, error) {
	id, err := idOf(name)
	if err != nil {
		return nil, s.toStatus(ctx, name, err)
	}
	in.ID = id
	view, err := s.app.Do(ctx, v, in)
	if err != nil {
		return nil, s.toStatus(ctx, name, err)
	}
	return toProto(view, lang(ctx)), nil
}

// UpdateReferral implements the API.
func (s *Server) UpdateReferral(ctx context.Context, req *referralv1.UpdateReferralRequest) (*referralv1.Referral, error) {
	in := req.GetReferral()
	id, err := idOf(in.GetName())
	if err != nil {
		return nil, s.toStatus(ctx, in.GetName(), err)
	}
	d := app.Draft{SendingUnit: in.GetSendingUnit(), SendingResponsible: person(in.GetSendingResponsible()),
		Urgency: in.GetUrgency().String(), RequestNote: in.GetRequestNote()}
	for _, n := range in.GetNeeds() {
		d.Needs = append(d.Needs, referral.NeedRef{Assessment: n.GetAssessment(), NeedID: n.GetNeedId()})
	}
	if c := in.GetCommitment(); c != nil {
		d.Commitment = &referral.Commitment{Budget: c.GetBudget(), LineID: c.GetLineId(), AmountCents: c.GetAmountCents()}
	}
	r, v, err := s.app.Update(ctx, id, in.GetEtag(), req.GetUpdateMask().GetPaths(), d)
	if err != nil {
		return nil, s.toStatus(ctx, in.GetName(), err)
	}
	return toProto(app.View{R: r, Version: v}, lang(ctx)), nil
}

// SendReferral implements the API.
func (s *Server) SendReferral(ctx context.Context, req *referralv1.SendReferralRequest) (*referralv1.Referral, error) {
	return s.do(ctx, referral.VSend, req.GetName(), app.Verb{Etag: req.GetEtag(), RequestID: req.GetRequestId(), AckNoCapacity: req.GetAcknowledgeNoCapacity()})
}

// ReceiveReferral implements the API.
func (s *Server) ReceiveReferral(ctx context.Context, req *referralv1.ReceiveReferralRequest) (*referralv1.Referral, error) {
	return s.do(ctx, referral.VReceive, req.GetName(), app.Verb{Etag: req.GetEtag(), RequestID: req.GetRequestId()})
}

// AcceptReferral implements the API.
func (s *Server) AcceptReferral(ctx context.Context, req *referralv1.AcceptReferralRequest) (*referralv1.Referral, error) {
	return s.do(ctx, referral.VAccept, req.GetName(), app.Verb{Etag: req.GetEtag(), RequestID: req.GetRequestId(), Receiving: person(req.GetReceivingResponsible())})
}

// StartReferral implements the API.
func (s *Server) StartReferral(ctx context.Context, req *referralv1.StartReferralRequest) (*referralv1.Referral, error) {
	return s.do(ctx, referral.VStart, req.GetName(), app.Verb{Etag: req.GetEtag(), RequestID: req.GetRequestId()})
}

// HoldReferral implements the API.
func (s *Server) HoldReferral(ctx context.Context, req *referralv1.HoldReferralRequest) (*referralv1.Referral, error) {
	return s.do(ctx, referral.VHold, req.GetName(), app.Verb{Etag: req.GetEtag(), RequestID: req.GetRequestId(), Reason: req.GetReason()})
}

// ResumeReferral implements the API.
func (s *Server) ResumeReferral(ctx context.Context, req *referralv1.ResumeReferralRequest) (*referralv1.Referral, error) {
	return s.do(ctx, referral.VResume, req.GetName(), app.Verb{Etag: req.GetEtag(), RequestID: req.GetRequestId()})
}

// CompleteReferral implements the API.
func (s *Server) CompleteReferral(ctx context.Context, req *referralv1.CompleteReferralRequest) (*referralv1.Referral, error) {
	var o *referral.Outcome
	if x := req.GetOutcome(); x != nil {
		o = &referral.Outcome{Result: x.GetResult().String(), ServiceDelivered: x.GetServiceDelivered(), Note: x.GetNote(), Reason: x.GetReason()}
	}
	return s.do(ctx, referral.VComplete, req.GetName(), app.Verb{Etag: req.GetEtag(), RequestID: req.GetRequestId(), Outcome: o})
}

// DeclineReferral implements the API.
func (s *Server) DeclineReferral(ctx context.Context, req *referralv1.DeclineReferralRequest) (*referralv1.Referral, error) {
	return s.do(ctx, referral.VDecline, req.GetName(), app.Verb{Etag: req.GetEtag(), RequestID: req.GetRequestId(),
		DeclineReason: req.GetReason().String(), Reason: req.GetNote()})
}

// CancelReferral implements the API.
func (s *Server) CancelReferral(ctx context.Context, req *referralv1.CancelReferralRequest) (*referralv1.Referral, error) {
	return s.do(ctx, referral.VCancel, req.GetName(), app.Verb{Etag: req.GetEtag(), RequestID: req.GetRequestId(), Reason: req.GetReason()})
}

// CloseReferral implements the API.
func (s *Server) CloseReferral(ctx context.Context, req *referralv1.CloseReferralRequest) (*referralv1.Referral, error) {
	return s.do(ctx, referral.VClose, req.GetName(), app.Verb{Etag: req.GetEtag(), RequestID: req.GetRequestId(), Reason: req.GetReason()})
}

// ReopenReferral implements the API.
func (s *Server) ReopenReferral(ctx context.Context, req *referralv1.ReopenReferralRequest) (*referralv1.Referral, error) {
	return s.do(ctx, referral.VReopen, req.GetName(), app.Verb{Etag: req.GetEtag(), RequestID: req.GetRequestId(), Reason: req.GetReason()})
}

// RedirectReferral implements the API.
func (s *Server) RedirectReferral(ctx context.Context, req *referralv1.RedirectReferralRequest) (*referralv1.RedirectReferralResponse, error) {
	id, err := idOf(req.GetName())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	var c *referral.Commitment
	if x := req.GetCommitment(); x != nil {
		c = &referral.Commitment{Budget: x.GetBudget(), LineID: x.GetLineId(), AmountCents: x.GetAmountCents()}
	}
	old, succ, err := s.app.Redirect(ctx, app.Verb{ID: id, Etag: req.GetEtag(), RequestID: req.GetRequestId(), AckNoCapacity: req.GetAcknowledgeNoCapacity()},
		req.GetRecipientOffering(), req.GetRequestNote(), c)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return &referralv1.RedirectReferralResponse{Referral: toProto(old, lang(ctx)), Successor: toProto(succ, lang(ctx))}, nil
}

// ListEscalations implements the API.
func (s *Server) ListEscalations(ctx context.Context, req *referralv1.ListEscalationsRequest) (*referralv1.ListEscalationsResponse, error) {
	if err := unsupportedListOptions(req.GetFilter(), req.GetOrderBy()); err != nil {
		return nil, s.toStatus(ctx, "escalations", err)
	}
	size, err := pagination.Size(req.GetPageSize())
	if err != nil {
		return nil, s.toStatus(ctx, "escalations", err)
	}
	id := ""
	if req.GetParent() != "referrals/-" {
		if id, err = idOf(req.GetParent()); err != nil {
			return nil, s.toStatus(ctx, req.GetParent(), err)
		}
	}
	after, err := pagination.Decode(req.GetPageToken(), req.GetParent())
	if err != nil {
		return nil, s.toStatus(ctx, "escalations", err)
	}
	es, next, err := s.app.Escalations(ctx, id, after, size)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	resp := &referralv1.ListEscalationsResponse{}
	for _, e := range es {
		st := referralv1.Escalation_OPEN
		if e.Resolved {
			st = referralv1.Escalation_RESOLVED
		}
		pe := &referralv1.Escalation{Name: "referrals/" + e.ReferralID + "/escalations/" + e.ID, Level: int32(e.Level),
			DeadlineKind: referralv1.DeadlineKind(referralv1.DeadlineKind_value[string(e.DeadlineKind)]), DueTime: timestamppb.New(e.DueTime),
			ReferralState: state(e.ReferralState), Notified: e.Notified, Sender: e.Sender,
			RecipientProvider: "providers/" + e.RecipientProvider, State: st, EscalateTime: timestamppb.New(e.EscalateTime)}
		if e.Resolved {
			pe.ResolveTime = timestamppb.New(e.ResolveTime)
		}
		resp.Escalations = append(resp.Escalations, pe)
	}
	if next.ID != "" {
		resp.NextPageToken = pagination.Encode(next, req.GetParent())
	}
	return resp, nil
}

func state(s referral.State) referralv1.Referral_State {
	return referralv1.Referral_State(referralv1.Referral_State_value[string(s)])
}

func ts(t interface{ IsZero() bool }, p *timestamppb.Timestamp) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return p
}

func personProto(p *referral.Person) *referralv1.ResponsiblePerson {
	if p == nil {
		return nil
	}
	return &referralv1.ResponsiblePerson{Subject: p.Subject, DisplayName: p.DisplayName, Phone: p.Phone, Email: p.Email}
}

func toProto(v app.View, lang string) *referralv1.Referral {
	r := v.R
	out := &referralv1.Referral{
		Name: app.Name(r.ID), Client: "clients/" + r.ClientID, Sender: r.Sender, SendingUnit: r.SendingUnit,
		SendingResponsible: personProto(&r.SendingResponsible), RecipientOffering: r.RecipientOffering,
		RecipientProvider:    "providers/" + r.RecipientProvider,
		RecipientCapacity:    cataloguev1.Capacity(cataloguev1.Capacity_value[r.Capacity]),
		RecipientWaitingBand: cataloguev1.WaitingBand(cataloguev1.WaitingBand_value[r.WaitingBand]),
		Urgency:              referralv1.Urgency(referralv1.Urgency_value[r.Urgency]), RequestNote: r.RequestNote,
		ReceivingResponsible: personProto(r.ReceivingResponsible), State: state(r.State),
		DeadlineKind:    referralv1.DeadlineKind(referralv1.DeadlineKind_value[string(r.DeadlineKind)]),
		DueTime:         ts(r.DueTime, timestamppb.New(r.DueTime)),
		EscalationLevel: int32(r.EscalationLevel), HoldReason: r.HoldReason, EndReason: r.EndReason,
		RedirectedFrom: r.RedirectedFrom, RedirectedTo: r.RedirectedTo, StatusSummary: r.StatusSummary(lang),
		CreateTime: timestamppb.New(r.CreateTime), SendTime: ts(r.SendTime, timestamppb.New(r.SendTime)),
		UpdateTime: timestamppb.New(r.UpdateTime), Etag: app.Etag(v.Version),
	}
	for _, n := range r.Needs {
		out.Needs = append(out.Needs, &assessmentv1.NeedReference{Assessment: n.Assessment, NeedId: n.NeedID})
	}
	if c := r.Commitment; c != nil {
		out.Commitment = &referralv1.BudgetCommitment{Budget: c.Budget, LineId: c.LineID, AmountCents: c.AmountCents, LedgerEntry: c.LedgerEntry, Released: c.Released}
	}
	if o := r.Outcome; o != nil {
		out.Outcome = &referralv1.Outcome{Result: referralv1.OutcomeResult(referralv1.OutcomeResult_value[o.Result]),
			ServiceDelivered: o.ServiceDelivered, Note: o.Note, Reason: o.Reason}
	}
	if d := r.Decline; d != nil {
		out.Decline = &referralv1.Decline{Reason: referralv1.DeclineReason(referralv1.DeclineReason_value[d.Reason]),
			Note: d.Note, DeclinedBy: d.DeclinedBy, DeclineTime: timestamppb.New(d.Time)}
	}
	for _, t := range r.Transitions {
		out.Transitions = append(out.Transitions, &referralv1.Transition{FromState: state(t.From), ToState: state(t.To),
			Actor: t.Actor, ActorRole: t.ActorRole, Reason: t.Reason, TransitionTime: timestamppb.New(t.Time)})
	}
	if pk := r.Packet; pk != nil {
		p := &referralv1.InformationPacket{PreferredLanguages: pk.Languages,
			ContactPreference:  clientsv1.ContactPreference(clientsv1.ContactPreference_value[pk.ContactPreference]),
			CoordinatingWorker: &referralv1.ResponsiblePerson{Subject: pk.CoordinatingWorker, DisplayName: pk.CoordinatingWorker},
			RequestNote:        pk.RequestNote, FreezeTime: timestamppb.New(pk.FreezeTime)}
		for _, c := range pk.Categories {
			p.DisclosedCategories = append(p.DisclosedCategories, clientsv1.DataCategory(clientsv1.DataCategory_value[c]))
		}
		for _, c := range v.Withdrawn {
			p.WithdrawnCategories = append(p.WithdrawnCategories, clientsv1.DataCategory(clientsv1.DataCategory_value[c]))
		}
		p.PlanGoals, p.AssessmentSummary = pk.PlanGoals, pk.AssessmentSummary
		if b := pk.Budget; b != nil {
			p.BudgetSummary = b.String()
		}
		if c := pk.Contact; c != nil {
			p.ContactDetails = &clientsv1.ContactDetails{Phone: c.Phone, Email: c.Email, PostalAddress: c.PostalAddress}
		}
		out.Packet = p
	}
	if v.Provider {
		out.Client = ""
		if out.Commitment != nil {
			out.Commitment.Budget, out.Commitment.LineId, out.Commitment.LedgerEntry = "", "", ""
		}
	}
	return out
}

// unsupportedListOptions refuses list options a method does not implement, so a
// caller learns it instead of silently getting an unfiltered or unsorted page.
func unsupportedListOptions(filter, orderBy string) error {
	var v referral.Violations
	if filter != "" {
		v = append(v, referral.Violation{Field: "filter", Rule: "is not supported on this list"})
	}
	if orderBy != "" {
		v = append(v, referral.Violation{Field: "order_by", Rule: "is not supported; results come in their documented order"})
	}
	if len(v) == 0 {
		return nil
	}
	return v
}
