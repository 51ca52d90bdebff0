// Command web serves Polku's web UI alone (its own container): a
// backend-for-frontend in front of the REST gateway, with OIDC sign-in.
// Configuration is read from the environment: see docs/web.md.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/config"
	"github.com/polku-hb/polku/platform/logging"
	"github.com/polku-hb/polku/platform/version"
	"github.com/polku-hb/polku/web"
)

const name = "polku-web"

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-version" || os.Args[1] == "--version") {
		fmt.Println("web", version.String())
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "web:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	env := config.FromOS()
	common := boot.LoadCommon(env)
	addr := env.String("POLKU_WEB_ADDR", ":8090")
	gatewayURL := env.String("POLKU_WEB_GATEWAY_URL", "http://127.0.0.1:8080")
	insecure := env.Bool("POLKU_WEB_INSECURE_COOKIES", false)
	ttl := env.Duration("POLKU_WEB_SESSION_TTL", 8*time.Hour)
	key, err := base64.StdEncoding.DecodeString(env.String("POLKU_WEB_SESSION_KEY", ""))
	if err != nil || len(key) != 32 {
		env.Fail(errors.New("POLKU_WEB_SESSION_KEY: must be 32 random bytes, base64 (every replica the same)"))
	}
	oc := &web.OIDCConfig{
		Issuer:       env.String("POLKU_WEB_OIDC_ISSUER", ""),
		ClientID:     env.String("POLKU_WEB_OIDC_CLIENT_ID", ""),
		ClientSecret: env.String("POLKU_WEB_OIDC_CLIENT_SECRET", ""),
		RedirectURL:  env.String("POLKU_WEB_OIDC_REDIRECT_URL", ""),
		Scopes:       strings.Fields(env.String("POLKU_WEB_OIDC_SCOPES", "openid profile")),
	}
	env.Require("POLKU_WEB_OIDC_ISSUER", oc.Issuer)
	env.Require("POLKU_WEB_OIDC_CLIENT_ID", oc.ClientID)
	env.Require("POLKU_WEB_OIDC_REDIRECT_URL", oc.RedirectURL)
	if err := env.Err(); err != nil {
		return err
	}
	log := logging.New(os.Stdout, common.LogLevel, name)
	// The access token is verified as every service verifies it (POLKU_JWKS_URL,
	// POLKU_JWT_ISSUER, POLKU_JWT_AUDIENCE) before the UI trusts its role.
	verifier, err := boot.NewVerifier(ctx, common)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	oc.Identify = func(ctx context.Context, tok string) (web.Identity, error) {
		p, err := verifier.Verify(ctx, tok)
		if err != nil {
			return web.Identity{}, err
		}
		return identity(p), nil
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	h, err := web.New(dctx, web.Config{GatewayURL: gatewayURL, SessionKey: key, Secure: !insecure, SessionTTL: ttl, OIDC: oc, Logger: log})
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("serving", "addr", addr, "gateway", gatewayURL, "version", version.Version)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
	defer c()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// identity is what the UI needs of a verified principal to pick its pages.
func identity(p auth.Principal) web.Identity {
	id := web.Identity{Role: string(p.Role), Subject: p.Subject, Region: p.Region, ProviderID: p.ProviderID, ClientIDs: p.Clients}
	if p.ClientID != "" {
		id.ClientIDs = []string{p.ClientID}
	}
	return id
}
