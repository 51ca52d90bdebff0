package dev

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polku-hb/polku/platform/auth"
)

// quotesRaw sends a request without failing on its status, for the answers
// that are meant to be refusals; a POST carries the CSRF token found on page.
func quotesRaw(t *testing.T, b *browser, method, path, page string, form url.Values) (int, string) {
	t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodGet {
		resp, err = b.c.Get(b.base + path)
	} else {
		form.Set("csrf", csrfRE.FindStringSubmatch(page)[1])
		resp, err = b.c.PostForm(b.base+path, form)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// quotesStartDraft starts a new revision of Tiina's plan in the UI and
// returns the draft's path (/worker/clients/…/revisions/n).
func quotesStartDraft(t *testing.T, aino *browser, tiina string) string {
	t.Helper()
	client := aino.get("/worker/clients/"+tiina, http.StatusOK)
	if !strings.Contains(client, `href="/worker/clients/`+tiina+`/quotes"`) {
		t.Error("the client page does not link to the quote requests")
	}
	m := regexp.MustCompile(`action="(/worker/clients/[^"]+/revise)"`).FindStringSubmatch(client)
	if m == nil {
		t.Fatal("no revise form on the client page")
	}
	draft := aino.post(m[1], client, url.Values{"reason": {"Tailored coaching"}, "request_id": {"t-quotes-revise"}})
	rev := regexp.MustCompile(`action="(/worker/clients/[^"]+/revisions/\d+)/propose"`).FindStringSubmatch(draft)
	if rev == nil {
		t.Fatalf("the draft page has no propose form:\n%s", draft)
	}
	return rev[1]
}

// The whole worker side of a quote: Aino asks the coach for a quote from the
// plan draft's search results; the coach answers in the provider UI; Aino
// sees quantity × unit price = total, accepts it and adds it to the draft,
// which is then priced from the quote (checked through the REST edge).
func TestWebQuotesRequestAnswerAcceptAddToDraft(t *testing.T) {
	s, demo, base := startWebStack(t)
	tok, _ := s.Token(auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion, Unit: "family-services"}, time.Hour)
	coachID := demo.Providers["neurocoach"]
	_, offs := call(t, "GET", s.GatewayURL+"/v1/providers/"+coachID+"/offerings", tok, nil)
	offering := offs["offerings"].([]any)[0].(map[string]any)["name"].(string)

	aino := signIn(t, base, "aino")
	draftPath := quotesStartDraft(t, aino, demo.Tiina)
	revision := strings.TrimPrefix(draftPath, "/worker/")
	found := aino.get(draftPath+"?q=ADHD", http.StatusOK)
	link := regexp.MustCompile(`href="(/worker/clients/` + demo.Tiina + `/quotes/new\?offering=[^"]+)"`).FindStringSubmatch(found)
	if link == nil {
		t.Fatalf("no quote request link in the draft's search results:\n%s", found)
	}
	formURL := html.UnescapeString(link[1])
	if q, _ := url.ParseQuery(strings.SplitN(formURL, "?", 2)[1]); q.Get("offering") != offering || q.Get("revision") != revision {
		t.Fatalf("the link %s does not name the coach's offering and the draft", formURL)
	}
	form := aino.get(formURL, http.StatusOK)
	for _, want := range []string{"ilman henkilötietoja", `href="` + draftPath + `"`, `name="answer_by"`} {
		if !strings.Contains(form, want) {
			t.Errorf("the quote request form lacks %q", want)
		}
	}

	answerBy := time.Now().In(quotesHelsinki(t)).AddDate(0, 0, 10)
	good := func() url.Values {
		return url.Values{"offering": {offering}, "revision": {revision}, "request_id": {"t-quote-1"},
			"need": {"Evening routines coaching for a parent"}, "quantity": {"12"}, "unit": {"PRICE_UNIT_SESSION"},
			"answer_by": {answerBy.Format("2006-01-02")}, "municipality": {"837"}, "language": {"fi"}}
	}
	// Bad input is refused with the form's words; what was typed stays.
	yesterday := time.Now().In(quotesHelsinki(t)).AddDate(0, 0, -1).Format("2006-01-02")
	for _, tc := range []struct{ name, field, value, want string }{
		{"zero quantity", "quantity", "0", "arvioidun määrän pitää olla 1–10000"},
		{"answer date in the past", "answer_by", yesterday, "vastauspäivän pitää olla aikaisintaan huomenna"},
		{"start date in the past", "start", yesterday, "aloituspäivä ei voi olla mennyt päivä"},
		{"no need described", "need", " ", "kuvaa tarve"},
	} {
		v := good()
		v.Set(tc.field, tc.value)
		v.Set("request_id", "t-bad-"+tc.field)
		code, page := quotesRaw(t, aino, http.MethodPost, "/worker/clients/"+demo.Tiina+"/quotes", form, v)
		if code != http.StatusBadRequest || !strings.Contains(page, tc.want) || !strings.Contains(page, `role="alert"`) {
			t.Errorf("%s: %d, want 400 with %q in an alert", tc.name, code, tc.want)
		}
		if tc.field != "need" && !strings.Contains(page, "Evening routines coaching for a parent") {
			t.Errorf("%s: the description typed was lost", tc.name)
		}
	}
	if n := len(quotesOfAino(t, s.GatewayURL, tok, demo.Tiina)); n != 0 {
		t.Fatalf("refused forms created %d quote requests", n)
	}

	page := aino.post("/worker/clients/"+demo.Tiina+"/quotes", form, good())
	if !strings.Contains(page, "Tarjouspyyntö lähetettiin") {
		t.Errorf("no confirmation after sending the request")
	}
	qs := quotesOfAino(t, s.GatewayURL, tok, demo.Tiina)
	if len(qs) != 1 {
		t.Fatalf("quote requests for Tiina after sending = %d, want 1", len(qs))
	}
	qr := qs[0]
	qname := qr["name"].(string)
	due, _ := time.Parse(time.RFC3339, qr["response_due_time"].(string))
	if qr["state"] != "REQUESTED" || qr["offering"] != offering || qr["municipality"] != "837" ||
		!strings.Contains(qr["need_description"].(string), "Arvioitu määrä: 12 × tapaaminen") ||
		due.In(quotesHelsinki(t)).Format("2006-01-02") != answerBy.Format("2006-01-02") {
		t.Errorf("the stored request = %v", qr)
	}
	if !strings.Contains(page, `data-quote="`+qname+`"`) || !strings.Contains(page, "odottaa tarjousta") {
		t.Errorf("the quotes page does not list the new request as waiting")
	}

	// The coach answers in the provider UI: 12 sessions at 90 €.
	coach := signIn(t, base, "coach")
	cat := coach.get("/provider/catalogue", http.StatusOK)
	if !strings.Contains(cat, `data-quote="`+qname+`"`) || strings.Contains(cat, demo.Tiina) {
		t.Fatalf("the coach does not see the request, or sees the client's id")
	}
	etag := regexp.MustCompile(`(?s)data-quote="` + regexp.QuoteMeta(qname) + `".*?name="etag" value="([^"]*)"`).FindStringSubmatch(cat)[1]
	coach.post("/provider/catalogue/quote", cat, url.Values{"name": {qname}, "etag": {html.UnescapeString(etag)}, "request_id": {"t-q-answer"},
		"description": {"12 coaching sessions"}, "unit": {"PRICE_UNIT_SESSION"}, "quantity": {"12"}, "unit_amount": {"90"},
		"valid_until": {time.Now().AddDate(0, 1, 0).Format("2006-01-02")}})

	// Aino sees quantity × unit price = total and accepts.
	page = aino.get("/worker/clients/"+demo.Tiina+"/quotes", http.StatusOK)
	card := quotesCard(t, page, qname)
	for _, want := range []string{"tarjous saatu", "12 × tapaaminen", fiEuros(9000), fiEuros(108000), "12 coaching sessions", `action="/worker/clients/` + demo.Tiina + `/quotes/accept"`} {
		if !strings.Contains(card, want) {
			t.Errorf("the quoted request's card lacks %q:\n%s", want, card)
		}
	}
	page = aino.post("/worker/clients/"+demo.Tiina+"/quotes/accept", page, url.Values{"name": {qname},
		"etag": {html.UnescapeString(regexp.MustCompile(`name="etag" value="([^"]*)"`).FindStringSubmatch(card)[1])}, "request_id": {"t-accept"}})
	if _, got := call(t, "GET", s.GatewayURL+"/v1/"+qname, tok, nil); got["state"] != "ACCEPTED" {
		t.Fatalf("after accepting, the request is %v", got["state"])
	}
	card = quotesCard(t, page, qname)
	if !strings.Contains(page, "Tarjous hyväksyttiin") || !strings.Contains(card, `action="`+draftPath+`/quote"`) {
		t.Fatalf("after accepting, no confirmation or no way to add it to the draft:\n%s", card)
	}

	// Added to the draft: priced from the quote, 12 × 90 € once.
	_, rev := call(t, "GET", s.GatewayURL+"/v1/"+revision, tok, nil)
	totalBefore := rev["total_cost_cents"]
	page = aino.post(draftPath+"/quote", page, url.Values{"quote": {qname}})
	if !strings.Contains(page, "lisättiin suunnitelmaan tarjouksen hinnalla") {
		t.Errorf("no confirmation after adding the quote to the draft")
	}
	_, rev = call(t, "GET", s.GatewayURL+"/v1/"+revision, tok, nil)
	var priced map[string]any
	for _, sv := range rev["services"].([]any) {
		if m := sv.(map[string]any); m["accepted_quote"] == qname {
			priced = m
		}
	}
	if priced == nil || priced["cost_cents"] != "108000" || priced["unit_amount_cents"] != "9000" || priced["quantity"] != float64(12) {
		t.Fatalf("the draft's service from the quote = %v", priced)
	}
	row := regexp.MustCompile(`(?s)<tr data-quote="` + regexp.QuoteMeta(qname) + `">.*?</tr>`).FindString(page)
	if !strings.Contains(row, fiEuros(108000)) || !strings.Contains(row, "12 kerran") || !strings.Contains(row, "tarjouksen hinta") {
		t.Errorf("the draft page's row for the quoted service = %q, want the cost %s", row, fiEuros(108000))
	}
	if fmt.Sprint(rev["total_cost_cents"]) != fmt.Sprint(quotesCents(t, totalBefore)+108000) || !strings.Contains(page, `<td class="total">`+fiEuros(quotesCents(t, rev["total_cost_cents"]))) {
		t.Errorf("the draft's total %v -> %v, want +108000 and shown on the page", totalBefore, rev["total_cost_cents"])
	}
	// Adding it twice is refused; the quotes page links to the draft instead.
	if code, _ := quotesRaw(t, aino, http.MethodPost, draftPath+"/quote", page, url.Values{"quote": {qname}}); code != http.StatusBadRequest {
		t.Errorf("adding the same quote twice = %d, want 400", code)
	}
	if card := quotesCard(t, aino.get("/worker/clients/"+demo.Tiina+"/quotes", http.StatusOK), qname); !strings.Contains(card, `href="`+draftPath+`"`) {
		t.Errorf("the accepted quote's card does not link to the draft it prices")
	}
}

// An open request can be cancelled; another client's page and another
// worker never show it, and it cannot be acted on through another client.
func TestWebQuotesCancelAndIsolation(t *testing.T) {
	s, demo, base := startWebStack(t)
	tok, _ := s.Token(auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion, Unit: "family-services"}, time.Hour)
	_, offs := call(t, "GET", s.GatewayURL+"/v1/providers/"+demo.Providers["neurocoach"]+"/offerings", tok, nil)
	offering := offs["offerings"].([]any)[0].(map[string]any)["name"].(string)

	aino := signIn(t, base, "aino")
	form := aino.get("/worker/clients/"+demo.Tiina+"/quotes/new?offering="+url.QueryEscape(offering), http.StatusOK)
	page := aino.post("/worker/clients/"+demo.Tiina+"/quotes", form, url.Values{"offering": {offering}, "request_id": {"t-quote-c"},
		"need": {"Coaching for a parent"}, "quantity": {"5"}, "unit": {"PRICE_UNIT_HOUR"},
		"answer_by": {time.Now().In(quotesHelsinki(t)).AddDate(0, 0, 7).Format("2006-01-02")}})
	qs := quotesOfAino(t, s.GatewayURL, tok, demo.Tiina)
	if len(qs) != 1 {
		t.Fatalf("quote requests for Tiina = %d, want 1", len(qs))
	}
	qname := qs[0]["name"].(string)

	// Jari is Aino's client too: his page does not show Tiina's request, and
	// acting on it through his page is refused.
	_, cl := call(t, "GET", s.GatewayURL+"/v1/clients?filter="+url.QueryEscape("state = ACTIVE"), tok, nil)
	var jari string
	for _, c := range cl["clients"].([]any) {
		if m := c.(map[string]any); m["given_name"] == "Jari" {
			jari = strings.TrimPrefix(m["name"].(string), "clients/")
		}
	}
	jariPage := aino.get("/worker/clients/"+jari+"/quotes", http.StatusOK)
	if strings.Contains(jariPage, qname) || !strings.Contains(jariPage, "Et ole vielä pyytänyt tarjouksia") {
		t.Errorf("Jari's quotes page shows Tiina's request or no empty note")
	}
	if code, _ := quotesRaw(t, aino, http.MethodPost, "/worker/clients/"+jari+"/quotes/cancel", jariPage, url.Values{"name": {qname}}); code != http.StatusForbidden {
		t.Errorf("cancelling Tiina's request through Jari's page = %d, want 403", code)
	}
	// Pekka, another worker, sees neither Tiina's page nor the request on his own client's.
	pekka := signIn(t, base, "pekka")
	if code, body := quotesRaw(t, pekka, http.MethodGet, "/worker/clients/"+demo.Tiina+"/quotes", "", nil); code == http.StatusOK || strings.Contains(body, qname) {
		t.Errorf("Pekka's view of Tiina's quotes = %d", code)
	}
	home := pekka.get("/worker", http.StatusOK)
	emma := regexp.MustCompile(`href="/worker/(clients/[^"#]+)"[^>]*>Emma`).FindStringSubmatch(home)
	if emma == nil {
		t.Fatal("Emma is not on Pekka's list")
	}
	if body := pekka.get("/worker/"+emma[1]+"/quotes", http.StatusOK); strings.Contains(body, qname) {
		t.Error("Pekka's client's quotes page shows Aino's request")
	}

	// Aino cancels the open request with a reason.
	card := quotesCard(t, page, qname)
	page = aino.post("/worker/clients/"+demo.Tiina+"/quotes/cancel", page, url.Values{"name": {qname}, "reason": {"Found another way"},
		"etag": {html.UnescapeString(regexp.MustCompile(`name="etag" value="([^"]*)"`).FindStringSubmatch(card)[1])}, "request_id": {"t-cancel"}})
	if _, got := call(t, "GET", s.GatewayURL+"/v1/"+qname, tok, nil); got["state"] != "CANCELLED" {
		t.Errorf("after cancelling, the request is %v", got["state"])
	}
	card = quotesCard(t, page, qname)
	if !strings.Contains(page, "Tarjouspyyntö peruttiin") || !strings.Contains(card, "peruttu") || strings.Contains(card, "<form") {
		t.Errorf("after cancelling the card still offers actions or says nothing:\n%s", card)
	}
}

// quotesOfAino are the quote requests Aino made for the client, from the edge.
func quotesOfAino(t *testing.T, gateway, tok, client string) []map[string]any {
	t.Helper()
	code, got := call(t, "GET", gateway+"/v1/providers/-/quoteRequests", tok, nil)
	if code != http.StatusOK {
		t.Fatalf("list quote requests: %d %v", code, got)
	}
	var out []map[string]any
	list, _ := got["quote_requests"].([]any)
	for _, q := range list {
		if m := q.(map[string]any); m["client"] == "clients/"+client {
			out = append(out, m)
		}
	}
	return out
}

// quotesCard is one request's article on the quotes page.
func quotesCard(t *testing.T, page, name string) string {
	t.Helper()
	card := regexp.MustCompile(`(?s)<article[^>]*data-quote="` + regexp.QuoteMeta(name) + `".*?</article>`).FindString(page)
	if card == "" {
		t.Fatalf("no card for %s on the page", name)
	}
	return card
}

// quotesCents reads an int64 that protojson wrote as a string.
func quotesCents(t *testing.T, v any) int64 {
	t.Helper()
	n, err := strconv.ParseInt(fmt.Sprint(v), 10, 64)
	if err != nil {
		t.Fatalf("not cents: %v", v)
	}
	return n
}

func quotesHelsinki(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
