package pagination

import (
	"testing"
	"unicode/utf8"

	"github.com/polku-hb/polku/platform/store"
)

// FuzzDecode: any token either decodes to a cursor that re-encodes to a token
// decoding to the same cursor, or is refused with ErrBadToken; a token made for
// one query never decodes for another.
func FuzzDecode(f *testing.F) {
	f.Add(Encode(store.IndexEntry{SortKey: "2026-01-01", ID: "abc"}, "parent=x"), "parent=x")
	f.Add(Encode(store.IndexEntry{ID: "z"}, ""), "")
	f.Add("not base64!", "")
	f.Add("e30", "")    // {}
	f.Add("bnVsbA", "") // null
	f.Fuzz(func(t *testing.T, tok, query string) {
		e, err := Decode(tok, query)
		if err != nil {
			if err != ErrBadToken {
				t.Fatalf("Decode error %v; want ErrBadToken", err)
			}
			return
		}
		if tok == "" {
			if e != (store.IndexEntry{}) {
				t.Fatalf("empty token decodes to %v; want the first page", e)
			}
			return
		}
		if e.ID == "" {
			t.Fatalf("Decode(%q) = %v with an empty id", tok, e)
		}
		if !utf8.ValidString(query) {
			t.Fatalf("Decode(%q) accepts a query that is not UTF-8, which no token can hold", tok)
		}
		again, err := Decode(Encode(e, query), query)
		if err != nil || again != e {
			t.Fatalf("round trip = %v, %v; want %v", again, err, e)
		}
		if _, err := Decode(tok, query+"x"); err == nil {
			t.Errorf("token for %q also decodes for another query", query)
		}
	})
}

// FuzzEncode: parse(format(x)) == x for every cursor with an id. Strings that
// are not UTF-8 cannot reach a token (protobuf refuses them in requests), and
// JSON would change them, so they are only checked not to panic.
func FuzzEncode(f *testing.F) {
	f.Add("2026-01-01T00:00:00Z", "id1", "filter=state = ACTIVE")
	f.Add("", "\x00", "")
	f.Fuzz(func(t *testing.T, sortKey, id, query string) {
		e := store.IndexEntry{SortKey: sortKey, ID: id}
		got, err := Decode(Encode(e, query), query)
		switch {
		case !utf8.ValidString(sortKey) || !utf8.ValidString(id) || !utf8.ValidString(query):
		case id == "" && err != ErrBadToken:
			t.Fatalf("a cursor without id decodes (%v, %v); want ErrBadToken", got, err)
		case id == "":
		case err != nil || got != e:
			t.Fatalf("Decode(Encode(%v, %q)) = %v, %v; want the cursor back", e, query, got, err)
		}
	})
}
