package testkit

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// StartRedisClusterOf starts a Redis Cluster of masters nodes on loopback (no
// replicas): cluster-enabled redis-servers that split the 16384 slots into equal
// contiguous ranges and have met each other. It returns once every node reports
// cluster_state:ok and knows every other node. A ClusterClient seeded with any
// of the addresses reaches them all.
func StartRedisClusterOf(t testing.TB, masters int) []*RedisServer {
	t.Helper()
	if masters < 1 {
		t.Fatalf("testkit: a cluster needs at least one master, not %d", masters)
	}
	nodes := make([]*RedisServer, masters)
	for i := range nodes {
		nodes[i] = StartRedisServer(t, RedisOptions{Cluster: true})
	}
	const slots = 16384
	for i, n := range nodes {
		lo, hi := i*slots/masters, (i+1)*slots/masters-1
		if _, err := n.Do("CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(lo), strconv.Itoa(hi)); err != nil {
			t.Fatalf("testkit: assign slots %d-%d to %s: %v", lo, hi, n.Addr, err)
		}
	}
	for _, n := range nodes[1:] {
		host, port, _ := net.SplitHostPort(n.Addr)
		if _, err := nodes[0].Do("CLUSTER", "MEET", host, port); err != nil {
			t.Fatalf("testkit: cluster meet %s: %v", n.Addr, err)
		}
	}
	want := "cluster_known_nodes:" + strconv.Itoa(masters)
	deadline := time.Now().Add(30 * time.Second)
	for _, n := range nodes {
		for {
			info, err := n.Do("CLUSTER", "INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("testkit: cluster node %s not ok: %q, %v", n.Addr, info, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nodes
}
