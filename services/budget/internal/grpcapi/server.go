// Package grpcapi implements the generated BudgetService server: it parses
// resource names, maps messages to the domain and errors to statuses.
package grpcapi

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/polku-hb/polku/platform/apierr"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/services/budget/internal/app"
	"github.com/polku-hb/polku/services/budget/internal/ledger"
)

// Server is the gRPC surface. Methods not listed here answer UNIMPLEMENTED
// (see docs/budget.md).
type Server struct {
	budgetv1.UnimplementedBudgetServiceServer
	app *app.Service
	log *slog.Logger
}

// New builds the server.
func New(a *app.Service, log *slog.Logger) *Server { return &Server{app: a, log: log} }

// parse splits a resource name made of fixed collection words and ids.
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

const budgetPattern = "clients/{client}/budgets/{budget}"

func budgetName(field, name string) ([]string, error) {
	id, ok := parse(name, "clients", "budgets")
	if !ok {
		return nil, badName(field, budgetPattern)
	}
	return id, nil
}

// CreateBudget implements the RPC.
func (s *Server) CreateBudget(ctx context.Context, req *budgetv1.CreateBudgetRequest) (*budgetv1.Budget, error) {
	id, ok := parse(req.GetParent(), "clients")
	if !ok || id[0] == "-" {
		return nil, badName("parent", "clients/{client}")
	}
	v, err := s.app.CreateBudget(ctx, id[0], budgetFromProto(req.GetBudget()), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent()+"/budgets", err)
	}
	return budgetToProto(v), nil
}

// GetBudget implements the RPC.
func (s *Server) GetBudget(ctx context.Context, req *budgetv1.GetBudgetRequest) (*budgetv1.Budget, error) {
	id, err := budgetName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	v, err := s.app.GetBudget(ctx, id[0], id[1])
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return budgetToProto(v), nil
}

// ListBudgets implements the RPC (one client; `clients/-` is not supported yet).
func (s *Server) ListBudgets(ctx context.Context, req *budgetv1.ListBudgetsRequest) (*budgetv1.ListBudgetsResponse, error) {
	id, ok := parse(req.GetParent(), "clients")
	if !ok || id[0] == "-" {
		return nil, badName("parent", "clients/{client}")
	}
	if req.GetFilter() != "" {
		return nil, apierr.Invalid(apierr.Violation{Field: "filter", Description: "is not supported yet"})
	}
	list, next, err := s.app.ListBudgets(ctx, id[0], req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	out := &budgetv1.ListBudgetsResponse{NextPageToken: next}
	for _, v := range list {
		out.Budgets = append(out.Budgets, budgetToProto(v))
	}
	return out, nil
}

// ApproveBudget implements the RPC.
func (s *Server) ApproveBudget(ctx context.Context, req *budgetv1.ApproveBudgetRequest) (*budgetv1.Budget, error) {
	id, err := budgetName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	v, err := s.app.ApproveBudget(ctx, id[0], id[1], req.GetJustification(), req.GetEtag(), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return budgetToProto(v), nil
}

// ActivateBudget implements the RPC.
func (s *Server) ActivateBudget(ctx context.Context, req *budgetv1.ActivateBudgetRequest) (*budgetv1.Budget, error) {
	id, err := budgetName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	v, err := s.app.ActivateBudget(ctx, id[0], id[1], req.GetEtag(), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return budgetToProto(v), nil
}

// CloseBudget implements the RPC.
func (s *Server) CloseBudget(ctx context.Context, req *budgetv1.CloseBudgetRequest) (*budgetv1.Budget, error) {
	id, err := budgetName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	v, err := s.app.CloseBudget(ctx, id[0], id[1], req.GetReason(), req.GetEtag(), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return budgetToProto(v), nil
}

// CommitFunds implements the RPC.
func (s *Server) CommitFunds(ctx context.Context, req *budgetv1.CommitFundsRequest) (*budgetv1.LedgerEntry, error) {
	id, err := budgetName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	v, err := s.app.CommitFunds(ctx, id[0], id[1], req.GetLineId(), req.GetAmountCents(), refFromProto(req.GetReference()), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return entryToProto(v), nil
}

// ReleaseFunds implements the RPC.
func (s *Server) ReleaseFunds(ctx context.Context, req *budgetv1.ReleaseFundsRequest) (*budgetv1.LedgerEntry, error) {
	id, err := budgetName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	v, err := s.app.ReleaseFunds(ctx, id[0], id[1], req.GetCommitment(), req.GetAmountCents(), req.GetReason(), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return entryToProto(v), nil
}

// SpendFunds implements the RPC.
func (s *Server) SpendFunds(ctx context.Context, req *budgetv1.SpendFundsRequest) (*budgetv1.LedgerEntry, error) {
	id, err := budgetName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	v, err := s.app.SpendFunds(ctx, id[0], id[1], req.GetLineId(), req.GetCommitment(), req.GetAmountCents(),
		refFromProto(req.GetReference()), fromDate(req.GetDeliveryDate()), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return entryToProto(v), nil
}

// AdjustFunds implements the RPC.
func (s *Server) AdjustFunds(ctx context.Context, req *budgetv1.AdjustFundsRequest) (*budgetv1.LedgerEntry, error) {
	id, err := budgetName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	v, err := s.app.AdjustFunds(ctx, id[0], id[1], req.GetLineId(), req.GetAmountCents(), req.GetReason(), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return entryToProto(v), nil
}

// GetLedgerEntry implements the RPC.
func (s *Server) GetLedgerEntry(ctx context.Context, req *budgetv1.GetLedgerEntryRequest) (*budgetv1.LedgerEntry, error) {
	c, b, seq, ok := app.ParseEntryName(req.GetName())
	if !ok {
		return nil, badName("name", "clients/{client}/budgets/{budget}/ledgerEntries/{n}")
	}
	v, err := s.app.GetLedgerEntry(ctx, c, b, seq)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return entryToProto(v), nil
}

// ListLedgerEntries implements the RPC (no filter yet).
func (s *Server) ListLedgerEntries(ctx context.Context, req *budgetv1.ListLedgerEntriesRequest) (*budgetv1.ListLedgerEntriesResponse, error) {
	id, err := budgetName("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	if req.GetFilter() != "" {
		return nil, apierr.Invalid(apierr.Violation{Field: "filter", Description: "is not supported yet"})
	}
	var reverse bool
	switch req.GetOrderBy() {
	case "", "sequence":
	case "sequence desc":
		reverse = true
	default:
		return nil, apierr.Invalid(apierr.Violation{Field: "order_by", Description: `must be "sequence" or "sequence desc"`})
	}
	list, next, err := s.app.ListLedgerEntries(ctx, id[0], id[1], req.GetPageSize(), req.GetPageToken(), reverse)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	out := &budgetv1.ListLedgerEntriesResponse{NextPageToken: next}
	for _, v := range list {
		out.LedgerEntries = append(out.LedgerEntries, entryToProto(v))
	}
	return out, nil
}

// GetStatement implements the RPC.
func (s *Server) GetStatement(ctx context.Context, req *budgetv1.GetStatementRequest) (*budgetv1.Statement, error) {
	name, ok := strings.CutSuffix(req.GetName(), "/statement")
	id, ok2 := parse(name, "clients", "budgets")
	if !ok || !ok2 {
		return nil, badName("name", budgetPattern+"/statement")
	}
	st, err := s.app.GetStatement(ctx, id[0], id[1], req.GetIncludeEntries())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return statementToProto(st, time.Now()), nil
}

// CheckConsistency implements the RPC.
func (s *Server) CheckConsistency(ctx context.Context, req *budgetv1.CheckConsistencyRequest) (*budgetv1.ConsistencyReport, error) {
	id, err := budgetName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	c, err := s.app.CheckConsistency(ctx, id[0], id[1])
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	out := &budgetv1.ConsistencyReport{Budget: req.GetName(), Consistent: len(c.Diffs) == 0, EntriesChecked: c.Entries, LastEntrySequence: c.LastSeq}
	for _, d := range c.Diffs {
		subject := d.Subject
		if d.Field == "open_amount_cents" {
			subject = req.GetName() + "/ledgerEntries/" + d.Subject
		}
		out.Differences = append(out.Differences, &budgetv1.BalanceDifference{Subject: subject, Field: d.Field, Cached: d.Cached, Recomputed: d.Recomputed})
	}
	return out, nil
}

// GetProviderCommitment implements the RPC.
func (s *Server) GetProviderCommitment(ctx context.Context, req *budgetv1.GetProviderCommitmentRequest) (*budgetv1.ProviderCommitment, error) {
	id, ok := parse(req.GetName(), "providers", "commitments")
	if !ok {
		return nil, badName("name", "providers/{provider}/commitments/{referral}")
	}
	pc, err := s.app.GetProviderCommitment(ctx, "providers/"+id[0], id[1])
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return providerCommitmentToProto(pc), nil
}

// ListProviderCommitments implements the RPC (no filter yet; ordered by referral id).
func (s *Server) ListProviderCommitments(ctx context.Context, req *budgetv1.ListProviderCommitmentsRequest) (*budgetv1.ListProviderCommitmentsResponse, error) {
	id, ok := parse(req.GetParent(), "providers")
	if !ok {
		return nil, badName("parent", "providers/{provider}")
	}
	if req.GetFilter() != "" {
		return nil, apierr.Invalid(apierr.Violation{Field: "filter", Description: "is not supported yet"})
	}
	list, next, err := s.app.ListProviderCommitments(ctx, req.GetParent(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	out := &budgetv1.ListProviderCommitmentsResponse{NextPageToken: next}
	for _, pc := range list {
		out.ProviderCommitments = append(out.ProviderCommitments, providerCommitmentToProto(pc))
	}
	_ = id
	return out, nil
}

// ReallocateFunds implements the RPC.
func (s *Server) ReallocateFunds(ctx context.Context, req *budgetv1.ReallocateFundsRequest) (*budgetv1.ReallocateFundsResponse, error) {
	id, err := budgetName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	from, to, err := s.app.ReallocateFunds(ctx, id[0], id[1], req.GetFromLineId(), req.GetToLineId(), req.GetAmountCents(), req.GetReason(), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return &budgetv1.ReallocateFundsResponse{FromEntry: entryToProto(from), ToEntry: entryToProto(to)}, nil
}

// RefundFunds implements the RPC.
func (s *Server) RefundFunds(ctx context.Context, req *budgetv1.RefundFundsRequest) (*budgetv1.LedgerEntry, error) {
	id, err := budgetName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	v, err := s.app.RefundFunds(ctx, id[0], id[1], req.GetSpendEntry(), req.GetAmountCents(), req.GetReason(), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return entryToProto(v), nil
}

// GetCohortReport implements the RPC.
func (s *Server) GetCohortReport(ctx context.Context, req *budgetv1.GetCohortReportRequest) (*budgetv1.CohortReport, error) {
	name, ok := strings.CutSuffix(req.GetName(), "/cohortReport")
	id, ok2 := parse(name, "regions")
	if !ok || !ok2 {
		return nil, badName("name", "regions/{region}/cohortReport")
	}
	reps, err := s.app.GetCohortReport(ctx, id[0], fromDate(req.GetStartDate()), fromDate(req.GetEndDate()), req.GetInstrument())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	out := &budgetv1.CohortReport{Name: req.GetName(), StartDate: req.GetStartDate(), EndDate: req.GetEndDate(),
		MinGroupSize: ledger.MinGroupSize, ComputeTime: ts(time.Now())}
	for _, r := range reps {
		st := r.Stats
		cs := &budgetv1.CohortStats{Cohort: clientsv1.Cohort(clientsv1.Cohort_value[r.Cohort]), Suppressed: st.Suppressed,
			ClientCount: int32(st.Clients), ClientsWithoutBudget: int32(st.WithoutBudget), TotalCostCents: st.Total,
			MeanCostPerClientCents: st.Mean, MedianCostPerClientCents: st.Median,
			CapacityClientCount: int32(r.Capacity.Clients), CapacitySuppressed: r.Capacity.Suppressed}
		if !r.Capacity.Suppressed {
			cs.MeanCapacityChange = r.Capacity.Mean
		} else {
			cs.CapacityClientCount = 0
		}
		for _, c := range st.Categories {
			cs.CategoryCosts = append(cs.CategoryCosts, &budgetv1.CategoryCost{Category: category(c.Category), Suppressed: c.Suppressed,
				ClientCount: int32(c.Clients), TotalCostCents: c.Total, MeanCostPerClientCents: c.Mean})
		}
		out.Cohorts = append(out.Cohorts, cs)
	}
	return out, nil
}

// ReviseBudget implements the RPC.
func (s *Server) ReviseBudget(ctx context.Context, req *budgetv1.ReviseBudgetRequest) (*budgetv1.Budget, error) {
	id, err := budgetName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	v, err := s.app.ReviseBudget(ctx, id[0], id[1], req.GetPlanRevision(), req.GetReleaseUnused(), req.GetEtag(), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return budgetToProto(v), nil
}

// UpdateBudget implements the RPC.
func (s *Server) UpdateBudget(ctx context.Context, req *budgetv1.UpdateBudgetRequest) (*budgetv1.Budget, error) {
	b := req.GetBudget()
	id, err := budgetName("budget.name", b.GetName())
	if err != nil {
		return nil, err
	}
	v, err := s.app.UpdateBudget(ctx, id[0], id[1], b.GetEtag(), budgetFromProto(b), req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, s.toStatus(ctx, b.GetName(), err)
	}
	return budgetToProto(v), nil
}
