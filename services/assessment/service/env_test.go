package service_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/polku-hb/polku/platform/apierr"
	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/telemetry"
	"github.com/polku-hb/polku/platform/testkit"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/services/assessment/service"
	clientsservice "github.com/polku-hb/polku/services/clients/service"
)

var (
	aino    = auth.Principal{Subject: "w-aino", Role: auth.RoleWorker, Region: "pirkanmaa"}
	pekka   = auth.Principal{Subject: "w-pekka", Role: auth.RoleWorker, Region: "pirkanmaa"}
	mikko   = auth.Principal{Subject: "m-mikko", Role: auth.RoleManager, Region: "pirkanmaa"}
	lapland = auth.Principal{Subject: "m-lappi", Role: auth.RoleManager, Region: "lappi"}
	coach   = auth.Principal{Subject: "p-coach", Role: auth.RoleProvider, ProviderID: "neurocoach"}
)

const (
	coaching   = "providers/neurocoach/offerings/adhd-coaching"
	museumCard = "providers/museo/offerings/museum-card"
	// limit is the workers' authority limit in these tests: 3 000 EUR a year.
	limit = 300_000
)

// stores gives a test the clients and assessment namespaces of both adapters.
func stores(t *testing.T, run func(t *testing.T, clients, assessment store.Store)) {
	testkit.EachBackend(t, func(t *testing.T, b *boot.Stores) {
		run(t, b.Namespace(clientsservice.Namespace, clientsservice.Shards), b.Namespace(service.Namespace, service.Shards))
	})
}

// fakeCatalogue serves the two catalogue methods the assessment service calls.
type fakeCatalogue struct {
	cataloguev1.UnimplementedCatalogueServiceServer
	mu        sync.Mutex
	offerings map[string]*cataloguev1.Offering
	versions  map[string]*cataloguev1.PriceVersion
	quotes    map[string]*cataloguev1.QuoteRequest // by name
	requester map[string]string                    // quote name -> the worker who asked
}

func newFakeCatalogue() *fakeCatalogue {
	f := &fakeCatalogue{offerings: map[string]*cataloguev1.Offering{}, versions: map[string]*cataloguev1.PriceVersion{},
		quotes: map[string]*cataloguev1.QuoteRequest{}, requester: map[string]string{}}
	f.setPrice(coaching, "Neuropsykiatrinen valmennus", cataloguev1.Category_CATEGORY_MENTAL_HEALTH_AND_SUBSTANCE_USE, "1",
		&cataloguev1.PriceOption{Id: "session", Unit: cataloguev1.PriceUnit_PRICE_UNIT_SESSION, AmountCents: 9000})
	f.setPrice(museumCard, "Museokortti", cataloguev1.Category_CATEGORY_CULTURE_AND_LEISURE, "1",
		&cataloguev1.PriceOption{Id: "card", Unit: cataloguev1.PriceUnit_PRICE_UNIT_ONE_OFF, AmountCents: 7900})
	return f
}

// setPrice publishes a new price version of an offering and makes it current.
func (f *fakeCatalogue) setPrice(offering, title string, cat cataloguev1.Category, version string, opts ...*cataloguev1.PriceOption) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pv := offering + "/priceVersions/" + version
	f.versions[pv] = &cataloguev1.PriceVersion{Name: pv, PriceOptions: opts}
	f.offerings[offering] = &cataloguev1.Offering{Name: offering, Title: &cataloguev1.LocalizedText{Fi: title}, Category: cat,
		PriceOptions: opts, CurrentPriceVersion: pv, Live: true, State: cataloguev1.Offering_PUBLISHED}
}

func (f *fakeCatalogue) GetOffering(ctx context.Context, req *cataloguev1.GetOfferingRequest) (*cataloguev1.Offering, error) {
	if _, ok := auth.FromContext(ctx); !ok {
		return nil, status.Error(codes.Unauthenticated, "no token forwarded")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if o, ok := f.offerings[req.GetName()]; ok {
		return o, nil
	}
	return nil, status.Error(codes.NotFound, "no such offering")
}

func (f *fakeCatalogue) GetPriceVersion(ctx context.Context, req *cataloguev1.GetPriceVersionRequest) (*cataloguev1.PriceVersion, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.versions[req.GetName()]; ok {
		return v, nil
	}
	return nil, status.Error(codes.NotFound, "no such price version")
}

// setQuote stores a quote request as the catalogue would answer it.
func (f *fakeCatalogue) setQuote(requester string, q *cataloguev1.QuoteRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.quotes[q.GetName()], f.requester[q.GetName()] = q, requester
}

// GetQuoteRequest shows a request only to the worker who made it, like the
// real catalogue (NOT_FOUND to anyone else).
func (f *fakeCatalogue) GetQuoteRequest(ctx context.Context, req *cataloguev1.GetQuoteRequestRequest) (*cataloguev1.QuoteRequest, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "no token forwarded")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if q, ok := f.quotes[req.GetName()]; ok && f.requester[req.GetName()] == p.Subject {
		return q, nil
	}
	return nil, status.Error(codes.NotFound, "no such quote request")
}

type env struct {
	ac     assessmentv1.AssessmentServiceClient
	cc     clientsv1.ClientsServiceClient
	cat    *fakeCatalogue
	tok    *testkit.Tokens
	st     store.Store
	tiina  string // client id
	parent string // clients/{tiina}
	client auth.Principal
	sanna  auth.Principal
}

func (e *env) as(t *testing.T, p auth.Principal) context.Context { return e.tok.As(t, p, "case work") }

// start runs the real clients service, a fake catalogue and the assessment
// service over loopback gRPC, and registers Tiina (coordinated by Aino, with
// her sister Sanna as assistant).
func start(t *testing.T, clientsStore, st store.Store) *env {
	t.Helper()
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: service.Name})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	tok := testkit.NewTokens(t)
	key, _ := clientsservice.ParseKey(clientsservice.NewKey())
	csvc, err := clientsservice.New(clientsservice.Deps{Store: clientsStore, PICKey: key, Telemetry: tel, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	cconn := testkit.Serve(t, tok.Verifier, tel, func(r grpc.ServiceRegistrar) { csvc.Register(r) })
	cat := newFakeCatalogue()
	catconn := testkit.Serve(t, tok.Verifier, tel, func(r grpc.ServiceRegistrar) { cataloguev1.RegisterCatalogueServiceServer(r, cat) })
	svc, err := service.New(service.Deps{Store: st, Telemetry: tel, Logger: log, AuthorityLimitCents: limit,
		Clients: clientsv1.NewClientsServiceClient(cconn), Catalogue: cataloguev1.NewCatalogueServiceClient(catconn)})
	if err != nil {
		t.Fatal(err)
	}
	aconn := testkit.Serve(t, tok.Verifier, tel, func(r grpc.ServiceRegistrar) { svc.Register(r) })
	e := &env{ac: assessmentv1.NewAssessmentServiceClient(aconn), cc: clientsv1.NewClientsServiceClient(cconn), cat: cat, tok: tok, st: st}

	c, err := e.cc.CreateClient(e.as(t, mikko), &clientsv1.CreateClientRequest{CoordinatingWorker: aino.Subject, Client: &clientsv1.Client{
		GivenName: "Tiina", FamilyName: "Virtanen", PreferredLanguages: []string{"fi"},
		ContactPreference: clientsv1.ContactPreference_CONTACT_PREFERENCE_VIA_WORKER,
		TargetGroup:       clientsv1.TargetGroup_TARGET_GROUP_FAMILY_ADULT, Cohort: clientsv1.Cohort_COHORT_PERSONAL_BUDGET,
	}})
	if err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	e.parent = c.GetName()
	e.tiina = strings.TrimPrefix(c.GetName(), "clients/")
	e.client = auth.Principal{Subject: "u-tiina", Role: auth.RoleClient, ClientID: e.tiina}
	e.sanna = auth.Principal{Subject: "u-sanna", Role: auth.RoleAssistant, Clients: []string{e.tiina}}
	return e
}

func wantCode(t *testing.T, what string, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Errorf("%s: code = %v (%v); want %v", what, got, err, want)
	}
}

func wantReason(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := apierr.Reason(err); got != want {
		t.Errorf("%s: reason = %q (%v); want %q", what, got, err, want)
	}
}

func d(y, m, day int) *date.Date { return &date.Date{Year: int32(y), Month: int32(m), Day: int32(day)} }
