package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/type/date"

	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/web/internal/edge"
	"github.com/polku-hb/polku/web/internal/i18n"
	"github.com/polku-hb/polku/web/internal/session"
)

func init() {
	// isoDate fills <input type=date> (always YYYY-MM-DD, whatever the UI language).
	funcs["isoDate"] = func(d *date.Date) string {
		if d.GetYear() == 0 {
			return ""
		}
		return fmt.Sprintf("%04d-%02d-%02d", d.GetYear(), d.GetMonth(), d.GetDay())
	}
	funcs["budgetModes"] = budgetModes
	// signedDecimal shows a change such as the cohort report's capacity
	// change with its sign and the language's decimal separator ("+1,62").
	funcs["signedDecimal"] = func(l i18n.Lang, v float64) string {
		return strings.Replace(fmt.Sprintf("%+.2f", v), ".", decimalSep(l), 1)
	}
}

// budgetModes are the management modes a budget drawn from rev may have: a
// plan that does not want a personal budget only gets a cost follow-up
// budget the region pays (the budget service refuses the others).
func budgetModes(rev *assessmentv1.PlanRevision) []string {
	if rev != nil && !rev.GetWantsPersonalBudget() {
		return []string{"MANAGEMENT_MODE_REGION_PAYS"}
	}
	return []string{"MANAGEMENT_MODE_REGION_PAYS", "MANAGEMENT_MODE_CLIENT_MANAGED", "MANAGEMENT_MODE_ASSISTANT_MANAGED"}
}

// budgetPanel is the client page's budget work: the budgets not closed
// (each links to its own page) and the plan revisions that could have a
// budget but have none.
type budgetPanel struct {
	Budgets   []*budgetv1.Budget
	Offers    []budgetOffer
	RequestID string // fresh per page: a double submit is one budget, a later one a new budget
}

// budgetOffer is an approved or active plan revision with no budget yet.
type budgetOffer struct {
	PlanTitle string
	Rev       *assessmentv1.PlanRevision
}

// newBudgetPanel decides what the client page offers: a plan gets a "create
// budget" form when its newest usable revision exists and no open budget is
// drawn from any revision of that plan (a newer revision is a :revise of the
// existing budget, offered on the budget's page).
func newBudgetPanel(plans []planView, budgets []*budgetv1.Budget) budgetPanel {
	p := budgetPanel{RequestID: session.RandomToken()}
	for _, b := range budgets {
		if b.GetState() != budgetv1.Budget_CLOSED {
			p.Budgets = append(p.Budgets, b)
		}
	}
	for _, pv := range plans {
		rev := usableRevision(pv)
		if rev == nil || hasBudget(p.Budgets, pv.Plan.GetName()) {
			continue
		}
		p.Offers = append(p.Offers, budgetOffer{PlanTitle: pv.Plan.GetDisplayName(), Rev: rev})
	}
	return p
}

// usableRevision is the plan's newest revision a budget may be drawn from
// (APPROVED, or the ACTIVE one).
func usableRevision(pv planView) *assessmentv1.PlanRevision {
	if pv.Draft != nil && pv.Draft.GetState() == assessmentv1.PlanRevision_APPROVED {
		return pv.Draft
	}
	return pv.Active
}

func hasBudget(budgets []*budgetv1.Budget, plan string) bool {
	for _, b := range budgets {
		if strings.HasPrefix(b.GetPlanRevision(), plan+"/revisions/") {
			return true
		}
	}
	return false
}

// budgetView is what the budget page shows.
type budgetView struct {
	ClientID  string
	Client    *clientsv1.Client
	B         *budgetv1.Budget
	Newer     *assessmentv1.PlanRevision // a newer usable plan revision: offer :revise
	Planned   int64                      // planned + carried over on all lines: what activation allocates
	Error     string                     // why the last action was refused
	RequestID string
}

func budgetName(rq *request) string {
	return "clients/" + rq.r.PathValue("id") + "/budgets/" + rq.r.PathValue("budget")
}

// budgetPage shows one budget with its lines and what can be done in its
// state: edit while DRAFT, activate once APPROVED, reallocate, revise or
// close while ACTIVE.
func (a *app) budgetPage(rq *request) error { return a.showBudget(rq, "") }

// onBudgetPage runs a budget action; when the input or the edge refuses it,
// the budget page comes back with the reason in an alert, so the worker
// stays where they were.
func (a *app) onBudgetPage(h handler) handler {
	return func(rq *request) error {
		err := h(rq)
		var e *edge.Error
		isEdge := errors.As(err, &e)
		switch {
		case isEdge && (e.Reason == "ABOVE_AUTHORITY_LIMIT" || e.Reason == "ABOVE_REALLOCATION_LIMIT"):
			// A worker's limit, not a missing right: say who can do it.
			rq.w.WriteHeader(e.Status)
			return a.showBudget(rq, rq.lang.T("budget.above.limit")+" ("+e.Message+")")
		case errors.Is(err, errBadInput) ||
			(isEdge && (e.Status == http.StatusBadRequest || e.Status == http.StatusConflict || e.Status == http.StatusPreconditionFailed)):
			rq.w.WriteHeader(statusOf(err))
			return a.showBudget(rq, a.explain(rq.lang, err))
		}
		return err
	}
}

func (a *app) showBudget(rq *request, problem string) error {
	ctx := rq.r.Context()
	v := &budgetView{ClientID: rq.r.PathValue("id"), Client: &clientsv1.Client{}, B: &budgetv1.Budget{}, RequestID: session.RandomToken(), Error: problem}
	if err := rq.edge.Get(ctx, "clients/"+v.ClientID, nil, v.Client); err != nil {
		return err
	}
	if err := rq.edge.Get(ctx, budgetName(rq), nil, v.B); err != nil {
		return err
	}
	for _, l := range v.B.GetLines() {
		v.Planned += l.GetPlannedCents() + l.GetCarriedOverCents()
	}
	if v.B.GetState() == budgetv1.Budget_ACTIVE && v.B.GetNextBudget() == "" {
		var err error
		if v.Newer, err = newerRevision(rq, v.B.GetPlanRevision()); err != nil {
			return err
		}
	}
	return a.render(rq, "budget", v.B.GetDisplayName(), v)
}

// newerRevision is the plan's newest APPROVED or ACTIVE revision when it is
// newer than rev, else nil.
func newerRevision(rq *request, rev string) (*assessmentv1.PlanRevision, error) {
	ctx := rq.r.Context()
	plan, _, ok := strings.Cut(rev, "/revisions/")
	if !ok {
		return nil, nil
	}
	var p assessmentv1.Plan
	if err := rq.edge.Get(ctx, plan, nil, &p); err != nil {
		return nil, err
	}
	for _, name := range []string{p.GetLatestRevision(), p.GetActiveRevision()} {
		if name == "" || revisionNumber(name) <= revisionNumber(rev) {
			continue
		}
		var r assessmentv1.PlanRevision
		if err := rq.edge.Get(ctx, name, nil, &r); err != nil {
			return nil, err
		}
		if r.GetState() == assessmentv1.PlanRevision_APPROVED || r.GetState() == assessmentv1.PlanRevision_ACTIVE {
			return &r, nil
		}
	}
	return nil, nil
}

func revisionNumber(name string) int {
	n, _ := strconv.Atoi(lastSegment(name))
	return n
}

// createBudget draws a DRAFT budget from an approved plan revision.
func (a *app) createBudget(rq *request) error {
	id := rq.r.PathValue("id")
	f := rq.r.PostForm
	rev := f.Get("plan_revision")
	if !strings.HasPrefix(rev, "clients/"+id+"/plans/") {
		return fmt.Errorf("%w: plan_revision", errBadInput)
	}
	body, err := budgetFields(rq)
	if err != nil {
		return err
	}
	body["plan_revision"] = rev
	var b budgetv1.Budget
	if err := rq.edge.Post(rq.r.Context(), "clients/"+id+"/budgets", url.Values{"request_id": {f.Get("request_id")}}, body, &b); err != nil {
		return err
	}
	return redirect(rq, "/worker/"+b.GetName(), "ok.budget.created")
}

// updateBudget changes a DRAFT budget's title, management mode and period.
func (a *app) updateBudget(rq *request) error {
	body, err := budgetFields(rq)
	if err != nil {
		return err
	}
	if body["start_date"] == nil || body["end_date"] == nil {
		return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("budget.period.required"))
	}
	name := budgetName(rq)
	body["name"], body["etag"] = name, rq.r.PostFormValue("etag")
	q := url.Values{"update_mask": {"display_name,management_mode,start_date,end_date"}}
	if err := rq.edge.Patch(rq.r.Context(), name, q, body, nil); err != nil {
		return err
	}
	return redirect(rq, "/worker/"+name, "ok.budget.updated")
}

// budgetFields reads the title, management mode and optional period of the
// create and edit forms.
func budgetFields(rq *request) (map[string]any, error) {
	f := rq.r.PostForm
	mode := f.Get("management_mode")
	if _, ok := budgetv1.ManagementMode_value[mode]; !ok || mode == "MANAGEMENT_MODE_UNSPECIFIED" {
		return nil, fmt.Errorf("%w: %s", errBadInput, rq.lang.T("budget.mode.required"))
	}
	title := strings.TrimSpace(f.Get("display_name"))
	if title == "" {
		return nil, fmt.Errorf("%w: %s", errBadInput, rq.lang.T("budget.title.required"))
	}
	body := map[string]any{"display_name": title, "management_mode": mode}
	for _, field := range []string{"start_date", "end_date"} {
		s := strings.TrimSpace(f.Get(field))
		if s == "" {
			continue
		}
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			return nil, fmt.Errorf("%w: %s", errBadInput, rq.lang.T("budget.date.invalid"))
		}
		body[field] = map[string]int{"year": d.Year(), "month": int(d.Month()), "day": d.Day()}
	}
	return body, nil
}

// budgetVerb runs one lifecycle or money step on a budget: activate, close
// (confirmed, with a reason), revise (from a newer plan revision) or
// reallocate (between two lines, with a reason).
func (a *app) budgetVerb(rq *request) error {
	name := budgetName(rq)
	f := rq.r.PostForm
	body := map[string]any{"request_id": f.Get("request_id")}
	back, ok := "/worker/"+name, ""
	switch rq.r.PathValue("verb") {
	case "activate":
		body["etag"], ok = f.Get("etag"), "ok.budget.activated"
	case "close":
		reason := strings.TrimSpace(f.Get("reason"))
		if reason == "" || f.Get("confirm") != "on" {
			return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("budget.close.required"))
		}
		body["reason"], body["etag"], ok = reason, f.Get("etag"), "ok.budget.closed"
		back = "/worker/clients/" + rq.r.PathValue("id") + "#budget"
	case "revise":
		rev := f.Get("plan_revision")
		if !strings.HasPrefix(rev, "clients/"+rq.r.PathValue("id")+"/plans/") {
			return fmt.Errorf("%w: plan_revision", errBadInput)
		}
		body["plan_revision"], body["release_unused"] = rev, f.Get("release_unused") == "on"
		var nb budgetv1.Budget
		if err := rq.edge.Post(rq.r.Context(), name+":revise", nil, body, &nb); err != nil {
			return err
		}
		return redirect(rq, "/worker/"+nb.GetName(), "ok.budget.revised")
	case "reallocate":
		if err := reallocation(rq, body); err != nil {
			return err
		}
		ok = "ok.budget.reallocated"
	default:
		return fmt.Errorf("%w: unknown action", errBadInput)
	}
	if err := rq.edge.Post(rq.r.Context(), name+":"+rq.r.PathValue("verb"), nil, body, nil); err != nil {
		return err
	}
	return redirect(rq, back, ok)
}

// reallocation checks the reallocation form into body: two different lines,
// an amount above zero and a reason (the edge checks the line's balance and
// the worker's limit).
func reallocation(rq *request, body map[string]any) error {
	f := rq.r.PostForm
	from, to := f.Get("from_line_id"), f.Get("to_line_id")
	if from == "" || to == "" || from == to {
		return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("budget.realloc.lines"))
	}
	cents, err := parseEuros(f.Get("amount"))
	if err != nil || cents <= 0 {
		return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("budget.realloc.amount"))
	}
	reason := strings.TrimSpace(f.Get("reason"))
	if reason == "" {
		return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("budget.realloc.reason"))
	}
	body["from_line_id"], body["to_line_id"], body["reason"] = from, to, reason
	body["amount_cents"] = strconv.FormatInt(cents, 10)
	return nil
}
