package dev

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/polku-hb/polku/platform/auth"
)

// In a real browser, with the UI reading lists in small pages: Aino's desk
// says her client list was cut at the bound; on Tiina's page she follows the
// timeline's "next page" link with the keyboard and comes back to the first
// page; Tiina pages her access log. Each of these pages is screenshotted and
// checked with axe-core.
func TestBrowserListsPagingAndBound(t *testing.T) {
	exe := chromium(t)
	shots := screenshotDir(t)
	s, demo, base := startListsStack(t)

	// More clients than the bound (8): Aino has three, nine more.
	tok, _ := s.Token(auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion, Unit: "family-services"}, time.Minute)
	for i := range 9 {
		code, got := call(t, "POST", s.GatewayURL+fmt.Sprintf("/v1/clients?request_id=blists-%d", i), tok, map[string]any{
			"given_name": fmt.Sprintf("Selain%d", i), "family_name": "Testinen", "personal_identity_code": testIdentityCode(7100 + i),
			"contact_preference": "CONTACT_PREFERENCE_VIA_WORKER", "cohort": "COHORT_PERSONAL_BUDGET",
		})
		if code != http.StatusOK {
			t.Fatalf("create client: %d %v", code, got)
		}
	}

	bctx := startChrome(t, exe)
	do := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			loc, _ := chromedp.Run(bctx, chromedp.Location())
			t.Fatalf("%s: %v (at %s)", name, err, loc)
		}
	}
	text := func(name, sel string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
		defer cancel()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v
	}
	signIn := func(person string) {
		t.Helper()
		do("sign in "+person,
			chromedp.Navigate(base+"/signin"),
			chromedp.Click(chromedp.CSS(`button[name="lang"][value="fi"]`)),
			chromedp.WaitVisible(chromedp.CSS(`html[lang="fi"]`)),
			chromedp.Click(chromedp.CSS(`button[data-person="`+person+`"]`)),
			chromedp.WaitVisible(chromedp.CSS("nav")))
	}

	signIn("aino")
	if got := text("bound notice", `.capped`); !strings.Contains(got, "vain 8 ensimmäistä") {
		t.Errorf("the worker's desk says %q above the clients; want the bound of 8 named", got)
	}
	checkPage(t, bctx, shots, "lists-01-worker-bound")

	// Keyboard only: focus the timeline's next link and press Enter.
	do("client page", chromedp.Navigate(base+"/worker/clients/"+demo.Tiina), chromedp.WaitVisible(chromedp.CSS("#timeline")))
	first := text("first timeline page", `#timeline ol`)
	do("next timeline page",
		chromedp.Focus(chromedp.CSS(`#timeline a[rel="next"]`)),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(`#timeline .pager li:first-child a:not([rel])`)))
	if second := text("second timeline page", `#timeline ol`); second == first {
		t.Error("the timeline's next page shows the same events as the first")
	}
	checkPage(t, bctx, shots, "lists-02-timeline-page2")
	do("back to the first page",
		chromedp.Click(chromedp.CSS(`#timeline .pager li:first-child a`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#timeline .pager a:not([rel])`)))
	if again := text("first page again", `#timeline ol`); again != first {
		t.Errorf("back on the first page the timeline reads %q; want %q", again, first)
	}

	do("sign out", chromedp.Click(chromedp.CSS(`.signout button`)), chromedp.WaitVisible(chromedp.CSS(`button[data-person]`)))
	signIn("tiina")
	do("access log next page",
		chromedp.Click(chromedp.CSS(`#access a[rel="next"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#access .pager a:not([rel])`)))
	checkPage(t, bctx, shots, "lists-03-access-log-page2")
}
