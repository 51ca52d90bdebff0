// Package indexkey is the index encoding shared by the store adapters.
//
// An index entry (SortKey, ID) is stored as the single byte string
// SortKey + "\x00" + ID. Because a sort key may not contain NUL, byte order of the
// encoded form is exactly the port's (SortKey, ID) order, so both a Redis sorted
// set read by lex range and a bbolt bucket read by cursor return entries in index
// order, and a page query becomes one contiguous key range.
package indexkey

import (
	"errors"
	"strings"

	"github.com/polku-hb/polku/platform/store"
)

// DefaultLimit is the page size of an IndexQuery whose Limit is 0 (see store.IndexQuery).
const DefaultLimit = 100

// ErrNULSortKey rejects a sort key that would break the encoding's ordering.
var ErrNULSortKey = errors.New("store: index sort key contains a NUL byte")

const sep = "\x00"

// Encode returns the stored form of e.
func Encode(e store.IndexEntry) string { return e.SortKey + sep + e.ID }

// Decode is the inverse of Encode. A sort key holds no NUL, so the first NUL is
// the separator and the ID may contain anything.
func Decode(m string) store.IndexEntry {
	sortKey, id, _ := strings.Cut(m, sep)
	return store.IndexEntry{SortKey: sortKey, ID: id}
}

// Validate reports whether e can be stored.
func Validate(e store.IndexEntry) error {
	if strings.Contains(e.SortKey, sep) {
		return ErrNULSortKey
	}
	return nil
}

// Limit is q's page size.
func Limit(q store.IndexQuery) int {
	if q.Limit <= 0 {
		return DefaultLimit
	}
	return q.Limit
}

// Range is the half-open-or-closed range of encoded entries a query selects.
type Range struct {
	// Lo is the lower bound, inclusive unless LoExclusive; ignored when NoLo.
	Lo          string
	LoExclusive bool
	NoLo        bool
	// Hi is the exclusive upper bound; ignored when NoHi.
	Hi   string
	NoHi bool
	// Empty is set when no entry can match (a prefix containing NUL).
	Empty bool
}

// RangeOf turns q's Prefix and After cursor into one range of encoded entries.
// The direction does not matter to the range itself: going forward the cursor
// raises the lower bound, going in Reverse it lowers the upper bound.
func RangeOf(q store.IndexQuery) Range {
	if strings.Contains(q.Prefix, sep) {
		// No stored sort key contains NUL, so none starts with this prefix.
		return Range{Empty: true}
	}
	r := Range{NoLo: true, NoHi: true}
	if q.Prefix != "" {
		r.Lo, r.NoLo = q.Prefix, false
		if end, ok := prefixEnd(q.Prefix); ok {
			r.Hi, r.NoHi = end, false
		}
	}
	if q.After == (store.IndexEntry{}) {
		return r
	}
	after := Encode(q.After)
	if !q.Reverse {
		// An encoded entry never equals a NUL-free prefix, so >= is the same as >.
		if r.NoLo || after >= r.Lo {
			r.Lo, r.LoExclusive, r.NoLo = after, true, false
		}
	} else if r.NoHi || after < r.Hi {
		r.Hi, r.NoHi = after, false
	}
	return r
}

// Contains reports whether the encoded entry m lies in r.
func (r Range) Contains(m string) bool {
	if r.Empty {
		return false
	}
	if !r.NoLo && (m < r.Lo || (r.LoExclusive && m == r.Lo)) {
		return false
	}
	return r.NoHi || m < r.Hi
}

// prefixEnd returns the smallest string greater than every string starting with
// p, or false when there is none (p is all 0xff bytes).
func prefixEnd(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// Less orders entries as the port does: by SortKey, then ID.
func Less(a, b store.IndexEntry) bool {
	if a.SortKey != b.SortKey {
		return a.SortKey < b.SortKey
	}
	return a.ID < b.ID
}

// Merge merges per-shard pages, each already in query order, into the first
// limit entries of their union in that order (descending when reverse).
func Merge(pages [][]store.IndexEntry, reverse bool, limit int) []store.IndexEntry {
	// Never reserve more than the pages hold: callers may pass a huge limit.
	total := 0
	for _, p := range pages {
		total += len(p)
	}
	out := make([]store.IndexEntry, 0, min(limit, total))
	pos := make([]int, len(pages))
	for len(out) < limit {
		best := -1
		for i, page := range pages {
			if pos[i] == len(page) {
				continue
			}
			if best < 0 {
				best = i
				continue
			}
			cand, cur := page[pos[i]], pages[best][pos[best]]
			if (!reverse && Less(cand, cur)) || (reverse && Less(cur, cand)) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		out = append(out, pages[best][pos[best]])
		pos[best]++
	}
	return out
}
