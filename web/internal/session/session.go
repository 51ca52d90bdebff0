// Package session keeps the signed-in user's state in one encrypted cookie, so
// the web server holds no data of its own: the bearer token for the REST edge,
// who the user is (for choosing pages), the UI language and the CSRF token.
package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// CookieName is the session cookie; the __Host- prefix (Secure, Path=/, no
// Domain) is used when Secure is on.
const CookieName = "polku_session"

// Session is what the cookie carries.
type Session struct {
	Token      string    `json:"t,omitempty"` // bearer token for the REST edge
	Role       string    `json:"r,omitempty"` // WORKER, MANAGER, CLIENT, ASSISTANT, PROVIDER, OPERATOR
	Subject    string    `json:"s,omitempty"`
	Region     string    `json:"g,omitempty"` // WORKER, MANAGER: the welfare region
	Display    string    `json:"d,omitempty"` // how the UI greets the user (a first name or role label)
	ClientIDs  []string  `json:"c,omitempty"` // CLIENT: themself; ASSISTANT: delegating clients
	ProviderID string    `json:"p,omitempty"`
	Lang       string    `json:"l,omitempty"`
	CSRF       string    `json:"x"`
	Expires    time.Time `json:"e"`
	// An OIDC sign-in in progress: state, PKCE verifier, nonce.
	OIDCState    string `json:"os,omitempty"`
	OIDCVerifier string `json:"ov,omitempty"`
	OIDCNonce    string `json:"on,omitempty"`
}

// SignedIn reports whether the session carries a usable token.
func (s *Session) SignedIn() bool { return s.Token != "" && time.Now().Before(s.Expires) }

// Store seals sessions into cookies with AES-256-GCM; the cookie name is the
// additional data, so a value cannot be moved to another cookie.
type Store struct {
	aead   cipher.AEAD
	secure bool
	ttl    time.Duration
}

// New makes a Store from a 32-byte key. secure sets the Secure attribute and
// the __Host- prefix (production over HTTPS); ttl bounds an anonymous session.
func New(key []byte, secure bool, ttl time.Duration) (*Store, error) {
	if len(key) != 32 {
		return nil, errors.New("session key must be 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Store{aead: aead, secure: secure, ttl: ttl}, nil
}

func (st *Store) name() string {
	if st.secure {
		return "__Host-" + CookieName
	}
	return CookieName
}

// Load returns the request's session, or a fresh anonymous one (with a new
// CSRF token) when there is none or it does not open.
func (st *Store) Load(r *http.Request) *Session {
	if c, err := r.Cookie(st.name()); err == nil {
		if s, err := st.open(c.Value); err == nil && time.Now().Before(s.Expires) {
			return s
		}
	}
	return st.Anonymous("")
}

// Anonymous is a new signed-out session keeping only the UI language.
func (st *Store) Anonymous(lang string) *Session {
	return &Session{Lang: lang, CSRF: RandomToken(), Expires: time.Now().Add(st.ttl)}
}

// Save writes s as the session cookie.
func (st *Store) Save(w http.ResponseWriter, s *Session) error {
	v, err := st.seal(s)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: st.name(), Value: v, Path: "/", HttpOnly: true, Secure: st.secure,
		SameSite: http.SameSiteLaxMode, Expires: s.Expires,
	})
	return nil
}

func (st *Store) seal(s *Session) (string, error) {
	plain, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, st.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := st.aead.Seal(nonce, nonce, plain, []byte(CookieName))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

func (st *Store) open(v string) (*Session, error) {
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil, err
	}
	n := st.aead.NonceSize()
	if len(raw) < n {
		return nil, errors.New("short session cookie")
	}
	plain, err := st.aead.Open(nil, raw[:n], raw[n:], []byte(CookieName))
	if err != nil {
		return nil, err
	}
	var s Session
	if err := json.Unmarshal(plain, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// CheckCSRF reports whether the form's token matches the session's
// (synchroniser token; compared in constant time).
func (s *Session) CheckCSRF(formToken string) bool {
	return s.CSRF != "" && subtle.ConstantTimeCompare([]byte(s.CSRF), []byte(formToken)) == 1
}

// RandomToken is 32 random bytes, URL-safe base64.
func RandomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
