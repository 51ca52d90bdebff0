package embedded_test

import (
	"path/filepath"
	"testing"

	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/store/embedded"
)

// A bulk load keeps the contract of the store (compare-and-set, indexes) and,
// once synced and closed, reads back from a normally opened file.
func TestBulkLoadThenReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "polku.db")
	db, err := embedded.OpenBulkLoad(path)
	if err != nil {
		t.Fatal(err)
	}
	s := db.Namespace("svc", 2)
	b := &store.Batch{}
	for _, k := range []string{"a", "b", "c"} {
		b.Create("doc/"+k, []byte(k)).IndexAdd("idx", k, k)
	}
	if err := s.Commit(ctx, 0, b); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, 0, (&store.Batch{}).Create("doc/a", []byte("again"))); err == nil {
		t.Fatal("a second create of doc/a was accepted during the bulk load")
	}
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(t, path)
	t.Cleanup(func() { _ = db.Close() })
	s = db.Namespace("svc", 2)
	doc, err := s.Get(ctx, 0, "doc/b")
	if err != nil || string(doc.Value) != "b" || doc.Version != 1 {
		t.Fatalf("Get after reopen = %+v, %v", doc, err)
	}
	es, err := s.Scan(ctx, 0, "idx", store.IndexQuery{})
	if err != nil || len(es) != 3 {
		t.Fatalf("Scan after reopen = %v, %v", es, err)
	}
}
