package embedded_test

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/store/embedded"
	"github.com/polku-hb/polku/platform/store/storetest"
)

func open(t *testing.T, path string) *embedded.DB {
	t.Helper()
	db, err := embedded.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

func TestContract(t *testing.T) {
	// One file for the whole suite, as in the all-in-one binary.
	db := open(t, filepath.Join(t.TempDir(), "polku.db"))
	t.Cleanup(func() { _ = db.Close() })
	storetest.Run(t, func(t *testing.T, namespace string, shards int) store.Store {
		return db.Namespace(namespace, shards)
	})
}

func ids(msgs []store.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Payload)
	}
	slices.Sort(out)
	return out
}

func TestSurvivesReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "polku.db")
	db := open(t, path)
	s := db.Namespace("svc", 4)
	for i, ev := range []string{"e0", "e1", "e2", "e3", "e4", "e5"} {
		b := (&store.Batch{}).Emit([]byte(ev))
		if i == 0 {
			b.Create("doc", []byte("v1")).IndexAdd("idx", "s", "doc")
		}
		if err := s.Commit(ctx, store.ShardOf(ev, 4), b); err != nil {
			t.Fatalf("Commit: %v", err)
		}
	}
	taken, err := s.ReadGroup(ctx, "g", "c1", 4, 0)
	if err != nil || len(taken) != 4 {
		t.Fatalf("ReadGroup = %d messages, %v; want 4", len(taken), err)
	}
	if err := s.Ack(ctx, "g", taken[:2]...); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db = open(t, path)
	t.Cleanup(func() { _ = db.Close() })
	s = db.Namespace("svc", 4)
	doc, err := s.Get(ctx, store.ShardOf("e0", 4), "doc")
	if err != nil || string(doc.Value) != "v1" || doc.Version != 1 {
		t.Fatalf("Get after reopen = %+v, %v", doc, err)
	}
	entries, err := s.Scan(ctx, store.AllShards, "idx", store.IndexQuery{})
	if err != nil || len(entries) != 1 || entries[0].ID != "doc" {
		t.Fatalf("Scan after reopen = %v, %v", entries, err)
	}
	// The two delivered but unacknowledged messages are still pending...
	claimed, err := s.Claim(ctx, "g", "c2", 0, 100)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if got, want := ids(claimed), ids(taken[2:]); !slices.Equal(got, want) {
		t.Fatalf("claimed after reopen %q; want %q", got, want)
	}
	// ...and the group goes on after the four it delivered.
	rest, err := s.ReadGroup(ctx, "g", "c2", 100, 0)
	if err != nil || len(rest) != 2 {
		t.Fatalf("ReadGroup after reopen = %q, %v; want the 2 undelivered", ids(rest), err)
	}
	all := slices.Concat(taken, rest)
	if got := ids(all); !slices.Equal(got, []string{"e0", "e1", "e2", "e3", "e4", "e5"}) {
		t.Fatalf("delivered over both runs: %q", got)
	}
	// Sequences go on too: a new event sorts after the shard's old ones.
	shard := rest[0].Shard
	if err := s.Commit(ctx, shard, (&store.Batch{}).Emit([]byte("e6"))); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	newer, err := s.ReadGroup(ctx, "g", "c2", 100, 0)
	if err != nil || len(newer) != 1 {
		t.Fatalf("ReadGroup = %q, %v; want e6", ids(newer), err)
	}
	for _, m := range all {
		if m.Shard == shard && m.ID >= newer[0].ID {
			t.Fatalf("new message ID %s does not sort after old %s", newer[0].ID, m.ID)
		}
	}
}

func TestCloseEndsBlockingRead(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "polku.db"))
	s := db.Namespace("svc", 2)
	time.AfterFunc(150*time.Millisecond, func() { _ = db.Close() })
	start := time.Now()
	_, err := s.ReadGroup(t.Context(), "g", "c", 10, 30*time.Second)
	if !errors.Is(err, embedded.ErrClosed) {
		t.Fatalf("ReadGroup: %v; want ErrClosed", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Fatalf("ReadGroup returned %v after Close", elapsed)
	}
}
