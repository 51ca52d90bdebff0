package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/polku-hb/polku/web/internal/session"
)

// OIDC is the production sign-in: authorization code flow with PKCE and a
// nonce. The access token it yields is the bearer token for the REST edge.
type OIDC struct {
	OAuth2   oauth2.Config
	IDTokens *oidc.IDTokenVerifier
	// Identify verifies the access token as the services will and says who it
	// is, so the UI picks the right pages (the services decide what is allowed).
	Identify func(ctx context.Context, accessToken string) (Identity, error)
}

// Identity is who an access token speaks for.
type Identity struct {
	Role, Subject, Region, ProviderID string
	ClientIDs                         []string
}

func (a *app) oidcStart(rq *request) error {
	rq.s.OIDCState, rq.s.OIDCVerifier, rq.s.OIDCNonce = session.RandomToken(), oauth2.GenerateVerifier(), session.RandomToken()
	if err := a.Sessions.Save(rq.w, rq.s); err != nil {
		return err
	}
	u := a.OIDC.OAuth2.AuthCodeURL(rq.s.OIDCState, oidc.Nonce(rq.s.OIDCNonce), oauth2.S256ChallengeOption(rq.s.OIDCVerifier))
	http.Redirect(rq.w, rq.r, u, http.StatusFound)
	return nil
}

var errOIDC = errors.New("sign-in failed")

func (a *app) oidcCallback(rq *request) error {
	q := rq.r.URL.Query()
	state, verifier, nonce := rq.s.OIDCState, rq.s.OIDCVerifier, rq.s.OIDCNonce
	// One use only: a replayed callback finds no state.
	rq.s.OIDCState, rq.s.OIDCVerifier, rq.s.OIDCNonce = "", "", ""
	if state == "" || q.Get("state") != state {
		return fmt.Errorf("%w: state does not match", errOIDC)
	}
	if e := q.Get("error"); e != "" {
		return fmt.Errorf("%w: the identity provider answered %s", errOIDC, e)
	}
	ctx, cancel := context.WithTimeout(rq.r.Context(), 15*time.Second)
	defer cancel()
	tok, err := a.OIDC.OAuth2.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return fmt.Errorf("%w: code exchange: %w", errOIDC, err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return fmt.Errorf("%w: no id_token", errOIDC)
	}
	idt, err := a.OIDC.IDTokens.Verify(ctx, rawID)
	if err != nil {
		return fmt.Errorf("%w: id_token: %w", errOIDC, err)
	}
	if idt.Nonce != nonce {
		return fmt.Errorf("%w: nonce does not match", errOIDC)
	}
	id, err := a.OIDC.Identify(ctx, tok.AccessToken)
	if err != nil {
		return fmt.Errorf("%w: access token: %w", errOIDC, err)
	}
	var claims struct {
		GivenName string `json:"given_name"`
	}
	_ = idt.Claims(&claims) // a greeting only; absent is fine
	ttl := time.Until(tok.Expiry)
	if tok.Expiry.IsZero() || ttl > 12*time.Hour {
		ttl = 12 * time.Hour
	}
	a.startSession(rq, tok.AccessToken, id.Role, id.Subject, id.Region, claims.GivenName, id.ClientIDs, id.ProviderID, ttl)
	return redirect(rq, homeOf(id.Role), "")
}
