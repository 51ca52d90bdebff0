// Package grpcapi is the catalogue's gRPC surface: it validates the shape of
// requests, maps protobuf messages to the domain and back, and turns errors into
// statuses. Use cases live in app.
package grpcapi

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/polku-hb/polku/platform/apierr"
	"github.com/polku-hb/polku/platform/pagination"
	"github.com/polku-hb/polku/platform/store"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	"github.com/polku-hb/polku/services/catalogue/internal/app"
	"github.com/polku-hb/polku/services/catalogue/internal/catalogue"
)

// Server implements cataloguev1.CatalogueServiceServer (every method).
type Server struct {
	cataloguev1.UnimplementedCatalogueServiceServer
	app *app.Service
	log *slog.Logger
}

var _ cataloguev1.CatalogueServiceServer = (*Server)(nil)

// New makes the server.
func New(a *app.Service, log *slog.Logger) *Server { return &Server{app: a, log: log} }

func page(size int32, token, query string) (store.IndexEntry, int, error) {
	n, err := pagination.Size(size)
	if err != nil {
		return store.IndexEntry{}, 0, err
	}
	after, err := pagination.Decode(token, query)
	return after, n, err
}

func nextToken(next store.IndexEntry, query string) string {
	if next.ID == "" {
		return ""
	}
	return pagination.Encode(next, query)
}

// parseFilter reads `field = value AND field: value` terms.
func parseFilter(f string, allowed ...string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(f) == "" {
		return out, nil
	}
	if len(f) > 500 {
		return nil, invalid("filter", "must be at most 500 characters")
	}
	for _, term := range strings.Split(f, " AND ") {
		k, v, ok := strings.Cut(term, "=")
		if !ok {
			k, v, ok = strings.Cut(term, ":")
		}
		k = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(k), ">"))
		v = strings.Trim(strings.TrimSpace(v), `"`)
		if !ok || v == "" || !contains(allowed, k) {
			return nil, invalid("filter", "terms must be one of "+strings.Join(allowed, ", ")+" compared with '=' and joined with AND")
		}
		out[k] = v
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func boolPtr(s string) (*bool, bool) {
	switch s {
	case "true":
		t := true
		return &t, true
	case "false":
		f := false
		return &f, true
	}
	return nil, false
}

// ---- Providers ----

func (s *Server) CreateProvider(ctx context.Context, req *cataloguev1.CreateProviderRequest) (*cataloguev1.Provider, error) {
	if req.GetProvider() == nil {
		return nil, invalid("provider", "is required")
	}
	v, err := s.app.CreateProvider(ctx, providerIn(req.GetProvider()), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, "the provider", err)
	}
	return providerOut(v), nil
}

func (s *Server) GetProvider(ctx context.Context, req *cataloguev1.GetProviderRequest) (*cataloguev1.Provider, error) {
	id, err := providerID(req.GetName(), "name", false)
	if err != nil {
		return nil, err
	}
	v, err := s.app.GetProvider(ctx, id)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return providerOut(v), nil
}

func (s *Server) ListProviders(ctx context.Context, req *cataloguev1.ListProvidersRequest) (*cataloguev1.ListProvidersResponse, error) {
	if o := req.GetOrderBy(); o != "" && o != "display_name" {
		return nil, invalid("order_by", "only display_name is supported")
	}
	terms, err := parseFilter(req.GetFilter(), "state", "kind", "service_areas")
	if err != nil {
		return nil, err
	}
	var f app.ProviderFilter
	if v, ok := terms["state"]; ok {
		n, ok := cataloguev1.Provider_State_value[v]
		if !ok || n == 0 {
			return nil, invalid("filter", "state must be a provider state")
		}
		f.State = catalogue.ProviderState(n)
	}
	if v, ok := terms["kind"]; ok {
		n, ok := cataloguev1.ProviderKind_value[v]
		if !ok || n == 0 {
			return nil, invalid("filter", "kind must be a PROVIDER_KIND_ value")
		}
		f.Kind = catalogue.ProviderKind(n)
	}
	f.Area = terms["service_areas"]
	query := "providers?" + req.GetFilter()
	after, n, err := page(req.GetPageSize(), req.GetPageToken(), query)
	if err != nil {
		return nil, s.toStatus(ctx, "providers", err)
	}
	list, next, err := s.app.ListProviders(ctx, f, after, n)
	if err != nil {
		return nil, s.toStatus(ctx, "providers", err)
	}
	out := &cataloguev1.ListProvidersResponse{NextPageToken: nextToken(next, query)}
	for _, v := range list {
		out.Providers = append(out.Providers, providerOut(v))
	}
	return out, nil
}

func (s *Server) UpdateProvider(ctx context.Context, req *cataloguev1.UpdateProviderRequest) (*cataloguev1.Provider, error) {
	id, err := providerID(req.GetProvider().GetName(), "provider.name", false)
	if err != nil {
		return nil, err
	}
	v, err := s.app.UpdateProvider(ctx, id, providerIn(req.GetProvider()), req.GetUpdateMask().GetPaths(), req.GetProvider().GetEtag())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetProvider().GetName(), err)
	}
	return providerOut(v), nil
}

func (s *Server) VerifyProvider(ctx context.Context, req *cataloguev1.VerifyProviderRequest) (*cataloguev1.Provider, error) {
	id, err := providerID(req.GetName(), "name", false)
	if err != nil {
		return nil, err
	}
	v, err := s.app.VerifyProvider(ctx, id, req.GetEtag(), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return providerOut(v), nil
}

func (s *Server) RejectProvider(ctx context.Context, req *cataloguev1.RejectProviderRequest) (*cataloguev1.Provider, error) {
	id, err := providerID(req.GetName(), "name", false)
	if err != nil {
		return nil, err
	}
	v, err := s.app.RejectProvider(ctx, id, req.GetReason(), req.GetEtag(), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return providerOut(v), nil
}

func (s *Server) SuspendProvider(ctx context.Context, req *cataloguev1.SuspendProviderRequest) (*cataloguev1.Provider, error) {
	id, err := providerID(req.GetName(), "name", false)
	if err != nil {
		return nil, err
	}
	v, err := s.app.SuspendProvider(ctx, id, req.GetReason(), req.GetEtag(), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return providerOut(v), nil
}

// ---- Offerings ----

func (s *Server) CreateOffering(ctx context.Context, req *cataloguev1.CreateOfferingRequest) (*cataloguev1.Offering, error) {
	pid, err := providerID(req.GetParent(), "parent", false)
	if err != nil {
		return nil, err
	}
	if req.GetOffering() == nil {
		return nil, invalid("offering", "is required")
	}
	v, err := s.app.CreateOffering(ctx, pid, offeringIn(req.GetOffering()), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	return offeringOut(v), nil
}

func (s *Server) GetOffering(ctx context.Context, req *cataloguev1.GetOfferingRequest) (*cataloguev1.Offering, error) {
	pid, oid, err := offeringID(req.GetName(), "name")
	if err != nil {
		return nil, err
	}
	v, err := s.app.GetOffering(ctx, pid, oid)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return offeringOut(v), nil
}

func (s *Server) ListOfferings(ctx context.Context, req *cataloguev1.ListOfferingsRequest) (*cataloguev1.ListOfferingsResponse, error) {
	pid, err := providerID(req.GetParent(), "parent", true)
	if err != nil {
		return nil, err
	}
	if o := req.GetOrderBy(); o != "" && o != "create_time desc" {
		return nil, invalid("order_by", "only create_time desc is supported")
	}
	terms, err := parseFilter(req.GetFilter(), "state", "stale", "category", "price_capped")
	if err != nil {
		return nil, err
	}
	var f app.OfferingFilter
	if v, ok := terms["state"]; ok {
		n, ok := cataloguev1.Offering_State_value[v]
		if !ok || n == 0 {
			return nil, invalid("filter", "state must be an offering state")
		}
		f.State = catalogue.OfferingState(n)
	}
	if v, ok := terms["category"]; ok {
		n, ok := cataloguev1.Category_value[v]
		if !ok || n == 0 {
			return nil, invalid("filter", "category must be a CATEGORY_ value")
		}
		f.Category = catalogue.Category(n)
	}
	for k, dst := range map[string]**bool{"stale": &f.Stale, "price_capped": &f.PriceCapped} {
		if v, ok := terms[k]; ok {
			b, ok := boolPtr(v)
			if !ok {
				return nil, invalid("filter", k+" must be true or false")
			}
			*dst = b
		}
	}
	query := req.GetParent() + "?" + req.GetFilter()
	after, n, err := page(req.GetPageSize(), req.GetPageToken(), query)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	list, next, err := s.app.ListOfferings(ctx, pid, f, after, n)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	out := &cataloguev1.ListOfferingsResponse{NextPageToken: nextToken(next, query)}
	for _, v := range list {
		out.Offerings = append(out.Offerings, offeringOut(v))
	}
	return out, nil
}

func (s *Server) UpdateOffering(ctx context.Context, req *cataloguev1.UpdateOfferingRequest) (*cataloguev1.Offering, error) {
	pid, oid, err := offeringID(req.GetOffering().GetName(), "offering.name")
	if err != nil {
		return nil, err
	}
	v, err := s.app.UpdateOffering(ctx, pid, oid, offeringIn(req.GetOffering()), req.GetUpdateMask().GetPaths(), req.GetOffering().GetEtag())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetOffering().GetName(), err)
	}
	return offeringOut(v), nil
}

func (s *Server) DeleteOffering(ctx context.Context, req *cataloguev1.DeleteOfferingRequest) (*cataloguev1.DeleteOfferingResponse, error) {
	pid, oid, err := offeringID(req.GetName(), "name")
	if err != nil {
		return nil, err
	}
	if err := s.app.DeleteOffering(ctx, pid, oid, req.GetEtag()); err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return &cataloguev1.DeleteOfferingResponse{}, nil
}

type verbFn func(ctx context.Context, pid, oid string) (*app.OfferingView, error)

func (s *Server) verb(ctx context.Context, name string, fn verbFn) (*cataloguev1.Offering, error) {
	pid, oid, err := offeringID(name, "name")
	if err != nil {
		return nil, err
	}
	v, err := fn(ctx, pid, oid)
	if err != nil {
		return nil, s.toStatus(ctx, name, err)
	}
	return offeringOut(v), nil
}

func (s *Server) SubmitOffering(ctx context.Context, req *cataloguev1.SubmitOfferingRequest) (*cataloguev1.Offering, error) {
	return s.verb(ctx, req.GetName(), func(ctx context.Context, pid, oid string) (*app.OfferingView, error) {
		return s.app.SubmitOffering(ctx, pid, oid, req.GetEtag(), req.GetRequestId())
	})
}

func (s *Server) PublishOffering(ctx context.Context, req *cataloguev1.PublishOfferingRequest) (*cataloguev1.Offering, error) {
	return s.verb(ctx, req.GetName(), func(ctx context.Context, pid, oid string) (*app.OfferingView, error) {
		return s.app.PublishOffering(ctx, pid, oid, req.GetEtag(), req.GetRequestId())
	})
}

func (s *Server) RejectOffering(ctx context.Context, req *cataloguev1.RejectOfferingRequest) (*cataloguev1.Offering, error) {
	return s.verb(ctx, req.GetName(), func(ctx context.Context, pid, oid string) (*app.OfferingView, error) {
		return s.app.RejectOffering(ctx, pid, oid, req.GetReason(), req.GetEtag(), req.GetRequestId())
	})
}

func (s *Server) WithdrawOffering(ctx context.Context, req *cataloguev1.WithdrawOfferingRequest) (*cataloguev1.Offering, error) {
	return s.verb(ctx, req.GetName(), func(ctx context.Context, pid, oid string) (*app.OfferingView, error) {
		return s.app.WithdrawOffering(ctx, pid, oid, req.GetReason(), req.GetEtag(), req.GetRequestId())
	})
}

func (s *Server) ConfirmOffering(ctx context.Context, req *cataloguev1.ConfirmOfferingRequest) (*cataloguev1.Offering, error) {
	return s.verb(ctx, req.GetName(), func(ctx context.Context, pid, oid string) (*app.OfferingView, error) {
		return s.app.ConfirmOffering(ctx, pid, oid, req.GetRequestId())
	})
}

// ---- Search ----

func (s *Server) SearchOfferings(ctx context.Context, req *cataloguev1.SearchOfferingsRequest) (*cataloguev1.SearchOfferingsResponse, error) {
	var vs []string
	if utf8.RuneCountInString(req.GetQuery()) > 200 {
		vs = append(vs, "query")
	}
	q := catalogue.Query{Words: catalogue.QueryWords(req.GetQuery()), Municipalities: req.GetMunicipalities(), Languages: req.GetLanguages(),
		MaxPrice: req.GetMaxUnitPriceCents(), Accepting: req.GetAcceptingReferrals()}
	for _, c := range req.GetCategories() {
		q.Categories = append(q.Categories, catalogue.Category(c))
	}
	for _, m := range req.GetDeliveryModes() {
		q.DeliveryModes = append(q.DeliveryModes, catalogue.DeliveryMode(m))
	}
	for _, k := range req.GetProviderKinds() {
		q.Kinds = append(q.Kinds, catalogue.ProviderKind(k))
	}
	for _, g := range req.GetTargetGroups() {
		q.TargetGroups = append(q.TargetGroups, catalogue.TargetGroup(g))
	}
	switch req.GetOrderBy() {
	case "", "relevance":
		q.Order = "relevance"
	case "price", "waiting_time":
		q.Order = req.GetOrderBy()
	default:
		vs = append(vs, "order_by")
	}
	if req.GetMaxUnitPriceCents() < 0 {
		vs = append(vs, "max_unit_price_cents")
	}
	if len(q.Municipalities) > 400 || len(q.Languages) > 50 {
		vs = append(vs, "municipalities")
	}
	if len(vs) > 0 {
		rules := map[string]string{"query": "must be at most 200 characters", "order_by": "must be relevance, price or waiting_time",
			"max_unit_price_cents": "must not be negative", "municipalities": "too many values"}
		out := make([]apierr.Violation, len(vs))
		for i, f := range vs {
			out[i] = apierr.Violation{Field: f, Description: rules[f]}
		}
		return nil, apierr.Invalid(out...)
	}
	size, err := pagination.Size(req.GetPageSize())
	if err != nil {
		return nil, s.toStatus(ctx, "search", err)
	}
	results, next, total, err := s.app.Search(ctx, q, req.GetPageToken(), size)
	if err != nil {
		return nil, s.toStatus(ctx, "search", err)
	}
	out := &cataloguev1.SearchOfferingsResponse{NextPageToken: next, TotalSize: int32(total)}
	for _, r := range results {
		sr := &cataloguev1.SearchResult{
			Offering: offeringOut(r.View), ProviderDisplayName: r.View.Provider.DisplayName,
			ProviderKind: cataloguev1.ProviderKind(r.View.Provider.Kind), Relevance: r.Score,
		}
		sr.Offering.Etag = ""
		if r.Price >= 0 {
			p := r.Price
			sr.LowestUnitPriceCents = &p
		}
		out.Results = append(out.Results, sr)
	}
	return out, nil
}

// ---- Price versions ----

func (s *Server) GetPriceVersion(ctx context.Context, req *cataloguev1.GetPriceVersionRequest) (*cataloguev1.PriceVersion, error) {
	parts := strings.Split(req.GetName(), "/")
	if len(parts) != 6 || parts[4] != "priceVersions" {
		return nil, invalid("name", "must be providers/{provider}/offerings/{offering}/priceVersions/{n}")
	}
	pid, oid, err := offeringID(strings.Join(parts[:4], "/"), "name")
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(parts[5])
	if err != nil || n < 1 {
		return nil, invalid("name", "the price version id must be a number from 1")
	}
	pv, err := s.app.GetPriceVersion(ctx, pid, oid, n)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return priceVersionOut(pid, pv), nil
}

func (s *Server) ListPriceVersions(ctx context.Context, req *cataloguev1.ListPriceVersionsRequest) (*cataloguev1.ListPriceVersionsResponse, error) {
	pid, oid, err := offeringID(req.GetParent(), "parent")
	if err != nil {
		return nil, err
	}
	if req.GetFilter() != "" {
		return nil, invalid("filter", "is not supported yet")
	}
	if o := req.GetOrderBy(); o != "" && o != "effective_time desc" {
		return nil, invalid("order_by", "only effective_time desc is supported")
	}
	query := req.GetParent()
	after, n, err := page(req.GetPageSize(), req.GetPageToken(), query)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	list, next, err := s.app.ListPriceVersions(ctx, pid, oid, after, n)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	out := &cataloguev1.ListPriceVersionsResponse{NextPageToken: nextToken(next, query)}
	for i := range list {
		out.PriceVersions = append(out.PriceVersions, priceVersionOut(pid, &list[i]))
	}
	return out, nil
}

// ---- Settings ----

func regionOf(name, field string) (string, error) {
	parts := strings.Split(name, "/")
	if len(parts) != 3 || parts[0] != "regions" || !validID(parts[1]) || parts[2] != "catalogueSettings" {
		return "", invalid(field, "must be regions/{region}/catalogueSettings")
	}
	return parts[1], nil
}

func (s *Server) GetCatalogueSettings(ctx context.Context, req *cataloguev1.GetCatalogueSettingsRequest) (*cataloguev1.CatalogueSettings, error) {
	region, err := regionOf(req.GetName(), "name")
	if err != nil {
		return nil, err
	}
	st, etag, err := s.app.GetSettings(ctx, region)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return settingsOut(st, etag), nil
}

func (s *Server) UpdateCatalogueSettings(ctx context.Context, req *cataloguev1.UpdateCatalogueSettingsRequest) (*cataloguev1.CatalogueSettings, error) {
	in := req.GetCatalogueSettings()
	region, err := regionOf(in.GetName(), "catalogue_settings.name")
	if err != nil {
		return nil, err
	}
	st := catalogue.Settings{Region: region, Municipalities: in.GetMunicipalities(), Freshness: in.GetFreshnessPeriod().AsDuration()}
	for _, c := range in.GetPriceCaps() {
		st.Caps = append(st.Caps, catalogue.PriceCap{Category: catalogue.Category(c.GetCategory()), Unit: catalogue.PriceUnit(c.GetUnit()), Max: c.GetMaxAmountCents()})
	}
	out, etag, err := s.app.UpdateSettings(ctx, st, req.GetUpdateMask().GetPaths(), in.GetEtag())
	if err != nil {
		return nil, s.toStatus(ctx, in.GetName(), err)
	}
	return settingsOut(out, etag), nil
}

// ---- Change log ----

func (s *Server) ListChangeLogEntries(ctx context.Context, req *cataloguev1.ListChangeLogEntriesRequest) (*cataloguev1.ListChangeLogEntriesResponse, error) {
	var pid, oid string
	var err error
	if strings.Contains(req.GetParent(), "/offerings/") {
		pid, oid, err = offeringID(req.GetParent(), "parent")
	} else {
		pid, err = providerID(req.GetParent(), "parent", false)
	}
	if err != nil {
		return nil, err
	}
	if req.GetFilter() != "" {
		return nil, invalid("filter", "is not supported yet")
	}
	if o := req.GetOrderBy(); o != "" && o != "change_time desc" {
		return nil, invalid("order_by", "only change_time desc is supported")
	}
	query := req.GetParent()
	after, n, err := page(req.GetPageSize(), req.GetPageToken(), query)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	list, next, err := s.app.ListChangeLog(ctx, pid, oid, after, n)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	out := &cataloguev1.ListChangeLogEntriesResponse{NextPageToken: nextToken(next, query)}
	for _, e := range list {
		out.ChangeLogEntries = append(out.ChangeLogEntries, changeOut(e))
	}
	return out, nil
}

// ---- HSDS export ----

func (s *Server) ExportHsds(ctx context.Context, req *cataloguev1.ExportHsdsRequest) (*cataloguev1.ExportHsdsResponse, error) {
	pid, err := providerID(req.GetParent(), "parent", true)
	if err != nil {
		return nil, err
	}
	lang := req.GetLanguageCode()
	switch lang {
	case "":
		lang = "fi"
	case "fi", "sv", "en":
	default:
		return nil, invalid("language_code", "must be fi, sv or en")
	}
	size := req.GetPageSize()
	if size == 0 {
		size = 100
	}
	query := req.GetParent() + "?" + strings.Join(req.GetMunicipalities(), ",") + "&" + lang
	after, n, err := page(size, req.GetPageToken(), query)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	exp, err := s.app.ExportHSDS(ctx, pid, req.GetMunicipalities(), lang, after, n)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	out := &cataloguev1.ExportHsdsResponse{NextPageToken: nextToken(exp.Next, query), TotalSize: int32(exp.Total), HsdsVersion: catalogue.HSDSVersion, ExportTime: timestamppb.Now()}
	for _, svc := range exp.Services {
		st, err := structpb.NewStruct(svc)
		if err != nil {
			return nil, s.toStatus(ctx, req.GetParent(), err)
		}
		out.Services = append(out.Services, st)
	}
	return out, nil
}
