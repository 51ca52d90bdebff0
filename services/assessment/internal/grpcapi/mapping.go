package grpcapi

import (
	"time"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/types/known/timestamppb"

	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	"github.com/polku-hb/polku/services/assessment/internal/app"
	"github.com/polku-hb/polku/services/assessment/internal/assessment"
)

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func toDate(d assessment.Date) *date.Date {
	if d.IsZero() {
		return nil
	}
	return &date.Date{Year: int32(d.Year), Month: int32(d.Month), Day: int32(d.Day)}
}

func fromDate(d *date.Date) assessment.Date {
	if d == nil {
		return assessment.Date{}
	}
	return assessment.Date{Year: int(d.GetYear()), Month: int(d.GetMonth()), Day: int(d.GetDay())}
}

// enum turns a proto enum name back into its value (unknown -> 0).
func enum(m map[string]int32, s string) int32 { return m[s] }

// enumName turns an enum value into its stored name ("" for UNSPECIFIED).
func enumName[E interface {
	String() string
	~int32
}](e E) string {
	if e == 0 {
		return ""
	}
	return e.String()
}

func toText(t assessment.Text) *cataloguev1.LocalizedText {
	if t == (assessment.Text{}) {
		return nil
	}
	return &cataloguev1.LocalizedText{Fi: t.Fi, Sv: t.Sv, En: t.En}
}

// ---- assessments

func assessmentToProto(v app.AssessmentView) *assessmentv1.Assessment {
	a := v.A
	out := &assessmentv1.Assessment{
		Name: app.AssessmentName(a.ClientID, a.ID), Kind: assessmentv1.Assessment_Kind(enum(assessmentv1.Assessment_Kind_value, a.Kind)),
		Participants: a.Participants, ClientWords: a.ClientWords, Strengths: a.Strengths, Summary: a.Summary,
		AssessDate: toDate(a.AssessDate), State: assessmentv1.Assessment_State(enum(assessmentv1.Assessment_State_value, a.State)),
		Version: int32(a.Version), Author: a.Author, CreateTime: ts(a.CreateTime), UpdateTime: ts(a.UpdateTime),
		CompleteTime: ts(a.CompleteTime), Etag: app.Etag(v.Version),
	}
	for _, n := range a.Needs {
		out.Needs = append(out.Needs, &assessmentv1.Need{Id: n.ID, Description: n.Description,
			Domain:   assessmentv1.NeedDomain(enum(assessmentv1.NeedDomain_value, n.Domain)),
			Priority: assessmentv1.NeedPriority(enum(assessmentv1.NeedPriority_value, n.Priority))})
	}
	for _, c := range a.Corrections {
		out.Corrections = append(out.Corrections, &assessmentv1.AssessmentCorrection{Version: int32(c.Version), Reason: c.Reason,
			Fields: c.Fields, CorrectedBy: c.CorrectedBy, CorrectTime: ts(c.CorrectTime)})
	}
	return out
}

func assessmentFromProto(a *assessmentv1.Assessment) *assessment.Assessment {
	out := &assessment.Assessment{
		Kind: enumName(a.GetKind()), Participants: a.GetParticipants(), ClientWords: a.GetClientWords(),
		Strengths: a.GetStrengths(), Summary: a.GetSummary(), AssessDate: fromDate(a.GetAssessDate()),
	}
	for _, n := range a.GetNeeds() {
		out.Needs = append(out.Needs, assessment.Need{ID: n.GetId(), Domain: enumName(n.GetDomain()),
			Description: n.GetDescription(), Priority: enumName(n.GetPriority())})
	}
	return out
}

// ---- plans

func planToProto(v app.PlanView) *assessmentv1.Plan {
	p := v.Plan
	out := &assessmentv1.Plan{
		Name: app.PlanName(p.ClientID, p.ID), DisplayName: p.DisplayName, ResponsibleWorker: p.ResponsibleWorker,
		State:          assessmentv1.Plan_State(enum(assessmentv1.Plan_State_value, p.State)),
		LastReviewDate: toDate(p.LastReviewDate), NextReviewDate: toDate(p.NextReviewDate), ReviewOverdue: v.Overdue,
		CreateTime: ts(p.CreateTime), UpdateTime: ts(p.UpdateTime), CloseTime: ts(p.CloseTime), Etag: app.Etag(v.Version),
	}
	if p.ActiveRevision != 0 {
		out.ActiveRevision = app.RevisionName(p.ClientID, p.ID, p.ActiveRevision)
	}
	if p.LatestRevision != 0 {
		out.LatestRevision = app.RevisionName(p.ClientID, p.ID, p.LatestRevision)
	}
	return out
}

func planFromProto(p *assessmentv1.Plan) *assessment.Plan {
	return &assessment.Plan{DisplayName: p.GetDisplayName(), ResponsibleWorker: p.GetResponsibleWorker()}
}

func revisionToProto(v app.RevisionView) *assessmentv1.PlanRevision {
	r := v.Rev
	out := &assessmentv1.PlanRevision{
		Name: app.RevisionName(r.ClientID, r.PlanID, r.Number), RevisionNumber: int32(r.Number),
		Assessments: r.Assessments, WantsPersonalBudget: r.WantsPersonalBudget,
		StartDate: toDate(r.StartDate), EndDate: toDate(r.EndDate),
		TotalCostCents: r.TotalCostCents, YearlyCostCents: r.YearlyCostCents, RequiresManagerApproval: v.RequiresManager,
		State:        assessmentv1.PlanRevision_State(enum(assessmentv1.PlanRevision_State_value, r.State)),
		ReviseReason: r.ReviseReason, ReturnReason: r.ReturnReason, CloseReason: r.CloseReason,
		CreateTime: ts(r.CreateTime), UpdateTime: ts(r.UpdateTime), ActivateTime: ts(r.ActivateTime), EndTime: ts(r.EndTime),
		Etag: app.Etag(v.Version),
	}
	if !r.Schedule.NextReviewDate.IsZero() || r.Schedule.CadenceMonths != 0 {
		out.ReviewSchedule = &assessmentv1.ReviewSchedule{NextReviewDate: toDate(r.Schedule.NextReviewDate), CadenceMonths: r.Schedule.CadenceMonths}
	}
	for _, g := range r.Goals {
		pg := &assessmentv1.Goal{Id: g.ID, ClientWords: g.ClientWords, Measure: g.Measure, TargetDate: toDate(g.TargetDate),
			Progress: assessmentv1.Goal_Progress(enum(assessmentv1.Goal_Progress_value, g.Progress))}
		for _, n := range g.Needs {
			pg.Needs = append(pg.Needs, &assessmentv1.NeedReference{Assessment: n.Assessment, NeedId: n.NeedID})
		}
		out.Goals = append(out.Goals, pg)
	}
	for _, a := range r.Actions {
		out.Actions = append(out.Actions, &assessmentv1.PlanAction{Id: a.ID, Description: a.Description,
			Responsible:           assessmentv1.ResponsibleParty(enum(assessmentv1.ResponsibleParty_value, a.Responsible)),
			ResponsibleTeamMember: a.ResponsibleTeamMember, ResponsibleProvider: a.ResponsibleProvider,
			DueDate: toDate(a.DueDate), Done: a.Done, GoalIds: a.GoalIDs})
	}
	for _, s := range r.Services {
		ps := &assessmentv1.ChosenService{Id: s.ID,
			Category: cataloguev1.Category(enum(cataloguev1.Category_value, s.Category)), Quantity: s.Quantity,
			Frequency: assessmentv1.Frequency(enum(assessmentv1.Frequency_value, s.Frequency)), Note: s.Note,
			Title: toText(s.Title), Unit: cataloguev1.PriceUnit(enum(cataloguev1.PriceUnit_value, s.Unit)),
			UnitAmountCents: s.UnitAmountCents, CostCents: s.CostCents, YearlyCostCents: s.YearlyCostCents}
		switch {
		case s.Flexible:
			ps.Pricing = &assessmentv1.ChosenService_FlexibleAmountCents{FlexibleAmountCents: s.FlexibleCents}
		case s.AcceptedQuote != "":
			ps.Pricing = &assessmentv1.ChosenService_AcceptedQuote{AcceptedQuote: s.AcceptedQuote}
		default:
			ps.Pricing = &assessmentv1.ChosenService_PinnedPrice_{PinnedPrice: &assessmentv1.ChosenService_PinnedPrice{
				Offering: s.Offering, PriceVersion: s.PriceVersion, PriceOptionId: s.PriceOptionID}}
		}
		out.Services = append(out.Services, ps)
	}
	if a := r.Agreement; a != nil {
		out.Agreement = &assessmentv1.PlanAgreement{Method: assessmentv1.AgreementMethod(enum(assessmentv1.AgreementMethod_value, a.Method)),
			ByClient: a.ByClient, RecordedBy: a.RecordedBy, Note: a.Note, AgreeTime: ts(a.AgreeTime)}
	}
	if a := r.Approval; a != nil {
		out.Approval = &assessmentv1.PlanApproval{Approver: a.Approver, ApproverRole: a.ApproverRole, Justification: a.Justification,
			YearlyCostCents: a.YearlyCostCents, AuthorityLimitCents: a.AuthorityLimitCents, ApproveTime: ts(a.ApproveTime)}
	}
	return out
}

func revisionFromProto(r *assessmentv1.PlanRevision) *assessment.Revision {
	out := &assessment.Revision{
		Assessments: r.GetAssessments(), WantsPersonalBudget: r.GetWantsPersonalBudget(),
		StartDate: fromDate(r.GetStartDate()), EndDate: fromDate(r.GetEndDate()),
		Schedule: assessment.Schedule{NextReviewDate: fromDate(r.GetReviewSchedule().GetNextReviewDate()), CadenceMonths: r.GetReviewSchedule().GetCadenceMonths()},
	}
	for _, g := range r.GetGoals() {
		dg := assessment.Goal{ID: g.GetId(), ClientWords: g.GetClientWords(), Measure: g.GetMeasure(),
			TargetDate: fromDate(g.GetTargetDate()), Progress: enumName(g.GetProgress())}
		for _, n := range g.GetNeeds() {
			dg.Needs = append(dg.Needs, assessment.NeedRef{Assessment: n.GetAssessment(), NeedID: n.GetNeedId()})
		}
		out.Goals = append(out.Goals, dg)
	}
	for _, a := range r.GetActions() {
		out.Actions = append(out.Actions, assessment.Action{ID: a.GetId(), Description: a.GetDescription(),
			Responsible: enumName(a.GetResponsible()), ResponsibleTeamMember: a.GetResponsibleTeamMember(),
			ResponsibleProvider: a.GetResponsibleProvider(), DueDate: fromDate(a.GetDueDate()), Done: a.GetDone(), GoalIDs: a.GetGoalIds()})
	}
	for _, s := range r.GetServices() {
		ds := assessment.Service{ID: s.GetId(), Category: enumName(s.GetCategory()), Quantity: s.GetQuantity(),
			Frequency: enumName(s.GetFrequency()), Note: s.GetNote()}
		switch p := s.GetPricing().(type) {
		case *assessmentv1.ChosenService_PinnedPrice_:
			ds.Offering, ds.PriceVersion, ds.PriceOptionID = p.PinnedPrice.GetOffering(), p.PinnedPrice.GetPriceVersion(), p.PinnedPrice.GetPriceOptionId()
		case *assessmentv1.ChosenService_AcceptedQuote:
			ds.AcceptedQuote = p.AcceptedQuote
		case *assessmentv1.ChosenService_FlexibleAmountCents:
			ds.Flexible, ds.FlexibleCents = true, p.FlexibleAmountCents
		}
		out.Services = append(out.Services, ds)
	}
	return out
}
