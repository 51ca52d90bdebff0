// Command catalogue runs the provider catalogue alone (one container in Kubernetes).
// Configuration is read from the environment: see docs/configuration.md.
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

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/config"
	"github.com/polku-hb/polku/platform/grpcserver"
	"github.com/polku-hb/polku/platform/logging"
	"github.com/polku-hb/polku/platform/telemetry"
	"github.com/polku-hb/polku/platform/version"
	"github.com/polku-hb/polku/services/catalogue/service"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-version" || os.Args[1] == "--version") {
		fmt.Println("catalogue", version.String())
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "catalogue:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	env := config.FromOS()
	common := boot.LoadCommon(env)
	addr := env.String("POLKU_CATALOGUE_ADDR", ":9104")
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
	svc, err := service.New(service.Deps{Store: st, Telemetry: tel, Logger: log})
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
	log.Info("serving", "addr", lis.Addr().String(), "store", common.Store, "version", version.Version)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Serve(gctx, lis) })
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func shutdown(tel *telemetry.Providers, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		log.Warn("telemetry shutdown", "error", err.Error())
	}
}
