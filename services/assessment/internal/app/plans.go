package app

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/pagination"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/assessment/internal/assessment"
	repo "github.com/polku-hb/polku/services/assessment/internal/store"
)

// PlanName is a plan's resource name.
func PlanName(clientID, planID string) string { return "clients/" + clientID + "/plans/" + planID }

// RevisionName is a plan revision's resource name.
func RevisionName(clientID, planID string, n int) string {
	return PlanName(clientID, planID) + "/revisions/" + strconv.Itoa(n)
}

// PlanView is a plan with its version and whether its review is overdue.
type PlanView struct {
	Plan    *assessment.Plan
	Version int64
	Overdue bool
}

// RevisionView is a revision with its version and the limit it is judged by.
type RevisionView struct {
	Rev             *assessment.Revision
	Version         int64
	RequiresManager bool
}

func (s *Service) planView(p *assessment.Plan, v int64) PlanView {
	return PlanView{Plan: p, Version: v, Overdue: p.ReviewOverdue(assessment.Today(s.now()))}
}

func (s *Service) revView(r *assessment.Revision, v int64) RevisionView {
	return RevisionView{Rev: r, Version: v, RequiresManager: r.RequiresManager(s.cfg.AuthorityLimitCents)}
}

// CreatePlan makes a plan with an empty DRAFT revision 1.
func (s *Service) CreatePlan(ctx context.Context, clientID string, in *assessment.Plan, requestID string) (PlanView, error) {
	p, info, err := s.authorizeInfo(ctx, clientID, write)
	if err != nil {
		return PlanView{}, err
	}
	if err := errors.Join(assessment.ValidatePlan(in, "plan."), checkRequestID(requestID), checkWorker(info, in.ResponsibleWorker)); err != nil {
		return PlanView{}, firstViolations(err)
	}
	if requestID != "" {
		if id, ok, err := s.repo.RequestResult(ctx, clientID, "CreatePlan", requestID); err != nil {
			return PlanView{}, err
		} else if ok {
			return s.GetPlan(ctx, clientID, id)
		}
	}
	now := s.now()
	plan := &assessment.Plan{
		ID: newID(), ClientID: clientID, Region: info.Region, DisplayName: in.DisplayName,
		ResponsibleWorker: in.ResponsibleWorker, State: assessment.PlanOpen, LatestRevision: 1, OpenRevision: 1,
		CreateTime: now, UpdateTime: now,
	}
	if plan.ResponsibleWorker == "" {
		plan.ResponsibleWorker = info.CoordinatingWorker
	}
	rev := &assessment.Revision{ClientID: clientID, PlanID: plan.ID, Number: 1, State: assessment.RevDraft, CreateTime: now, UpdateTime: now}
	name := PlanName(clientID, plan.ID)
	w := repo.NewWrite(clientID).Plan(nil, plan, 0).Revision(rev, 0).Request("CreatePlan", requestID, plan.ID).
		Emit(s.event(ctx, p, "plan.created", clientID, name, map[string]string{"plan": name, "revision": "1"}))
	if err := s.repo.Commit(ctx, w); err != nil {
		return PlanView{}, notFound(err)
	}
	return s.planView(plan, 1), nil
}

// GetPlan reads a plan.
func (s *Service) GetPlan(ctx context.Context, clientID, planID string) (PlanView, error) {
	if _, err := s.authorize(ctx, clientID, read); err != nil {
		return PlanView{}, err
	}
	plan, v, err := s.repo.Plan(ctx, clientID, planID)
	if err != nil {
		return PlanView{}, notFound(err)
	}
	return s.planView(plan, v), nil
}

// ListPlans pages a client's plans, newest first.
func (s *Service) ListPlans(ctx context.Context, clientID string, size int32, token string) ([]PlanView, string, error) {
	if _, err := s.authorize(ctx, clientID, read); err != nil {
		return nil, "", err
	}
	n, after, query, err := page(size, token, "plans:"+clientID)
	if err != nil {
		return nil, "", err
	}
	pg, err := s.repo.PlanIDs(ctx, clientID, after, n)
	if err != nil {
		return nil, "", err
	}
	out := make([]PlanView, 0, len(pg.Entries))
	for _, e := range pg.Entries {
		plan, v, err := s.repo.Plan(ctx, clientID, e.ID)
		if err != nil {
			return nil, "", notFound(err)
		}
		out = append(out, s.planView(plan, v))
	}
	return out, nextToken(pg, query), nil
}

// UpdatePlan changes a plan's title or responsible worker.
func (s *Service) UpdatePlan(ctx context.Context, clientID, planID, etag string, in *assessment.Plan, fields []string) (PlanView, error) {
	p, info, err := s.authorizeInfo(ctx, clientID, write)
	if err != nil {
		return PlanView{}, err
	}
	var vs assessment.Violations
	if len(fields) == 0 {
		vs.Add("update_mask", "is required")
	}
	if contains(fields, "responsible_worker") {
		if in.ResponsibleWorker == "" {
			vs.Add("plan.responsible_worker", "must not be empty")
		} else if err := checkWorker(info, in.ResponsibleWorker); err != nil {
			vs = append(vs, err.(assessment.Violations)...)
		}
	}
	for _, f := range fields {
		if f != "display_name" && f != "responsible_worker" {
			vs.Add("update_mask", "field "+f+" cannot be updated (display_name, responsible_worker)")
		}
	}
	if err := errors.Join(vs.Err(), assessment.ValidatePlan(in, "plan.")); err != nil {
		return PlanView{}, firstViolations(err)
	}
	plan, v, err := s.repo.Plan(ctx, clientID, planID)
	if err != nil {
		return PlanView{}, notFound(err)
	}
	if err := checkEtag(etag, v, true); err != nil {
		return PlanView{}, err
	}
	if plan.State == assessment.PlanClosed {
		return PlanView{}, &assessment.TransitionError{Kind: "plan", From: plan.State, Allowed: []string{}}
	}
	before := *plan
	for _, f := range fields {
		switch f {
		case "display_name":
			plan.DisplayName = in.DisplayName
		case "responsible_worker":
			plan.ResponsibleWorker = in.ResponsibleWorker
		}
	}
	plan.UpdateTime = s.now()
	name := PlanName(clientID, planID)
	w := repo.NewWrite(clientID).Plan(&before, plan, v).
		Emit(s.event(ctx, p, "plan.updated", clientID, name, map[string]string{"plan": name, "fields": strings.Join(fields, ",")}))
	if err := s.repo.Commit(ctx, w); err != nil {
		return PlanView{}, notFound(err)
	}
	return s.planView(plan, v+1), nil
}

// RevisePlan starts the next revision as a DRAFT copy of the active one.
func (s *Service) RevisePlan(ctx context.Context, clientID, planID, reason, etag, requestID string) (RevisionView, error) {
	p, err := s.authorize(ctx, clientID, write)
	if err != nil {
		return RevisionView{}, err
	}
	if err := errors.Join(assessment.CheckReason("reason", reason), checkRequestID(requestID)); err != nil {
		return RevisionView{}, firstViolations(err)
	}
	if requestID != "" {
		if n, ok, err := s.repo.RequestResult(ctx, clientID, "RevisePlan", requestID); err != nil {
			return RevisionView{}, err
		} else if ok {
			k, _ := strconv.Atoi(n)
			return s.GetRevision(ctx, clientID, planID, k)
		}
	}
	plan, v, err := s.repo.Plan(ctx, clientID, planID)
	if err != nil {
		return RevisionView{}, notFound(err)
	}
	if err := checkEtag(etag, v, false); err != nil {
		return RevisionView{}, err
	}
	if plan.State == assessment.PlanClosed {
		return RevisionView{}, &assessment.TransitionError{Kind: "plan", From: plan.State, Allowed: []string{}}
	}
	if plan.OpenRevision != 0 {
		return RevisionView{}, assessment.ErrOpenRevision
	}
	now := s.now()
	next := &assessment.Revision{ClientID: clientID, PlanID: planID}
	if plan.ActiveRevision != 0 {
		active, _, err := s.repo.Revision(ctx, clientID, planID, plan.ActiveRevision)
		if err != nil {
			return RevisionView{}, notFound(err)
		}
		next = active.Copy()
		next.ReturnReason, next.CloseReason = "", ""
		next.ActivateTime, next.EndTime = time.Time{}, time.Time{}
	}
	next.Number, next.State, next.ReviseReason = plan.LatestRevision+1, assessment.RevDraft, reason
	next.CreateTime, next.UpdateTime = now, now
	before := *plan
	plan.LatestRevision, plan.OpenRevision, plan.UpdateTime = next.Number, next.Number, now
	name := RevisionName(clientID, planID, next.Number)
	w := repo.NewWrite(clientID).Plan(&before, plan, v).Revision(next, 0).Request("RevisePlan", requestID, strconv.Itoa(next.Number)).
		Emit(s.event(ctx, p, "plan.revision_started", clientID, name, map[string]string{"plan": PlanName(clientID, planID), "revision": strconv.Itoa(next.Number)}))
	if err := s.repo.Commit(ctx, w); err != nil {
		return RevisionView{}, notFound(err)
	}
	return s.revView(next, 1), nil
}

// RecordPlanReview records a held review and moves the next review date on.
func (s *Service) RecordPlanReview(ctx context.Context, clientID, planID string, reviewDate, nextDate assessment.Date, note, etag, requestID string) (PlanView, error) {
	p, err := s.authorize(ctx, clientID, write)
	if err != nil {
		return PlanView{}, err
	}
	if err := errors.Join(assessment.CheckDate("review_date", reviewDate, true), assessment.CheckDate("next_review_date", nextDate, false),
		checkRequestID(requestID), assessment.CheckText("note", note)); err != nil {
		return PlanView{}, firstViolations(err)
	}
	if requestID != "" {
		if _, ok, err := s.repo.RequestResult(ctx, clientID, "RecordPlanReview", requestID); err != nil {
			return PlanView{}, err
		} else if ok {
			return s.GetPlan(ctx, clientID, planID)
		}
	}
	plan, v, err := s.repo.Plan(ctx, clientID, planID)
	if err != nil {
		return PlanView{}, notFound(err)
	}
	if err := checkEtag(etag, v, false); err != nil {
		return PlanView{}, err
	}
	if plan.State == assessment.PlanClosed {
		return PlanView{}, &assessment.TransitionError{Kind: "plan", From: plan.State, Allowed: []string{}}
	}
	if plan.ActiveRevision == 0 {
		return PlanView{}, assessment.ErrNoActiveRevision
	}
	if nextDate.IsZero() {
		active, _, err := s.repo.Revision(ctx, clientID, planID, plan.ActiveRevision)
		if err != nil {
			return PlanView{}, notFound(err)
		}
		if active.Schedule.CadenceMonths == 0 {
			return PlanView{}, assessment.Violations{{Field: "next_review_date", Rule: "is required when the review schedule has no cadence"}}
		}
		nextDate = reviewDate.AddMonths(int(active.Schedule.CadenceMonths))
	}
	if !reviewDate.Before(nextDate) {
		return PlanView{}, assessment.Violations{{Field: "next_review_date", Rule: "must be after review_date"}}
	}
	before := *plan
	plan.LastReviewDate, plan.NextReviewDate, plan.UpdateTime = reviewDate, nextDate, s.now()
	plan.Reviews = append(plan.Reviews, assessment.Review{Date: reviewDate, Next: nextDate, Note: note, RecordedBy: p.Subject, RecordTime: plan.UpdateTime})
	name := PlanName(clientID, planID)
	w := repo.NewWrite(clientID).Plan(&before, plan, v).Request("RecordPlanReview", requestID, planID).
		Emit(s.event(ctx, p, "plan.review_recorded", clientID, name, map[string]string{
			"plan": name, "review_date": reviewDate.String(), "next_review_date": nextDate.String()}))
	if err := s.repo.Commit(ctx, w); err != nil {
		return PlanView{}, notFound(err)
	}
	return s.planView(plan, v+1), nil
}

// GetRevision reads a plan revision.
func (s *Service) GetRevision(ctx context.Context, clientID, planID string, n int) (RevisionView, error) {
	if _, err := s.authorize(ctx, clientID, read); err != nil {
		return RevisionView{}, err
	}
	r, v, err := s.repo.Revision(ctx, clientID, planID, n)
	if err != nil {
		return RevisionView{}, notFound(err)
	}
	return s.revView(r, v), nil
}

// ListRevisions pages a plan's revisions, newest first.
func (s *Service) ListRevisions(ctx context.Context, clientID, planID string, size int32, token string) ([]RevisionView, string, error) {
	if _, err := s.authorize(ctx, clientID, read); err != nil {
		return nil, "", err
	}
	if _, _, err := s.repo.Plan(ctx, clientID, planID); err != nil {
		return nil, "", notFound(err)
	}
	n, after, query, err := page(size, token, "revs:"+clientID+"/"+planID)
	if err != nil {
		return nil, "", err
	}
	pg, err := s.repo.RevisionNumbers(ctx, clientID, planID, after, n)
	if err != nil {
		return nil, "", err
	}
	out := make([]RevisionView, 0, len(pg.Entries))
	for _, e := range pg.Entries {
		k, _ := strconv.Atoi(e.ID)
		r, v, err := s.repo.Revision(ctx, clientID, planID, k)
		if err != nil {
			return nil, "", notFound(err)
		}
		out = append(out, s.revView(r, v))
	}
	return out, nextToken(pg, query), nil
}

// RevisionFields are the fields UpdatePlanRevision may change.
var RevisionFields = []string{"assessments", "goals", "actions", "services", "wants_personal_budget", "review_schedule", "start_date", "end_date"}

// UpdateRevision changes a DRAFT or RETURNED revision's content and reprices it.
func (s *Service) UpdateRevision(ctx context.Context, clientID, planID string, n int, etag string, in *assessment.Revision, fields []string) (RevisionView, error) {
	p, err := s.authorize(ctx, clientID, write)
	if err != nil {
		return RevisionView{}, err
	}
	var vs assessment.Violations
	if len(fields) == 0 {
		vs.Add("update_mask", "is required")
	}
	for _, f := range fields {
		if !contains(RevisionFields, f) {
			vs.Add("update_mask", "field "+f+" cannot be updated ("+strings.Join(RevisionFields, ", ")+")")
		}
	}
	if err := vs.Err(); err != nil {
		return RevisionView{}, err
	}
	rev, v, err := s.repo.Revision(ctx, clientID, planID, n)
	if err != nil {
		return RevisionView{}, notFound(err)
	}
	if err := checkEtag(etag, v, true); err != nil {
		return RevisionView{}, err
	}
	if !assessment.Editable(rev.State) {
		return RevisionView{}, &assessment.TransitionError{Kind: "plan revision", From: rev.State, Allowed: assessment.RevisionNext(rev.State)}
	}
	prev := rev.Copy()
	for _, f := range fields {
		switch f {
		case "assessments":
			rev.Assessments = in.Assessments
		case "goals":
			rev.Goals = in.Goals
		case "actions":
			rev.Actions = in.Actions
		case "services":
			rev.Services = in.Services
		case "wants_personal_budget":
			rev.WantsPersonalBudget = in.WantsPersonalBudget
		case "review_schedule":
			rev.Schedule = in.Schedule
		case "start_date":
			rev.StartDate = in.StartDate
		case "end_date":
			rev.EndDate = in.EndDate
		}
	}
	if err := assessment.ValidateRevision(rev, "plan_revision."); err != nil {
		return RevisionView{}, err
	}
	if contains(fields, "services") {
		// Before ids are assigned: a service sent without an id is new and priced now.
		if err := s.price(ctx, rev, prev.Services); err != nil {
			return RevisionView{}, err
		}
	}
	rev.AssignIDs(prev)
	rev.Recompute()
	rev.UpdateTime = s.now()
	name := RevisionName(clientID, planID, n)
	w := repo.NewWrite(clientID).Revision(rev, v).
		Emit(s.event(ctx, p, "plan_revision.updated", clientID, name, map[string]string{
			"plan": PlanName(clientID, planID), "revision": strconv.Itoa(n), "fields": strings.Join(fields, ",")}))
	if err := s.repo.Commit(ctx, w); err != nil {
		return RevisionView{}, notFound(err)
	}
	return s.revView(rev, v+1), nil
}

// price pins catalogue prices for services that are new or whose pin changed;
// unchanged pins (same offering, option and version) keep their pinned price.
func (s *Service) price(ctx context.Context, rev *assessment.Revision, prev []assessment.Service) error {
	var vs assessment.Violations
	for i := range rev.Services {
		sv := &rev.Services[i]
		f := "plan_revision.services[" + strconv.Itoa(i) + "]."
		if sv.Flexible {
			sv.Offering, sv.PriceVersion, sv.PriceOptionID, sv.Unit, sv.UnitAmountCents, sv.Title = "", "", "", "", 0, assessment.Text{}
			continue
		}
		if sv.AcceptedQuote != "" {
			if err := s.priceQuote(ctx, rev.ClientID, sv, prev, f, &vs); err != nil {
				return err
			}
			continue
		}
		if old, ok := findService(prev, sv.ID); ok && old.SamePin(*sv) {
			sv.PriceVersion, sv.Title, sv.Unit, sv.UnitAmountCents, sv.Category = old.PriceVersion, old.Title, old.Unit, old.UnitAmountCents, old.Category
			continue
		}
		off, err := s.cat.Offering(ctx, sv.Offering)
		if errors.Is(err, ErrNotFound) || (err == nil && !off.Live) {
			vs.Add(f+"pinned_price.offering", "must be a live catalogue offering")
			continue
		}
		if err != nil {
			return err
		}
		pvName := sv.PriceVersion
		if pvName == "" {
			pvName = off.CurrentPriceVersion
		}
		if !strings.HasPrefix(pvName, off.Name+"/priceVersions/") {
			vs.Add(f+"pinned_price.price_version", "must be a price version of the offering")
			continue
		}
		pv, err := s.cat.PriceVersion(ctx, pvName)
		if errors.Is(err, ErrNotFound) {
			vs.Add(f+"pinned_price.price_version", "does not exist")
			continue
		}
		if err != nil {
			return err
		}
		found := false
		for _, o := range pv.Options {
			if o.ID == sv.PriceOptionID {
				sv.PriceVersion, sv.Unit, sv.UnitAmountCents, found = pv.Name, o.Unit, o.AmountCents, true
				sv.Title, sv.Category = off.Title, off.Category
			}
		}
		if !found {
			vs.Add(f+"pinned_price.price_option_id", "is not an option of that price version")
		}
	}
	return vs.Err()
}

// priceQuote prices a service from an accepted quote of this client: the
// quote's quantity times its unit price, once. The title and category come
// from the quote's offering; a quote for no offering keeps the worker's
// category (required then). An unchanged quote keeps its price without asking
// the catalogue again: only the requesting worker may read the quote, and a
// colleague editing another part of the plan must not be refused.
func (s *Service) priceQuote(ctx context.Context, clientID string, sv *assessment.Service, prev []assessment.Service, f string, vs *assessment.Violations) error {
	sv.PriceVersion, sv.PriceOptionID, sv.Frequency = "", "", assessment.FrequencyOnce
	if old, ok := findService(prev, sv.ID); ok && old.SamePin(*sv) {
		sv.Offering, sv.Title, sv.Unit, sv.UnitAmountCents, sv.Quantity = old.Offering, old.Title, old.Unit, old.UnitAmountCents, old.Quantity
		if old.Offering != "" || sv.Category == "" {
			sv.Category = old.Category
		}
		return nil
	}
	q, err := s.cat.Quote(ctx, sv.AcceptedQuote)
	switch {
	case errors.Is(err, ErrNotFound):
		vs.Add(f+"accepted_quote", "must be a quote request you made")
		return nil
	case err != nil:
		return err
	case q.ClientID != clientID:
		vs.Add(f+"accepted_quote", "must be a quote request for this client")
		return nil
	case !q.Accepted:
		vs.Add(f+"accepted_quote", "must be an ACCEPTED quote request")
		return nil
	}
	sv.Offering, sv.Unit, sv.UnitAmountCents, sv.Quantity = q.Offering, q.Unit, q.UnitAmountCents, q.Quantity
	sv.Title = assessment.Text{}
	if q.Offering != "" {
		off, err := s.cat.Offering(ctx, q.Offering)
		if errors.Is(err, ErrNotFound) {
			vs.Add(f+"accepted_quote", "the quote's offering is no longer in the catalogue")
			return nil
		}
		if err != nil {
			return err
		}
		sv.Title, sv.Category = off.Title, off.Category
	}
	if sv.Category == "" || sv.Category == "CATEGORY_UNSPECIFIED" {
		vs.Add(f+"category", "is required for a quote that names no offering")
	}
	return nil
}

func findService(list []assessment.Service, id string) (assessment.Service, bool) {
	for _, s := range list {
		if s.ID == id {
			return s, true
		}
	}
	return assessment.Service{}, false
}

// revStep is one state change of a revision, run inside revisionVerb.
type revStep struct {
	p       auth.Principal
	plan    *assessment.Plan
	rev     *assessment.Revision
	w       *repo.Write
	evs     []events.Envelope
	planMod bool
}

// revisionVerb runs a state-changing verb on a revision: authorization,
// idempotency, etag, then fn, then one atomic write of the revision, the plan
// (when fn changed it), anything fn added, the request key and the events.
func (s *Service) revisionVerb(ctx context.Context, method string, m mode, clientID, planID string, n int, etag, requestID string,
	fn func(st *revStep) error) (RevisionView, error) {
	p, err := s.authorize(ctx, clientID, m)
	if err != nil {
		return RevisionView{}, err
	}
	if err := checkRequestID(requestID); err != nil {
		return RevisionView{}, err
	}
	if requestID != "" {
		if _, ok, err := s.repo.RequestResult(ctx, clientID, method, requestID); err != nil {
			return RevisionView{}, err
		} else if ok {
			return s.GetRevision(ctx, clientID, planID, n)
		}
	}
	plan, pv, err := s.repo.Plan(ctx, clientID, planID)
	if err != nil {
		return RevisionView{}, notFound(err)
	}
	rev, v, err := s.repo.Revision(ctx, clientID, planID, n)
	if err != nil {
		return RevisionView{}, notFound(err)
	}
	if err := checkEtag(etag, v, false); err != nil {
		return RevisionView{}, err
	}
	before := *plan
	st := &revStep{p: p, plan: plan, rev: rev, w: repo.NewWrite(clientID)}
	if err := fn(st); err != nil {
		return RevisionView{}, err
	}
	st.w.Revision(rev, v).Request(method, requestID, strconv.Itoa(n)).Emit(st.evs...)
	if st.planMod {
		st.w.Plan(&before, plan, pv)
	}
	if err := s.repo.Commit(ctx, st.w); err != nil {
		return RevisionView{}, notFound(err)
	}
	return s.revView(rev, v+1), nil
}

func (s *Service) revEvent(ctx context.Context, st *revStep, typ string, data map[string]string) {
	name := RevisionName(st.rev.ClientID, st.rev.PlanID, st.rev.Number)
	if data == nil {
		data = map[string]string{}
	}
	data["plan"], data["revision"] = PlanName(st.rev.ClientID, st.rev.PlanID), strconv.Itoa(st.rev.Number)
	st.evs = append(st.evs, s.event(ctx, st.p, typ, st.rev.ClientID, name, data))
}

// ProposeRevision moves DRAFT or RETURNED to PROPOSED.
func (s *Service) ProposeRevision(ctx context.Context, clientID, planID string, n int, etag, requestID string) (RevisionView, error) {
	return s.revisionVerb(ctx, "ProposePlanRevision", write, clientID, planID, n, etag, requestID, func(st *revStep) error {
		if err := assessment.CheckRevisionTransition(st.rev.State, assessment.RevProposed); err != nil {
			return err
		}
		if err := st.rev.Incomplete(); err != nil {
			return err
		}
		from := st.rev.State
		st.rev.State, st.rev.UpdateTime = assessment.RevProposed, s.now()
		s.revEvent(ctx, st, "plan_revision.proposed", map[string]string{"from": from,
			"yearly_cost_cents":         strconv.FormatInt(st.rev.YearlyCostCents, 10),
			"requires_manager_approval": strconv.FormatBool(st.rev.RequiresManager(s.cfg.AuthorityLimitCents))})
		return nil
	})
}

// ApproveRevision applies the approval rule (see assessment.Revision.Approve).
func (s *Service) ApproveRevision(ctx context.Context, clientID, planID string, n int, justification, etag, requestID string) (RevisionView, error) {
	return s.revisionVerb(ctx, "ApprovePlanRevision", write, clientID, planID, n, etag, requestID, func(st *revStep) error {
		if err := st.rev.Approve(st.p.Subject, string(st.p.Role), justification, s.cfg.AuthorityLimitCents, s.now()); err != nil {
			return err
		}
		s.revEvent(ctx, st, "plan_revision.approved", map[string]string{
			"approver_role": string(st.p.Role), "yearly_cost_cents": strconv.FormatInt(st.rev.YearlyCostCents, 10),
			"authority_limit_cents": strconv.FormatInt(s.cfg.AuthorityLimitCents, 10),
			"above_limit":           strconv.FormatBool(st.rev.RequiresManager(s.cfg.AuthorityLimitCents))})
		return nil
	})
}

// ReturnRevision sends a PROPOSED revision back with a reason; the agreement is
// cleared.
func (s *Service) ReturnRevision(ctx context.Context, clientID, planID string, n int, reason, etag, requestID string) (RevisionView, error) {
	if err := assessment.CheckReason("reason", reason); err != nil {
		return RevisionView{}, err
	}
	return s.revisionVerb(ctx, "ReturnPlanRevision", write, clientID, planID, n, etag, requestID, func(st *revStep) error {
		if err := assessment.CheckRevisionTransition(st.rev.State, assessment.RevReturned); err != nil {
			return err
		}
		st.rev.State, st.rev.ReturnReason, st.rev.Agreement, st.rev.UpdateTime = assessment.RevReturned, reason, nil, s.now()
		s.revEvent(ctx, st, "plan_revision.returned", nil)
		return nil
	})
}

// Agreement methods.
const (
	MethodClientOnline = "AGREEMENT_METHOD_CLIENT_ONLINE"
)

var workerMethods = []string{"AGREEMENT_METHOD_IN_PERSON", "AGREEMENT_METHOD_PHONE", "AGREEMENT_METHOD_VIDEO", "AGREEMENT_METHOD_PAPER_SIGNATURE"}

// RecordAgreement records the client's agreement in PROPOSED or APPROVED: by
// the client themself (CLIENT_ONLINE) or confirmed by a worker with how.
func (s *Service) RecordAgreement(ctx context.Context, clientID, planID string, n int, method, note, etag, requestID string) (RevisionView, error) {
	if err := assessment.CheckText("note", note); err != nil {
		return RevisionView{}, err
	}
	return s.revisionVerb(ctx, "RecordPlanAgreement", agree, clientID, planID, n, etag, requestID, func(st *revStep) error {
		byClient := st.p.Role == auth.RoleClient
		switch {
		case byClient && method != MethodClientOnline:
			return assessment.Violations{{Field: "method", Rule: "must be AGREEMENT_METHOD_CLIENT_ONLINE when the client records it"}}
		case !byClient && !contains(workerMethods, method):
			return assessment.Violations{{Field: "method", Rule: "must say how the client agreed (IN_PERSON, PHONE, VIDEO or PAPER_SIGNATURE) when a worker confirms it"}}
		}
		if st.rev.State != assessment.RevProposed && st.rev.State != assessment.RevApproved {
			return &assessment.TransitionError{Kind: "plan revision", From: st.rev.State, Allowed: assessment.RevisionNext(st.rev.State)}
		}
		now := s.now()
		st.rev.Agreement = &assessment.Agreement{Method: method, ByClient: byClient, RecordedBy: st.p.Subject, Note: note, AgreeTime: now}
		st.rev.UpdateTime = now
		s.revEvent(ctx, st, "plan_revision.agreement_recorded", map[string]string{"method": method, "by_client": strconv.FormatBool(byClient)})
		return nil
	})
}

// ActivateRevision puts an APPROVED, agreed revision in force; the previous
// ACTIVE revision becomes SUPERSEDED in the same batch.
func (s *Service) ActivateRevision(ctx context.Context, clientID, planID string, n int, etag, requestID string) (RevisionView, error) {
	return s.revisionVerb(ctx, "ActivatePlanRevision", write, clientID, planID, n, etag, requestID, func(st *revStep) error {
		if err := assessment.CheckRevisionTransition(st.rev.State, assessment.RevActive); err != nil {
			return err
		}
		if st.rev.Agreement == nil {
			return assessment.ErrAgreementRequired
		}
		now := s.now()
		if old := st.plan.ActiveRevision; old != 0 && old != st.rev.Number {
			prev, pv, err := s.repo.Revision(ctx, clientID, planID, old)
			if err != nil {
				return notFound(err)
			}
			prev.State, prev.EndTime, prev.UpdateTime = assessment.RevSuperseded, now, now
			st.w.Revision(prev, pv)
			st.evs = append(st.evs, s.event(ctx, st.p, "plan_revision.superseded", clientID, RevisionName(clientID, planID, old),
				map[string]string{"plan": PlanName(clientID, planID), "revision": strconv.Itoa(old), "by": strconv.Itoa(st.rev.Number)}))
		}
		st.rev.State, st.rev.ActivateTime, st.rev.UpdateTime = assessment.RevActive, now, now
		st.plan.ActiveRevision, st.plan.OpenRevision, st.plan.UpdateTime = st.rev.Number, 0, now
		st.plan.NextReviewDate = st.rev.Schedule.NextReviewDate
		st.planMod = true
		s.revEvent(ctx, st, "plan_revision.activated", map[string]string{"next_review_date": st.rev.Schedule.NextReviewDate.String()})
		return nil
	})
}

// CloseRevision closes a revision: an ACTIVE one ends the plan, an open one is
// abandoned.
func (s *Service) CloseRevision(ctx context.Context, clientID, planID string, n int, reason, etag, requestID string) (RevisionView, error) {
	if err := assessment.CheckReason("reason", reason); err != nil {
		return RevisionView{}, err
	}
	return s.revisionVerb(ctx, "ClosePlanRevision", write, clientID, planID, n, etag, requestID, func(st *revStep) error {
		if err := assessment.CheckRevisionTransition(st.rev.State, assessment.RevClosed); err != nil {
			return err
		}
		now := s.now()
		wasActive := st.rev.State == assessment.RevActive
		st.rev.State, st.rev.CloseReason, st.rev.EndTime, st.rev.UpdateTime = assessment.RevClosed, reason, now, now
		s.revEvent(ctx, st, "plan_revision.closed", map[string]string{"ended_plan": strconv.FormatBool(wasActive)})
		st.planMod = true
		st.plan.UpdateTime = now
		if st.plan.OpenRevision == st.rev.Number {
			st.plan.OpenRevision = 0
		}
		if wasActive {
			if open := st.plan.OpenRevision; open != 0 && open != st.rev.Number {
				// The plan ends: a revision still being drafted ends with it.
				o, ov, err := s.repo.Revision(ctx, clientID, planID, open)
				if err != nil {
					return notFound(err)
				}
				o.State, o.CloseReason, o.EndTime, o.UpdateTime = assessment.RevClosed, "the plan was closed", now, now
				st.w.Revision(o, ov)
				st.evs = append(st.evs, s.event(ctx, st.p, "plan_revision.closed", clientID, RevisionName(clientID, planID, open),
					map[string]string{"plan": PlanName(clientID, planID), "revision": strconv.Itoa(open), "ended_plan": "false"}))
			}
			st.plan.OpenRevision = 0
			st.plan.State, st.plan.CloseTime = assessment.PlanClosed, now
			name := PlanName(clientID, planID)
			st.evs = append(st.evs, s.event(ctx, st.p, "plan.closed", clientID, name, map[string]string{"plan": name}))
		}
		return nil
	})
}

// OverdueReview is one plan whose review date has passed.
type OverdueReview struct {
	Plan        *assessment.Plan
	DaysOverdue int
}

// ListOverdueReviews lists OPEN plans whose next review date is before asOf,
// most overdue first: a worker's own (worker "" or their subject), or for a
// MANAGER any worker's of their region, or every worker's with "-".
func (s *Service) ListOverdueReviews(ctx context.Context, worker string, asOf assessment.Date, size int32, token string) ([]OverdueReview, string, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, "", ErrUnauthenticated
	}
	if !p.Is(auth.RoleWorker, auth.RoleManager) || p.Region == "" {
		return nil, "", ErrPermission
	}
	if worker == "" {
		worker = p.Subject
	}
	if p.Role == auth.RoleWorker && worker != p.Subject {
		return nil, "", ErrPermission
	}
	if asOf.IsZero() {
		asOf = assessment.Today(s.now())
	} else if err := assessment.CheckDate("as_of_date", asOf, true); err != nil {
		return nil, "", err
	}
	index := repo.DueIndex(p.Region, worker)
	if worker == "-" {
		index = repo.DueIndex(p.Region, "")
	}
	n, after, query, err := page(size, token, index+"|"+asOf.String())
	if err != nil {
		return nil, "", err
	}
	pg, err := s.repo.Due(ctx, index, after, n)
	if err != nil {
		return nil, "", err
	}
	var out []OverdueReview
	cut := asOf.String()
	for _, e := range pg.Entries {
		if e.SortKey >= cut {
			pg.More = false
			break
		}
		clientID, planID, _ := strings.Cut(e.ID, "/")
		plan, _, err := s.repo.Plan(ctx, clientID, planID)
		if err != nil {
			return nil, "", notFound(err)
		}
		out = append(out, OverdueReview{Plan: plan, DaysOverdue: plan.NextReviewDate.DaysUntil(asOf)})
	}
	return out, nextToken(pg, query), nil
}

// page applies the page rules and decodes a token bound to query.
func page(size int32, token, query string) (int, store.IndexEntry, string, error) {
	n, err := pagination.Size(size)
	if err != nil {
		return 0, store.IndexEntry{}, "", err
	}
	after, err := pagination.Decode(token, query)
	if err != nil {
		return 0, store.IndexEntry{}, "", err
	}
	return n, after, query, nil
}

func nextToken(pg repo.Page, query string) string {
	if !pg.More || len(pg.Entries) == 0 {
		return ""
	}
	return pagination.Encode(pg.Entries[len(pg.Entries)-1], query)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// firstViolations flattens joined validation errors into one Violations.
func firstViolations(err error) error {
	var all assessment.Violations
	var rest []error
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		var vs assessment.Violations
		if errors.As(e, &vs) && e.Error() == vs.Error() {
			all = append(all, vs...)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		rest = append(rest, e)
	}
	walk(err)
	if len(rest) > 0 {
		return rest[0]
	}
	return all.Err()
}

// checkWorker accepts "" or a worker of the client's team (the coordinating
// worker or a team member's subject).
func checkWorker(info ClientInfo, worker string) error {
	if worker == "" || worker == info.CoordinatingWorker || contains(info.Team, worker) {
		return nil
	}
	return assessment.Violations{{Field: "plan.responsible_worker", Rule: "must be the coordinating worker or a member of the client's team"}}
}
