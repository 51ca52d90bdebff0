package dev

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
)

// plansBrowser drives one headless Chromium tab with a deadline per step, so
// a page that never shows what a step waits for fails fast and says where
// the browser was.
type plansBrowser struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func (b *plansBrowser) stuck(name string, err error) {
	b.t.Helper()
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	body, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("main")))
	b.t.Fatalf("%s: %v (at %s: %s)", name, err, loc, body)
}

func (b *plansBrowser) do(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.stuck(name, err)
	}
}

func (b *plansBrowser) text(name, sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.stuck(name, err)
	}
	return v
}

// submit clicks a button on a page that shows no message yet and returns the
// message (status or alert) of the page the form leads to.
func (b *plansBrowser) submit(name, button string, actions ...chromedp.Action[chromedp.Void]) string {
	b.t.Helper()
	b.do(name, append(actions, chromedp.Click(chromedp.CSS(button)), chromedp.WaitVisible(chromedp.CSS(`[role="status"], [role="alert"]`)))...)
	return b.text(name, `[role="status"], [role="alert"]`)
}

// open loads path fresh (without a previous message) and waits for sel.
func (b *plansBrowser) open(path, sel string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// as signs person in from the sign-in page (which replaces the previous
// person's session) and waits for home, a selector only on their home page:
// the sign-in page itself has the previous person's menu.
func (b *plansBrowser) as(person, home string) {
	b.t.Helper()
	b.open("/signin", `button[data-person="`+person+`"]`)
	b.do("sign in "+person, chromedp.Click(chromedp.CSS(`button[data-person="`+person+`"]`)), chromedp.WaitVisible(chromedp.CSS(home)))
}

// The plan work of issue #9 in a real browser: Aino writes and completes a
// needs assessment, edits a new draft's goals and removes a service, and
// proposes it; Mikko returns it with a reason; Aino sees the reason, fixes
// the plan and proposes again; Mikko approves; Aino records Tiina's agreement
// and activates the plan, which answers the new assessment. The assessment form, the draft page with the goals
// form and the manager's page with the return form are screenshotted and
// checked with axe-core.
func TestBrowserPlansAssessReturnAgreeActivate(t *testing.T) {
	exe := chromium(t)
	shots := screenshotDir(t)
	s, demo, base := startWebStack(t)
	ctx, api := plansAPI(t, s)

	bctx := startChrome(t, exe)
	b := &plansBrowser{t: t, ctx: bctx, base: base}
	const workerHome, managerHome = "#h-overdue", "#h-wait"
	b.open("/signin", `button[data-person]`)
	b.do("suomi", chromedp.Click(chromedp.CSS(`button[name="lang"][value="fi"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="fi"]`)))

	// Aino writes a needs assessment with Tiina and completes it.
	b.as("aino", workerHome)
	client := "/worker/clients/" + demo.Tiina
	b.open(client, `a[href$="/assessments/new"]`)
	b.do("new assessment", chromedp.Click(chromedp.CSS(`a[href$="/assessments/new"]`)), chromedp.WaitVisible(chromedp.CSS(`#assess_date`)))
	summary := "Calm mornings first, browser test " + time.Now().Format(time.RFC3339Nano)
	b.do("write assessment",
		chromedp.SendKeys(chromedp.CSS(`#client_words`), "Mornings before school end in tears"),
		chromedp.SendKeys(chromedp.CSS(`#need-desc-0`), "help with morning routines"),
		chromedp.SetValue(chromedp.CSS(`#need-domain-0`), "NEED_DOMAIN_FAMILY_AND_PARENTING"),
		chromedp.SetValue(chromedp.CSS(`#need-priority-0`), "NEED_PRIORITY_HIGH"),
		chromedp.SendKeys(chromedp.CSS(`#strengths`), "a sister who helps"),
		chromedp.SendKeys(chromedp.CSS(`#summary`), summary))
	checkPage(t, bctx, shots, "plans-01-assessment-form")
	if msg := b.submit("complete assessment", `button[name="complete"]`); !strings.Contains(msg, "Arviointi on valmis") {
		t.Fatalf("after completing the assessment the page says %q", msg)
	}
	checkPage(t, bctx, shots, "plans-02-assessment-done")
	list, err := api.ListAssessments(ctx, &assessmentv1.ListAssessmentsRequest{Parent: "clients/" + demo.Tiina})
	if err != nil {
		t.Fatal(err)
	}
	var written *assessmentv1.Assessment
	for _, a := range list.GetAssessments() {
		if a.GetSummary() == summary {
			written = a
		}
	}
	if written == nil || written.GetState() != assessmentv1.Assessment_COMPLETED || len(written.GetNeeds()) != 1 ||
		written.GetNeeds()[0].GetDomain() != assessmentv1.NeedDomain_NEED_DOMAIN_FAMILY_AND_PARENTING {
		t.Fatalf("the assessment written in the browser = %v; want COMPLETED with the family need", written)
	}

	// A new revision: goal 1 reworded, a new goal, the museum card removed.
	b.open(client, `form[action$="/revise"] input[name="reason"]`)
	b.do("start revision",
		chromedp.SendKeys(chromedp.CSS(`form[action$="/revise"] input[name="reason"]`), "Review after the assessment"),
		chromedp.Click(chromedp.CSS(`form[action$="/revise"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#goal-words-0`)))
	loc, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(loc)
	draft := u.Path
	rev := strings.TrimPrefix(draft, "/worker/")
	b.open(draft, `#goal-words-0`)
	msg := b.submit("save goals", `form.goals-form > button`,
		chromedp.Clear(chromedp.CSS(`#goal-words-0`)),
		chromedp.SendKeys(chromedp.CSS(`#goal-words-0`), "Calm evenings and mornings"),
		chromedp.SendKeys(chromedp.CSS(`#goal-words-3`), "A job by autumn"),
		chromedp.Click(chromedp.CSS(`input[name="assessment"][value="`+written.GetName()+`"]`)))
	if !strings.Contains(msg, "Tavoitteet ja toimet tallennettiin") {
		t.Fatalf("after saving goals the page says %q", msg)
	}
	b.open(draft, `#goal-words-0`)
	checkPage(t, bctx, shots, "plans-03-draft-goals")
	r, err := api.GetPlanRevision(ctx, &assessmentv1.GetPlanRevisionRequest{Name: rev})
	if err != nil {
		t.Fatal(err)
	}
	museum := ""
	for _, sv := range r.GetServices() {
		if strings.Contains(sv.GetTitle().GetFi(), "Museo") {
			museum = sv.GetId()
		}
	}
	if museum == "" || r.GetGoals()[0].GetClientWords() != "Calm evenings and mornings" || len(r.GetGoals()) != 4 {
		t.Fatalf("the draft after saving = goals %v, services %v", r.GetGoals(), r.GetServices())
	}
	if msg := b.submit("remove museum card", `li[data-service="`+museum+`"] form[action$="/remove"] button`); !strings.Contains(msg, "Palvelu poistettiin") {
		t.Errorf("after removing the service the page says %q", msg)
	}
	b.open(draft, `form[action$="/propose"] button`)
	if msg := b.submit("propose", `form[action$="/propose"] button`); !strings.Contains(msg, "lähetettiin hyväksyttäväksi") {
		t.Errorf("after proposing the page says %q", msg)
	}

	// Tiina sees the proposed plan waiting for her own agreement (she does
	// not give it here: Aino records it later in this test).
	b.as("tiina", `section[data-agree="`+rev+`"] input[name="confirm"]`)
	checkPage(t, bctx, shots, "plans-04a-client-agree")

	// Mikko returns it with a reason.
	b.as("mikko", managerHome)
	card := `article[data-approval="` + rev + `"]`
	b.open("/manager", card+` form.return-form input[name="reason"]`)
	checkPage(t, bctx, shots, "plans-04-manager-return")
	reason := "Add a goal for the son's school"
	if msg := b.submit("return", card+` form.return-form button`,
		chromedp.SendKeys(chromedp.CSS(card+` form.return-form input[name="reason"]`), reason)); !strings.Contains(msg, "palautettiin korjattavaksi") {
		t.Errorf("after returning the page says %q", msg)
	}

	// Aino sees the reason, adds the goal and proposes again.
	b.as("aino", workerHome)
	b.open(draft, `.return-reason`)
	if got := b.text("return reason", `.return-reason`); got != reason {
		t.Errorf("the draft page shows the return reason %q, want %q", got, reason)
	}
	if msg := b.submit("fix goals", `form.goals-form > button`, chromedp.SendKeys(chromedp.CSS(`#goal-words-4`), "The son goes to school gladly")); !strings.Contains(msg, "tallennettiin") {
		t.Fatalf("after fixing the goals the page says %q", msg)
	}
	b.open(draft, `form[action$="/propose"] button`)
	b.submit("propose again", `form[action$="/propose"] button`)

	// Mikko approves.
	b.as("mikko", managerHome)
	b.open("/manager", card+` input[name="justification"]`)
	if msg := b.submit("approve", card+` form[action="/manager/approve"] button`,
		chromedp.SendKeys(chromedp.CSS(card+` input[name="justification"]`), "The school goal is there")); !strings.Contains(msg, "Hyväksytty") {
		t.Errorf("after approving the page says %q", msg)
	}

	// Aino records Tiina's agreement and activates the plan.
	b.as("aino", workerHome)
	b.open(draft, `form[action$="/agreement"] button`)
	if next := b.text("next step", `.next`); !strings.Contains(next, "Kirjaa asiakkaan suostumus") {
		t.Errorf("the approved revision's next step reads %q", next)
	}
	checkPage(t, bctx, shots, "plans-05-agreement")
	if msg := b.submit("agreement", `form[action$="/agreement"] button`, chromedp.Click(chromedp.CSS(`#method-0`))); !strings.Contains(msg, "suostumus kirjattiin") {
		t.Errorf("after the agreement the page says %q", msg)
	}
	b.open(draft, `form[action$="/activate"] button`)
	if msg := b.submit("activate", `form[action$="/activate"] button`); !strings.Contains(msg, "Suunnitelma on nyt voimassa") {
		t.Errorf("after activating the page says %q", msg)
	}
	r, _ = api.GetPlanRevision(ctx, &assessmentv1.GetPlanRevisionRequest{Name: rev})
	if r.GetState() != assessmentv1.PlanRevision_ACTIVE || len(r.GetGoals()) != 5 || len(r.GetServices()) != 1 || !slices.Contains(r.GetAssessments(), written.GetName()) ||
		r.GetAgreement().GetMethod() != assessmentv1.AgreementMethod_AGREEMENT_METHOD_IN_PERSON {
		t.Errorf("the revision at the end = %v, %d goals, %d services, assessments %v, agreement %v; want ACTIVE, 5, 1, the new assessment, in person",
			r.GetState(), len(r.GetGoals()), len(r.GetServices()), r.GetAssessments(), r.GetAgreement())
	}
}
