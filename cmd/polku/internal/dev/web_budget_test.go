package dev

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/polku-hb/polku/platform/auth"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
	assessmentsvc "github.com/polku-hb/polku/services/assessment/service"
)

// budgetKit prepares and checks budget tests through the real gRPC APIs
// (loopback): what the UI under test does not do itself (plans approved,
// commitments made) is set up here, and every UI step is checked here.
type budgetKit struct {
	t                  *testing.T
	aino, mikko, coach context.Context
	coachID            string
	coaching, culture  assessmentsvc.DemoService
	cc                 clientsv1.ClientsServiceClient
	ac                 assessmentv1.AssessmentServiceClient
	bc                 budgetv1.BudgetServiceClient
	rc                 referralv1.ReferralServiceClient
	n                  int // clients made, for unique identity codes and request ids
}

func newBudgetKit(t *testing.T, s *Stack, demo Demo) *budgetKit {
	t.Helper()
	as := func(p auth.Principal) context.Context { return callAs(t, s, context.Background(), p, "test") }
	conn := func(name string) *grpc.ClientConn { return dialService(t, s, name) }
	k := &budgetKit{t: t, coachID: demo.Providers["neurocoach"],
		aino:  as(auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion, Unit: "family-services"}),
		mikko: as(auth.Principal{Subject: Mikko, Role: auth.RoleManager, Region: DemoRegion, Unit: "family-services"}),
		cc:    clientsv1.NewClientsServiceClient(conn("clients")),
		ac:    assessmentv1.NewAssessmentServiceClient(conn("assessment")),
		bc:    budgetv1.NewBudgetServiceClient(conn("budget")),
		rc:    referralv1.NewReferralServiceClient(conn("referral")),
	}
	k.coach = as(auth.Principal{Subject: CoachStaff, Role: auth.RoleProvider, ProviderID: k.coachID})
	cat := cataloguev1.NewCatalogueServiceClient(conn("catalogue"))
	var err error
	if k.coaching, err = demoOffering(k.aino, cat, k.coachID, "hour"); err != nil {
		t.Fatal(err)
	}
	if k.culture, err = demoOffering(k.aino, cat, demo.Providers["museum"], "card"); err != nil {
		t.Fatal(err)
	}
	return k
}

// client makes a new client of Aino's in the cohort; returns the client id.
func (k *budgetKit) client(cohort clientsv1.Cohort) string {
	k.t.Helper()
	k.n++
	c, err := k.cc.CreateClient(k.mikko, &clientsv1.CreateClientRequest{CoordinatingWorker: Aino, RequestId: fmt.Sprintf("t-budget-client-%d", k.n),
		Client: &clientsv1.Client{GivenName: "Testi", FamilyName: fmt.Sprintf("Asiakas%d", k.n), PersonalIdentityCode: testIdentityCode(700 + k.n),
			PreferredLanguages: []string{"fi"}, ContactPreference: clientsv1.ContactPreference_CONTACT_PREFERENCE_VIA_WORKER,
			TargetGroup: clientsv1.TargetGroup_TARGET_GROUP_FAMILY_ADULT, Cohort: cohort}})
	if err != nil {
		k.t.Fatalf("CreateClient: %v", err)
	}
	return strings.TrimPrefix(c.GetName(), "clients/")
}

func gday(offset int) *date.Date {
	t := time.Now().UTC().AddDate(0, 0, offset)
	return &date.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
}

// approvedPlan gives the client a plan whose first revision is APPROVED:
// coaching hours once, and a museum card when withCard.
func (k *budgetKit) approvedPlan(clientID string, hours int32, withCard bool) string {
	k.t.Helper()
	p, err := k.ac.CreatePlan(k.aino, &assessmentv1.CreatePlanRequest{Parent: "clients/" + clientID, RequestId: "t-plan-" + clientID,
		Plan: &assessmentv1.Plan{DisplayName: "Testisuunnitelma"}})
	if err != nil {
		k.t.Fatalf("CreatePlan: %v", err)
	}
	return k.fillAndApprove(p.GetLatestRevision(), hours, withCard)
}

// newerRevision activates the plan's approved revision (a plan has one open
// revision at a time), then starts, fills and approves the next one.
func (k *budgetKit) newerRevision(plan, approved string, hours int32) string {
	k.t.Helper()
	if _, err := k.ac.RecordPlanAgreement(k.aino, &assessmentv1.RecordPlanAgreementRequest{Name: approved, Method: assessmentv1.AgreementMethod_AGREEMENT_METHOD_IN_PERSON}); err != nil {
		k.t.Fatalf("RecordPlanAgreement: %v", err)
	}
	if _, err := k.ac.ActivatePlanRevision(k.aino, &assessmentv1.ActivatePlanRevisionRequest{Name: approved}); err != nil {
		k.t.Fatalf("ActivatePlanRevision: %v", err)
	}
	rev, err := k.ac.RevisePlan(k.aino, &assessmentv1.RevisePlanRequest{Name: plan, Reason: "more coaching", RequestId: "t-revise-" + lastPart(plan)})
	if err != nil {
		k.t.Fatalf("RevisePlan: %v", err)
	}
	return k.fillAndApprove(rev.GetName(), hours, true)
}

func (k *budgetKit) fillAndApprove(name string, hours int32, withCard bool) string {
	k.t.Helper()
	rev, err := k.ac.GetPlanRevision(k.aino, &assessmentv1.GetPlanRevisionRequest{Name: name})
	if err != nil {
		k.t.Fatal(err)
	}
	pinned := func(s assessmentsvc.DemoService, qty int32) *assessmentv1.ChosenService {
		return &assessmentv1.ChosenService{Pricing: &assessmentv1.ChosenService_PinnedPrice_{PinnedPrice: &assessmentv1.ChosenService_PinnedPrice{
			Offering: s.Offering, PriceOptionId: s.PriceOptionID}}, Quantity: qty, Frequency: assessmentv1.Frequency_FREQUENCY_ONCE}
	}
	services := []*assessmentv1.ChosenService{pinned(k.coaching, hours)}
	if withCard {
		services = append(services, pinned(k.culture, 1))
	}
	if _, err := k.ac.UpdatePlanRevision(k.aino, &assessmentv1.UpdatePlanRevisionRequest{
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"goals", "services", "wants_personal_budget", "review_schedule", "start_date", "end_date"}},
		PlanRevision: &assessmentv1.PlanRevision{Name: name, Etag: rev.GetEtag(), WantsPersonalBudget: true,
			Goals:          []*assessmentv1.Goal{{Id: "g1", ClientWords: "Arki sujuu"}},
			Services:       services,
			ReviewSchedule: &assessmentv1.ReviewSchedule{NextReviewDate: gday(90), CadenceMonths: 3},
			StartDate:      gday(-30), EndDate: gday(334)}}); err != nil {
		k.t.Fatalf("UpdatePlanRevision: %v", err)
	}
	if _, err := k.ac.ProposePlanRevision(k.aino, &assessmentv1.ProposePlanRevisionRequest{Name: name}); err != nil {
		k.t.Fatalf("ProposePlanRevision: %v", err)
	}
	if _, err := k.ac.ApprovePlanRevision(k.mikko, &assessmentv1.ApprovePlanRevisionRequest{Name: name, Justification: "test plan"}); err != nil {
		k.t.Fatalf("ApprovePlanRevision: %v", err)
	}
	return name
}

// activeBudget draws, approves and activates a budget from rev over gRPC.
func (k *budgetKit) activeBudget(clientID, rev string) *budgetv1.Budget {
	k.t.Helper()
	b, err := k.bc.CreateBudget(k.aino, &budgetv1.CreateBudgetRequest{Parent: "clients/" + clientID,
		Budget: &budgetv1.Budget{PlanRevision: rev, ManagementMode: budgetv1.ManagementMode_MANAGEMENT_MODE_REGION_PAYS}})
	if err != nil {
		k.t.Fatalf("CreateBudget: %v", err)
	}
	if _, err := k.bc.ApproveBudget(k.mikko, &budgetv1.ApproveBudgetRequest{Name: b.GetName(), Justification: "test budget"}); err != nil {
		k.t.Fatalf("ApproveBudget: %v", err)
	}
	if b, err = k.bc.ActivateBudget(k.aino, &budgetv1.ActivateBudgetRequest{Name: b.GetName()}); err != nil {
		k.t.Fatalf("ActivateBudget: %v", err)
	}
	return b
}

// commitToCoach reserves cents on the budget's coaching line for a referral
// to the coach, as the referral service does when a referral is sent.
func (k *budgetKit) commitToCoach(b *budgetv1.Budget, referral string, cents int64) {
	k.t.Helper()
	if _, err := k.bc.CommitFunds(k.aino, &budgetv1.CommitFundsRequest{Name: b.GetName(), LineId: b.GetLines()[0].GetId(), AmountCents: cents,
		RequestId: "t-commit-" + lastPart(referral), Reference: &budgetv1.LedgerReference{Referral: referral, Provider: "providers/" + k.coachID}}); err != nil {
		k.t.Fatalf("CommitFunds: %v", err)
	}
}

// referToCoach sends a referral to the coach committing cents on the
// budget's coaching line (the referral service makes the commitment), and
// the coach accepts it: what precedes an invoice in real life.
func (k *budgetKit) referToCoach(b *budgetv1.Budget, cents int64) string {
	k.t.Helper()
	r, err := k.rc.CreateReferral(k.aino, &referralv1.CreateReferralRequest{RequestId: "t-ref-" + lastPart(b.GetName()), Referral: &referralv1.Referral{
		Client: b.GetName()[:strings.Index(b.GetName(), "/budgets/")], SendingUnit: "Perhepalvelut", RecipientOffering: k.coaching.Offering,
		Urgency: referralv1.Urgency_URGENCY_ROUTINE, SendingResponsible: &referralv1.ResponsiblePerson{Subject: Aino, DisplayName: "Aino"},
		Commitment: &referralv1.BudgetCommitment{Budget: b.GetName(), LineId: b.GetLines()[0].GetId(), AmountCents: cents}}})
	if err != nil {
		k.t.Fatalf("CreateReferral: %v", err)
	}
	if _, err := k.rc.SendReferral(k.aino, &referralv1.SendReferralRequest{Name: r.GetName(), AcknowledgeNoCapacity: true}); err != nil {
		k.t.Fatalf("SendReferral: %v", err)
	}
	if _, err := k.rc.AcceptReferral(k.coach, &referralv1.AcceptReferralRequest{Name: r.GetName(),
		ReceivingResponsible: &referralv1.ResponsiblePerson{Subject: CoachStaff, DisplayName: "Maria Valmentaja"}}); err != nil {
		k.t.Fatalf("AcceptReferral: %v", err)
	}
	return r.GetName()
}

func (k *budgetKit) budgets(clientID string) []*budgetv1.Budget {
	k.t.Helper()
	l, err := k.bc.ListBudgets(k.aino, &budgetv1.ListBudgetsRequest{Parent: "clients/" + clientID})
	if err != nil {
		k.t.Fatalf("ListBudgets: %v", err)
	}
	return l.GetBudgets()
}

func (k *budgetKit) budget(name string) *budgetv1.Budget {
	k.t.Helper()
	b, err := k.bc.GetBudget(k.aino, &budgetv1.GetBudgetRequest{Name: name})
	if err != nil {
		k.t.Fatalf("GetBudget: %v", err)
	}
	return b
}

func lastPart(name string) string { return name[strings.LastIndex(name, "/")+1:] }

// upload posts a multipart form with one file, as a browser's file input does.
func (b *browser) upload(path, page, field, filename string, content []byte, form url.Values) (int, string) {
	b.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	form.Set("csrf", csrfRE.FindStringSubmatch(page)[1])
	for k, vs := range form {
		for _, v := range vs {
			_ = w.WriteField(k, v)
		}
	}
	fw, err := w.CreateFormFile(field, filename)
	if err != nil {
		b.t.Fatal(err)
	}
	_, _ = fw.Write(content)
	_ = w.Close()
	resp, err := b.c.Post(b.base+path, w.FormDataContentType(), &buf)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// formValue is the value of the named hidden field inside the element
// carrying attr="key" on page.
func formValue(t *testing.T, page, attr, key, field string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)` + attr + `="` + regexp.QuoteMeta(key) + `".*?name="` + field + `" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s field near %s=%q", field, attr, key)
	}
	return html.UnescapeString(m[1])
}

// The worker's whole budget lifecycle in the UI: a DRAFT drawn from the
// approved plan with the plan's lines, edited, approved by the manager on
// the approval list, activated (allocations = the plan's costs), money moved
// between lines, a revision drawn from a newer plan revision and abandoned.
// Each step is checked in the budget service, and bad input is refused.
func TestWebBudgetLifecycle(t *testing.T) {
	s, demo, base := startWebStack(t)
	k := newBudgetKit(t, s, demo)
	id := k.client(clientsv1.Cohort_COHORT_PERSONAL_BUDGET)
	rev := k.approvedPlan(id, 10, true)
	planRev, err := k.ac.GetPlanRevision(k.aino, &assessmentv1.GetPlanRevisionRequest{Name: rev})
	if err != nil {
		t.Fatal(err)
	}

	aino := signIn(t, base, "aino")
	client := aino.get("/worker/clients/"+id, http.StatusOK)
	if !strings.Contains(client, `name="plan_revision" value="`+rev+`"`) {
		t.Fatalf("the client page offers no budget from the approved revision %s", rev)
	}
	create := func(mode string) (int, string) {
		return aino.postStatus("/worker/clients/"+id+"/budgets", client, url.Values{"plan_revision": {rev}, "display_name": {"Kevään budjetti"},
			"management_mode": {mode}, "start_date": {""}, "end_date": {""}, "request_id": {"t-create-" + mode}})
	}
	if code, _ := create("MANAGEMENT_MODE_NONSENSE"); code != http.StatusBadRequest {
		t.Errorf("an unknown management mode = %d, want 400", code)
	}
	if n := len(k.budgets(id)); n != 0 {
		t.Fatalf("a refused create left %d budgets", n)
	}
	code, draft := create("MANAGEMENT_MODE_CLIENT_MANAGED")
	if code != http.StatusOK || !strings.Contains(draft, "Budjetti luotiin luonnoksena") || !strings.Contains(draft, `data-state="DRAFT"`) {
		t.Fatalf("after create = %d:\n%s", code, draft)
	}
	bs := k.budgets(id)
	if len(bs) != 1 {
		t.Fatalf("budgets after create = %d, want 1", len(bs))
	}
	b := bs[0]
	if b.GetState() != budgetv1.Budget_DRAFT || b.GetDisplayName() != "Kevään budjetti" || b.GetManagementMode() != budgetv1.ManagementMode_MANAGEMENT_MODE_CLIENT_MANAGED ||
		b.GetPlanRevision() != rev || b.GetStartDate().GetDay() != planRev.GetStartDate().GetDay() || len(b.GetLines()) != len(planRev.GetServices()) {
		t.Fatalf("created budget = %v", b)
	}
	for i, l := range b.GetLines() {
		s := planRev.GetServices()[i]
		if l.GetId() != s.GetId() || l.GetPlannedCents() != s.GetCostCents() || !strings.Contains(draft, `data-line="`+l.GetId()+`"`) {
			t.Errorf("line %d = %s %d, want the plan's %s %d on the page", i, l.GetId(), l.GetPlannedCents(), s.GetId(), s.GetCostCents())
		}
	}
	if !strings.Contains(aino.get("/worker/clients/"+id, http.StatusOK), `data-budget-link="`+b.GetName()+`"`) {
		t.Error("the client page does not link the draft budget")
	}

	// Edit while DRAFT; a missing period is refused before the edge.
	page := "/worker/" + b.GetName()
	edit := url.Values{"display_name": {"Budjetti 2026"}, "management_mode": {"MANAGEMENT_MODE_REGION_PAYS"},
		"start_date": {"2026-01-01"}, "end_date": {"2026-12-31"}, "etag": {b.GetEtag()}}
	if code, _ := aino.postStatus(page, draft, url.Values{"display_name": {"x"}, "management_mode": {"MANAGEMENT_MODE_REGION_PAYS"}, "etag": {b.GetEtag()}}); code != http.StatusBadRequest {
		t.Errorf("edit without a period = %d, want 400", code)
	}
	edited := aino.post(page, draft, edit)
	b = k.budget(b.GetName())
	if !strings.Contains(edited, "tallennettiin") || b.GetDisplayName() != "Budjetti 2026" || b.GetManagementMode() != budgetv1.ManagementMode_MANAGEMENT_MODE_REGION_PAYS ||
		b.GetEndDate().GetMonth() != 12 || b.GetEndDate().GetDay() != 31 {
		t.Fatalf("after edit: %v", b)
	}

	// The manager approves it from the approval list.
	mikko := signIn(t, base, "mikko")
	mgr := mikko.get("/manager", http.StatusOK)
	if !strings.Contains(mgr, `data-approval="`+b.GetName()+`"`) {
		t.Fatal("the draft budget is not on the manager's approval list")
	}
	mikko.post("/manager/approve", mgr, url.Values{"name": {b.GetName()}, "kind": {"budget"}, "justification": {"Agreed in the team"},
		"etag": {formValue(t, mgr, "data-approval", b.GetName(), "etag")}, "request_id": {"t-approve-budget"}})
	if got := k.budget(b.GetName()).GetState(); got != budgetv1.Budget_APPROVED {
		t.Fatalf("after the manager's approval: %v", got)
	}

	// The worker activates it: each line gets its planned money.
	approved := aino.get(page, http.StatusOK)
	if !strings.Contains(approved, `action="/worker/`+b.GetName()+`/activate"`) {
		t.Fatal("an approved budget has no activate form")
	}
	active := aino.post(page+"/activate", approved, url.Values{"etag": {formValue(t, approved, "action", "/worker/"+b.GetName()+"/activate", "etag")}, "request_id": {"t-activate"}})
	b = k.budget(b.GetName())
	if b.GetState() != budgetv1.Budget_ACTIVE || !strings.Contains(active, "otettiin käyttöön") {
		t.Fatalf("after activate: %v", b.GetState())
	}
	for _, l := range b.GetLines() {
		if l.GetAllocatedCents() != l.GetPlannedCents() {
			t.Errorf("line %s allocated %d, want planned %d", l.GetId(), l.GetAllocatedCents(), l.GetPlannedCents())
		}
	}

	// Money moves between lines with a reason; bad moves are refused.
	from, to := b.GetLines()[0], b.GetLines()[1]
	for _, bad := range []url.Values{
		{"from_line_id": {from.GetId()}, "to_line_id": {from.GetId()}, "amount": {"10"}, "reason": {"x"}},
		{"from_line_id": {from.GetId()}, "to_line_id": {to.GetId()}, "amount": {"kymmenen"}, "reason": {"x"}},
		{"from_line_id": {from.GetId()}, "to_line_id": {to.GetId()}, "amount": {"10"}, "reason": {" "}},
	} {
		bad.Set("request_id", "t-bad-realloc")
		if code, _ := aino.postStatus(page+"/reallocate", active, bad); code != http.StatusBadRequest {
			t.Errorf("reallocate %v = %d, want 400", bad, code)
		}
	}
	// Refusals by the edge are shown on the budget page: more than the line
	// has, and more than a worker may move (the manager's to do).
	alertRE := regexp.MustCompile(`role="alert" class="error">([^<]*)<`)
	for _, tc := range []struct {
		from, to *budgetv1.BudgetLine
		euros    string
		code     int
		says     string
	}{
		{to, from, strconv.FormatInt(to.GetAvailableCents()/100+1, 10), http.StatusBadRequest, "Pyyntöä ei hyväksytty"},
		{from, to, strconv.FormatInt(from.GetAllocatedCents()/100-1, 10), http.StatusForbidden, "esihenkilön pitää tehdä tämä"},
	} {
		code, got := aino.postStatus(page+"/reallocate", active, url.Values{"from_line_id": {tc.from.GetId()}, "to_line_id": {tc.to.GetId()}, "amount": {tc.euros},
			"reason": {"too much"}, "request_id": {"t-realloc-" + tc.euros}})
		if alert := alertRE.FindStringSubmatch(got); code != tc.code || alert == nil || !strings.Contains(alert[1], tc.says) {
			t.Errorf("reallocating %s € = %d, alert %v; want %d saying %q", tc.euros, code, alert, tc.code, tc.says)
		}
	}
	if k.budget(b.GetName()).GetLines()[0].GetAllocatedCents() != from.GetAllocatedCents() {
		t.Fatal("a refused reallocation moved money")
	}
	moved := aino.post(page+"/reallocate", active, url.Values{"from_line_id": {from.GetId()}, "to_line_id": {to.GetId()}, "amount": {"10,50"},
		"reason": {"Two museum visits"}, "request_id": {"t-realloc"}})
	b = k.budget(b.GetName())
	if !strings.Contains(moved, "Rahaa siirrettiin") || b.GetLines()[0].GetAllocatedCents() != from.GetAllocatedCents()-1050 ||
		b.GetLines()[1].GetAllocatedCents() != to.GetAllocatedCents()+1050 {
		t.Errorf("after moving 10,50 €: %d, %d", b.GetLines()[0].GetAllocatedCents(), b.GetLines()[1].GetAllocatedCents())
	}

	// A newer approved plan revision: the page offers a revision of the budget.
	plan := rev[:strings.LastIndex(rev, "/revisions/")]
	newer := k.newerRevision(plan, rev, 12)
	activePage := aino.get(page, http.StatusOK)
	if !strings.Contains(activePage, `name="plan_revision" value="`+newer+`"`) {
		t.Fatalf("the budget page does not offer a revision from %s", newer)
	}
	revised := aino.post(page+"/revise", activePage, url.Values{"plan_revision": {newer}, "request_id": {"t-revise-budget"}})
	succ := k.budget(b.GetName()).GetNextBudget()
	nb := k.budget(succ)
	if !strings.Contains(revised, "uusi versio") || nb.GetState() != budgetv1.Budget_DRAFT || nb.GetPreviousBudget() != b.GetName() || nb.GetPlanRevision() != newer {
		t.Fatalf("after revise: %v", nb)
	}

	// Closing needs a reason and the confirmation; the abandoned draft is CLOSED.
	if code, got := aino.postStatus("/worker/"+succ+"/close", revised, url.Values{"reason": {"Not needed"}, "request_id": {"t-close"}}); code != http.StatusBadRequest ||
		!strings.Contains(got, `data-budget="`+succ+`"`) || !strings.Contains(got, "vahvista sulkeminen") {
		t.Errorf("close without confirmation = %d; want 400 on the budget page with the reason", code)
	}
	if got := k.budget(succ).GetState(); got != budgetv1.Budget_DRAFT {
		t.Fatalf("an unconfirmed close changed the budget to %v", got)
	}
	closed := aino.post("/worker/"+succ+"/close", revised, url.Values{"reason": {"Not needed"}, "confirm": {"on"}, "request_id": {"t-close"}})
	if got := k.budget(succ).GetState(); got != budgetv1.Budget_CLOSED || !strings.Contains(closed, "Budjetti suljettiin") {
		t.Errorf("after close: %v", got)
	}
}

// The provider invoices in the UI: an accepted claim moves the line's spent
// amount up by exactly the claim; a duplicate invoice number, an amount over
// the commitment and a bad price are refused with their reason shown and
// the form kept; a CSV file of two rows is applied row by row.
func TestWebBudgetProviderClaims(t *testing.T) {
	s, demo, base := startWebStack(t)
	k := newBudgetKit(t, s, demo)
	id := k.client(clientsv1.Cohort_COHORT_PERSONAL_BUDGET)
	b := k.activeBudget(id, k.approvedPlan(id, 10, false))
	line := b.GetLines()[0]
	price := line.GetUnitAmountCents()
	referral := k.referToCoach(b, 5*price)
	spent := func() int64 { return k.budget(b.GetName()).GetLines()[0].GetSpentCents() }

	coach := signIn(t, base, "coach")
	page := coach.get("/provider/claims", http.StatusOK)
	if !strings.Contains(page, `href="/provider/claims"`) || !strings.Contains(page, `value="`+referral+`"`) {
		t.Fatalf("the claims page lacks the navigation link or the commitment of %s", referral)
	}
	// The inbox links a referral in progress to its commitment on this page.
	anchor := "c-" + lastPart(referral)
	if inbox := coach.get("/provider", http.StatusOK); !strings.Contains(inbox, `href="/provider/claims#`+anchor+`"`) || !strings.Contains(page, `id="`+anchor+`"`) {
		t.Errorf("the inbox does not link the accepted referral to its commitment %s on the claims page", anchor)
	}
	euros := strconv.FormatInt(price/100, 10) + "," + fmt.Sprintf("%02d", price%100)
	claim := func(invoice, qty, unitPrice string) url.Values {
		return url.Values{"referral": {referral}, "unit": {line.GetUnit().String()}, "invoice_number": {invoice},
			"delivery_date": {time.Now().Format("2006-01-02")}, "quantity": {qty}, "unit_price": {unitPrice}, "request_id": {"t-claim-" + invoice + qty}}
	}
	sent := coach.post("/provider/claims", page, claim("INV-1", "2", euros))
	if got := spent(); got != 2*price || !strings.Contains(sent, "Lasku hyväksyttiin") || !strings.Contains(sent, ">INV-1<") {
		t.Fatalf("after claiming 2 × %d: spent %d, page lists it: %v", price, got, strings.Contains(sent, ">INV-1<"))
	}

	for _, tc := range []struct {
		name, invoice, qty, price string
		status                    int
		says                      string
	}{
		{"duplicate invoice number", "INV-1", "1", euros, http.StatusConflict, "Tällä numerolla on jo lähetetty lasku"},
		{"over the commitment", "INV-2", "100", euros, http.StatusBadRequest, "Summa on suurempi kuin varauksesta on jäljellä"},
		{"price above the agreed one", "INV-3", "1", "9999", http.StatusBadRequest, "Yksikköhinta on suurempi kuin sovittu hinta"},
		{"price not euros", "INV-4", "1", "paljon", http.StatusBadRequest, "anna yksikköhinta euroina"},
		{"no quantity", "INV-5", "0", euros, http.StatusBadRequest, "määrän pitää olla kokonaisluku"},
	} {
		code, got := coach.postStatus("/provider/claims", sent, claim(tc.invoice, tc.qty, tc.price))
		alert := regexp.MustCompile(`(?s)role="alert"[^>]*>(.*?)</p>`).FindStringSubmatch(got)
		if code != tc.status || alert == nil || !strings.Contains(alert[1], tc.says) {
			t.Errorf("%s: %d, alert %q; want %d saying %q", tc.name, code, alert, tc.status, tc.says)
		}
		if !strings.Contains(got, `value="`+tc.invoice+`"`) {
			t.Errorf("%s: the typed invoice number is lost", tc.name)
		}
	}
	if got := spent(); got != 2*price {
		t.Fatalf("refused claims changed spent to %d", got)
	}

	// Two rows in one file: both accepted, spent up by both; the file again
	// is refused row by row as duplicates, with the reason on each row.
	csv := fmt.Sprintf("referral,delivery_date,unit,quantity,unit_price_cents,invoice_number\n%s,%s,%s,1,%d,CSV-1\n%s,%s,%s,1,%d,CSV-2\n",
		referral, time.Now().Format("2006-01-02"), strings.TrimPrefix(line.GetUnit().String(), "PRICE_UNIT_"), price,
		lastPart(referral), time.Now().Format("2006-01-02"), strings.TrimPrefix(line.GetUnit().String(), "PRICE_UNIT_"), price)
	code, res := coach.upload("/provider/claims/upload", sent, "csv", "claims.csv", []byte(csv), url.Values{"request_id": {"t-upload-1"}})
	if code != http.StatusOK || !strings.Contains(res, "Hyväksyttyjä 2, hylättyjä 0") || spent() != 4*price {
		t.Fatalf("upload of two rows = %d, spent %d (want %d):\n%s", code, spent(), 4*price, res)
	}
	code, res = coach.upload("/provider/claims/upload", res, "csv", "claims.csv", []byte(csv), url.Values{"request_id": {"t-upload-2"}})
	row := regexp.MustCompile(`(?s)<tr data-row="2">(.*?)</tr>`).FindStringSubmatch(res)
	if code != http.StatusOK || !strings.Contains(res, "Hyväksyttyjä 0, hylättyjä 2") || row == nil || !strings.Contains(row[1], "Tällä numerolla on jo") || spent() != 4*price {
		t.Errorf("the same file again = %d, row 2 %q, spent %d", code, row, spent())
	}
	// A file that is not the claims CSV is refused whole, nothing applied.
	if code, res := coach.upload("/provider/claims/upload", res, "csv", "x.csv", []byte("hello\n"), url.Values{"request_id": {"t-upload-3"}}); code != http.StatusBadRequest || !strings.Contains(res, `role="alert"`) {
		t.Errorf("a bad file = %d", code)
	}
	// A file over the UI's limit (the gateway's 1 MiB once base64-encoded) is
	// refused with the limit in words before anything is sent.
	if code, res := coach.upload("/provider/claims/upload", res, "csv", "big.csv", bytes.Repeat([]byte("x"), 720<<10), url.Values{"request_id": {"t-upload-4"}}); code != http.StatusRequestEntityTooLarge || !strings.Contains(res, "Tiedosto on liian suuri") {
		t.Errorf("a too large file = %d", code)
	}
	if got := spent(); got != 4*price {
		t.Errorf("refused uploads changed spent to %d", got)
	}
	// Another role is refused the page.
	signIn(t, base, "aino").get("/provider/claims", http.StatusForbidden)
}

// seedCohorts adds clients until both cohorts pass the report's minimum
// group size: four personal-budget clients with capacity measurements
// (baseline and interim; with Tiina's that is five, so that figure shows),
// three comparison clients without (their capacity figure stays
// suppressed), and budgets with this year's spending for some of each, so
// the two means differ.
func (k *budgetKit) seedCohorts() {
	k.t.Helper()
	scores := func(v int32) []*assessmentv1.DomainScore {
		var out []*assessmentv1.DomainScore
		for _, d := range assessmentsvc.DemoInstrument().GetDomains() {
			out = append(out, &assessmentv1.DomainScore{DomainId: d.GetId(), Score: v})
		}
		return out
	}
	for i, c := range []struct {
		cohort   clientsv1.Cohort
		spend    int64 // euros spent this year; 0: no budget
		measured bool
	}{
		{clientsv1.Cohort_COHORT_PERSONAL_BUDGET, 300, true},
		{clientsv1.Cohort_COHORT_PERSONAL_BUDGET, 500, true},
		{clientsv1.Cohort_COHORT_PERSONAL_BUDGET, 250, true},
		{clientsv1.Cohort_COHORT_PERSONAL_BUDGET, 0, true},
		{clientsv1.Cohort_COHORT_COMPARISON, 100, false},
		{clientsv1.Cohort_COHORT_COMPARISON, 0, false},
		{clientsv1.Cohort_COHORT_COMPARISON, 0, false},
	} {
		id := k.client(c.cohort)
		if c.measured {
			for j, m := range []struct {
				phase assessmentv1.MeasurementPhase
				at    int
				score int32
			}{{assessmentv1.MeasurementPhase_MEASUREMENT_PHASE_BASELINE, -20, 4}, {assessmentv1.MeasurementPhase_MEASUREMENT_PHASE_INTERIM, -2, int32(5 + i%3)}} {
				if _, err := k.ac.CreateCapacityMeasurement(k.aino, &assessmentv1.CreateCapacityMeasurementRequest{Parent: "clients/" + id,
					RequestId: fmt.Sprintf("t-cohort-meas-%s-%d", id, j), CapacityMeasurement: &assessmentv1.CapacityMeasurement{
						Instrument: "instruments/" + assessmentsvc.DemoInstrumentID, Phase: m.phase, Scores: scores(m.score), MeasureDate: gday(m.at)}}); err != nil {
					k.t.Fatalf("CreateCapacityMeasurement: %v", err)
				}
			}
		}
		if c.spend == 0 {
			continue
		}
		b := k.activeBudget(id, k.approvedPlan(id, 10, false))
		if _, err := k.bc.SpendFunds(k.aino, &budgetv1.SpendFundsRequest{Name: b.GetName(), LineId: b.GetLines()[0].GetId(), AmountCents: c.spend * 100,
			DeliveryDate: gday(0), RequestId: "t-cohort-spend-" + id, Reference: &budgetv1.LedgerReference{InvoiceNumber: "R-" + id}}); err != nil {
			k.t.Fatalf("SpendFunds: %v", err)
		}
	}
}

// cohortReport is this year's report of the demo region, from the budget service.
func (k *budgetKit) cohortReport() *budgetv1.CohortReport {
	k.t.Helper()
	y := int32(time.Now().UTC().Year())
	rep, err := k.bc.GetCohortReport(k.mikko, &budgetv1.GetCohortReportRequest{Name: "regions/" + DemoRegion + "/cohortReport",
		StartDate: &date.Date{Year: y, Month: 1, Day: 1}, EndDate: &date.Date{Year: y, Month: 12, Day: 31}})
	if err != nil {
		k.t.Fatalf("GetCohortReport: %v", err)
	}
	return rep
}

var (
	cohortRowRE = regexp.MustCompile(`(?s)<tr><th scope="row">[^<]*</th>(.*?)</tr>`)
	cohortBarRE = regexp.MustCompile(`<rect x="190" y="\d+" width="(\d+)" height="16" class="bar-spent" data-cohort="(COHORT_[A-Z_]+)"/>\s*<text[^>]*>([^<]*)</text>`)
)

// checkCohortPage checks the manager page against the report: one table row
// per cohort (its figures, or the suppression note), and one bar per shown
// cohort whose width is its mean relative to the largest mean.
func checkCohortPage(t *testing.T, page string, rep *budgetv1.CohortReport) {
	t.Helper()
	table, _, _ := strings.Cut(page[strings.Index(page, `<table class="cohort">`):], "</table>")
	rows := cohortRowRE.FindAllStringSubmatch(table, -1)
	if len(rows) != len(rep.GetCohorts()) {
		t.Fatalf("cohort table has %d rows, the report %d cohorts", len(rows), len(rep.GetCohorts()))
	}
	var max int64
	for _, c := range rep.GetCohorts() {
		if !c.GetSuppressed() && c.GetMeanCostPerClientCents() > max {
			max = c.GetMeanCostPerClientCents()
		}
	}
	bars := map[string][]string{}
	for _, m := range cohortBarRE.FindAllStringSubmatch(page, -1) {
		bars[m[2]] = m[1:]
	}
	for i, c := range rep.GetCohorts() {
		row, name := html.UnescapeString(rows[i][1]), c.GetCohort().String()
		if c.GetSuppressed() {
			if !strings.Contains(row, "liian pieni ryhmä") || bars[name] != nil {
				t.Errorf("%s is suppressed: row %q, bar %v; want the note and no bar", name, row, bars[name])
			}
			continue
		}
		for _, want := range []string{fmt.Sprintf("<td>%d</td>", c.GetClientCount()), fiEuros(c.GetTotalCostCents()),
			fiEuros(c.GetMeanCostPerClientCents()), fiEuros(c.GetMedianCostPerClientCents())} {
			if !strings.Contains(row, want) {
				t.Errorf("%s row %q lacks %q", name, row, want)
			}
		}
		capacity := strings.Replace(fmt.Sprintf("%+.2f", c.GetMeanCapacityChange()), ".", ",", 1)
		if c.GetCapacitySuppressed() {
			capacity = "liian pieni ryhmä"
		}
		if !strings.Contains(row, capacity) {
			t.Errorf("%s row %q lacks capacity %q", name, row, capacity)
		}
		want := strconv.FormatInt(2*(c.GetMeanCostPerClientCents()*100/max), 10)
		if bars[name] == nil || bars[name][0] != want || bars[name][2] != fiEuros(c.GetMeanCostPerClientCents()) {
			t.Errorf("%s bar = %v, want width %s labelled %s", name, bars[name], want, fiEuros(c.GetMeanCostPerClientCents()))
		}
	}
}

// The cohort chart is drawn once both cohorts pass the minimum group size:
// with the demo alone both are suppressed (no figures, no bars); after
// seeding through the APIs the table shows the report's figures, each bar's
// width is its mean relative to the larger one, and the comparison cohort's
// capacity figure (no measurements) is still suppressed.
func TestWebBudgetCohortChart(t *testing.T) {
	s, demo, base := startWebStack(t)
	k := newBudgetKit(t, s, demo)
	mikko := signIn(t, base, "mikko")

	rep := k.cohortReport()
	for _, c := range rep.GetCohorts() {
		if !c.GetSuppressed() {
			t.Fatalf("with the demo alone %s is not suppressed; the test's premise is gone", c.GetCohort())
		}
	}
	page := mikko.get("/manager", http.StatusOK)
	checkCohortPage(t, page, rep)
	if strings.Contains(page, "data-cohort=") {
		t.Error("a chart is drawn with every group suppressed")
	}

	k.seedCohorts()
	rep = k.cohortReport()
	var pb, cmp *budgetv1.CohortStats
	for _, c := range rep.GetCohorts() {
		switch c.GetCohort() {
		case clientsv1.Cohort_COHORT_PERSONAL_BUDGET:
			pb = c
		case clientsv1.Cohort_COHORT_COMPARISON:
			cmp = c
		}
	}
	if pb == nil || cmp == nil || pb.GetSuppressed() || cmp.GetSuppressed() || pb.GetCapacitySuppressed() || !cmp.GetCapacitySuppressed() ||
		pb.GetMeanCostPerClientCents() == cmp.GetMeanCostPerClientCents() {
		t.Fatalf("seeded report = %v; want both cohorts shown with different means, capacity shown for the personal-budget cohort only", rep)
	}
	page = mikko.get("/manager", http.StatusOK)
	checkCohortPage(t, page, rep)
	if n := strings.Count(page, "data-cohort="); n != 2 {
		t.Errorf("%d bars drawn, want 2", n)
	}
}
