package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// Leeway is the clock skew allowed when checking exp, nbf and iat.
const Leeway = 30 * time.Second

// maxTokenBytes bounds the work spent on a token before any crypto.
const maxTokenBytes = 16 << 10

// How the JWKS of the production identity provider is kept fresh.
const (
	jwksRefreshInterval = 15 * time.Minute
	jwksHTTPTimeout     = 10 * time.Second
	jwksRateLimitWait   = 10 * time.Second
)

// Accepted signing algorithms: asymmetric only, so a service holding the
// verification key cannot mint tokens, and "none"/HS* are refused outright.
var validMethods = []string{jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg()}

// ErrUnauthenticated is wrapped by every error Verify returns. The error text
// says which check failed (expired, wrong audience, ...) and never contains the
// token or a claim value, so it may be logged; callers must still answer the
// client with a generic message.
var ErrUnauthenticated = errors.New("unauthenticated")

// Reasons wrapped (together with ErrUnauthenticated) by Verify errors that the
// JWT library does not already name.
var (
	ErrNoToken       = errors.New("no token")
	ErrTokenTooLarge = errors.New("token is too large")
)

// ErrConfig is wrapped by NewVerifier errors about the Config.
var ErrConfig = errors.New("invalid auth config")

// Config says which tokens a Verifier accepts. Exactly one of JWKSURL
// (production) and PublicKeyPEM (development) is set.
type Config struct {
	// Issuer must equal the token's iss.
	Issuer string
	// Audience must be one of the token's aud values.
	Audience string
	// JWKSURL is the identity provider's JWK Set. Keys are fetched when the
	// Verifier is built (failing it if they cannot be), refreshed in the
	// background until the NewVerifier context ends, and refetched (rate
	// limited) when a token names an unknown kid, so key rotation just works.
	JWKSURL string
	// PublicKeyPEM is one PEM public key ("PUBLIC KEY", "RSA PUBLIC KEY" or a
	// "CERTIFICATE"): RSA of at least 2048 bits (RS256) or EC P-256 (ES256).
	// Use it with the DevIssuer's key in development.
	PublicKeyPEM []byte
}

// Verifier checks bearer tokens and turns them into Principals. It is safe for
// concurrent use.
type Verifier struct {
	parser *jwt.Parser
	keys   func(context.Context) jwt.Keyfunc
}

// NewVerifier builds a Verifier. In JWKS mode ctx bounds the first key fetch and
// the background refresh, which stops when ctx ends: pass the service's
// lifetime context, not a request's.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, fmt.Errorf("%w: issuer is required", ErrConfig)
	}
	if cfg.Audience == "" {
		return nil, fmt.Errorf("%w: audience is required", ErrConfig)
	}
	v := &Verifier{
		parser: jwt.NewParser(
			jwt.WithValidMethods(validMethods),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(Leeway),
		),
	}
	switch {
	case cfg.JWKSURL != "" && len(cfg.PublicKeyPEM) > 0:
		return nil, fmt.Errorf("%w: set either the JWKS URL or the public key, not both", ErrConfig)
	case cfg.JWKSURL != "":
		u, err := url.Parse(cfg.JWKSURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("%w: JWKS URL must be an absolute http(s) URL", ErrConfig)
		}
		// A child context, so a failed start does not leave the refresh running.
		kctx, cancel := context.WithCancel(ctx)
		fail := false
		kf, err := keyfunc.NewDefaultOverrideCtx(kctx, []string{cfg.JWKSURL}, keyfunc.Override{
			HTTPTimeout:               jwksHTTPTimeout,
			NoErrorReturnFirstHTTPReq: &fail,
			RateLimitWaitMax:          jwksRateLimitWait,
			RefreshInterval:           jwksRefreshInterval,
		})
		if err != nil {
			cancel()
			return nil, fmt.Errorf("fetching JWKS from %s: %w", u.Redacted(), err)
		}
		// kctx (and with it the refresh) ends with ctx; release it then.
		context.AfterFunc(ctx, cancel)
		v.keys = kf.KeyfuncCtx
	case len(cfg.PublicKeyPEM) > 0:
		key, alg, err := parsePublicKeyPEM(cfg.PublicKeyPEM)
		if err != nil {
			return nil, err
		}
		v.keys = func(context.Context) jwt.Keyfunc {
			return func(t *jwt.Token) (any, error) {
				if t.Method.Alg() != alg {
					return nil, fmt.Errorf("algorithm does not match the key")
				}
				return key, nil
			}
		}
	default:
		return nil, fmt.Errorf("%w: set the JWKS URL (production) or a public key (development)", ErrConfig)
	}
	return v, nil
}

// parsePublicKeyPEM returns the first usable public key in pemBytes and the one
// algorithm it may verify.
func parsePublicKeyPEM(pemBytes []byte) (any, string, error) {
	rest := pemBytes
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, "", fmt.Errorf("%w: no PEM public key found", ErrConfig)
		}
		var key any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			cert, err = x509.ParseCertificate(block.Bytes)
			if err == nil {
				key = cert.PublicKey
			}
		case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY":
			return nil, "", fmt.Errorf("%w: the PEM holds a private key; give the verifier only the public key", ErrConfig)
		default:
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("%w: parsing PEM %s: %w", ErrConfig, block.Type, err)
		}
		switch k := key.(type) {
		case *rsa.PublicKey:
			if k.N.BitLen() < 2048 {
				return nil, "", fmt.Errorf("%w: RSA key must have at least 2048 bits", ErrConfig)
			}
			return k, jwt.SigningMethodRS256.Alg(), nil
		case *ecdsa.PublicKey:
			if k.Curve != elliptic.P256() {
				return nil, "", fmt.Errorf("%w: EC key must be on curve P-256", ErrConfig)
			}
			return k, jwt.SigningMethodES256.Alg(), nil
		default:
			return nil, "", fmt.Errorf("%w: public key must be RSA or EC P-256, got %T", ErrConfig, key)
		}
	}
}

// claims is the token payload Polku reads.
type claims struct {
	jwt.RegisteredClaims
	Role       string   `json:"role,omitempty"`
	Region     string   `json:"region,omitempty"`
	Unit       string   `json:"unit,omitempty"`
	ProviderID string   `json:"provider_id,omitempty"`
	ClientID   string   `json:"polku_client_id,omitempty"`
	Clients    []string `json:"clients,omitempty"`
}

// principal maps the claims to a Principal. A binding claim counts only for the
// role it belongs to (provider_id for PROVIDER, polku_client_id for CLIENT, clients
// for ASSISTANT), so a service can never act on one that came with another role.
func (c *claims) principal() (Principal, error) {
	if c.Role == "" {
		return Principal{}, fmt.Errorf("%w: role is required", ErrInvalidPrincipal)
	}
	role, err := ParseRole(c.Role)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrInvalidPrincipal, err)
	}
	p := Principal{Subject: c.Subject, Role: role, Region: c.Region, Unit: c.Unit}
	switch role {
	case RoleProvider:
		p.ProviderID = c.ProviderID
	case RoleClient:
		p.ClientID = c.ClientID
	case RoleAssistant:
		p.Clients = c.Clients
	}
	if err := p.Validate(); err != nil {
		return Principal{}, err
	}
	return p, nil
}

// Verify checks the token's signature (RS256 or ES256 only), exp (required),
// nbf, iat, iss and aud, and returns its Principal. Every error wraps
// ErrUnauthenticated and names the failed check without echoing the token.
func (v *Verifier) Verify(ctx context.Context, rawToken string) (Principal, error) {
	if rawToken == "" {
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, ErrNoToken)
	}
	if len(rawToken) > maxTokenBytes {
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, ErrTokenTooLarge)
	}
	var c claims
	if _, err := v.parser.ParseWithClaims(rawToken, &c, v.keys(ctx)); err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, jwtReason(err))
	}
	p, err := c.principal()
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	return p, nil
}

// jwtReasons are the JWT library's sentinel errors, most specific first. Their
// texts are fixed strings, unlike the errors they wrap (which may quote parts
// of the token, such as its kid).
var jwtReasons = []error{
	jwt.ErrTokenMalformed,
	jwt.ErrTokenUnverifiable,
	jwt.ErrTokenSignatureInvalid,
	jwt.ErrTokenRequiredClaimMissing,
	jwt.ErrTokenExpired,
	jwt.ErrTokenNotValidYet,
	jwt.ErrTokenUsedBeforeIssued,
	jwt.ErrTokenInvalidIssuer,
	jwt.ErrTokenInvalidAudience,
	jwt.ErrTokenInvalidClaims,
}

func jwtReason(err error) error {
	for _, r := range jwtReasons {
		if errors.Is(err, r) {
			return r
		}
	}
	return jwt.ErrTokenInvalidClaims
}
