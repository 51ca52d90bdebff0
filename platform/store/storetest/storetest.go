// Package storetest is the contract suite every store.Store adapter must pass.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polku-hb/polku/platform/store"
)

// Run runs the contract suite against an adapter. open returns the adapter's store
// of a namespace with the given shard count. Every call names a namespace not used
// before in this Run, so an adapter test may share one server or file between calls.
func Run(t *testing.T, open func(t *testing.T, namespace string, shards int) store.Store) {
	var seq atomic.Int64
	// newStore opens a store under a namespace unique to this Run.
	newStore := func(t *testing.T, shards int) store.Store {
		t.Helper()
		ns := fmt.Sprintf("storetest-%d", seq.Add(1))
		s := open(t, ns, shards)
		if s.Namespace() != ns || s.Shards() != shards {
			t.Fatalf("opened (%q, %d), store says (%q, %d)", ns, shards, s.Namespace(), s.Shards())
		}
		return s
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, newStore func(t *testing.T, shards int) store.Store)
	}{
		{"Ping", testPing},
		{"CreateGet", testCreateGet},
		{"CreateExisting", testCreateExisting},
		{"CompareAndSet", testCompareAndSet},
		{"Atomicity", testAtomicity},
		{"GetMany", testGetMany},
		{"BadShard", testBadShard},
		{"IndexAddRemove", testIndexAddRemove},
		{"IndexSortKeyWithNUL", testIndexSortKeyWithNUL},
		{"ScanShardsAndMerge", testScanShardsAndMerge},
		{"ScanPrefix", testScanPrefix},
		{"ScanPaging", testScanPaging},
		{"NamespacesIsolated", testNamespacesIsolated},
		{"EventsOnlyFromCommits", testEventsOnlyFromCommits},
		{"ReadGroupOncePerGroup", testReadGroupOncePerGroup},
		{"TwoGroups", testTwoGroups},
		{"ConsumersSplit", testConsumersSplit},
		{"Claim", testClaim},
		{"BlockingReadWakes", testBlockingReadWakes},
		{"BlockTimeout", testBlockTimeout},
		{"CancelEndsBlockingRead", testCancelEndsBlockingRead},
		{"ConcurrentCAS", testConcurrentCAS},
		{"TrimEvents", testTrimEvents},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore) })
	}
}

// --- helpers ---

func commit(t *testing.T, s store.Store, shard int, b *store.Batch) {
	t.Helper()
	if err := s.Commit(t.Context(), shard, b); err != nil {
		t.Fatalf("commit on shard %d: %v", shard, err)
	}
}

// wantDoc asserts the document's state; version 0 means it must not exist.
func wantDoc(t *testing.T, s store.Store, shard int, key string, version int64, value string) {
	t.Helper()
	doc, err := s.Get(t.Context(), shard, key)
	if version == 0 {
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get(%q) = %+v, %v; want ErrNotFound", key, doc, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if doc.Key != key || doc.Version != version || string(doc.Value) != value {
		t.Fatalf("Get(%q) = {%q v%d %q}; want {%q v%d %q}", key, doc.Key, doc.Version, doc.Value, key, version, value)
	}
}

func scan(t *testing.T, s store.Store, shard int, index string, q store.IndexQuery) []store.IndexEntry {
	t.Helper()
	got, err := s.Scan(t.Context(), shard, index, q)
	if err != nil {
		t.Fatalf("Scan(%d, %q, %+v): %v", shard, index, q, err)
	}
	return got
}

func wantEntries(t *testing.T, what string, got, want []store.IndexEntry) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func sortEntries(es []store.IndexEntry, reverse bool) {
	slices.SortFunc(es, func(a, b store.IndexEntry) int {
		c := strings.Compare(a.SortKey, b.SortKey)
		if c == 0 {
			c = strings.Compare(a.ID, b.ID)
		}
		if reverse {
			c = -c
		}
		return c
	})
}

// addEntries commits each entry to index on the shard of its ID, one batch per shard.
func addEntries(t *testing.T, s store.Store, index string, entries []store.IndexEntry) {
	t.Helper()
	batches := make(map[int]*store.Batch)
	for _, e := range entries {
		sh := store.ShardOf(e.ID, s.Shards())
		if batches[sh] == nil {
			batches[sh] = &store.Batch{}
		}
		batches[sh].IndexAdd(index, e.SortKey, e.ID)
	}
	for sh, b := range batches {
		commit(t, s, sh, b)
	}
}

func read(t *testing.T, s store.Store, group, consumer string, count int) []store.Message {
	t.Helper()
	msgs, err := s.ReadGroup(t.Context(), group, consumer, count, 0)
	if err != nil {
		t.Fatalf("ReadGroup(%q, %q): %v", group, consumer, err)
	}
	if len(msgs) > count {
		t.Fatalf("ReadGroup(count %d) returned %d messages", count, len(msgs))
	}
	return msgs
}

// readAll reads until the group has nothing new for the consumer.
func readAll(t *testing.T, s store.Store, group, consumer string) []store.Message {
	t.Helper()
	var all []store.Message
	for {
		msgs := read(t, s, group, consumer, 100)
		if len(msgs) == 0 {
			return all
		}
		all = append(all, msgs...)
	}
}

func payloads(msgs []store.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Payload)
	}
	return out
}

// wantPayloads asserts that msgs carry exactly want (any order across shards),
// each once, and that every message's ID is unique in its shard.
func wantPayloads(t *testing.T, msgs []store.Message, want ...string) {
	t.Helper()
	got := payloads(msgs)
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("payloads:\n got %q\nwant %q", got, want)
	}
	seen := make(map[string]bool)
	for _, m := range msgs {
		id := strconv.Itoa(m.Shard) + "/" + m.ID
		if seen[id] {
			t.Fatalf("message %s delivered twice", id)
		}
		seen[id] = true
	}
}

// emit commits one event per payload, each on the shard ShardOf(payload) picks.
func emit(t *testing.T, s store.Store, payloads ...string) {
	t.Helper()
	for _, p := range payloads {
		commit(t, s, store.ShardOf(p, s.Shards()), (&store.Batch{}).Emit([]byte(p)))
	}
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%02d", prefix, i)
	}
	return out
}

// --- documents ---

func testPing(t *testing.T, newStore func(*testing.T, int) store.Store) {
	if err := newStore(t, 1).Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testCreateGet(t *testing.T, newStore func(*testing.T, int) store.Store) {
	s := newStore(t, 2)
	commit(t, s, 0, (&store.Batch{}).Create("k", []byte("hello")))
	wantDoc(t, s, 0, "k", 1, "hello")
	wantDoc(t, s, 0, "other", 0, "")
	// Shards are separate key spaces.
	wantDoc(t, s, 1, "k", 0, "")
}

func testCreateExisting(t *testing.T, newStore func(*testing.T, int) store.Store) {
	s := newStore(t, 1)
	commit(t, s, 0, (&store.Batch{}).Create("k", []byte("first")))
	err := s.Commit(t.Context(), 0, (&store.Batch{}).Create("k", []byte("second")))
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("second Create: %v; want ErrExists", err)
	}
	wantDoc(t, s, 0, "k", 1, "first")
}

func testCompareAndSet(t *testing.T, newStore func(*testing.T, int) store.Store) {
	type doc struct {
		version int64 // 0 = absent
		value   string
	}
	// Every case starts from k = {v1 "a"}; "n" and "missing" do not exist.
	cases := []struct {
		name    string
		batch   *store.Batch
		wantErr error
		want    map[string]doc
	}{
		{"put at current version", (&store.Batch{}).Put("k", []byte("b"), 1), nil,
			map[string]doc{"k": {2, "b"}}},
		{"put at stale version", (&store.Batch{}).Put("k", []byte("b"), 2), store.ErrConflict,
			map[string]doc{"k": {1, "a"}}},
		{"put of missing doc", (&store.Batch{}).Put("missing", []byte("b"), 1), store.ErrConflict,
			map[string]doc{"missing": {}}},
		{"put twice in one batch", (&store.Batch{}).Put("k", []byte("b"), 1).Put("k", []byte("c"), 2), nil,
			map[string]doc{"k": {3, "c"}}},
		{"delete at current version", (&store.Batch{}).Delete("k", 1), nil,
			map[string]doc{"k": {}}},
		{"delete at stale version", (&store.Batch{}).Delete("k", 2), store.ErrConflict,
			map[string]doc{"k": {1, "a"}}},
		{"delete of missing doc", (&store.Batch{}).Delete("missing", 1), store.ErrConflict,
			map[string]doc{"missing": {}}},
		{"check absent doc is absent", (&store.Batch{}).Check("missing", 0).Create("n", []byte("x")), nil,
			map[string]doc{"n": {1, "x"}}},
		{"check absent but exists", (&store.Batch{}).Check("k", 0).Create("n", []byte("x")), store.ErrConflict,
			map[string]doc{"k": {1, "a"}, "n": {}}},
		{"check current version", (&store.Batch{}).Check("k", 1).Create("n", []byte("x")), nil,
			map[string]doc{"k": {1, "a"}, "n": {1, "x"}}},
		{"check wrong version", (&store.Batch{}).Check("k", 5).Create("n", []byte("x")), store.ErrConflict,
			map[string]doc{"k": {1, "a"}, "n": {}}},
		{"check missing at a version", (&store.Batch{}).Check("missing", 1), store.ErrConflict,
			map[string]doc{"missing": {}}},
		{"create then put in one batch", (&store.Batch{}).Create("n", []byte("x")).Put("n", []byte("y"), 1), nil,
			map[string]doc{"n": {2, "y"}}},
		{"create twice in one batch", (&store.Batch{}).Create("n", []byte("x")).Create("n", []byte("y")), store.ErrExists,
			map[string]doc{"n": {}}},
		{"delete then create in one batch", (&store.Batch{}).Delete("k", 1).Create("k", []byte("z")), nil,
			map[string]doc{"k": {1, "z"}}},
		{"empty value", (&store.Batch{}).Create("n", nil), nil,
			map[string]doc{"n": {1, ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, 1)
			commit(t, s, 0, (&store.Batch{}).Create("k", []byte("a")))
			err := s.Commit(t.Context(), 0, tc.batch)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Commit: %v; want %v", err, tc.wantErr)
			}
			for key, d := range tc.want {
				wantDoc(t, s, 0, key, d.version, d.value)
			}
		})
	}
}

func testAtomicity(t *testing.T, newStore func(*testing.T, int) store.Store) {
	// Each batch writes documents, index entries and events, and has exactly one
	// failing precondition somewhere; none of its effects may show.
	cases := []struct {
		name    string
		fail    func(b *store.Batch)
		first   bool // put the failing op before the writes
		wantErr error
	}{
		{"failing check first", func(b *store.Batch) { b.Check("k", 7) }, true, store.ErrConflict},
		{"stale put last", func(b *store.Batch) { b.Put("k", []byte("x"), 9) }, false, store.ErrConflict},
		// The batch has put k to version 2 by then, so 1 is stale.
		{"stale delete last", func(b *store.Batch) { b.Delete("k", 1) }, false, store.ErrConflict},
		{"create of existing last", func(b *store.Batch) { b.Create("k", []byte("x")) }, false, store.ErrExists},
		{"check absent of existing last", func(b *store.Batch) { b.Check("k", 0) }, false, store.ErrConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, 2)
			commit(t, s, 1, (&store.Batch{}).Create("k", []byte("a")).IndexAdd("idx", "s0", "pre"))
			b := &store.Batch{}
			if tc.first {
				tc.fail(b)
			}
			b.Create("new1", []byte("1")).Put("k", []byte("b"), 1).Create("new2", []byte("2")).
				IndexAdd("idx", "s1", "new1").IndexRemove("idx", "s0", "pre").IndexAdd("other", "s", "x").
				Emit([]byte("e1")).Emit([]byte("e2"))
			if !tc.first {
				tc.fail(b)
			}
			if err := s.Commit(t.Context(), 1, b); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Commit: %v; want %v", err, tc.wantErr)
			}
			wantDoc(t, s, 1, "k", 1, "a")
			wantDoc(t, s, 1, "new1", 0, "")
			wantDoc(t, s, 1, "new2", 0, "")
			pre := []store.IndexEntry{{SortKey: "s0", ID: "pre"}}
			wantEntries(t, "idx", scan(t, s, store.AllShards, "idx", store.IndexQuery{}), pre)
			wantEntries(t, "other", scan(t, s, store.AllShards, "other", store.IndexQuery{}), nil)
			wantPayloads(t, readAll(t, s, "g", "c"))
		})
	}
}

func testGetMany(t *testing.T, newStore func(*testing.T, int) store.Store) {
	s := newStore(t, 2)
	commit(t, s, 1, (&store.Batch{}).Create("a", []byte("A")).Create("c", []byte("C")))
	commit(t, s, 1, (&store.Batch{}).Put("c", []byte("C2"), 1))
	docs, err := s.GetMany(t.Context(), 1, "a", "b", "c", "b")
	if err != nil {
		t.Fatalf("GetMany: %v", err)
	}
	want := []store.Doc{
		{Key: "a", Value: []byte("A"), Version: 1},
		{Key: "b"},
		{Key: "c", Value: []byte("C2"), Version: 2},
		{Key: "b"},
	}
	if len(docs) != len(want) {
		t.Fatalf("GetMany returned %d docs; want %d", len(docs), len(want))
	}
	for i, d := range docs {
		w := want[i]
		if d.Key != w.Key || d.Version != w.Version || string(d.Value) != string(w.Value) {
			t.Errorf("doc %d = {%q v%d %q}; want {%q v%d %q}", i, d.Key, d.Version, d.Value, w.Key, w.Version, w.Value)
		}
		if w.Version == 0 && d.Value != nil {
			t.Errorf("missing doc %d has Value %q; want nil", i, d.Value)
		}
	}
	if docs, err := s.GetMany(t.Context(), 1); err != nil || len(docs) != 0 {
		t.Fatalf("GetMany() = %v, %v; want empty", docs, err)
	}
}

func testBadShard(t *testing.T, newStore func(*testing.T, int) store.Store) {
	s := newStore(t, 3)
	ctx := t.Context()
	calls := map[string]func() error{
		"Get -1":       func() error { _, err := s.Get(ctx, -1, "k"); return err },
		"Get 3":        func() error { _, err := s.Get(ctx, 3, "k"); return err },
		"GetMany 3":    func() error { _, err := s.GetMany(ctx, 3, "k"); return err },
		"Commit -1":    func() error { return s.Commit(ctx, store.AllShards, (&store.Batch{}).Create("k", nil)) },
		"Commit 3":     func() error { return s.Commit(ctx, 3, (&store.Batch{}).Create("k", nil)) },
		"Scan -2":      func() error { _, err := s.Scan(ctx, -2, "idx", store.IndexQuery{}); return err },
		"Scan 3":       func() error { _, err := s.Scan(ctx, 3, "idx", store.IndexQuery{}); return err },
		"Ack shard 3":  func() error { return s.Ack(ctx, "g", store.Message{ID: "1", Shard: 3}) },
		"Ack shard -1": func() error { return s.Ack(ctx, "g", store.Message{ID: "1", Shard: -1}) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, store.ErrBadShard) {
			t.Errorf("%s: %v; want ErrBadShard", name, err)
		}
	}
}

// --- indexes ---

func testIndexAddRemove(t *testing.T, newStore func(*testing.T, int) store.Store) {
	s := newStore(t, 1)
	all := func() []store.IndexEntry { return scan(t, s, 0, "idx", store.IndexQuery{}) }
	e := func(sortKey, id string) store.IndexEntry { return store.IndexEntry{SortKey: sortKey, ID: id} }

	commit(t, s, 0, (&store.Batch{}).IndexAdd("idx", "s1", "a").IndexAdd("idx", "s1", "a"))
	commit(t, s, 0, (&store.Batch{}).IndexAdd("idx", "s1", "a"))
	wantEntries(t, "after adding one entry three times", all(), []store.IndexEntry{e("s1", "a")})

	// Order is by sort key, then ID; another index is separate.
	commit(t, s, 0, (&store.Batch{}).IndexAdd("idx", "s0", "z").IndexAdd("idx", "s1", "0").
		IndexAdd("idx", "", "first").IndexAdd("other", "s1", "o"))
	wantEntries(t, "ordered", all(), []store.IndexEntry{e("", "first"), e("s0", "z"), e("s1", "0"), e("s1", "a")})

	commit(t, s, 0, (&store.Batch{}).IndexRemove("idx", "s9", "nope").IndexRemove("idx", "s1", "zz"))
	commit(t, s, 0, (&store.Batch{}).IndexRemove("idx", "s1", "a").IndexRemove("idx", "s1", "a"))
	wantEntries(t, "after removes", all(), []store.IndexEntry{e("", "first"), e("s0", "z"), e("s1", "0")})
	wantEntries(t, "other index", scan(t, s, 0, "other", store.IndexQuery{}), []store.IndexEntry{e("s1", "o")})
	wantEntries(t, "unknown index", scan(t, s, 0, "unknown", store.IndexQuery{}), nil)

	// Add and remove of one entry in one batch: the last op wins.
	commit(t, s, 0, (&store.Batch{}).IndexAdd("idx", "s2", "t").IndexRemove("idx", "s2", "t"))
	commit(t, s, 0, (&store.Batch{}).IndexRemove("idx", "s0", "z").IndexAdd("idx", "s0", "z"))
	wantEntries(t, "after add+remove", all(), []store.IndexEntry{e("", "first"), e("s0", "z"), e("s1", "0")})
}

func testIndexSortKeyWithNUL(t *testing.T, newStore func(*testing.T, int) store.Store) {
	// A NUL in a sort key would break the (SortKey, ID) order; adapters refuse it.
	s := newStore(t, 1)
	err := s.Commit(t.Context(), 0, (&store.Batch{}).Create("k", nil).IndexAdd("idx", "a\x00b", "id"))
	if err == nil {
		t.Fatal("Commit with a NUL in a sort key succeeded")
	}
	wantDoc(t, s, 0, "k", 0, "")
	wantEntries(t, "idx", scan(t, s, 0, "idx", store.IndexQuery{}), nil)
}

func testScanShardsAndMerge(t *testing.T, newStore func(*testing.T, int) store.Store) {
	s := newStore(t, 4)
	var entries []store.IndexEntry
	for i := range 130 {
		entries = append(entries, store.IndexEntry{SortKey: fmt.Sprintf("t%03d", (i*37)%130), ID: fmt.Sprintf("id%03d", i)})
	}
	addEntries(t, s, "idx", entries)

	perShard := make(map[int][]store.IndexEntry)
	for _, e := range entries {
		sh := store.ShardOf(e.ID, 4)
		perShard[sh] = append(perShard[sh], e)
	}
	for sh := range 4 {
		want := slices.Clone(perShard[sh])
		sortEntries(want, false)
		wantEntries(t, fmt.Sprintf("shard %d", sh), scan(t, s, sh, "idx", store.IndexQuery{Limit: 1000}), want)
		sortEntries(want, true)
		wantEntries(t, fmt.Sprintf("shard %d reversed", sh), scan(t, s, sh, "idx", store.IndexQuery{Limit: 1000, Reverse: true}), want)
	}

	sorted := slices.Clone(entries)
	sortEntries(sorted, false)
	reversed := slices.Clone(entries)
	sortEntries(reversed, true)
	cases := []struct {
		name string
		q    store.IndexQuery
		want []store.IndexEntry
	}{
		{"all shards", store.IndexQuery{Limit: 1000}, sorted},
		{"all shards reversed", store.IndexQuery{Limit: 1000, Reverse: true}, reversed},
		{"limit 5", store.IndexQuery{Limit: 5}, sorted[:5]},
		{"limit 5 reversed", store.IndexQuery{Limit: 5, Reverse: true}, reversed[:5]},
		{"default limit is 100", store.IndexQuery{}, sorted[:100]},
	}
	for _, tc := range cases {
		wantEntries(t, tc.name, scan(t, s, store.AllShards, "idx", tc.q), tc.want)
	}
}

func testScanPrefix(t *testing.T, newStore func(*testing.T, int) store.Store) {
	s := newStore(t, 3)
	var entries []store.IndexEntry
	for i, k := range []string{"a", "a/1", "a/2", "ab", "b", "x\xff", "x\xff\xff", "y", "a/2"} {
		entries = append(entries, store.IndexEntry{SortKey: k, ID: fmt.Sprintf("id%d", i)})
	}
	addEntries(t, s, "idx", entries)
	// matching returns the sorted entries whose sort key starts with prefix.
	matching := func(prefix string, reverse bool) []store.IndexEntry {
		var out []store.IndexEntry
		for _, e := range entries {
			if strings.HasPrefix(e.SortKey, prefix) {
				out = append(out, e)
			}
		}
		sortEntries(out, reverse)
		return out
	}
	for _, prefix := range []string{"", "a", "a/", "a/2", "ab", "b", "x\xff", "x\xff\xff", "\xff", "zz", "a\x00"} {
		for _, reverse := range []bool{false, true} {
			name := fmt.Sprintf("prefix %q reverse %v", prefix, reverse)
			want := matching(prefix, reverse)
			wantEntries(t, name, scan(t, s, store.AllShards, "idx", store.IndexQuery{Prefix: prefix, Reverse: reverse}), want)
			// Page by page (size 1), to exercise After together with Prefix.
			var paged []store.IndexEntry
			q := store.IndexQuery{Prefix: prefix, Reverse: reverse, Limit: 1}
			for range len(entries) + 1 {
				page := scan(t, s, store.AllShards, "idx", q)
				if len(page) == 0 {
					break
				}
				paged = append(paged, page...)
				q.After = page[len(page)-1]
			}
			wantEntries(t, name+" paged", paged, want)
		}
	}
	// A cursor outside the prefix range.
	wantEntries(t, "after below prefix",
		scan(t, s, store.AllShards, "idx", store.IndexQuery{Prefix: "a/", After: store.IndexEntry{SortKey: "0"}}),
		matching("a/", false))
	wantEntries(t, "after above prefix",
		scan(t, s, store.AllShards, "idx", store.IndexQuery{Prefix: "a/", After: store.IndexEntry{SortKey: "z"}}), nil)
	wantEntries(t, "after above prefix reversed",
		scan(t, s, store.AllShards, "idx", store.IndexQuery{Prefix: "a/", After: store.IndexEntry{SortKey: "z"}, Reverse: true}),
		matching("a/", true))
}

func testScanPaging(t *testing.T, newStore func(*testing.T, int) store.Store) {
	const shards, pageSize = 8, 7
	s := newStore(t, shards)
	var entries []store.IndexEntry
	for i := range 250 {
		// Three entries share each sort key, so the ID breaks ties across pages.
		entries = append(entries, store.IndexEntry{SortKey: fmt.Sprintf("k%03d", i/3), ID: fmt.Sprintf("id%03d", i)})
	}
	addEntries(t, s, "idx", entries)

	// walk pages through one shard or all of them and returns what it saw.
	walk := func(t *testing.T, shard int, q store.IndexQuery) []store.IndexEntry {
		var seen []store.IndexEntry
		q.Limit = pageSize
		for range len(entries) + 1 {
			page := scan(t, s, shard, "idx", q)
			if len(page) > pageSize {
				t.Fatalf("page of %d entries; limit %d", len(page), pageSize)
			}
			seen = append(seen, page...)
			if len(page) < pageSize {
				return seen
			}
			q.After = page[len(page)-1]
		}
		t.Fatal("paging did not end")
		return nil
	}
	for _, prefix := range []string{"", "k05"} {
		for _, reverse := range []bool{false, true} {
			t.Run(fmt.Sprintf("prefix=%q reverse=%v", prefix, reverse), func(t *testing.T) {
				var want []store.IndexEntry
				perShard := make([][]store.IndexEntry, shards)
				for _, e := range entries {
					if strings.HasPrefix(e.SortKey, prefix) {
						want = append(want, e)
						sh := store.ShardOf(e.ID, shards)
						perShard[sh] = append(perShard[sh], e)
					}
				}
				sortEntries(want, reverse)
				q := store.IndexQuery{Prefix: prefix, Reverse: reverse}
				wantEntries(t, "all shards", walk(t, store.AllShards, q), want)
				for sh := range shards {
					sortEntries(perShard[sh], reverse)
					wantEntries(t, fmt.Sprintf("shard %d", sh), walk(t, sh, q), perShard[sh])
				}
			})
		}
	}
}

func testNamespacesIsolated(t *testing.T, newStore func(*testing.T, int) store.Store) {
	a, b := newStore(t, 2), newStore(t, 2)
	commit(t, a, 0, (&store.Batch{}).Create("k", []byte("a")).IndexAdd("idx", "s", "k").Emit([]byte("from a")))
	wantDoc(t, b, 0, "k", 0, "")
	wantEntries(t, "other namespace's index", scan(t, b, store.AllShards, "idx", store.IndexQuery{}), nil)
	wantPayloads(t, readAll(t, b, "g", "c"))
	commit(t, b, 0, (&store.Batch{}).Create("k", []byte("b")))
	wantDoc(t, a, 0, "k", 1, "a")
	wantPayloads(t, readAll(t, a, "g", "c"), "from a")
}

// --- events ---

func testEventsOnlyFromCommits(t *testing.T, newStore func(*testing.T, int) store.Store) {
	s := newStore(t, 2)
	commit(t, s, 0, (&store.Batch{}).Create("k", []byte("a")).Emit([]byte("e1")).Emit([]byte("e2")))
	err := s.Commit(t.Context(), 0, (&store.Batch{}).Put("k", []byte("b"), 5).Emit([]byte("lost")))
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale Commit: %v; want ErrConflict", err)
	}
	commit(t, s, 1, (&store.Batch{}).Emit([]byte("e3")))
	commit(t, s, 0, (&store.Batch{}).Emit([]byte("e4")))

	msgs := readAll(t, s, "g", "c")
	wantPayloads(t, msgs, "e1", "e2", "e3", "e4")
	// Within a shard, messages come in commit order with increasing IDs.
	var shard0 []store.Message
	for _, m := range msgs {
		if want := map[string]int{"e1": 0, "e2": 0, "e3": 1, "e4": 0}[string(m.Payload)]; m.Shard != want {
			t.Errorf("%s on shard %d; want %d", m.Payload, m.Shard, want)
		}
		if m.Shard == 0 {
			shard0 = append(shard0, m)
		}
	}
	if got := payloads(shard0); !slices.Equal(got, []string{"e1", "e2", "e4"}) {
		t.Errorf("shard 0 order %q; want e1 e2 e4", got)
	}
}

func testReadGroupOncePerGroup(t *testing.T, newStore func(*testing.T, int) store.Store) {
	s := newStore(t, 3)
	events := names("ev", 10)
	emit(t, s, events...)

	var got []store.Message
	for {
		msgs := read(t, s, "g", "c", 3)
		if len(msgs) == 0 {
			break
		}
		got = append(got, msgs...)
	}
	wantPayloads(t, got, events...)
	if msgs := read(t, s, "g", "c", 100); len(msgs) != 0 {
		t.Fatalf("read again: %q; want nothing", payloads(msgs))
	}
	// Even unacknowledged messages are not delivered as new again.
	emit(t, s, "late")
	wantPayloads(t, readAll(t, s, "g", "other"), "late")
	if err := s.Ack(t.Context(), "g", got...); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if err := s.Ack(t.Context(), "g"); err != nil {
		t.Fatalf("Ack of nothing: %v", err)
	}
	if msgs := read(t, s, "g", "c", 100); len(msgs) != 0 {
		t.Fatalf("read after ack: %q; want nothing", payloads(msgs))
	}
}

func testTwoGroups(t *testing.T, newStore func(*testing.T, int) store.Store) {
	s := newStore(t, 4)
	events := names("ev", 12)
	emit(t, s, events...)
	a := readAll(t, s, "group-a", "c")
	b := readAll(t, s, "group-b", "c")
	wantPayloads(t, a, events...)
	wantPayloads(t, b, events...)
}

func testConsumersSplit(t *testing.T, newStore func(*testing.T, int) store.Store) {
	s := newStore(t, 4)
	events := names("ev", 20)
	emit(t, s, events...)
	var all []store.Message
	got := map[string]int{}
	for done := 0; done < 2; {
		done = 0
		for _, c := range []string{"c1", "c2"} {
			msgs := read(t, s, "g", c, 3)
			got[c] += len(msgs)
			all = append(all, msgs...)
			if len(msgs) == 0 {
				done++
			}
		}
	}
	wantPayloads(t, all, events...)
	if got["c1"] == 0 || got["c2"] == 0 {
		t.Fatalf("split %v; want both consumers to get messages", got)
	}
}

func testClaim(t *testing.T, newStore func(*testing.T, int) store.Store) {
	const minIdle = 300 * time.Millisecond
	s := newStore(t, 3)
	ctx := t.Context()
	claim := func(consumer string, count int) []store.Message {
		t.Helper()
		msgs, err := s.Claim(ctx, "g", consumer, minIdle, count)
		if err != nil {
			t.Fatalf("Claim: %v", err)
		}
		return msgs
	}

	if msgs := claim("c2", 10); len(msgs) != 0 {
		t.Fatalf("Claim on a new group: %q", payloads(msgs))
	}
	emit(t, s, "m1", "m2", "m3", "m4")
	taken := readAll(t, s, "g", "c1")
	wantPayloads(t, taken, "m1", "m2", "m3", "m4")
	var acked []store.Message
	for _, m := range taken {
		if string(m.Payload) == "m1" {
			acked = append(acked, m)
		}
	}
	if err := s.Ack(ctx, "g", acked...); err != nil {
		t.Fatalf("Ack: %v", err)
	}

	if msgs := claim("c2", 10); len(msgs) != 0 {
		t.Fatalf("Claim before minIdle: %q; want nothing", payloads(msgs))
	}
	time.Sleep(minIdle + 100*time.Millisecond)
	first := claim("c2", 1)
	rest := claim("c2", 10)
	if len(first) != 1 {
		t.Fatalf("Claim(count 1) = %q; want one message", payloads(first))
	}
	claimed := append(first, rest...)
	wantPayloads(t, claimed, "m2", "m3", "m4")
	// Claiming restarts the idle clock, and claimed messages are not new.
	if msgs := claim("c3", 10); len(msgs) != 0 {
		t.Fatalf("Claim right after a claim: %q; want nothing", payloads(msgs))
	}
	if msgs := readAll(t, s, "g", "c3"); len(msgs) != 0 {
		t.Fatalf("ReadGroup after claim: %q; want nothing", payloads(msgs))
	}
	if err := s.Ack(ctx, "g", claimed...); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	time.Sleep(minIdle + 100*time.Millisecond)
	if msgs := claim("c3", 10); len(msgs) != 0 {
		t.Fatalf("Claim after ack: %q; want nothing", payloads(msgs))
	}
}

func testBlockingReadWakes(t *testing.T, newStore func(*testing.T, int) store.Store) {
	s := newStore(t, 4)
	// Create the group and drain it first, so the read below really blocks.
	emit(t, s, "old")
	wantPayloads(t, readAll(t, s, "g", "c"), "old")

	var wg sync.WaitGroup
	wg.Go(func() {
		time.Sleep(150 * time.Millisecond)
		if err := s.Commit(context.Background(), 3, (&store.Batch{}).Emit([]byte("new"))); err != nil {
			t.Errorf("Commit: %v", err)
		}
	})
	defer wg.Wait()
	start := time.Now()
	msgs, err := s.ReadGroup(t.Context(), "g", "c", 10, 20*time.Second)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("ReadGroup: %v", err)
	}
	wantPayloads(t, msgs, "new")
	if elapsed > 3*time.Second {
		t.Fatalf("blocking ReadGroup took %v to see a commit", elapsed)
	}

	// A group that has never read, on streams never written, blocks too.
	fresh := newStore(t, 4)
	wg.Go(func() {
		time.Sleep(150 * time.Millisecond)
		if err := fresh.Commit(context.Background(), 2, (&store.Batch{}).Emit([]byte("first"))); err != nil {
			t.Errorf("Commit: %v", err)
		}
	})
	msgs, err = fresh.ReadGroup(t.Context(), "g", "c", 10, 20*time.Second)
	if err != nil {
		t.Fatalf("ReadGroup: %v", err)
	}
	wantPayloads(t, msgs, "first")
}

func testBlockTimeout(t *testing.T, newStore func(*testing.T, int) store.Store) {
	s := newStore(t, 2)
	const block = 300 * time.Millisecond
	start := time.Now()
	msgs, err := s.ReadGroup(t.Context(), "g", "c", 10, block)
	elapsed := time.Since(start)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("ReadGroup = %q, %v; want nothing", payloads(msgs), err)
	}
	if elapsed < block-50*time.Millisecond || elapsed > block+2*time.Second {
		t.Fatalf("ReadGroup blocked %v; want about %v", elapsed, block)
	}
}

func testCancelEndsBlockingRead(t *testing.T, newStore func(*testing.T, int) store.Store) {
	s := newStore(t, 2)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(150*time.Millisecond, cancel)
	start := time.Now()
	msgs, err := s.ReadGroup(ctx, "g", "c", 10, 30*time.Second)
	elapsed := time.Since(start)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadGroup = %q, %v; want context.Canceled", payloads(msgs), err)
	}
	if elapsed > 2*time.Second {
		t.Fatalf("cancelled ReadGroup returned after %v", elapsed)
	}
}

// --- concurrency ---

func testConcurrentCAS(t *testing.T, newStore func(*testing.T, int) store.Store) {
	const workers = 32
	s := newStore(t, 2)
	commit(t, s, 1, (&store.Batch{}).Create("counter", []byte("0")))

	// increment is a read-modify-write that retries when it loses the race; each
	// win also emits an event, which must appear exactly once per win.
	increment := func(ctx context.Context, worker int) error {
		for {
			doc, err := s.Get(ctx, 1, "counter")
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(string(doc.Value))
			if err != nil {
				return err
			}
			b := (&store.Batch{}).Put("counter", []byte(strconv.Itoa(n+1)), doc.Version).
				Emit([]byte(fmt.Sprintf("worker%02d", worker)))
			err = s.Commit(ctx, 1, b)
			if !errors.Is(err, store.ErrConflict) {
				return err
			}
		}
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			if err := increment(t.Context(), w); err != nil {
				t.Errorf("worker %d: %v", w, err)
			}
		})
	}
	wg.Wait()
	wantDoc(t, s, 1, "counter", workers+1, strconv.Itoa(workers))
	wantPayloads(t, readAll(t, s, "g", "c"), names("worker", workers)...)
}

// --- trimming ---

// testTrimEvents: a trim removes only old events every group has acknowledged;
// a lagging group keeps its pending events and what it has not read yet, and
// a group created after the trim starts at the oldest event left. Stores that
// do not trim (store.Trimmer) skip it.
func testTrimEvents(t *testing.T, newStore func(*testing.T, int) store.Store) {
	s := newStore(t, 1)
	tr, ok := s.(store.Trimmer)
	if !ok {
		t.Skip("store does not trim its streams")
	}
	trim := func(before time.Time, want int64) {
		t.Helper()
		n, err := tr.TrimEvents(t.Context(), before)
		if err != nil {
			t.Fatalf("TrimEvents: %v", err)
		}
		if n != want {
			t.Fatalf("TrimEvents removed %d events, want %d", n, want)
		}
	}
	ack := func(group string, msgs []store.Message) {
		t.Helper()
		if err := s.Ack(t.Context(), group, msgs...); err != nil {
			t.Fatalf("Ack: %v", err)
		}
	}
	future := time.Now().Add(time.Hour)
	trim(future, 0) // no stream yet

	events := names("ev", 10)
	emit(t, s, events...)
	ack("fast", readAll(t, s, "fast", "c"))
	slow := read(t, s, "slow", "c", 5)
	ack("slow", slow[:3]) // ev03 and ev04 stay pending

	trim(time.Now().Add(-time.Hour), 0) // nothing is that old
	trim(future, 3)                     // ev00-ev02: acknowledged by both groups
	trim(future, 0)

	wantPayloads(t, readAll(t, s, "late", "c"), events[3:]...)
	ack("slow", slow[3:])
	wantPayloads(t, readAll(t, s, "slow", "c"), events[5:]...) // read, not acknowledged
	trim(future, 0)                                            // "late" still has ev03 pending

	// Every group acknowledges everything: the stream empties, and a new
	// event still reaches every group.
	for _, g := range []string{"fast", "slow", "late"} {
		if err := s.Ack(t.Context(), g, pendingOf(t, s, g)...); err != nil {
			t.Fatal(err)
		}
	}
	trim(future, 7)
	wantPayloads(t, readAll(t, s, "newest", "c"))
	emit(t, s, "ev10")
	for _, g := range []string{"fast", "slow", "late", "newest"} {
		wantPayloads(t, readAll(t, s, g, "c"), "ev10")
	}
}

// pendingOf claims back every message the group has pending, so the test can
// acknowledge them.
func pendingOf(t *testing.T, s store.Store, group string) []store.Message {
	t.Helper()
	msgs, err := s.Claim(t.Context(), group, "c", 0, 100)
	if err != nil {
		t.Fatalf("Claim(%q): %v", group, err)
	}
	return msgs
}
