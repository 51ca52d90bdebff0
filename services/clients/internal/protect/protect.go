// Package protect keeps personal identity codes unreadable at rest.
//
// One 32-byte master key (POLKU_PIC_KEY, base64) yields two subkeys through HKDF:
// an AES-256-GCM key that encrypts the code (random nonce, the client id as
// additional data so a ciphertext cannot be moved to another record), and an
// HMAC-SHA256 key for a deterministic lookup hash used to detect duplicates
// without storing the code in the clear. Ciphertexts start with a key version
// byte so keys can be rotated later.
package protect

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

const keyVersion = 1

// ErrBadCiphertext: the stored value was not made by this key.
var ErrBadCiphertext = errors.New("protect: ciphertext does not open with this key")

// Box encrypts and hashes identity codes.
type Box struct {
	aead    cipher.AEAD
	hashKey []byte
}

// ParseKey decodes a base64 master key of exactly 32 bytes.
func ParseKey(b64 string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(k) != 32 {
		return nil, errors.New("protect: key must be 32 bytes, base64 encoded (openssl rand -base64 32)")
	}
	return k, nil
}

// NewKey returns a fresh random master key, base64 encoded (for dev setups).
func NewKey() string {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return base64.StdEncoding.EncodeToString(k)
}

// New derives the subkeys from a 32-byte master key.
func New(master []byte) (*Box, error) {
	if len(master) != 32 {
		return nil, errors.New("protect: master key must be 32 bytes")
	}
	encKey, err := hkdf.Key(sha256.New, master, nil, "polku pic encryption v1", 32)
	if err != nil {
		return nil, err
	}
	hashKey, err := hkdf.Key(sha256.New, master, nil, "polku pic lookup v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead, hashKey: hashKey}, nil
}

// Seal encrypts code, bound to the record id.
func (b *Box) Seal(code, recordID string) []byte {
	nonce := make([]byte, b.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := append([]byte{keyVersion}, nonce...)
	return b.aead.Seal(out, nonce, []byte(code), []byte(recordID))
}

// Open decrypts a value made by Seal for the same record id.
func (b *Box) Open(sealed []byte, recordID string) (string, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n || sealed[0] != keyVersion {
		return "", ErrBadCiphertext
	}
	plain, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(recordID))
	if err != nil {
		return "", fmt.Errorf("%w", ErrBadCiphertext)
	}
	return string(plain), nil
}

// Hash is the keyed lookup hash of a normalised code (hex).
func (b *Box) Hash(code string) string {
	m := hmac.New(sha256.New, b.hashKey)
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}
