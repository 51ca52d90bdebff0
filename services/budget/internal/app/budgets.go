package app

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/services/budget/internal/ledger"
	repo "github.com/polku-hb/polku/services/budget/internal/store"
)

// BudgetView is a budget with its document version (the etag).
type BudgetView struct {
	B                       *ledger.Budget
	Version                 int64
	RequiresManagerApproval bool
}

func (s *Service) view(b *ledger.Budget, v int64) BudgetView {
	return BudgetView{B: b, Version: v, RequiresManagerApproval: b.RequiresManager(s.cfg.AuthorityLimitCents)}
}

// BudgetName is a budget's resource name.
func BudgetName(clientID, budgetID string) string {
	return "clients/" + clientID + "/budgets/" + budgetID
}

var modes = []string{"MANAGEMENT_MODE_REGION_PAYS", "MANAGEMENT_MODE_CLIENT_MANAGED", "MANAGEMENT_MODE_ASSISTANT_MANAGED"}

// CreateBudget draws a DRAFT budget from an APPROVED or ACTIVE plan revision of
// the client: one line per chosen service, priced from the revision.
func (s *Service) CreateBudget(ctx context.Context, clientID string, in *ledger.Budget, requestID string) (BudgetView, error) {
	p, info, err := s.authorize(ctx, clientID, write)
	if err != nil {
		return BudgetView{}, err
	}
	if err := checkRequestID(requestID, false); err != nil {
		return BudgetView{}, err
	}
	if requestID != "" {
		if id, ok, err := s.repo.RequestResult(ctx, clientID, "create", requestID); err != nil {
			return BudgetView{}, err
		} else if ok {
			return s.getBudget(ctx, clientID, id)
		}
	}
	var vs ledger.Violations
	if !strings.HasPrefix(in.PlanRevision, "clients/"+clientID+"/plans/") {
		vs = append(vs, ledger.Violation{Field: "budget.plan_revision", Rule: "must be a revision of one of the client's plans: clients/{client}/plans/{plan}/revisions/{n}"})
	}
	if !slicesContains(modes, in.ManagementMode) {
		vs = append(vs, ledger.Violation{Field: "budget.management_mode", Rule: "must be one of " + strings.Join(modes, ", ")})
	}
	if len(in.DisplayName) > 200 {
		vs = append(vs, ledger.Violation{Field: "budget.display_name", Rule: "must be at most 200 characters"})
	}
	if err := vs.Err(); err != nil {
		return BudgetView{}, err
	}
	rev, err := s.asmt.PlanRevision(ctx, in.PlanRevision)
	if err != nil {
		return BudgetView{}, err
	}
	if rev.State != "APPROVED" && rev.State != "ACTIVE" {
		return BudgetView{}, ErrPlanNotApproved
	}
	if !rev.WantsPersonalBudget && in.ManagementMode != "MANAGEMENT_MODE_REGION_PAYS" {
		return BudgetView{}, ledger.Violations{{Field: "budget.management_mode", Rule: "must be MANAGEMENT_MODE_REGION_PAYS when the plan revision does not want a personal budget"}}
	}
	now := s.now()
	b := &ledger.Budget{ID: newID(), ClientID: clientID, Region: info.Region, PlanRevision: rev.Name, DisplayName: in.DisplayName,
		ManagementMode: in.ManagementMode, Start: in.Start, End: in.End, State: ledger.Draft, RevisionNumber: 1,
		CreateTime: now, UpdateTime: now}
	if b.Start.IsZero() {
		b.Start = rev.Start
	}
	if b.End.IsZero() {
		b.End = rev.End
	}
	if !b.Start.IsZero() && !b.End.IsZero() && b.End.Time().Before(b.Start.Time()) {
		return BudgetView{}, ledger.Violations{{Field: "budget.end_date", Rule: "must not be before start_date"}}
	}
	for _, cs := range rev.Services {
		b.Lines = append(b.Lines, ledger.Line{ID: cs.ID, Title: cs.Title, Category: cs.Category, Offering: cs.Offering,
			PriceVersion: cs.PriceVersion, PriceOptionID: cs.PriceOptionID, AcceptedQuote: cs.AcceptedQuote, Unit: cs.Unit,
			UnitCents: cs.UnitCents, PlannedCents: cs.CostCents})
	}
	if b.DisplayName == "" {
		b.DisplayName = "Personal budget"
	}
	name := BudgetName(clientID, b.ID)
	w := repo.NewWrite(clientID).Budget(b, 0).Request("create", requestID, b.ID).
		Emit(s.event(ctx, p, "budget.created", clientID, name, map[string]string{"plan_revision": rev.Name, "planned_cents": itoa(b.PlannedTotal())}))
	if err := s.repo.Commit(ctx, w); err != nil {
		if errors.Is(err, repo.ErrConflict) && requestID != "" {
			if id, ok, err2 := s.repo.RequestResult(ctx, clientID, "create", requestID); err2 == nil && ok {
				return s.getBudget(ctx, clientID, id)
			}
		}
		return BudgetView{}, notFound(err)
	}
	return s.view(b, 1), nil
}

func (s *Service) getBudget(ctx context.Context, clientID, id string) (BudgetView, error) {
	b, v, err := s.repo.Budget(ctx, clientID, id)
	if err != nil {
		return BudgetView{}, notFound(err)
	}
	return s.view(b, v), nil
}

// GetBudget reads a budget.
func (s *Service) GetBudget(ctx context.Context, clientID, id string) (BudgetView, error) {
	if _, _, err := s.authorize(ctx, clientID, read); err != nil {
		return BudgetView{}, err
	}
	return s.getBudget(ctx, clientID, id)
}

// ListBudgets pages a client's budgets, newest first.
func (s *Service) ListBudgets(ctx context.Context, clientID string, size int32, token string) ([]BudgetView, string, error) {
	if _, _, err := s.authorize(ctx, clientID, read); err != nil {
		return nil, "", err
	}
	n, after, query, err := page(size, token, "budgets:"+clientID)
	if err != nil {
		return nil, "", err
	}
	pg, err := s.repo.BudgetIDs(ctx, clientID, after, n)
	if err != nil {
		return nil, "", err
	}
	out := make([]BudgetView, 0, len(pg.Entries))
	for _, e := range pg.Entries {
		v, err := s.getBudget(ctx, clientID, e.ID)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	return out, nextToken(pg, query), nil
}

// lifecycle runs one state change of a budget with idempotency, etag check
// and compare-and-set retries.
func (s *Service) lifecycle(ctx context.Context, clientID, id, etag, requestID, method string,
	change func(p auth.Principal, b *ledger.Budget, w *repo.Write) error) (BudgetView, error) {
	p, _, err := s.authorize(ctx, clientID, write)
	if err != nil {
		return BudgetView{}, err
	}
	if err := checkRequestID(requestID, false); err != nil {
		return BudgetView{}, err
	}
	var out BudgetView
	err = retry(ctx, func() error {
		if requestID != "" {
			if _, ok, err := s.repo.RequestResult(ctx, clientID, method, requestID); err != nil {
				return err
			} else if ok {
				out, err = s.getBudget(ctx, clientID, id)
				return err
			}
		}
		b, v, err := s.repo.Budget(ctx, clientID, id)
		if err != nil {
			return notFound(err)
		}
		if err := checkEtag(etag, v); err != nil {
			return err
		}
		w := repo.NewWrite(clientID)
		if err := change(p, b, w); err != nil {
			return err
		}
		b.UpdateTime = s.now()
		w.Budget(b, v).Request(method, requestID, id)
		if err := s.repo.Commit(ctx, w); err != nil {
			return err
		}
		out = s.view(b, v+1)
		return nil
	})
	return out, err
}

// ApproveBudget moves DRAFT -> APPROVED under the authority-limit rule.
func (s *Service) ApproveBudget(ctx context.Context, clientID, id, justification, etag, requestID string) (BudgetView, error) {
	return s.lifecycle(ctx, clientID, id, etag, requestID, "approve", func(p auth.Principal, b *ledger.Budget, w *repo.Write) error {
		if err := b.Approve(p.Subject, string(p.Role), justification, s.cfg.AuthorityLimitCents, p.Role == auth.RoleManager, s.now()); err != nil {
			return err
		}
		w.Emit(s.event(ctx, p, "budget.approved", clientID, BudgetName(clientID, id), map[string]string{"planned_cents": itoa(b.PlannedTotal())}))
		return nil
	})
}

// ActivateBudget moves APPROVED -> ACTIVE and writes the ALLOCATION entries.
func (s *Service) ActivateBudget(ctx context.Context, clientID, id, etag, requestID string) (BudgetView, error) {
	return s.lifecycle(ctx, clientID, id, etag, requestID, "activate", func(p auth.Principal, b *ledger.Budget, w *repo.Write) error {
		if b.Previous != "" {
			return s.activateRevision(ctx, p, clientID, b, w, requestID)
		}
		es, err := b.Activate(p.Subject, string(p.Role), requestID, s.now())
		if err != nil {
			return err
		}
		for _, e := range es {
			w.Entry(id, e)
		}
		a, _, _, _ := b.Totals()
		w.Emit(s.event(ctx, p, "budget.activated", clientID, BudgetName(clientID, id), map[string]string{"allocated_cents": itoa(a)}))
		return nil
	})
}

// CloseBudget closes a budget; an ACTIVE budget's open commitments are released.
func (s *Service) CloseBudget(ctx context.Context, clientID, id, reason, etag, requestID string) (BudgetView, error) {
	return s.lifecycle(ctx, clientID, id, etag, requestID, "close", func(p auth.Principal, b *ledger.Budget, w *repo.Write) error {
		var opens []*ledger.Open
		versions := map[int64]int64{}
		if b.State == ledger.Active {
			m, vs, err := s.repo.Opens(ctx, clientID, id)
			if err != nil {
				return err
			}
			for _, o := range m {
				opens = append(opens, o)
			}
			versions = vs
		}
		_, _, _, avail := b.Totals()
		es, err := b.Close(reason, p.Subject, string(p.Role), requestID, opens, s.now())
		if err != nil {
			return err
		}
		for _, e := range es {
			w.Entry(id, e)
		}
		for _, o := range opens {
			w.Open(id, o, versions[o.Seq])
		}
		name := BudgetName(clientID, id)
		w.Emit(s.event(ctx, p, "budget.closed", clientID, name, map[string]string{"released_commitments": itoa(int64(len(es)))}))
		if avail > 0 && len(b.Lines) > 0 && b.ActivateAt.IsZero() == false {
			w.Emit(s.event(ctx, p, "budget.closed_with_money_left", clientID, name, map[string]string{"available_cents": itoa(avail)}))
		}
		return nil
	})
}

// activateRevision activates a DRAFT-born revision: the predecessor's open
// commitments move, its balance is carried over and it is closed, all in the
// write w (both budgets are in the client's shard).
func (s *Service) activateRevision(ctx context.Context, p auth.Principal, clientID string, b *ledger.Budget, w *repo.Write, requestID string) error {
	prevID := b.Previous[strings.LastIndex(b.Previous, "/")+1:]
	old, ov, err := s.repo.Budget(ctx, clientID, prevID)
	if err != nil {
		return notFound(err)
	}
	m, versions, err := s.repo.Opens(ctx, clientID, prevID)
	if err != nil {
		return err
	}
	opens := make([]*ledger.Open, 0, len(m))
	for _, o := range m {
		opens = append(opens, o)
	}
	slices.SortFunc(opens, func(a, b *ledger.Open) int { return int(a.Seq - b.Seq) })
	now := s.now()
	oldEs, newEs, newOpens, err := b.ActivateRevision(old, opens, b.Previous, b.ReleaseUnused,
		ledger.Entry{Actor: p.Subject, ActorRole: string(p.Role), RequestID: requestID, CreateTime: now}, now)
	if err != nil {
		return err
	}
	old.UpdateTime = now
	w.Budget(old, ov)
	for _, e := range oldEs {
		w.Entry(prevID, e)
	}
	for _, o := range opens {
		if versions[o.Seq] != 0 {
			w.Open(prevID, o, versions[o.Seq])
		}
	}
	for _, e := range newEs {
		w.Entry(b.ID, e)
	}
	for _, o := range newOpens {
		w.Open(b.ID, o, 0)
	}
	a, _, _, _ := b.Totals()
	var carried int64
	for _, l := range b.Lines {
		carried += l.CarriedOver
	}
	w.Emit(s.event(ctx, p, "budget.activated", clientID, BudgetName(clientID, b.ID), map[string]string{"allocated_cents": itoa(a),
		"previous_budget": b.Previous, "carried_over_cents": itoa(carried), "moved_commitments": itoa(int64(len(newOpens)))}),
		s.event(ctx, p, "budget.closed", clientID, b.Previous, map[string]string{"reason": "superseded", "next_budget": BudgetName(clientID, b.ID)}))
	return nil
}

// ReviseBudget starts a revision of an ACTIVE budget from a newer revision of
// the same plan: a DRAFT successor whose lines carry the expected carry-over.
func (s *Service) ReviseBudget(ctx context.Context, clientID, id, planRevision string, releaseUnused bool, etag, requestID string) (BudgetView, error) {
	p, _, err := s.authorize(ctx, clientID, write)
	if err != nil {
		return BudgetView{}, err
	}
	if err := checkRequestID(requestID, false); err != nil {
		return BudgetView{}, err
	}
	var out BudgetView
	err = retry(ctx, func() error {
		if requestID != "" {
			if nid, ok, err := s.repo.RequestResult(ctx, clientID, "revise", requestID); err != nil {
				return err
			} else if ok {
				out, err = s.getBudget(ctx, clientID, nid)
				return err
			}
		}
		old, v, err := s.repo.Budget(ctx, clientID, id)
		if err != nil {
			return notFound(err)
		}
		if err := checkEtag(etag, v); err != nil {
			return err
		}
		if old.State != ledger.Active {
			return ledger.ErrNotActive
		}
		if old.Next != "" {
			if nb, _, err := s.repo.Budget(ctx, clientID, old.Next[strings.LastIndex(old.Next, "/")+1:]); err == nil && nb.State != ledger.Closed {
				return ErrRevisionPending
			}
		}
		plan := old.PlanRevision[:strings.LastIndex(old.PlanRevision, "/")+1]
		if !strings.HasPrefix(planRevision, plan) || planRevision == old.PlanRevision || revNumber(planRevision) <= revNumber(old.PlanRevision) {
			return ledger.Violations{{Field: "plan_revision", Rule: "must be a newer revision of the same plan: " + plan + "{n}"}}
		}
		rev, err := s.asmt.PlanRevision(ctx, planRevision)
		if err != nil {
			return err
		}
		if rev.State != "APPROVED" && rev.State != "ACTIVE" {
			return ErrPlanNotApproved
		}
		now := s.now()
		nb := &ledger.Budget{ID: newID(), ClientID: clientID, Region: old.Region, PlanRevision: rev.Name, DisplayName: old.DisplayName,
			ManagementMode: old.ManagementMode, Start: rev.Start, End: rev.End, State: ledger.Draft, RevisionNumber: old.RevisionNumber + 1,
			Previous: BudgetName(clientID, old.ID), ReleaseUnused: releaseUnused, CreateTime: now, UpdateTime: now}
		for _, cs := range rev.Services {
			l := ledger.Line{ID: cs.ID, Title: cs.Title, Category: cs.Category, Offering: cs.Offering,
				PriceVersion: cs.PriceVersion, PriceOptionID: cs.PriceOptionID, AcceptedQuote: cs.AcceptedQuote, Unit: cs.Unit,
				UnitCents: cs.UnitCents, PlannedCents: cs.CostCents}
			if ol := old.Line(cs.ID); ol != nil && !releaseUnused {
				l.CarriedOver = ol.Available() // the expected carry-over; fixed at activation
			}
			nb.Lines = append(nb.Lines, l)
		}
		old.Next, old.UpdateTime = BudgetName(clientID, nb.ID), now
		w := repo.NewWrite(clientID).Budget(nb, 0).Budget(old, v).Request("revise", requestID, nb.ID).
			Emit(s.event(ctx, p, "budget.revised", clientID, BudgetName(clientID, nb.ID), map[string]string{"previous_budget": nb.Previous, "plan_revision": rev.Name}))
		if err := s.repo.Commit(ctx, w); err != nil {
			return err
		}
		out = s.view(nb, 1)
		return nil
	})
	return out, err
}

// ErrNotDraft: only a DRAFT budget is updated.
var ErrNotDraft = errors.New("only a DRAFT budget can be updated")

// ErrRevisionPending: the budget already has a revision that is not closed.
var ErrRevisionPending = errors.New("the budget already has a pending revision: activate or close it first")

func revNumber(name string) int {
	n, _ := strconv.Atoi(name[strings.LastIndex(name, "/")+1:])
	return n
}

// UpdateBudget changes a DRAFT budget's title, management mode or period
// (update_mask and etag required).
func (s *Service) UpdateBudget(ctx context.Context, clientID, id, etag string, in *ledger.Budget, fields []string) (BudgetView, error) {
	var vs ledger.Violations
	if len(fields) == 0 {
		vs = append(vs, ledger.Violation{Field: "update_mask", Rule: "is required"})
	}
	if etag == "" {
		vs = append(vs, ledger.Violation{Field: "budget.etag", Rule: "is required"})
	}
	for _, f := range fields {
		switch f {
		case "display_name":
			if len(in.DisplayName) > 200 {
				vs = append(vs, ledger.Violation{Field: "budget.display_name", Rule: "must be at most 200 characters"})
			}
		case "management_mode":
			if !slicesContains(modes, in.ManagementMode) {
				vs = append(vs, ledger.Violation{Field: "budget.management_mode", Rule: "must be one of " + strings.Join(modes, ", ")})
			}
		case "start_date", "end_date":
		default:
			vs = append(vs, ledger.Violation{Field: "update_mask", Rule: "may name display_name, management_mode, start_date, end_date"})
		}
	}
	if err := vs.Err(); err != nil {
		return BudgetView{}, err
	}
	return s.lifecycle(ctx, clientID, id, etag, "", "update", func(p auth.Principal, b *ledger.Budget, w *repo.Write) error {
		if b.State != ledger.Draft {
			return ErrNotDraft
		}
		for _, f := range fields {
			switch f {
			case "display_name":
				b.DisplayName = in.DisplayName
			case "management_mode":
				b.ManagementMode = in.ManagementMode
			case "start_date":
				b.Start = in.Start
			case "end_date":
				b.End = in.End
			}
		}
		if !b.Start.IsZero() && !b.End.IsZero() && b.End.Time().Before(b.Start.Time()) {
			return ledger.Violations{{Field: "budget.end_date", Rule: "must not be before start_date"}}
		}
		w.Emit(s.event(ctx, p, "budget.updated", clientID, BudgetName(clientID, id), map[string]string{"fields": strings.Join(fields, ",")}))
		return nil
	})
}
