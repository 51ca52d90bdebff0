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
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/services/assessment/internal/app"
	"github.com/polku-hb/polku/services/assessment/internal/assessment"
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

// Catalogue adapts cataloguev1.CatalogueServiceClient.
type Catalogue struct {
	C cataloguev1.CatalogueServiceClient
}

var _ app.Catalogue = (*Catalogue)(nil)

// Offering reads an offering.
func (c *Catalogue) Offering(ctx context.Context, name string) (app.Offering, error) {
	if !validName(name, "providers/", "/offerings/") {
		return app.Offering{}, app.ErrNotFound
	}
	o, err := peer.Call(ctx, c.C.GetOffering, &cataloguev1.GetOfferingRequest{Name: name})
	if err != nil {
		if status.Code(err) == codes.PermissionDenied || status.Code(err) == codes.InvalidArgument {
			return app.Offering{}, app.ErrNotFound
		}
		return app.Offering{}, mapErr(err)
	}
	return app.Offering{Name: o.GetName(), Title: text(o.GetTitle()), Category: o.GetCategory().String(),
		CurrentPriceVersion: o.GetCurrentPriceVersion(), Live: o.GetLive()}, nil
}

// PriceVersion reads a price version.
func (c *Catalogue) PriceVersion(ctx context.Context, name string) (app.PriceVersion, error) {
	pv, err := peer.Call(ctx, c.C.GetPriceVersion, &cataloguev1.GetPriceVersionRequest{Name: name})
	if err != nil {
		if status.Code(err) == codes.PermissionDenied || status.Code(err) == codes.InvalidArgument {
			return app.PriceVersion{}, app.ErrNotFound
		}
		return app.PriceVersion{}, mapErr(err)
	}
	out := app.PriceVersion{Name: pv.GetName()}
	for _, o := range pv.GetPriceOptions() {
		out.Options = append(out.Options, app.PriceOption{ID: o.GetId(), Unit: o.GetUnit().String(), AmountCents: o.GetAmountCents()})
	}
	return out, nil
}

// Quote reads a quote request. The catalogue shows it to the requesting worker
// and the addressed provider only; anyone else gets ErrNotFound.
func (c *Catalogue) Quote(ctx context.Context, name string) (app.Quote, error) {
	if !validName(name, "providers/", "/quoteRequests/") {
		return app.Quote{}, app.ErrNotFound
	}
	q, err := peer.Call(ctx, c.C.GetQuoteRequest, &cataloguev1.GetQuoteRequestRequest{Name: name})
	if err != nil {
		if status.Code(err) == codes.PermissionDenied || status.Code(err) == codes.InvalidArgument {
			return app.Quote{}, app.ErrNotFound
		}
		return app.Quote{}, mapErr(err)
	}
	out := app.Quote{Name: q.GetName(), Offering: q.GetOffering(), ClientID: strings.TrimPrefix(q.GetClient(), "clients/"),
		Accepted: q.GetState() == cataloguev1.QuoteRequest_ACCEPTED}
	if qt := q.GetQuote(); qt != nil {
		out.Unit, out.Quantity, out.UnitAmountCents = qt.GetUnit().String(), qt.GetQuantity(), qt.GetUnitAmountCents()
	}
	return out, nil
}

func validName(name, prefix, middle string) bool {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return false
	}
	p, o, ok := strings.Cut(rest, middle)
	return ok && p != "" && o != "" && !strings.Contains(p, "/") && !strings.Contains(o, "/")
}

func text(t *cataloguev1.LocalizedText) assessment.Text {
	return assessment.Text{Fi: t.GetFi(), Sv: t.GetSv(), En: t.GetEn()}
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
