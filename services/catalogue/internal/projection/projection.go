// Package projection is the per-replica, in-memory copy of the catalogue's
// search indexes. It holds, for every live offering, exactly what the store's
// search-index entries hold (summary, municipalities, languages, weighted
// words), built from the same entries the store wrote (catalogue.IndexRef), so
// a search answered from it gives the same hits as one answered from the store
// indexes, in microseconds instead of reading tens of thousands of entries.
//
// It does no I/O: the caller loads it and keeps it fresh (see app.Service and
// the per-shard change sequence in internal/store), recording per shard up to
// which change sequence it has applied.
package projection

import (
	"cmp"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/polku-hb/polku/services/catalogue/internal/catalogue"
)

type posting struct {
	slot   int32
	weight uint8
}

type word struct {
	text   string
	weight uint8
}

// doc is one live offering.
type doc struct {
	id    string
	sum   catalogue.Summary
	enc   string // the encoded summary (the s:live entry's id)
	tk    string // the s:live entry's sort key (update time)
	nanos int64  // tk as Unix nanoseconds: same order, cheaper to compare
	words []word
	munis []string
	langs []string
}

// Projection is safe for concurrent use: searches share a read lock, changes
// take the write lock.
type Projection struct {
	mu    sync.RWMutex
	docs  []*doc              // by slot; nil = free
	sums  []catalogue.Summary // by slot, dense: what a search scans
	nanos []int64             // by slot: doc.nanos, what Newest scans
	free  []int32
	byID  map[string]int32
	vocab []string // sorted distinct indexed words (prefix ranges)
	words map[string][]posting
	munis map[string][]int32
	langs map[string][]int32
	seqs  []int64 // per shard: change sequence applied up to
}

// New is an empty projection of a store with shards shards.
func New(shards int) *Projection {
	return &Projection{
		byID: map[string]int32{}, words: map[string][]posting{},
		munis: map[string][]int32{}, langs: map[string][]int32{}, seqs: make([]int64, shards),
	}
}

// Len is the number of live offerings held.
func (p *Projection) Len() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.byID)
}

// Seq is the change sequence of a shard applied so far.
func (p *Projection) Seq(shard int) int64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.seqs[shard]
}

// Apply replaces the offerings given (offering id -> the search-index entries
// the store now holds for it; none or no s:live entry = not live) and records
// that shard is current up to seq (never moving backwards).
func (p *Projection) Apply(shard int, seq int64, changes map[string][]catalogue.IndexRef) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, refs := range changes {
		p.remove(id)
		if d := build(id, refs); d != nil {
			p.add(d)
		}
	}
	p.seqs[shard] = max(p.seqs[shard], seq)
}

// Index is the store index of one compact entry per live offering (sort key
// the offering id, id its Entry), written beside the other search entries so a
// projection loads from one index scan per shard.
const Index = "s:proj"

// Entry encodes what the projection holds of a live offering: the s:live
// entry's sort key and id (the summary), municipalities, languages and weighted
// words, separated by "|" (words are letters and digits only, codes too).
func Entry(liveKey, summary string, munis, langs []string, words map[string]int) string {
	var b strings.Builder
	b.WriteString(liveKey + "|" + summary + "|" + strings.Join(munis, ",") + "|" + strings.Join(langs, ",") + "|")
	keys := slices.Sorted(maps.Keys(words))
	for i, w := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(w + ":" + strconv.Itoa(words[w]))
	}
	return b.String()
}

// decodeEntry is the inverse of Entry (nil when malformed).
func decodeEntry(id, e string) *doc {
	f := strings.Split(e, "|")
	if len(f) != 5 {
		return nil
	}
	sum, ok := catalogue.DecodeSummary(f[1])
	if !ok {
		return nil
	}
	d := &doc{id: id, sum: sum, tk: f[0], enc: f[1]}
	if f[2] != "" {
		d.munis = strings.Split(f[2], ",")
	}
	if f[3] != "" {
		d.langs = strings.Split(f[3], ",")
	}
	if f[4] != "" {
		for _, ww := range strings.Split(f[4], ",") {
			text, weight, _ := strings.Cut(ww, ":")
			n, err := strconv.Atoi(weight)
			if err != nil || n < 0 || n > 9 {
				return nil
			}
			d.words = append(d.words, word{text: text, weight: uint8(n)})
		}
	}
	return d
}

// build turns a live offering's index entries into a doc (nil when not live):
// from its compact entry, or (stores written before it existed) from the
// individual index entries.
func build(id string, refs []catalogue.IndexRef) *doc {
	d := buildDoc(id, refs)
	if d != nil {
		t, err := time.Parse(time.RFC3339Nano, d.tk)
		if err != nil {
			return nil // not a catalogue.TimeKey: never written
		}
		d.nanos = t.UnixNano()
	}
	return d
}

func buildDoc(id string, refs []catalogue.IndexRef) *doc {
	for _, r := range refs {
		if r.Index == Index {
			return decodeEntry(id, r.ID)
		}
	}
	d := &doc{id: id}
	live := false
	for _, r := range refs {
		switch {
		case r.Index == "s:live":
			sum, ok := catalogue.DecodeSummary(r.ID)
			if !ok {
				return nil
			}
			d.sum, d.enc, d.tk, live = sum, r.ID, r.SortKey, true
		case r.Index == "s:w":
			if len(r.ID) >= 2 && r.ID[0] >= '0' && r.ID[0] <= '9' {
				d.words = append(d.words, word{text: r.SortKey, weight: r.ID[0] - '0'})
			}
		case strings.HasPrefix(r.Index, "s:mun:"):
			d.munis = append(d.munis, strings.TrimPrefix(r.Index, "s:mun:"))
		case strings.HasPrefix(r.Index, "s:lang:"):
			d.langs = append(d.langs, strings.TrimPrefix(r.Index, "s:lang:"))
		}
	}
	if !live {
		return nil
	}
	return d
}

func (p *Projection) add(d *doc) {
	var slot int32
	if n := len(p.free); n > 0 {
		slot, p.free = p.free[n-1], p.free[:n-1]
		p.docs[slot], p.sums[slot], p.nanos[slot] = d, d.sum, d.nanos
	} else {
		slot = int32(len(p.docs))
		p.docs, p.sums, p.nanos = append(p.docs, d), append(p.sums, d.sum), append(p.nanos, d.nanos)
	}
	p.byID[d.id] = slot
	for _, w := range d.words {
		list, ok := p.words[w.text]
		if !ok {
			i, _ := slices.BinarySearch(p.vocab, w.text)
			p.vocab = slices.Insert(p.vocab, i, w.text)
		}
		p.words[w.text] = append(list, posting{slot: slot, weight: w.weight})
	}
	for _, m := range d.munis {
		p.munis[m] = append(p.munis[m], slot)
	}
	for _, l := range d.langs {
		p.langs[l] = append(p.langs[l], slot)
	}
}

func (p *Projection) remove(id string) {
	slot, ok := p.byID[id]
	if !ok {
		return
	}
	d := p.docs[slot]
	for _, w := range d.words {
		list := p.words[w.text]
		if i := slices.IndexFunc(list, func(x posting) bool { return x.slot == slot }); i >= 0 {
			list[i] = list[len(list)-1]
			list = list[:len(list)-1]
		}
		if len(list) == 0 {
			delete(p.words, w.text)
			if i, found := slices.BinarySearch(p.vocab, w.text); found {
				p.vocab = slices.Delete(p.vocab, i, i+1)
			}
			continue
		}
		p.words[w.text] = list
	}
	drop := func(sets map[string][]int32, keys []string) {
		for _, k := range keys {
			list := sets[k]
			if i := slices.Index(list, slot); i >= 0 {
				list[i] = list[len(list)-1]
				list = list[:len(list)-1]
			}
			if len(list) == 0 {
				delete(sets, k)
			} else {
				sets[k] = list
			}
		}
	}
	drop(p.munis, d.munis)
	drop(p.langs, d.langs)
	delete(p.byID, id)
	p.docs[slot], p.sums[slot], p.nanos[slot] = nil, catalogue.Summary{}, 0
	p.free = append(p.free, slot)
}

// Newest returns the first k live offerings in the order of the store's s:live
// index read newest first (update-time key, then encoded summary, descending):
// the order of a search with no words and no filters.
func (p *Projection) Newest(k int) []catalogue.Hit {
	p.mu.RLock()
	defer p.mu.RUnlock()
	newer := func(a, b *doc) int { // < 0 when a comes first
		if c := cmp.Compare(b.nanos, a.nanos); c != 0 {
			return c
		}
		return cmp.Compare(b.enc, a.enc)
	}
	top := make([]*doc, 0, k+1)
	for i, d := range p.docs {
		if d == nil || k <= 0 {
			continue
		}
		if len(top) == k && (p.nanos[i] < top[k-1].nanos || newer(d, top[k-1]) >= 0) {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, d, newer)
		top = slices.Insert(top, i, d)
		if len(top) > k {
			top = top[:k]
		}
	}
	out := make([]catalogue.Hit, len(top))
	for i, d := range top {
		out[i] = catalogue.Hit{Summary: d.sum}
	}
	return out
}

// scratch holds one search's per-slot working arrays, reused across searches
// (a search over 100,000 offerings would otherwise allocate megabytes).
type scratch struct {
	in           []bool
	score, words []float64
}

var scratches = sync.Pool{New: func() any { return &scratch{} }}

func (sc *scratch) size(n int) {
	if cap(sc.in) < n {
		sc.in, sc.score, sc.words = make([]bool, n), make([]float64, n), make([]float64, n)
	}
	sc.in, sc.score, sc.words = sc.in[:n], sc.score[:n], sc.words[:n]
}

// Search returns the first k live offerings matching q in q's order and how
// many match in all. Matching is the store path's: every query word as a
// prefix (per word the best-scoring indexed word it prefixes, summed over the
// words), municipalities and, when langIndex, languages by their entries, the
// rest by q.Matches on the summary.
func (p *Projection) Search(q catalogue.Query, langIndex bool, k int) ([]catalogue.Hit, int) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	n := len(p.docs)
	sc := scratches.Get().(*scratch)
	defer scratches.Put(sc)
	sc.size(n)
	restricted, scored := false, false // restricted: sc.in holds the candidate set
	restrict := func(sets map[string][]int32, keys []string) {
		// Mark the union with 2-state logic: members of the union that were in
		// the set stay; everything else leaves.
		mark := sc.words // free here: words are scored after municipalities
		clear(mark)
		for _, key := range keys {
			for _, s := range sets[key] {
				mark[s] = 1
			}
		}
		for i := range sc.in {
			sc.in[i] = (!restricted || sc.in[i]) && mark[i] == 1
		}
		restricted = true
	}
	if len(q.Municipalities) > 0 {
		restrict(p.munis, q.Municipalities)
	}
	for _, w := range q.Words {
		ws := sc.words
		clear(ws)
		for i := sort.SearchStrings(p.vocab, w); i < len(p.vocab) && strings.HasPrefix(p.vocab[i], w); i++ {
			exact := p.vocab[i] == w
			for _, post := range p.words[p.vocab[i]] {
				if restricted && !sc.in[post.slot] {
					continue // cannot survive the intersection
				}
				if s := catalogue.Score(int(post.weight), exact); s > ws[post.slot] {
					ws[post.slot] = s
				}
			}
		}
		if !scored {
			clear(sc.score)
			scored = true
		}
		for i, s := range ws {
			if restricted && !sc.in[i] {
				continue
			}
			sc.in[i] = s > 0
			sc.score[i] += s
		}
		restricted = true
	}
	if langIndex {
		restrict(p.langs, q.Languages)
	}
	top := make([]catalogue.Hit, 0, min(k, 1024))
	worse := func(i, j int) bool { return q.Compare(top[i], top[j]) > 0 }
	down := func(i int) { // top is a max-heap: top[0] is the worst kept hit
		for {
			l, r, big := 2*i+1, 2*i+2, i
			if l < len(top) && worse(l, big) {
				big = l
			}
			if r < len(top) && worse(r, big) {
				big = r
			}
			if big == i {
				return
			}
			top[i], top[big] = top[big], top[i]
			i = big
		}
	}
	up := func(i int) {
		for i > 0 {
			parent := (i - 1) / 2
			if !worse(i, parent) {
				return
			}
			top[i], top[parent] = top[parent], top[i]
			i = parent
		}
	}
	count := 0
	for i, d := range p.docs {
		if d == nil || (restricted && !sc.in[i]) || !q.Matches(p.sums[i]) {
			continue
		}
		count++
		h := catalogue.Hit{Summary: p.sums[i]}
		if scored {
			h.Score = sc.score[i]
		}
		switch {
		case len(top) < k:
			top = append(top, h)
			up(len(top) - 1)
		case k > 0 && q.Compare(h, top[0]) < 0:
			top[0] = h
			down(0)
		}
	}
	q.Sort(top)
	return top, count
}
