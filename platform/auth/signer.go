package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenIssuer signs tokens for a principal. DevIssuer and Signer are ones.
type TokenIssuer interface {
	Issue(p Principal, issuer, audience string, ttl time.Duration) (string, error)
}

// Signer issues tokens with a production signing key (EC P-256 -> ES256 or RSA
// of at least 2048 bits -> RS256), e.g. the catalogue's provider tokens. Its kid
// is the key's RFC 7638 thumbprint, the kid JWKS names.
type Signer struct {
	key    crypto.Signer
	method jwt.SigningMethod
	kid    string
	jwks   []byte
}

// NewSigner reads a PEM private key ("PRIVATE KEY" PKCS#8, "EC PRIVATE KEY" or
// "RSA PRIVATE KEY").
func NewSigner(pemBytes []byte) (*Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM private key found", ErrConfig)
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%w: PEM block %s is not a private key", ErrConfig, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: parsing private key: %w", ErrConfig, err)
	}
	s := &Signer{}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: EC key must be on curve P-256", ErrConfig)
		}
		s.key, s.method = k, jwt.SigningMethodES256
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("%w: RSA key must have at least 2048 bits", ErrConfig)
		}
		s.key, s.method = k, jwt.SigningMethodRS256
	default:
		return nil, fmt.Errorf("%w: private key must be RSA or EC P-256, got %T", ErrConfig, key)
	}
	jwk, err := publicJWK(s.key.Public())
	if err != nil {
		return nil, err
	}
	s.kid = jwk["kid"]
	s.jwks, err = json.Marshal(map[string]any{"keys": []map[string]string{jwk}})
	return s, err
}

// KeyID is the kid of the signer's tokens.
func (s *Signer) KeyID() string { return s.kid }

// JWKS is the JSON Web Key Set of the signer's public key.
func (s *Signer) JWKS() []byte { return append([]byte(nil), s.jwks...) }

// PublicKeyPEM is the PKIX PEM of the public key (Config.PublicKeyPEM).
func (s *Signer) PublicKeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(s.key.Public())
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// Issue signs a token for p valid for ttl, with the claims DevIssuer.Issue
// writes (issuer and audience are required here).
func (s *Signer) Issue(p Principal, issuer, audience string, ttl time.Duration) (string, error) {
	if issuer == "" || audience == "" {
		return "", errors.New("issuer and audience are required")
	}
	c, err := newClaims(p, issuer, audience, ttl)
	if err != nil {
		return "", err
	}
	t := jwt.NewWithClaims(s.method, c)
	t.Header["kid"] = s.kid
	return t.SignedString(s.key)
}

// JWKSFromPEM is the JSON Web Key Set of a PEM public key (see
// Config.PublicKeyPEM for the accepted forms): what a gateway publishes at
// /.well-known/jwks.json for a key it only holds the public half of.
func JWKSFromPEM(pemBytes []byte) ([]byte, error) {
	key, _, err := parsePublicKeyPEM(pemBytes)
	if err != nil {
		return nil, err
	}
	jwk, err := publicJWK(key)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"keys": []map[string]string{jwk}})
}

// publicJWK is the JWK of an RSA or P-256 public key with its RFC 7638
// thumbprint as kid.
func publicJWK(pub any) (map[string]string, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		kid, err := ecThumbprint(k)
		if err != nil {
			return nil, err
		}
		pt, err := k.Bytes()
		if err != nil {
			return nil, err
		}
		return map[string]string{"kty": "EC", "crv": "P-256", "x": b64(pt[1:33]), "y": b64(pt[33:65]), "alg": "ES256", "use": "sig", "kid": kid}, nil
	case *rsa.PublicKey:
		n, e := b64(k.N.Bytes()), b64(big.NewInt(int64(k.E)).Bytes())
		// RFC 7638: members e, kty, n in this order, no whitespace.
		j, err := json.Marshal(struct {
			E   string `json:"e"`
			Kty string `json:"kty"`
			N   string `json:"n"`
		}{e, "RSA", n})
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(j)
		return map[string]string{"kty": "RSA", "n": n, "e": e, "alg": "RS256", "use": "sig", "kid": b64(sum[:])}, nil
	}
	return nil, fmt.Errorf("%w: unsupported public key %T", ErrConfig, pub)
}
