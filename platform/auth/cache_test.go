package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// countingVerifier counts the verifications that reach the real verifier.
type countingVerifier struct {
	next  TokenVerifier
	calls int
}

func (c *countingVerifier) Verify(ctx context.Context, raw string) (Principal, error) {
	c.calls++
	return c.next.Verify(ctx, raw)
}

func TestCachedVerifier(t *testing.T) {
	k := getKeys(t)
	v, err := NewVerifier(context.Background(), Config{Issuer: testIssuer, Audience: testAudience, PublicKeyPEM: publicPEM(t, &k.ec.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	good := sign(t, jwt.SigningMethodES256, k.ec, baseClaims(), "")                                              // exp in 5 minutes
	soon := sign(t, jwt.SigningMethodES256, k.ec, with(baseClaims(), map[string]any{"exp": now.Unix() + 1}), "") // exp in 1 s
	forged := sign(t, jwt.SigningMethodES256, k.ec2, baseClaims(), "")
	assistant := sign(t, jwt.SigningMethodES256, k.ec, with(baseClaims(), map[string]any{"role": "ASSISTANT", "clients": []string{"c1"}}), "")

	type step struct {
		name      string
		at        time.Duration // clock offset from now
		token     string
		wantCalls int // verifications that reached the real verifier so far
		wantErr   bool
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"a verified token is not verified again within the TTL", []step{
			{"first", 0, good, 1, false},
			{"again", 10 * time.Second, good, 1, false},
			{"after the TTL", 61 * time.Second, good, 2, false},
		}},
		{"the token's own expiry (with leeway) ends its cache entry", []step{
			{"first", 0, soon, 1, false},
			{"before exp+leeway", 20 * time.Second, soon, 1, false},
			{"after exp+leeway", 40 * time.Second, soon, 2, true},
		}},
		{"failures are not cached", []step{
			{"forged", 0, forged, 1, true},
			{"forged again", 0, forged, 2, true},
		}},
		{"tokens are cached one by one", []step{
			{"good", 0, good, 1, false},
			{"another token", 0, assistant, 2, false},
			{"good again", 0, good, 2, false},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cv := &countingVerifier{next: v}
			c := NewCachedVerifier(cv, 100, time.Minute)
			for _, s := range tc.steps {
				c.now = func() time.Time { return now.Add(s.at) }
				if s.wantErr && s.at > 0 {
					// The real verifier reads the wall clock: past exp+leeway
					// only on the cache's clock, so make it refuse as it will.
					cv.next = refuse{}
				}
				p, err := c.Verify(context.Background(), s.token)
				if (err != nil) != s.wantErr {
					t.Fatalf("%s: err = %v, want error %v", s.name, err, s.wantErr)
				}
				if cv.calls != s.wantCalls {
					t.Fatalf("%s: %d verifications reached the verifier, want %d", s.name, cv.calls, s.wantCalls)
				}
				if err == nil && p.Subject != "u-7f3a9c" {
					t.Fatalf("%s: principal %+v", s.name, p)
				}
			}
		})
	}

	// A caller changing the returned Principal does not change the cache.
	c := NewCachedVerifier(v, 100, time.Minute)
	p, _ := c.Verify(context.Background(), assistant)
	p.Clients[0] = "someone-else"
	if again, _ := c.Verify(context.Background(), assistant); again.Clients[0] != "c1" {
		t.Errorf("cached principal changed through a returned copy: %v", again.Clients)
	}
}

type refuse struct{}

func (refuse) Verify(context.Context, string) (Principal, error) {
	return Principal{}, errors.Join(ErrUnauthenticated, jwt.ErrTokenExpired)
}

// BenchmarkVerify compares a full ES256 verification with a cache hit.
func BenchmarkVerify(b *testing.B) {
	k := getKeys(b)
	v, err := NewVerifier(context.Background(), Config{Issuer: testIssuer, Audience: testAudience, PublicKeyPEM: publicPEM(b, &k.ec.PublicKey)})
	if err != nil {
		b.Fatal(err)
	}
	tok := sign(b, jwt.SigningMethodES256, k.ec, baseClaims(), "")
	for _, bc := range []struct {
		name string
		v    TokenVerifier
	}{{"es256", v}, {"cached", NewCachedVerifier(v, 100, time.Minute)}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := bc.v.Verify(context.Background(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
