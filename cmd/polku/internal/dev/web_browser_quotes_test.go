package dev

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/genproto/googleapis/type/date"

	"github.com/polku-hb/polku/platform/auth"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
)

// In headless Chromium: Aino asks the coach for a quote from the plan draft's
// search results, the coach quotes (over gRPC), Aino accepts the quote on
// Tiina's quotes page and adds it to the draft, whose service is then priced
// from the quote. The form and the quotes page are screenshotted and checked
// with axe-core.
func TestBrowserQuotesRequestAcceptAddToDraft(t *testing.T) {
	exe := chromium(t)
	shots := screenshotDir(t)
	s, demo, base := startWebStack(t)
	ctx := context.Background()
	cat := cataloguev1.NewCatalogueServiceClient(dialService(t, s, "catalogue"))
	as := func(p auth.Principal) context.Context { return callAs(t, s, ctx, p, "test") }
	aino := as(auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion, Unit: "family-services"})
	coachID := demo.Providers["neurocoach"]
	coach := as(auth.Principal{Subject: CoachStaff, Role: auth.RoleProvider, ProviderID: coachID})

	bctx := startChrome(t, exe)
	do := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		chromeStep(t, bctx, name, actions...)
	}
	text := func(sel string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 30*time.Second)
		defer cancel()
		v, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	flash := `[role="status"], [role="alert"]`

	do("sign in as Aino in Finnish", chromedp.Navigate(base+"/signin"),
		chromedp.Click(chromedp.CSS(`button[name="lang"][value="fi"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="fi"]`)),
		chromedp.Click(chromedp.CSS(`button[data-person="aino"]`)), chromedp.WaitVisible(chromedp.CSS("nav")))
	clientURL := base + "/worker/clients/" + demo.Tiina
	do("start a plan revision", chromedp.Navigate(clientURL), chromedp.WaitVisible(chromedp.CSS("#plans")),
		chromedp.SendKeys(chromedp.CSS(`form[action$="/revise"] input[name="reason"]`), "Tailored coaching"),
		chromedp.Click(chromedp.CSS(`form[action$="/revise"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#q`)))
	draftURL, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	do("search the catalogue", chromedp.SendKeys(chromedp.CSS(`#q`), "ADHD"),
		chromedp.Click(chromedp.CSS(`form[role="search"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`article.offering a[href*="/quotes/new"]`)))
	do("open the quote request form", chromedp.Click(chromedp.CSS(`article.offering a[href*="/quotes/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#need`)))
	checkPage(t, bctx, shots, "q01-quote-request-form")
	need := "Evening routines coaching, browser test " + time.Now().Format(time.RFC3339Nano)
	do("send the request", chromedp.SendKeys(chromedp.CSS(`#need`), need), chromedp.SendKeys(chromedp.CSS(`#quantity`), "12"),
		chromedp.Click(chromedp.CSS(`form.stack > button`)), chromedp.WaitVisible(chromedp.CSS(flash)))
	if msg := text(flash); !strings.Contains(msg, "Tarjouspyyntö lähetettiin") {
		t.Errorf("after sending the page says %q", msg)
	}

	// The coach quotes 12 sessions at 90 €.
	list, err := cat.ListQuoteRequests(aino, &cataloguev1.ListQuoteRequestsRequest{Parent: "providers/-"})
	if err != nil {
		t.Fatal(err)
	}
	var qr *cataloguev1.QuoteRequest
	for _, q := range list.GetQuoteRequests() {
		if strings.HasPrefix(q.GetNeedDescription(), need) {
			qr = q
		}
	}
	if qr == nil || qr.GetClient() != "clients/"+demo.Tiina || qr.GetState() != cataloguev1.QuoteRequest_REQUESTED {
		t.Fatalf("the request sent from the browser = %v", qr)
	}
	valid := time.Now().AddDate(0, 1, 0)
	if _, err := cat.SubmitQuote(coach, &cataloguev1.SubmitQuoteRequest{Name: qr.GetName(), Quote: &cataloguev1.Quote{
		Description: "12 coaching sessions", Unit: cataloguev1.PriceUnit_PRICE_UNIT_SESSION, Quantity: 12, UnitAmountCents: 9000,
		ValidUntil: &date.Date{Year: int32(valid.Year()), Month: int32(valid.Month()), Day: int32(valid.Day())}}}); err != nil {
		t.Fatalf("SubmitQuote: %v", err)
	}

	card := `article[data-quote="` + qr.GetName() + `"]`
	do("the quotes page with the quote", chromedp.Navigate(clientURL+"/quotes"), chromedp.WaitVisible(chromedp.CSS(card+` form[action$="/accept"]`)))
	if got := text(card + ` td.total`); got != fiEuros(108000) {
		t.Errorf("the quote's total on the page = %q, want %s", got, fiEuros(108000))
	}
	checkPage(t, bctx, shots, "q02-client-quotes")
	do("accept", chromedp.Click(chromedp.CSS(card+` form[action$="/accept"] button`)),
		chromedp.WaitVisible(chromedp.CSS(card+` form[action$="/quote"] button`)))
	if msg := text(flash); !strings.Contains(msg, "Tarjous hyväksyttiin") {
		t.Errorf("after accepting the page says %q", msg)
	}
	checkPage(t, bctx, shots, "q03-client-quotes-accepted")
	do("add to the draft", chromedp.Click(chromedp.CSS(card+` form[action$="/quote"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-quote="`+qr.GetName()+`"]`)))
	if row := text(`tr[data-quote="` + qr.GetName() + `"]`); !strings.Contains(row, fiEuros(108000)) {
		t.Errorf("the draft's row for the quote = %q, want %s", row, fiEuros(108000))
	}
	checkPage(t, bctx, shots, "q04-plan-draft-with-quote")

	// The assessment service priced it from the quote.
	revName, _, _ := strings.Cut(draftURL[strings.Index(draftURL, "clients/"):], "?") // after the flash of the revise
	rev, err := assessmentv1.NewAssessmentServiceClient(dialService(t, s, "assessment")).GetPlanRevision(aino, &assessmentv1.GetPlanRevisionRequest{Name: revName})
	if err != nil {
		t.Fatal(err)
	}
	var priced *assessmentv1.ChosenService
	for _, sv := range rev.GetServices() {
		if sv.GetAcceptedQuote() == qr.GetName() {
			priced = sv
		}
	}
	if priced.GetCostCents() != 108000 || priced.GetQuantity() != 12 || priced.GetUnitAmountCents() != 9000 {
		t.Errorf("the draft's service from the quote = %v, want 12 × 9000 = 108000", priced)
	}
}
