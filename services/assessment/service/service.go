// Package service wires the assessment service together: the one place where
// the domain, the use cases, the store, the peer clients and the gRPC surface
// meet. Both the assessment binary (cmd/assessment) and the all-in-one
// (cmd/polku) build the service here.
package service

import (
	"errors"
	"log/slog"

	"google.golang.org/grpc"

	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/telemetry"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/services/assessment/internal/app"
	"github.com/polku-hb/polku/services/assessment/internal/grpcapi"
	"github.com/polku-hb/polku/services/assessment/internal/peers"
	repo "github.com/polku-hb/polku/services/assessment/internal/store"
)

// Name is the service's name in telemetry and logs.
const Name = "polku-assessment"

// Namespace and Shards of the assessment store namespace.
const (
	Namespace = repo.Namespace
	Shards    = repo.Shards
)

// EventSource is the Envelope.Source of this service's events (for the clients
// timeline consumer).
const EventSource = app.Source

// DefaultAuthorityLimitCents is the workers' yearly approval limit when none is
// configured: 5 000 EUR (POLKU_ASSESSMENT_AUTHORITY_LIMIT_CENTS).
const DefaultAuthorityLimitCents = app.DefaultAuthorityLimitCents

// Deps are what the service needs from its process.
type Deps struct {
	// Store is the "assessment" namespace (Namespace, Shards).
	Store     store.Store
	Telemetry *telemetry.Providers
	Logger    *slog.Logger
	// Clients is the clients service; the connection should carry
	// auth.UnaryClientInterceptor (the caller's token is forwarded either way).
	Clients clientsv1.ClientsServiceClient
	// Catalogue is the catalogue service (offerings and price versions).
	Catalogue cataloguev1.CatalogueServiceClient
	// AuthorityLimitCents: a WORKER may approve a plan revision whose yearly
	// cost is at most this; above it a MANAGER approves with a justification.
	// 0 means DefaultAuthorityLimitCents; negative is an error.
	AuthorityLimitCents int64
}

// Service is a ready assessment service.
type Service struct {
	app *app.Service
	api *grpcapi.Server
}

// New builds the service.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Telemetry == nil || d.Logger == nil || d.Clients == nil || d.Catalogue == nil {
		return nil, errors.New("assessment: store, telemetry, logger, clients and catalogue are required")
	}
	if d.Store.Shards() != Shards {
		return nil, errors.New("assessment: store namespace must have the service's shard count")
	}
	if d.AuthorityLimitCents < 0 {
		return nil, errors.New("assessment: the authority limit must not be negative")
	}
	limit := d.AuthorityLimitCents
	if limit == 0 {
		limit = DefaultAuthorityLimitCents
	}
	a := app.New(repo.New(d.Store), &peers.Clients{C: d.Clients}, &peers.Catalogue{C: d.Catalogue},
		app.Config{AuthorityLimitCents: limit}, d.Telemetry.Tracer(Name), d.Logger)
	return &Service{app: a, api: grpcapi.New(a, d.Logger)}, nil
}

// Register adds the gRPC service to a server.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	assessmentv1.RegisterAssessmentServiceServer(r, s.api)
}
