package dev

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/type/date"

	"github.com/polku-hb/polku/platform/auth"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
)

// plansAPI is the assessment service over gRPC as Aino, to check what the
// UI's forms did.
func plansAPI(t *testing.T, s *Stack) (context.Context, assessmentv1.AssessmentServiceClient) {
	t.Helper()
	aino := auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion, Unit: "family-services"}
	return callAs(t, s, context.Background(), aino, "test"), assessmentv1.NewAssessmentServiceClient(dialService(t, s, "assessment"))
}

// postStatusText is postStatus with the page's HTML entities decoded, so
// typed text can be compared as typed; for refused input (400) the page is the
// form shown again.
func (b *browser) postStatusText(path, page string, form url.Values) (int, string) {
	b.t.Helper()
	code, body := b.postStatus(path, page, form)
	return code, html.UnescapeString(body)
}

// fieldValue is the value attribute of the hidden input name on page.
func fieldValue(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s on the page", name)
	}
	return html.UnescapeString(m[1])
}

// rawKeyRE is a message key in text (after a tag or a space; the ok= key in
// the language switcher's way-back URL is not shown).
var rawKeyRE = regexp.MustCompile(`[>\s](ok\.)?plans\.[a-z]+[.A-Za-z_]*`)

// noRawKeys fails when a page shows a message key instead of its text (a
// key missing from the catalogue shows itself).
func noRawKeys(t *testing.T, name, page string) {
	t.Helper()
	if k := rawKeyRE.FindString(page); k != "" {
		t.Errorf("%s shows the message key %q", name, k)
	}
}

// ymd is a date as an <input type=date> sends it.
func ymd(d *date.Date) string {
	return fmt.Sprintf("%04d-%02d-%02d", d.GetYear(), d.GetMonth(), d.GetDay())
}

// startRevision starts a new revision of Tiina's plan from the client page
// and returns its name and the draft page.
func startRevision(t *testing.T, aino *browser, tiina string) (string, string) {
	t.Helper()
	client := aino.get("/worker/clients/"+tiina, http.StatusOK)
	m := regexp.MustCompile(`action="(/worker/clients/[^"]+/revise)"`).FindStringSubmatch(client)
	if m == nil {
		t.Fatal("no revise form on the client page")
	}
	draft := aino.post(m[1], client, url.Values{"reason": {"Review with Tiina"}, "request_id": {"t-revise-" + t.Name()}})
	rev := regexp.MustCompile(`action="/worker/(clients/[^"]+/revisions/\d+)/propose"`).FindStringSubmatch(draft)
	if rev == nil {
		t.Fatalf("the draft page has no propose form:\n%s", draft)
	}
	return rev[1], draft
}

// A needs assessment written in the UI is saved as a draft, completed and
// corrected, and the API holds exactly what the worker wrote; refused input
// is shown again with the reason and nothing typed is lost.
func TestWebPlansNeedsAssessment(t *testing.T) {
	s, demo, base := startWebStack(t)
	ctx, api := plansAPI(t, s)
	aino := signIn(t, base, "aino")
	client := aino.get("/worker/clients/"+demo.Tiina, http.StatusOK)
	if !strings.Contains(client, `href="/worker/clients/`+demo.Tiina+`/assessments/new"`) {
		t.Fatal("the client page has no link to start a needs assessment")
	}
	form := aino.get("/worker/clients/"+demo.Tiina+"/assessments/new", http.StatusOK)
	noRawKeys(t, "new assessment form", form)
	content := url.Values{
		"kind": {"REVIEW"}, "assess_date": {"2026-03-05"}, "request_id": {"t-asmt"},
		"client_words":  {"Mornings are hard before school"},
		"need-desc-0":   {"help with morning routines"},
		"need-domain-0": {"NEED_DOMAIN_FAMILY_AND_PARENTING"}, "need-priority-0": {"NEED_PRIORITY_HIGH"},
		"need-desc-1": {""}, "need-domain-1": {""}, "need-priority-1": {"NEED_PRIORITY_UNSPECIFIED"},
		"strengths": {"a sister who helps\n\n  keeps trying  "}, "summary": {"Morning routines first"}, "save": {"1"},
	}

	// A need without its life domain is refused; the form comes back with it.
	bad := url.Values{}
	for k, v := range content {
		bad[k] = v
	}
	bad.Set("need-domain-0", "")
	code, again := aino.postStatusText("/worker/clients/"+demo.Tiina+"/assessments", form, bad)
	if code != http.StatusBadRequest || !strings.Contains(again, "tarve 1: valitse elämänalue") || !strings.Contains(again, "help with morning routines") {
		t.Fatalf("a need without a domain = %d, want 400 with the reason and the typed text:\n%s", code, again)
	}

	draft := aino.post("/worker/clients/"+demo.Tiina+"/assessments", form, content)
	if !strings.Contains(draft, "tallennettiin luonnoksena") {
		t.Fatalf("after create:\n%s", draft)
	}
	name := regexp.MustCompile(`action="/worker/(clients/[^"]+/assessments/[^"/]+)"`).FindStringSubmatch(draft)
	if name == nil {
		t.Fatalf("the draft page has no save form:\n%s", draft)
	}
	got, err := api.GetAssessment(ctx, &assessmentv1.GetAssessmentRequest{Name: name[1]})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetState() != assessmentv1.Assessment_DRAFT || got.GetKind() != assessmentv1.Assessment_REVIEW || len(got.GetNeeds()) != 1 ||
		got.GetNeeds()[0].GetDomain() != assessmentv1.NeedDomain_NEED_DOMAIN_FAMILY_AND_PARENTING ||
		got.GetNeeds()[0].GetPriority() != assessmentv1.NeedPriority_NEED_PRIORITY_HIGH ||
		strings.Join(got.GetStrengths(), "|") != "a sister who helps|keeps trying" || got.GetAssessDate().GetDay() != 5 {
		t.Fatalf("created assessment = %v", got)
	}

	// Save with a second need and complete in one step.
	content.Del("kind")
	content.Del("save")
	content.Set("etag", fieldValue(t, draft, "etag"))
	content.Set("need-id-0", fieldValue(t, draft, "need-id-0"))
	content.Set("need-desc-1", "the benefit decision")
	content.Set("need-domain-1", "NEED_DOMAIN_LIVELIHOOD_AND_BENEFITS")
	content.Set("summary", "Morning routines and the benefit decision")
	content.Set("complete", "1")
	done := aino.post("/worker/"+name[1], draft, content)
	if !strings.Contains(done, "Arviointi on valmis") || !strings.Contains(done, "the benefit decision") {
		t.Fatalf("after complete:\n%s", done)
	}
	noRawKeys(t, "completed assessment", done)
	got, _ = api.GetAssessment(ctx, &assessmentv1.GetAssessmentRequest{Name: name[1]})
	if got.GetState() != assessmentv1.Assessment_COMPLETED || len(got.GetNeeds()) != 2 || got.GetSummary() != "Morning routines and the benefit decision" ||
		got.GetNeeds()[0].GetId() == "" || got.GetNeeds()[0].GetId() == got.GetNeeds()[1].GetId() {
		t.Fatalf("completed assessment = %v", got)
	}

	// A correction needs a reason and a change; it makes version 2 naming
	// only the corrected field.
	corr := aino.get("/worker/"+name[1]+"?correct=1", http.StatusOK)
	fix := url.Values{"etag": {fieldValue(t, corr, "etag")}, "request_id": {"t-correct"}, "assess_date": {"2026-03-05"},
		"client_words": {"Mornings are hard before school"}, "strengths": {"a sister who helps\nkeeps trying"},
		"summary": {"Morning routines and the benefit decision"}}
	for i, n := range got.GetNeeds() {
		k := strconv.Itoa(i)
		fix.Set("need-id-"+k, n.GetId())
		fix.Set("need-desc-"+k, n.GetDescription())
		fix.Set("need-domain-"+k, n.GetDomain().String())
		fix.Set("need-priority-"+k, n.GetPriority().String())
	}
	for _, c := range []struct {
		reason, summary, want string
	}{
		{"", "Corrected summary", "kerro korjauksen syy"},
		{"Typo", "Morning routines and the benefit decision", "korjauksessa ei muuttunut mitään"},
	} {
		fix.Set("reason", c.reason)
		fix.Set("summary", c.summary)
		if code, page := aino.postStatusText("/worker/"+name[1]+"/correct", corr, fix); code != http.StatusBadRequest || !strings.Contains(page, c.want) {
			t.Errorf("correction reason %q summary %q = %d, want 400 saying %q", c.reason, c.summary, code, c.want)
		}
	}
	fix.Set("reason", "The summary missed the school")
	fix.Set("summary", "Morning routines before school and the benefit decision")
	aino.post("/worker/"+name[1]+"/correct", corr, fix)
	got, _ = api.GetAssessment(ctx, &assessmentv1.GetAssessmentRequest{Name: name[1]})
	if got.GetVersion() != 2 || got.GetSummary() != "Morning routines before school and the benefit decision" ||
		len(got.GetCorrections()) != 1 || strings.Join(got.GetCorrections()[0].GetFields(), ",") != "summary" {
		t.Fatalf("corrected assessment = %v", got)
	}
	if page := aino.get("/worker/clients/"+demo.Tiina, http.StatusOK); !strings.Contains(page, `data-assessment="`+name[1]+`"`) {
		t.Error("the client page does not list the new assessment")
	}
}

// Goals, actions and chosen services of a draft are edited on the draft
// page; an empty goal and an unknown service are refused with a reason.
func TestWebPlansDraftEditing(t *testing.T) {
	s, demo, base := startWebStack(t)
	ctx, api := plansAPI(t, s)
	aino := signIn(t, base, "aino")
	a, err := api.CreateAssessment(ctx, &assessmentv1.CreateAssessmentRequest{Parent: "clients/" + demo.Tiina, Assessment: &assessmentv1.Assessment{
		Kind: assessmentv1.Assessment_REVIEW, AssessDate: &date.Date{Year: 2026, Month: 3, Day: 1}, Summary: "Work and school"}})
	if err != nil {
		t.Fatal(err)
	}
	written := a.GetName()
	rev, draft := startRevision(t, aino, demo.Tiina)
	noRawKeys(t, "draft page", draft)
	if !strings.Contains(draft, `name="assessment" value="`+written+`"`) {
		t.Error("the draft page does not offer the client's new assessment to link")
	}
	before, err := api.GetPlanRevision(ctx, &assessmentv1.GetPlanRevisionRequest{Name: rev})
	if err != nil || len(before.GetAssessments()) != 1 || len(before.GetGoals()) != 3 || len(before.GetActions()) != 2 || len(before.GetServices()) != 2 {
		t.Fatalf("the new draft = %v, %v; want the active revision's 3 goals, 2 actions, 2 services", before, err)
	}
	g := before.GetGoals()
	form := url.Values{"etag": {fieldValue(t, draft, "etag")},
		// goal 1 reworded, goal 2 removed, goal 3 kept, a new goal 4.
		"goal-id-0": {g[0].GetId()}, "goal-words-0": {"Calm evenings at home"}, "goal-measure-0": {g[0].GetMeasure()}, "goal-target-0": {"2026-12-31"},
		"goal-id-1": {g[1].GetId()}, "goal-words-1": {g[1].GetClientWords()}, "goal-remove-1": {"1"},
		"goal-id-2": {g[2].GetId()}, "goal-words-2": {g[2].GetClientWords()},
		"goal-id-3": {""}, "goal-words-3": {"A job by autumn"}, "goal-measure-3": {""}, "goal-target-3": {""},
		// action 1 (serving the removed goal 2) done, action 2 removed, a new one.
		"action-id-0": {before.GetActions()[0].GetId()}, "action-desc-0": {"Chase the benefit decision"}, "action-resp-0": {"RESPONSIBLE_PARTY_WORKER"}, "action-done-0": {"1"},
		"action-id-1": {before.GetActions()[1].GetId()}, "action-desc-1": {"x"}, "action-resp-1": {"RESPONSIBLE_PARTY_CLIENT"}, "action-remove-1": {"1"},
		"action-id-2": {""}, "action-desc-2": {"Tiina asks about courses"}, "action-resp-2": {"RESPONSIBLE_PARTY_CLIENT"}, "action-due-2": {"2026-06-01"},
		// a new period and review cadence.
		"start_date": {"2026-01-01"}, "end_date": {"2026-12-31"}, "next_review": {"2026-06-01"}, "cadence": {"3"},
		// the plan answers the seeded assessment and a new one.
		"assessment": {before.GetAssessments()[0], written},
	}
	page := aino.post("/worker/"+rev+"/content", draft, form)
	if !strings.Contains(page, "Tavoitteet ja toimet tallennettiin") {
		t.Fatalf("after saving goals:\n%s", page)
	}
	after, _ := api.GetPlanRevision(ctx, &assessmentv1.GetPlanRevisionRequest{Name: rev})
	var words []string
	for _, x := range after.GetGoals() {
		words = append(words, x.GetClientWords())
	}
	if strings.Join(words, "|") != "Calm evenings at home|Something nice together every month|A job by autumn" ||
		after.GetGoals()[0].GetId() != g[0].GetId() || len(after.GetGoals()[0].GetNeeds()) != 1 || after.GetGoals()[0].GetTargetDate().GetMonth() != 12 {
		t.Errorf("goals after save = %v; want the reworded goal keeping its id and need link, goal 2 gone, a new one", after.GetGoals())
	}
	acts := after.GetActions()
	if len(acts) != 2 || !acts[0].GetDone() || len(acts[0].GetGoalIds()) != 0 || acts[1].GetDescription() != "Tiina asks about courses" ||
		acts[1].GetResponsible() != assessmentv1.ResponsibleParty_RESPONSIBLE_PARTY_CLIENT || acts[1].GetDueDate().GetMonth() != 6 {
		t.Errorf("actions after save = %v", acts)
	}
	if strings.Join(after.GetAssessments(), ",") != before.GetAssessments()[0]+","+written {
		t.Errorf("assessments after save = %v, want the seeded one and %s", after.GetAssessments(), written)
	}
	if ymd(after.GetStartDate()) != "2026-01-01" || ymd(after.GetEndDate()) != "2026-12-31" ||
		ymd(after.GetReviewSchedule().GetNextReviewDate()) != "2026-06-01" || after.GetReviewSchedule().GetCadenceMonths() != 3 {
		t.Errorf("period after save = %v – %v, review %v", after.GetStartDate(), after.GetEndDate(), after.GetReviewSchedule())
	}

	// Refused: an emptied goal, an action without who; the page keeps the text.
	for _, c := range []struct {
		key, value, want string
	}{
		{"goal-words-0", "  ", "tavoite 1: kirjoita tavoite asiakkaan sanoin"},
		{"action-resp-2", "", "toimi 3: kirjoita mitä tehdään"},
		{"end_date", "2029-01-01", "end_date: must be at most 24 months after start_date"},
		{"cadence", "-1", "arviointiväli on 0–24 kuukautta"},
	} {
		bad := url.Values{"etag": {fieldValue(t, page, "etag")}}
		for k, v := range form {
			if k != "etag" {
				bad[k] = v
			}
		}
		bad.Set(c.key, c.value)
		code, again := aino.postStatusText("/worker/"+rev+"/content", page, bad)
		if code != http.StatusBadRequest || !strings.Contains(again, c.want) || !strings.Contains(again, "A job by autumn") {
			t.Errorf("%s=%q: %d, want 400 saying %q with the typed text kept", c.key, c.value, code, c.want)
		}
	}
	if still, _ := api.GetPlanRevision(ctx, &assessmentv1.GetPlanRevisionRequest{Name: rev}); len(still.GetGoals()) != 3 || still.GetGoals()[0].GetClientWords() != "Calm evenings at home" {
		t.Errorf("a refused save changed the goals: %v", still.GetGoals())
	}

	// Services: the coaching's quantity changes, the museum card is removed.
	svc := after.GetServices()
	page = aino.get("/worker/"+rev, http.StatusOK)
	page = aino.post("/worker/"+rev+"/services/"+svc[0].GetId(), page, url.Values{"etag": {fieldValue(t, page, "etag")}, "quantity": {"2"}, "frequency": {"FREQUENCY_PER_MONTH"}})
	if !strings.Contains(page, "Palvelun määrä muutettiin") {
		t.Errorf("after changing the amount:\n%s", page)
	}
	page = aino.post("/worker/"+rev+"/services/"+svc[1].GetId()+"/remove", page, url.Values{"etag": {fieldValue(t, page, "etag")}})
	if !strings.Contains(page, "Palvelu poistettiin") {
		t.Errorf("after removing:\n%s", page)
	}
	final, _ := api.GetPlanRevision(ctx, &assessmentv1.GetPlanRevisionRequest{Name: rev})
	if len(final.GetServices()) != 1 || final.GetServices()[0].GetId() != svc[0].GetId() || final.GetServices()[0].GetQuantity() != 2 ||
		final.GetServices()[0].GetFrequency() != assessmentv1.Frequency_FREQUENCY_PER_MONTH || final.GetYearlyCostCents() >= after.GetYearlyCostCents() {
		t.Errorf("services after change and removal = %v (yearly %d, was %d)", final.GetServices(), final.GetYearlyCostCents(), after.GetYearlyCostCents())
	}
	if code, msg := aino.postStatusText("/worker/"+rev+"/services/no-such/remove", page, url.Values{"etag": {fieldValue(t, page, "etag")}}); code != http.StatusBadRequest ||
		!strings.Contains(msg, "palvelua ei ole tässä suunnitelmassa") {
		t.Errorf("removing an unknown service = %d, want 400 with a reason", code)
	}
}

// The manager returns a proposed plan with a reason; the worker sees the
// reason, fixes the plan and proposes it again; after approval the worker
// records the client's agreement and activates it.
func TestWebPlansReturnAgreeActivate(t *testing.T) {
	s, demo, base := startWebStack(t)
	ctx, api := plansAPI(t, s)
	aino := signIn(t, base, "aino")
	rev, draft := startRevision(t, aino, demo.Tiina)
	aino.post("/worker/"+rev+"/propose", draft, url.Values{"request_id": {"t-propose-1"}})

	mikko := signIn(t, base, "mikko")
	mgr := mikko.get("/manager", http.StatusOK)
	etag := regexp.MustCompile(`(?s)data-approval="` + regexp.QuoteMeta(rev) + `".*?name="etag" value="([^"]*)"`).FindStringSubmatch(mgr)
	noRawKeys(t, "manager page", mgr)
	if etag == nil || !strings.Contains(mgr, `action="/manager/return"`) {
		t.Fatal("the proposed revision has no return form on the manager's page")
	}
	ret := url.Values{"name": {rev}, "etag": {html.UnescapeString(etag[1])}, "request_id": {"t-return"}, "reason": {"  "}}
	if code, page := mikko.postStatusText("/manager/return", mgr, ret); code != http.StatusBadRequest || !strings.Contains(page, "kirjoita, mitä suunnitelmassa pitää muuttaa") {
		t.Errorf("return without a reason = %d, want 400 with a clear message", code)
	}
	ret.Set("reason", "Add a goal for the son's school")
	if page := mikko.post("/manager/return", mgr, ret); !strings.Contains(page, "palautettiin korjattavaksi") || strings.Contains(page, `data-approval="`+rev+`"`) {
		t.Error("after returning, the manager's page says nothing or still lists it")
	}
	got, _ := api.GetPlanRevision(ctx, &assessmentv1.GetPlanRevisionRequest{Name: rev})
	if got.GetState() != assessmentv1.PlanRevision_RETURNED || got.GetReturnReason() != "Add a goal for the son's school" {
		t.Fatalf("after return = %v %q", got.GetState(), got.GetReturnReason())
	}

	// Aino sees the reason on the client page and the draft page, fixes it
	// and proposes again.
	for _, path := range []string{"/worker/clients/" + demo.Tiina, "/worker/" + rev} {
		if page := aino.get(path, http.StatusOK); !strings.Contains(html.UnescapeString(page), "Add a goal for the son's school") || !strings.Contains(page, "Korjaa se palautuksen syyn mukaan") {
			t.Errorf("%s does not show the return reason and the next step", path)
		}
	}
	draft = aino.get("/worker/"+rev, http.StatusOK)
	form := url.Values{"etag": {fieldValue(t, draft, "etag")}}
	for i, g := range got.GetGoals() {
		k := strconv.Itoa(i)
		form.Set("goal-id-"+k, g.GetId())
		form.Set("goal-words-"+k, g.GetClientWords())
	}
	for i, a := range got.GetActions() {
		k := strconv.Itoa(i)
		form.Set("action-id-"+k, a.GetId())
		form.Set("action-desc-"+k, a.GetDescription())
		form.Set("action-resp-"+k, a.GetResponsible().String())
	}
	form.Set("start_date", ymd(got.GetStartDate()))
	form.Set("end_date", ymd(got.GetEndDate()))
	form.Set("next_review", ymd(got.GetReviewSchedule().GetNextReviewDate()))
	form.Set("goal-words-3", "The son goes to school gladly")
	draft = aino.post("/worker/"+rev+"/content", draft, form)
	aino.post("/worker/"+rev+"/propose", draft, url.Values{"request_id": {"t-propose-2"}})
	got, _ = api.GetPlanRevision(ctx, &assessmentv1.GetPlanRevisionRequest{Name: rev})
	if got.GetState() != assessmentv1.PlanRevision_PROPOSED || len(got.GetGoals()) != 4 || len(got.GetActions()) != 2 {
		t.Fatalf("after the fix and propose = %v with %d goals", got.GetState(), len(got.GetGoals()))
	}

	mgr = mikko.get("/manager", http.StatusOK)
	etag = regexp.MustCompile(`(?s)data-approval="` + regexp.QuoteMeta(rev) + `".*?name="etag" value="([^"]*)"`).FindStringSubmatch(mgr)
	mikko.post("/manager/approve", mgr, url.Values{"name": {rev}, "kind": {"plan"}, "justification": {"School goal added"},
		"etag": {html.UnescapeString(etag[1])}, "request_id": {"t-approve"}})

	// Approved: the next step is the agreement; without a method it is refused.
	page := aino.get("/worker/"+rev, http.StatusOK)
	noRawKeys(t, "approved revision", page)
	if !strings.Contains(page, "Kirjaa asiakkaan suostumus") || strings.Contains(page, `/activate"`) {
		t.Fatalf("the approved revision's page does not ask for the agreement first:\n%s", page)
	}
	if code, msg := aino.postStatusText("/worker/"+rev+"/agreement", page, url.Values{"etag": {fieldValue(t, page, "etag")}}); code != http.StatusBadRequest ||
		!strings.Contains(msg, "valitse, miten asiakas suostui") {
		t.Errorf("agreement without a method = %d, want 400", code)
	}
	page = aino.post("/worker/"+rev+"/agreement", page, url.Values{"etag": {fieldValue(t, page, "etag")}, "method": {"AGREEMENT_METHOD_PHONE"},
		"note": {"Wants the coach on Tuesdays"}, "request_id": {"t-agree"}})
	got, _ = api.GetPlanRevision(ctx, &assessmentv1.GetPlanRevisionRequest{Name: rev})
	if got.GetAgreement().GetMethod() != assessmentv1.AgreementMethod_AGREEMENT_METHOD_PHONE || got.GetAgreement().GetNote() != "Wants the coach on Tuesdays" {
		t.Fatalf("agreement = %v", got.GetAgreement())
	}
	if !strings.Contains(page, "Ota suunnitelma käyttöön") {
		t.Fatalf("after the agreement the page offers no activation:\n%s", page)
	}
	client := aino.post("/worker/"+rev+"/activate", page, url.Values{"etag": {fieldValue(t, page, "etag")}, "request_id": {"t-activate"}})
	if !strings.Contains(client, "Suunnitelma on nyt voimassa") || !strings.Contains(client, "The son goes to school gladly") {
		t.Error("after activation the client page does not show the new plan in force")
	}
	got, _ = api.GetPlanRevision(ctx, &assessmentv1.GetPlanRevisionRequest{Name: rev})
	plan, _ := api.GetPlan(ctx, &assessmentv1.GetPlanRequest{Name: demo.Plan})
	if got.GetState() != assessmentv1.PlanRevision_ACTIVE || plan.GetActiveRevision() != rev {
		t.Errorf("after activation: revision %v, plan's active %q; want ACTIVE and %s", got.GetState(), plan.GetActiveRevision(), rev)
	}
}
