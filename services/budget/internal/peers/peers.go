// Package peers adapts the generated gRPC clients of the clients and catalogue
// services to the ports the use cases declare. Every call forwards the caller's
// bearer token (zero trust: the peer checks the same user again) and carries a
// deadline.
package peers

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/polku-hb/polku/platform/peer"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/services/budget/internal/app"
	"github.com/polku-hb/polku/services/budget/internal/ledger"
	"google.golang.org/genproto/googleapis/type/date"
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

// Client reads the client (the read is on the client's access log, with the
// caller's purpose) and returns who is in its team.
func (c *Clients) Client(ctx context.Context, clientID string) (app.ClientInfo, error) {
	got, err := peer.Call(ctx, c.C.GetClient, &clientsv1.GetClientRequest{Name: "clients/" + clientID})
	if err != nil {
		return app.ClientInfo{}, mapErr(err)
	}
	info := app.ClientInfo{ID: clientID, Region: got.GetRegion(), CoordinatingWorker: got.GetCoordinatingWorker(),
		Closed: got.GetState() == clientsv1.Client_CLOSED}
	for _, m := range got.GetTeamMembers() {
		if m.GetSubject() != "" {
			info.Team = append(info.Team, m.GetSubject())
		}
	}
	return info, nil
}

// Assessment adapts assessmentv1.AssessmentServiceClient.
type Assessment struct {
	C assessmentv1.AssessmentServiceClient
}

var _ app.Assessment = (*Assessment)(nil)

// PlanRevision reads a plan revision with its priced services.
func (a *Assessment) PlanRevision(ctx context.Context, name string) (app.PlanRevision, error) {
	r, err := peer.Call(ctx, a.C.GetPlanRevision, &assessmentv1.GetPlanRevisionRequest{Name: name})
	if err != nil {
		if status.Code(err) == codes.InvalidArgument {
			return app.PlanRevision{}, app.ErrNotFound
		}
		return app.PlanRevision{}, mapErr(err)
	}
	out := app.PlanRevision{Name: r.GetName(), State: r.GetState().String(), WantsPersonalBudget: r.GetWantsPersonalBudget(),
		Start: gdate(r.GetStartDate()), End: gdate(r.GetEndDate())}
	for _, cs := range r.GetServices() {
		t := cs.GetTitle()
		s := app.ChosenService{ID: cs.GetId(), Title: ledger.Text{Fi: t.GetFi(), Sv: t.GetSv(), En: t.GetEn()},
			Category: cs.GetCategory().String(), Unit: cs.GetUnit().String(), UnitCents: cs.GetUnitAmountCents(),
			CostCents: cs.GetCostCents(), AcceptedQuote: cs.GetAcceptedQuote()}
		if pp := cs.GetPinnedPrice(); pp != nil {
			s.Offering, s.PriceVersion, s.PriceOptionID = pp.GetOffering(), pp.GetPriceVersion(), pp.GetPriceOptionId()
		}
		if cs.GetUnit() == cataloguev1.PriceUnit_PRICE_UNIT_UNSPECIFIED {
			s.Unit = ""
		}
		out.Services = append(out.Services, s)
	}
	return out, nil
}

func gdate(d *date.Date) ledger.Date {
	if d == nil {
		return ledger.Date{}
	}
	return ledger.Date{Year: int(d.GetYear()), Month: int(d.GetMonth()), Day: int(d.GetDay())}
}

// InCohort pages through the caller's region's clients in a cohort.
func (c *Clients) InCohort(ctx context.Context, cohort string) ([]string, error) {
	var out []string
	token := ""
	for range 1000 { // at most 500 000 clients
		resp, err := peer.Call(ctx, c.C.ListClients, &clientsv1.ListClientsRequest{PageSize: 500, PageToken: token, Filter: "cohort = " + cohort})
		if err != nil {
			return nil, mapErr(err)
		}
		for _, cl := range resp.GetClients() {
			out = append(out, strings.TrimPrefix(cl.GetName(), "clients/"))
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	return out, nil
}

// CohortCapacity asks the assessment service for a cohort's aggregate change.
func (a *Assessment) CohortCapacity(ctx context.Context, region, cohort, instrument string, start, end ledger.Date) (app.CapacityChange, error) {
	r, err := peer.Call(ctx, a.C.AggregateCapacityChange, &assessmentv1.AggregateCapacityChangeRequest{Region: region,
		Cohort: clientsv1.Cohort(clientsv1.Cohort_value[cohort]), Instrument: instrument,
		FromPhase: assessmentv1.MeasurementPhase_MEASUREMENT_PHASE_BASELINE, StartDate: toGDate(start), EndDate: toGDate(end)})
	if err != nil {
		if status.Code(err) == codes.NotFound || status.Code(err) == codes.InvalidArgument {
			return app.CapacityChange{Suppressed: true}, nil // no such instrument: no capacity figure
		}
		return app.CapacityChange{}, mapErr(err)
	}
	return app.CapacityChange{Clients: int(r.GetClientCount()), Suppressed: r.GetSuppressed(), Mean: r.GetMeanChange()}, nil
}

func toGDate(d ledger.Date) *date.Date {
	if d.IsZero() {
		return nil
	}
	return &date.Date{Year: int32(d.Year), Month: int32(d.Month), Day: int32(d.Day)}
}
