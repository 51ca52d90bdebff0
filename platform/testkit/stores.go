package testkit

import (
	"path/filepath"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/store/embedded"
)

// EachBackend runs a test once on the embedded store (a file in a temp dir) and
// once on a real Redis (started by StartRedis), as subtests "embedded" and
// "redis". The test opens its namespaces from the Stores it is given; every
// namespace of one run shares the backend, as in a deployment.
func EachBackend(t *testing.T, run func(t *testing.T, s *boot.Stores)) {
	t.Run("embedded", func(t *testing.T) { run(t, EmbeddedBackend(t)) })
	t.Run("redis", func(t *testing.T) {
		rc := redis.NewClient(&redis.Options{Addr: StartRedis(t)})
		t.Cleanup(func() { rc.Close() })
		run(t, boot.RedisStores(rc))
	})
}

// EmbeddedBackend opens an embedded store file in a temp dir, closed when the
// test ends.
func EmbeddedBackend(t testing.TB) *boot.Stores {
	t.Helper()
	db, err := embedded.Open(filepath.Join(t.TempDir(), "polku.db"))
	if err != nil {
		t.Fatalf("open embedded store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return boot.EmbeddedStores(db)
}
