package redisstore_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/store/redisstore"
	"github.com/polku-hb/polku/platform/store/storetest"
	"github.com/polku-hb/polku/platform/testkit"
)

// TestWaitReplicas: with WithWaitReplicas a commit returns only once the replica
// has the batch, and fails with ErrNotReplicated (applied on the primary,
// unconfirmed) while the replica is frozen; without the option the same commit
// succeeds without asking.
func TestWaitReplicas(t *testing.T) {
	primary := testkit.StartRedisServer(t, testkit.RedisOptions{})
	host, port, _ := net.SplitHostPort(primary.Addr)
	replica := testkit.StartRedisServer(t, testkit.RedisOptions{Args: []string{"--replicaof", host, port}})
	rc := redis.NewClient(&redis.Options{Addr: primary.Addr})
	t.Cleanup(func() { rc.Close() })
	replicaClient := redis.NewClient(&redis.Options{Addr: replica.Addr})
	t.Cleanup(func() { replicaClient.Close() })
	ctx := context.Background()
	// Wait for the replica to be connected: WAIT counts only connected replicas.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if n, err := rc.Do(ctx, "WAIT", 1, 100).Int(); err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("replica never connected")
		}
		time.Sleep(50 * time.Millisecond)
	}

	waiting := redisstore.New(rc, "wait", 1, redisstore.WithWaitReplicas(1, 300*time.Millisecond))
	plain := redisstore.New(rc, "wait", 1)
	if err := waiting.Commit(ctx, 0, (&store.Batch{}).Create("a", []byte("1"))); err != nil {
		t.Fatalf("commit with a live replica: %v", err)
	}
	// Right after Commit returns, the replica has the document.
	if v, err := replicaClient.HGet(ctx, "polku:{wait:0}:d:a", "d").Result(); err != nil || v != "1" {
		t.Fatalf("replica's copy right after Commit = %q, %v; want 1", v, err)
	}

	replica.Pause()
	start := time.Now()
	err := waiting.Commit(ctx, 0, (&store.Batch{}).Create("b", []byte("2")))
	if !errors.Is(err, redisstore.ErrNotReplicated) {
		t.Errorf("commit with a frozen replica = %v; want ErrNotReplicated", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("commit with a frozen replica took %v; want about the 300ms timeout", took)
	}
	// The batch itself was applied on the primary: the caller's retry finds it.
	if _, err := plain.Get(ctx, 0, "b"); err != nil {
		t.Errorf("the unconfirmed batch is not on the primary: %v", err)
	}
	if err := plain.Commit(ctx, 0, (&store.Batch{}).Create("c", []byte("3"))); err != nil {
		t.Errorf("commit without waiting, replica frozen: %v", err)
	}
	replica.Resume()
}

// TestContractWaitReplicas runs the contract suite with every commit waiting for
// a replica: conflicts, exists and events come back through the pipeline the
// same way.
func TestContractWaitReplicas(t *testing.T) {
	primary := testkit.StartRedisServer(t, testkit.RedisOptions{})
	host, port, _ := net.SplitHostPort(primary.Addr)
	testkit.StartRedisServer(t, testkit.RedisOptions{Args: []string{"--replicaof", host, port}})
	storetest.Run(t, func(t *testing.T, namespace string, shards int) store.Store {
		client := redis.NewClient(&redis.Options{Addr: primary.Addr})
		t.Cleanup(func() { _ = client.Close() })
		return redisstore.New(client, namespace, shards, redisstore.WithWaitReplicas(1, 5*time.Second))
	})
}
