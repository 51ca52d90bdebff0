package ui

import (
	"strings"
	"testing"

	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	"github.com/polku-hb/polku/web/internal/i18n"
)

// The client page offers a new budget only for a plan with a usable
// revision and no open budget drawn from any of its revisions.
func TestNewBudgetPanelOffers(t *testing.T) {
	const plan = "clients/c/plans/p"
	rev := func(n string, s assessmentv1.PlanRevision_State) *assessmentv1.PlanRevision {
		return &assessmentv1.PlanRevision{Name: plan + "/revisions/" + n, State: s}
	}
	budget := func(n string, s budgetv1.Budget_State) *budgetv1.Budget {
		return &budgetv1.Budget{Name: "clients/c/budgets/" + n, PlanRevision: plan + "/revisions/" + n, State: s}
	}
	for _, tc := range []struct {
		name    string
		pv      planView
		budgets []*budgetv1.Budget
		offer   string // revision offered, "" for none
		listed  int
	}{
		{"active revision, no budget", planView{Active: rev("1", assessmentv1.PlanRevision_ACTIVE)}, nil, plan + "/revisions/1", 0},
		{"approved newer revision wins", planView{Active: rev("1", assessmentv1.PlanRevision_ACTIVE), Draft: rev("2", assessmentv1.PlanRevision_APPROVED)}, nil, plan + "/revisions/2", 0},
		{"a proposed revision is not usable", planView{Draft: rev("1", assessmentv1.PlanRevision_PROPOSED)}, nil, "", 0},
		{"an open budget: revise on its page instead", planView{Active: rev("2", assessmentv1.PlanRevision_ACTIVE)}, []*budgetv1.Budget{budget("1", budgetv1.Budget_ACTIVE)}, "", 1},
		{"only a closed budget: offer again", planView{Active: rev("1", assessmentv1.PlanRevision_ACTIVE)}, []*budgetv1.Budget{budget("1", budgetv1.Budget_CLOSED)}, plan + "/revisions/1", 0},
	} {
		tc.pv.Plan = &assessmentv1.Plan{Name: plan}
		p := newBudgetPanel([]planView{tc.pv}, tc.budgets)
		got := ""
		if len(p.Offers) == 1 {
			got = p.Offers[0].Rev.GetName()
		}
		if got != tc.offer || len(p.Offers) > 1 || len(p.Budgets) != tc.listed {
			t.Errorf("%s: offers %v, %d budgets listed; want %q, %d", tc.name, got, len(p.Budgets), tc.offer, tc.listed)
		}
	}
}

// The claim form's own checks name each bad field in the user's language.
func TestClaimBodyChecks(t *testing.T) {
	ok := claimForm{Referral: "referrals/r", Invoice: "INV-1", Date: "2026-03-02", Quantity: "2", Price: "90,50"}
	body, problem := claimBody(i18n.FI, ok, "PRICE_UNIT_HOUR")
	if problem != "" || body["unit_price_cents"] != "9050" || body["quantity"] != 2 {
		t.Fatalf("a good form = %v, %q", body, problem)
	}
	for _, tc := range []struct {
		edit func(*claimForm)
		says string
	}{
		{func(f *claimForm) { f.Invoice = "" }, "laskun numero"},
		{func(f *claimForm) { f.Date = "2.3.2026" }, "palvelupäivä"},
		{func(f *claimForm) { f.Quantity = "1,5" }, "määrän"},
		{func(f *claimForm) { f.Price = "0" }, "yksikköhinta"},
	} {
		f := ok
		tc.edit(&f)
		if _, problem := claimBody(i18n.FI, f, "PRICE_UNIT_HOUR"); !strings.Contains(problem, tc.says) {
			t.Errorf("%+v: %q, want it to mention %q", f, problem, tc.says)
		}
	}
}
