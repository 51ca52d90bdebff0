package redisstore_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/store/redisstore"
	"github.com/polku-hb/polku/platform/testkit"
)

// TestBackupAndRestore is the procedure of docs/operations.md ("Backup and
// restore"), step by step with the same Redis commands: data written through the
// store is snapshotted with BGSAVE (waiting for LASTSAVE to move), dump.rdb is
// copied, a fresh redis-server started on the copy with AOF off serves the same
// documents, index entries and events, and turning AOF on afterwards (CONFIG SET
// appendonly yes) keeps them across a restart with AOF on.
func TestBackupAndRestore(t *testing.T) {
	ctx := context.Background()
	src := redis.NewClient(&redis.Options{Addr: testkit.StartRedis(t)})
	t.Cleanup(func() { _ = src.Close() })
	const ns, shards, n = "clients", 4, 200
	st := redisstore.New(src, ns, shards)
	for i := range n {
		id := fmt.Sprintf("c%03d", i)
		b := (&store.Batch{}).Create(id, []byte(`{"id":"`+id+`"}`)).IndexAdd("by-name", "name-"+id, id).Emit([]byte(`{"type":"created","id":"` + id + `"}`))
		if err := st.Commit(ctx, store.ShardOf(id, shards), b); err != nil {
			t.Fatal(err)
		}
	}
	// A second version of one document, to see versions survive.
	if err := st.Commit(ctx, store.ShardOf("c000", shards), (&store.Batch{}).Put("c000", []byte(`{"id":"c000","v":2}`), 1)); err != nil {
		t.Fatal(err)
	}

	// Backup step 1: BGSAVE, then wait until LASTSAVE moves and the save is ok.
	before, err := src.LastSave(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	// LASTSAVE has one-second resolution: make sure the new save lands later.
	time.Sleep(time.Until(time.Unix(before+1, 0)))
	if err := src.BgSave(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "LASTSAVE to move", func() bool {
		last, err := src.LastSave(ctx).Result()
		return err == nil && last > before
	})
	if info := src.Info(ctx, "persistence").Val(); !strings.Contains(info, "rdb_last_bgsave_status:ok") {
		t.Fatalf("BGSAVE failed:\n%s", info)
	}
	// Backup step 2: copy <dir>/<dbfilename> away.
	dir := configGet(t, src, "dir")
	file := configGet(t, src, "dbfilename")
	backup := filepath.Join(t.TempDir(), "polku-backup.rdb")
	copyFile(t, filepath.Join(dir, file), backup)

	// Written after the backup: must not be in the restore.
	if err := st.Commit(ctx, store.ShardOf("late", shards), (&store.Batch{}).Create("late", []byte("x"))); err != nil {
		t.Fatal(err)
	}

	// Restore step 1: an empty data directory with the copy as dump.rdb, and a
	// redis-server started with AOF off, so it loads the RDB file (with AOF on
	// and no AOF file it would start empty).
	restoreDir := t.TempDir()
	copyFile(t, backup, filepath.Join(restoreDir, "dump.rdb"))
	addr := startServer(t, restoreDir, "--dbfilename", "dump.rdb", "--appendonly", "no")
	dst := redis.NewClient(&redis.Options{Addr: addr})
	checkRestored(t, redisstore.New(dst, ns, shards), n, "after-rdb")

	// Restore step 2: turn AOF on; Redis writes the AOF from memory. Wait for
	// the rewrite, then restart with AOF on as production runs it.
	if err := dst.ConfigSet(ctx, "appendonly", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the AOF rewrite", func() bool {
		info := dst.Info(ctx, "persistence").Val()
		return strings.Contains(info, "aof_enabled:1") && strings.Contains(info, "aof_rewrite_in_progress:0") &&
			!strings.Contains(info, "aof_rewrite_scheduled:1") && strings.Contains(info, "aof_last_bgrewrite_status:ok")
	})
	_ = dst.Close()
	stopServer(t, addr)
	addr = startServer(t, restoreDir, "--dbfilename", "dump.rdb", "--appendonly", "yes")
	again := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = again.Close() })
	checkRestored(t, redisstore.New(again, ns, shards), n, "after-aof")
}

// checkRestored reads everything back through the store; the events with a new
// consumer group (a group's delivered events are not delivered again).
func checkRestored(t *testing.T, st *redisstore.Store, n int, group string) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		id := fmt.Sprintf("c%03d", i)
		d, err := st.Get(ctx, store.ShardOf(id, st.Shards()), id)
		if err != nil {
			t.Fatalf("Get %s after restore: %v", id, err)
		}
		wantV, wantBody := int64(1), `{"id":"`+id+`"}`
		if i == 0 {
			wantV, wantBody = 2, `{"id":"c000","v":2}`
		}
		if d.Version != wantV || string(d.Value) != wantBody {
			t.Fatalf("%s after restore = v%d %s; want v%d %s", id, d.Version, d.Value, wantV, wantBody)
		}
	}
	if _, err := st.Get(ctx, store.ShardOf("late", st.Shards()), "late"); err == nil {
		t.Error("a document written after the backup is in the restore")
	}
	entries, err := st.Scan(ctx, store.AllShards, "by-name", store.IndexQuery{Limit: n + 10})
	if err != nil || len(entries) != n {
		t.Fatalf("index after restore: %d entries, %v; want %d", len(entries), err, n)
	}
	events := 0
	for range 50 {
		msgs, err := st.ReadGroup(ctx, group, "t", 100, 0)
		if err != nil {
			t.Fatalf("ReadGroup after restore: %v", err)
		}
		if len(msgs) == 0 {
			break
		}
		events += len(msgs)
	}
	if events != n {
		t.Errorf("events after restore = %d; want %d", events, n)
	}
}

var servers = map[string]*exec.Cmd{}

// startServer runs redis-server on dir with extra arguments, as an operator
// would on the restore machine.
func startServer(t *testing.T, dir string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server: %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(lis.Addr().(*net.TCPAddr).Port)
	lis.Close()
	cmd := exec.Command(bin, append([]string{"--port", port, "--bind", "127.0.0.1", "--dir", dir, "--save", "",
		"--logfile", filepath.Join(dir, "redis-"+port+".log")}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + port
	servers[addr] = cmd
	t.Cleanup(func() { stopServer(t, addr) })
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	waitFor(t, "redis-server on the restored data", func() bool { return c.Ping(context.Background()).Err() == nil })
	return addr
}

func stopServer(t *testing.T, addr string) {
	t.Helper()
	cmd := servers[addr]
	if cmd == nil {
		return
	}
	delete(servers, addr)
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func configGet(t *testing.T, c *redis.Client, key string) string {
	t.Helper()
	v, err := c.ConfigGet(context.Background(), key).Result()
	if err != nil || v[key] == "" {
		t.Fatalf("CONFIG GET %s = %v, %v", key, v, err)
	}
	return v[key]
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
