// Package grpcapi implements the generated AssessmentService server: it parses
// resource names, maps messages to the domain and errors to statuses.
package grpcapi

import (
	"context"
	"log/slog"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/polku-hb/polku/platform/apierr"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	"github.com/polku-hb/polku/services/assessment/internal/app"
)

// Server is the gRPC surface.
type Server struct {
	assessmentv1.UnimplementedAssessmentServiceServer
	app *app.Service
	log *slog.Logger
}

// New builds the server.
func New(a *app.Service, log *slog.Logger) *Server { return &Server{app: a, log: log} }

// parse splits a resource name made of fixed collection words and ids:
// parse("clients/a/plans/b", "clients", "plans") = ["a", "b"].
func parse(name string, collections ...string) ([]string, bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 2*len(collections) {
		return nil, false
	}
	ids := make([]string, len(collections))
	for i, c := range collections {
		if parts[2*i] != c || parts[2*i+1] == "" {
			return nil, false
		}
		ids[i] = parts[2*i+1]
	}
	return ids, true
}

func badName(field, pattern string) error {
	return apierr.Invalid(apierr.Violation{Field: field, Description: "must be " + pattern})
}

func paths(m *fieldmaskpb.FieldMask) []string { return m.GetPaths() }

// ---- assessments

// CreateAssessment implements the RPC.
func (s *Server) CreateAssessment(ctx context.Context, req *assessmentv1.CreateAssessmentRequest) (*assessmentv1.Assessment, error) {
	id, ok := parse(req.GetParent(), "clients")
	if !ok {
		return nil, badName("parent", "clients/{client}")
	}
	v, err := s.app.CreateAssessment(ctx, id[0], assessmentFromProto(req.GetAssessment()), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent()+"/assessments", err)
	}
	return assessmentToProto(v), nil
}

// GetAssessment implements the RPC.
func (s *Server) GetAssessment(ctx context.Context, req *assessmentv1.GetAssessmentRequest) (*assessmentv1.Assessment, error) {
	id, ok := parse(req.GetName(), "clients", "assessments")
	if !ok {
		return nil, badName("name", "clients/{client}/assessments/{assessment}")
	}
	v, err := s.app.GetAssessment(ctx, id[0], id[1], int(req.GetVersion()))
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return assessmentToProto(v), nil
}

// ListAssessments implements the RPC.
func (s *Server) ListAssessments(ctx context.Context, req *assessmentv1.ListAssessmentsRequest) (*assessmentv1.ListAssessmentsResponse, error) {
	if err := noListOptions(req.GetFilter(), req.GetOrderBy()); err != nil {
		return nil, err
	}
	id, ok := parse(req.GetParent(), "clients")
	if !ok {
		return nil, badName("parent", "clients/{client}")
	}
	list, next, err := s.app.ListAssessments(ctx, id[0], req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	out := &assessmentv1.ListAssessmentsResponse{NextPageToken: next}
	for _, v := range list {
		out.Assessments = append(out.Assessments, assessmentToProto(v))
	}
	return out, nil
}

// UpdateAssessment implements the RPC.
func (s *Server) UpdateAssessment(ctx context.Context, req *assessmentv1.UpdateAssessmentRequest) (*assessmentv1.Assessment, error) {
	a := req.GetAssessment()
	id, ok := parse(a.GetName(), "clients", "assessments")
	if !ok {
		return nil, badName("assessment.name", "clients/{client}/assessments/{assessment}")
	}
	v, err := s.app.UpdateAssessment(ctx, id[0], id[1], a.GetEtag(), assessmentFromProto(a), paths(req.GetUpdateMask()))
	if err != nil {
		return nil, s.toStatus(ctx, a.GetName(), err)
	}
	return assessmentToProto(v), nil
}

// CompleteAssessment implements the RPC.
func (s *Server) CompleteAssessment(ctx context.Context, req *assessmentv1.CompleteAssessmentRequest) (*assessmentv1.Assessment, error) {
	id, ok := parse(req.GetName(), "clients", "assessments")
	if !ok {
		return nil, badName("name", "clients/{client}/assessments/{assessment}")
	}
	v, err := s.app.CompleteAssessment(ctx, id[0], id[1], req.GetEtag(), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return assessmentToProto(v), nil
}

// CorrectAssessment implements the RPC.
func (s *Server) CorrectAssessment(ctx context.Context, req *assessmentv1.CorrectAssessmentRequest) (*assessmentv1.Assessment, error) {
	a := req.GetAssessment()
	id, ok := parse(a.GetName(), "clients", "assessments")
	if !ok {
		return nil, badName("assessment.name", "clients/{client}/assessments/{assessment}")
	}
	v, err := s.app.CorrectAssessment(ctx, id[0], id[1], a.GetEtag(), assessmentFromProto(a), paths(req.GetUpdateMask()), req.GetReason(), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, a.GetName(), err)
	}
	return assessmentToProto(v), nil
}

// ---- plans

// CreatePlan implements the RPC.
func (s *Server) CreatePlan(ctx context.Context, req *assessmentv1.CreatePlanRequest) (*assessmentv1.Plan, error) {
	id, ok := parse(req.GetParent(), "clients")
	if !ok {
		return nil, badName("parent", "clients/{client}")
	}
	v, err := s.app.CreatePlan(ctx, id[0], planFromProto(req.GetPlan()), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent()+"/plans", err)
	}
	return planToProto(v), nil
}

// GetPlan implements the RPC.
func (s *Server) GetPlan(ctx context.Context, req *assessmentv1.GetPlanRequest) (*assessmentv1.Plan, error) {
	id, ok := parse(req.GetName(), "clients", "plans")
	if !ok {
		return nil, badName("name", "clients/{client}/plans/{plan}")
	}
	v, err := s.app.GetPlan(ctx, id[0], id[1])
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return planToProto(v), nil
}

// ListPlans implements the RPC (one client; `clients/-` is not supported yet).
func (s *Server) ListPlans(ctx context.Context, req *assessmentv1.ListPlansRequest) (*assessmentv1.ListPlansResponse, error) {
	if err := noListOptions(req.GetFilter(), req.GetOrderBy()); err != nil {
		return nil, err
	}
	id, ok := parse(req.GetParent(), "clients")
	if !ok || id[0] == "-" {
		return nil, badName("parent", "clients/{client}")
	}
	list, next, err := s.app.ListPlans(ctx, id[0], req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	out := &assessmentv1.ListPlansResponse{NextPageToken: next}
	for _, v := range list {
		out.Plans = append(out.Plans, planToProto(v))
	}
	return out, nil
}

// UpdatePlan implements the RPC.
func (s *Server) UpdatePlan(ctx context.Context, req *assessmentv1.UpdatePlanRequest) (*assessmentv1.Plan, error) {
	p := req.GetPlan()
	id, ok := parse(p.GetName(), "clients", "plans")
	if !ok {
		return nil, badName("plan.name", "clients/{client}/plans/{plan}")
	}
	v, err := s.app.UpdatePlan(ctx, id[0], id[1], p.GetEtag(), planFromProto(p), paths(req.GetUpdateMask()))
	if err != nil {
		return nil, s.toStatus(ctx, p.GetName(), err)
	}
	return planToProto(v), nil
}

// RevisePlan implements the RPC.
func (s *Server) RevisePlan(ctx context.Context, req *assessmentv1.RevisePlanRequest) (*assessmentv1.PlanRevision, error) {
	id, ok := parse(req.GetName(), "clients", "plans")
	if !ok {
		return nil, badName("name", "clients/{client}/plans/{plan}")
	}
	v, err := s.app.RevisePlan(ctx, id[0], id[1], req.GetReason(), req.GetEtag(), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return revisionToProto(v), nil
}

// RecordPlanReview implements the RPC.
func (s *Server) RecordPlanReview(ctx context.Context, req *assessmentv1.RecordPlanReviewRequest) (*assessmentv1.Plan, error) {
	id, ok := parse(req.GetName(), "clients", "plans")
	if !ok {
		return nil, badName("name", "clients/{client}/plans/{plan}")
	}
	v, err := s.app.RecordPlanReview(ctx, id[0], id[1], fromDate(req.GetReviewDate()), fromDate(req.GetNextReviewDate()),
		req.GetNote(), req.GetEtag(), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return planToProto(v), nil
}

// revisionName parses clients/{c}/plans/{p}/revisions/{n}.
func revisionName(field, name string) (string, string, int, error) {
	id, ok := parse(name, "clients", "plans", "revisions")
	if ok {
		if n, err := strconv.Atoi(id[2]); err == nil && n > 0 && strconv.Itoa(n) == id[2] {
			return id[0], id[1], n, nil
		}
	}
	return "", "", 0, badName(field, "clients/{client}/plans/{plan}/revisions/{revision number}")
}

// GetPlanRevision implements the RPC.
func (s *Server) GetPlanRevision(ctx context.Context, req *assessmentv1.GetPlanRevisionRequest) (*assessmentv1.PlanRevision, error) {
	c, p, n, err := revisionName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	v, err := s.app.GetRevision(ctx, c, p, n)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return revisionToProto(v), nil
}

// ListPlanRevisions implements the RPC.
func (s *Server) ListPlanRevisions(ctx context.Context, req *assessmentv1.ListPlanRevisionsRequest) (*assessmentv1.ListPlanRevisionsResponse, error) {
	if err := noListOptions(req.GetFilter(), req.GetOrderBy()); err != nil {
		return nil, err
	}
	id, ok := parse(req.GetParent(), "clients", "plans")
	if !ok {
		return nil, badName("parent", "clients/{client}/plans/{plan}")
	}
	list, next, err := s.app.ListRevisions(ctx, id[0], id[1], req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	out := &assessmentv1.ListPlanRevisionsResponse{NextPageToken: next}
	for _, v := range list {
		out.PlanRevisions = append(out.PlanRevisions, revisionToProto(v))
	}
	return out, nil
}

// UpdatePlanRevision implements the RPC.
func (s *Server) UpdatePlanRevision(ctx context.Context, req *assessmentv1.UpdatePlanRevisionRequest) (*assessmentv1.PlanRevision, error) {
	r := req.GetPlanRevision()
	c, p, n, err := revisionName("plan_revision.name", r.GetName())
	if err != nil {
		return nil, err
	}
	in := revisionFromProto(r)
	in.ClientID, in.PlanID = c, p
	v, err := s.app.UpdateRevision(ctx, c, p, n, r.GetEtag(), in, paths(req.GetUpdateMask()))
	if err != nil {
		return nil, s.toStatus(ctx, r.GetName(), err)
	}
	return revisionToProto(v), nil
}

type verb func(ctx context.Context, c, p string, n int) (app.RevisionView, error)

func (s *Server) verb(ctx context.Context, name string, fn verb) (*assessmentv1.PlanRevision, error) {
	c, p, n, err := revisionName("name", name)
	if err != nil {
		return nil, err
	}
	v, err := fn(ctx, c, p, n)
	if err != nil {
		return nil, s.toStatus(ctx, name, err)
	}
	return revisionToProto(v), nil
}

// ProposePlanRevision implements the RPC.
func (s *Server) ProposePlanRevision(ctx context.Context, req *assessmentv1.ProposePlanRevisionRequest) (*assessmentv1.PlanRevision, error) {
	return s.verb(ctx, req.GetName(), func(ctx context.Context, c, p string, n int) (app.RevisionView, error) {
		return s.app.ProposeRevision(ctx, c, p, n, req.GetEtag(), req.GetRequestId())
	})
}

// ApprovePlanRevision implements the RPC.
func (s *Server) ApprovePlanRevision(ctx context.Context, req *assessmentv1.ApprovePlanRevisionRequest) (*assessmentv1.PlanRevision, error) {
	return s.verb(ctx, req.GetName(), func(ctx context.Context, c, p string, n int) (app.RevisionView, error) {
		return s.app.ApproveRevision(ctx, c, p, n, req.GetJustification(), req.GetEtag(), req.GetRequestId())
	})
}

// ReturnPlanRevision implements the RPC.
func (s *Server) ReturnPlanRevision(ctx context.Context, req *assessmentv1.ReturnPlanRevisionRequest) (*assessmentv1.PlanRevision, error) {
	return s.verb(ctx, req.GetName(), func(ctx context.Context, c, p string, n int) (app.RevisionView, error) {
		return s.app.ReturnRevision(ctx, c, p, n, req.GetReason(), req.GetEtag(), req.GetRequestId())
	})
}

// RecordPlanAgreement implements the RPC.
func (s *Server) RecordPlanAgreement(ctx context.Context, req *assessmentv1.RecordPlanAgreementRequest) (*assessmentv1.PlanRevision, error) {
	return s.verb(ctx, req.GetName(), func(ctx context.Context, c, p string, n int) (app.RevisionView, error) {
		return s.app.RecordAgreement(ctx, c, p, n, enumName(req.GetMethod()), req.GetNote(), req.GetEtag(), req.GetRequestId())
	})
}

// ActivatePlanRevision implements the RPC.
func (s *Server) ActivatePlanRevision(ctx context.Context, req *assessmentv1.ActivatePlanRevisionRequest) (*assessmentv1.PlanRevision, error) {
	return s.verb(ctx, req.GetName(), func(ctx context.Context, c, p string, n int) (app.RevisionView, error) {
		return s.app.ActivateRevision(ctx, c, p, n, req.GetEtag(), req.GetRequestId())
	})
}

// ClosePlanRevision implements the RPC.
func (s *Server) ClosePlanRevision(ctx context.Context, req *assessmentv1.ClosePlanRevisionRequest) (*assessmentv1.PlanRevision, error) {
	return s.verb(ctx, req.GetName(), func(ctx context.Context, c, p string, n int) (app.RevisionView, error) {
		return s.app.CloseRevision(ctx, c, p, n, req.GetReason(), req.GetEtag(), req.GetRequestId())
	})
}

// ListOverdueReviews implements the RPC.
func (s *Server) ListOverdueReviews(ctx context.Context, req *assessmentv1.ListOverdueReviewsRequest) (*assessmentv1.ListOverdueReviewsResponse, error) {
	if ob := req.GetOrderBy(); ob != "" && ob != "next_review_date" {
		return nil, apierr.Invalid(apierr.Violation{Field: "order_by", Description: "must be next_review_date (most overdue first)"})
	}
	list, next, err := s.app.ListOverdueReviews(ctx, req.GetWorker(), fromDate(req.GetAsOfDate()), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, s.toStatus(ctx, "overdue reviews", err)
	}
	out := &assessmentv1.ListOverdueReviewsResponse{NextPageToken: next}
	for _, o := range list {
		p := o.Plan
		out.OverdueReviews = append(out.OverdueReviews, &assessmentv1.OverdueReview{
			Plan: app.PlanName(p.ClientID, p.ID), ActiveRevision: app.RevisionName(p.ClientID, p.ID, p.ActiveRevision),
			ResponsibleWorker: p.ResponsibleWorker, NextReviewDate: toDate(p.NextReviewDate), DaysOverdue: int32(o.DaysOverdue)})
	}
	return out, nil
}

// noListOptions refuses filter and order_by on lists that support neither, so a
// caller is told instead of silently getting an unfiltered page.
func noListOptions(filter, orderBy string) error {
	var v apierr.Violations
	if filter != "" {
		v.Add("filter", "is not supported on this list")
	}
	if orderBy != "" {
		v.Add("order_by", "is not supported on this list; results come in their documented order")
	}
	return v.Err()
}
