// Package pagination turns store index cursors into opaque AIP-158 page tokens and
// applies the page-size rules every List method shares (default 50, max 500).
package pagination

import (
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/polku-hb/polku/platform/store"
)

const (
	// DefaultSize is the page size when the caller sends none.
	DefaultSize = 50
	// MaxSize is the largest page served; larger requests are clamped.
	MaxSize = 500
)

// ErrBadToken: the page token was not made by this service for this query.
var ErrBadToken = errors.New("page_token is not valid for this request")

// ErrNegativeSize: page_size below zero.
var ErrNegativeSize = errors.New("page_size must not be negative")

// Size applies the default and the maximum to a requested page size.
func Size(requested int32) (int, error) {
	switch {
	case requested < 0:
		return 0, ErrNegativeSize
	case requested == 0:
		return DefaultSize, nil
	case requested > MaxSize:
		return MaxSize, nil
	}
	return int(requested), nil
}

type token struct {
	S string `json:"s"`
	I string `json:"i"`
	Q string `json:"q,omitempty"`
}

// Encode makes the token of the page after entry. query binds the token to the
// request's filter and parent so a token is not replayed against another query.
func Encode(after store.IndexEntry, query string) string {
	b, _ := json.Marshal(token{S: after.SortKey, I: after.ID, Q: query})
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode reads a token made by Encode for the same query; "" is the first page.
func Decode(tok, query string) (store.IndexEntry, error) {
	if tok == "" {
		return store.IndexEntry{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return store.IndexEntry{}, ErrBadToken
	}
	var t token
	if err := json.Unmarshal(b, &t); err != nil || t.Q != query || t.I == "" {
		return store.IndexEntry{}, ErrBadToken
	}
	return store.IndexEntry{SortKey: t.S, ID: t.I}, nil
}
