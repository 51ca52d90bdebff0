package grpcapi

import (
	"context"
	"strings"

	"google.golang.org/genproto/googleapis/type/date"

	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	"github.com/polku-hb/polku/services/catalogue/internal/app"
	"github.com/polku-hb/polku/services/catalogue/internal/catalogue"
)

func dateIn(d *date.Date) catalogue.Date {
	return catalogue.Date{Year: int(d.GetYear()), Month: int(d.GetMonth()), Day: int(d.GetDay())}
}

func dateOut(d catalogue.Date) *date.Date {
	if d.IsZero() {
		return nil
	}
	return &date.Date{Year: int32(d.Year), Month: int32(d.Month), Day: int32(d.Day)}
}

func quoteOut(v *app.QuoteView) *cataloguev1.QuoteRequest {
	q := v.Q
	out := &cataloguev1.QuoteRequest{
		Name: "providers/" + q.ProviderID + "/quoteRequests/" + q.ID, Requester: q.Requester, NeedDescription: q.Need,
		Municipality: q.Municipality, Language: q.Language, DesiredStartDate: dateOut(q.DesiredStart), ResponseDueTime: ts(q.ResponseDue),
		DeclineReason: q.DeclineReason, State: cataloguev1.QuoteRequest_State(q.State), CreateTime: ts(q.CreateTime), UpdateTime: ts(q.UpdateTime), Etag: v.Etag,
	}
	if q.OfferingID != "" {
		out.Offering = offeringName(q.ProviderID, q.OfferingID)
	}
	if v.ShowUser {
		out.Client = "clients/" + q.ClientID
	}
	if qt := q.Quote; qt != nil {
		out.Quote = &cataloguev1.Quote{
			Description: qt.Description, Unit: cataloguev1.PriceUnit(qt.Unit), Quantity: qt.Quantity, UnitAmountCents: qt.UnitAmount,
			VatRateBasisPoints: qt.VATRate, TotalAmountCents: qt.Total, ValidUntil: dateOut(qt.ValidUntil), QuotedBy: qt.QuotedBy, QuoteTime: ts(qt.QuoteTime),
		}
	}
	return out
}

// quoteName parses `providers/{provider}/quoteRequests/{quote_request}`.
func quoteName(name string) (string, string, error) {
	parts := strings.Split(name, "/")
	if len(parts) != 4 || parts[0] != "providers" || parts[2] != "quoteRequests" || !validID(parts[1]) || !validID(parts[3]) || parts[1] == "-" {
		return "", "", invalid("name", "must be providers/{provider}/quoteRequests/{quote_request}")
	}
	return parts[1], parts[3], nil
}

func (s *Server) CreateQuoteRequest(ctx context.Context, req *cataloguev1.CreateQuoteRequestRequest) (*cataloguev1.QuoteRequest, error) {
	pid, err := providerID(req.GetParent(), "parent", false)
	if err != nil {
		return nil, err
	}
	in := req.GetQuoteRequest()
	if in == nil {
		return nil, invalid("quote_request", "is required")
	}
	q := catalogue.QuoteRequest{
		Need: in.GetNeedDescription(), Municipality: in.GetMunicipality(), Language: in.GetLanguage(),
		DesiredStart: dateIn(in.GetDesiredStartDate()),
	}
	if in.GetResponseDueTime() != nil {
		q.ResponseDue = in.GetResponseDueTime().AsTime()
	}
	if o := in.GetOffering(); o != "" {
		opid, oid, err := offeringID(o, "quote_request.offering")
		if err != nil {
			return nil, err
		}
		if opid != pid {
			return nil, invalid("quote_request.offering", "must be an offering of the provider in parent")
		}
		q.OfferingID = oid
	}
	v, err := s.app.CreateQuoteRequest(ctx, pid, q, in.GetClient(), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	return quoteOut(v), nil
}

func (s *Server) GetQuoteRequest(ctx context.Context, req *cataloguev1.GetQuoteRequestRequest) (*cataloguev1.QuoteRequest, error) {
	pid, id, err := quoteName(req.GetName())
	if err != nil {
		return nil, err
	}
	v, err := s.app.GetQuoteRequest(ctx, pid, id)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return quoteOut(v), nil
}

func (s *Server) ListQuoteRequests(ctx context.Context, req *cataloguev1.ListQuoteRequestsRequest) (*cataloguev1.ListQuoteRequestsResponse, error) {
	pid, err := providerID(req.GetParent(), "parent", true)
	if err != nil {
		return nil, err
	}
	if o := req.GetOrderBy(); o != "" && o != "create_time desc" {
		return nil, invalid("order_by", "only create_time desc is supported")
	}
	f, err := quoteFilter(req.GetFilter())
	if err != nil {
		return nil, err
	}
	query := req.GetParent() + "?" + req.GetFilter()
	after, n, err := page(req.GetPageSize(), req.GetPageToken(), query)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	list, next, err := s.app.ListQuoteRequests(ctx, pid, f, after, n)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	out := &cataloguev1.ListQuoteRequestsResponse{NextPageToken: nextToken(next, query)}
	for _, v := range list {
		out.QuoteRequests = append(out.QuoteRequests, quoteOut(v))
	}
	return out, nil
}

type quoteVerb func(ctx context.Context, pid, id string) (*app.QuoteView, error)

func (s *Server) quoteVerb(ctx context.Context, name string, fn quoteVerb) (*cataloguev1.QuoteRequest, error) {
	pid, id, err := quoteName(name)
	if err != nil {
		return nil, err
	}
	v, err := fn(ctx, pid, id)
	if err != nil {
		return nil, s.toStatus(ctx, name, err)
	}
	return quoteOut(v), nil
}

func (s *Server) SubmitQuote(ctx context.Context, req *cataloguev1.SubmitQuoteRequest) (*cataloguev1.QuoteRequest, error) {
	return s.quoteVerb(ctx, req.GetName(), func(ctx context.Context, pid, id string) (*app.QuoteView, error) {
		qt := req.GetQuote()
		return s.app.SubmitQuote(ctx, pid, id, catalogue.Quote{
			Description: qt.GetDescription(), Unit: catalogue.PriceUnit(qt.GetUnit()), Quantity: qt.GetQuantity(),
			UnitAmount: qt.GetUnitAmountCents(), VATRate: qt.GetVatRateBasisPoints(), ValidUntil: dateIn(qt.GetValidUntil()),
		}, req.GetEtag(), req.GetRequestId())
	})
}

func (s *Server) DeclineQuoteRequest(ctx context.Context, req *cataloguev1.DeclineQuoteRequestRequest) (*cataloguev1.QuoteRequest, error) {
	return s.quoteVerb(ctx, req.GetName(), func(ctx context.Context, pid, id string) (*app.QuoteView, error) {
		return s.app.DeclineQuoteRequest(ctx, pid, id, req.GetReason(), req.GetEtag(), req.GetRequestId())
	})
}

func (s *Server) AcceptQuoteRequest(ctx context.Context, req *cataloguev1.AcceptQuoteRequestRequest) (*cataloguev1.QuoteRequest, error) {
	return s.quoteVerb(ctx, req.GetName(), func(ctx context.Context, pid, id string) (*app.QuoteView, error) {
		return s.app.AcceptQuoteRequest(ctx, pid, id, req.GetEtag(), req.GetRequestId())
	})
}

func (s *Server) CancelQuoteRequest(ctx context.Context, req *cataloguev1.CancelQuoteRequestRequest) (*cataloguev1.QuoteRequest, error) {
	return s.quoteVerb(ctx, req.GetName(), func(ctx context.Context, pid, id string) (*app.QuoteView, error) {
		return s.app.CancelQuoteRequest(ctx, pid, id, req.GetReason(), req.GetEtag(), req.GetRequestId())
	})
}

// quoteFilter parses ListQuoteRequests' filter: state, client, requester and
// offering, joined with AND.
func quoteFilter(filter string) (app.QuoteFilter, error) {
	terms, err := parseFilter(filter, "state", "client", "requester", "offering")
	if err != nil {
		return app.QuoteFilter{}, err
	}
	var f app.QuoteFilter
	if v, ok := terms["state"]; ok {
		n, ok := cataloguev1.QuoteRequest_State_value[v]
		if !ok || n == 0 {
			return f, invalid("filter", "state must be a quote request state")
		}
		f.State = catalogue.QuoteState(n)
	}
	if v, ok := terms["client"]; ok {
		id, ok := strings.CutPrefix(v, "clients/")
		if !ok || id == "" || strings.Contains(id, "/") {
			return f, invalid("filter", `client must be "clients/{client}"`)
		}
		f.ClientID = id
	}
	f.Requester = terms["requester"]
	if v, ok := terms["offering"]; ok {
		parts := strings.Split(v, "/")
		if len(parts) != 4 || parts[0] != "providers" || parts[2] != "offerings" || parts[1] == "" || parts[3] == "" {
			return f, invalid("filter", `offering must be "providers/{provider}/offerings/{offering}"`)
		}
		f.OfferingProvider, f.OfferingID = parts[1], parts[3]
	}
	return f, nil
}
