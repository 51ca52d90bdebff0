// Command budget runs the budget service alone (one container in
// Kubernetes). Configuration is read from the environment: see
// docs/budget.md.
package main

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
	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/config"
	"github.com/polku-hb/polku/platform/grpcserver"
	"github.com/polku-hb/polku/platform/logging"
	"github.com/polku-hb/polku/platform/telemetry"
	"github.com/polku-hb/polku/platform/version"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/services/budget/service"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-version" || os.Args[1] == "--version") {
		fmt.Println("budget", version.String())
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "budget:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	env := config.FromOS()
	common := boot.LoadCommon(env)
	addr := env.String("POLKU_BUDGET_ADDR", ":9103")
	clientsTarget := env.String("POLKU_CLIENTS_TARGET", "127.0.0.1:9101")
	assessmentTarget := env.String("POLKU_ASSESSMENT_TARGET", "127.0.0.1:9102")
	catalogueTarget := env.String("POLKU_CATALOGUE_TARGET", "127.0.0.1:9104")
	limit := env.Int64("POLKU_BUDGET_AUTHORITY_LIMIT_CENTS", service.DefaultAuthorityLimitCents)
	if limit <= 0 {
		env.Fail(errors.New("POLKU_BUDGET_AUTHORITY_LIMIT_CENTS must be a positive number of cents"))
	}
	realloc := env.Int64("POLKU_BUDGET_REALLOCATION_LIMIT_BASIS_POINTS", service.DefaultReallocationLimitBasisPoints)
	if realloc <= 0 || realloc > 10000 {
		env.Fail(errors.New("POLKU_BUDGET_REALLOCATION_LIMIT_BASIS_POINTS must be 1..10000 (basis points of the budget's allocation)"))
	}
	if err := env.Err(); err != nil {
		return err
	}
	log := logging.New(os.Stdout, common.LogLevel, service.Name)

	tel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: service.Name, ServiceVersion: version.Version})
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	defer shutdown(tel, log)

	stores, err := boot.OpenStores(common)
	if err != nil {
		return err
	}
	defer stores.Close()
	st := stores.Namespace(service.Namespace, service.Shards)

	verifier, err := boot.NewVerifier(ctx, common)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	clientsConn, err := dial(clientsTarget, tel)
	if err != nil {
		return fmt.Errorf("clients peer: %w", err)
	}
	defer clientsConn.Close()
	catalogueConn, err := dial(catalogueTarget, tel)
	if err != nil {
		return fmt.Errorf("catalogue peer: %w", err)
	}
	defer catalogueConn.Close()
	assessmentConn, err := dial(assessmentTarget, tel)
	if err != nil {
		return fmt.Errorf("assessment peer: %w", err)
	}
	defer assessmentConn.Close()
	svc, err := service.New(service.Deps{
		Store: st, Telemetry: tel, Logger: log, AuthorityLimitCents: limit, ReallocationLimitBasisPoints: realloc,
		Clients:    clientsv1.NewClientsServiceClient(clientsConn),
		Catalogue:  cataloguev1.NewCatalogueServiceClient(catalogueConn),
		Assessment: assessmentv1.NewAssessmentServiceClient(assessmentConn),
	})
	if err != nil {
		return err
	}
	srv := grpcserver.New(grpcserver.Options{
		Name: service.Name, Logger: log, Telemetry: tel, Ready: st.Ping,
		Unary:  []grpc.UnaryServerInterceptor{auth.UnaryServerInterceptor(verifier)},
		Stream: []grpc.StreamServerInterceptor{auth.StreamServerInterceptor(verifier)},
	})
	svc.Register(srv.GRPC())
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Info("serving", "addr", lis.Addr().String(), "store", common.Store, "version", version.Version,
		"authority_limit_cents", limit, "reallocation_limit_basis_points", realloc)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Serve(gctx, lis) })
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// dial connects to a peer service: the caller's token is forwarded and calls
// are traced with this service's providers.
func dial(target string, tel *telemetry.Providers) (*grpc.ClientConn, error) {
	return grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(
			otelgrpc.WithTracerProvider(tel.TracerProvider), otelgrpc.WithMeterProvider(tel.MeterProvider))),
		grpc.WithUnaryInterceptor(auth.UnaryClientInterceptor()))
}

func shutdown(tel *telemetry.Providers, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		log.Warn("telemetry shutdown", "error", err.Error())
	}
}
