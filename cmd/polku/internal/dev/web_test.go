package dev

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
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
// the browser ends on after the redirect.
func (b *browser) post(path, page string, form url.Values) string {
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
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("POST %s = %d:\n%s", path, resp.StatusCode, body)
	}
	return string(body)
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
