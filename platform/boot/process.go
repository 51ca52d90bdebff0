package boot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/config"
	"github.com/polku-hb/polku/platform/grpcserver"
	"github.com/polku-hb/polku/platform/logging"
	"github.com/polku-hb/polku/platform/telemetry"
	"github.com/polku-hb/polku/platform/version"
)

// Main is the main function of a service binary: `-version` prints the build,
// SIGINT/SIGTERM cancel the context run gets, and an error exits with status 1.
func Main(name string, run func(ctx context.Context, env *config.Env) error) {
	if len(os.Args) > 1 && (os.Args[1] == "-version" || os.Args[1] == "--version") {
		fmt.Println(name, version.String())
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, config.FromOS())
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Process is what every service binary opens at start: logger, telemetry, the
// store backend and the token verifier. Close releases them in reverse order.
type Process struct {
	Name      string
	Common    Common
	Log       *slog.Logger
	Telemetry *telemetry.Providers
	Stores    *Stores
	Verifier  auth.TokenVerifier
	// Metrics is the Prometheus endpoint Serve runs when POLKU_METRICS_ADDR is
	// set; nil otherwise.
	Metrics *telemetry.Scrape
	closers []func() error
}

// Start reads the common settings from env, reports every bad variable read so
// far (the service reads its own before calling Start), and opens the process's
// resources. serviceName is the telemetry service.name ("polku-clients").
func Start(ctx context.Context, env *config.Env, serviceName string) (*Process, error) {
	common := LoadCommon(env)
	if err := env.Err(); err != nil {
		return nil, err
	}
	p := &Process{Name: serviceName, Common: common, Log: logging.New(os.Stdout, common.LogLevel, serviceName)}
	if common.MetricsAddr != "" {
		p.Metrics = telemetry.NewScrape()
	}
	tel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: serviceName, ServiceVersion: version.Version, Scrape: p.Metrics})
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	p.Telemetry = tel
	p.closers = append(p.closers, func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return tel.Shutdown(sctx)
	})
	if p.Stores, err = OpenStores(common); err != nil {
		p.Close()
		return nil, err
	}
	p.closers = append(p.closers, p.Stores.Close)
	if p.Verifier, err = NewVerifier(ctx, common); err != nil {
		p.Close()
		return nil, fmt.Errorf("auth: %w", err)
	}
	return p, nil
}

// Dial connects to a peer service; the connection is closed with the process.
func (p *Process) Dial(target string) (*grpc.ClientConn, error) {
	conn, err := DialPeer(target, p.Telemetry)
	if err != nil {
		return nil, fmt.Errorf("peer %s: %w", target, err)
	}
	p.closers = append(p.closers, conn.Close)
	return conn, nil
}

// Serve runs the gRPC server on addr (with authentication and readiness from
// ready) and the background workers until ctx ends or one of them fails.
func (p *Process) Serve(ctx context.Context, addr string, ready func(context.Context) error, register func(grpc.ServiceRegistrar), workers ...func(context.Context) error) error {
	srv := grpcserver.New(grpcserver.Options{
		Name: p.Name, Logger: p.Log, Telemetry: p.Telemetry, Ready: ready, DrainDelay: p.Common.ShutdownDrain,
		Unary:  []grpc.UnaryServerInterceptor{auth.UnaryServerInterceptor(p.Verifier)},
		Stream: []grpc.StreamServerInterceptor{auth.StreamServerInterceptor(p.Verifier)},
	})
	register(srv.GRPC())
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	var mlis net.Listener
	if p.Metrics != nil {
		if mlis, err = net.Listen("tcp", p.Common.MetricsAddr); err != nil {
			lis.Close()
			return fmt.Errorf("POLKU_METRICS_ADDR: %w", err)
		}
		p.Log.Info("metrics", "addr", mlis.Addr().String(), "path", telemetry.MetricsPath)
	}
	p.Log.Info("serving", "addr", lis.Addr().String(), "store", p.Common.Store, "version", version.Version)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Serve(gctx, lis) })
	if mlis != nil {
		g.Go(func() error { return telemetry.ServeMetrics(gctx, mlis, p.Metrics) })
	}
	for _, w := range workers {
		g.Go(func() error { return w(gctx) })
	}
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// Close releases what Start and Dial opened, newest first.
func (p *Process) Close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		if err := p.closers[i](); err != nil {
			p.Log.Warn("shutdown", "error", err.Error())
		}
	}
	p.closers = nil
}

// DialPeer connects a service to a peer: calls continue the caller's trace
// (this service's telemetry providers) and carry the caller's bearer token on,
// so the peer verifies the same user again (zero trust).
func DialPeer(target string, tel *telemetry.Providers) (*grpc.ClientConn, error) {
	return grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(
			otelgrpc.WithTracerProvider(tel.TracerProvider),
			otelgrpc.WithMeterProvider(tel.MeterProvider),
			otelgrpc.WithPropagators(tel.Propagator))),
		grpc.WithChainUnaryInterceptor(auth.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(auth.StreamClientInterceptor()),
	)
}
