package boot

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/config"
)

// With POLKU_PROVIDER_TOKEN_PUBLIC_KEY_FILE set, services trust the
// catalogue's provider tokens besides the identity provider's, and only as
// PROVIDER tokens; without it, only the identity provider's.
func TestNewVerifierTrustsProviderTokens(t *testing.T) {
	dir := t.TempDir()
	dev, err := auth.LoadOrCreateDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	idpFile := filepath.Join(dir, "idp.pem")
	if err := os.WriteFile(idpFile, dev.PublicKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	signer, err := auth.NewSigner(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := signer.PublicKeyPEM()
	provFile := filepath.Join(dir, "provider-tokens.pem")
	if err := os.WriteFile(provFile, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	provider := auth.Principal{Subject: "credential-1", Role: auth.RoleProvider, ProviderID: "p1"}
	provTok, _ := signer.Issue(provider, DefaultProviderTokenIssuer, auth.DevAudience, time.Minute)
	opTok, _ := signer.Issue(auth.Principal{Subject: "o", Role: auth.RoleOperator}, DefaultProviderTokenIssuer, auth.DevAudience, time.Minute)
	workerTok, _ := dev.Issue(auth.Principal{Subject: "w", Role: auth.RoleWorker}, "", "", time.Minute)

	for _, tt := range []struct {
		name                     string
		env                      map[string]string
		worker, provider, opFake bool // accepted?
	}{
		{"identity provider only", map[string]string{"POLKU_JWT_PUBLIC_KEY_FILE": idpFile}, true, false, false},
		{"plus provider tokens", map[string]string{"POLKU_JWT_PUBLIC_KEY_FILE": idpFile, "POLKU_PROVIDER_TOKEN_PUBLIC_KEY_FILE": provFile}, true, true, false},
	} {
		v, err := NewVerifier(context.Background(), LoadCommon(config.FromMap(tt.env)))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		for tok, want := range map[string]bool{workerTok: tt.worker, provTok: tt.provider, opTok: tt.opFake} {
			if _, err := v.Verify(context.Background(), tok); (err == nil) != want {
				t.Errorf("%s: Verify accepted = %v; want %v (%v)", tt.name, err == nil, want, err)
			}
		}
	}
	same := map[string]string{"POLKU_JWT_PUBLIC_KEY_FILE": idpFile, "POLKU_PROVIDER_TOKEN_PUBLIC_KEY_FILE": provFile, "POLKU_PROVIDER_TOKEN_ISSUER": auth.DevIssuerName}
	if _, err := NewVerifier(context.Background(), LoadCommon(config.FromMap(same))); err == nil {
		t.Error("provider-token issuer equal to the identity provider's was accepted")
	}
}
