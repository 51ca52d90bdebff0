package dev

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/polku-hb/polku/platform/auth"
)

// startWebStack is the whole dev stack on free ports, seeded, with the web UI.
func startWebStack(t *testing.T) (*Stack, Demo, string) {
	t.Helper()
	s, _, _ := startStack(t)
	demo, err := SeedDemo(context.Background(), s)
	if err != nil {
		t.Fatalf("SeedDemo: %v", err)
	}
	u, err := StartWeb(context.Background(), s, demo, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("StartWeb: %v", err)
	}
	return s, demo, u
}

// browser is a cookie-keeping HTTP client that signs in through the UI's
// own form, as a person would.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func signIn(t *testing.T, base, person string) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, base: base, c: &http.Client{Jar: jar}}
	page := b.get("/signin", http.StatusOK)
	b.post("/signin/dev", page, url.Values{"person": {person}})
	return b
}

func (b *browser) get(path string, want int) string {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		b.t.Fatalf("GET %s = %d, want %d:\n%s", path, resp.StatusCode, want, body)
	}
	return string(body)
}

// post submits a form with the CSRF token found on page; it returns the page
// the browser ends on after the redirect, which must be 200.
func (b *browser) post(path, page string, form url.Values) string {
	b.t.Helper()
	code, body := b.postStatus(path, page, form)
	if code != http.StatusOK {
		b.t.Fatalf("POST %s = %d:\n%s", path, code, body)
	}
	return body
}

// postStatus is post returning the final status and page instead of
// requiring 200, for the refusals.
func (b *browser) postStatus(path, page string, form url.Values) (int, string) {
	b.t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF token on the page before POST %s", path)
	}
	form.Set("csrf", m[1])
	resp, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// Every role's main pages render from the seeded demo through the REST edge,
// in the language chosen, and show what the seed put there.
func TestWebPagesRenderForEveryRole(t *testing.T) {
	_, demo, base := startWebStack(t)

	aino := signIn(t, base, "aino")
	home := aino.get("/worker", http.StatusOK)
	for _, want := range []string{`<html lang="fi">`, "Tiina Virtanen", "Jari Nieminen", "eskaloitu"} {
		if !strings.Contains(home, want) {
			t.Errorf("worker home lacks %q", want)
		}
	}
	// The clients section (before the overdue reviews) after a search.
	found, _, _ := strings.Cut(aino.get("/worker?q=jari", http.StatusOK), `id="h-overdue"`)
	if strings.Contains(found, "Tiina Virtanen") || !strings.Contains(found, "Jari Nieminen") {
		t.Error("search for jari must list Jari and not Tiina")
	}
	client := aino.get("/worker/clients/"+demo.Tiina, http.StatusOK)
	for _, want := range []string{"Evenings without fights", "data-budget=", "Toimintakyky ajan myötä", "<polyline", "data-referral="} {
		if !strings.Contains(client, want) {
			t.Errorf("client page lacks %q", want)
		}
	}
	// Swedish from the switcher, on the same page.
	sv := aino.post("/lang", client, url.Values{"lang": {"sv"}, "back": {"/worker/clients/" + demo.Tiina}})
	if !strings.Contains(sv, `<html lang="sv">`) || !strings.Contains(sv, "Personlig budget") {
		t.Error("language switch to Swedish did not take")
	}

	tiina := signIn(t, base, "tiina")
	me := tiina.get("/me", http.StatusOK)
	for _, want := range []string{"Kuka on katsonut tietojani", "suunnitelmani tavoitteet", "Budjetissa on", "w-aino"} {
		if !strings.Contains(me, want) {
			t.Errorf("client's own page lacks %q", want)
		}
	}
	tiina.get("/worker", http.StatusForbidden)
	tiina.get("/me?client=someone-else", http.StatusForbidden)

	coach := signIn(t, base, "coach")
	inbox := coach.get("/provider", http.StatusOK)
	if !strings.Contains(inbox, "Lähetteet") {
		t.Error("provider inbox did not render")
	}

	mikko := signIn(t, base, "mikko")
	mgr := mikko.get("/manager", http.StatusOK)
	for _, want := range []string{"Eskaloidut lähetteet", "Vertailuraportti", "henkilökohtainen budjetti"} {
		if !strings.Contains(mgr, want) {
			t.Errorf("manager page lacks %q", want)
		}
	}
}

// A plan revision proposed in the UI waits on the manager's page with its
// yearly cost, and the manager approves it there with a justification.
func TestWebManagerApprovesProposedPlan(t *testing.T) {
	s, demo, base := startWebStack(t)
	aino := signIn(t, base, "aino")
	client := aino.get("/worker/clients/"+demo.Tiina, http.StatusOK)
	m := regexp.MustCompile(`action="(/worker/clients/[^"]+/revise)"`).FindStringSubmatch(client)
	if m == nil {
		t.Fatal("no revise form on the client page")
	}
	draft := aino.post(m[1], client, url.Values{"reason": {"More coaching"}, "request_id": {"t-revise"}})
	rev := regexp.MustCompile(`action="/worker/(clients/[^"]+/revisions/\d+)/propose"`).FindStringSubmatch(draft)
	if rev == nil {
		t.Fatalf("the draft page has no propose form:\n%s", draft)
	}
	proposed := aino.post("/worker/"+rev[1]+"/propose", draft, url.Values{"request_id": {"t-propose"}})
	if !strings.Contains(proposed, "lähetettiin hyväksyttäväksi") {
		t.Fatalf("after propose:\n%s", proposed)
	}

	mikko := signIn(t, base, "mikko")
	page := mikko.get("/manager", http.StatusOK)
	if !strings.Contains(page, `data-approval="`+rev[1]+`"`) {
		t.Fatalf("the proposed revision %s is not waiting on the manager's page", rev[1])
	}
	done := mikko.post("/manager/approve", page, url.Values{"name": {rev[1]}, "kind": {"plan"}, "justification": {"Coaching is cheaper than a placement"},
		"etag":       {html.UnescapeString(regexp.MustCompile(`(?s)data-approval="` + regexp.QuoteMeta(rev[1]) + `".*?name="etag" value="([^"]*)"`).FindStringSubmatch(page)[1])},
		"request_id": {"t-approve"}})
	if !strings.Contains(done, "Hyväksytty.") || strings.Contains(done, `data-approval="`+rev[1]+`"`) {
		t.Errorf("after approving, the page still lists it or says nothing")
	}
	tok, _ := s.Token(auth.Principal{Subject: Mikko, Role: auth.RoleManager, Region: DemoRegion}, time.Minute)
	code, got := call(t, "GET", s.GatewayURL+"/v1/"+rev[1], tok, nil)
	if code != http.StatusOK || got["state"] != "APPROVED" {
		t.Errorf("revision after approval = %d %v, want APPROVED", code, got["state"])
	}
	// Without a justification nothing is approved.
	if resp, err := mikko.c.PostForm(base+"/manager/approve", url.Values{"name": {rev[1]}, "kind": {"plan"}, "csrf": {csrfRE.FindStringSubmatch(done)[1]}}); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("approve without justification = %v, %v; want 400", resp.StatusCode, err)
	}
}

// The provider answers a worker's quote request, changes an offering's
// capacity (at once) and a price (to the operator's review) in the UI.
func TestWebProviderQuoteCapacityAndPrice(t *testing.T) {
	s, demo, base := startWebStack(t)
	coachID := demo.Providers["neurocoach"]
	tok, _ := s.Token(auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion, Unit: "family-services"}, time.Minute)
	code, offs := call(t, "GET", s.GatewayURL+"/v1/providers/"+coachID+"/offerings", tok, nil)
	if code != http.StatusOK {
		t.Fatalf("offerings: %d %v", code, offs)
	}
	offering := offs["offerings"].([]any)[0].(map[string]any)["name"].(string)
	code, qr := call(t, "POST", s.GatewayURL+"/v1/providers/"+coachID+"/quoteRequests?request_id=t-quote", tok, map[string]any{
		"offering": offering, "client": "clients/" + demo.Tiina, "need_description": "Coaching for evening routines, about three months"})
	if code != http.StatusOK {
		t.Fatalf("create quote request: %d %v", code, qr)
	}
	qname := qr["name"].(string)

	coach := signIn(t, base, "coach")
	page := coach.get("/provider/catalogue", http.StatusOK)
	if !strings.Contains(page, `data-quote="`+qname+`"`) || !strings.Contains(page, "Coaching for evening routines") {
		t.Fatalf("the quote request is not on the provider's page")
	}
	etag := func(page, attr, name string) string {
		m := regexp.MustCompile(`(?s)` + attr + `="` + regexp.QuoteMeta(name) + `".*?name="etag" value="([^"]*)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no etag for %s", name)
		}
		return html.UnescapeString(m[1])
	}
	page = coach.post("/provider/catalogue/quote", page, url.Values{"name": {qname}, "etag": {etag(page, "data-quote", qname)}, "request_id": {"t-q1"},
		"description": {"12 sessions"}, "unit": {"PRICE_UNIT_SESSION"}, "quantity": {"12"}, "unit_amount": {"90"},
		"valid_until": {time.Now().AddDate(0, 1, 0).Format("2006-01-02")}})
	if !strings.Contains(page, "Tarjous lähetettiin") {
		t.Errorf("after the quote the page does not say so")
	}
	code, got := call(t, "GET", s.GatewayURL+"/v1/"+qname, tok, nil)
	q, _ := got["quote"].(map[string]any)
	if code != http.StatusOK || got["state"] != "QUOTED" || q["total_amount_cents"] != "108000" {
		t.Errorf("quote request after answer = %d %v", code, got)
	}

	page = coach.post("/provider/catalogue/capacity", page, url.Values{"name": {offering}, "etag": {etag(page, "data-offering", offering)}, "capacity": {"CAPACITY_WAITLIST"}})
	code, got = call(t, "GET", s.GatewayURL+"/v1/"+offering, tok, nil)
	if code != http.StatusOK || got["capacity"] != "CAPACITY_WAITLIST" {
		t.Errorf("capacity after change = %v", got["capacity"])
	}
	page = coach.post("/provider/catalogue/price", page, url.Values{"name": {offering}, "option": {"hour"}, "amount": {"99,50"}})
	if !strings.Contains(page, "tarkistettavaksi") || !strings.Contains(page, "tarkistettavana") {
		t.Errorf("after a price change the page does not show the review")
	}
	// Another provider's offering is refused before the edge is called.
	other := demo.Providers["museum"]
	if resp, err := coach.c.PostForm(base+"/provider/catalogue/capacity", url.Values{"name": {"providers/" + other + "/offerings/x"},
		"capacity": {"CAPACITY_NO"}, "csrf": {csrfRE.FindStringSubmatch(page)[1]}}); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("another provider's offering: %v %v, want 403", resp.StatusCode, err)
	}
}

// A capacity measurement recorded in the UI adds a point to the client's chart.
func TestWebWorkerRecordsMeasurement(t *testing.T) {
	_, demo, base := startWebStack(t)
	aino := signIn(t, base, "aino")
	before := strings.Count(aino.get("/worker/clients/"+demo.Tiina, http.StatusOK), `class="dot"`)
	form := aino.get("/worker/clients/"+demo.Tiina+"/measurements/new", http.StatusOK)
	fields := regexp.MustCompile(`name="(score-[^"]+)"`).FindAllStringSubmatch(form, -1)
	if len(fields) == 0 {
		t.Fatal("the form asks no questions")
	}
	v := url.Values{"phase": {"MEASUREMENT_PHASE_INTERIM"}, "date": {time.Now().UTC().Format("2006-01-02")}, "request_id": {"t-meas"}}
	for _, f := range fields {
		v.Set(f[1], "4")
	}
	page := aino.post("/worker/clients/"+demo.Tiina+"/measurements", form, v)
	if !strings.Contains(page, "Mittaus tallennettiin") {
		t.Error("no confirmation after saving")
	}
	if after := strings.Count(page, `class="dot"`); after != before+1 {
		t.Errorf("chart points %d -> %d, want one more", before, after)
	}
	// A rating outside the scale is refused with the form's words.
	v.Set(fields[0][1], "999")
	resp, err := aino.c.PostForm(base+"/worker/clients/"+demo.Tiina+"/measurements", func() url.Values {
		v.Set("csrf", csrfRE.FindStringSubmatch(page)[1])
		return v
	}())
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("out-of-scale rating: %v %v, want 400", resp.StatusCode, err)
	}
}

// Provider staff register an organisation; it waits for the region's check.
func TestWebProviderRegistersOrganisation(t *testing.T) {
	s, _, base := startWebStack(t)
	coach := signIn(t, base, "coach")
	form := coach.get("/provider/register", http.StatusOK)
	page := coach.post("/provider/register", form, url.Values{"display_name": {"Hervannan naapuriapu"}, "kind": {"PROVIDER_KIND_VOLUNTEER"},
		"unregistered_group": {"on"}, "service_areas": {"837"}, "languages": {"fi, sv"}, "request_id": {"t-reg"}})
	m := regexp.MustCompile(`data-provider="(providers/[^"]+)"`).FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "odottaa tarkistusta") {
		t.Fatalf("no registration confirmation:\n%s", page)
	}
	tok, _ := s.Token(auth.Principal{Subject: Olli, Role: auth.RoleOperator}, time.Minute)
	code, got := call(t, "GET", s.GatewayURL+"/v1/"+m[1], tok, nil)
	if code != http.StatusOK || got["state"] != "PENDING_VERIFICATION" || got["display_name"] != "Hervannan naapuriapu" ||
		fmt.Sprint(got["languages"]) != "[fi sv]" {
		t.Errorf("registered provider = %d %v", code, got)
	}
}
