// Package web is Polku's web UI: the worker's desk, the client's own page, the
// manager's approvals and reports, and the provider's inbox. It is a
// backend-for-frontend in front of the REST edge: server-rendered HTML, plain
// forms, the user's token in an encrypted session cookie, no data of its own.
package web

import (
	"context"
	"crypto/rand"
	"fmt"

	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/polku-hb/polku/web/internal/edge"
	"github.com/polku-hb/polku/web/internal/session"
	"github.com/polku-hb/polku/web/internal/ui"
)

// Person is a demo person on the development sign-in page.
type Person = ui.Person

// Config configures the UI.
type Config struct {
	// GatewayURL is the REST edge, e.g. http://127.0.0.1:8080.
	GatewayURL string
	// SessionKey is 32 bytes sealing the session cookie. Empty: a random key
	// (sessions end when the process restarts; fine for one dev instance, not
	// for several replicas).
	SessionKey []byte
	// Secure marks the cookie Secure with the __Host- prefix (HTTPS).
	Secure bool
	// SessionTTL bounds a signed-in session (default 8 hours).
	SessionTTL time.Duration
	// People enables the development sign-in with these demo persons.
	People []Person
	// OIDC enables the production sign-in.
	OIDC   *OIDCConfig
	Logger *slog.Logger
	// HTTPClient calls the gateway (default: 15 s timeout).
	HTTPClient *http.Client
	// Paging: zero for the defaults (tests set small pages).
	Paging Paging
}

// Paging sets how the UI reads lists from the edge (page sizes, the bound
// of a list read whole).
type Paging = ui.Paging

// Identity is who an access token speaks for.
type Identity = ui.Identity

// OIDCConfig is the production sign-in: an OpenID provider's authorization
// code flow with PKCE (a public client needs no secret).
type OIDCConfig struct {
	Issuer, ClientID, ClientSecret, RedirectURL string
	Scopes                                      []string
	// Identify verifies an access token as the services will (same issuer,
	// audience and keys) and says who it is.
	Identify func(ctx context.Context, accessToken string) (Identity, error)
}

// New returns the UI's HTTP handler. With OIDC it discovers the provider
// (a network call bounded by ctx).
func New(ctx context.Context, c Config) (http.Handler, error) {
	if c.GatewayURL == "" {
		return nil, errors.New("web: GatewayURL is required")
	}
	if len(c.SessionKey) == 0 {
		c.SessionKey = make([]byte, 32)
		if _, err := rand.Read(c.SessionKey); err != nil {
			return nil, err
		}
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 8 * time.Hour
	}
	sessions, err := session.New(c.SessionKey, c.Secure, c.SessionTTL)
	if err != nil {
		return nil, err
	}
	o := ui.Options{Edge: edge.New(c.GatewayURL, c.HTTPClient), Sessions: sessions, People: c.People, Logger: c.Logger, Paging: c.Paging}
	if c.OIDC != nil {
		p, err := oidc.NewProvider(ctx, c.OIDC.Issuer)
		if err != nil {
			return nil, fmt.Errorf("web: OIDC discovery: %w", err)
		}
		scopes := c.OIDC.Scopes
		if len(scopes) == 0 {
			scopes = []string{oidc.ScopeOpenID, "profile"}
		}
		o.OIDC = &ui.OIDC{
			OAuth2: oauth2.Config{ClientID: c.OIDC.ClientID, ClientSecret: c.OIDC.ClientSecret, RedirectURL: c.OIDC.RedirectURL,
				Endpoint: p.Endpoint(), Scopes: scopes},
			IDTokens: p.Verifier(&oidc.Config{ClientID: c.OIDC.ClientID}),
			Identify: c.OIDC.Identify,
		}
	}
	return ui.New(o)
}
