package dev

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/polku-hb/polku/platform/auth"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
)

//go:embed testdata/axe-core/axe.min.js
var axeSource string

// chromium finds a Chromium to drive: POLKU_CHROMIUM, else Debian's
// `chromium` or a Chrome on PATH. Without one the browser tests skip, unless
// POLKU_REQUIRE_BROWSER=1 (CI) makes that a failure.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("POLKU_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("POLKU_REQUIRE_BROWSER") == "1" {
		t.Fatal("POLKU_REQUIRE_BROWSER=1 but no chromium found (apt-get install chromium, or set POLKU_CHROMIUM)")
	}
	t.Skip("no chromium on PATH: browser tests skipped (apt-get install chromium; CI sets POLKU_REQUIRE_BROWSER=1)")
	return ""
}

// screenshotDir is POLKU_WEB_SCREENSHOTS, else a new temporary directory
// that is kept (its path is logged) so the pictures can be looked at.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("POLKU_WEB_SCREENSHOTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "polku-web-screenshots-"); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// checkPage screenshots the current page and runs axe-core on it (WCAG 2.0/2.1
// A and AA rules); a serious or critical violation fails the test.
func checkPage(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v := range axeViolations(t, ctx, name) {
		msg := fmt.Sprintf("%s: axe %s (%s): %s, at %v", name, v.ID, v.Impact, v.Help, v.Nodes)
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Error(msg)
		} else {
			t.Log(msg)
		}
	}
}

// axeViolations injects axe-core into the current page and returns what it
// finds against the WCAG 2.0/2.1 A and AA rules.
func axeViolations(t *testing.T, ctx context.Context, name string) []axeViolation {
	t.Helper()
	run := `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
		.then(r => JSON.stringify(r.violations))`
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](axeSource)); err != nil {
		t.Fatalf("inject axe on %s: %v", name, err)
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](run, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on %s: %v", name, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		t.Fatalf("axe result on %s: %v", name, err)
	}
	return vs
}

// The end-to-end path in a real browser against the whole dev stack:
// Aino signs in, starts a new plan revision and adds the museum card from the
// catalogue (the cost is computed), then sends Tiina a referral to the coach
// with 50 € committed from the coach's budget line; the coach accepts it in
// the inbox; Tiina sees it accepted, with the coach holding her matter, and
// her budget's committed amount up by 50 €. Every main page is screenshotted
// and checked with axe-core.
func TestBrowserWorkerPlanReferralProviderAcceptClientSees(t *testing.T) {
	exe := chromium(t)
	shots := screenshotDir(t)
	s, demo, base := startWebStack(t)

	// Test knowledge read over gRPC: the coach's offering and budget line, and
	// the committed amount before.
	ctx := context.Background()
	tok, err := s.Token(auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion, Unit: "family-services"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	aino := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok, "x-polku-purpose", "test")
	conn := func(name string) *grpc.ClientConn { return dialService(t, s, name) }
	bc := budgetv1.NewBudgetServiceClient(conn("budget"))
	coachID := demo.Providers["neurocoach"]
	offs, err := cataloguev1.NewCatalogueServiceClient(conn("catalogue")).ListOfferings(aino, &cataloguev1.ListOfferingsRequest{Parent: "providers/" + coachID})
	if err != nil || len(offs.GetOfferings()) == 0 {
		t.Fatalf("coach offerings: %v", err)
	}
	coachOffering := offs.GetOfferings()[0].GetName()
	committed := func() (string, int64) {
		st, err := bc.GetStatement(aino, &budgetv1.GetStatementRequest{Name: demo.Budget + "/statement"})
		if err != nil {
			t.Fatalf("GetStatement: %v", err)
		}
		for _, l := range st.GetLines() {
			b, _ := bc.GetBudget(aino, &budgetv1.GetBudgetRequest{Name: demo.Budget})
			for _, bl := range b.GetLines() {
				if bl.GetId() == l.GetLineId() && bl.GetOffering() == coachOffering {
					return l.GetLineId(), l.GetCommittedCents()
				}
			}
		}
		t.Fatal("no budget line for the coach")
		return "", 0
	}
	lineID, before := committed()

	bctx := startChrome(t, exe)
	// Each step has its own deadline, so a page that never shows what a step
	// waits for fails fast and says where the browser was.
	step := func() (context.Context, context.CancelFunc) { return context.WithTimeout(bctx, 30*time.Second) }
	stuck := func(name string, err error) {
		t.Helper()
		loc, _ := chromedp.Run(bctx, chromedp.Location())
		body, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("main")))
		t.Fatalf("%s: %v (at %s: %s)", name, err, loc, body)
	}
	do := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := step()
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			stuck(name, err)
		}
	}
	text := func(name, sel string) string {
		t.Helper()
		ctx, cancel := step()
		defer cancel()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			stuck(name, err)
		}
		return v
	}
	signIn := func(person string) {
		t.Helper()
		do("sign in "+person,
			chromedp.Navigate(base+"/signin"),
			chromedp.Click(chromedp.CSS(`button[data-person="`+person+`"]`)),
			chromedp.WaitVisible(chromedp.CSS("nav")))
	}
	signOut := func() {
		t.Helper()
		do("sign out", chromedp.Click(chromedp.CSS(`.signout button`)), chromedp.WaitVisible(chromedp.CSS(`button[data-person]`)))
	}
	flash := func(step string) string {
		t.Helper()
		return text(step, `[role="status"], [role="alert"]`)
	}

	// Headless Chromium asks for English; the switcher makes it Finnish.
	// The checker itself must be able to fail: a page with an unlabelled
	// input, an image without alt text and no language has violations.
	do("axe canary", chromedp.Navigate(`data:text/html,<html><body><input type="text"><img src="x.png"></body></html>`))
	seen := map[string]bool{}
	for _, v := range axeViolations(t, bctx, "canary") {
		seen[v.ID] = true
	}
	if !seen["label"] || !seen["image-alt"] || !seen["html-has-lang"] {
		t.Fatalf("axe found %v on a broken page; want label, image-alt and html-has-lang", seen)
	}

	do("open sign-in", chromedp.Navigate(base+"/signin"), chromedp.WaitVisible(chromedp.CSS(`button[data-person]`)),
		chromedp.Click(chromedp.CSS(`button[name="lang"][value="fi"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="fi"]`)))
	checkPage(t, bctx, shots, "01-signin")

	// Aino: her desk, Tiina's page, a new plan revision with the museum card.
	signIn("aino")
	checkPage(t, bctx, shots, "02-worker-home")
	clientURL := base + "/worker/clients/" + demo.Tiina
	do("client page", chromedp.Navigate(clientURL), chromedp.WaitVisible(chromedp.CSS("#budget")))
	checkPage(t, bctx, shots, "03-worker-client")
	do("measurement form", chromedp.Navigate(clientURL+"/measurements/new"), chromedp.WaitVisible(chromedp.CSS(`#phase`)))
	checkPage(t, bctx, shots, "03b-worker-measurement")
	do("client page again", chromedp.Navigate(clientURL), chromedp.WaitVisible(chromedp.CSS("#budget")))
	do("start revision",
		chromedp.SendKeys(chromedp.CSS(`form[action$="/revise"] input[name="reason"]`), "Museum cards for the family"),
		chromedp.Click(chromedp.CSS(`form[action$="/revise"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#q`)))
	do("search catalogue",
		chromedp.SendKeys(chromedp.CSS(`#q`), "museo"),
		chromedp.Click(chromedp.CSS(`form[role="search"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`article.offering`)))
	totalBefore := text("total before", `table.services td.yearly`)
	do("add museum card",
		chromedp.Click(chromedp.CSS(`article.offering form button`)),
		chromedp.WaitVisible(chromedp.CSS(`[role="status"], [role="alert"]`)))
	totalAfter := text("total after", `table.services td.yearly`)
	if msg := flash("flash after add"); !strings.Contains(msg, "Palvelu lisättiin") {
		t.Errorf("after adding a service the page says %q", msg)
	}
	services := text("services", `table.services tbody`)
	if !strings.Contains(services, "Museokortti") || totalAfter == totalBefore {
		t.Errorf("draft services %q; yearly cost %q -> %q: want the museum card and a changed cost", services, totalBefore, totalAfter)
	}
	checkPage(t, bctx, shots, "04-worker-plan-draft")

	// Aino sends the referral to the coach with 50 € committed.
	note := "Follow-up coaching, browser test " + fmt.Sprint(time.Now().UnixNano())
	do("referral form", chromedp.Navigate(clientURL+"/referrals/new"), chromedp.WaitVisible(chromedp.CSS(`#amount`)))
	checkPage(t, bctx, shots, "05-worker-referral-form")
	do("send referral",
		chromedp.Click(chromedp.CSS(`input[name="choice"][value$="|`+coachOffering+`"]`)),
		chromedp.SendKeys(chromedp.CSS(`#amount`), "50"),
		chromedp.SendKeys(chromedp.CSS(`#note`), note),
		chromedp.Click(chromedp.CSS(`#ack`)),
		chromedp.Click(chromedp.CSS(`form.stack > button`)),
		chromedp.WaitVisible(chromedp.CSS(`[role="status"], [role="alert"]`)))
	if msg := flash("flash after send"); !strings.Contains(msg, "Lähete lähetettiin") {
		t.Errorf("after sending the page says %q", msg)
	}
	rc := referralv1.NewReferralServiceClient(conn("referral"))
	list, err := rc.ListReferrals(aino, &referralv1.ListReferralsRequest{Filter: `client = "clients/` + demo.Tiina + `"`})
	if err != nil {
		t.Fatal(err)
	}
	var ref *referralv1.Referral
	for _, r := range list.GetReferrals() {
		if r.GetRequestNote() == note {
			ref = r
		}
	}
	if ref == nil || ref.GetState() != referralv1.Referral_SENT || ref.GetCommitment().GetAmountCents() != 5000 || ref.GetCommitment().GetLineId() != lineID {
		t.Fatalf("the sent referral = %v; want SENT with 50 € on line %s", ref, lineID)
	}
	row := text("referral on client page", `tr[data-referral="`+ref.GetName()+`"]`)
	if !strings.Contains(row, "lähetetty") {
		t.Errorf("client page row for the new referral = %q, want state lähetetty", row)
	}
	signOut()

	// The coach accepts it in the inbox.
	signIn("coach")
	card := `article[data-referral="` + ref.GetName() + `"]`
	do("inbox", chromedp.WaitVisible(chromedp.CSS(card)))
	checkPage(t, bctx, shots, "06-provider-inbox")
	do("accept",
		chromedp.SendKeys(chromedp.CSS(card+` form[action$="/accept"] input[name="responsible"]`), "Maria Valmentaja"),
		chromedp.Click(chromedp.CSS(card+` form[action$="/accept"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`[role="status"], [role="alert"]`)))
	if msg := flash("flash after accept"); !strings.Contains(msg, "otettiin vastaan") {
		t.Errorf("after accepting the page says %q", msg)
	}
	state := text("accepted card", card+` .state`)
	if state != "hyväksytty" {
		t.Errorf("inbox state after accept = %q", state)
	}
	do("offerings and quotes", chromedp.Navigate(base+"/provider/catalogue"), chromedp.WaitVisible(chromedp.CSS(`article.offering`)))
	checkPage(t, bctx, shots, "06b-provider-catalogue")
	do("registration form", chromedp.Navigate(base+"/provider/register"), chromedp.WaitVisible(chromedp.CSS(`#dn`)))
	checkPage(t, bctx, shots, "06c-provider-register")
	signOut()

	// Tiina sees the new status, who holds it, and her budget change.
	_, after := committed()
	if after != before+5000 {
		t.Fatalf("committed on the coach line %d -> %d; want +5000", before, after)
	}
	signIn("tiina")
	do("client's own page", chromedp.WaitVisible(chromedp.CSS(`li[data-referral="`+ref.GetName()+`"]`)))
	item := text("referral item", `li[data-referral="`+ref.GetName()+`"]`)
	cell := text("committed cell", `tr[data-line="`+lineID+`"] td.committed`)
	if !strings.Contains(item, "hyväksytty") || !strings.Contains(item, "Maria Valmentaja") {
		t.Errorf("Tiina's referral item = %q; want accepted and held by Maria Valmentaja", item)
	}
	if want := fiEuros(after); cell != want {
		t.Errorf("Tiina's committed amount on the coach line = %q, want %q (was %s)", cell, want, fiEuros(before))
	}
	checkPage(t, bctx, shots, "07-client-me")
	// The same page in Swedish and English from the switcher.
	do("svenska", chromedp.Click(chromedp.CSS(`button[name="lang"][value="sv"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="sv"]`)))
	checkPage(t, bctx, shots, "08-client-me-sv")
	do("english", chromedp.Click(chromedp.CSS(`button[name="lang"][value="en"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"]`)))
	cell = text("english budget cell", `tr[data-line="`+lineID+`"] td.committed`)
	if !strings.HasPrefix(cell, "€") {
		t.Errorf("English amount = %q, want €… first", cell)
	}
	do("back to suomi", chromedp.Click(chromedp.CSS(`button[name="lang"][value="fi"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="fi"]`)))
	// Tiina changes a consent choice: she allows her budget's amounts to go
	// with her referrals.
	do("allow budget summary",
		chromedp.Click(chromedp.CSS(`form[action="/me/consents"]:has(input[value="DATA_CATEGORY_BUDGET_SUMMARY"]) button`)),
		chromedp.WaitVisible(chromedp.CSS(`[role="status"], [role="alert"]`)))
	if msg := flash("flash after consent"); !strings.Contains(msg, "Suostumus annettiin") {
		t.Errorf("after allowing the page says %q", msg)
	}
	if n := text("withdraw button now there", `form[action$="/withdraw"]:has(input[name="request_id"][value$="-w-DATA_CATEGORY_BUDGET_SUMMARY"]) button`); n == "" {
		t.Error("the budget summary consent has no withdraw button after it was given")
	}
	signOut()

	// The manager's page.
	signIn("mikko")
	checkPage(t, bctx, shots, "09-manager")
}

// fiEuros is the Finnish euro format the UI uses ("1 234,50 €" with no-break
// spaces), written out here independently of the UI's own formatter.
func fiEuros(cents int64) string {
	s := fmt.Sprintf("%d", cents/100)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u00a0")
		}
		b.WriteRune(r)
	}
	return fmt.Sprintf("%s,%02d\u00a0€", b.String(), cents%100)
}

// startChrome starts headless Chromium for one test; it closes with the test.
// Pages set a strict CSP, and axe is injected by the test, not by the page,
// so the CSP is bypassed.
func startChrome(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if _, err := chromedp.Call(bctx, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	return bctx
}

// chromeStep runs one step of a browser test with its own deadline, so a page
// that never shows what the step waits for fails fast and says where the
// browser was.
func chromeStep(t *testing.T, bctx context.Context, name string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		loc, _ := chromedp.Run(bctx, chromedp.Location())
		body, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("main")))
		t.Fatalf("%s: %v (at %s: %s)", name, err, loc, body)
	}
}
