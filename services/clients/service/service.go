// Package service wires the clients service together: the one place where the
// domain, the use cases, the store and the gRPC surface meet. Both the clients
// binary (cmd/clients) and the all-in-one (cmd/polku) build the service here.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/telemetry"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/services/clients/internal/app"
	"github.com/polku-hb/polku/services/clients/internal/grpcapi"
	"github.com/polku-hb/polku/services/clients/internal/protect"
	repo "github.com/polku-hb/polku/services/clients/internal/store"
)

// Name is the service's name in telemetry and logs.
const Name = "polku-clients"

// Namespace and Shards of the clients store namespace.
const (
	Namespace = repo.Namespace
	Shards    = repo.Shards
)

// ParseKey decodes POLKU_PIC_KEY: 32 bytes, base64 encoded.
func ParseKey(b64 string) ([]byte, error) { return protect.ParseKey(b64) }

// ParseOldKeys decodes POLKU_PIC_OLD_KEYS: "<version>:<base64 key>" pairs,
// comma-separated, versions 1-255.
func ParseOldKeys(s string) (map[byte][]byte, error) {
	out := map[byte][]byte{}
	for _, pair := range strings.Split(s, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		v, b64, ok := strings.Cut(pair, ":")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 1 || n > 255 {
			return nil, fmt.Errorf("%q: want <version 1-255>:<base64 key>", v)
		}
		if _, dup := out[byte(n)]; dup {
			return nil, fmt.Errorf("version %d given twice", n)
		}
		if out[byte(n)], err = protect.ParseKey(b64); err != nil {
			return nil, fmt.Errorf("version %d: %w", n, err)
		}
	}
	return out, nil
}

// NewKey makes a random identity-code master key, base64 encoded (dev setups).
func NewKey() string { return protect.NewKey() }

// Deps are what the service needs from its process.
type Deps struct {
	// Store is the "clients" namespace (Namespace, Shards).
	Store store.Store
	// PICKey is the 32-byte master key protecting identity codes; it seals new
	// codes under PICKeyVersion (0 means 1).
	PICKey        []byte
	PICKeyVersion byte
	// PICOldKeys are earlier keys by version: codes they sealed still open.
	PICOldKeys map[byte][]byte
	Telemetry  *telemetry.Providers
	Logger     *slog.Logger
}

// Service is a ready clients service.
type Service struct {
	app  *app.Service
	api  *grpcapi.Server
	deps Deps
}

// New builds the service.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Telemetry == nil || d.Logger == nil {
		return nil, errors.New("clients: store, telemetry and logger are required")
	}
	if d.Store.Shards() != Shards {
		return nil, errors.New("clients: store namespace must have the service's shard count")
	}
	ring := map[byte][]byte{}
	for v, k := range d.PICOldKeys {
		ring[v] = k
	}
	current := max(d.PICKeyVersion, 1)
	if _, dup := ring[current]; dup {
		return nil, fmt.Errorf("clients: identity-code key version %d is both current and old", current)
	}
	ring[current] = d.PICKey
	box, err := protect.NewRing(current, ring)
	if err != nil {
		return nil, err
	}
	a := app.New(repo.New(d.Store), box, d.Telemetry.Tracer(Name), d.Logger)
	return &Service{app: a, api: grpcapi.New(a, d.Logger), deps: d}, nil
}

// Register adds the gRPC service to a server.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	clientsv1.RegisterClientsServiceServer(r, s.api)
}

// TimelineConsumer feeds a stream's events (this service's own, and later other
// services') into clients' timelines. Run one per source stream; any number of
// replicas may run it: the group shares the work and entries are written once.
func (s *Service) TimelineConsumer(source store.Store) *events.Consumer {
	host, _ := os.Hostname()
	return &events.Consumer{
		Store:  source,
		Group:  "clients-timeline",
		Name:   host + "-" + source.Namespace(),
		Handle: s.app.ApplyEvent,
		Logger: s.deps.Logger,
		Tracer: s.deps.Telemetry.Tracer(Name),
	}
}

// RunConsumers runs the timeline consumers until ctx ends: one for the service's
// own stream and one for each other service's stream in sources (their store
// namespaces), so the timeline tells the whole service path.
func (s *Service) RunConsumers(ctx context.Context, sources ...store.Store) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, src := range append([]store.Store{s.deps.Store}, sources...) {
		g.Go(func() error { return s.TimelineConsumer(src).Run(ctx) })
	}
	return g.Wait()
}
