package projection

import (
	"slices"
	"testing"
	"time"

	"github.com/polku-hb/polku/services/catalogue/internal/catalogue"
)

// refs are the index entries the store writes for a live offering (the
// individual entries and the compact one), as internal/store does.
func refs(id string, updated time.Time, price int64, munis, langs []string, words map[string]int, compact bool) []catalogue.IndexRef {
	sum := catalogue.Summary{ID: id, Price: price, Updated: updated.Unix(), Category: 1}.Encode()
	tk := catalogue.TimeKey(updated)
	out := []catalogue.IndexRef{{Index: "s:live", SortKey: tk, ID: sum}, {Index: "s:chg", SortKey: "0000000000000001", ID: id}}
	for _, m := range munis {
		out = append(out, catalogue.IndexRef{Index: "s:mun:" + m, SortKey: tk, ID: sum})
	}
	for _, l := range langs {
		out = append(out, catalogue.IndexRef{Index: "s:lang:" + l, SortKey: tk, ID: sum})
	}
	for w, n := range words {
		out = append(out, catalogue.IndexRef{Index: "s:w", SortKey: w, ID: string(rune('0'+n)) + sum})
	}
	if compact {
		out = append(out, catalogue.IndexRef{Index: Index, SortKey: id, ID: Entry(tk, sum, munis, langs, words)})
	}
	return out
}

func ids(hits []catalogue.Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, h.ID)
	}
	return out
}

func TestSearchApplyAndRemove(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, compact := range []bool{true, false} { // from s:proj, or from older stores' entries
		p := New(8)
		p.Apply(0, 3, map[string][]catalogue.IndexRef{
			"a": refs("a", t0, 500, []string{"837"}, []string{"pl"}, map[string]int{"perhetyo": 2, "kotona": 1}, compact),
			"b": refs("b", t0.Add(time.Second), 100, []string{"091"}, nil, map[string]int{"perheille": 1}, compact),
			"c": refs("c", t0.Add(time.Nanosecond), 300, []string{"837", "091"}, nil, map[string]int{"museo": 2}, compact),
		})
		tests := []struct {
			name      string
			q         catalogue.Query
			langIndex bool
			want      []string
		}{
			{"prefix, title beats description", catalogue.Query{Words: []string{"perhe"}}, false, []string{"a", "b"}},
			{"exact word", catalogue.Query{Words: []string{"museo"}}, false, []string{"c"}},
			{"AND of words", catalogue.Query{Words: []string{"perhe", "koto"}}, false, []string{"a"}},
			{"municipality union", catalogue.Query{Municipalities: []string{"837", "091"}, Order: "price"}, false, []string{"b", "c", "a"}},
			{"municipality and word", catalogue.Query{Municipalities: []string{"091"}, Words: []string{"perhe"}}, false, []string{"b"}},
			{"language from its index", catalogue.Query{Languages: []string{"pl"}}, true, []string{"a"}},
			{"no match", catalogue.Query{Words: []string{"xyz"}}, false, nil},
		}
		for _, tt := range tests {
			got, n := p.Search(tt.q, tt.langIndex, 10)
			if !slices.Equal(ids(got), tt.want) || n != len(tt.want) {
				t.Errorf("compact=%v %s: %v (%d); want %v", compact, tt.name, ids(got), n, tt.want)
			}
		}
		if got := ids(p.Newest(2)); !slices.Equal(got, []string{"b", "c"}) {
			t.Errorf("Newest(2) = %v; want b, c (nanosecond order)", got)
		}
		// Withdrawn (no s:live) and changed offerings are replaced; the
		// sequence never goes back.
		p.Apply(0, 2, map[string][]catalogue.IndexRef{
			"a": {{Index: "s:chg", SortKey: "0000000000000004", ID: "a"}},
			"c": refs("c", t0.Add(time.Hour), 300, []string{"837"}, nil, map[string]int{"perhekahvila": 2}, compact),
		})
		if got, _ := p.Search(catalogue.Query{Words: []string{"perhe"}}, false, 10); !slices.Equal(ids(got), []string{"c", "b"}) {
			t.Errorf("after changes: %v; want c, b", ids(got))
		}
		if got, _ := p.Search(catalogue.Query{Words: []string{"museo"}}, false, 10); len(got) != 0 {
			t.Errorf("old words of a changed offering still found: %v", ids(got))
		}
		if p.Len() != 2 || p.Seq(0) != 3 {
			t.Errorf("Len, Seq = %d, %d; want 2, 3", p.Len(), p.Seq(0))
		}
	}
}
