package app

import (
	"context"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/referral/internal/referral"
	repo "github.com/polku-hb/polku/services/referral/internal/store"
)

// Filter is a parsed ListReferrals filter.
type Filter struct {
	Client, Sender, Provider, State string
	OpenOnly                        bool
	MinLevel                        int
}

// ParseFilter reads `a = "b" AND c = d` terms.
func ParseFilter(f string) (Filter, error) {
	var out Filter
	if strings.TrimSpace(f) == "" {
		return out, nil
	}
	for _, term := range strings.Split(f, " AND ") {
		term = strings.TrimSpace(term)
		op := "="
		if strings.Contains(term, ">=") {
			op = ">="
		}
		k, v, ok := strings.Cut(term, op)
		if !ok {
			return out, referral.Violations{{Field: "filter", Rule: "must be terms like `state = SENT` joined with AND"}}
		}
		k, v = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"`)
		switch {
		case k == "client" && op == "=":
			out.Client = strings.TrimPrefix(v, "clients/")
		case (k == "sender" || k == "sending_responsible.subject") && op == "=":
			out.Sender = v
		case k == "recipient_provider" && op == "=":
			out.Provider = strings.TrimPrefix(v, "providers/")
		case k == "state" && op == "=":
			out.State = v
		case k == "open" && op == "=":
			out.OpenOnly = v == "true"
		case k == "escalation_level" && op == ">=":
			n, err := strconv.Atoi(v)
			if err != nil {
				return out, referral.Violations{{Field: "filter", Rule: "escalation_level needs a number"}}
			}
			out.MinLevel = n
		default:
			return out, referral.Violations{{Field: "filter", Rule: "unsupported term " + strconvQuote(k)}}
		}
	}
	return out, nil
}

func strconvQuote(s string) string { return strconv.Quote(s) }

// List pages the referrals the caller may see: a provider its inbox, a
// client their own, a worker their open referrals (or one client's with a
// client filter), a manager the region's.
func (s *Service) List(ctx context.Context, f Filter, after store.IndexEntry, limit int) ([]View, store.IndexEntry, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, store.IndexEntry{}, err
	}
	var index string
	switch p.Role {
	case auth.RoleProvider:
		if f.Client != "" {
			// A provider never learns which client a referral is for.
			return nil, store.IndexEntry{}, referral.Violations{{Field: "filter", Rule: "client is not a filter for providers"}}
		}
		index = repo.InboxIndex(p.ProviderID)
	case auth.RoleClient, auth.RoleAssistant:
		c := f.Client
		switch {
		case c != "":
		case p.Role == auth.RoleClient:
			c = p.ClientID
		case len(p.Clients) == 1:
			c = p.Clients[0]
		default:
			// An assistant acting for several clients lists one client at a time.
			return nil, store.IndexEntry{}, referral.Violations{{Field: "filter", Rule: `an assistant acting for several clients names one: client = "<client id>"`}}
		}
		if !p.ActsFor(c) {
			return nil, store.IndexEntry{}, ErrPermission
		}
		index = repo.ClientIndex(c)
	case auth.RoleWorker, auth.RoleManager:
		switch {
		case f.Client != "":
			if _, err := s.teamWorker(ctx, p, f.Client); err != nil {
				return nil, store.IndexEntry{}, err
			}
			index = repo.ClientIndex(f.Client)
		case p.Role == auth.RoleWorker:
			index = repo.OpenIndex(p.Subject)
		default:
			index = repo.RegionIndex(p.Region)
		}
	default:
		return nil, store.IndexEntry{}, ErrPermission
	}
	es, err := s.Repo.Scan(ctx, index, after, limit, true)
	if err != nil {
		return nil, store.IndexEntry{}, err
	}
	var out []View
	for _, e := range es {
		r, v, err := s.Repo.Referral(ctx, e.ID)
		if err != nil {
			continue
		}
		if !match(r, f) || (p.Role == auth.RoleManager && r.Region != p.Region) {
			continue
		}
		view := View{R: r, Version: v}
		if p.Role == auth.RoleProvider {
			if view, err = s.view(ctx, p, r, v); err != nil {
				return nil, store.IndexEntry{}, err
			}
		}
		out = append(out, view)
	}
	var next store.IndexEntry
	if len(es) == limit {
		next = es[len(es)-1]
	}
	return out, next, nil
}

func match(r *referral.Referral, f Filter) bool {
	return (f.Client == "" || r.ClientID == f.Client) && (f.Sender == "" || r.Sender == f.Sender) &&
		(f.Provider == "" || r.RecipientProvider == f.Provider) && (f.State == "" || string(r.State) == f.State) &&
		(!f.OpenOnly || r.State.Open()) && r.EscalationLevel >= f.MinLevel
}

// Escalations lists one referral's escalations (referralID != "") or those the
// caller may see: a manager the region's, a worker their own.
func (s *Service) Escalations(ctx context.Context, referralID string, after store.IndexEntry, limit int) ([]*referral.Escalation, store.IndexEntry, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, store.IndexEntry{}, err
	}
	if referralID != "" {
		r, _, err := s.Repo.Referral(ctx, referralID)
		if err != nil {
			return nil, store.IndexEntry{}, notFound(err)
		}
		if _, err := s.view(ctx, p, r, 0); err != nil {
			return nil, store.IndexEntry{}, err
		}
		out, _, err := s.Repo.Escalations(ctx, r.ID, r.EscalationLog...)
		if err != nil {
			return nil, store.IndexEntry{}, err
		}
		return out, store.IndexEntry{}, nil
	}
	var index string
	switch p.Role {
	case auth.RoleManager:
		index = repo.EscRegionIndex(p.Region)
	case auth.RoleWorker:
		index = repo.EscSenderIndex(p.Subject)
	default:
		return nil, store.IndexEntry{}, ErrPermission
	}
	es, err := s.Repo.Scan(ctx, index, after, limit, true)
	if err != nil {
		return nil, store.IndexEntry{}, err
	}
	var out []*referral.Escalation
	for _, e := range es {
		ref, esc, _ := strings.Cut(e.ID, "/")
		got, _, err := s.Repo.Escalations(ctx, ref, esc)
		if err == nil && len(got) == 1 {
			out = append(out, got[0])
		}
	}
	var next store.IndexEntry
	if len(es) == limit {
		next = es[len(es)-1]
	}
	return out, next, nil
}

// resolveEscalations marks the referral's open escalations RESOLVED in w (it
// is leaving the overdue state).
func (s *Service) resolveEscalations(ctx context.Context, w *repo.Write, r *referral.Referral, now time.Time) error {
	if len(r.Escalations) == 0 {
		return nil
	}
	es, vs, err := s.Repo.Escalations(ctx, r.ID, r.Escalations...)
	if err != nil {
		return err
	}
	for i, e := range es {
		e.Resolved, e.ResolveTime = true, now
		w.Escalation(e, vs[i])
	}
	r.Escalations = nil
	return nil
}

// EscalateDue is one pass of the SLA worker: every referral whose next
// escalation is due gets it, once. Replicas race safely: the escalation record
// is created (not put) under a deterministic key in the same batch as the
// referral's compare-and-set, so only one replica's batch commits.
func (s *Service) EscalateDue(ctx context.Context) (int, error) {
	now := s.now()
	n := 0
	var after store.IndexEntry
	for {
		es, err := s.Repo.Scan(ctx, repo.DueIndex, after, 100, false)
		if err != nil {
			return n, err
		}
		for _, e := range es {
			if e.SortKey > repo.TimeKey(now) {
				return n, nil
			}
			ok, err := s.escalate(ctx, e.ID, now)
			if err != nil {
				s.Logger.WarnContext(ctx, "escalation failed", "referral", e.ID, "error", err.Error())
				continue
			}
			if ok {
				n++
			}
		}
		if len(es) < 100 {
			return n, nil
		}
		after = es[len(es)-1]
	}
}

func (s *Service) escalate(ctx context.Context, id string, now time.Time) (done bool, err error) {
	r, ver, err := s.Repo.Referral(ctx, id)
	if err != nil {
		return false, notFound(err)
	}
	at, level, ok := r.NextEscalation(s.Policy)
	if !ok || at.After(now) {
		return false, nil
	}
	ctx, span := s.startHandoff(ctx, SpanEscalate, r, "escalate")
	defer func() { endSpan(span, err) }()
	span.SetAttributes(attribute.Int(AttrEscalation, level), attribute.String(AttrStateTo, string(r.State)))
	ctx = trace.ContextWithSpan(ctx, span)

	before := *r
	e := &referral.Escalation{ID: referral.EscalationID(r.DeadlineKind, r.DueTime, level), ReferralID: r.ID, Level: level,
		DeadlineKind: r.DeadlineKind, DueTime: r.DueTime, ReferralState: r.State, Sender: r.Sender, Region: r.Region,
		RecipientProvider: r.RecipientProvider, EscalateTime: now, Notified: []string{coordinator(r)}}
	if level == 2 {
		e.Notified = append(e.Notified, "managers/"+r.Region)
	}
	r.EscalationLevel = level
	r.Escalations = append(r.Escalations, e.ID)
	r.EscalationLog = append(r.EscalationLog, e.ID)
	r.UpdateTime = now
	actor := referral.Actor{Subject: "system", Role: string(auth.RoleService)}
	w := s.Repo.NewWrite(r.ID).Escalation(e, 0).Referral(&before, r, ver).
		Emit(s.event(ctx, actor, "referral.escalated", r, map[string]string{
			"level": strconv.Itoa(level), "deadline_kind": string(e.DeadlineKind)}))
	if err := s.Repo.Commit(ctx, w); err != nil {
		if err == repo.ErrConflict {
			span.SetAttributes(attribute.Bool(AttrEscalationWon, false))
			return false, nil // another replica won
		}
		return false, err
	}
	span.SetAttributes(attribute.Bool(AttrEscalationWon, true))
	s.escalations.Add(ctx, 1, metric.WithAttributes(attribute.Int("level", level), attribute.String("provider_kind", kindOf(r))))
	return true, nil
}

// RunEscalations runs EscalateDue every interval until ctx ends.
func (s *Service) RunEscalations(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.EscalateDue(ctx); err != nil && ctx.Err() == nil {
			s.Logger.WarnContext(ctx, "escalation pass failed", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// coordinator is who level 1 notifies: the client's coordinating worker as
// frozen in the packet, else the sending responsible person, else the sender.
func coordinator(r *referral.Referral) string {
	switch {
	case r.Packet != nil && r.Packet.CoordinatingWorker != "":
		return r.Packet.CoordinatingWorker
	case r.SendingResponsible.Subject != "":
		return r.SendingResponsible.Subject
	}
	return r.Sender
}
