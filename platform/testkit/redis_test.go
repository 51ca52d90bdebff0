package testkit

import (
	"strings"
	"testing"
)

func TestStartRedis(t *testing.T) {
	addr := StartRedis(t)
	if reply, err := command(addr, "INFO", "persistence"); err != nil || !strings.Contains(reply, "aof_enabled:1") {
		t.Fatalf("INFO persistence = %q, %v; want AOF on", reply, err)
	}
}

func TestStartRedisCluster(t *testing.T) {
	addr := StartRedisCluster(t)
	if reply, err := command(addr, "CLUSTER", "INFO"); err != nil || !strings.Contains(reply, "cluster_slots_assigned:16384") {
		t.Fatalf("CLUSTER INFO = %q, %v; want every slot assigned", reply, err)
	}
}
