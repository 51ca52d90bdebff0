package dev

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/polku-hb/polku/platform/auth"
)

// catalogueAPI reads catalogue resources as Olli the operator, who sees every
// offering with its working copy: the tests' view of what the UI stored.
type catalogueAPI struct {
	t   *testing.T
	s   *Stack
	tok string
}

func newCatalogueAPI(t *testing.T, s *Stack) catalogueAPI {
	tok, err := s.Token(auth.Principal{Subject: Olli, Role: auth.RoleOperator}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return catalogueAPI{t: t, s: s, tok: tok}
}

func (c catalogueAPI) get(name string) map[string]any {
	c.t.Helper()
	code, got := call(c.t, "GET", c.s.GatewayURL+"/v1/"+name, c.tok, nil)
	if code != http.StatusOK {
		c.t.Fatalf("GET %s = %d %v", name, code, got)
	}
	return got
}

// searchFinds reports whether a worker's catalogue search for query lists name.
func (c catalogueAPI) searchFinds(query, name string) bool {
	c.t.Helper()
	tok, _ := c.s.Token(auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion, Unit: "family-services"}, time.Minute)
	code, got := call(c.t, "GET", c.s.GatewayURL+"/v1/providers/-/offerings:search?query="+url.QueryEscape(query), tok, nil)
	if code != http.StatusOK {
		c.t.Fatalf("search %q = %d %v", query, code, got)
	}
	results, _ := got["results"].([]any)
	for _, r := range results {
		if r.(map[string]any)["offering"].(map[string]any)["name"] == name {
			return true
		}
	}
	return false
}

var offeringNameRE = regexp.MustCompile(`data-offering="(providers/[^"]+/offerings/[^"]+)"`)

// newOfferingForm is a filled offering form as a provider would send it.
func newOfferingForm(title string) url.Values {
	return url.Values{
		"title_fi": {title}, "title_sv": {"Familjegrupp"}, "desc_fi": {"Viikoittainen vertaisryhmä vanhemmille, " + title},
		"category": {"CATEGORY_PEER_SUPPORT"}, "delivery_modes": {"DELIVERY_MODE_GROUP", "DELIVERY_MODE_REMOTE"},
		"access_instructions_fi": {"Ilmoittaudu ohjaajalle puhelimitse."},
		"service_areas":          {"837, 536"}, "languages": {"fi sv"}, "capacity": {"CAPACITY_YES"}, "request_id": {"t-" + title},
		"price_id": {"", ""}, "price_label": {"Ryhmäkerta 90 min", ""}, "price_unit": {"PRICE_UNIT_SESSION", "PRICE_UNIT_HOUR"},
		"price_amount": {"45,50", ""}, "price_vat": {"", ""},
	}
}

// createOffering fills the new-offering form as the coach and returns the
// offering's name and its page.
func createOffering(t *testing.T, coach *browser, title string) (string, string) {
	t.Helper()
	form := coach.get("/provider/offerings/new", http.StatusOK)
	page := coach.post("/provider/offerings", form, newOfferingForm(title))
	m := offeringNameRE.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "tallennettiin luonnokseksi") {
		t.Fatalf("no confirmation after creating an offering:\n%s", page)
	}
	return m[1], page
}

// formEtag is the etag in the first form posting to action.
func formEtag(t *testing.T, page, action string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)action="` + regexp.QuoteMeta(action) + `".*?name="etag" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form with an etag posting to %s", action)
	}
	return html.UnescapeString(m[1])
}

// A provider creates an offering in the UI (a DRAFT with the form's fields),
// edits it, sends it for review, the operator publishes it and workers find
// it; then the provider confirms and withdraws it. A second draft is deleted.
func TestWebCatalogueOfferingLifecycle(t *testing.T) {
	s, demo, base := startWebStack(t)
	api := newCatalogueAPI(t, s)
	coach := signIn(t, base, "coach")

	// A form without the Finnish title comes back with what was typed.
	form := coach.get("/provider/offerings/new", http.StatusOK)
	bad := newOfferingForm("x")
	bad.Del("title_fi")
	code, page := coach.postStatus("/provider/offerings", form, bad)
	if code != http.StatusBadRequest || !strings.Contains(page, `role="alert"`) || !strings.Contains(page, "nimi suomeksi") ||
		!strings.Contains(page, "Viikoittainen vertaisryhmä vanhemmille") || !strings.Contains(page, `value="45,50"`) {
		t.Fatalf("missing Finnish title = %d; want 400 with the typed form and the reason:\n%s", code, page)
	}

	name, page := createOffering(t, coach, "Iltaryhmä Zebrafinch")
	got := api.get(name)
	prices := got["price_options"].([]any)
	p0 := prices[0].(map[string]any)
	if got["state"] != "DRAFT" || got["title"].(map[string]any)["fi"] != "Iltaryhmä Zebrafinch" || got["title"].(map[string]any)["sv"] != "Familjegrupp" ||
		got["category"] != "CATEGORY_PEER_SUPPORT" || fmt.Sprint(got["delivery_modes"]) != "[DELIVERY_MODE_REMOTE DELIVERY_MODE_GROUP]" ||
		fmt.Sprint(got["service_areas"]) != "[837 536]" || fmt.Sprint(got["access_instructions"]) != "map[fi:Ilmoittaudu ohjaajalle puhelimitse.]" || fmt.Sprint(got["languages"]) != "[fi sv]" || len(prices) != 1 ||
		p0["id"] != "session" || p0["unit"] != "PRICE_UNIT_SESSION" || p0["amount_cents"] != "4550" {
		t.Fatalf("created offering = %v", got)
	}

	// Editing the draft changes what was edited and keeps the price option's id.
	id := name[strings.LastIndex(name, "/")+1:]
	edit := newOfferingForm("Iltaryhmä Zebrafinch")
	edit.Set("desc_fi", "Kahden viikon välein kokoontuva ryhmä")
	edit.Set("etag", formEtag(t, page, "/provider/offerings/"+id))
	edit["price_id"] = []string{"session", ""}
	edit["price_amount"] = []string{"48", ""}
	page = coach.post("/provider/offerings/"+id, page, edit)
	got = api.get(name)
	if !strings.Contains(page, "Muutokset tallennettiin") || got["description"].(map[string]any)["fi"] != "Kahden viikon välein kokoontuva ryhmä" ||
		got["price_options"].([]any)[0].(map[string]any)["amount_cents"] != "4800" || got["price_options"].([]any)[0].(map[string]any)["id"] != "session" {
		t.Fatalf("after the edit: %v", got)
	}

	page = coach.post("/provider/offerings/"+id+"/submit", page, url.Values{"etag": {formEtag(t, page, "/provider/offerings/"+id+"/submit")}, "request_id": {"t-sub"}})
	if got = api.get(name); got["state"] != "PENDING_REVIEW" || !strings.Contains(page, "lähetettiin tarkistettavaksi") {
		t.Fatalf("after submit: state %v", got["state"])
	}
	if api.searchFinds("Zebrafinch", name) {
		t.Fatal("an offering in its first review must not be found yet")
	}

	olli := signIn(t, base, "olli")
	queue := olli.get("/operator", http.StatusOK)
	if !strings.Contains(queue, `data-review="`+name+`"`) {
		t.Fatal("the submitted offering is not in the operator's queue")
	}
	review := olli.get("/operator/offerings/"+demo.Providers["neurocoach"]+"/"+id, http.StatusOK)
	if !strings.Contains(review, "Kahden viikon välein kokoontuva ryhmä") || !strings.Contains(review, "48,00") {
		t.Fatal("the review page does not show the submitted content and prices")
	}
	action := regexp.MustCompile(`action="(/operator/offerings/[^"]+/publish)"`).FindStringSubmatch(review)[1]
	queue = olli.post(action, review, url.Values{"etag": {formEtag(t, review, action)}, "request_id": {"t-pub"}})
	if got = api.get(name); got["state"] != "PUBLISHED" || !strings.Contains(queue, "Palvelu julkaistiin") || strings.Contains(queue, `data-review="`+name+`"`) {
		t.Fatalf("after publish: state %v", got["state"])
	}
	if !api.searchFinds("Zebrafinch", name) {
		t.Fatal("the published offering is not found by search")
	}

	// Confirming moves the confirmation time on; withdrawing takes it out of search.
	before := got["last_confirm_time"]
	page = coach.get("/provider/offerings/"+id, http.StatusOK)
	page = coach.post("/provider/offerings/"+id+"/confirm", page, url.Values{"request_id": {"t-conf"}})
	if got = api.get(name); got["last_confirm_time"] == before || !strings.Contains(page, "vahvistettiin") {
		t.Errorf("confirm: last_confirm_time %v -> %v", before, got["last_confirm_time"])
	}
	page = coach.post("/provider/offerings/"+id+"/withdraw", page, url.Values{"etag": {formEtag(t, page, "/provider/offerings/"+id+"/withdraw")}, "reason": {"Ryhmä täynnä"}, "request_id": {"t-wd"}})
	if got = api.get(name); got["state"] != "WITHDRAWN" || api.searchFinds("Zebrafinch", name) {
		t.Errorf("after withdraw: state %v", got["state"])
	}

	// A draft that was never published can be deleted.
	draft, page := createOffering(t, coach, "Poistettava luonnos")
	did := draft[strings.LastIndex(draft, "/")+1:]
	page = coach.post("/provider/offerings/"+did+"/delete", page, url.Values{"etag": {formEtag(t, page, "/provider/offerings/"+did+"/delete")}})
	if code, _ := call(t, "GET", s.GatewayURL+"/v1/"+draft, api.tok, nil); code != http.StatusNotFound || !strings.Contains(page, "Luonnos poistettiin") {
		t.Errorf("deleted draft: GET = %d, want 404", code)
	}
}

// The operator sends an offering back with a reason, which the provider then
// sees; a price change of a published offering waits in the same queue with
// the price in force next to the proposed one, and publishing it makes a new
// price version. The operator's price caps flag a draft, and the operator
// withdraws a published offering.
func TestWebCatalogueReviewRejectAndPriceChange(t *testing.T) {
	s, demo, base := startWebStack(t)
	api := newCatalogueAPI(t, s)
	coach := signIn(t, base, "coach")
	name, page := createOffering(t, coach, "Hylättävä ryhmä")
	id := name[strings.LastIndex(name, "/")+1:]
	coach.post("/provider/offerings/"+id+"/submit", page, url.Values{"etag": {formEtag(t, page, "/provider/offerings/"+id+"/submit")}})

	olli := signIn(t, base, "olli")
	coachID := demo.Providers["neurocoach"]
	review := olli.get("/operator/offerings/"+coachID+"/"+id, http.StatusOK)
	rejectAt := "/operator/offerings/" + coachID + "/" + id + "/reject"
	if code, _ := olli.postStatus(rejectAt, review, url.Values{"etag": {formEtag(t, review, rejectAt)}, "reason": {"  "}}); code != http.StatusBadRequest {
		t.Errorf("reject without a reason = %d, want 400", code)
	}
	olli.post(rejectAt, review, url.Values{"etag": {formEtag(t, review, rejectAt)}, "reason": {"Kerro ryhmän koko ja kesto."}, "request_id": {"t-rej"}})
	if got := api.get(name); got["state"] != "DRAFT" || got["review_note"] != "Kerro ryhmän koko ja kesto." {
		t.Fatalf("after reject: %v %v", got["state"], got["review_note"])
	}
	if page := coach.get("/provider/offerings/"+id, http.StatusOK); !strings.Contains(page, "data-review-note") || !strings.Contains(page, "Kerro ryhmän koko ja kesto.") {
		t.Error("the provider does not see the reviewer's reason")
	}

	// A price cap set on the region's settings page flags the draft's 45,50 €
	// session, and the region's existing cap (90 €/hour, family) is kept.
	settings := olli.get("/operator/settings?region="+DemoRegion, http.StatusOK)
	caps := regexp.MustCompile(`data-cap="([^"]*)"`).FindAllStringSubmatch(settings, -1)
	if len(caps) < 2 || caps[0][1] != "CATEGORY_FAMILY_AND_PARENTING/PRICE_UNIT_HOUR" {
		t.Fatalf("settings page rows = %v; want the demo cap first, then blank rows", caps)
	}
	olli.post("/operator/settings", settings, url.Values{"region": {DemoRegion}, "days": {"90"},
		"etag":         {formEtag(t, settings, "/operator/settings")},
		"cap_category": {"CATEGORY_FAMILY_AND_PARENTING", "CATEGORY_PEER_SUPPORT", ""},
		"cap_unit":     {"PRICE_UNIT_HOUR", "PRICE_UNIT_SESSION", ""}, "cap_max": {"90,00", "40", ""}})
	st := api.get("regions/" + DemoRegion + "/catalogueSettings")
	if fmt.Sprint(st["price_caps"]) != "[map[category:CATEGORY_FAMILY_AND_PARENTING max_amount_cents:9000 unit:PRICE_UNIT_HOUR] map[category:CATEGORY_PEER_SUPPORT max_amount_cents:4000 unit:PRICE_UNIT_SESSION]]" ||
		st["freshness_period"] != "7776000s" {
		t.Fatalf("settings after saving = %v", st)
	}
	if page := coach.get("/provider/offerings/"+id, http.StatusOK); !strings.Contains(page, "ylittää alueen hintakaton") {
		t.Error("the provider's offering is not flagged above the new cap")
	}
	// The coach's published coaching offering (95 €/hour, family) is above the
	// kept cap: it is on the operator's price-capped list.
	if !regexp.MustCompile(`(?s)id="h-Capped".*data-flagged="providers/` + coachID + `/offerings/`).MatchString(olli.get("/operator", http.StatusOK)) {
		t.Error("the operator's price-capped list does not list the coach's offering")
	}

	// The coach's published coaching offering: a new hourly price goes to review.
	var coaching string
	for _, o := range api.get("providers/" + coachID + "/offerings")["offerings"].([]any) {
		if o.(map[string]any)["state"] == "PUBLISHED" {
			coaching = o.(map[string]any)["name"].(string)
		}
	}
	before := api.get(coaching)
	cat := coach.get("/provider/catalogue", http.StatusOK)
	coach.post("/provider/catalogue/price", cat, url.Values{"name": {coaching}, "option": {"hour"}, "amount": {"99,50"}})
	if got := api.get(coaching); got["state"] != "PENDING_REVIEW" || got["current_price_version"] != before["current_price_version"] {
		t.Fatalf("after a price change: %v, version %v", got["state"], got["current_price_version"])
	}
	queue := olli.get("/operator", http.StatusOK)
	if !regexp.MustCompile(`(?s)data-review="` + regexp.QuoteMeta(coaching) + `".*?julkaistun palvelun muutos`).MatchString(queue) {
		t.Fatal("the price change is not in the queue as a change of a published offering")
	}
	cid := coaching[strings.LastIndex(coaching, "/")+1:]
	review = olli.get("/operator/offerings/"+coachID+"/"+cid, http.StatusOK)
	row := regexp.MustCompile(`(?s)data-option="hour">.*?</tr>`).FindString(review)
	if !strings.Contains(row, "95,00") || !strings.Contains(row, "99,50") {
		t.Fatalf("the review shows no in-force and proposed price side by side: %s", row)
	}
	publishAt := "/operator/offerings/" + coachID + "/" + cid + "/publish"
	olli.post(publishAt, review, url.Values{"etag": {formEtag(t, review, publishAt)}})
	got := api.get(coaching)
	if got["state"] != "PUBLISHED" || got["current_price_version"] == before["current_price_version"] {
		t.Fatalf("after publishing the price change: %v, version %v", got["state"], got["current_price_version"])
	}
	pv := api.get(got["current_price_version"].(string))
	if fmt.Sprint(pv["price_options"]) == "" || !strings.Contains(fmt.Sprint(pv["price_options"]), "amount_cents:9950") {
		t.Errorf("the new price version holds %v, want 99,50 for the hour", pv["price_options"])
	}

	// The operator can also take a published offering out of use.
	review = olli.get("/operator/offerings/"+coachID+"/"+cid, http.StatusOK)
	withdrawAt := "/operator/offerings/" + coachID + "/" + cid + "/withdraw"
	olli.post(withdrawAt, review, url.Values{"etag": {formEtag(t, review, withdrawAt)}, "reason": {"Palveluntuottajan pyynnöstä"}})
	if got := api.get(coaching); got["state"] != "WITHDRAWN" {
		t.Errorf("after the operator's withdrawal: %v", got["state"])
	}
}

// The operator verifies one registration and rejects another with a reason,
// suspends and reinstates, and issues and revokes an API credential whose
// secret is shown once. Nobody else opens the operator's pages, and a
// provider cannot touch another provider's offering.
func TestWebCatalogueOperatorProvidersAndAccess(t *testing.T) {
	s, demo, base := startWebStack(t)
	api := newCatalogueAPI(t, s)
	coach := signIn(t, base, "coach")
	register := func(name string) string {
		form := coach.get("/provider/register", http.StatusOK)
		page := coach.post("/provider/register", form, url.Values{"display_name": {name}, "kind": {"PROVIDER_KIND_VOLUNTEER"},
			"unregistered_group": {"on"}, "service_areas": {"837"}, "languages": {"fi"}, "request_id": {"t-" + name}})
		return regexp.MustCompile(`data-provider="(providers/[^"]+)"`).FindStringSubmatch(page)[1]
	}
	good, bad := register("Lentävät lapaset"), register("Epäselvä ryhmä")

	olli := signIn(t, base, "olli")
	queue := olli.get("/operator", http.StatusOK)
	for _, p := range []string{good, bad} {
		if !strings.Contains(queue, `data-pending-provider="`+p+`"`) {
			t.Fatalf("registration %s is not waiting on the operator's page", p)
		}
	}
	gid, bid := strings.TrimPrefix(good, "providers/"), strings.TrimPrefix(bad, "providers/")
	queue = olli.post("/operator/providers/"+gid+"/verify", queue, url.Values{"etag": {formEtag(t, queue, "/operator/providers/"+gid+"/verify")}, "back": {"/operator"}})
	queue = olli.post("/operator/providers/"+bid+"/reject", queue, url.Values{"reason": {"Yhteystiedot puuttuvat"}, "back": {"/operator"}})
	if g, b := api.get(good), api.get(bad); g["state"] != "ACTIVE" || b["state"] != "REJECTED" || b["state_reason"] != "Yhteystiedot puuttuvat" {
		t.Fatalf("after verify and reject: %v; %v %v", g["state"], b["state"], b["state_reason"])
	}
	if strings.Contains(queue, `data-pending-provider="`+good+`"`) {
		t.Error("a verified provider still waits in the queue")
	}

	// Suspend (a reason is required) and reinstate from the provider's page.
	page := olli.get("/operator/providers/"+gid, http.StatusOK)
	if code, _ := olli.postStatus("/operator/providers/"+gid+"/suspend", page, url.Values{}); code != http.StatusBadRequest {
		t.Errorf("suspend without a reason = %d, want 400", code)
	}
	page = olli.post("/operator/providers/"+gid+"/suspend", page, url.Values{"reason": {"Tarkistetaan toimintaa"}})
	if got := api.get(good); got["state"] != "SUSPENDED" {
		t.Fatalf("after suspend: %v", got["state"])
	}
	page = olli.post("/operator/providers/"+gid+"/verify", page, url.Values{})
	if got := api.get(good); got["state"] != "ACTIVE" || !strings.Contains(page, "Muutoshistoria") || !strings.Contains(page, "SuspendProvider") {
		t.Fatalf("after reinstating: %v; the change log must list the suspension", got["state"])
	}

	// A credential: the secret is on the page once, the list never has it.
	page = olli.post("/operator/providers/"+gid+"/credentials", page, url.Values{"display_name": {"Varausjärjestelmä"}, "request_id": {"t-cred"},
		"expires": {time.Now().AddDate(1, 0, 0).Format("2006-01-02")}})
	secret := regexp.MustCompile(`data-secret>([^<]+)<`).FindStringSubmatch(page)
	cred := regexp.MustCompile(`data-issued="([^"]+)"`).FindStringSubmatch(page)
	if secret == nil || cred == nil || len(secret[1]) < 32 {
		t.Fatalf("no credential secret shown after issuing:\n%s", page)
	}
	again := olli.get("/operator/providers/"+gid, http.StatusOK)
	if strings.Contains(again, secret[1]) || !strings.Contains(again, `data-credential="`+cred[1]+`"`) {
		t.Fatal("the secret must be shown only once, and the credential listed")
	}
	revokeAt := "/operator/providers/" + gid + "/credentials/" + cred[1][strings.LastIndex(cred[1], "/")+1:] + "/revoke"
	olli.post(revokeAt, again, url.Values{"reason": {"Testi"}})
	creds := api.get(good + "/credentials")["provider_credentials"].([]any)
	// Valid to the end of the chosen day in Helsinki (21:59:59 or 20:59:59 UTC).
	expire, _ := creds[0].(map[string]any)["expire_time"].(string)
	if len(creds) != 1 || creds[0].(map[string]any)["state"] != "REVOKED" || !strings.HasSuffix(expire, ":59:59Z") {
		t.Errorf("credentials after revoke = %v", creds)
	}

	// Only the operator opens the operator's pages.
	for _, who := range []string{"aino", "coach", "mikko", "tiina"} {
		signIn(t, base, who).get("/operator", http.StatusForbidden)
	}
	olli.get("/provider/offerings/new", http.StatusForbidden)

	// Another provider's offering: the coach's pages address only the coach's
	// own provider, so the museum's offering id is not found and not changed.
	var museumOff string
	for _, o := range api.get("providers/" + demo.Providers["museum"] + "/offerings")["offerings"].([]any) {
		museumOff = o.(map[string]any)["name"].(string)
	}
	before := api.get(museumOff)
	mid := museumOff[strings.LastIndex(museumOff, "/")+1:]
	coach.get("/provider/offerings/"+mid, http.StatusNotFound)
	form := coach.get("/provider/offerings/new", http.StatusOK)
	for _, path := range []string{"/provider/offerings/" + mid, "/provider/offerings/" + mid + "/withdraw"} {
		if code, _ := coach.postStatus(path, form, newOfferingForm("Kaapattu")); code != http.StatusNotFound {
			t.Errorf("POST %s as the coach = %d, want 404", path, code)
		}
	}
	if code, _ := coach.postStatus("/provider/offerings/..%2F..%2F"+demo.Providers["museum"]+"/withdraw", form, url.Values{}); code != http.StatusBadRequest && code != http.StatusNotFound {
		t.Errorf("a path trick = %d, want 400 or 404", code)
	}
	if after := api.get(museumOff); after["state"] != before["state"] || after["etag"] != before["etag"] {
		t.Errorf("the museum's offering changed: %v -> %v", before["state"], after["state"])
	}
}
