package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"
)

func pkcs8PEM(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// A Signer's tokens verify with its public key (and the JWKS built from that
// key names the same kid) for EC and RSA keys; weak or wrong keys are refused.
func TestSigner(t *testing.T) {
	k := getKeys(t)
	for _, tt := range []struct {
		name string
		key  any
		alg  string
	}{{"ES256", k.ec, "ES256"}, {"RS256", k.rsa, "RS256"}} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSigner(pkcs8PEM(t, tt.key))
			if err != nil {
				t.Fatal(err)
			}
			pub, err := s.PublicKeyPEM()
			if err != nil {
				t.Fatal(err)
			}
			v, err := NewVerifier(context.Background(), Config{Issuer: "polku-catalogue", Audience: testAudience, PublicKeyPEM: pub})
			if err != nil {
				t.Fatal(err)
			}
			want := Principal{Subject: "credential-1", Role: RoleProvider, ProviderID: "p1"}
			tok, err := s.Issue(want, "polku-catalogue", testAudience, 15*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(context.Background(), tok)
			if err != nil || got.Subject != want.Subject || got.Role != RoleProvider || got.ProviderID != "p1" {
				t.Fatalf("Verify = %+v, %v; want %+v", got, err, want)
			}
			var set struct{ Keys []map[string]string }
			jwks, err := JWKSFromPEM(pub)
			if err != nil || json.Unmarshal(jwks, &set) != nil || len(set.Keys) != 1 {
				t.Fatalf("JWKSFromPEM = %s, %v", jwks, err)
			}
			if set.Keys[0]["kid"] != s.KeyID() || set.Keys[0]["alg"] != tt.alg || string(s.JWKS()) != string(jwks) {
				t.Errorf("JWKS %s; want kid %s alg %s, equal to the signer's", jwks, s.KeyID(), tt.alg)
			}
		})
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for name, pemBytes := range map[string][]byte{
		"P-384":      pkcs8PEM(t, p384),
		"public key": publicPEM(t, &k.ec.PublicKey),
		"not PEM":    []byte("hello"),
	} {
		if _, err := NewSigner(pemBytes); !errors.Is(err, ErrConfig) {
			t.Errorf("NewSigner(%s) = %v; want ErrConfig", name, err)
		}
	}
}

// A MultiVerifier routes by issuer, refuses unknown issuers and keeps an
// issuer to the roles it may grant.
func TestMultiVerifier(t *testing.T) {
	k := getKeys(t)
	idp, err := NewVerifier(context.Background(), Config{Issuer: testIssuer, Audience: testAudience, PublicKeyPEM: publicPEM(t, &k.rsa.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(pkcs8PEM(t, k.ec))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := s.PublicKeyPEM()
	prov, err := NewVerifier(context.Background(), Config{Issuer: "polku-catalogue", Audience: testAudience, PublicKeyPEM: pub})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMultiVerifier(Trusted{Issuer: testIssuer, Verifier: idp}, Trusted{Issuer: "polku-catalogue", Verifier: prov, Roles: []Role{RoleProvider}})
	if err != nil {
		t.Fatal(err)
	}
	provider := Principal{Subject: "credential-1", Role: RoleProvider, ProviderID: "p1"}
	operator := Principal{Subject: "o1", Role: RoleOperator}
	issue := func(s *Signer, p Principal, iss string) string {
		tok, err := s.Issue(p, iss, testAudience, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	rsaSigner, err := NewSigner(pkcs8PEM(t, k.rsa))
	if err != nil {
		t.Fatal(err)
	}
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forger, _ := NewSigner(pkcs8PEM(t, otherEC))
	tests := []struct {
		name    string
		token   string
		wantErr string // "" = accepted
	}{
		{"identity provider's worker token", issue(rsaSigner, Principal{Subject: "w1", Role: RoleWorker}, testIssuer), ""},
		{"catalogue's provider token", issue(s, provider, "polku-catalogue"), ""},
		{"catalogue's key signing an operator", issue(s, operator, "polku-catalogue"), "may not grant"},
		{"unknown issuer", issue(s, provider, "someone-else"), "untrusted issuer"},
		{"catalogue issuer, wrong key", issue(forger, provider, "polku-catalogue"), "unauthenticated"},
		{"not a JWT", "abc", "malformed"},
	}
	for _, tt := range tests {
		_, err := m.Verify(context.Background(), tt.token)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v; want accepted", tt.name, err)
		case tt.wantErr != "" && (!errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: %v; want ErrUnauthenticated %q", tt.name, err, tt.wantErr)
		}
	}
	if _, err := NewMultiVerifier(Trusted{Issuer: "a", Verifier: idp}, Trusted{Issuer: "a", Verifier: prov}); !errors.Is(err, ErrConfig) {
		t.Errorf("duplicate issuer: %v; want ErrConfig", err)
	}
}
