package dev

import (
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// In headless Chromium: the coach writes a new offering in the form and sends
// it for review; Olli finds it in the operator's queue, reviews it and
// publishes it, and a worker's search then finds it. The offering form, the
// provider's credentials page, the operator's queue, review page, provider
// page and region settings are screenshotted and checked with axe-core.
func TestBrowserCatalogueProviderCreatesOperatorPublishes(t *testing.T) {
	exe := chromium(t)
	shots := screenshotDir(t)
	s, demo, base := startWebStack(t)
	api := newCatalogueAPI(t, s)

	bctx := startChrome(t, exe)
	do := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		chromeStep(t, bctx, name, actions...)
	}
	signInAs := func(person, landsOn string) {
		t.Helper()
		do("sign in "+person, chromedp.Navigate(base+"/signin"),
			chromedp.Click(chromedp.CSS(`button[name="lang"][value="fi"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="fi"]`)),
			chromedp.Click(chromedp.CSS(`button[data-person="`+person+`"]`)), chromedp.WaitVisible(chromedp.CSS(landsOn)))
	}

	signInAs("coach", "nav")
	do("new offering form", chromedp.Navigate(base+"/provider/catalogue"),
		chromedp.Click(chromedp.CSS(`a[href="/provider/offerings/new"]`)), chromedp.WaitVisible(chromedp.CSS(`#title_fi`)))
	checkPage(t, bctx, shots, "catalogue-01-offering-form")
	do("fill and save",
		chromedp.SendKeys(chromedp.CSS(`#title_fi`), "Perheiden iltavalmennus Kolibri"),
		chromedp.SendKeys(chromedp.CSS(`#desc_fi`), "Valmennusta iltarutiineihin kotona tai etänä."),
		chromedp.SetValue(chromedp.CSS(`#category`), "CATEGORY_FAMILY_AND_PARENTING"),
		chromedp.Click(chromedp.CSS(`#m-DELIVERY_MODE_HOME_VISIT`)),
		chromedp.SendKeys(chromedp.CSS(`#pl-0`), "Kotikäynti 60 min"),
		chromedp.SetValue(chromedp.CSS(`#pu-0`), "PRICE_UNIT_VISIT"),
		chromedp.SendKeys(chromedp.CSS(`#pa-0`), "85"),
		chromedp.Click(chromedp.CSS(`#offering-form > button`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-state="DRAFT"]`)))
	checkPage(t, bctx, shots, "catalogue-02-offering-draft")
	attr, err := chromedp.Run(bctx, chromedp.AttributeValue(chromedp.CSS(`section[data-offering]`), "data-offering"))
	name := attr.Value
	if err != nil || !strings.HasPrefix(name, "providers/"+demo.Providers["neurocoach"]+"/offerings/") {
		t.Fatalf("offering name on the page = %q, %v", name, err)
	}
	do("submit for review", chromedp.Click(chromedp.CSS(`form[action$="/submit"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-state="PENDING_REVIEW"]`)))
	do("credentials page", chromedp.Navigate(base+"/provider/credentials"), chromedp.WaitVisible(chromedp.CSS(`#h-creds`)))
	checkPage(t, bctx, shots, "catalogue-03-provider-credentials")
	do("sign out", chromedp.Click(chromedp.CSS(`.signout button`)), chromedp.WaitVisible(chromedp.CSS(`button[data-person]`)))

	signInAs("olli", `#h-review`)
	checkPage(t, bctx, shots, "catalogue-04-operator-queue")
	do("open review", chromedp.Click(chromedp.CSS(`tr[data-review="`+name+`"] a`)), chromedp.WaitVisible(chromedp.CSS(`#h-decide`)))
	checkPage(t, bctx, shots, "catalogue-05-operator-review")
	do("publish", chromedp.Click(chromedp.CSS(`form[action$="/publish"] button`)), chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
	if got := api.get(name); got["state"] != "PUBLISHED" {
		t.Fatalf("after publishing in the browser the offering is %v", got["state"])
	}
	if !api.searchFinds("Kolibri", name) {
		t.Error("the published offering is not found by a worker's search")
	}
	do("provider page", chromedp.Navigate(base+"/operator/providers/"+demo.Providers["neurocoach"]), chromedp.WaitVisible(chromedp.CSS(`#h-log`)))
	checkPage(t, bctx, shots, "catalogue-06-operator-provider")
	do("settings page", chromedp.Navigate(base+"/operator/settings?region="+DemoRegion), chromedp.WaitVisible(chromedp.CSS(`#days`)))
	checkPage(t, bctx, shots, "catalogue-07-operator-settings")

	// The other languages of the form render without missing texts.
	for _, lang := range []string{"sv", "en"} {
		do("form in "+lang, chromedp.Navigate(base+"/operator"),
			chromedp.Click(chromedp.CSS(`button[name="lang"][value="`+lang+`"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="`+lang+`"]`)))
		body, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("main")))
		if err != nil || regexp.MustCompile(`catalogue\.[a-z]`).MatchString(body) {
			t.Errorf("operator page in %s shows a message key: %v", lang, err)
		}
	}
}
