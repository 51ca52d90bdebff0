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

func TestRedisServerKillRestartKeepsFsyncedWrites(t *testing.T) {
	r := StartRedisServer(t, RedisOptions{AppendFsync: "always"})
	if _, err := r.Do("SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	r.Kill()
	if ping(r.Addr) {
		t.Fatalf("redis still answers after Kill")
	}
	r.Restart()
	if got, err := r.Do("GET", "k"); err != nil || got != "v" {
		t.Fatalf("GET k after kill and restart = %q, %v; want v", got, err)
	}
}

func TestRedisServerPauseResume(t *testing.T) {
	r := StartRedisServer(t, RedisOptions{})
	r.Pause()
	if ping(r.Addr) {
		t.Fatalf("a paused redis answered PING")
	}
	r.Resume()
	if !ping(r.Addr) {
		t.Fatalf("a resumed redis does not answer PING")
	}
}

func TestStartRedisClusterOfThree(t *testing.T) {
	nodes := StartRedisClusterOf(t, 3)
	for _, n := range nodes {
		info, err := n.Do("CLUSTER", "INFO")
		if err != nil || !strings.Contains(info, "cluster_slots_assigned:16384") || !strings.Contains(info, "cluster_size:3") {
			t.Fatalf("%s CLUSTER INFO = %q, %v; want 16384 slots over 3 masters", n.Addr, info, err)
		}
	}
}

func TestStartRedisSentinel(t *testing.T) {
	s := StartRedisSentinel(t)
	if info, err := s.Replica.Do("INFO", "replication"); err != nil || !strings.Contains(info, "role:slave") {
		t.Fatalf("replica INFO replication = %q, %v", info, err)
	}
	if got, err := s.Sentinels[0].Do("SENTINEL", "CKQUORUM", s.MasterName); err != nil || !strings.Contains(got, "3 usable") {
		t.Fatalf("SENTINEL CKQUORUM = %q, %v", got, err)
	}
}
