// Command catalogue runs the provider-catalogue service alone (one container in
// Kubernetes). Configuration is read from the environment: see docs/configuration.md.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/polku-hb/polku/platform/auth"

	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/config"
	"github.com/polku-hb/polku/services/catalogue/service"
)

func main() { boot.Main("catalogue", run) }

func run(ctx context.Context, env *config.Env) error {
	addr := env.String("POLKU_CATALOGUE_ADDR", ":9104")
	search := env.String("POLKU_CATALOGUE_SEARCH", "projection")
	if search != "projection" && search != "store" {
		env.Fail(fmt.Errorf("POLKU_CATALOGUE_SEARCH: %q is neither projection nor store", search))
	}
	keyFile := env.String("POLKU_CATALOGUE_TOKEN_KEY_FILE", "")
	ttl := env.Duration("POLKU_CATALOGUE_TOKEN_TTL", 15*time.Minute)
	expiry := env.Duration("POLKU_CATALOGUE_EXPIRY_INTERVAL", service.DefaultExpiryInterval)
	p, err := boot.Start(ctx, env, service.Name)
	if err != nil {
		return err
	}
	defer p.Close()
	var tokens *service.TokenConfig
	if keyFile != "" {
		pem, err := os.ReadFile(keyFile)
		if err != nil {
			return fmt.Errorf("POLKU_CATALOGUE_TOKEN_KEY_FILE: %w", err)
		}
		signer, err := auth.NewSigner(pem)
		if err != nil {
			return fmt.Errorf("POLKU_CATALOGUE_TOKEN_KEY_FILE: %w", err)
		}
		tokens = &service.TokenConfig{Signer: signer, Issuer: p.Common.ProviderTokenIssuer, Audience: p.Common.JWTAudience, TTL: ttl}
	}
	st := p.Stores.Namespace(service.Namespace, service.Shards)
	svc, err := service.New(service.Deps{Store: st, Telemetry: p.Telemetry, Logger: p.Log, SearchFromStore: search == "store", Tokens: tokens, ExpiryInterval: expiry})
	if err != nil {
		return err
	}
	if err := svc.LoadSearch(ctx); err != nil {
		return fmt.Errorf("load the search projection: %w", err)
	}
	return p.Serve(ctx, addr, st.Ping, svc.Register, svc.RunWorkers, p.TrimEvents(st))
}
