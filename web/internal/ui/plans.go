package ui

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	"github.com/polku-hb/polku/web/internal/session"
)

func init() {
	// plansNext is the message key of a revision's next step; plansIs tests
	// its state by name (templates cannot name enum constants).
	funcs["plansNext"] = nextStepKey
	funcs["plansIs"] = func(r *assessmentv1.PlanRevision, state string) bool { return r.GetState().String() == state }
	// plansRow hands one action row (nil: the empty new row) to its partial.
	funcs["plansRow"] = func(p Page, i int, x *assessmentv1.PlanAction) map[string]any {
		return map[string]any{"P": p, "I": i, "X": x}
	}
	funcs["plansHas"] = func(list []string, s string) bool { return slices.Contains(list, s) }
	funcs["plansFrequencies"] = func() []string { return []string{"FREQUENCY_ONCE", "FREQUENCY_PER_WEEK", "FREQUENCY_PER_MONTH"} }
}

// nextStepKey says what happens next with a revision, in words for the
// worker; an approved revision with the client's agreement only waits for
// activation.
func nextStepKey(r *assessmentv1.PlanRevision) string {
	if r.GetState() == assessmentv1.PlanRevision_APPROVED && r.GetAgreement() != nil {
		return "plans.next.AGREED"
	}
	return "plans.next." + r.GetState().String()
}

// workerAgreementMethods are the ways a worker may confirm the client's
// agreement (CLIENT_ONLINE is the client's own).
var workerAgreementMethods = []string{"AGREEMENT_METHOD_IN_PERSON", "AGREEMENT_METHOD_PHONE", "AGREEMENT_METHOD_VIDEO", "AGREEMENT_METHOD_PAPER_SIGNATURE"}

// responsibleParties are the choices of who carries out an action.
var responsibleParties = []string{"RESPONSIBLE_PARTY_CLIENT", "RESPONSIBLE_PARTY_WORKER", "RESPONSIBLE_PARTY_ASSISTANT",
	"RESPONSIBLE_PARTY_PROVIDER", "RESPONSIBLE_PARTY_CLOSE_PERSON"}

// renderDraft shows the draft page for rev; msg (with status 400) is a refused
// edit, shown above the form that still holds what the worker wrote.
func (a *app) renderDraft(rq *request, status int, rev *assessmentv1.PlanRevision, q string, found []*cataloguev1.Offering, more pager, msg string) error {
	name := revisionName(rq)
	st := rev.GetState()
	editable := st == assessmentv1.PlanRevision_DRAFT || st == assessmentv1.PlanRevision_RETURNED
	canAgree := (st == assessmentv1.PlanRevision_PROPOSED || st == assessmentv1.PlanRevision_APPROVED) && rev.GetAgreement() == nil
	// Whole: the plan may answer any of the client's assessments.
	var as assessmentv1.ListAssessmentsResponse
	capped, err := readAll(rq.r.Context(), rq, "clients/"+rq.r.PathValue("id")+"/assessments", nil, &as)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		rq.w.Header().Set("Content-Type", "text/html; charset=utf-8")
		rq.w.WriteHeader(status)
	}
	return a.render(rq, "draft", rq.lang.T("draft.title"), map[string]any{
		"ClientID": rq.r.PathValue("id"), "Rev": rev, "Query": q, "Found": found, "More": more, "Editable": editable, "Capped": cappedNote(rq, capped),
		"Action": "/worker/" + name, "RequestID": session.RandomToken(), "Error": msg, "Assessments": as.GetAssessments(),
		"CanAgree": canAgree && rq.s.Role == "WORKER", "Methods": workerAgreementMethods, "Parties": responsibleParties,
		"CanActivate": st == assessmentv1.PlanRevision_APPROVED && rev.GetAgreement() != nil && rq.s.Role == "WORKER",
	})
}

// getRevision reads the revision the path names.
func getRevision(rq *request) (*assessmentv1.PlanRevision, error) {
	rev := &assessmentv1.PlanRevision{}
	return rev, rq.edge.Get(rq.r.Context(), revisionName(rq), nil, rev)
}

// saveContent saves the draft page's main form: the assessments the plan
// answers, goals, actions, period and review schedule. A goal or action keeps
// what the form does not show (linked needs, progress, the responsible team
// member) by its id. Every row is read even after a refused one, so the form
// comes back whole.
func (a *app) saveContent(rq *request) error {
	rev, err := getRevision(rq)
	if err != nil {
		return err
	}
	// The assessments the plan answers: the edge checks they are this client's.
	body := &assessmentv1.PlanRevision{Name: rev.GetName(), Etag: rq.r.PostFormValue("etag"), Assessments: rq.r.PostForm["assessment"]}
	goals, removed, gerr := formGoals(rq, rev.GetGoals())
	actions, aerr := formActions(rq, rev.GetActions(), removed)
	body.Goals, body.Actions = goals, actions
	err = cmp.Or(formPeriod(rq, body), gerr, aerr)
	if err == nil {
		err = rq.edge.Patch(rq.r.Context(), rev.GetName(), url.Values{"update_mask": {"assessments,goals,actions,review_schedule,start_date,end_date"}}, body, nil)
	}
	if refused(err) {
		rev.Assessments, rev.Goals, rev.Actions = body.Assessments, goals, actions
		rev.ReviewSchedule, rev.StartDate, rev.EndDate = body.ReviewSchedule, body.StartDate, body.EndDate
		return a.renderDraft(rq, http.StatusBadRequest, rev, "", nil, pager{}, a.explain(rq.lang, err))
	} else if err != nil {
		return err
	}
	return redirect(rq, "/worker/"+rev.GetName()+"#goals", "ok.plans.content.saved")
}

// formPeriod reads the plan period and the review schedule into rev; a
// draft may leave them empty (proposing needs them, and the edge says so).
func formPeriod(rq *request, rev *assessmentv1.PlanRevision) error {
	f := rq.r.PostForm
	start, err1 := parseDay(f.Get("start_date"))
	end, err2 := parseDay(f.Get("end_date"))
	next, err3 := parseDay(f.Get("next_review"))
	rev.StartDate, rev.EndDate = start, end
	if err := cmp.Or(err1, err2, err3); err != nil {
		return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("plans.date.invalid"))
	}
	cadence := 0
	if c := strings.TrimSpace(f.Get("cadence")); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 || n > 24 {
			return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("plans.cadence.invalid"))
		}
		cadence = n
	}
	if next != nil {
		rev.ReviewSchedule = &assessmentv1.ReviewSchedule{NextReviewDate: next, CadenceMonths: int32(cadence)}
	}
	return nil
}

// formGoals reads the goal rows; the ids of removed goals are returned so
// that actions stop pointing at them.
func formGoals(rq *request, cur []*assessmentv1.Goal) ([]*assessmentv1.Goal, map[string]bool, error) {
	f := rq.r.PostForm
	removed := map[string]bool{}
	var out []*assessmentv1.Goal
	var bad error
	for i := 0; f.Has("goal-words-" + strconv.Itoa(i)); i++ {
		n := strconv.Itoa(i)
		id := f.Get("goal-id-" + n)
		words, measure := strings.TrimSpace(f.Get("goal-words-"+n)), strings.TrimSpace(f.Get("goal-measure-"+n))
		if f.Get("goal-remove-"+n) != "" {
			removed[id] = true
			continue
		}
		if id == "" && words == "" && measure == "" {
			continue // the empty new row
		}
		g := &assessmentv1.Goal{Id: id}
		if i := slices.IndexFunc(cur, func(c *assessmentv1.Goal) bool { return c.GetId() == id }); id != "" && i >= 0 {
			g = proto.Clone(cur[i]).(*assessmentv1.Goal)
		}
		g.ClientWords, g.Measure = words, measure
		target, err := parseDay(f.Get("goal-target-" + n))
		g.TargetDate = target
		out = append(out, g)
		switch {
		case bad != nil:
		case words == "":
			bad = fmt.Errorf("%w: %s", errBadInput, rq.lang.T("plans.goal.required", i+1))
		case err != nil:
			bad = fmt.Errorf("%w: %s", errBadInput, rq.lang.T("plans.date.invalid"))
		}
	}
	return out, removed, bad
}

// formActions reads the action rows like formGoals.
func formActions(rq *request, cur []*assessmentv1.PlanAction, removedGoals map[string]bool) ([]*assessmentv1.PlanAction, error) {
	f := rq.r.PostForm
	var out []*assessmentv1.PlanAction
	var bad error
	for i := 0; f.Has("action-desc-" + strconv.Itoa(i)); i++ {
		n := strconv.Itoa(i)
		id := f.Get("action-id-" + n)
		desc := strings.TrimSpace(f.Get("action-desc-" + n))
		if f.Get("action-remove-"+n) != "" || (id == "" && desc == "") {
			continue
		}
		a := &assessmentv1.PlanAction{Id: id}
		if i := slices.IndexFunc(cur, func(c *assessmentv1.PlanAction) bool { return c.GetId() == id }); id != "" && i >= 0 {
			a = proto.Clone(cur[i]).(*assessmentv1.PlanAction)
		}
		a.GoalIds = slices.DeleteFunc(a.GoalIds, func(g string) bool { return removedGoals[g] })
		a.Description, a.Done = desc, f.Get("action-done-"+n) != ""
		resp := f.Get("action-resp-" + n)
		a.Responsible = assessmentv1.ResponsibleParty(assessmentv1.ResponsibleParty_value[resp])
		due, err := parseDay(f.Get("action-due-" + n))
		a.DueDate = due
		out = append(out, a)
		switch {
		case bad != nil:
		case desc == "" || !slices.Contains(responsibleParties, resp):
			bad = fmt.Errorf("%w: %s", errBadInput, rq.lang.T("plans.action.required", i+1))
		case err != nil:
			bad = fmt.Errorf("%w: %s", errBadInput, rq.lang.T("plans.date.invalid"))
		}
	}
	return out, bad
}

// changeService sets a chosen service's quantity and frequency; the other
// services are sent back as they are (the list is replaced whole).
func (a *app) changeService(rq *request) error {
	qty, freq, err := quantityAndFrequency(rq)
	if err != nil {
		return err
	}
	return a.editServices(rq, "ok.plans.service.changed", func(s *assessmentv1.ChosenService) *assessmentv1.ChosenService {
		s.Quantity, s.Frequency = qty, freq
		return s
	})
}

// removeService drops one chosen service from the draft.
func (a *app) removeService(rq *request) error {
	return a.editServices(rq, "ok.plans.service.removed", func(*assessmentv1.ChosenService) *assessmentv1.ChosenService { return nil })
}

// editServices applies edit to the service the path names (nil removes it)
// and saves the list; a service id not in the draft is refused.
func (a *app) editServices(rq *request, ok string, edit func(*assessmentv1.ChosenService) *assessmentv1.ChosenService) error {
	rev, err := getRevision(rq)
	if err != nil {
		return err
	}
	sid := rq.r.PathValue("sid")
	var services []*assessmentv1.ChosenService
	found := false
	for _, s := range rev.GetServices() {
		s = inputOnly(s)
		if s.GetId() == sid {
			found = true
			if s = edit(s); s == nil {
				continue
			}
		}
		services = append(services, s)
	}
	if !found {
		return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("plans.service.missing"))
	}
	body := &assessmentv1.PlanRevision{Name: rev.GetName(), Etag: rq.r.PostFormValue("etag"), Services: services}
	if err := rq.edge.Patch(rq.r.Context(), rev.GetName(), url.Values{"update_mask": {"services"}}, body, nil); err != nil {
		return err
	}
	return redirect(rq, "/worker/"+rev.GetName()+"#services", ok)
}

// quantityAndFrequency reads and checks the amount fields of a service form.
func quantityAndFrequency(rq *request) (int32, assessmentv1.Frequency, error) {
	f := rq.r.PostForm
	qty, err := strconv.Atoi(f.Get("quantity"))
	if err != nil || qty < 1 || qty > 1000 {
		return 0, 0, fmt.Errorf("%w: %s", errBadInput, rq.lang.T("draft.quantity.invalid"))
	}
	freq, ok := assessmentv1.Frequency_value[f.Get("frequency")]
	if !ok || freq == 0 {
		return 0, 0, fmt.Errorf("%w: %s", errBadInput, rq.lang.T("draft.frequency.invalid"))
	}
	return int32(qty), assessmentv1.Frequency(freq), nil
}

// recordAgreement records how the client agreed to the revision, pinned to
// the content the worker saw (etag).
func (a *app) recordAgreement(rq *request) error {
	f := rq.r.PostForm
	method := f.Get("method")
	if !slices.Contains(workerAgreementMethods, method) {
		return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("plans.agreement.required"))
	}
	name := revisionName(rq)
	body := map[string]any{"method": method, "note": strings.TrimSpace(f.Get("note")), "etag": f.Get("etag"), "request_id": f.Get("request_id")}
	if err := rq.edge.Post(rq.r.Context(), name+":recordAgreement", nil, body, nil); err != nil {
		return err
	}
	return redirect(rq, "/worker/"+name, "ok.plans.agreed")
}

// activateRevision puts an approved, agreed revision in force.
func (a *app) activateRevision(rq *request) error {
	f := rq.r.PostForm
	name := revisionName(rq)
	if err := rq.edge.Post(rq.r.Context(), name+":activate", nil, map[string]any{"etag": f.Get("etag"), "request_id": f.Get("request_id")}, nil); err != nil {
		return err
	}
	return redirect(rq, "/worker/clients/"+rq.r.PathValue("id")+"#plans", "ok.plans.activated")
}

// returnPlan sends a proposed revision back to the worker with the manager's
// reason.
func (a *app) returnPlan(rq *request) error {
	f := rq.r.PostForm
	name := f.Get("name")
	reason := strings.TrimSpace(f.Get("reason"))
	if reason == "" {
		return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("plans.return.required"))
	}
	parts := strings.Split(name, "/")
	if len(parts) != 6 || parts[0] != "clients" || parts[2] != "plans" || parts[4] != "revisions" {
		return fmt.Errorf("%w: name", errBadInput)
	}
	body := map[string]any{"reason": reason, "etag": f.Get("etag"), "request_id": f.Get("request_id")}
	if err := rq.edge.Post(rq.r.Context(), name+":return", nil, body, nil); err != nil {
		return err
	}
	return redirect(rq, "/manager", "ok.plans.returned")
}
