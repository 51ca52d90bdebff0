package ui

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
	"github.com/polku-hb/polku/web/internal/session"
)

// managerHome: escalated referrals of the region, then the cohort report
// (personal budget vs comparison) for a period as a table and a bar chart.
func (a *app) managerHome(rq *request) error {
	ctx := rq.r.Context()
	// Whole, most urgent first: the manager triages across the region.
	var esc referralv1.ListReferralsResponse
	escCapped, err := readAll(ctx, rq, "referrals", url.Values{"filter": {"open = true AND escalation_level >= 1"}}, &esc)
	if err != nil {
		return err
	}
	sortUrgentFirst(esc.Referrals)
	year := time.Now().UTC().Year()
	if y, err := strconv.Atoi(rq.r.URL.Query().Get("year")); err == nil && y > 2000 && y < 2100 {
		year = y
	}
	var rep budgetv1.CohortReport
	q := url.Values{
		"start_date.year": {strconv.Itoa(year)}, "start_date.month": {"1"}, "start_date.day": {"1"},
		"end_date.year": {strconv.Itoa(year)}, "end_date.month": {"12"}, "end_date.day": {"31"},
	}
	if err := rq.edge.Get(ctx, "regions/"+rq.s.Region+"/cohortReport", q, &rep); err != nil {
		return err
	}
	var max int64
	for _, c := range rep.GetCohorts() {
		max = maxOf(max, c.GetMeanCostPerClientCents())
	}
	var bars []Bar
	for _, c := range rep.GetCohorts() {
		if !c.GetSuppressed() {
			bars = append(bars, Bar{Label: c.GetCohort().String(), Value: c.GetMeanCostPerClientCents(), Percent: percent(c.GetMeanCostPerClientCents(), max)})
		}
	}
	waiting, waitingCapped, err := approvals(rq)
	if err != nil {
		return err
	}
	return a.render(rq, "manager", rq.lang.T("manager.title"), map[string]any{
		"Escalated": esc.GetReferrals(), "Report": &rep, "Bars": bars, "Year": year,
		"Waiting": waiting, "RequestID": session.RandomToken(),
		"EscalatedCapped": cappedNote(rq, escCapped), "WaitingCapped": cappedNote(rq, waitingCapped),
	})
}

// approval is a plan revision or a budget waiting for the manager.
type approval struct {
	Kind       string // "plan" or "budget"
	Name, Etag string
	Client     string // client's name, for the manager's eye only
	ClientID   string
	Title      string
	Amount     int64 // plan: yearly cost; budget: allocated
	NeedsMe    bool  // above the workers' authority limit
}

// approvals walks the region's active clients: proposed plan revisions and
// draft budgets. The API has no region-wide "waiting for approval" list, so
// this is one call per client and plan; fine for a region's caseload page,
// and the first thing to replace with a list method when regions grow. Every
// list is read whole (an approval may wait behind any client); capped says
// the bound cut one of them.
func approvals(rq *request) (out []approval, capped bool, err error) {
	ctx := rq.r.Context()
	var cl clientsv1.ListClientsResponse
	if capped, err = readAll(ctx, rq, "clients", url.Values{"filter": {"state = ACTIVE"}}, &cl); err != nil {
		return nil, false, err
	}
	for _, c := range cl.GetClients() {
		who := c.GetGivenName() + " " + c.GetFamilyName()
		id := lastSegment(c.GetName())
		var pl assessmentv1.ListPlansResponse
		cut, err := readAll(ctx, rq, c.GetName()+"/plans", nil, &pl)
		if err != nil {
			return nil, false, err
		}
		capped = capped || cut
		for _, p := range pl.GetPlans() {
			if p.GetLatestRevision() == "" || p.GetLatestRevision() == p.GetActiveRevision() {
				continue
			}
			var rev assessmentv1.PlanRevision
			if err := rq.edge.Get(ctx, p.GetLatestRevision(), nil, &rev); err != nil {
				return nil, false, err
			}
			if rev.GetState() == assessmentv1.PlanRevision_PROPOSED {
				out = append(out, approval{Kind: "plan", Name: rev.GetName(), Etag: rev.GetEtag(), Client: who, ClientID: id,
					Title: p.GetDisplayName(), Amount: rev.GetYearlyCostCents(), NeedsMe: rev.GetRequiresManagerApproval()})
			}
		}
		var bl budgetv1.ListBudgetsResponse
		cut, err = readAll(ctx, rq, c.GetName()+"/budgets", nil, &bl)
		if err != nil {
			return nil, false, err
		}
		capped = capped || cut
		for _, b := range bl.GetBudgets() {
			if b.GetState() == budgetv1.Budget_DRAFT {
				out = append(out, approval{Kind: "budget", Name: b.GetName(), Etag: b.GetEtag(), Client: who, ClientID: id,
					Title: b.GetDisplayName(), Amount: b.GetAllocatedCents(), NeedsMe: b.GetRequiresManagerApproval()})
			}
		}
	}
	return out, capped, nil
}

// approve approves one plan revision or budget with the manager's
// justification (required above the workers' limit; always asked for here).
func (a *app) approve(rq *request) error {
	f := rq.r.PostForm
	name, kind := f.Get("name"), f.Get("kind")
	just := strings.TrimSpace(f.Get("justification"))
	if just == "" {
		return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("manager.justification.required"))
	}
	parts := strings.Split(name, "/")
	valid := (kind == "plan" && len(parts) == 6 && parts[2] == "plans" && parts[4] == "revisions") ||
		(kind == "budget" && len(parts) == 4 && parts[2] == "budgets")
	if !valid || parts[0] != "clients" {
		return fmt.Errorf("%w: name", errBadInput)
	}
	body := map[string]any{"justification": just, "etag": f.Get("etag"), "request_id": f.Get("request_id")}
	if err := rq.edge.Post(rq.r.Context(), name+":approve", nil, body, nil); err != nil {
		return err
	}
	return redirect(rq, "/manager", "ok.approved")
}

func maxOf(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
