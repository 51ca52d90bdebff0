// Package ids makes resource ids: random, URL-safe, never derived from personal data.
package ids

import (
	"crypto/rand"
	"encoding/base32"
	"strings"

	"github.com/polku-hb/polku/platform/store"
)

var enc = base32.StdEncoding.WithPadding(base32.NoPadding)

// New returns a random 20-character id (100 random bits), lower case.
func New() string {
	var b [13]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return strings.ToLower(enc.EncodeToString(b[:]))[:20]
}

// NewInShard returns a random id that maps to the given shard (store.ShardOf).
// A service uses it when a new aggregate must live in the shard of a key it
// already knows (a uniqueness key, an idempotency key), so that one atomic batch
// can write both. It draws about `shards` ids on average.
func NewInShard(shard, shards int) string {
	for {
		id := New()
		if store.ShardOf(id, shards) == shard {
			return id
		}
	}
}
