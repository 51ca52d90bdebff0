// Package service wires the budget service together: the one place where the
// domain, the use cases, the store, the peer clients and the gRPC surface
// meet. Both the budget binary (cmd/budget) and the all-in-one (cmd/polku)
// build the service here.
package service

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"google.golang.org/grpc"

	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/telemetry"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/services/budget/internal/app"
	"github.com/polku-hb/polku/services/budget/internal/grpcapi"
	"github.com/polku-hb/polku/services/budget/internal/peers"
	repo "github.com/polku-hb/polku/services/budget/internal/store"
)

// Name is the service's name in telemetry and logs.
const Name = "polku-budget"

// Namespace and Shards of the budget store namespace.
const (
	Namespace = repo.Namespace
	Shards    = repo.Shards
)

// EventSource is the Envelope.Source of this service's events (for the clients
// timeline consumer).
const EventSource = app.Source

// DefaultAuthorityLimitCents is the workers' yearly approval limit when none is
// configured: 5 000 EUR (POLKU_BUDGET_AUTHORITY_LIMIT_CENTS), the same as the
// assessment service's plan limit.
const DefaultAuthorityLimitCents = app.DefaultAuthorityLimitCents

// Deps are what the service needs from its process.
type Deps struct {
	// Store is the "budget" namespace (Namespace, Shards).
	Store     store.Store
	Telemetry *telemetry.Providers
	Logger    *slog.Logger
	// Clients is the clients service (relationship checks with the caller's token).
	Clients clientsv1.ClientsServiceClient
	// Assessment is the assessment service (plan revisions).
	Assessment assessmentv1.AssessmentServiceClient
	// Catalogue is the catalogue service; optional today (lines are priced from
	// the plan revision's pinned prices), kept for claims against live prices.
	Catalogue cataloguev1.CatalogueServiceClient
	// AuthorityLimitCents: a WORKER may approve a budget whose yearly amount is
	// at most this; above it a MANAGER approves with a justification. 0 means
	// DefaultAuthorityLimitCents; negative is an error.
	AuthorityLimitCents int64
	// ReallocationLimitBasisPoints: the share of a budget's allocation a WORKER
	// may move between lines in one reallocation; above it a MANAGER. 0 means
	// DefaultReallocationLimitBasisPoints (2000 = 20 %); negative is an error.
	ReallocationLimitBasisPoints int64
	// ExpiryAlertDays: an ACTIVE budget whose period ends within this many
	// days and still has money available raises one
	// budget.expiring_with_money_left event per period
	// (POLKU_BUDGET_EXPIRY_ALERT_DAYS). 0 means DefaultExpiryAlertDays;
	// negative is an error.
	ExpiryAlertDays int
	// AlertInterval is how often RunWorkers scans for expiring budgets
	// (POLKU_BUDGET_ALERT_INTERVAL). 0 means DefaultAlertInterval; negative
	// is an error.
	AlertInterval time.Duration
	// ReservationGrace is how old an invoice-number reservation without its
	// claim must be before the reconciliation worker frees the number
	// (POLKU_BUDGET_RESERVATION_GRACE). 0 means DefaultReservationGrace;
	// negative is an error. The worker runs every grace/3.
	ReservationGrace time.Duration
}

// DefaultReservationGrace is 15 minutes, far beyond any request's deadline.
const DefaultReservationGrace = app.DefaultReservationGrace

// DefaultExpiryAlertDays is the expiry alert horizon: 30 days.
const DefaultExpiryAlertDays = app.DefaultExpiryAlertDays

// DefaultAlertInterval is how often the alert worker scans: hourly.
const DefaultAlertInterval = app.DefaultAlertInterval

// DefaultReallocationLimitBasisPoints is 20 % of the budget's allocation
// (POLKU_BUDGET_REALLOCATION_LIMIT_BASIS_POINTS).
const DefaultReallocationLimitBasisPoints = app.DefaultReallocationLimitBasisPoints

// Service is a ready budget service.
type Service struct {
	app      *app.Service
	api      *grpcapi.Server
	interval time.Duration
	grace    time.Duration
}

// New builds the service.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Telemetry == nil || d.Logger == nil || d.Clients == nil || d.Assessment == nil {
		return nil, errors.New("budget: store, telemetry, logger, clients and assessment are required")
	}
	if d.Store.Shards() != Shards {
		return nil, errors.New("budget: store namespace must have the service's shard count")
	}
	if d.ExpiryAlertDays < 0 || d.AlertInterval < 0 || d.ReservationGrace < 0 {
		return nil, errors.New("budget: the expiry alert horizon, the alert interval and the reservation grace must not be negative")
	}
	grace := d.ReservationGrace
	if grace == 0 {
		grace = DefaultReservationGrace
	}
	interval := d.AlertInterval
	if interval == 0 {
		interval = DefaultAlertInterval
	}
	if d.AuthorityLimitCents < 0 || d.ReallocationLimitBasisPoints < 0 {
		return nil, errors.New("budget: the authority and reallocation limits must not be negative")
	}
	limit := d.AuthorityLimitCents
	if limit == 0 {
		limit = DefaultAuthorityLimitCents
	}
	realloc := d.ReallocationLimitBasisPoints
	if realloc == 0 {
		realloc = DefaultReallocationLimitBasisPoints
	}
	a := app.New(repo.New(d.Store), &peers.Clients{C: d.Clients}, &peers.Assessment{C: d.Assessment},
		app.Config{AuthorityLimitCents: limit, ReallocationLimitBasisPoints: realloc, ExpiryAlertDays: d.ExpiryAlertDays}, d.Telemetry.Tracer(Name), d.Logger)
	return &Service{app: a, api: grpcapi.New(a, d.Logger), interval: interval, grace: grace}, nil
}

// Register adds the gRPC service to a server.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	budgetv1.RegisterBudgetServiceServer(r, s.api)
}

// RunWorkers runs the service's background work until ctx ends: the
// expiring-with-money-left alert scan every AlertInterval, and the
// invoice-reservation reconciliation every ReservationGrace/3. Safe to run in
// every replica at once (each alert is raised once per budget period; each
// orphan is cleared by compare-and-set).
func (s *Service) RunWorkers(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.app.RunReconciliation(ctx, s.grace/3, s.grace) }()
	err := errors.Join(s.app.RunExpiryAlerts(ctx, s.interval), <-done)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// ReconcileReservations runs one reconciliation pass now and returns how many
// orphaned invoice-number reservations it freed (tests, operations).
func (s *Service) ReconcileReservations(ctx context.Context) (int, error) {
	return s.app.ReconcileReservations(ctx, s.grace)
}

// AlertExpiring runs one expiry alert pass now and returns how many alerts it
// raised (tests, operations).
func (s *Service) AlertExpiring(ctx context.Context) (int, error) { return s.app.AlertExpiring(ctx) }

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.app.SetClock(now) }
