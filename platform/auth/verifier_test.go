package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

func pemVerifier(t *testing.T, pub any) *Verifier {
	t.Helper()
	v, err := NewVerifier(context.Background(), Config{Issuer: testIssuer, Audience: testAudience, PublicKeyPEM: publicPEM(t, pub)})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerify(t *testing.T) {
	k := getKeys(t)
	rsaV := pemVerifier(t, &k.rsa.PublicKey)
	ecV := pemVerifier(t, &k.ec.PublicKey)
	now := time.Now()
	base := baseClaims()
	es := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodES256, k.ec, c, "leaky-kid-12345") }

	noneTok := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, base, "")
	// Algorithm confusion: HMAC keyed with the verifier's own public key PEM.
	hsRSA := sign(t, jwt.SigningMethodHS256, publicPEM(t, &k.rsa.PublicKey), base, "")
	hsEC := sign(t, jwt.SigningMethodHS256, publicPEM(t, &k.ec.PublicKey), base, "")

	tests := []struct {
		name    string
		v       *Verifier
		token   string
		wantErr error // nil: must verify
		want    Principal
	}{
		{name: "valid RS256", v: rsaV, token: sign(t, jwt.SigningMethodRS256, k.rsa, base, ""),
			want: Principal{Subject: "u-7f3a9c", Role: RoleWorker, Region: "pirkanmaa", Unit: "kotihoito-1"}},
		{name: "valid ES256", v: ecV, token: es(base),
			want: Principal{Subject: "u-7f3a9c", Role: RoleWorker, Region: "pirkanmaa", Unit: "kotihoito-1"}},
		{name: "aud array holding ours", v: ecV, token: es(with(base, map[string]any{"aud": []string{"other", testAudience}})),
			want: Principal{Subject: "u-7f3a9c", Role: RoleWorker, Region: "pirkanmaa", Unit: "kotihoito-1"}},
		{name: "expired within leeway", v: ecV, token: es(with(base, map[string]any{"exp": now.Add(-10 * time.Second).Unix()})),
			want: Principal{Subject: "u-7f3a9c", Role: RoleWorker, Region: "pirkanmaa", Unit: "kotihoito-1"}},
		{name: "valid PROVIDER", v: ecV, token: es(with(base, map[string]any{"role": "PROVIDER", "provider_id": "prov-1", "region": nil, "unit": nil})),
			want: Principal{Subject: "u-7f3a9c", Role: RoleProvider, ProviderID: "prov-1"}},
		{name: "valid CLIENT", v: ecV, token: es(with(base, map[string]any{"role": "CLIENT", "polku_client_id": "cl-1", "region": nil, "unit": nil})),
			want: Principal{Subject: "u-7f3a9c", Role: RoleClient, ClientID: "cl-1"}},
		{name: "valid ASSISTANT", v: ecV, token: es(with(base, map[string]any{"role": "ASSISTANT", "clients": []string{"cl-1", "cl-2"}, "region": nil, "unit": nil})),
			want: Principal{Subject: "u-7f3a9c", Role: RoleAssistant, Clients: []string{"cl-1", "cl-2"}}},
		{name: "binding claims of other roles are dropped", v: ecV,
			token: es(with(base, map[string]any{"provider_id": "prov-1", "polku_client_id": "cl-1", "clients": []string{"cl-2"}})),
			want:  Principal{Subject: "u-7f3a9c", Role: RoleWorker, Region: "pirkanmaa", Unit: "kotihoito-1"}},

		{name: "expired", v: ecV, token: es(with(base, map[string]any{"exp": now.Add(-2 * time.Minute).Unix()})), wantErr: jwt.ErrTokenExpired},
		{name: "no exp", v: ecV, token: es(with(base, map[string]any{"exp": nil})), wantErr: jwt.ErrTokenRequiredClaimMissing},
		{name: "not yet valid", v: ecV, token: es(with(base, map[string]any{"nbf": now.Add(2 * time.Minute).Unix()})), wantErr: jwt.ErrTokenNotValidYet},
		{name: "issued in the future", v: ecV, token: es(with(base, map[string]any{"iat": now.Add(2 * time.Minute).Unix()})), wantErr: jwt.ErrTokenUsedBeforeIssued},
		{name: "wrong issuer", v: ecV, token: es(with(base, map[string]any{"iss": "https://evil.test"})), wantErr: jwt.ErrTokenInvalidIssuer},
		{name: "no issuer", v: ecV, token: es(with(base, map[string]any{"iss": nil})), wantErr: jwt.ErrTokenRequiredClaimMissing},
		{name: "wrong audience", v: ecV, token: es(with(base, map[string]any{"aud": "other-app"})), wantErr: jwt.ErrTokenInvalidAudience},
		{name: "wrong EC key", v: ecV, token: sign(t, jwt.SigningMethodES256, k.ec2, base, ""), wantErr: jwt.ErrTokenSignatureInvalid},
		{name: "wrong RSA key", v: rsaV, token: sign(t, jwt.SigningMethodRS256, k.rsa2, base, ""), wantErr: jwt.ErrTokenSignatureInvalid},
		{name: "RS256 token, EC verifier", v: ecV, token: sign(t, jwt.SigningMethodRS256, k.rsa, base, ""), wantErr: jwt.ErrTokenUnverifiable},
		{name: "alg none", v: ecV, token: noneTok, wantErr: ErrUnauthenticated},
		{name: "HS256 keyed with RSA public key", v: rsaV, token: hsRSA, wantErr: ErrUnauthenticated},
		{name: "HS256 keyed with EC public key", v: ecV, token: hsEC, wantErr: ErrUnauthenticated},
		{name: "RS384", v: rsaV, token: sign(t, jwt.SigningMethodRS384, k.rsa, base, ""), wantErr: ErrUnauthenticated},
		{name: "PS256", v: rsaV, token: sign(t, jwt.SigningMethodPS256, k.rsa, base, ""), wantErr: ErrUnauthenticated},
		{name: "ES384", v: ecV, token: "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCJ9." + strings.Split(es(base), ".")[1] + ".AAAA", wantErr: ErrUnauthenticated},
		{name: "malformed", v: ecV, token: "not-a-jwt", wantErr: jwt.ErrTokenMalformed},
		{name: "malformed three parts", v: ecV, token: "a.b.c", wantErr: jwt.ErrTokenMalformed},
		{name: "tampered payload", v: ecV, token: func() string {
			parts := strings.Split(es(base), ".")
			other := strings.Split(es(with(base, map[string]any{"role": "OPERATOR"})), ".")
			return parts[0] + "." + other[1] + "." + parts[2]
		}(), wantErr: jwt.ErrTokenSignatureInvalid},
		{name: "empty", v: ecV, token: "", wantErr: ErrNoToken},
		{name: "too large", v: ecV, token: strings.Repeat("a", maxTokenBytes+1), wantErr: ErrTokenTooLarge},
		{name: "role as number", v: ecV, token: es(with(base, map[string]any{"role": 3})), wantErr: jwt.ErrTokenMalformed},
		{name: "missing role", v: ecV, token: es(with(base, map[string]any{"role": nil})), wantErr: ErrInvalidPrincipal},
		{name: "unknown role", v: ecV, token: es(with(base, map[string]any{"role": "ADMIN"})), wantErr: ErrUnknownRole},
		{name: "lower-case role", v: ecV, token: es(with(base, map[string]any{"role": "worker"})), wantErr: ErrUnknownRole},
		{name: "missing sub", v: ecV, token: es(with(base, map[string]any{"sub": nil})), wantErr: ErrInvalidPrincipal},
		{name: "personal identity code as sub", v: ecV, token: es(with(base, map[string]any{"sub": "131052-308T"})), wantErr: ErrInvalidPrincipal},
		{name: "PROVIDER without provider_id", v: ecV, token: es(with(base, map[string]any{"role": "PROVIDER"})), wantErr: ErrInvalidPrincipal},
		{name: "CLIENT without polku_client_id", v: ecV, token: es(with(base, map[string]any{"role": "CLIENT"})), wantErr: ErrInvalidPrincipal},
		{name: "ASSISTANT without clients", v: ecV, token: es(with(base, map[string]any{"role": "ASSISTANT", "clients": []string{}})), wantErr: ErrInvalidPrincipal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.v.Verify(context.Background(), tt.token)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if !equalPrincipal(p, tt.want) {
					t.Fatalf("principal = %+v, want %+v", p, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify succeeded with %+v, want %v", p, tt.wantErr)
			}
			if !errors.Is(err, ErrUnauthenticated) || !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want ErrUnauthenticated and %v", err, tt.wantErr)
			}
			msg := err.Error()
			if tt.token != "" && strings.Contains(msg, tt.token) {
				t.Fatalf("error echoes the token: %q", msg)
			}
			for _, part := range strings.Split(tt.token, ".") {
				if len(part) > 8 && strings.Contains(msg, part) {
					t.Fatalf("error echoes a token part: %q", msg)
				}
			}
			for _, leak := range []string{"leaky-kid", "evil.test", "131052-308T", "ADMIN", "other-app"} {
				if strings.Contains(msg, leak) {
					t.Fatalf("error echoes %q: %q", leak, msg)
				}
			}
			if p.Subject != "" || p.Role != "" {
				t.Fatalf("failed Verify returned a principal: %+v", p)
			}
		})
	}
}

func equalPrincipal(a, b Principal) bool {
	return reflect.DeepEqual(a, b)
}

func TestNewVerifierConfig(t *testing.T) {
	k := getKeys(t)
	ecPEM := publicPEM(t, &k.ec.PublicKey)
	privDER, _ := x509.MarshalPKCS8PrivateKey(k.ec)
	privPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)})

	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"EC PEM", Config{Issuer: "i", Audience: "a", PublicKeyPEM: ecPEM}, true},
		{"RSA PKCS1 PEM", Config{Issuer: "i", Audience: "a", PublicKeyPEM: pkcs1}, true},
		{"PEM after other blocks", Config{Issuer: "i", Audience: "a", PublicKeyPEM: append([]byte("-----BEGIN X-----\nAAAA\n-----END X-----\n"), ecPEM...)}, true},
		{"no issuer", Config{Audience: "a", PublicKeyPEM: ecPEM}, false},
		{"no audience", Config{Issuer: "i", PublicKeyPEM: ecPEM}, false},
		{"no key source", Config{Issuer: "i", Audience: "a"}, false},
		{"both key sources", Config{Issuer: "i", Audience: "a", PublicKeyPEM: ecPEM, JWKSURL: "https://idp.test/jwks"}, false},
		{"bad JWKS URL", Config{Issuer: "i", Audience: "a", JWKSURL: "idp.test/jwks"}, false},
		{"not PEM", Config{Issuer: "i", Audience: "a", PublicKeyPEM: []byte("hello")}, false},
		{"private key PEM", Config{Issuer: "i", Audience: "a", PublicKeyPEM: privPEM}, false},
		{"RSA 1024", Config{Issuer: "i", Audience: "a", PublicKeyPEM: publicPEM(t, &small.PublicKey)}, false},
		{"EC P-384", Config{Issuer: "i", Audience: "a", PublicKeyPEM: publicPEM(t, &p384.PublicKey)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(context.Background(), tt.cfg)
			if tt.ok && (err != nil || v == nil) {
				t.Fatalf("NewVerifier: %v", err)
			}
			if !tt.ok {
				if err == nil {
					t.Fatal("NewVerifier accepted a bad config")
				}
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("err = %v, want ErrConfig", err)
				}
			}
		})
	}
}

// jwksServer serves a JWK Set that a test can swap, and counts fetches.
type jwksServer struct {
	*httptest.Server
	body    atomic.Pointer[[]byte]
	fetches atomic.Int32
	fail    atomic.Bool
}

func newJWKSServer(t *testing.T) *jwksServer {
	s := &jwksServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		if s.fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(*s.body.Load())
	}))
	t.Cleanup(s.Close)
	return s
}

type jwkSpec struct {
	pub any
	kid string
	alg jwkset.ALG
}

// serve builds the JWK Set from public keys with jwkset and serves it.
func (s *jwksServer) serve(t *testing.T, specs ...jwkSpec) {
	t.Helper()
	store := jwkset.NewMemoryStorage()
	for _, sp := range specs {
		jwk, err := jwkset.NewJWKFromKey(sp.pub, jwkset.JWKOptions{
			Metadata: jwkset.JWKMetadataOptions{KID: sp.kid, ALG: sp.alg, USE: jwkset.UseSig},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.KeyWrite(context.Background(), jwk); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := store.JSONPublic(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var check struct{ Keys []map[string]any }
	if err := json.Unmarshal(raw, &check); err != nil || len(check.Keys) != len(specs) {
		t.Fatalf("JWKS %s: %v", raw, err)
	}
	for _, k := range check.Keys {
		if _, private := k["d"]; private {
			t.Fatal("JWKS holds a private key")
		}
	}
	b := []byte(raw)
	s.body.Store(&b)
}

func TestVerifyJWKS(t *testing.T) {
	k := getKeys(t)
	srv := newJWKSServer(t)
	srv.serve(t,
		jwkSpec{&k.rsa.PublicKey, "rsa-1", jwkset.AlgRS256},
		jwkSpec{&k.ec.PublicKey, "ec-1", jwkset.AlgES256},
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	v, err := NewVerifier(ctx, Config{Issuer: testIssuer, Audience: testAudience, JWKSURL: srv.URL + "/jwks"})
	if err != nil {
		t.Fatal(err)
	}
	base := baseClaims()
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"RS256 with kid", sign(t, jwt.SigningMethodRS256, k.rsa, base, "rsa-1"), true},
		{"ES256 with kid", sign(t, jwt.SigningMethodES256, k.ec, base, "ec-1"), true},
		{"ES256 without kid", sign(t, jwt.SigningMethodES256, k.ec, base, ""), true},
		{"kid of another key", sign(t, jwt.SigningMethodES256, k.ec, base, "rsa-1"), false},
		{"alg differs from JWK alg", sign(t, jwt.SigningMethodRS384, k.rsa, base, "rsa-1"), false},
		{"unknown key with a known kid", sign(t, jwt.SigningMethodES256, k.ec2, base, "ec-1"), false},
		{"HS256 keyed with the RSA PEM", sign(t, jwt.SigningMethodHS256, publicPEM(t, &k.rsa.PublicKey), base, "rsa-1"), false},
		{"expired", sign(t, jwt.SigningMethodES256, k.ec, with(base, map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}), "ec-1"), false},
		{"wrong audience", sign(t, jwt.SigningMethodES256, k.ec, with(base, map[string]any{"aud": "x"}), "ec-1"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tt.token)
			if tt.ok {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if p.Subject != "u-7f3a9c" || p.Role != RoleWorker {
					t.Fatalf("principal = %+v", p)
				}
				return
			}
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("err = %v, want ErrUnauthenticated", err)
			}
		})
	}

	// Key rotation: a token with a new kid makes the verifier fetch the set
	// again (rate limited) instead of waiting for the periodic refresh.
	t.Run("rotation", func(t *testing.T) {
		newTok := sign(t, jwt.SigningMethodES256, k.ec2, base, "ec-2")
		srv.serve(t,
			jwkSpec{&k.ec.PublicKey, "ec-1", jwkset.AlgES256},
			jwkSpec{&k.ec2.PublicKey, "ec-2", jwkset.AlgES256},
		)
		before := srv.fetches.Load()
		if _, err := v.Verify(context.Background(), newTok); err != nil {
			t.Fatalf("Verify with rotated key: %v", err)
		}
		if srv.fetches.Load() == before {
			t.Fatal("unknown kid did not refetch the JWKS")
		}
		// The removed RSA key is gone after the refetch.
		if _, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, k.rsa, base, "rsa-1")); err == nil {
			t.Fatal("token of a removed key still verifies")
		}
	})
}

func TestNewVerifierJWKSUnavailable(t *testing.T) {
	srv := newJWKSServer(t)
	srv.fail.Store(true)
	_, err := NewVerifier(context.Background(), Config{Issuer: testIssuer, Audience: testAudience, JWKSURL: srv.URL})
	if err == nil {
		t.Fatal("NewVerifier succeeded without keys")
	}
}

func TestNewVerifierJWKSContextEnded(t *testing.T) {
	k := getKeys(t)
	srv := newJWKSServer(t)
	srv.serve(t, jwkSpec{&k.ec.PublicKey, "ec-1", jwkset.AlgES256})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewVerifier(ctx, Config{Issuer: testIssuer, Audience: testAudience, JWKSURL: srv.URL}); err == nil {
		t.Fatal("NewVerifier succeeded with an ended context")
	}
}
