// Package dev runs the whole of Polku in one process for a laptop, a demo or a
// pilot: every service on its own loopback gRPC port, the REST gateway, one
// embedded store file (or Redis), a development signing key, and demo data.
package dev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"

	"github.com/polku-hb/polku/gateway"
	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/grpcserver"
	"github.com/polku-hb/polku/platform/logging"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/store/embedded"
	"github.com/polku-hb/polku/platform/telemetry"
	"github.com/polku-hb/polku/platform/version"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	assessmentsvc "github.com/polku-hb/polku/services/assessment/service"
	budgetsvc "github.com/polku-hb/polku/services/budget/service"
	cataloguesvc "github.com/polku-hb/polku/services/catalogue/service"
	clientssvc "github.com/polku-hb/polku/services/clients/service"
	referralsvc "github.com/polku-hb/polku/services/referral/service"
)

// ProviderTokenTTL is the lifetime of the provider tokens the catalogue's
// credential exchange issues in the all-in-one.
const ProviderTokenTTL = 15 * time.Minute

// Options configure a Stack. Zero values give the `polku dev` defaults.
type Options struct {
	// DataDir holds the embedded store, the dev signing key and the dev
	// identity-code key (default .data).
	DataDir string
	// Store is "embedded" (default) or "redis" (then RedisAddrs).
	Store      string
	RedisAddrs []string
	// GatewayAddr and ServiceAddrs are listen addresses; "127.0.0.1:0" picks a
	// free port (tests). Defaults: gateway 127.0.0.1:8080, services 9101-9105.
	GatewayAddr  string
	ServiceAddrs map[string]string
	// SpanExporter, when set, receives every span of every service (tests).
	SpanExporter sdktrace.SpanExporter
	// AuthorityLimitCents is the yearly plan cost a worker may approve alone
	// (0: the assessment service's default).
	AuthorityLimitCents int64
	// Log receives the JSON logs of every service (default os.Stderr).
	Log io.Writer
	// MetricsAddr, when set, serves the Prometheus /metrics of every service
	// (each series labelled with its service_name) there; "" serves none.
	MetricsAddr string
	// TokenCacheTTL is how long verified tokens are remembered (0:
	// boot.DefaultTokenCacheTTL; negative: verify every call).
	TokenCacheTTL time.Duration
}

// Stack is a running all-in-one.
type Stack struct {
	// GatewayURL is the REST base URL, e.g. http://127.0.0.1:8080.
	GatewayURL string
	// GRPCAddrs maps each service to its gRPC address.
	GRPCAddrs map[string]string
	// MetricsURL is the Prometheus scrape URL ("" without Options.MetricsAddr).
	MetricsURL string
	// Issuer signs development tokens the stack accepts.
	Issuer *auth.DevIssuer

	// catalogue seeds its demo through its use cases.
	catalogue *cataloguesvc.Service
	// referral's demo moves its clock to make an overdue referral.
	referral *referralsvc.Service

	ctx    context.Context // ends when the stack stops
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
	closes []func() error
}

// Start starts every service and the gateway and returns when they listen.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.DataDir == "" {
		o.DataDir = ".data"
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.GatewayAddr == "" {
		o.GatewayAddr = "127.0.0.1:8080"
	}
	addrs := map[string]string{}
	for _, name := range gateway.Services() {
		addrs[name] = gateway.DefaultTargets[name]
		if a, ok := o.ServiceAddrs[name]; ok {
			addrs[name] = a
		}
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, err
	}
	issuer, err := auth.LoadOrCreateDevKey(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("dev signing key: %w", err)
	}
	es256, err := auth.NewVerifier(ctx, auth.Config{Issuer: auth.DevIssuerName, Audience: auth.DevAudience, PublicKeyPEM: issuer.PublicKeyPEM()})
	if err != nil {
		return nil, err
	}
	var verifier auth.TokenVerifier = es256
	switch {
	case o.TokenCacheTTL == 0:
		verifier = auth.NewCachedVerifier(es256, 10_000, boot.DefaultTokenCacheTTL)
	case o.TokenCacheTTL > 0:
		verifier = auth.NewCachedVerifier(es256, 10_000, o.TokenCacheTTL)
	}
	picKey, err := devPICKey(o.DataDir)
	if err != nil {
		return nil, err
	}

	ctx, cancel := context.WithCancel(ctx)
	s := &Stack{GRPCAddrs: map[string]string{}, Issuer: issuer, ctx: ctx, cancel: cancel}
	fail := func(err error) (*Stack, error) {
		_ = s.Stop()
		return nil, err
	}

	var stores *boot.Stores
	if o.Store == "redis" {
		stores, err = boot.OpenStores(boot.Common{Store: "redis", RedisAddrs: o.RedisAddrs})
	} else {
		var db *embedded.DB
		db, err = embedded.Open(filepath.Join(o.DataDir, "polku.db"))
		stores = boot.EmbeddedStores(db)
	}
	if err != nil {
		return fail(fmt.Errorf("store: %w", err))
	}
	s.closes = append(s.closes, stores.Close)

	var metrics *telemetry.Scrape
	if o.MetricsAddr != "" {
		metrics = telemetry.NewScrape()
		lis, err := net.Listen("tcp", o.MetricsAddr)
		if err != nil {
			return fail(fmt.Errorf("metrics: %w", err))
		}
		s.MetricsURL = "http://" + lis.Addr().String() + telemetry.MetricsPath
		s.goRun(func() error { return telemetry.ServeMetrics(ctx, lis, metrics) })
	}
	newTelemetry := func(name string) (*telemetry.Providers, error) {
		tel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: name, ServiceVersion: version.Version, SpanExporter: o.SpanExporter, Scrape: metrics})
		if err != nil {
			return nil, err
		}
		s.closes = append(s.closes, func() error {
			sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
			defer c()
			return tel.Shutdown(sctx)
		})
		return tel, nil
	}
	// Listen on every port first: services that call each other get their
	// peers' addresses before anything serves.
	listeners := map[string]net.Listener{}
	for _, name := range gateway.Services() {
		lis, err := net.Listen("tcp", addrs[name])
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return fail(fmt.Errorf("%s: %w", name, err))
		}
		listeners[name] = lis
		s.GRPCAddrs[name] = lis.Addr().String()
	}
	serve := func(name string, log *slog.Logger, tel *telemetry.Providers, ready func(context.Context) error, register func(grpc.ServiceRegistrar)) {
		srv := grpcserver.New(grpcserver.Options{
			Name: name, Logger: log, Telemetry: tel, Ready: ready,
			Unary:  []grpc.UnaryServerInterceptor{auth.UnaryServerInterceptor(verifier)},
			Stream: []grpc.StreamServerInterceptor{auth.StreamServerInterceptor(verifier)},
		})
		register(srv.GRPC())
		lis := listeners[name]
		delete(listeners, name)
		s.goRun(func() error { return srv.Serve(ctx, lis) })
	}

	// dial connects a service to a peer: its spans continue the caller's trace
	// and the caller's bearer token travels on (every service verifies it again).
	dial := func(tel *telemetry.Providers, peer string) (*grpc.ClientConn, error) {
		conn, err := boot.DialPeer(s.GRPCAddrs[peer], tel)
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", peer, err)
		}
		s.closes = append(s.closes, conn.Close)
		return conn, nil
	}

	// clients: its timeline reads every implemented service's event stream.
	var timelineSources []store.Store
	var startClients func()
	{
		tel, err := newTelemetry(clientssvc.Name)
		if err != nil {
			return fail(err)
		}
		log := logging.New(o.Log, "info", clientssvc.Name)
		st := stores.Namespace(clientssvc.Namespace, clientssvc.Shards)
		svc, err := clientssvc.New(clientssvc.Deps{Store: st, PICKey: picKey, Telemetry: tel, Logger: log})
		if err != nil {
			return fail(err)
		}
		serve("clients", log, tel, st.Ping, svc.Register)
		startClients = func() { s.goRun(func() error { return svc.RunConsumers(ctx, timelineSources...) }) }
	}
	// catalogue
	{
		tel, err := newTelemetry(cataloguesvc.Name)
		if err != nil {
			return fail(err)
		}
		log := logging.New(o.Log, "info", cataloguesvc.Name)
		st := stores.Namespace(cataloguesvc.Namespace, cataloguesvc.Shards)
		// Provider systems exchange their credentials for dev-issuer tokens,
		// which every service here already trusts.
		svc, err := cataloguesvc.New(cataloguesvc.Deps{Store: st, Telemetry: tel, Logger: log, Tokens: &cataloguesvc.TokenConfig{
			Signer: issuer, Issuer: auth.DevIssuerName, Audience: auth.DevAudience, TTL: ProviderTokenTTL,
		}})
		if err != nil {
			return fail(err)
		}
		serve("catalogue", log, tel, st.Ping, svc.Register)
		s.goRun(func() error { return svc.RunWorkers(ctx) })
		timelineSources = append(timelineSources, st)
		s.catalogue = svc
	}
	// assessment
	{
		tel, err := newTelemetry(assessmentsvc.Name)
		if err != nil {
			return fail(err)
		}
		log := logging.New(o.Log, "info", assessmentsvc.Name)
		clientsConn, err := dial(tel, "clients")
		if err != nil {
			return fail(err)
		}
		catalogueConn, err := dial(tel, "catalogue")
		if err != nil {
			return fail(err)
		}
		st := stores.Namespace(assessmentsvc.Namespace, assessmentsvc.Shards)
		svc, err := assessmentsvc.New(assessmentsvc.Deps{
			Store: st, Telemetry: tel, Logger: log,
			Clients:             clientsv1.NewClientsServiceClient(clientsConn),
			Catalogue:           cataloguev1.NewCatalogueServiceClient(catalogueConn),
			AuthorityLimitCents: o.AuthorityLimitCents,
		})
		if err != nil {
			return fail(err)
		}
		serve("assessment", log, tel, st.Ping, svc.Register)
		timelineSources = append(timelineSources, st)
	}
	// budget
	{
		tel, err := newTelemetry(budgetsvc.Name)
		if err != nil {
			return fail(err)
		}
		log := logging.New(o.Log, "info", budgetsvc.Name)
		conns := map[string]*grpc.ClientConn{}
		for _, peer := range []string{"clients", "assessment", "catalogue"} {
			if conns[peer], err = dial(tel, peer); err != nil {
				return fail(err)
			}
		}
		st := stores.Namespace(budgetsvc.Namespace, budgetsvc.Shards)
		svc, err := budgetsvc.New(budgetsvc.Deps{
			Store: st, Telemetry: tel, Logger: log,
			Clients:             clientsv1.NewClientsServiceClient(conns["clients"]),
			Assessment:          assessmentv1.NewAssessmentServiceClient(conns["assessment"]),
			Catalogue:           cataloguev1.NewCatalogueServiceClient(conns["catalogue"]),
			AuthorityLimitCents: o.AuthorityLimitCents,
		})
		if err != nil {
			return fail(err)
		}
		serve("budget", log, tel, st.Ping, svc.Register)
		s.goRun(func() error { return svc.RunWorkers(ctx) })
		timelineSources = append(timelineSources, st)
	}
	// referral
	{
		tel, err := newTelemetry(referralsvc.Name)
		if err != nil {
			return fail(err)
		}
		log := logging.New(o.Log, "info", referralsvc.Name)
		conns := map[string]*grpc.ClientConn{}
		for _, peer := range []string{"clients", "catalogue", "budget", "assessment"} {
			if conns[peer], err = dial(tel, peer); err != nil {
				return fail(err)
			}
		}
		st := stores.Namespace(referralsvc.Namespace, referralsvc.Shards)
		svc, err := referralsvc.New(referralsvc.Deps{
			Store: st, Telemetry: tel, Logger: log,
			Clients:    clientsv1.NewClientsServiceClient(conns["clients"]),
			Catalogue:  cataloguev1.NewCatalogueServiceClient(conns["catalogue"]),
			Budget:     budgetv1.NewBudgetServiceClient(conns["budget"]),
			Assessment: assessmentv1.NewAssessmentServiceClient(conns["assessment"]),
			// Background work (escalation, consent re-checks) acts as the service.
			ServiceToken: func(context.Context) (string, error) {
				return s.Token(auth.Principal{Subject: "svc-referral", Role: auth.RoleService}, time.Hour)
			},
			AllowLoopbackHTTP: true, // dev: webhook receivers on this machine
		})
		if err != nil {
			return fail(err)
		}
		serve("referral", log, tel, st.Ping, svc.Register)
		timelineSources = append(timelineSources, st)
		s.goRun(func() error { return svc.RunWorkers(ctx) })
		s.referral = svc
	}
	startClients()

	// The gateway.
	tel, err := newTelemetry(gateway.Name)
	if err != nil {
		return fail(err)
	}
	jwks, err := auth.JWKSFromPEM(issuer.PublicKeyPEM())
	if err != nil {
		return fail(err)
	}
	gw, err := gateway.New(ctx, gateway.Config{Targets: s.GRPCAddrs, MaxBodyBytes: 1 << 20, JWKS: jwks}, verifier, tel)
	if err != nil {
		return fail(err)
	}
	s.closes = append(s.closes, func() error { gw.Close(); return nil })
	lis, err := net.Listen("tcp", o.GatewayAddr)
	if err != nil {
		return fail(fmt.Errorf("gateway: %w", err))
	}
	s.GatewayURL = "http://" + lis.Addr().String()
	hs := gw.Server(lis.Addr().String())
	s.goRun(func() error {
		err := hs.Serve(lis)
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	})
	s.goRun(func() error {
		<-ctx.Done()
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		return hs.Shutdown(sctx)
	})
	return s, nil
}

func (s *Stack) goRun(f func() error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := f(); err != nil && !errors.Is(err, context.Canceled) {
			s.mu.Lock()
			s.errs = append(s.errs, err)
			s.mu.Unlock()
			s.cancel() // one part failing stops the whole stack
		}
	}()
}

// Wait blocks until the stack stops (its context ends or a part fails).
func (s *Stack) Wait() error {
	s.wg.Wait()
	return s.closeAll()
}

// Stop stops every part and waits for them.
func (s *Stack) Stop() error {
	s.cancel()
	return s.Wait()
}

func (s *Stack) closeAll() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.closes) - 1; i >= 0; i-- {
		if err := s.closes[i](); err != nil {
			s.errs = append(s.errs, err)
		}
	}
	s.closes = nil
	errs := s.errs
	s.errs = nil
	return errors.Join(errs...)
}

// Token issues a development token for p, valid for ttl.
func (s *Stack) Token(p auth.Principal, ttl time.Duration) (string, error) {
	return s.Issuer.Issue(p, auth.DevIssuerName, auth.DevAudience, ttl)
}

// devPICKey is POLKU_PIC_KEY, or a key generated once into the data dir.
func devPICKey(dir string) ([]byte, error) {
	if k := os.Getenv("POLKU_PIC_KEY"); k != "" {
		return clientssvc.ParseKey(k)
	}
	path := filepath.Join(dir, "pic-key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		b = []byte(clientssvc.NewKey())
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	return clientssvc.ParseKey(strings.TrimSpace(string(b)))
}
