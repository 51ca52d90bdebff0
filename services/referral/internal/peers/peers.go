// Package peers adapts the generated gRPC clients of the clients, catalogue
// and budget services to the ports the use cases declare. Every call forwards
// the caller's bearer token (or the service's own, when the use case put it in
// the outgoing metadata) and carries a deadline.
package peers

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/polku-hb/polku/platform/peer"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/services/referral/internal/app"
	"github.com/polku-hb/polku/services/referral/internal/referral"
)

func mapErr(err error) error {
	switch status.Code(err) {
	case codes.NotFound:
		return app.ErrNotFound
	case codes.PermissionDenied:
		return app.ErrPermission
	case codes.Unauthenticated:
		return app.ErrUnauthenticated
	case codes.Canceled:
		return context.Canceled
	}
	return app.ErrPeerUnavailable
}

// Clients adapts clientsv1.ClientsServiceClient.
type Clients struct {
	C clientsv1.ClientsServiceClient
}

var _ app.Clients = (*Clients)(nil)

// Client reads the client's region and team.
func (c *Clients) Client(ctx context.Context, id string) (app.ClientInfo, error) {
	got, err := peer.Call(ctx, c.C.GetClient, &clientsv1.GetClientRequest{Name: "clients/" + id})
	if err != nil {
		return app.ClientInfo{}, mapErr(err)
	}
	info := app.ClientInfo{ID: id, Region: got.GetRegion(), CoordinatingWorker: got.GetCoordinatingWorker()}
	for _, m := range got.GetTeamMembers() {
		if m.GetSubject() != "" {
			info.Team = append(info.Team, m.GetSubject())
		}
	}
	return info, nil
}

// Disclosure asks what the client agrees to disclose to the provider.
func (c *Clients) Disclosure(ctx context.Context, clientID, providerID string) (app.Disclosure, error) {
	got, err := peer.Call(ctx, c.C.ResolveDisclosure, &clientsv1.ResolveDisclosureRequest{Name: "clients/" + clientID, Recipient: "providers/" + providerID})
	if err != nil {
		return app.Disclosure{}, mapErr(err)
	}
	d := app.Disclosure{Languages: got.GetPreferredLanguages(), ContactPreference: got.GetContactPreference().String(),
		CoordinatingWorker: got.GetCoordinatingWorker()}
	for _, cat := range got.GetAllowedCategories() {
		d.Categories = append(d.Categories, cat.String())
	}
	if cd := got.GetContactDetails(); cd != nil {
		d.Contact = &referral.Contact{Phone: cd.GetPhone(), Email: cd.GetEmail(), PostalAddress: cd.GetPostalAddress()}
	}
	return d, nil
}

// Catalogue adapts cataloguev1.CatalogueServiceClient.
type Catalogue struct {
	C cataloguev1.CatalogueServiceClient
}

var _ app.Catalogue = (*Catalogue)(nil)

// Offering reads an offering (and its provider's kind, when readable).
func (c *Catalogue) Offering(ctx context.Context, name string) (app.Offering, error) {
	o, err := peer.Call(ctx, c.C.GetOffering, &cataloguev1.GetOfferingRequest{Name: name})
	if err != nil {
		if status.Code(err) == codes.PermissionDenied || status.Code(err) == codes.InvalidArgument {
			return app.Offering{}, app.ErrNotFound
		}
		return app.Offering{}, mapErr(err)
	}
	prov, _, _ := strings.Cut(strings.TrimPrefix(name, "providers/"), "/")
	out := app.Offering{Name: o.GetName(), ProviderID: prov, Capacity: o.GetCapacity().String(),
		WaitingBand: o.GetWaitingBand().String(), Live: o.GetLive(),
		ResponseDeadline: o.GetResponseDeadline().AsDuration(), StartDeadline: o.GetStartDeadline().AsDuration()}
	if p, err := peer.Call(ctx, c.C.GetProvider, &cataloguev1.GetProviderRequest{Name: "providers/" + prov}); err == nil {
		out.ProviderKind = p.GetKind().String()
	}
	return out, nil
}

// Budget adapts budgetv1.BudgetServiceClient.
type Budget struct{ C budgetv1.BudgetServiceClient }

var _ app.Budget = (*Budget)(nil)

// Commit reserves funds for the referral.
func (b *Budget) Commit(ctx context.Context, budget, lineID string, amount int64, referralName, providerName, requestID string) (string, error) {
	e, err := peer.Call(ctx, b.C.CommitFunds, &budgetv1.CommitFundsRequest{Name: budget, LineId: lineID, AmountCents: amount,
		Reference: &budgetv1.LedgerReference{Referral: referralName, Provider: providerName}, RequestId: requestID})
	if err != nil {
		switch status.Code(err) {
		case codes.FailedPrecondition, codes.InvalidArgument, codes.OutOfRange:
			return "", app.ErrBudgetRefused
		}
		return "", mapErr(err)
	}
	return e.GetName(), nil
}

// Release returns the open remainder of a commitment.
func (b *Budget) Release(ctx context.Context, budget, entry, reason, requestID string) error {
	_, err := peer.Call(ctx, b.C.ReleaseFunds, &budgetv1.ReleaseFundsRequest{Name: budget, Commitment: entry, Reason: reason, RequestId: requestID})
	if err != nil {
		return mapErr(err)
	}
	return nil
}

// Assessment adapts assessmentv1.AssessmentServiceClient.
type Assessment struct {
	C assessmentv1.AssessmentServiceClient
}

var _ app.Assessment = (*Assessment)(nil)

// PlanGoals returns the goals (in the client's words) of the client's ACTIVE
// plan revisions; none when there is no active plan.
func (a *Assessment) PlanGoals(ctx context.Context, clientID string) ([]string, error) {
	var goals []string
	token := ""
	for range 20 {
		got, err := peer.Call(ctx, a.C.ListPlans, &assessmentv1.ListPlansRequest{Parent: "clients/" + clientID, PageSize: 500, PageToken: token})
		if err != nil {
			return nil, mapErr(err)
		}
		for _, p := range got.GetPlans() {
			if p.GetActiveRevision() == "" {
				continue
			}
			rev, err := peer.Call(ctx, a.C.GetPlanRevision, &assessmentv1.GetPlanRevisionRequest{Name: p.GetActiveRevision()})
			if err != nil {
				return nil, mapErr(err)
			}
			if rev.GetState() != assessmentv1.PlanRevision_ACTIVE {
				continue
			}
			for _, g := range rev.GetGoals() {
				goals = append(goals, g.GetClientWords())
			}
		}
		if token = got.GetNextPageToken(); token == "" {
			break
		}
	}
	return goals, nil
}

// AssessmentSummary returns the summary of the latest COMPLETED assessment
// ("" when there is none).
func (a *Assessment) AssessmentSummary(ctx context.Context, clientID string) (string, error) {
	var best *assessmentv1.Assessment
	token := ""
	for range 20 {
		got, err := peer.Call(ctx, a.C.ListAssessments, &assessmentv1.ListAssessmentsRequest{Parent: "clients/" + clientID, PageSize: 500, PageToken: token})
		if err != nil {
			return "", mapErr(err)
		}
		for _, x := range got.GetAssessments() {
			if x.GetState() != assessmentv1.Assessment_COMPLETED {
				continue
			}
			if best == nil || x.GetCompleteTime().AsTime().After(best.GetCompleteTime().AsTime()) {
				best = x
			}
		}
		if token = got.GetNextPageToken(); token == "" {
			break
		}
	}
	if best == nil {
		return "", nil
	}
	return best.GetSummary(), nil
}

// Summary returns the totals of the given budget, or of the client's ACTIVE
// budget when budget is "" (nil when there is none).
func (b *Budget) Summary(ctx context.Context, clientID, budget string) (*referral.BudgetSummary, error) {
	if budget == "" {
		got, err := peer.Call(ctx, b.C.ListBudgets, &budgetv1.ListBudgetsRequest{Parent: "clients/" + clientID, PageSize: 500})
		if err != nil {
			return nil, mapErr(err)
		}
		for _, x := range got.GetBudgets() {
			if x.GetState() == budgetv1.Budget_ACTIVE {
				budget = x.GetName()
				break
			}
		}
		if budget == "" {
			return nil, nil
		}
	}
	st, err := peer.Call(ctx, b.C.GetStatement, &budgetv1.GetStatementRequest{Name: budget + "/statement"})
	if err != nil {
		return nil, mapErr(err)
	}
	return &referral.BudgetSummary{AllocatedCents: st.GetAllocatedCents(), CommittedCents: st.GetCommittedCents(),
		SpentCents: st.GetSpentCents(), AvailableCents: st.GetAvailableCents()}, nil
}
