package auth

import (
	"context"
	"fmt"
	"slices"

	"github.com/golang-jwt/jwt/v5"
)

// Trusted is one issuer a MultiVerifier accepts tokens from.
type Trusted struct {
	// Issuer is the iss the tokens carry (each Verifier checks it again).
	Issuer   string
	Verifier TokenVerifier
	// Roles, when set, are the only roles this issuer may grant: the
	// catalogue's provider tokens may only ever be PROVIDER tokens, whatever
	// its key signs.
	Roles []Role
}

// MultiVerifier accepts tokens of several issuers (the region's identity
// provider and the catalogue's provider-token issuer): the unverified iss
// picks the one Verifier that checks the token fully.
type MultiVerifier struct{ byIssuer map[string]Trusted }

// NewMultiVerifier trusts each issuer given (issuers must differ).
func NewMultiVerifier(trusted ...Trusted) (*MultiVerifier, error) {
	m := &MultiVerifier{byIssuer: map[string]Trusted{}}
	for _, t := range trusted {
		if t.Issuer == "" || t.Verifier == nil {
			return nil, fmt.Errorf("%w: a trusted issuer needs a name and a verifier", ErrConfig)
		}
		if _, dup := m.byIssuer[t.Issuer]; dup {
			return nil, fmt.Errorf("%w: issuer %q trusted twice", ErrConfig, t.Issuer)
		}
		m.byIssuer[t.Issuer] = t
	}
	return m, nil
}

// Verify checks the token with the verifier of its issuer.
func (m *MultiVerifier) Verify(ctx context.Context, raw string) (Principal, error) {
	if raw == "" {
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, ErrNoToken)
	}
	if len(raw) > maxTokenBytes {
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, ErrTokenTooLarge)
	}
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &c); err != nil {
		return Principal{}, fmt.Errorf("%w: malformed token", ErrUnauthenticated)
	}
	t, ok := m.byIssuer[c.Issuer]
	if !ok {
		return Principal{}, fmt.Errorf("%w: token is from an untrusted issuer", ErrUnauthenticated)
	}
	p, err := t.Verifier.Verify(ctx, raw)
	if err != nil {
		return Principal{}, err
	}
	if len(t.Roles) > 0 && !slices.Contains(t.Roles, p.Role) {
		return Principal{}, fmt.Errorf("%w: the issuer may not grant this role", ErrUnauthenticated)
	}
	return p, nil
}
