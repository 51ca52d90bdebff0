package dev

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
)

// Tiina agrees to her new plan herself on her own page: the revision Aino
// proposed waits there with its goals and services; without the tick the
// agreement is refused with the reason; with it, the assessment service
// records CLIENT_ONLINE by the client with her note, and the plan no longer
// waits. Sanna, her assistant, sees the plan but may not agree for her.
func TestWebClientAgreesToPlanOnline(t *testing.T) {
	s, demo, base := startWebStack(t)
	ctx, api := plansAPI(t, s)
	aino := signIn(t, base, "aino")
	rev, draft := startRevision(t, aino, demo.Tiina)
	aino.post("/worker/"+rev+"/propose", draft, url.Values{"request_id": {"t-propose-agree"}})

	sanna := signIn(t, base, "sanna")
	if page := sanna.get("/me", http.StatusOK); !strings.Contains(page, `data-agree="`+rev+`"`) ||
		strings.Contains(page, "/agree\"") || !strings.Contains(page, "Vain asiakas itse voi hyväksyä") {
		t.Error("the assistant's page should show the waiting plan without an agree form")
	}

	tiina := signIn(t, base, "tiina")
	me := tiina.get("/me", http.StatusOK)
	action := regexp.MustCompile(`action="(/me/plans/[^"]+/agree)"`).FindStringSubmatch(me)
	if !strings.Contains(me, `data-agree="`+rev+`"`) || action == nil {
		t.Fatal("Tiina's page does not offer the proposed plan for her agreement")
	}
	etag := regexp.MustCompile(`(?s)data-agree="` + regexp.QuoteMeta(rev) + `".*?name="etag" value="([^"]*)"`).FindStringSubmatch(me)
	form := url.Values{"etag": {html.UnescapeString(etag[1])}, "request_id": {"t-agree"}, "note": {"Haluan aloittaa syksyllä"}}
	if code, page := tiina.postStatus(action[1], me, form); code != http.StatusBadRequest || !strings.Contains(page, "Rastita ensin") {
		t.Errorf("agreeing without the tick = %d, want 400 with the reason", code)
	}
	if got, _ := api.GetPlanRevision(ctx, &assessmentv1.GetPlanRevisionRequest{Name: rev}); got.GetAgreement() != nil {
		t.Fatal("a refused agreement was recorded")
	}
	code, _ := sanna.postStatus(action[1], sanna.get("/me", http.StatusOK), form)
	if code != http.StatusForbidden {
		t.Errorf("the assistant posting an agreement = %d, want 403", code)
	}

	form.Set("confirm", "yes")
	page := tiina.post(action[1], me, form)
	if !strings.Contains(page, "Hyväksyntäsi on tallennettu") || strings.Contains(page, `data-agree="`+rev+`"`) {
		t.Error("after agreeing, the page says nothing or still asks")
	}
	got, err := api.GetPlanRevision(ctx, &assessmentv1.GetPlanRevisionRequest{Name: rev})
	if err != nil {
		t.Fatal(err)
	}
	a := got.GetAgreement()
	if a.GetMethod() != assessmentv1.AgreementMethod_AGREEMENT_METHOD_CLIENT_ONLINE || !a.GetByClient() || a.GetNote() != "Haluan aloittaa syksyllä" {
		t.Errorf("agreement = %v; want CLIENT_ONLINE by the client with her note", a)
	}
}
