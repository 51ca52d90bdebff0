// Package service wires the referral service together: the domain, the use
// cases, the store, the peer clients and the gRPC surface. Both the referral
// binary (cmd/referral) and the all-in-one (cmd/polku) build the service here.
package service

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"google.golang.org/grpc"

	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/telemetry"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
	"github.com/polku-hb/polku/services/referral/internal/app"
	"github.com/polku-hb/polku/services/referral/internal/grpcapi"
	"github.com/polku-hb/polku/services/referral/internal/peers"
	"github.com/polku-hb/polku/services/referral/internal/referral"
	repo "github.com/polku-hb/polku/services/referral/internal/store"
)

// Name is the service's name in telemetry and logs.
const Name = "polku-referral"

// Namespace and Shards of the referral store namespace.
const (
	Namespace = repo.Namespace
	Shards    = repo.Shards
)

// EventSource is the Envelope.Source of this service's events.
const EventSource = app.Source

// DefaultEscalationInterval is how often the SLA worker looks for overdue
// referrals.
const DefaultEscalationInterval = time.Minute

// Deps are what the service needs from its process.
type Deps struct {
	// Store is the "referral" namespace (Namespace, Shards).
	Store     store.Store
	Telemetry *telemetry.Providers
	Logger    *slog.Logger
	// Clients, Catalogue and Budget are the peers; their connections should
	// carry auth.UnaryClientInterceptor and the otelgrpc client handler.
	Clients   clientsv1.ClientsServiceClient
	Catalogue cataloguev1.CatalogueServiceClient
	Budget    budgetv1.BudgetServiceClient
	// Assessment is the assessment service (the packet's PLAN_GOALS and
	// ASSESSMENT_SUMMARY); required.
	Assessment assessmentv1.AssessmentServiceClient
	// ServiceToken returns a SERVICE-role bearer token of this service (the
	// escalation worker, the consent re-check on provider reads, releases
	// caused by provider verbs).
	ServiceToken func(ctx context.Context) (string, error)
	// Policy overrides the deadline defaults (zero: referral.DefaultPolicy).
	Policy referral.Policy
	// EscalationInterval: 0 means DefaultEscalationInterval.
	EscalationInterval time.Duration
	// WebhookInterval is how often due webhook deliveries are attempted
	// (0: DefaultWebhookInterval).
	WebhookInterval time.Duration
	// WebhookClient sends deliveries (nil: a client with a 10 s timeout).
	WebhookClient *http.Client
	// AllowLoopbackHTTP permits http:// webhook URLs to loopback hosts
	// (polku dev only).
	AllowLoopbackHTTP bool
}

// DefaultWebhookInterval is how often due webhook deliveries are attempted.
const DefaultWebhookInterval = 5 * time.Second

// Service is a ready referral service.
type Service struct {
	app      *app.Service
	api      *grpcapi.Server
	deps     Deps
	interval time.Duration
	webhooks time.Duration
}

// New builds the service.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Telemetry == nil || d.Logger == nil || d.Clients == nil || d.Catalogue == nil || d.Budget == nil || d.Assessment == nil || d.ServiceToken == nil {
		return nil, errors.New("referral: store, telemetry, logger, clients, catalogue, budget, assessment and service token are required")
	}
	if d.Store.Shards() != Shards {
		return nil, errors.New("referral: store namespace must have the service's shard count")
	}
	pol := d.Policy
	if pol == (referral.Policy{}) {
		pol = referral.DefaultPolicy
	}
	client := d.WebhookClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	a, err := app.New(app.Deps{Repo: repo.New(d.Store, pol), Clients: &peers.Clients{C: d.Clients},
		Catalogue: &peers.Catalogue{C: d.Catalogue}, Budget: &peers.Budget{C: d.Budget}, Assessment: &peers.Assessment{C: d.Assessment}, Policy: pol,
		ServiceToken: d.ServiceToken, Tracer: d.Telemetry.Tracer(Name), Meter: d.Telemetry.Meter(Name), Logger: d.Logger,
		Webhooks: app.WebhookConfig{Render: grpcapi.Render, Client: client, AllowLoopbackHTTP: d.AllowLoopbackHTTP,
			Propagator: d.Telemetry.Propagator}})
	if err != nil {
		return nil, err
	}
	iv := d.EscalationInterval
	if iv <= 0 {
		iv = DefaultEscalationInterval
	}
	wh := d.WebhookInterval
	if wh <= 0 {
		wh = DefaultWebhookInterval
	}
	return &Service{app: a, api: grpcapi.New(a, d.Logger), deps: d, interval: iv, webhooks: wh}, nil
}

// Register adds the gRPC service to a server.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	referralv1.RegisterReferralServiceServer(r, s.api)
}

// RunWorkers runs the background work until ctx ends: the SLA escalation
// worker, the webhook consumer (a consumer group over this service's event
// stream that queues deliveries) and the delivery loop. Safe to run in several
// replicas.
func (s *Service) RunWorkers(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.app.RunEscalations(ctx, s.interval) })
	g.Go(func() error { return s.WebhookConsumer().Run(ctx) })
	g.Go(func() error { return s.app.RunDeliveries(ctx, s.webhooks) })
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// WebhookConsumer queues webhook deliveries from the service's own events.
func (s *Service) WebhookConsumer() *events.Consumer {
	host, _ := os.Hostname()
	return &events.Consumer{Store: s.deps.Store, Group: "referral-webhooks", Name: host + "-referral-webhooks",
		Handle: s.app.QueueWebhooks, Logger: s.deps.Logger, Tracer: s.deps.Telemetry.Tracer(Name)}
}

// DeliverWebhooks attempts due webhook deliveries now (tests, operations).
func (s *Service) DeliverWebhooks(ctx context.Context) (int, error) { return s.app.DeliverDue(ctx) }

// EscalateDue runs one escalation pass now and returns how many escalations
// it made (tests, operations).
func (s *Service) EscalateDue(ctx context.Context) (int, error) { return s.app.EscalateDue(ctx) }

// SetClock replaces the clock (tests, demo seeding).
func (s *Service) SetClock(now func() time.Time) { s.app.SetClock(now) }
