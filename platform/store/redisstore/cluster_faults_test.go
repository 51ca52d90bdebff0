//go:build faults

package redisstore_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/store/redisstore"
	"github.com/polku-hb/polku/platform/store/storetest"
	"github.com/polku-hb/polku/platform/testkit"
)

// TestFaultContractThreeMasterCluster runs the contract suite on a real
// three-master Redis Cluster. Each master owns a third of the slots, so a batch
// whose keys left its shard's hash tag would reach two nodes: the server answers
// CROSSSLOT (or MOVED) to the commit script and the suite fails. Passing it shows
// every atomic batch, stream read and claim stays in one slot.
func TestFaultContractThreeMasterCluster(t *testing.T) {
	nodes := testkit.StartRedisClusterOf(t, 3)
	seeds := make([]string, len(nodes))
	for i, n := range nodes {
		seeds[i] = n.Addr
	}
	newClient := func(t *testing.T) *redis.ClusterClient {
		client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: seeds})
		t.Cleanup(func() { _ = client.Close() })
		return client
	}
	storetest.Run(t, func(t *testing.T, namespace string, shards int) store.Store {
		return redisstore.New(newClient(t), namespace, shards)
	})

	// The suite is only a proof if its shards really were spread over the
	// masters: write one batch per shard of a 16-shard namespace and check that
	// every master ended up holding some of them.
	t.Run("ShardsSpreadOverMasters", func(t *testing.T) {
		s := redisstore.New(newClient(t), "spread", 16)
		for shard := range 16 {
			b := (&store.Batch{}).Create("doc", []byte("x")).IndexAdd("idx", "k", strconv.Itoa(shard)).Emit([]byte("e"))
			if err := s.Commit(context.Background(), shard, b); err != nil {
				t.Fatalf("commit shard %d: %v", shard, err)
			}
		}
		for _, n := range nodes {
			keys, err := n.Do("DBSIZE")
			if err != nil {
				t.Fatalf("DBSIZE %s: %v", n.Addr, err)
			}
			if k, _ := strconv.Atoi(keys); k == 0 {
				t.Errorf("master %s holds no keys: the shards did not spread over the cluster", n.Addr)
			}
		}
	})
}
