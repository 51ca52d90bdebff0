package catalogue

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

// CredentialState is the lifecycle of a provider's API credential.
type CredentialState int32

// Credential states (numbers of the API's ProviderCredential.State).
const (
	CredentialActive  CredentialState = 1
	CredentialRevoked CredentialState = 2
)

// Credential lets a provider's own system act for the provider (OAuth client
// credentials). Only the SHA-256 of the secret is stored: the secret is 256
// random bits, so a fast hash is enough.
type Credential struct {
	ID          string          `json:"id"`
	ProviderID  string          `json:"provider_id"`
	DisplayName string          `json:"display_name"`
	ClientID    string          `json:"client_id"`
	SecretHash  string          `json:"secret_sha256"`
	ExpireTime  time.Time       `json:"expire_time,omitzero"`
	State       CredentialState `json:"state"`
	IssuedBy    string          `json:"issued_by"`
	CreateTime  time.Time       `json:"create_time"`
	RevokeTime  time.Time       `json:"revoke_time,omitzero"`
	Reason      string          `json:"revoke_reason,omitempty"`
}

// NewCredential issues a credential and returns it with its secret (shown once).
func NewCredential(id, providerID, displayName, issuedBy string, expire, now time.Time) (*Credential, string) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	secret := base64.RawURLEncoding.EncodeToString(b[:])
	return &Credential{
		ID: id, ProviderID: providerID, DisplayName: displayName, ClientID: "polku-provider-" + id,
		SecretHash: HashSecret(secret), ExpireTime: expire, State: CredentialActive, IssuedBy: issuedBy, CreateTime: now,
	}, secret
}

// HashSecret is the stored form of a client secret.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Revoke: ACTIVE -> REVOKED.
func (c *Credential) Revoke(reason string, now time.Time) error {
	if c.State != CredentialActive {
		return &TransitionError{From: "REVOKED"}
	}
	c.State, c.RevokeTime, c.Reason = CredentialRevoked, now, reason
	return nil
}

// ValidateCredential checks a credential request.
func ValidateCredential(displayName string, expire, now time.Time) error {
	var vs Violations
	switch n := utf8.RuneCountInString(strings.TrimSpace(displayName)); {
	case n == 0:
		vs.add("provider_credential.display_name", "is required")
	case n > MaxName:
		vs.add("provider_credential.display_name", "must be at most 200 characters")
	}
	if !expire.IsZero() && !expire.After(now) {
		vs.add("provider_credential.expire_time", "must be in the future")
	}
	return vs.Err()
}
