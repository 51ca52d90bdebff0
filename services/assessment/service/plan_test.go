package service_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/polku-hb/polku/platform/apierr"
	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/store"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
)

var contentMask = &fieldmaskpb.FieldMask{Paths: []string{"goals", "actions", "services", "review_schedule", "start_date", "end_date", "wants_personal_budget"}}

// content is a plan for the first half of 2026: coaching sessionsPerWeek times a
// week (90 EUR each) and a museum card once (79 EUR).
func content(name, etag string, sessionsPerWeek int32) *assessmentv1.PlanRevision {
	return &assessmentv1.PlanRevision{
		Name: name, Etag: etag, WantsPersonalBudget: true,
		Goals: []*assessmentv1.Goal{{ClientWords: "evenings without fights", Measure: "fewer than one fight a week", TargetDate: d(2026, 6, 30)}},
		Actions: []*assessmentv1.PlanAction{{Description: "Aino chases the late benefit decision",
			Responsible: assessmentv1.ResponsibleParty_RESPONSIBLE_PARTY_WORKER, DueDate: d(2026, 1, 31)}},
		Services: []*assessmentv1.ChosenService{
			{Pricing: &assessmentv1.ChosenService_PinnedPrice_{PinnedPrice: &assessmentv1.ChosenService_PinnedPrice{Offering: coaching, PriceOptionId: "session"}},
				Quantity: sessionsPerWeek, Frequency: assessmentv1.Frequency_FREQUENCY_PER_WEEK, Note: "specialist ADHD coach"},
			{Pricing: &assessmentv1.ChosenService_PinnedPrice_{PinnedPrice: &assessmentv1.ChosenService_PinnedPrice{Offering: museumCard, PriceOptionId: "card"}},
				Quantity: 1, Frequency: assessmentv1.Frequency_FREQUENCY_ONCE},
		},
		ReviewSchedule: &assessmentv1.ReviewSchedule{NextReviewDate: d(2026, 2, 1), CadenceMonths: 3},
		StartDate:      d(2026, 1, 1), EndDate: d(2026, 6, 30),
	}
}

// draft creates a plan and fills revision 1.
func (e *env) draft(t *testing.T, who auth.Principal, sessionsPerWeek int32) (*assessmentv1.Plan, *assessmentv1.PlanRevision) {
	t.Helper()
	ctx := e.as(t, who)
	plan, err := e.ac.CreatePlan(ctx, &assessmentv1.CreatePlanRequest{Parent: e.parent, Plan: &assessmentv1.Plan{DisplayName: "Tiina's plan 2026"}})
	if err != nil {
		t.Fatalf("CreatePlan: %v", err)
	}
	rev, err := e.ac.GetPlanRevision(ctx, &assessmentv1.GetPlanRevisionRequest{Name: plan.GetLatestRevision()})
	if err != nil {
		t.Fatalf("GetPlanRevision: %v", err)
	}
	rev, err = e.ac.UpdatePlanRevision(ctx, &assessmentv1.UpdatePlanRevisionRequest{PlanRevision: content(rev.GetName(), rev.GetEtag(), sessionsPerWeek), UpdateMask: contentMask})
	if err != nil {
		t.Fatalf("UpdatePlanRevision: %v", err)
	}
	return plan, rev
}

// activate takes a DRAFT through proposal, approval (by approver), the
// client's online agreement and activation.
func (e *env) activate(t *testing.T, rev *assessmentv1.PlanRevision, approver auth.Principal, justification string) *assessmentv1.PlanRevision {
	t.Helper()
	ctx := e.as(t, aino)
	steps := []struct {
		name string
		do   func() (*assessmentv1.PlanRevision, error)
	}{
		{"propose", func() (*assessmentv1.PlanRevision, error) {
			return e.ac.ProposePlanRevision(ctx, &assessmentv1.ProposePlanRevisionRequest{Name: rev.GetName(), Etag: rev.GetEtag()})
		}},
		{"approve", func() (*assessmentv1.PlanRevision, error) {
			return e.ac.ApprovePlanRevision(e.as(t, approver), &assessmentv1.ApprovePlanRevisionRequest{Name: rev.GetName(), Justification: justification})
		}},
		{"agree", func() (*assessmentv1.PlanRevision, error) {
			return e.ac.RecordPlanAgreement(e.as(t, e.client), &assessmentv1.RecordPlanAgreementRequest{Name: rev.GetName(),
				Method: assessmentv1.AgreementMethod_AGREEMENT_METHOD_CLIENT_ONLINE})
		}},
		{"activate", func() (*assessmentv1.PlanRevision, error) {
			return e.ac.ActivatePlanRevision(ctx, &assessmentv1.ActivatePlanRevisionRequest{Name: rev.GetName()})
		}},
	}
	for _, s := range steps {
		var err error
		if rev, err = s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	return rev
}

func TestPlanCostFromPinnedPricesAndLifecycle(t *testing.T) {
	stores(t, func(t *testing.T, cs, st store.Store) {
		e := start(t, cs, st)
		plan, rev := e.draft(t, aino, 1)
		// 2026-01-01..2026-06-30 is 181 days = 26 weeks rounded up: 26 x 90 EUR + 79 EUR.
		const want = 26*9000 + 7900
		if rev.GetTotalCostCents() != want || rev.GetYearlyCostCents() != want || rev.GetRequiresManagerApproval() {
			t.Errorf("cost = %d/%d (manager %v); want %d within the limit", rev.GetTotalCostCents(), rev.GetYearlyCostCents(), rev.GetRequiresManagerApproval(), want)
		}
		s0 := rev.GetServices()[0]
		if s0.GetId() != "s1" || s0.GetPinnedPrice().GetPriceVersion() != coaching+"/priceVersions/1" || s0.GetUnitAmountCents() != 9000 ||
			s0.GetTitle().GetFi() != "Neuropsykiatrinen valmennus" || s0.GetCategory() != cataloguev1.Category_CATEGORY_MENTAL_HEALTH_AND_SUBSTANCE_USE {
			t.Errorf("service = %v; want s1 pinned to version 1 at 9000 with the offering's title and category", s0)
		}
		active := e.activate(t, rev, aino, "")
		if active.GetState() != assessmentv1.PlanRevision_ACTIVE || active.GetApproval().GetApproverRole() != "WORKER" ||
			active.GetApproval().GetAuthorityLimitCents() != limit || !active.GetAgreement().GetByClient() {
			t.Errorf("activated = %v; want ACTIVE, approved by a WORKER within the limit, agreed by the client", active)
		}
		got, err := e.ac.GetPlan(e.as(t, aino), &assessmentv1.GetPlanRequest{Name: plan.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		if got.GetActiveRevision() != rev.GetName() || got.GetNextReviewDate().GetMonth() != 2 {
			t.Errorf("plan = %v; want revision 1 active, next review in February", got)
		}

		// The catalogue raises the price: the approved plan does not change.
		e.cat.setPrice(coaching, "Neuropsykiatrinen valmennus", cataloguev1.Category_CATEGORY_MENTAL_HEALTH_AND_SUBSTANCE_USE, "2",
			&cataloguev1.PriceOption{Id: "session", Unit: cataloguev1.PriceUnit_PRICE_UNIT_SESSION, AmountCents: 12000})
		again, err := e.ac.GetPlanRevision(e.as(t, aino), &assessmentv1.GetPlanRevisionRequest{Name: rev.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		if again.GetTotalCostCents() != want || again.GetServices()[0].GetUnitAmountCents() != 9000 {
			t.Errorf("after a price change the active revision costs %d; want %d", again.GetTotalCostCents(), want)
		}

		// The next revision keeps the pins until a service is changed.
		next, err := e.ac.RevisePlan(e.as(t, aino), &assessmentv1.RevisePlanRequest{Name: plan.GetName(), Reason: "review 2026-02"})
		if err != nil {
			t.Fatalf("RevisePlan: %v", err)
		}
		if next.GetRevisionNumber() != 2 || next.GetState() != assessmentv1.PlanRevision_DRAFT || next.GetTotalCostCents() != want || next.GetGoals()[0].GetId() != "g1" {
			t.Errorf("revision 2 = %v; want a DRAFT copy with the same cost and ids", next)
		}
		_, err = e.ac.RevisePlan(e.as(t, aino), &assessmentv1.RevisePlanRequest{Name: plan.GetName(), Reason: "again"})
		wantCode(t, "RevisePlan with an open revision", err, codes.FailedPrecondition)
		wantReason(t, "RevisePlan with an open revision", err, "OPEN_REVISION_EXISTS")

		// Replacing the coaching with a re-picked one (no id) pins the current version.
		c := content(next.GetName(), next.GetEtag(), 1)
		c.Services = c.Services[:1]
		next, err = e.ac.UpdatePlanRevision(e.as(t, aino), &assessmentv1.UpdatePlanRevisionRequest{PlanRevision: c, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"services"}}})
		if err != nil {
			t.Fatalf("UpdatePlanRevision: %v", err)
		}
		if next.GetServices()[0].GetPinnedPrice().GetPriceVersion() != coaching+"/priceVersions/2" || next.GetTotalCostCents() != 26*12000 {
			t.Errorf("re-picked service = %v, total %d; want version 2 and %d", next.GetServices()[0], next.GetTotalCostCents(), 26*12000)
		}
		// Activating revision 2 (now above the workers' limit) supersedes revision 1.
		if !next.GetRequiresManagerApproval() {
			t.Errorf("revision 2 costing %d should need a manager", next.GetYearlyCostCents())
		}
		next = e.activate(t, next, mikko, "the coach's price rose")
		old, _ := e.ac.GetPlanRevision(e.as(t, aino), &assessmentv1.GetPlanRevisionRequest{Name: rev.GetName()})
		if old.GetState() != assessmentv1.PlanRevision_SUPERSEDED || next.GetState() != assessmentv1.PlanRevision_ACTIVE {
			t.Errorf("after activating 2: revision 1 %v, 2 %v; want SUPERSEDED, ACTIVE", old.GetState(), next.GetState())
		}
		// Closing the active revision ends the plan.
		closed, err := e.ac.ClosePlanRevision(e.as(t, aino), &assessmentv1.ClosePlanRevisionRequest{Name: next.GetName(), Reason: "path completed"})
		if err != nil || closed.GetState() != assessmentv1.PlanRevision_CLOSED {
			t.Fatalf("ClosePlanRevision = %v, %v", closed, err)
		}
		got, _ = e.ac.GetPlan(e.as(t, aino), &assessmentv1.GetPlanRequest{Name: plan.GetName()})
		if got.GetState() != assessmentv1.Plan_CLOSED {
			t.Errorf("plan state = %v; want CLOSED", got.GetState())
		}
		list, err := e.ac.ListPlanRevisions(e.as(t, e.client), &assessmentv1.ListPlanRevisionsRequest{Parent: plan.GetName()})
		if err != nil || len(list.GetPlanRevisions()) != 2 || list.GetPlanRevisions()[0].GetRevisionNumber() != 2 {
			t.Errorf("ListPlanRevisions = %v, %v; want 2 then 1", list, err)
		}
	})
}

func TestAuthorityLimit(t *testing.T) {
	stores(t, func(t *testing.T, cs, st store.Store) {
		e := start(t, cs, st)
		// Three sessions a week: 26 x 3 x 90 EUR + 79 EUR = 7 099 EUR > 3 000 EUR.
		_, rev := e.draft(t, aino, 3)
		if !rev.GetRequiresManagerApproval() {
			t.Fatalf("revision costing %d should require a manager (limit %d)", rev.GetYearlyCostCents(), limit)
		}
		ctx := e.as(t, aino)
		if _, err := e.ac.ProposePlanRevision(ctx, &assessmentv1.ProposePlanRevisionRequest{Name: rev.GetName()}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name          string
			who           auth.Principal
			justification string
			want          codes.Code
			reason        string
		}{
			{"worker above the limit", aino, "needed", codes.PermissionDenied, "ABOVE_AUTHORITY_LIMIT"},
			{"manager without justification", mikko, "", codes.InvalidArgument, "INVALID_ARGUMENT"},
			{"manager of another region", lapland, "ok", codes.PermissionDenied, "NOT_IN_CLIENT_TEAM"},
			{"manager with justification", mikko, "standard family work did not help; the coach is cheaper than placement", codes.OK, ""},
		}
		for _, tt := range tests {
			got, err := e.ac.ApprovePlanRevision(e.as(t, tt.who), &assessmentv1.ApprovePlanRevisionRequest{Name: rev.GetName(), Justification: tt.justification})
			wantCode(t, tt.name, err, tt.want)
			if tt.reason != "" {
				wantReason(t, tt.name, err, tt.reason)
			}
			if err == nil && (got.GetApproval().GetApproverRole() != "MANAGER" || got.GetApproval().GetJustification() == "" ||
				got.GetApproval().GetYearlyCostCents() != rev.GetYearlyCostCents()) {
				t.Errorf("%s: approval = %v; want the manager, the justification and the cost recorded", tt.name, got.GetApproval())
			}
		}
	})
}

func TestIllegalTransitionsNameAllowedStates(t *testing.T) {
	stores(t, func(t *testing.T, cs, st store.Store) {
		e := start(t, cs, st)
		ctx := e.as(t, aino)
		plan, err := e.ac.CreatePlan(ctx, &assessmentv1.CreatePlanRequest{Parent: e.parent, Plan: &assessmentv1.Plan{}})
		if err != nil {
			t.Fatal(err)
		}
		empty := plan.GetLatestRevision()
		_, err = e.ac.ProposePlanRevision(ctx, &assessmentv1.ProposePlanRevisionRequest{Name: empty})
		wantCode(t, "propose an empty revision", err, codes.FailedPrecondition)
		wantReason(t, "propose an empty revision", err, "PLAN_INCOMPLETE")

		_, rev := e.draft(t, aino, 1)
		tests := []struct {
			name    string
			do      func() error
			allowed string
		}{
			{"activate a DRAFT", func() error {
				_, err := e.ac.ActivatePlanRevision(ctx, &assessmentv1.ActivatePlanRevisionRequest{Name: rev.GetName()})
				return err
			}, "allowed next states: PROPOSED, CLOSED"},
			{"approve a DRAFT", func() error {
				_, err := e.ac.ApprovePlanRevision(ctx, &assessmentv1.ApprovePlanRevisionRequest{Name: rev.GetName()})
				return err
			}, "allowed next states: PROPOSED, CLOSED"},
			{"return a DRAFT", func() error {
				_, err := e.ac.ReturnPlanRevision(ctx, &assessmentv1.ReturnPlanRevisionRequest{Name: rev.GetName(), Reason: "x"})
				return err
			}, "allowed next states: PROPOSED, CLOSED"},
		}
		for _, tt := range tests {
			err := tt.do()
			wantCode(t, tt.name, err, codes.FailedPrecondition)
			if !strings.Contains(err.Error(), tt.allowed) {
				t.Errorf("%s: %v; want the message to say %q", tt.name, err, tt.allowed)
			}
		}
		if _, err := e.ac.ProposePlanRevision(ctx, &assessmentv1.ProposePlanRevisionRequest{Name: rev.GetName()}); err != nil {
			t.Fatal(err)
		}
		c := content(rev.GetName(), "", 1)
		_, err = e.ac.UpdatePlanRevision(ctx, &assessmentv1.UpdatePlanRevisionRequest{PlanRevision: c, UpdateMask: contentMask})
		wantCode(t, "edit a PROPOSED revision without etag", err, codes.InvalidArgument)
		cur, _ := e.ac.GetPlanRevision(ctx, &assessmentv1.GetPlanRevisionRequest{Name: rev.GetName()})
		c.Etag = cur.GetEtag()
		_, err = e.ac.UpdatePlanRevision(ctx, &assessmentv1.UpdatePlanRevisionRequest{PlanRevision: c, UpdateMask: contentMask})
		wantCode(t, "edit a PROPOSED revision", err, codes.FailedPrecondition)
		if _, err := e.ac.ApprovePlanRevision(ctx, &assessmentv1.ApprovePlanRevisionRequest{Name: rev.GetName()}); err != nil {
			t.Fatal(err)
		}
		_, err = e.ac.ActivatePlanRevision(ctx, &assessmentv1.ActivatePlanRevisionRequest{Name: rev.GetName()})
		wantCode(t, "activate without agreement", err, codes.FailedPrecondition)
		wantReason(t, "activate without agreement", err, "AGREEMENT_REQUIRED")
		_, err = e.ac.RecordPlanAgreement(ctx, &assessmentv1.RecordPlanAgreementRequest{Name: rev.GetName(), Method: assessmentv1.AgreementMethod_AGREEMENT_METHOD_CLIENT_ONLINE})
		wantCode(t, "worker records an online agreement", err, codes.InvalidArgument)
		if _, err := e.ac.RecordPlanAgreement(ctx, &assessmentv1.RecordPlanAgreementRequest{Name: rev.GetName(), Method: assessmentv1.AgreementMethod_AGREEMENT_METHOD_IN_PERSON}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ac.ActivatePlanRevision(ctx, &assessmentv1.ActivatePlanRevisionRequest{Name: rev.GetName()}); err != nil {
			t.Fatal(err)
		}
		_, err = e.ac.ProposePlanRevision(ctx, &assessmentv1.ProposePlanRevisionRequest{Name: rev.GetName()})
		wantCode(t, "propose an ACTIVE revision", err, codes.FailedPrecondition)
		if err != nil && !strings.Contains(err.Error(), "allowed next states: SUPERSEDED, CLOSED") {
			t.Errorf("propose an ACTIVE revision: %v; want the allowed states named", err)
		}
	})
}

func TestStaleEtagIsAborted(t *testing.T) {
	stores(t, func(t *testing.T, cs, st store.Store) {
		e := start(t, cs, st)
		ctx := e.as(t, aino)
		plan, rev := e.draft(t, aino, 1)
		_, err := e.ac.UpdatePlanRevision(ctx, &assessmentv1.UpdatePlanRevisionRequest{
			PlanRevision: content(rev.GetName(), `W/"1"`, 2), UpdateMask: contentMask})
		wantCode(t, "UpdatePlanRevision with a stale etag", err, codes.Aborted)
		_, err = e.ac.ProposePlanRevision(ctx, &assessmentv1.ProposePlanRevisionRequest{Name: rev.GetName(), Etag: `W/"1"`})
		wantCode(t, "ProposePlanRevision with a stale etag", err, codes.Aborted)
		_, err = e.ac.UpdatePlan(ctx, &assessmentv1.UpdatePlanRequest{Plan: &assessmentv1.Plan{Name: plan.GetName(), Etag: plan.GetEtag(), DisplayName: "new"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
		if err != nil {
			t.Fatalf("UpdatePlan: %v", err)
		}
		_, err = e.ac.UpdatePlan(ctx, &assessmentv1.UpdatePlanRequest{Plan: &assessmentv1.Plan{Name: plan.GetName(), Etag: plan.GetEtag(), DisplayName: "newer"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
		wantCode(t, "UpdatePlan with a stale etag", err, codes.Aborted)
		cur, _ := e.ac.GetPlan(ctx, &assessmentv1.GetPlanRequest{Name: plan.GetName()})
		_, err = e.ac.UpdatePlan(ctx, &assessmentv1.UpdatePlanRequest{Plan: &assessmentv1.Plan{Name: plan.GetName(), Etag: cur.GetEtag(), ResponsibleWorker: "w-pekka"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"responsible_worker"}}})
		wantCode(t, "responsible worker outside the team", err, codes.InvalidArgument)
	})
}

func TestIdempotentRequestID(t *testing.T) {
	stores(t, func(t *testing.T, cs, st store.Store) {
		e := start(t, cs, st)
		ctx := e.as(t, aino)
		a, err := e.ac.CreatePlan(ctx, &assessmentv1.CreatePlanRequest{Parent: e.parent, Plan: &assessmentv1.Plan{}, RequestId: "r-1"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.ac.CreatePlan(ctx, &assessmentv1.CreatePlanRequest{Parent: e.parent, Plan: &assessmentv1.Plan{}, RequestId: "r-1"})
		if err != nil || b.GetName() != a.GetName() {
			t.Errorf("CreatePlan retry = %v, %v; want %s", b.GetName(), err, a.GetName())
		}
		list, _ := e.ac.ListPlans(ctx, &assessmentv1.ListPlansRequest{Parent: e.parent})
		if len(list.GetPlans()) != 1 {
			t.Errorf("plans after a retried create = %d; want 1", len(list.GetPlans()))
		}
		_, rev := e.draft(t, aino, 1)
		for i := range 2 {
			got, err := e.ac.ProposePlanRevision(ctx, &assessmentv1.ProposePlanRevisionRequest{Name: rev.GetName(), RequestId: "p-1"})
			if err != nil || got.GetState() != assessmentv1.PlanRevision_PROPOSED {
				t.Errorf("ProposePlanRevision try %d = %v, %v; want PROPOSED both times", i, got.GetState(), err)
			}
		}
		x, err := e.ac.CreateAssessment(ctx, &assessmentv1.CreateAssessmentRequest{Parent: e.parent, RequestId: "a-1", Assessment: baseline()})
		if err != nil {
			t.Fatal(err)
		}
		y, err := e.ac.CreateAssessment(ctx, &assessmentv1.CreateAssessmentRequest{Parent: e.parent, RequestId: "a-1", Assessment: baseline()})
		if err != nil || y.GetName() != x.GetName() {
			t.Errorf("CreateAssessment retry = %v, %v; want %s", y.GetName(), err, x.GetName())
		}
	})
}

func TestOverdueReviews(t *testing.T) {
	stores(t, func(t *testing.T, cs, st store.Store) {
		e := start(t, cs, st)
		plan, rev := e.draft(t, aino, 1)
		e.activate(t, rev, aino, "") // next review 2026-02-01
		tests := []struct {
			name   string
			who    auth.Principal
			worker string
			asOf   [3]int
			want   int
			code   codes.Code
		}{
			{"own, overdue", aino, "", [3]int{2026, 3, 1}, 1, codes.OK},
			{"own, not yet due", aino, "", [3]int{2026, 2, 1}, 0, codes.OK},
			{"another worker's own list", pekka, "", [3]int{2026, 3, 1}, 0, codes.OK},
			{"a worker asking for a colleague", pekka, "w-aino", [3]int{2026, 3, 1}, 0, codes.PermissionDenied},
			{"manager, whole region", mikko, "-", [3]int{2026, 3, 1}, 1, codes.OK},
			{"manager, one worker", mikko, "w-aino", [3]int{2026, 3, 1}, 1, codes.OK},
			{"manager of another region", lapland, "-", [3]int{2026, 3, 1}, 0, codes.OK},
			{"provider", coach, "", [3]int{2026, 3, 1}, 0, codes.PermissionDenied},
			{"client", e.client, "", [3]int{2026, 3, 1}, 0, codes.PermissionDenied},
		}
		for _, tt := range tests {
			got, err := e.ac.ListOverdueReviews(e.as(t, tt.who), &assessmentv1.ListOverdueReviewsRequest{Worker: tt.worker, AsOfDate: d(tt.asOf[0], tt.asOf[1], tt.asOf[2])})
			wantCode(t, tt.name, err, tt.code)
			if len(got.GetOverdueReviews()) != tt.want {
				t.Errorf("%s: %d overdue; want %d", tt.name, len(got.GetOverdueReviews()), tt.want)
			}
			if tt.want == 1 {
				o := got.GetOverdueReviews()[0]
				if o.GetPlan() != plan.GetName() || o.GetDaysOverdue() != 28 || o.GetResponsibleWorker() != "w-aino" || o.GetActiveRevision() != rev.GetName() {
					t.Errorf("%s: %v; want the plan 28 days overdue for w-aino", tt.name, o)
				}
			}
		}
		// Holding the review moves the date on by the cadence (3 months).
		p, err := e.ac.RecordPlanReview(e.as(t, aino), &assessmentv1.RecordPlanReviewRequest{Name: plan.GetName(), ReviewDate: d(2026, 3, 1)})
		if err != nil {
			t.Fatalf("RecordPlanReview: %v", err)
		}
		if p.GetNextReviewDate().GetMonth() != 6 || p.GetLastReviewDate().GetMonth() != 3 {
			t.Errorf("after review: last %v next %v; want March and June", p.GetLastReviewDate(), p.GetNextReviewDate())
		}
		got, _ := e.ac.ListOverdueReviews(e.as(t, aino), &assessmentv1.ListOverdueReviewsRequest{AsOfDate: d(2026, 3, 2)})
		if len(got.GetOverdueReviews()) != 0 {
			t.Errorf("after the review: %d overdue; want 0", len(got.GetOverdueReviews()))
		}
	})
}

// access is one call a principal may or may not make.
type access struct {
	name  string
	write bool
	do    func(ctx context.Context) error
}

func TestAuthorizationPerMethod(t *testing.T) {
	stores(t, func(t *testing.T, cs, st store.Store) {
		e := start(t, cs, st)
		plan, rev := e.draft(t, aino, 1)
		asmt, err := e.ac.CreateAssessment(e.as(t, aino), &assessmentv1.CreateAssessmentRequest{Parent: e.parent, Assessment: baseline()})
		if err != nil {
			t.Fatal(err)
		}
		calls := []access{
			{"GetPlan", false, func(ctx context.Context) error {
				_, err := e.ac.GetPlan(ctx, &assessmentv1.GetPlanRequest{Name: plan.GetName()})
				return err
			}},
			{"ListPlans", false, func(ctx context.Context) error {
				_, err := e.ac.ListPlans(ctx, &assessmentv1.ListPlansRequest{Parent: e.parent})
				return err
			}},
			{"GetPlanRevision", false, func(ctx context.Context) error {
				_, err := e.ac.GetPlanRevision(ctx, &assessmentv1.GetPlanRevisionRequest{Name: rev.GetName()})
				return err
			}},
			{"ListPlanRevisions", false, func(ctx context.Context) error {
				_, err := e.ac.ListPlanRevisions(ctx, &assessmentv1.ListPlanRevisionsRequest{Parent: plan.GetName()})
				return err
			}},
			{"GetAssessment", false, func(ctx context.Context) error {
				_, err := e.ac.GetAssessment(ctx, &assessmentv1.GetAssessmentRequest{Name: asmt.GetName()})
				return err
			}},
			{"ListAssessments", false, func(ctx context.Context) error {
				_, err := e.ac.ListAssessments(ctx, &assessmentv1.ListAssessmentsRequest{Parent: e.parent})
				return err
			}},
			{"CreatePlan", true, func(ctx context.Context) error {
				_, err := e.ac.CreatePlan(ctx, &assessmentv1.CreatePlanRequest{Parent: e.parent, Plan: &assessmentv1.Plan{}})
				return err
			}},
			{"UpdatePlan", true, func(ctx context.Context) error {
				_, err := e.ac.UpdatePlan(ctx, &assessmentv1.UpdatePlanRequest{Plan: &assessmentv1.Plan{Name: plan.GetName(), Etag: `W/"1"`, DisplayName: "x"},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
				return err
			}},
			{"UpdatePlanRevision", true, func(ctx context.Context) error {
				_, err := e.ac.UpdatePlanRevision(ctx, &assessmentv1.UpdatePlanRevisionRequest{PlanRevision: content(rev.GetName(), `W/"1"`, 1), UpdateMask: contentMask})
				return err
			}},
			{"ReturnPlanRevision", true, func(ctx context.Context) error {
				_, err := e.ac.ReturnPlanRevision(ctx, &assessmentv1.ReturnPlanRevisionRequest{Name: rev.GetName(), Reason: "x"})
				return err
			}},
			{"RevisePlan", true, func(ctx context.Context) error {
				_, err := e.ac.RevisePlan(ctx, &assessmentv1.RevisePlanRequest{Name: plan.GetName(), Reason: "x"})
				return err
			}},
			{"CreateAssessment", true, func(ctx context.Context) error {
				_, err := e.ac.CreateAssessment(ctx, &assessmentv1.CreateAssessmentRequest{Parent: e.parent, Assessment: baseline()})
				return err
			}},
			{"CompleteAssessment", true, func(ctx context.Context) error {
				_, err := e.ac.CompleteAssessment(ctx, &assessmentv1.CompleteAssessmentRequest{Name: asmt.GetName(), Etag: `W/"99"`})
				return err
			}},
		}
		stale := `W/"99"` // callers that pass the relationship check then meet ABORTED: nothing changes
		verbs := []struct {
			name string
			do   func(ctx context.Context) error
		}{
			{"ProposePlanRevision", func(ctx context.Context) error {
				_, err := e.ac.ProposePlanRevision(ctx, &assessmentv1.ProposePlanRevisionRequest{Name: rev.GetName(), Etag: stale})
				return err
			}},
			{"ApprovePlanRevision", func(ctx context.Context) error {
				_, err := e.ac.ApprovePlanRevision(ctx, &assessmentv1.ApprovePlanRevisionRequest{Name: rev.GetName(), Etag: stale})
				return err
			}},
			{"ActivatePlanRevision", func(ctx context.Context) error {
				_, err := e.ac.ActivatePlanRevision(ctx, &assessmentv1.ActivatePlanRevisionRequest{Name: rev.GetName(), Etag: stale})
				return err
			}},
			{"ClosePlanRevision", func(ctx context.Context) error {
				_, err := e.ac.ClosePlanRevision(ctx, &assessmentv1.ClosePlanRevisionRequest{Name: rev.GetName(), Etag: stale, Reason: "x"})
				return err
			}},
			{"RecordPlanReview", func(ctx context.Context) error {
				_, err := e.ac.RecordPlanReview(ctx, &assessmentv1.RecordPlanReviewRequest{Name: plan.GetName(), Etag: stale, ReviewDate: d(2026, 1, 1)})
				return err
			}},
			{"UpdateAssessment", func(ctx context.Context) error {
				_, err := e.ac.UpdateAssessment(ctx, &assessmentv1.UpdateAssessmentRequest{Assessment: &assessmentv1.Assessment{Name: asmt.GetName(), Etag: stale},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"summary"}}})
				return err
			}},
			{"CorrectAssessment", func(ctx context.Context) error {
				_, err := e.ac.CorrectAssessment(ctx, &assessmentv1.CorrectAssessmentRequest{Assessment: &assessmentv1.Assessment{Name: asmt.GetName(), Etag: stale},
					Reason: "x", UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"summary"}}})
				return err
			}},
		}
		for _, v := range verbs {
			calls = append(calls, access{v.name, true, v.do})
		}
		calls = append(calls,
			access{"ListCapacityMeasurements", false, func(ctx context.Context) error {
				_, err := e.ac.ListCapacityMeasurements(ctx, &assessmentv1.ListCapacityMeasurementsRequest{Parent: e.parent})
				return err
			}},
			access{"ListSatisfactionResponses", false, func(ctx context.Context) error {
				_, err := e.ac.ListSatisfactionResponses(ctx, &assessmentv1.ListSatisfactionResponsesRequest{Parent: e.parent})
				return err
			}},
		)
		// The agreement: the client themself may record it; their assistant may not.
		agreeTests := []struct {
			name string
			who  auth.Principal
			want codes.Code
		}{
			{"the client", e.client, codes.Aborted},
			{"team worker", aino, codes.Aborted},
			{"the client's assistant", e.sanna, codes.PermissionDenied},
			{"other worker", pekka, codes.PermissionDenied},
			{"provider", coach, codes.PermissionDenied},
		}
		for _, tt := range agreeTests {
			_, err := e.ac.RecordPlanAgreement(e.as(t, tt.who), &assessmentv1.RecordPlanAgreementRequest{Name: rev.GetName(), Etag: stale,
				Method: assessmentv1.AgreementMethod_AGREEMENT_METHOD_CLIENT_ONLINE})
			wantCode(t, "RecordPlanAgreement by "+tt.name, err, tt.want)
		}
		allowedCodes := []codes.Code{codes.OK, codes.Aborted, codes.FailedPrecondition} // passed the check, then met the state
		principals := []struct {
			name        string
			p           auth.Principal
			read, write bool
		}{
			{"team worker", aino, true, true},
			{"other worker", pekka, false, false},
			{"region manager", mikko, true, true},
			{"other region's manager", lapland, false, false},
			{"the client", e.client, true, false},
			{"the client's assistant", e.sanna, true, false},
			{"provider", coach, false, false},
			{"another client", auth.Principal{Subject: "u-other", Role: auth.RoleClient, ClientID: "someone-else"}, false, false},
		}
		for _, pr := range principals {
			for _, c := range calls {
				may := pr.read
				if c.write {
					may = pr.write
				}
				err := c.do(e.as(t, pr.p))
				code := status.Code(err)
				ok := code == codes.PermissionDenied
				if may && !slicesContains(allowedCodes, code) {
					t.Logf("%s by %s: %v", c.name, pr.name, err)
				}
				if may {
					ok = slicesContains(allowedCodes, code)
				}
				if !ok {
					t.Errorf("%s by %s: %v (%v); allowed = %v", c.name, pr.name, code, err, may)
				}
			}
		}
	})
}

func TestPlanPricedFromAcceptedQuote(t *testing.T) {
	stores(t, func(t *testing.T, cs, st store.Store) {
		e := start(t, cs, st)
		quote := func(id, client string, state cataloguev1.QuoteRequest_State, offering string) string {
			name := "providers/neurocoach/quoteRequests/" + id
			e.cat.setQuote(aino.Subject, &cataloguev1.QuoteRequest{Name: name, Offering: offering, Client: client, State: state,
				Quote: &cataloguev1.Quote{Unit: cataloguev1.PriceUnit_PRICE_UNIT_SESSION, Quantity: 20, UnitAmountCents: 8500, TotalAmountCents: 170000}})
			return name
		}
		accepted := quote("q1", e.parent, cataloguev1.QuoteRequest_ACCEPTED, coaching)
		onlyQuoted := quote("q2", e.parent, cataloguev1.QuoteRequest_QUOTED, coaching)
		otherClient := quote("q3", "clients/someone-else", cataloguev1.QuoteRequest_ACCEPTED, coaching)
		noOffering := quote("q4", e.parent, cataloguev1.QuoteRequest_ACCEPTED, "")

		_, rev := e.draft(t, aino, 1)
		update := func(who auth.Principal, rev *assessmentv1.PlanRevision, svc *assessmentv1.ChosenService) (*assessmentv1.PlanRevision, error) {
			c := content(rev.GetName(), rev.GetEtag(), 1)
			c.Services = []*assessmentv1.ChosenService{svc}
			return e.ac.UpdatePlanRevision(e.as(t, who), &assessmentv1.UpdatePlanRevisionRequest{PlanRevision: c, UpdateMask: contentMask})
		}
		withQuote := func(name string, cat cataloguev1.Category) *assessmentv1.ChosenService {
			return &assessmentv1.ChosenService{Id: "s1", Pricing: &assessmentv1.ChosenService_AcceptedQuote{AcceptedQuote: name}, Category: cat}
		}

		refused := []struct {
			name  string
			svc   *assessmentv1.ChosenService
			field string
		}{
			{"not accepted yet", withQuote(onlyQuoted, 0), "plan_revision.services[0].accepted_quote"},
			{"another client's quote", withQuote(otherClient, 0), "plan_revision.services[0].accepted_quote"},
			{"unknown quote", withQuote("providers/neurocoach/quoteRequests/nope", 0), "plan_revision.services[0].accepted_quote"},
			{"malformed name", withQuote("quoteRequests/q1", 0), "plan_revision.services[0].accepted_quote"},
			{"no offering and no category", withQuote(noOffering, 0), "plan_revision.services[0].category"},
		}
		for _, tt := range refused {
			_, err := update(aino, rev, tt.svc)
			wantCode(t, tt.name, err, codes.InvalidArgument)
			if v := apierr.FieldViolations(err); !slices.Contains(v, tt.field) {
				t.Errorf("%s: violations %v; want %s", tt.name, v, tt.field)
			}
		}

		got, err := update(aino, rev, withQuote(accepted, 0))
		if err != nil {
			t.Fatalf("UpdatePlanRevision with an accepted quote: %v", err)
		}
		s := got.GetServices()[0]
		if got.GetTotalCostCents() != 170000 || s.GetCostCents() != 170000 || s.GetQuantity() != 20 || s.GetUnitAmountCents() != 8500 ||
			s.GetFrequency() != assessmentv1.Frequency_FREQUENCY_ONCE || s.GetAcceptedQuote() != accepted ||
			s.GetCategory() != cataloguev1.Category_CATEGORY_MENTAL_HEALTH_AND_SUBSTANCE_USE || s.GetTitle().GetFi() != "Neuropsykiatrinen valmennus" {
			t.Errorf("quote-priced service = %v, total %d; want 20 x 85 EUR once = 1 700 EUR with the offering's title and category", s, got.GetTotalCostCents())
		}

		// The catalogue no longer shows the quote (say, to a colleague): an edit
		// that keeps the service keeps its price without asking again.
		e.cat.mu.Lock()
		delete(e.cat.quotes, accepted)
		e.cat.mu.Unlock()
		again, err := update(aino, got, withQuote(accepted, 0))
		if err != nil || again.GetTotalCostCents() != 170000 {
			t.Fatalf("re-saving the unchanged quote = %v, %v; want the kept price 170000", again.GetTotalCostCents(), err)
		}

		// A quote for no offering takes the worker's category.
		free, err := update(aino, again, &assessmentv1.ChosenService{Id: "s2", Pricing: &assessmentv1.ChosenService_AcceptedQuote{AcceptedQuote: noOffering},
			Category: cataloguev1.Category_CATEGORY_EMPLOYMENT_AND_EDUCATION})
		if err != nil {
			t.Fatalf("quote without offering: %v", err)
		}
		if fs := free.GetServices()[0]; fs.GetCategory() != cataloguev1.Category_CATEGORY_EMPLOYMENT_AND_EDUCATION || fs.GetCostCents() != 170000 {
			t.Errorf("quote without offering = %v; want the worker's category at 170000", fs)
		}
	})
}
