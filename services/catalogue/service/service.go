// Package service wires the provider catalogue together: the one place where the
// domain, the use cases, the store and the gRPC surface meet. Both the catalogue
// binary (cmd/catalogue) and the all-in-one (cmd/polku) build the service here.
package service

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"google.golang.org/grpc"

	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/telemetry"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	"github.com/polku-hb/polku/services/catalogue/internal/app"
	"github.com/polku-hb/polku/services/catalogue/internal/grpcapi"
	repo "github.com/polku-hb/polku/services/catalogue/internal/store"
)

// Name is the service's name in telemetry and logs.
const Name = "polku-catalogue"

// Namespace and Shards of the catalogue store namespace (see internal/store for
// the layout and why 8 shards).
const (
	Namespace = repo.Namespace
	Shards    = repo.Shards
)

// Deps are what the service needs from its process.
type Deps struct {
	// Store is the "catalogue" namespace (Namespace, Shards).
	Store     store.Store
	Telemetry *telemetry.Providers
	Logger    *slog.Logger
	// SearchFromStore answers searches from the store's search indexes instead
	// of the in-memory projection (POLKU_CATALOGUE_SEARCH=store): slower, but
	// no memory for the projection (about 0.5 KB per live offering).
	SearchFromStore bool
	// Tokens signs provider tokens for the credential exchange (nil: the
	// exchange answers FAILED_PRECONDITION).
	Tokens *TokenConfig
	// ExpiryInterval is how often RunWorkers looks for due quote requests
	// (POLKU_CATALOGUE_EXPIRY_INTERVAL; 0 = DefaultExpiryInterval).
	ExpiryInterval time.Duration
}

// DefaultExpiryInterval is how often quote requests are checked for expiry.
const DefaultExpiryInterval = time.Minute

// TokenConfig is how the credential exchange signs provider tokens: Signer
// (the dev issuer in development, auth.NewSigner of the key file in
// production), the tokens' iss and aud, and their lifetime.
type TokenConfig = app.TokenConfig

// Service is a ready catalogue service.
type Service struct {
	app  *app.Service
	api  *grpcapi.Server
	deps Deps
}

// New builds the service.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Telemetry == nil || d.Logger == nil {
		return nil, errors.New("catalogue: store, telemetry and logger are required")
	}
	if d.Store.Shards() != Shards {
		return nil, errors.New("catalogue: store namespace must have the service's shard count")
	}
	a := app.New(repo.New(d.Store), d.Logger)
	if !d.SearchFromStore {
		a.UseProjection()
	}
	if d.Tokens != nil {
		if d.Tokens.Signer == nil || d.Tokens.Issuer == "" || d.Tokens.Audience == "" || d.Tokens.TTL <= 0 {
			return nil, errors.New("catalogue: provider tokens need a signer, issuer, audience and a positive lifetime")
		}
		a.UseTokens(*d.Tokens)
	}
	return &Service{app: a, api: grpcapi.New(a, d.Logger), deps: d}, nil
}

// Register adds the gRPC service to a server.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	cataloguev1.RegisterCatalogueServiceServer(r, s.api)
}

// LoadSearch loads the replica's search projection from the store; call it
// before serving (a search also loads it when it is not loaded yet). At 100,000
// live offerings it takes a few seconds (see docs/catalogue.md).
func (s *Service) LoadSearch(ctx context.Context) error { return s.app.LoadProjection(ctx) }

// RunWorkers runs the background work until ctx ends: the quote-request
// expiry worker. Safe to run in several replicas (one wins each transition).
func (s *Service) RunWorkers(ctx context.Context) error {
	iv := s.deps.ExpiryInterval
	if iv <= 0 {
		iv = DefaultExpiryInterval
	}
	if err := s.app.RunExpiry(ctx, iv); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// ExpireDue runs one expiry pass now and returns how many quote requests it
// expired or lapsed (tests, operations).
func (s *Service) ExpireDue(ctx context.Context) (int, error) { return s.app.ExpireDue(ctx) }

// SetClock replaces the service's clock (tests and demos of freshness and
// quote expiry). Not safe to call while requests are served.
func (s *Service) SetClock(now func() time.Time) { s.app.SetClock(now) }
