// Package protect keeps personal identity codes unreadable at rest.
//
// One 32-byte master key (POLKU_PIC_KEY, base64) yields two subkeys through HKDF:
// an AES-256-GCM key that encrypts the code (random nonce, the client id as
// additional data so a ciphertext cannot be moved to another record), and an
// HMAC-SHA256 key for a deterministic lookup hash used to detect duplicates
// without storing the code in the clear.
//
// Keys rotate as a ring: ciphertexts start with the version byte of the key that
// sealed them; the current version seals, every version in the ring opens. The
// lookup hash always uses the lowest version in the ring (the first key): a new
// hash key would make every stored hash unmatchable, so it does not rotate.
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

// ErrBadCiphertext: the stored value was not made by this key.
var ErrBadCiphertext = errors.New("protect: ciphertext does not open with this key")

// Box encrypts and hashes identity codes.
type Box struct {
	current byte
	aeads   map[byte]cipher.AEAD
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

// New is a ring of one key, version 1.
func New(master []byte) (*Box, error) { return NewRing(1, map[byte][]byte{1: master}) }

// NewRing derives the subkeys of every 32-byte master key by version (1-255):
// current seals, all open, the lowest version keys the lookup hash.
func NewRing(current byte, masters map[byte][]byte) (*Box, error) {
	if _, ok := masters[current]; !ok {
		return nil, fmt.Errorf("protect: current key version %d is not in the ring", current)
	}
	b := &Box{current: current, aeads: map[byte]cipher.AEAD{}}
	lowest := current
	for v, master := range masters {
		if v == 0 {
			return nil, errors.New("protect: key versions start at 1")
		}
		if len(master) != 32 {
			return nil, fmt.Errorf("protect: master key version %d must be 32 bytes", v)
		}
		encKey, err := hkdf.Key(sha256.New, master, nil, "polku pic encryption v1", 32)
		if err != nil {
			return nil, err
		}
		block, err := aes.NewCipher(encKey)
		if err != nil {
			return nil, err
		}
		if b.aeads[v], err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
		lowest = min(lowest, v)
	}
	var err error
	if b.hashKey, err = hkdf.Key(sha256.New, masters[lowest], nil, "polku pic lookup v1", 32); err != nil {
		return nil, err
	}
	return b, nil
}

// Seal encrypts code, bound to the record id.
func (b *Box) Seal(code, recordID string) []byte {
	aead := b.aeads[b.current]
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := append([]byte{b.current}, nonce...)
	return aead.Seal(out, nonce, []byte(code), []byte(recordID))
}

// Open decrypts a value made by Seal for the same record id.
// The version byte picks the key; a version not in the ring is ErrBadCiphertext.
func (b *Box) Open(sealed []byte, recordID string) (string, error) {
	if len(sealed) == 0 || b.aeads[sealed[0]] == nil {
		return "", ErrBadCiphertext
	}
	aead := b.aeads[sealed[0]]
	n := aead.NonceSize()
	if len(sealed) < 1+n {
		return "", ErrBadCiphertext
	}
	plain, err := aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(recordID))
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
