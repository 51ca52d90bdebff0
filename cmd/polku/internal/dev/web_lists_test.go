package dev

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/web"
)

// listsPaging is small enough that the seeded demo spans several pages of
// every list: forward-paged lists show 3 rows a page, whole lists are read 2
// items a call and stop at 8.
var listsPaging = web.Paging{PageSize: 3, FetchSize: 2, MaxItems: 8}

// startListsStack is startWebStack with the UI reading lists in small pages.
func startListsStack(t *testing.T) (*Stack, Demo, string) {
	t.Helper()
	s, _, _ := startStack(t)
	demo, err := SeedDemo(context.Background(), s)
	if err != nil {
		t.Fatalf("SeedDemo: %v", err)
	}
	h, err := web.New(context.Background(), web.Config{GatewayURL: s.GatewayURL, People: demoPeople(s, demo), Paging: listsPaging})
	if err != nil {
		t.Fatalf("web.New: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return s, demo, srv.URL
}

var (
	nextLinkRE  = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
	firstLinkRE = regexp.MustCompile(`<a href="([^"]+)">Takaisin ensimmäiselle sivulle</a>`)
)

// walk follows a forward-paged list's "next page" links from path to the
// last page and returns the items (by marker) of each page.
func walk(t *testing.T, b *browser, path string, marker *regexp.Regexp) [][]string {
	t.Helper()
	var pages [][]string
	for path != "" {
		body := b.get(path, http.StatusOK)
		var items []string
		for _, m := range marker.FindAllStringSubmatch(body, -1) {
			items = append(items, m[1])
		}
		pages = append(pages, items)
		if first := firstLinkRE.FindStringSubmatch(body); (first != nil) != (len(pages) > 1) {
			t.Errorf("page %d of %s: a link back to the first page = %v; want it on every page but the first", len(pages), path, first != nil)
		}
		path = ""
		if m := nextLinkRE.FindStringSubmatch(body); m != nil {
			path = html.UnescapeString(m[1])
		}
		if len(pages) > 500 {
			t.Fatal("more than 500 pages: the next link does not move on")
		}
	}
	return pages
}

// apiNames lists every item's name of a collection through the REST edge.
func apiNames(t *testing.T, s *Stack, tok, path, field string) []string {
	t.Helper()
	code, got := call(t, "GET", s.GatewayURL+"/v1/"+path+"?page_size=500", tok, nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s = %d %v", path, code, got)
	}
	var out []string
	for _, it := range got[field].([]any) {
		out = append(out, it.(map[string]any)["name"].(string))
	}
	return out
}

// Forward-paged lists: every item is reachable through the "next page"
// links, each exactly once, no page is longer than the page size, and the
// link back to the first page shows the first page again.
func TestWebListsForwardPaging(t *testing.T) {
	s, demo, base := startListsStack(t)
	ainoTok, _ := s.Token(auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion, Unit: "family-services"}, time.Minute)
	tests := []struct {
		name   string
		person string
		path   string
		marker *regexp.Regexp
		// want is every item the API lists (nil: the list grows while it is
		// paged, so only uniqueness and reaching the end are checked).
		want func() []string
	}{
		{name: "client's timeline", person: "aino", path: "/worker/clients/" + demo.Tiina,
			marker: regexp.MustCompile(`data-event="([^"]+)"`),
			want: func() []string {
				return apiNames(t, s, ainoTok, "clients/"+demo.Tiina+"/timelineEvents", "timeline_events")
			}},
		// Each page view reads Tiina's data and so adds entries at the head
		// of her access log; the token's cursor keeps later pages stable.
		{name: "access log on /me", person: "tiina", path: "/me",
			marker: regexp.MustCompile(`data-access="([^"]+)"`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := signIn(t, base, tt.person)
			// The seed's last events reach the timeline through the event
			// stream; walk again until the API's list held still meanwhile.
			var pages [][]string
			var want []string
			for range 10 {
				if tt.want != nil {
					want = tt.want()
				}
				pages = walk(t, b, tt.path, tt.marker)
				if tt.want == nil || slices.Equal(want, tt.want()) {
					break
				}
			}
			t.Logf("%d pages", len(pages))
			if len(pages) < 2 {
				t.Fatalf("%d page(s); the seed should fill more than one page of %d", len(pages), listsPaging.PageSize)
			}
			var all []string
			for i, p := range pages {
				if len(p) == 0 || len(p) > listsPaging.PageSize {
					t.Errorf("page %d has %d items; want 1..%d", i+1, len(p), listsPaging.PageSize)
				}
				all = append(all, p...)
			}
			seen := map[string]bool{}
			for _, n := range all {
				if seen[n] {
					t.Errorf("%s is shown twice", n)
				}
				seen[n] = true
			}
			if tt.want != nil {
				slices.Sort(want)
				got := slices.Sorted(func(yield func(string) bool) {
					for _, n := range all {
						if !yield(n) {
							return
						}
					}
				})
				if !slices.Equal(got, want) {
					t.Errorf("the pages show %d items, the API lists %d:\n got %v\nwant %v", len(got), len(want), got, want)
				}
			}
			// Back to the first page from the second.
			second := b.get(html.UnescapeString(nextLinkRE.FindStringSubmatch(b.get(tt.path, http.StatusOK))[1]), http.StatusOK)
			back := b.get(html.UnescapeString(firstLinkRE.FindStringSubmatch(second)[1]), http.StatusOK)
			if firstLinkRE.MatchString(back) {
				t.Error("the link back leads to a page that is not the first")
			}
			if m := tt.marker.FindStringSubmatch(back); tt.want != nil && (m == nil || m[1] != pages[0][0]) {
				t.Errorf("the link back does not show the first page's first item %s", pages[0][0])
			}
		})
	}
}

// A page token from the URL reaches the edge only as page_token, and only
// when it looks like one; a token made for another list (Tiina's timeline,
// used on Jari's page) is refused by the service that made it.
func TestWebListsRefusesBadPageTokens(t *testing.T) {
	_, demo, base := startListsStack(t)
	aino := signIn(t, base, "aino")
	next := nextLinkRE.FindStringSubmatch(aino.get("/worker/clients/"+demo.Tiina, http.StatusOK))
	jari := regexp.MustCompile(`<a href="/worker/(clients/[^"]+)">Jari Nieminen</a>`).FindStringSubmatch(aino.get("/worker", http.StatusOK))
	if next == nil || jari == nil {
		t.Fatal("no next page on Tiina's page or no Jari on Aino's")
	}
	u, _ := url.Parse(html.UnescapeString(next[1]))
	tests := []struct {
		name, page, token, want string
	}{
		{"filter injection", demo.Tiina, `x" OR client != "`, "Sivun linkki ei ole kelvollinen"},
		{"path characters", demo.Tiina, "../../clients", "Sivun linkki ei ole kelvollinen"},
		{"too long", demo.Tiina, strings.Repeat("a", 2000), "Sivun linkki ei ole kelvollinen"},
		{"another list's token", strings.TrimPrefix(jari[1], "clients/"), u.Query().Get("timeline"), "page_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := aino.get("/worker/clients/"+tt.page+"?timeline="+url.QueryEscape(tt.token), http.StatusBadRequest)
			if !strings.Contains(body, tt.want) || !strings.Contains(body, `role="alert"`) {
				t.Errorf("the error page lacks %q in an alert:\n%s", tt.want, body)
			}
		})
	}
}

// Whole lists: the worker's clients are read across every page of the edge
// (the name search finds the oldest client, on the edge's last page), each
// shown once; past the bound the page says the list was cut.
func TestWebListsWholeListsAndTheBound(t *testing.T) {
	s, _, base := startListsStack(t)
	tok, _ := s.Token(auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion, Unit: "family-services"}, time.Minute)
	created := 0
	addClients := func(n int) {
		t.Helper()
		for range n {
			created++
			code, got := call(t, "POST", s.GatewayURL+"/v1/clients?request_id="+fmt.Sprintf("lists-%d", created), tok, map[string]any{
				"given_name": fmt.Sprintf("Lista%d", created), "family_name": "Testinen", "personal_identity_code": testIdentityCode(7000 + created),
				"contact_preference": "CONTACT_PREFERENCE_VIA_WORKER", "cohort": "COHORT_PERSONAL_BUDGET",
			})
			if code != http.StatusOK {
				t.Fatalf("create client: %d %v", code, got)
			}
		}
	}
	aino := signIn(t, base, "aino")
	clientLink := regexp.MustCompile(`<td><a href="/worker/(clients/[^"]+)">`)
	section := func(path string) (names []string, notice bool) {
		t.Helper()
		body := aino.get(path, http.StatusOK)
		sec, _, _ := strings.Cut(body, `id="h-overdue"`)
		for _, m := range clientLink.FindAllStringSubmatch(sec, -1) {
			names = append(names, m[1])
		}
		return names, strings.Contains(sec, `class="capped"`)
	}
	// Jari is one of Aino's oldest clients: the edge lists clients newest
	// first, so he is on its last page, found only when every page is read;
	// past the bound he is cut off, and the notice says the list is longer.
	tests := []struct {
		name       string
		add        int
		wantShown  int
		wantJari   int
		wantNotice bool
	}{
		// Aino's three demo clients and four more: seven, over four calls.
		{name: "under the bound", add: 4, wantShown: 7, wantJari: 1},
		{name: "at the bound", add: 1, wantShown: 8, wantJari: 1},
		{name: "past the bound", add: 2, wantShown: 8, wantJari: 0, wantNotice: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addClients(tt.add)
			names, notice := section("/worker")
			if len(names) != tt.wantShown || notice != tt.wantNotice {
				t.Errorf("/worker shows %d clients, notice %v; want %d, %v", len(names), notice, tt.wantShown, tt.wantNotice)
			}
			if len(slices.Compact(slices.Sorted(slices.Values(names)))) != len(names) {
				t.Errorf("a client is shown twice: %v", names)
			}
			if jari, notice := section("/worker?q=jari"); len(jari) != tt.wantJari || notice != tt.wantNotice {
				t.Errorf("search for jari finds %d, notice %v; want %d, %v", len(jari), notice, tt.wantJari, tt.wantNotice)
			}
		})
	}
}

// The timeline's summaries come from the clients service in the language of
// the page: Finnish by default, Swedish and English after the switch, and
// never another language's text.
func TestWebListsTimelineInReadersLanguage(t *testing.T) {
	_, demo, base := startWebStack(t)
	aino := signIn(t, base, "aino")
	path := "/worker/clients/" + demo.Tiina
	timeline := func(page string) string {
		_, tl, _ := strings.Cut(page, `id="h-tl"`)
		return tl
	}
	created := map[string]string{
		"fi": "Asiakkuus alkoi ja omatyöntekijä nimettiin",
		"sv": "Klientskapet började och en egen kontaktperson utsågs",
		"en": "The client record was created and a coordinating worker was named",
	}
	sent := map[string]string{
		"fi": "Lähete lähetettiin palveluntuottajalle",
		"sv": "Remissen skickades till serviceproducenten",
		"en": "The referral was sent to the service provider",
	}
	page := aino.get(path, http.StatusOK)
	for _, lang := range []string{"fi", "sv", "en"} {
		if lang != "fi" {
			page = aino.post("/lang", page, url.Values{"lang": {lang}, "back": {path}})
		}
		tl := timeline(page)
		for other := range created {
			want := other == lang
			if strings.Contains(tl, created[other]) != want || strings.Contains(tl, sent[other]) != want {
				t.Errorf("page in %s: the %s summaries shown = %v; want %v", lang, other, !want, want)
			}
		}
	}
}
