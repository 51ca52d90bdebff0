// Command clients runs the clients service alone (one container in Kubernetes).
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
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/config"
	"github.com/polku-hb/polku/platform/grpcserver"
	"github.com/polku-hb/polku/platform/logging"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/telemetry"
	"github.com/polku-hb/polku/platform/version"
	"github.com/polku-hb/polku/services/clients/internal/protect"
	"github.com/polku-hb/polku/services/clients/service"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-version" || os.Args[1] == "--version") {
		fmt.Println("clients", version.String())
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "clients:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	env := config.FromOS()
	common := boot.LoadCommon(env)
	addr := env.String("POLKU_CLIENTS_ADDR", ":9101")
	sources := env.String("POLKU_TIMELINE_SOURCES", "")
	keyB64 := env.String("POLKU_PIC_KEY", "")
	env.Require("POLKU_PIC_KEY", keyB64)
	if err := env.Err(); err != nil {
		return err
	}
	picKey, err := protect.ParseKey(keyB64)
	if err != nil {
		return fmt.Errorf("POLKU_PIC_KEY: %w", err)
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
	timelineSources, err := parseSources(stores, sources)
	if err != nil {
		return err
	}

	verifier, err := boot.NewVerifier(ctx, common)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	svc, err := service.New(service.Deps{Store: st, PICKey: picKey, Telemetry: tel, Logger: log})
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
	g.Go(func() error { return svc.RunConsumers(gctx, timelineSources...) })
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// parseSources reads POLKU_TIMELINE_SOURCES: "namespace:shards,..." of the other
// services whose event streams feed the timeline (they must share this Redis).
func parseSources(stores *boot.Stores, spec string) ([]store.Store, error) {
	var out []store.Store
	for _, part := range strings.Split(spec, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		ns, n, ok := strings.Cut(part, ":")
		shards, err := strconv.Atoi(n)
		if !ok || ns == "" || err != nil || shards < 1 {
			return nil, fmt.Errorf("POLKU_TIMELINE_SOURCES: %q must be namespace:shards", part)
		}
		out = append(out, stores.Namespace(ns, shards))
	}
	return out, nil
}

func shutdown(tel *telemetry.Providers, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		log.Warn("telemetry shutdown", "error", err.Error())
	}
}
