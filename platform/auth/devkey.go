package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults of the development issuer: services in development verify with
// Config{Issuer: DevIssuerName, Audience: DevAudience, PublicKeyPEM: ...}.
// (The issuer constant cannot be called DevIssuer: that is the type.)
const (
	DevIssuerName = "polku-dev"
	DevAudience   = "polku"
)

// DevKeyFile is the name of the development signing key in its directory.
const DevKeyFile = "dev-signing-key.pem"

// DevIssuer signs development tokens with a local ECDSA P-256 key (ES256). It is
// for development and tests only: production tokens come from the identity
// provider and are verified through its JWKS.
type DevIssuer struct {
	key       *ecdsa.PrivateKey
	kid       string
	publicPEM []byte
}

// LoadOrCreateDevKey loads the key at <dir>/dev-signing-key.pem, or creates it
// (mode 0600, and dir with mode 0700 if missing). Several processes may call it
// at once on the same dir: exactly one creates the key and all use it.
func LoadOrCreateDevKey(dir string) (*DevIssuer, error) {
	path := filepath.Join(dir, DevKeyFile)
	key, err := readDevKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createDevKey(dir, path)
	}
	if err != nil {
		return nil, err
	}
	return newDevIssuer(key)
}

func readDevKey(path string) (*ecdsa.PrivateKey, error) {
	var lastErr error
	// A key another process is writing right now can be seen empty or partial:
	// give it a moment before calling the file broken.
	for range 20 {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		key, err := parseDevKey(b)
		if err == nil {
			return key, nil
		}
		lastErr = err
		time.Sleep(25 * time.Millisecond)
	}
	return nil, fmt.Errorf("dev signing key %s: %w", path, lastErr)
}

func parseDevKey(b []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block is %q, want PRIVATE KEY", block.Type)
	}
	if err != nil {
		return nil, err
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("key is not ECDSA P-256")
	}
	return ec, nil
}

func createDevKey(dir, path string) (*ecdsa.PrivateKey, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating dev key dir: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readDevKey(path) // another process won the race
	}
	if err != nil {
		return nil, fmt.Errorf("creating dev signing key: %w", err)
	}
	werr := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("writing dev signing key: %w", werr)
	}
	return key, nil
}

func newDevIssuer(key *ecdsa.PrivateKey) (*DevIssuer, error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	kid, err := ecThumbprint(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	return &DevIssuer{
		key:       key,
		kid:       kid,
		publicPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
	}, nil
}

// ecThumbprint is the RFC 7638 JWK thumbprint of a P-256 key, used as the kid,
// so it equals the kid a JWKS built from the same key would name.
func ecThumbprint(pub *ecdsa.PublicKey) (string, error) {
	pt, err := pub.Bytes() // 0x04 || X || Y, 32 bytes each for P-256
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	// Members in lexicographic order, no whitespace, as RFC 7638 requires.
	j, err := json.Marshal(struct {
		Crv string `json:"crv"`
		Kty string `json:"kty"`
		X   string `json:"x"`
		Y   string `json:"y"`
	}{"P-256", "EC", b64(pt[1:33]), b64(pt[33:65])})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(j)
	return b64(sum[:]), nil
}

// PublicKeyPEM returns the PKIX PEM of the public key, for Config.PublicKeyPEM.
func (d *DevIssuer) PublicKeyPEM() []byte {
	return append([]byte(nil), d.publicPEM...)
}

// KeyID returns the kid the issuer puts in token headers.
func (d *DevIssuer) KeyID() string { return d.kid }

// Issue signs an ES256 token for the principal, valid for ttl from now. An
// empty issuer or audience means DevIssuerName or DevAudience. The token has a
// random jti and the key's kid in its header.
func (d *DevIssuer) Issue(p Principal, issuer, audience string, ttl time.Duration) (string, error) {
	if issuer == "" {
		issuer = DevIssuerName
	}
	if audience == "" {
		audience = DevAudience
	}
	c, err := newClaims(p, issuer, audience, ttl)
	if err != nil {
		return "", err
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	t.Header["kid"] = d.kid
	return t.SignedString(d.key)
}

// newClaims are the claims of a token for p valid for ttl from now, with a
// random jti.
func newClaims(p Principal, issuer, audience string, ttl time.Duration) (claims, error) {
	if err := p.Validate(); err != nil {
		return claims{}, err
	}
	if ttl <= 0 {
		return claims{}, errors.New("token ttl must be positive")
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return claims{}, err
	}
	now := time.Now()
	return claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   p.Subject,
			Audience:  jwt.ClaimStrings{audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        base64.RawURLEncoding.EncodeToString(jti),
		},
		Role:       string(p.Role),
		Region:     p.Region,
		Unit:       p.Unit,
		ProviderID: p.ProviderID,
		ClientID:   p.ClientID,
		Clients:    p.Clients,
	}, nil
}
