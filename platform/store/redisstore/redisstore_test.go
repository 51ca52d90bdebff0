package redisstore_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/store/redisstore"
	"github.com/polku-hb/polku/platform/store/storetest"
	"github.com/polku-hb/polku/platform/testkit"
)

// TestContract runs the suite on a standalone server: one script reads every
// shard, and blocking reads wait on one XREAD.
func TestContract(t *testing.T) {
	addr := testkit.StartRedis(t)
	storetest.Run(t, func(t *testing.T, namespace string, shards int) store.Store {
		client := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { _ = client.Close() })
		return redisstore.New(client, namespace, shards)
	})
}

// TestContractCluster runs the suite through a ClusterClient: shards are read one
// by one and blocking reads poll, and the server refuses any command or script
// whose keys are not all in one slot.
func TestContractCluster(t *testing.T) {
	addr := testkit.StartRedisCluster(t)
	storetest.Run(t, func(t *testing.T, namespace string, shards int) store.Store {
		client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{addr}})
		t.Cleanup(func() { _ = client.Close() })
		return redisstore.New(client, namespace, shards)
	})
}
