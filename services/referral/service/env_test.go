package service_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/polku-hb/polku/platform/apierr"
	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/telemetry"
	"github.com/polku-hb/polku/platform/testkit"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
	clientsservice "github.com/polku-hb/polku/services/clients/service"
	"github.com/polku-hb/polku/services/referral/service"
)

var (
	aino   = auth.Principal{Subject: "w-aino", Role: auth.RoleWorker, Region: "pirkanmaa"}
	pekka  = auth.Principal{Subject: "w-pekka", Role: auth.RoleWorker, Region: "pirkanmaa"}
	mikko  = auth.Principal{Subject: "m-mikko", Role: auth.RoleManager, Region: "pirkanmaa"}
	coach  = auth.Principal{Subject: "p-coach", Role: auth.RoleProvider, ProviderID: "neurocoach"}
	peers  = auth.Principal{Subject: "p-peers", Role: auth.RoleProvider, ProviderID: "vertaiset"}
	refsvc = auth.Principal{Subject: "svc-referral", Role: auth.RoleService}
)

const (
	coaching  = "providers/neurocoach/offerings/adhd-coaching"
	peerGroup = "providers/vertaiset/offerings/parents-group"
	otherPeer = "providers/perheet/offerings/parents-circle"
	benefits  = "providers/etuusneuvonta/offerings/benefits-advice"
)

// stores gives a test the clients and referral namespaces of both adapters.
func stores(t *testing.T, run func(t *testing.T, clients, referral store.Store)) {
	testkit.EachBackend(t, func(t *testing.T, b *boot.Stores) {
		run(t, b.Namespace(clientsservice.Namespace, clientsservice.Shards), b.Namespace(service.Namespace, service.Shards))
	})
}

// fakeCatalogue serves GetOffering (capacity, deadlines) and GetProvider.
type fakeCatalogue struct {
	cataloguev1.UnimplementedCatalogueServiceServer
	mu        sync.Mutex
	offerings map[string]*cataloguev1.Offering
}

func newFakeCatalogue() *fakeCatalogue {
	f := &fakeCatalogue{offerings: map[string]*cataloguev1.Offering{}}
	for _, o := range []string{coaching, peerGroup, otherPeer, benefits} {
		f.offerings[o] = &cataloguev1.Offering{Name: o, Live: true, State: cataloguev1.Offering_PUBLISHED,
			Capacity: cataloguev1.Capacity_CAPACITY_YES, ResponseDeadline: durationpb.New(48 * time.Hour),
			StartDeadline: durationpb.New(7 * 24 * time.Hour)}
	}
	return f
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

func (f *fakeCatalogue) GetProvider(ctx context.Context, req *cataloguev1.GetProviderRequest) (*cataloguev1.Provider, error) {
	return &cataloguev1.Provider{Name: req.GetName(), Kind: cataloguev1.ProviderKind_PROVIDER_KIND_COMPANY}, nil
}

// fakeBudget serves CommitFunds and ReleaseFunds, idempotent on request_id,
// and fails on demand.
type fakeBudget struct {
	budgetv1.UnimplementedBudgetServiceServer
	mu       sync.Mutex
	down     bool              // answer UNAVAILABLE without doing anything
	lose     bool              // commit, then answer UNAVAILABLE (the answer is lost)
	commits  map[string]string // request id -> entry
	amounts  map[string]int64  // request id -> amount committed
	releases map[string]string
	callers  []string
}

func newFakeBudget() *fakeBudget {
	return &fakeBudget{commits: map[string]string{}, amounts: map[string]int64{}, releases: map[string]string{}}
}

func (f *fakeBudget) CommitFunds(ctx context.Context, req *budgetv1.CommitFundsRequest) (*budgetv1.LedgerEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, status.Error(codes.Unavailable, "budget down")
	}
	if strings.Contains(req.GetRequestId(), "/") { // as the real budget service
		return nil, status.Error(codes.InvalidArgument, "request_id must be at most 100 characters without '/'")
	}
	p, _ := auth.FromContext(ctx)
	f.callers = append(f.callers, string(p.Role))
	name, ok := f.commits[req.GetRequestId()]
	if !ok {
		name = fmt.Sprintf("%s/ledgerEntries/c%d", req.GetName(), len(f.commits)+1)
		f.commits[req.GetRequestId()] = name
		f.amounts[req.GetRequestId()] = req.GetAmountCents()
	}
	if f.lose {
		return nil, status.Error(codes.Unavailable, "answer lost")
	}
	return &budgetv1.LedgerEntry{Name: name}, nil
}

func (f *fakeBudget) ReleaseFunds(ctx context.Context, req *budgetv1.ReleaseFundsRequest) (*budgetv1.LedgerEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, status.Error(codes.Unavailable, "budget down")
	}
	if strings.Contains(req.GetRequestId(), "/") { // as the real budget service
		return nil, status.Error(codes.InvalidArgument, "request_id must be at most 100 characters without '/'")
	}
	f.releases[req.GetRequestId()] = req.GetCommitment()
	return &budgetv1.LedgerEntry{Name: req.GetCommitment() + "-release"}, nil
}

func (f *fakeBudget) ListBudgets(ctx context.Context, req *budgetv1.ListBudgetsRequest) (*budgetv1.ListBudgetsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, status.Error(codes.Unavailable, "budget down")
	}
	return &budgetv1.ListBudgetsResponse{Budgets: []*budgetv1.Budget{{Name: req.GetParent() + "/budgets/b1", State: budgetv1.Budget_ACTIVE}}}, nil
}

func (f *fakeBudget) GetStatement(ctx context.Context, req *budgetv1.GetStatementRequest) (*budgetv1.Statement, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, status.Error(codes.Unavailable, "budget down")
	}
	return &budgetv1.Statement{Name: req.GetName(), AllocatedCents: 500000, CommittedCents: 120000, SpentCents: 30000,
		AvailableCents: 350000}, nil
}

// fakeAssessment serves the client's plans (one with an ACTIVE revision) and
// assessments (an older and a newer COMPLETED one, and a DRAFT), and fails on
// demand.
type fakeAssessment struct {
	assessmentv1.UnimplementedAssessmentServiceServer
	mu   sync.Mutex
	down bool
}

func (f *fakeAssessment) isDown() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.down
}

func (f *fakeAssessment) ListPlans(ctx context.Context, req *assessmentv1.ListPlansRequest) (*assessmentv1.ListPlansResponse, error) {
	if f.isDown() {
		return nil, status.Error(codes.Unavailable, "assessment down")
	}
	if _, ok := auth.FromContext(ctx); !ok {
		return nil, status.Error(codes.Unauthenticated, "no token forwarded")
	}
	return &assessmentv1.ListPlansResponse{Plans: []*assessmentv1.Plan{
		{Name: req.GetParent() + "/plans/p1", ActiveRevision: req.GetParent() + "/plans/p1/revisions/2"},
		{Name: req.GetParent() + "/plans/p0"}, // closed, no active revision
	}}, nil
}

func (f *fakeAssessment) GetPlanRevision(ctx context.Context, req *assessmentv1.GetPlanRevisionRequest) (*assessmentv1.PlanRevision, error) {
	if f.isDown() {
		return nil, status.Error(codes.Unavailable, "assessment down")
	}
	return &assessmentv1.PlanRevision{Name: req.GetName(), State: assessmentv1.PlanRevision_ACTIVE, Goals: []*assessmentv1.Goal{
		{Id: "g1", ClientWords: "Arki sujuu ilman jatkuvaa kiirettä"}, {Id: "g2", ClientWords: "Lapset pääsevät ajoissa kouluun"}}}, nil
}

func (f *fakeAssessment) ListAssessments(ctx context.Context, req *assessmentv1.ListAssessmentsRequest) (*assessmentv1.ListAssessmentsResponse, error) {
	if f.isDown() {
		return nil, status.Error(codes.Unavailable, "assessment down")
	}
	day := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	return &assessmentv1.ListAssessmentsResponse{Assessments: []*assessmentv1.Assessment{
		{Name: req.GetParent() + "/assessments/a1", State: assessmentv1.Assessment_COMPLETED, Summary: "older summary",
			CompleteTime: timestamppb.New(day)},
		{Name: req.GetParent() + "/assessments/a2", State: assessmentv1.Assessment_COMPLETED, Summary: "Arjen rakenne tarvitsee tukea",
			CompleteTime: timestamppb.New(day.AddDate(0, 0, 10))},
		{Name: req.GetParent() + "/assessments/a3", State: assessmentv1.Assessment_DRAFT, Summary: "draft summary"},
	}}, nil
}

func (f *fakeBudget) count() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.commits), len(f.releases)
}

type env struct {
	rc      referralv1.ReferralServiceClient
	cc      clientsv1.ClientsServiceClient
	csvc    *clientsservice.Service
	svc     *service.Service
	cat     *fakeCatalogue
	bud     *fakeBudget
	asm     *fakeAssessment
	tok     *testkit.Tokens
	spans   *tracetest.InMemoryExporter
	metrics *sdkmetric.ManualReader
	tel     *telemetry.Providers
	st      store.Store
	newSvc  func() *service.Service
	tiina   string
	parent  string
	client  auth.Principal
	budget  string
	clock   time.Time
	clockMu sync.Mutex
}

func (e *env) as(t *testing.T, p auth.Principal) context.Context { return e.tok.As(t, p, "case work") }

func (e *env) now() time.Time {
	e.clockMu.Lock()
	defer e.clockMu.Unlock()
	return e.clock
}

func (e *env) advance(d time.Duration) {
	e.clockMu.Lock()
	defer e.clockMu.Unlock()
	e.clock = e.clock.Add(d)
}

func start(t *testing.T, clientsStore, st store.Store) *env {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	mr := sdkmetric.NewManualReader()
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: service.Name, SpanExporter: exp, MetricReader: mr})
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
	cat, bud := newFakeCatalogue(), newFakeBudget()
	catconn := testkit.Serve(t, tok.Verifier, tel, func(r grpc.ServiceRegistrar) { cataloguev1.RegisterCatalogueServiceServer(r, cat) })
	budconn := testkit.Serve(t, tok.Verifier, tel, func(r grpc.ServiceRegistrar) { budgetv1.RegisterBudgetServiceServer(r, bud) })
	asm := &fakeAssessment{}
	asmconn := testkit.Serve(t, tok.Verifier, tel, func(r grpc.ServiceRegistrar) { assessmentv1.RegisterAssessmentServiceServer(r, asm) })
	svcTok := tok.Token(t, refsvc)
	e := &env{cc: clientsv1.NewClientsServiceClient(cconn), csvc: csvc, cat: cat, bud: bud, asm: asm, tok: tok, spans: exp, metrics: mr, tel: tel, st: st,
		clock: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	e.newSvc = func() *service.Service {
		svc, err := service.New(service.Deps{Store: st, Telemetry: tel, Logger: log,
			Clients: clientsv1.NewClientsServiceClient(cconn), Catalogue: cataloguev1.NewCatalogueServiceClient(catconn),
			Budget: budgetv1.NewBudgetServiceClient(budconn), Assessment: assessmentv1.NewAssessmentServiceClient(asmconn),
			ServiceToken: func(context.Context) (string, error) { return svcTok, nil }, AllowLoopbackHTTP: true})
		if err != nil {
			t.Fatal(err)
		}
		svc.SetClock(e.now)
		return svc
	}
	e.svc = e.newSvc()
	rconn := testkit.Serve(t, tok.Verifier, tel, func(r grpc.ServiceRegistrar) { e.svc.Register(r) })
	e.rc = referralv1.NewReferralServiceClient(rconn)

	c, err := e.cc.CreateClient(e.as(t, mikko), &clientsv1.CreateClientRequest{CoordinatingWorker: aino.Subject, Client: &clientsv1.Client{
		GivenName: "Tiina", FamilyName: "Virtanen", PreferredLanguages: []string{"fi"},
		ContactPreference: clientsv1.ContactPreference_CONTACT_PREFERENCE_VIA_WORKER,
		ContactDetails:    &clientsv1.ContactDetails{Phone: "+358401234567"},
		TargetGroup:       clientsv1.TargetGroup_TARGET_GROUP_FAMILY_ADULT, Cohort: clientsv1.Cohort_COHORT_PERSONAL_BUDGET,
	}})
	if err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	e.parent = c.GetName()
	e.tiina = strings.TrimPrefix(c.GetName(), "clients/")
	e.client = auth.Principal{Subject: "u-tiina", Role: auth.RoleClient, ClientID: e.tiina}
	e.budget = e.parent + "/budgets/b1"
	return e
}

// draft creates a DRAFT referral from Aino to an offering.
func (e *env) draft(t *testing.T, offering string, commit int64) *referralv1.Referral {
	t.Helper()
	r := &referralv1.Referral{Client: e.parent, SendingUnit: "Perhepalvelut, Tampere", RecipientOffering: offering,
		RequestNote: "Neuropsykiatrinen valmennus, 12 kertaa", Urgency: referralv1.Urgency_URGENCY_ROUTINE}
	if commit > 0 {
		r.Commitment = &referralv1.BudgetCommitment{Budget: e.budget, LineId: "coach", AmountCents: commit}
	}
	got, err := e.rc.CreateReferral(e.as(t, aino), &referralv1.CreateReferralRequest{Referral: r})
	if err != nil {
		t.Fatalf("CreateReferral: %v", err)
	}
	return got
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

func (e *env) flush(t *testing.T) []sdktrace.ReadOnlySpan {
	t.Helper()
	if err := e.tel.TracerProvider.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var out []sdktrace.ReadOnlySpan
	for _, s := range e.spans.GetSpans().Snapshots() {
		out = append(out, s)
	}
	return out
}
