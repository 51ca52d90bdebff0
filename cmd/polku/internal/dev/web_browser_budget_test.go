package dev

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
)

// The budget's way in a real browser: Aino draws a budget from a client's
// approved plan (prepared over gRPC), Mikko approves it on his list and sees
// the cohort chart (cohorts seeded past the minimum), Aino activates it, and
// the coach invoices against the commitment made on it. The budget draft
// page, the manager's chart and the provider's claims page are
// screenshotted and checked with axe-core; every step is checked in the
// budget service. The client page with the create form is checked too.
func TestBrowserBudgetLifecycleClaimsAndCohortChart(t *testing.T) {
	exe := chromium(t)
	shots := screenshotDir(t)
	s, demo, base := startWebStack(t)
	k := newBudgetKit(t, s, demo)
	id := k.client(clientsv1.Cohort_COHORT_PERSONAL_BUDGET)
	rev := k.approvedPlan(id, 10, true)
	k.seedCohorts()

	bctx := startChrome(t, exe)
	do := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		chromeStep(t, bctx, name, actions...)
	}
	text := func(sel string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
		defer cancel()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	flash := `[role="status"], [role="alert"]`
	signIn := func(person string) {
		t.Helper()
		do("sign in "+person, chromedp.Navigate(base+"/signin"),
			chromedp.Click(chromedp.CSS(`button[data-person="`+person+`"]`)), chromedp.WaitVisible(chromedp.CSS("nav")))
	}
	signOut := func() {
		t.Helper()
		do("sign out", chromedp.Click(chromedp.CSS(`.signout button`)), chromedp.WaitVisible(chromedp.CSS(`button[data-person]`)))
	}
	do("Finnish", chromedp.Navigate(base+"/signin"), chromedp.WaitVisible(chromedp.CSS(`button[data-person]`)),
		chromedp.Click(chromedp.CSS(`button[name="lang"][value="fi"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="fi"]`)))

	// Aino draws the budget from the approved plan, choosing self-management.
	signIn("aino")
	form := `form.budget-new:has(input[value="` + rev + `"])`
	do("client page", chromedp.Navigate(base+"/worker/clients/"+id), chromedp.WaitVisible(chromedp.CSS(form)))
	checkPage(t, bctx, shots, "b00-client-budget-form")
	do("create budget",
		chromedp.Click(chromedp.CSS(form+` input[value="MANAGEMENT_MODE_CLIENT_MANAGED"]`)),
		chromedp.Click(chromedp.CSS(form+` button`)), chromedp.WaitVisible(chromedp.CSS(`[data-state="DRAFT"]`)))
	if msg := text(flash); !strings.Contains(msg, "Budjetti luotiin luonnoksena") {
		t.Errorf("after create the page says %q", msg)
	}
	bs := k.budgets(id)
	if len(bs) != 1 || bs[0].GetState() != budgetv1.Budget_DRAFT || len(bs[0].GetLines()) != 2 ||
		bs[0].GetManagementMode() != budgetv1.ManagementMode_MANAGEMENT_MODE_CLIENT_MANAGED {
		t.Fatalf("budgets after create = %v", bs)
	}
	b := bs[0]
	checkPage(t, bctx, shots, "b01-budget-draft")
	signOut()

	// Mikko approves it on his list; the cohort chart has both bars.
	signIn("mikko")
	card := `article[data-approval="` + b.GetName() + `"]`
	do("approve", chromedp.WaitVisible(chromedp.CSS(card)),
		chromedp.SendKeys(chromedp.CSS(card+` input[name="justification"]`), "Agreed in the team"),
		chromedp.Click(chromedp.CSS(card+` button`)), chromedp.WaitVisible(chromedp.CSS(flash)))
	if got := k.budget(b.GetName()).GetState(); got != budgetv1.Budget_APPROVED {
		t.Fatalf("after approval in the browser: %v", got)
	}
	do("cohort chart", chromedp.WaitVisible(chromedp.CSS(`figure.chart rect[data-cohort="COHORT_COMPARISON"]`)),
		chromedp.WaitVisible(chromedp.CSS(`figure.chart rect[data-cohort="COHORT_PERSONAL_BUDGET"]`)))
	checkPage(t, bctx, shots, "b02-manager-cohort-chart")
	signOut()

	// Aino activates it: the lines get their money.
	signIn("aino")
	do("activate", chromedp.Navigate(base+"/worker/"+b.GetName()),
		chromedp.Click(chromedp.CSS(`form[action$="/activate"] button`)), chromedp.WaitVisible(chromedp.CSS(`[data-state="ACTIVE"]`)))
	b = k.budget(b.GetName())
	if b.GetState() != budgetv1.Budget_ACTIVE || b.GetLines()[0].GetAllocatedCents() != b.GetLines()[0].GetPlannedCents() {
		t.Fatalf("after activation: %v", b)
	}
	signOut()

	// A referral to the coach commits three hours on the coaching line; the
	// coach invoices two of them.
	price := b.GetLines()[0].GetUnitAmountCents()
	referral := "referrals/t-browser-" + id
	k.commitToCoach(b, referral, 3*price)
	signIn("coach")
	art := `article.commitment:has(input[value="` + referral + `"])`
	do("claims page", chromedp.Click(chromedp.CSS(`nav a[href="/provider/claims"]`)), chromedp.WaitVisible(chromedp.CSS(art)))
	checkPage(t, bctx, shots, "b03-provider-claims")
	do("send claim",
		chromedp.SendKeys(chromedp.CSS(art+` input[name="invoice_number"]`), "NC-B-1"),
		chromedp.SetValue(chromedp.CSS(art+` input[name="quantity"]`), "2"),
		chromedp.Click(chromedp.CSS(art+` button`)), chromedp.WaitVisible(chromedp.CSS(flash)))
	if msg := text(flash); !strings.Contains(msg, "Lasku hyväksyttiin") {
		t.Errorf("after the claim the page says %q", msg)
	}
	if got := k.budget(b.GetName()).GetLines()[0].GetSpentCents(); got != 2*price {
		t.Errorf("coaching line spent %d after the claim, want %d", got, 2*price)
	}
	if row := text(`table.claims tbody`); !strings.Contains(row, "NC-B-1") {
		t.Errorf("claims list = %q, want NC-B-1", row)
	}
}
