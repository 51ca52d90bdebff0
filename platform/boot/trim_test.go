package boot_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/config"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/testkit"
)

// A service on Redis trims its own stream at start to POLKU_EVENTS_RETENTION,
// keeping what a consumer group has not acknowledged, and the worker ends
// cleanly with its context; with the retention at 0 the worker does nothing.
// (Which events a trim may remove is the store contract's TrimEvents test.)
func TestTrimEventsWorker(t *testing.T) {
	addr := testkit.StartRedis(t)
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	for _, tc := range []struct {
		retention string
		wantLeft  int64
	}{
		{"1ms", 1}, // the one pending event stays
		{"0s", 3},  // trimming off: the worker returns at once
	} {
		t.Run(tc.retention, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			p, err := boot.Start(ctx, redisEnv(t, addr, tc.retention), "polku-trimtest")
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			ns := "trimtest-" + tc.retention
			st := p.Stores.Namespace(ns, 1)
			for _, e := range []string{"a", "b", "c"} {
				if err := st.Commit(ctx, 0, (&store.Batch{}).Emit([]byte(e))); err != nil {
					t.Fatal(err)
				}
			}
			msgs, err := st.ReadGroup(ctx, "g", "c", 3, 0)
			if err != nil || len(msgs) != 3 {
				t.Fatalf("ReadGroup = %d, %v", len(msgs), err)
			}
			if err := st.Ack(ctx, "g", msgs[:2]...); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond) // every event is older than 1ms now
			key := streamKeyOf(t, rc, ns)

			done := make(chan error, 1)
			go func() { done <- p.TrimEvents(st)(ctx) }()
			stopped := false
			if tc.wantLeft == 3 {
				stopped = true
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("worker returned %v", err)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("with the retention at 0 the worker must return at once")
				}
			}
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				n, err := rc.XLen(ctx, key).Result()
				if err != nil {
					t.Fatal(err)
				}
				if n == tc.wantLeft {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("stream has %d events, want %d", n, tc.wantLeft)
				}
			}
			cancel()
			if stopped {
				return
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("worker returned %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("worker did not stop with its context")
			}
		})
	}
}

// redisEnv is a service binary's environment on the Redis at addr.
func redisEnv(t *testing.T, addr, retention string) *config.Env {
	t.Helper()
	dir := t.TempDir()
	issuer, err := auth.LoadOrCreateDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	pem := filepath.Join(dir, "public.pem")
	if err := os.WriteFile(pem, issuer.PublicKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return config.FromMap(map[string]string{"POLKU_STORE": "redis", "POLKU_REDIS_ADDRS": addr,
		"POLKU_JWT_PUBLIC_KEY_FILE": pem, "POLKU_EVENTS_RETENTION": retention})
}

// streamKeyOf finds the namespace's one stream key in Redis.
func streamKeyOf(t *testing.T, rc *redis.Client, namespace string) string {
	t.Helper()
	keys, err := rc.Keys(t.Context(), "*"+namespace+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if typ, _ := rc.Type(t.Context(), k).Result(); typ == "stream" {
			return k
		}
	}
	t.Fatalf("no stream for %s among %q", namespace, keys)
	return ""
}
