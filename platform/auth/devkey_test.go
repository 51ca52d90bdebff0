package auth

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestDevIssuerCreatesAndReusesKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "auth")
	d1, err := LoadOrCreateDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, DevKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(dir)
	if di.Mode().Perm() != 0o700 {
		t.Fatalf("key dir mode %v, want 0700", di.Mode().Perm())
	}
	before, _ := os.ReadFile(filepath.Join(dir, DevKeyFile))

	d2, err := LoadOrCreateDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, DevKeyFile))
	if !bytes.Equal(before, after) {
		t.Fatal("second load rewrote the key")
	}
	if !bytes.Equal(d1.PublicKeyPEM(), d2.PublicKeyPEM()) || d1.KeyID() != d2.KeyID() {
		t.Fatal("second load has another key")
	}
	if bytes.Contains(d1.PublicKeyPEM(), []byte("PRIVATE")) {
		t.Fatal("PublicKeyPEM holds the private key")
	}

	// A token from the first issuer verifies with the second's public key and
	// the dev defaults.
	v, err := NewVerifier(context.Background(), Config{Issuer: DevIssuerName, Audience: DevAudience, PublicKeyPEM: d2.PublicKeyPEM()})
	if err != nil {
		t.Fatal(err)
	}
	want := Principal{Subject: "u-dev-1", Role: RoleProvider, Region: "pirkanmaa", ProviderID: "prov-9"}
	tok, err := d1.Issue(want, "", "", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if !equalPrincipal(got, want) {
		t.Fatalf("principal = %+v, want %+v", got, want)
	}

	// Header and claims: ES256, kid, a random jti.
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header["alg"] != "ES256" || parsed.Header["kid"] != d1.KeyID() || len(d1.KeyID()) != 43 {
		t.Fatalf("header %v", parsed.Header)
	}
	tok2, _ := d1.Issue(want, "", "", time.Minute)
	jti := func(s string) any {
		c := jwt.MapClaims{}
		_, _, _ = jwt.NewParser().ParseUnverified(s, c)
		return c["jti"]
	}
	if jti(tok) == nil || jti(tok) == "" || jti(tok) == jti(tok2) {
		t.Fatalf("jti %v, %v", jti(tok), jti(tok2))
	}
}

func TestDevIssuerIssue(t *testing.T) {
	d, err := LoadOrCreateDevKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(context.Background(), Config{Issuer: "iss-x", Audience: "aud-x", PublicKeyPEM: d.PublicKeyPEM()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		p        Principal
		iss, aud string
		ttl      time.Duration
		issueOK  bool
		verifyOK bool
	}{
		{"explicit issuer and audience", Principal{Subject: "u1", Role: RoleAssistant, Clients: []string{"c1", "c2"}}, "iss-x", "aud-x", time.Minute, true, true},
		{"default issuer is not iss-x", Principal{Subject: "u1", Role: RoleWorker}, "", "aud-x", time.Minute, true, false},
		{"invalid principal", Principal{Subject: "u1", Role: RoleProvider}, "iss-x", "aud-x", time.Minute, false, false},
		{"zero ttl", Principal{Subject: "u1", Role: RoleWorker}, "iss-x", "aud-x", 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := d.Issue(tt.p, tt.iss, tt.aud, tt.ttl)
			if tt.issueOK != (err == nil) {
				t.Fatalf("Issue: %v", err)
			}
			if err != nil {
				return
			}
			p, err := v.Verify(context.Background(), tok)
			if tt.verifyOK != (err == nil) {
				t.Fatalf("Verify: %v", err)
			}
			if err == nil && !equalPrincipal(p, tt.p) {
				t.Fatalf("principal = %+v, want %+v", p, tt.p)
			}
		})
	}
}

func TestDevIssuerConcurrentCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shared")
	const n = 6
	pems := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			d, err := LoadOrCreateDevKey(dir)
			errs[i] = err
			if err == nil {
				pems[i] = d.PublicKeyPEM()
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(pems[i], pems[0]) {
			t.Fatal("concurrent loads made different keys")
		}
	}
}

func TestDevIssuerBrokenKeyFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, DevKeyFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateDevKey(dir); err == nil {
		t.Fatal("loaded a broken key file")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, DevKeyFile)); string(b) != "garbage" {
		t.Fatal("broken key file was overwritten")
	}
}
