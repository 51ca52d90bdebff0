package service

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
)

// DemoInstrumentID is the demo self-assessment instrument, modelled on the
// Finnish Kykyviisari.
const DemoInstrumentID = "kykyviisari-demo-1"

func lt(fi, en string) *cataloguev1.LocalizedText { return &cataloguev1.LocalizedText{Fi: fi, En: en} }

// DemoInstrument is the definition of instruments/kykyviisari-demo-1: nine
// domains, one question each, answered 0 (not at all) to 10 (fully).
func DemoInstrument() *assessmentv1.Instrument {
	dom := func(id, fi, en, q string) *assessmentv1.InstrumentDomain {
		return &assessmentv1.InstrumentDomain{Id: id, Title: lt(fi, en), Question: lt("", q)}
	}
	return &assessmentv1.Instrument{
		DisplayName:  lt("Kykyviisari (demo)", "Functioning compass (demo)"),
		Instructions: lt("", "Think of the last month. How well does each statement describe you? 0 = not at all, 10 = fully."),
		Scale:        &assessmentv1.InstrumentScale{Min: 0, Max: 10, MinLabel: lt("ei lainkaan", "not at all"), MaxLabel: lt("täysin", "fully")},
		Domains: []*assessmentv1.InstrumentDomain{
			dom("health", "Terveys", "Health", "My health allows me to do what I want to do."),
			dom("daily-life", "Arki", "Daily life", "I manage my everyday chores and errands."),
			dom("mobility", "Liikkuminen", "Mobility", "I can move about at home and outside as I need."),
			dom("mood", "Mieliala", "Mood", "My mood is mostly good."),
			dom("thinking", "Ajattelu ja muisti", "Thinking and memory", "I can concentrate and remember what I need."),
			dom("relationships", "Ihmissuhteet", "Relationships", "I have people close to me I can rely on."),
			dom("work-study", "Työ ja opiskelu", "Work and study", "I can work, study or do other meaningful activity."),
			dom("leisure", "Vapaa-aika", "Leisure", "I have leisure activities I enjoy."),
			dom("living-environment", "Asuinympäristö", "Living environment", "My home and surroundings support my wellbeing."),
		},
	}
}

// DemoService names a catalogue offering and price option for the demo plan.
type DemoService struct {
	Offering      string // providers/{provider}/offerings/{offering}
	PriceOptionID string
}

// DemoInput is what SeedDemo needs. The contexts carry bearer tokens in their
// outgoing gRPC metadata.
type DemoInput struct {
	// Client is Tiina's client id (from the clients demo).
	Client string
	// Worker is her coordinating worker (Aino); Manager a manager of her region
	// (creates the instrument and approves if the plan is above the limit).
	Worker, Manager context.Context
	// Coaching is the neuropsychiatric coaching service (weekly sessions) and
	// Culture the culture offering (once) of the plan.
	Coaching, Culture DemoService
	// Today anchors the demo's dates (zero: now).
	Today time.Time
}

// DemoResult names what SeedDemo made.
type DemoResult struct {
	Assessment string
	Plan       string
}

func gdate(t time.Time) *date.Date {
	return &date.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
}

// SeedDemo loads Tiina's assessment data through the real gRPC API: the demo
// instrument, her baseline INITIAL assessment (completed), Kykyviisari-style
// baseline and interim measurements, and an approved, agreed, ACTIVE plan with
// a neuropsychiatric coaching service and a culture offering. Every call carries
// a fixed request id and finished steps are skipped, so seeding again changes
// nothing. Run it after the clients demo (Tiina must exist, Aino in her team).
func SeedDemo(cc assessmentv1.AssessmentServiceClient, in DemoInput) (DemoResult, error) {
	today := in.Today
	if today.IsZero() {
		today = time.Now()
	}
	day := func(offset int) *date.Date { return gdate(today.AddDate(0, 0, offset)) }
	parent := "clients/" + in.Client
	w := in.Worker

	if _, err := cc.CreateInstrument(in.Manager, &assessmentv1.CreateInstrumentRequest{
		InstrumentId: DemoInstrumentID, Instrument: DemoInstrument(), RequestId: "demo-kykyviisari"}); err != nil && status.Code(err) != codes.AlreadyExists {
		return DemoResult{}, fmt.Errorf("demo instrument: %w", err)
	}
	a, err := cc.CreateAssessment(w, &assessmentv1.CreateAssessmentRequest{Parent: parent, RequestId: "demo-tiina-baseline", Assessment: &assessmentv1.Assessment{
		Kind:         assessmentv1.Assessment_INITIAL,
		Participants: []string{parent},
		ClientWords:  "Evenings at home are one fight after another and I am tired. I would need someone who understands ADHD.",
		Needs: []*assessmentv1.Need{
			{Domain: assessmentv1.NeedDomain_NEED_DOMAIN_FAMILY_AND_PARENTING, Description: "support in daily life with the son's ADHD", Priority: assessmentv1.NeedPriority_NEED_PRIORITY_HIGH},
			{Domain: assessmentv1.NeedDomain_NEED_DOMAIN_LIVELIHOOD_AND_BENEFITS, Description: "a benefit decision has been pending for months", Priority: assessmentv1.NeedPriority_NEED_PRIORITY_HIGH},
			{Domain: assessmentv1.NeedDomain_NEED_DOMAIN_LEISURE_AND_CULTURE, Description: "something good to do together as a family", Priority: assessmentv1.NeedPriority_NEED_PRIORITY_MEDIUM},
		},
		Strengths:  []string{"a sister who helps", "persistence", "the son loves museums"},
		Summary:    "Family support for ADHD, benefits sorted, shared leisure.",
		AssessDate: day(-60),
	}})
	if err != nil {
		return DemoResult{}, fmt.Errorf("demo assessment: %w", err)
	}
	if a.GetState() == assessmentv1.Assessment_DRAFT {
		if _, err := cc.CompleteAssessment(w, &assessmentv1.CompleteAssessmentRequest{Name: a.GetName(), RequestId: "demo-tiina-baseline-complete"}); err != nil {
			return DemoResult{}, fmt.Errorf("demo assessment: %w", err)
		}
	}
	scores := func(vals ...int32) []*assessmentv1.DomainScore {
		var out []*assessmentv1.DomainScore
		for i, d := range DemoInstrument().GetDomains() {
			out = append(out, &assessmentv1.DomainScore{DomainId: d.GetId(), Score: vals[i]})
		}
		return out
	}
	for _, m := range []struct {
		key   string
		phase assessmentv1.MeasurementPhase
		at    int
		vals  []int32
	}{
		{"baseline", assessmentv1.MeasurementPhase_MEASUREMENT_PHASE_BASELINE, -60, []int32{6, 4, 8, 3, 5, 5, 4, 2, 6}},
		{"interim", assessmentv1.MeasurementPhase_MEASUREMENT_PHASE_INTERIM, -5, []int32{6, 6, 8, 5, 6, 7, 4, 5, 6}},
	} {
		if _, err := cc.CreateCapacityMeasurement(w, &assessmentv1.CreateCapacityMeasurementRequest{Parent: parent, RequestId: "demo-tiina-kyky-" + m.key,
			CapacityMeasurement: &assessmentv1.CapacityMeasurement{Instrument: "instruments/" + DemoInstrumentID, Phase: m.phase,
				Scores: scores(m.vals...), MeasureDate: day(m.at), Assessment: a.GetName()}}); err != nil {
			return DemoResult{}, fmt.Errorf("demo measurement %s: %w", m.key, err)
		}
	}

	plan, err := cc.CreatePlan(w, &assessmentv1.CreatePlanRequest{Parent: parent, RequestId: "demo-tiina-plan",
		Plan: &assessmentv1.Plan{DisplayName: "Tiina's plan"}})
	if err != nil {
		return DemoResult{}, fmt.Errorf("demo plan: %w", err)
	}
	res := DemoResult{Assessment: a.GetName(), Plan: plan.GetName()}
	if plan.GetActiveRevision() != "" {
		return res, nil
	}
	rev, err := cc.GetPlanRevision(w, &assessmentv1.GetPlanRevisionRequest{Name: plan.GetLatestRevision()})
	if err != nil {
		return res, fmt.Errorf("demo plan: %w", err)
	}
	if rev.GetState() == assessmentv1.PlanRevision_DRAFT {
		rev, err = cc.UpdatePlanRevision(w, &assessmentv1.UpdatePlanRevisionRequest{
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"assessments", "goals", "actions", "services", "wants_personal_budget", "review_schedule", "start_date", "end_date"}},
			PlanRevision: &assessmentv1.PlanRevision{Name: rev.GetName(), Etag: rev.GetEtag(), Assessments: []string{a.GetName()}, WantsPersonalBudget: true,
				Goals: []*assessmentv1.Goal{
					{Id: "g1", ClientWords: "Evenings without fights", Measure: "at most one fight a week", TargetDate: day(240),
						Needs: []*assessmentv1.NeedReference{{Assessment: a.GetName(), NeedId: "n1"}}},
					{Id: "g2", ClientWords: "Money matters in order", Measure: "the benefit decision is made", TargetDate: day(30),
						Needs: []*assessmentv1.NeedReference{{Assessment: a.GetName(), NeedId: "n2"}}},
					{Id: "g3", ClientWords: "Something nice together every month", Measure: "a family outing a month", TargetDate: day(240),
						Needs: []*assessmentv1.NeedReference{{Assessment: a.GetName(), NeedId: "n3"}}},
				},
				Actions: []*assessmentv1.PlanAction{
					{Description: "The coordinating worker chases the pending benefit decision", Responsible: assessmentv1.ResponsibleParty_RESPONSIBLE_PARTY_WORKER, DueDate: day(14), GoalIds: []string{"g2"}},
					{Description: "Tiina books the first coaching session", Responsible: assessmentv1.ResponsibleParty_RESPONSIBLE_PARTY_CLIENT, DueDate: day(7), GoalIds: []string{"g1"}},
				},
				Services: []*assessmentv1.ChosenService{
					{Pricing: &assessmentv1.ChosenService_PinnedPrice_{PinnedPrice: &assessmentv1.ChosenService_PinnedPrice{Offering: in.Coaching.Offering, PriceOptionId: in.Coaching.PriceOptionID}},
						Quantity: 1, Frequency: assessmentv1.Frequency_FREQUENCY_PER_WEEK, Note: "a specialist ADHD coach instead of standard family work"},
					{Pricing: &assessmentv1.ChosenService_PinnedPrice_{PinnedPrice: &assessmentv1.ChosenService_PinnedPrice{Offering: in.Culture.Offering, PriceOptionId: in.Culture.PriceOptionID}},
						Quantity: 1, Frequency: assessmentv1.Frequency_FREQUENCY_ONCE, Note: "museum visits together"},
				},
				ReviewSchedule: &assessmentv1.ReviewSchedule{NextReviewDate: day(30), CadenceMonths: 3},
				StartDate:      day(-55), EndDate: day(-55 + 364),
			}})
		if err != nil {
			return res, fmt.Errorf("demo plan content: %w", err)
		}
	}
	name := rev.GetName()
	steps := []struct {
		state assessmentv1.PlanRevision_State
		do    func() error
	}{
		{assessmentv1.PlanRevision_DRAFT, func() error {
			_, err := cc.ProposePlanRevision(w, &assessmentv1.ProposePlanRevisionRequest{Name: name, RequestId: "demo-tiina-plan-propose"})
			return err
		}},
		{assessmentv1.PlanRevision_PROPOSED, func() error {
			approver, why := w, ""
			if rev.GetRequiresManagerApproval() {
				approver, why = in.Manager, "specialist coaching instead of standard family work, agreed in the team"
			}
			_, err := cc.ApprovePlanRevision(approver, &assessmentv1.ApprovePlanRevisionRequest{Name: name, Justification: why, RequestId: "demo-tiina-plan-approve"})
			return err
		}},
		{assessmentv1.PlanRevision_APPROVED, func() error {
			_, err := cc.RecordPlanAgreement(w, &assessmentv1.RecordPlanAgreementRequest{Name: name, Method: assessmentv1.AgreementMethod_AGREEMENT_METHOD_IN_PERSON, RequestId: "demo-tiina-plan-agree"})
			if err != nil {
				return err
			}
			_, err = cc.ActivatePlanRevision(w, &assessmentv1.ActivatePlanRevisionRequest{Name: name, RequestId: "demo-tiina-plan-activate"})
			return err
		}},
	}
	started := false
	for _, s := range steps {
		started = started || s.state == rev.GetState()
		if !started {
			continue
		}
		if err := s.do(); err != nil {
			return res, fmt.Errorf("demo plan %v step: %w", s.state, err)
		}
	}
	return res, nil
}
