package ids

import (
	"regexp"
	"testing"

	"github.com/polku-hb/polku/platform/store"
)

var idPattern = regexp.MustCompile(`^[a-z2-7]{20}$`)

func TestNewIsRandomAndURLSafe(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := New()
		if !idPattern.MatchString(id) {
			t.Fatalf("New() = %q; want 20 base32 characters", id)
		}
		if seen[id] {
			t.Fatalf("New() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestNewInShard(t *testing.T) {
	for _, shard := range []int{0, 5, 15} {
		id := NewInShard(shard, 16)
		if got := store.ShardOf(id, 16); got != shard {
			t.Errorf("ShardOf(NewInShard(%d)) = %d; want %d", shard, got, shard)
		}
	}
}
