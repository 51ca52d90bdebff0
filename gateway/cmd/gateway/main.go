// Command gateway runs Polku's REST edge alone (one container in Kubernetes).
// Configuration is read from the environment: see docs/configuration.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/polku-hb/polku/gateway"
	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/config"
	"github.com/polku-hb/polku/platform/logging"
	"github.com/polku-hb/polku/platform/telemetry"
	"github.com/polku-hb/polku/platform/version"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-version" || os.Args[1] == "--version") {
		fmt.Println("gateway", version.String())
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	env := config.FromOS()
	common := boot.LoadCommon(env)
	cfg := gateway.LoadConfig(env)
	if err := env.Err(); err != nil {
		return err
	}
	log := logging.New(os.Stdout, common.LogLevel, gateway.Name)
	var metrics *telemetry.Scrape
	if common.MetricsAddr != "" {
		metrics = telemetry.NewScrape()
	}
	tel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: gateway.Name, ServiceVersion: version.Version, Scrape: metrics})
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tel.Shutdown(sctx)
	}()
	if f := common.ProviderTokenPublicKeyFile; f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("POLKU_PROVIDER_TOKEN_PUBLIC_KEY_FILE: %w", err)
		}
		if cfg.JWKS, err = auth.JWKSFromPEM(pem); err != nil {
			return fmt.Errorf("POLKU_PROVIDER_TOKEN_PUBLIC_KEY_FILE: %w", err)
		}
	}
	verifier, err := boot.NewVerifier(ctx, common)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	gw, err := gateway.New(ctx, cfg, verifier, tel)
	if err != nil {
		return err
	}
	defer gw.Close()
	srv := gw.Server(cfg.Addr)
	errc := make(chan error, 2)
	if metrics != nil {
		// On its own port, so the public listener never exposes metrics.
		mlis, err := net.Listen("tcp", common.MetricsAddr)
		if err != nil {
			return fmt.Errorf("POLKU_METRICS_ADDR: %w", err)
		}
		log.Info("metrics", "addr", mlis.Addr().String(), "path", telemetry.MetricsPath)
		go func() {
			// nil means ctx ended: the shutdown below is under way.
			if err := telemetry.ServeMetrics(ctx, mlis, metrics); err != nil {
				errc <- err
			}
		}()
	}
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("serving", "addr", cfg.Addr, "version", version.Version)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
