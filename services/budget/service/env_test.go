package service_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/polku-hb/polku/platform/apierr"
	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/store/embedded"
	"github.com/polku-hb/polku/platform/store/redisstore"
	"github.com/polku-hb/polku/platform/telemetry"
	"github.com/polku-hb/polku/platform/testkit"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	assessmentservice "github.com/polku-hb/polku/services/assessment/service"
	"github.com/polku-hb/polku/services/budget/service"
	clientsservice "github.com/polku-hb/polku/services/clients/service"
)

var (
	aino    = auth.Principal{Subject: "w-aino", Role: auth.RoleWorker, Region: "pirkanmaa"}
	pekka   = auth.Principal{Subject: "w-pekka", Role: auth.RoleWorker, Region: "pirkanmaa"}
	mikko   = auth.Principal{Subject: "m-mikko", Role: auth.RoleManager, Region: "pirkanmaa"}
	lapland = auth.Principal{Subject: "m-lappi", Role: auth.RoleManager, Region: "lappi"}
	coach   = auth.Principal{Subject: "p-coach", Role: auth.RoleProvider, ProviderID: "neurocoach"}
	museo   = auth.Principal{Subject: "p-museo", Role: auth.RoleProvider, ProviderID: "museo"}
)

const (
	coaching   = "providers/neurocoach/offerings/adhd-coaching"
	museumCard = "providers/museo/offerings/museum-card"
	// limit is the workers' budget authority limit in these tests: 3 000 EUR a
	// year (Tiina's plan is about 4 759 EUR, so a MANAGER approves).
	limit = 300_000
)

// stores gives a test the clients, assessment and budget namespaces of both
// adapters.
func stores(t testing.TB, run func(t testing.TB, clients, asmt, budget store.Store)) {
	embeddedStores := func(t testing.TB) {
		db, err := embedded.Open(filepath.Join(t.TempDir(), "polku.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		run(t, db.Namespace(clientsservice.Namespace, clientsservice.Shards), db.Namespace(assessmentservice.Namespace, assessmentservice.Shards),
			db.Namespace(service.Namespace, service.Shards))
	}
	redisStores := func(t testing.TB) {
		rc := redis.NewClient(&redis.Options{Addr: testkit.StartRedis(t), PoolSize: 128})
		t.Cleanup(func() { rc.Close() })
		run(t, redisstore.New(rc, clientsservice.Namespace, clientsservice.Shards), redisstore.New(rc, assessmentservice.Namespace, assessmentservice.Shards),
			redisstore.New(rc, service.Namespace, service.Shards))
	}
	switch tt := t.(type) {
	case *testing.T:
		tt.Run("embedded", func(t *testing.T) { embeddedStores(t) })
		tt.Run("redis", func(t *testing.T) { redisStores(t) })
	case *testing.B:
		tt.Run("embedded", func(b *testing.B) { embeddedStores(b) })
		tt.Run("redis", func(b *testing.B) { redisStores(b) })
	}
}

// fakeCatalogue serves the two catalogue methods the assessment service calls.
type fakeCatalogue struct {
	cataloguev1.UnimplementedCatalogueServiceServer
	mu        sync.Mutex
	offerings map[string]*cataloguev1.Offering
	versions  map[string]*cataloguev1.PriceVersion
}

func newFakeCatalogue() *fakeCatalogue {
	f := &fakeCatalogue{offerings: map[string]*cataloguev1.Offering{}, versions: map[string]*cataloguev1.PriceVersion{}}
	f.setPrice(coaching, "Neuropsykiatrinen valmennus", cataloguev1.Category_CATEGORY_MENTAL_HEALTH_AND_SUBSTANCE_USE, "1",
		&cataloguev1.PriceOption{Id: "session", Unit: cataloguev1.PriceUnit_PRICE_UNIT_SESSION, AmountCents: 9000})
	f.setPrice(museumCard, "Museokortti", cataloguev1.Category_CATEGORY_CULTURE_AND_LEISURE, "1",
		&cataloguev1.PriceOption{Id: "card", Unit: cataloguev1.PriceUnit_PRICE_UNIT_ONE_OFF, AmountCents: 7900})
	return f
}

func (f *fakeCatalogue) setPrice(offering, title string, cat cataloguev1.Category, version string, opts ...*cataloguev1.PriceOption) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pv := offering + "/priceVersions/" + version
	f.versions[pv] = &cataloguev1.PriceVersion{Name: pv, PriceOptions: opts}
	f.offerings[offering] = &cataloguev1.Offering{Name: offering, Title: &cataloguev1.LocalizedText{Fi: title}, Category: cat,
		PriceOptions: opts, CurrentPriceVersion: pv, Live: true, State: cataloguev1.Offering_PUBLISHED}
}

func (f *fakeCatalogue) GetOffering(ctx context.Context, req *cataloguev1.GetOfferingRequest) (*cataloguev1.Offering, error) {
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

type env struct {
	bc      budgetv1.BudgetServiceClient
	ac      assessmentv1.AssessmentServiceClient
	cc      clientsv1.ClientsServiceClient
	tok     *testkit.Tokens
	tiina   string // client id
	parent  string // clients/{tiina}
	rev     string // Tiina's ACTIVE plan revision
	client  auth.Principal
	sanna   auth.Principal
	other   string // another client of Aino's (no budget access for Tiina)
	otherMe auth.Principal
	// svc is the budget service behind bc; deps build more instances on the
	// same store (replicas, restarts).
	svc  *service.Service
	deps service.Deps
}

func (e *env) as(t testing.TB, p auth.Principal) context.Context { return e.tok.As(t, p, "case work") }

// start runs the real clients and assessment services, a fake catalogue and
// the budget service over loopback gRPC, registers Tiina (coordinated by
// Aino, her sister Sanna as assistant) with the assessment demo's ACTIVE plan.
func start(t testing.TB, clientsStore, asmtStore, st store.Store) *env {
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
	catconn := testkit.Serve(t, tok.Verifier, tel, func(r grpc.ServiceRegistrar) { cataloguev1.RegisterCatalogueServiceServer(r, newFakeCatalogue()) })
	asvc, err := assessmentservice.New(assessmentservice.Deps{Store: asmtStore, Telemetry: tel, Logger: log,
		Clients: clientsv1.NewClientsServiceClient(cconn), Catalogue: cataloguev1.NewCatalogueServiceClient(catconn)})
	if err != nil {
		t.Fatal(err)
	}
	aconn := testkit.Serve(t, tok.Verifier, tel, func(r grpc.ServiceRegistrar) { asvc.Register(r) })
	deps := service.Deps{Store: st, Telemetry: tel, Logger: log, AuthorityLimitCents: limit,
		Clients: clientsv1.NewClientsServiceClient(cconn), Assessment: assessmentv1.NewAssessmentServiceClient(aconn),
		Catalogue: cataloguev1.NewCatalogueServiceClient(catconn)}
	svc, err := service.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	bconn := testkit.Serve(t, tok.Verifier, tel, func(r grpc.ServiceRegistrar) { svc.Register(r) })
	e := &env{bc: budgetv1.NewBudgetServiceClient(bconn), ac: assessmentv1.NewAssessmentServiceClient(aconn),
		cc: clientsv1.NewClientsServiceClient(cconn), tok: tok, svc: svc, deps: deps}

	newClient := func(given string) string {
		c, err := e.cc.CreateClient(e.as(t, mikko), &clientsv1.CreateClientRequest{CoordinatingWorker: aino.Subject, Client: &clientsv1.Client{
			GivenName: given, FamilyName: "Virtanen", PreferredLanguages: []string{"fi"},
			ContactPreference: clientsv1.ContactPreference_CONTACT_PREFERENCE_VIA_WORKER,
			TargetGroup:       clientsv1.TargetGroup_TARGET_GROUP_FAMILY_ADULT, Cohort: clientsv1.Cohort_COHORT_PERSONAL_BUDGET,
		}})
		if err != nil {
			t.Fatalf("CreateClient: %v", err)
		}
		return strings.TrimPrefix(c.GetName(), "clients/")
	}
	e.tiina = newClient("Tiina")
	e.parent = "clients/" + e.tiina
	e.client = auth.Principal{Subject: "u-tiina", Role: auth.RoleClient, ClientID: e.tiina}
	e.sanna = auth.Principal{Subject: "u-sanna", Role: auth.RoleAssistant, Clients: []string{e.tiina}}
	e.other = newClient("Olli")
	e.otherMe = auth.Principal{Subject: "u-olli", Role: auth.RoleClient, ClientID: e.other}

	res, err := assessmentservice.SeedDemo(e.ac, assessmentservice.DemoInput{Client: e.tiina, Worker: e.as(t, aino), Manager: e.as(t, mikko),
		Coaching: assessmentservice.DemoService{Offering: coaching, PriceOptionID: "session"},
		Culture:  assessmentservice.DemoService{Offering: museumCard, PriceOptionID: "card"}, Today: time.Now()})
	if err != nil {
		t.Fatalf("assessment demo: %v", err)
	}
	plan, err := e.ac.GetPlan(e.as(t, aino), &assessmentv1.GetPlanRequest{Name: res.Plan})
	if err != nil || plan.GetActiveRevision() == "" {
		t.Fatalf("plan: %v %v", plan, err)
	}
	e.rev = plan.GetActiveRevision()
	return e
}

// activeBudget creates, approves (as Mikko, above the limit) and activates a
// budget from Tiina's plan.
func (e *env) activeBudget(t testing.TB, requestID string) *budgetv1.Budget {
	t.Helper()
	b, err := e.bc.CreateBudget(e.as(t, aino), &budgetv1.CreateBudgetRequest{Parent: e.parent, RequestId: requestID,
		Budget: &budgetv1.Budget{PlanRevision: e.rev, DisplayName: "Tiina's personal budget", ManagementMode: budgetv1.ManagementMode_MANAGEMENT_MODE_REGION_PAYS}})
	if err != nil {
		t.Fatalf("CreateBudget: %v", err)
	}
	if _, err := e.bc.ApproveBudget(e.as(t, mikko), &budgetv1.ApproveBudgetRequest{Name: b.GetName(), Justification: "agreed in the team"}); err != nil {
		t.Fatalf("ApproveBudget: %v", err)
	}
	b, err = e.bc.ActivateBudget(e.as(t, aino), &budgetv1.ActivateBudgetRequest{Name: b.GetName()})
	if err != nil {
		t.Fatalf("ActivateBudget: %v", err)
	}
	return b
}

func wantCode(t testing.TB, what string, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Errorf("%s: code = %v (%v); want %v", what, got, err, want)
	}
}

func wantReason(t testing.TB, what string, err error, want string) {
	t.Helper()
	if got := apierr.Reason(err); got != want {
		t.Errorf("%s: reason = %q (%v); want %q", what, got, err, want)
	}
}
