package testkit

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisSentinel is a primary, one replica and three Sentinels watching them, all
// on loopback: the smallest setup in which a failover really happens.
type RedisSentinel struct {
	// MasterName is the name the Sentinels monitor the primary under.
	MasterName string
	// Primary is the server that is primary at start; Replica replicates it.
	Primary, Replica *RedisServer
	// Sentinels are the three Sentinel processes (quorum 2).
	Sentinels []*RedisServer
}

// SentinelAddrs are the Sentinels' host:port (POLKU_REDIS_ADDRS in a Sentinel
// deployment).
func (s *RedisSentinel) SentinelAddrs() []string {
	out := make([]string, len(s.Sentinels))
	for i, n := range s.Sentinels {
		out[i] = n.Addr
	}
	return out
}

// StartRedisSentinel starts a primary (AOF, appendfsync always), a replica of it
// and three Sentinels (quorum 2, the primary is down after 1s without answer,
// failover timeout 5s), and returns once the replica is in sync and every
// Sentinel sees the replica and the other two Sentinels.
func StartRedisSentinel(t testing.TB) *RedisSentinel {
	t.Helper()
	const name = "polku-test"
	primary := StartRedisServer(t, RedisOptions{AppendFsync: "always"})
	host, port, _ := net.SplitHostPort(primary.Addr)
	replica := StartRedisServer(t, RedisOptions{AppendFsync: "always", Args: []string{"--replicaof", host, port}})
	waitFor(t, 30*time.Second, "replica in sync", func() (bool, string) {
		info, err := replica.Do("INFO", "replication")
		return err == nil && strings.Contains(info, "master_link_status:up"), info
	})

	s := &RedisSentinel{MasterName: name, Primary: primary, Replica: replica}
	for range 3 {
		s.Sentinels = append(s.Sentinels, startSentinel(t, name, primary.Addr))
	}
	for _, sn := range s.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr})
		waitFor(t, 60*time.Second, "sentinel "+sn.Addr+" sees the replica and its peers", func() (bool, string) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			replicas, err := sc.Replicas(ctx, name).Result()
			if err != nil || len(replicas) != 1 {
				return false, fmt.Sprint(replicas, err)
			}
			quorum, err := sc.CkQuorum(ctx, name).Result()
			return err == nil && strings.Contains(quorum, "3 usable"), quorum
		})
		_ = sc.Close()
	}
	return s
}

func startSentinel(t testing.TB, name, primary string) *RedisServer {
	t.Helper()
	bin := redisBinary(t)
	dir := t.TempDir()
	host, pport, _ := net.SplitHostPort(primary)
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("testkit: find a free port: %v", err)
		}
		p := strconv.Itoa(port)
		conf := filepath.Join(dir, "sentinel-"+p+".conf")
		// Sentinel rewrites its config file as it learns; it must be writable.
		cfg := strings.Join([]string{
			"port " + p, "bind 127.0.0.1", "dir " + dir, "logfile " + filepath.Join(dir, "sentinel-"+p+".log"),
			"sentinel monitor " + name + " " + host + " " + pport + " 2",
			"sentinel down-after-milliseconds " + name + " 1000",
			"sentinel failover-timeout " + name + " 5000",
			"sentinel parallel-syncs " + name + " 1",
		}, "\n") + "\n"
		if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		r := &RedisServer{Addr: net.JoinHostPort("127.0.0.1", p), Dir: dir, t: t, bin: bin,
			args: []string{conf, "--sentinel"}, log: filepath.Join(dir, "sentinel-"+p+".log")}
		if err := r.start(); err == nil {
			t.Cleanup(r.Stop)
			return r
		}
	}
	t.Fatalf("testkit: redis sentinel did not start")
	return nil
}

// waitFor polls cond until it holds, or fails the test with its last detail.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testkit: %s: not after %v: %s", what, timeout, detail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
