package app

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/services/catalogue/internal/catalogue"
	repo "github.com/polku-hb/polku/services/catalogue/internal/store"
)

// Errors of the credential exchange.
var (
	// ErrBadCredential: unknown client id, wrong secret, revoked or expired
	// credential, or a provider that is not ACTIVE. One error for all, so a
	// caller learns nothing about which.
	ErrBadCredential = errors.New("invalid client credentials")
	// ErrTokensOff: this deployment has no provider-token signing key.
	ErrTokensOff = errors.New("the credential exchange is not configured")
)

// TokenConfig is how provider tokens are signed.
type TokenConfig struct {
	Signer   auth.TokenIssuer
	Issuer   string // the tokens' iss
	Audience string
	TTL      time.Duration
}

// UseTokens enables the credential exchange. Call before serving.
func (s *Service) UseTokens(c TokenConfig) { s.tokens = &c }

// clientIDPrefix starts every credential's client id (catalogue.NewCredential).
const clientIDPrefix = "polku-provider-"

// dummyHash is compared against when the client id is unknown, so that a miss
// costs the same hashing and comparing as a wrong secret.
var dummyHash = catalogue.HashSecret("")

// ExchangeCredential is the OAuth 2.0 client-credentials grant: a provider's
// system proves a credential (active, not expired, its provider ACTIVE; the
// secret's SHA-256 compared in constant time) and gets a short-lived PROVIDER
// token bound to that provider. Needs no caller. Refusals are logged with the
// client id and the reason, never the secret.
func (s *Service) ExchangeCredential(ctx context.Context, clientID, secret string) (string, time.Duration, error) {
	if s.tokens == nil {
		return "", 0, ErrTokensOff
	}
	refuse := func(reason string) (string, time.Duration, error) {
		s.log.WarnContext(ctx, "credential exchange refused", "client_id", clientID, "reason", reason)
		return "", 0, ErrBadCredential
	}
	id, ok := strings.CutPrefix(clientID, clientIDPrefix)
	if !ok || id == "" || len(id) > 64 || len(secret) > 256 {
		return refuse("malformed client id or secret")
	}
	c, err := s.repo.CredentialByID(ctx, id)
	if err != nil && !errors.Is(err, repo.ErrNotFound) {
		return "", 0, err
	}
	want := dummyHash
	if c != nil {
		want = c.SecretHash
	}
	match := subtle.ConstantTimeCompare([]byte(catalogue.HashSecret(secret)), []byte(want)) == 1
	now := s.now()
	switch {
	case c == nil || c.ClientID != clientID:
		return refuse("unknown client id")
	case !match:
		return refuse("wrong secret")
	case c.State != catalogue.CredentialActive:
		return refuse("credential revoked")
	case !c.ExpireTime.IsZero() && !now.Before(c.ExpireTime):
		return refuse("credential expired")
	}
	prov, _, err := s.repo.Provider(ctx, c.ProviderID)
	if errors.Is(err, repo.ErrNotFound) || (err == nil && prov.State != catalogue.ProviderActive) {
		return refuse("provider not active")
	} else if err != nil {
		return "", 0, err
	}
	p := auth.Principal{Subject: "credential-" + c.ID, Role: auth.RoleProvider, ProviderID: c.ProviderID}
	tok, err := s.tokens.Signer.Issue(p, s.tokens.Issuer, s.tokens.Audience, s.tokens.TTL)
	if err != nil {
		return "", 0, err
	}
	return tok, s.tokens.TTL, nil
}
