package ui

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/polku-hb/polku/web/internal/edge"
	"github.com/polku-hb/polku/web/internal/session"
)

// fakeIdP is a minimal OpenID provider: discovery, JWKS, an authorize
// endpoint that signs the user in at once, and a token endpoint that checks
// the PKCE verifier against the challenge and signs an RS256 id_token.
type fakeIdP struct {
	srv       *httptest.Server
	key       *rsa.PrivateKey
	mu        sync.Mutex
	challenge map[string]string // code -> S256 challenge
	nonce     map[string]string // code -> nonce
	badNonce  bool
}

func newFakeIdP(t *testing.T) *fakeIdP {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeIdP{key: key, challenge: map[string]string{}, nonce: map[string]string{}}
	mux := http.NewServeMux()
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	iss := f.srv.URL
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "authorization_endpoint": iss + "/authorize",
			"token_endpoint": iss + "/token", "jwks_uri": iss + "/jwks", "id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
			http.Error(w, "PKCE required", http.StatusBadRequest)
			return
		}
		code := session.RandomToken()
		f.mu.Lock()
		f.challenge[code], f.nonce[code] = q.Get("code_challenge"), q.Get("nonce")
		f.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		code := r.PostFormValue("code")
		f.mu.Lock()
		ch, nonce := f.challenge[code], f.nonce[code]
		delete(f.challenge, code)
		f.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		if ch == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != ch {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
			return
		}
		if f.badNonce {
			nonce = "not-the-one-sent"
		}
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
		now := time.Now()
		payload, _ := json.Marshal(map[string]any{"iss": iss, "sub": "w-aino", "aud": "polku-web", "exp": now.Add(time.Hour).Unix(),
			"iat": now.Unix(), "nonce": nonce, "given_name": "Aino"})
		jws, _ := signer.Sign(payload)
		idToken, _ := jws.CompactSerialize()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at-worker", "token_type": "Bearer", "expires_in": 3600, "id_token": idToken})
	})
	return f
}

func oidcApp(t *testing.T, idp *fakeIdP) (*httptest.Server, *[]string) {
	t.Helper()
	var seen []string
	var mu sync.Mutex
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		_, _ = io.WriteString(w, `{}`)
	}))
	t.Cleanup(gw.Close)
	provider, err := oidc.NewProvider(context.Background(), idp.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	sessions, _ := session.New(make([]byte, 32), false, time.Hour)
	// The redirect URL needs the app's address before it serves.
	app := httptest.NewUnstartedServer(nil)
	h, err := New(Options{Edge: edge.New(gw.URL, nil), Sessions: sessions, Logger: slog.New(slog.DiscardHandler),
		OIDC: &OIDC{
			OAuth2: oauth2.Config{ClientID: "polku-web", Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID},
				RedirectURL: "http://" + app.Listener.Addr().String() + "/signin/callback"},
			IDTokens: provider.Verifier(&oidc.Config{ClientID: "polku-web"}),
			Identify: func(_ context.Context, at string) (Identity, error) {
				if at != "at-worker" {
					t.Errorf("Identify got %q", at)
				}
				return Identity{Role: "WORKER", Subject: "w-aino", Region: "pirkanmaa"}, nil
			},
		}})
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	app.Start()
	t.Cleanup(app.Close)
	return app, &seen
}

func TestOIDCSignInWithPKCEAndNonce(t *testing.T) {
	idp := newFakeIdP(t)
	app, seen := oidcApp(t, idp)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}

	resp, err := c.Get(app.URL + "/signin/oidc")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/worker" {
		t.Fatalf("after sign-in at %s: %d\n%s", resp.Request.URL, resp.StatusCode, body)
	}
	if len(*seen) == 0 || (*seen)[0] != "Bearer at-worker" {
		t.Errorf("the edge saw %v; want the access token as bearer", *seen)
	}
	if !strings.Contains(string(body), "Aino") {
		t.Error("the page does not greet the signed-in user")
	}

	// A callback whose state was not issued to this browser is refused.
	resp, err = c.Get(app.URL + "/signin/callback?code=x&state=forged")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged state: %d, want 401", resp.StatusCode)
	}

	// An id_token with another nonce is refused.
	idp.badNonce = true
	jar2, _ := cookiejar.New(nil)
	resp, err = (&http.Client{Jar: jar2}).Get(app.URL + "/signin/oidc")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong nonce: %d at %s, want 401", resp.StatusCode, resp.Request.URL)
	}
}
