package catalogue

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Text search. Titles and descriptions are normalised (lower case; ä, å -> a,
// ö -> o and other Latin accents stripped) and split into words; every word of
// at least MinWord letters is indexed whole (at most MaxWord runes). A query word
// matches every indexed word it is a prefix of, so "perhe" finds "perhetyö" and
// "perheille": the store answers it with one range scan of the word index.
const (
	MinWord = 3
	MaxWord = 24
)

var fold = map[rune]rune{
	'ä': 'a', 'å': 'a', 'á': 'a', 'à': 'a', 'â': 'a', 'ã': 'a', 'æ': 'a',
	'ö': 'o', 'ø': 'o', 'ó': 'o', 'ò': 'o', 'ô': 'o', 'õ': 'o',
	'é': 'e', 'è': 'e', 'ê': 'e', 'ë': 'e',
	'í': 'i', 'ì': 'i', 'î': 'i', 'ï': 'i',
	'ú': 'u', 'ù': 'u', 'û': 'u', 'ü': 'u',
	'š': 's', 'ž': 'z', 'ç': 'c', 'ñ': 'n', 'ý': 'y',
}

// Words returns the normalised words of s (each at most MaxWord runes),
// including short ones; callers drop what they do not index.
func Words(s string) []string {
	var out []string
	var b strings.Builder
	n := 0
	flush := func() {
		if b.Len() > 0 {
			out = append(out, b.String())
		}
		b.Reset()
		n = 0
	}
	for _, r := range strings.ToLower(s) {
		if f, ok := fold[r]; ok {
			r = f
		}
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if n < MaxWord {
			b.WriteRune(r)
			n++
		}
	}
	flush()
	return out
}

// Weights of where a word occurs.
const (
	WeightDescription = 1
	WeightTitle       = 2
)

// IndexWords maps each indexable word of the content's titles and descriptions
// (every language) to its weight: title beats description.
func IndexWords(c *Content) map[string]int {
	out := map[string]int{}
	add := func(s string, w int) {
		for _, word := range Words(s) {
			if utf8.RuneCountInString(word) >= MinWord && out[word] < w {
				out[word] = w
			}
		}
	}
	for _, t := range []Text{c.Description} {
		add(t.Fi, WeightDescription)
		add(t.Sv, WeightDescription)
		add(t.En, WeightDescription)
	}
	add(c.Title.Fi, WeightTitle)
	add(c.Title.Sv, WeightTitle)
	add(c.Title.En, WeightTitle)
	return out
}

// QueryWords are the distinct searchable words of a query (shorter ones are
// ignored: a two-letter prefix matches too much to mean anything).
func QueryWords(q string) []string {
	var out []string
	for _, w := range Words(q) {
		if utf8.RuneCountInString(w) >= MinWord && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// Waiting ranks (the waiting_time sort and the accepting filter).
const (
	WaitNow = 0
	WaitNo  = 5
)

// WaitRank orders capacity: YES, then waiting bands shortest first, then NO.
func WaitRank(c Capacity, b WaitingBand) int {
	switch c {
	case CapacityYes:
		return WaitNow
	case CapacityWaitlist:
		if b >= 1 && b <= 3 {
			return int(b)
		}
		return 4
	}
	return WaitNo
}

// Languages carried as bits in a Summary; others are answered by the language
// index only.
var summaryLangs = []string{"fi", "sv", "en", "se", "ru", "et", "so", "ar", "fa", "ku", "uk", "de", "fr", "es", "th", "vi"}

// SummaryLang reports whether a language is carried in Summary.Langs.
func SummaryLang(l string) bool { return slices.Contains(summaryLangs, l) }

// Summary is what search needs to filter and sort an offering without loading
// it. It is stored as the id of every search-index entry, so that candidate
// sets read from indexes can be filtered and ordered in memory.
type Summary struct {
	ID       string // offering id (its shard is the provider's shard)
	Price    int64  // lowest unit price; -1 when quote only
	Wait     int    // WaitRank
	Kind     ProviderKind
	Category Category
	Delivery uint8  // bit per DeliveryMode
	Targets  uint8  // bit per TargetGroup; 0 = open to everyone
	Langs    uint16 // bit per summaryLangs entry
	Updated  int64  // unix seconds of the last change of the published offering
}

// Encode is the compact stored form.
func (s Summary) Encode() string {
	return fmt.Sprintf("%s,%d,%d,%d,%d,%x,%x,%x,%d", s.ID, s.Price, s.Wait, s.Kind, s.Category, s.Delivery, s.Targets, s.Langs, s.Updated)
}

// DecodeSummary parses Encode's form (without allocating beyond the id).
func DecodeSummary(v string) (Summary, bool) {
	var s Summary
	var f [9]string
	for i := range 8 {
		j := strings.IndexByte(v, ',')
		if j < 0 {
			return Summary{}, false
		}
		f[i], v = v[:j], v[j+1:]
	}
	f[8] = v
	ok := true
	num := func(i int, base int) int64 {
		n, err := strconv.ParseInt(f[i], base, 64)
		if err != nil {
			ok = false
		}
		return n
	}
	s.ID = f[0]
	s.Price, s.Wait, s.Kind, s.Category = num(1, 10), int(num(2, 10)), ProviderKind(num(3, 10)), Category(num(4, 10))
	s.Delivery, s.Targets, s.Langs, s.Updated = uint8(num(5, 16)), uint8(num(6, 16)), uint16(num(7, 16)), num(8, 10)
	return s, ok && strings.IndexByte(v, ',') < 0
}

// SummaryID is the offering id of an encoded summary.
func SummaryID(v string) string {
	id, _, _ := strings.Cut(v, ",")
	return id
}

// Summarise builds the summary of a live offering's published content.
func Summarise(o *Offering, p *Provider) Summary {
	c := o.Pub
	s := Summary{ID: o.ID, Price: -1, Wait: WaitRank(o.Capacity, o.WaitingBand), Kind: p.Kind, Category: c.Category, Updated: o.UpdateTime.Unix()}
	if low, ok := c.LowestPrice(); ok && !c.QuoteRequired {
		s.Price = low
	}
	for _, m := range c.DeliveryModes {
		s.Delivery |= 1 << m
	}
	for _, g := range c.TargetGroups {
		s.Targets |= 1 << g
	}
	for _, l := range EffectiveLanguages(c, p) {
		if i := slices.Index(summaryLangs, l); i >= 0 {
			s.Langs |= 1 << i
		}
	}
	return s
}

// Query is a parsed search.
type Query struct {
	Words          []string
	Categories     []Category
	Municipalities []string
	Languages      []string
	DeliveryModes  []DeliveryMode
	Kinds          []ProviderKind
	TargetGroups   []TargetGroup
	MaxPrice       int64
	Accepting      bool
	Order          string // "relevance", "price", "waiting_time"
}

// Matches applies the filters a Summary answers (categories, delivery modes,
// kinds, target groups, price, capacity, and languages carried in Langs). Sets
// from the municipality and word indexes are intersected by the caller.
func (q *Query) Matches(s Summary) bool {
	if len(q.Categories) > 0 && !slices.Contains(q.Categories, s.Category) {
		return false
	}
	if len(q.Kinds) > 0 && !slices.Contains(q.Kinds, s.Kind) {
		return false
	}
	if len(q.DeliveryModes) > 0 && !slices.ContainsFunc(q.DeliveryModes, func(m DeliveryMode) bool { return s.Delivery&(1<<m) != 0 }) {
		return false
	}
	if len(q.TargetGroups) > 0 && s.Targets != 0 && !slices.ContainsFunc(q.TargetGroups, func(g TargetGroup) bool { return s.Targets&(1<<g) != 0 }) {
		return false
	}
	if q.MaxPrice > 0 && (s.Price < 0 || s.Price > q.MaxPrice) {
		return false
	}
	if q.Accepting && s.Wait >= WaitNo {
		return false
	}
	if q.LangsBySummary() && !slices.ContainsFunc(q.Languages, func(l string) bool {
		return s.Langs&(1<<slices.Index(summaryLangs, l)) != 0
	}) {
		return false
	}
	return true
}

// LangsBySummary: every requested language is carried in summaries, so the
// language filter needs no index read.
func (q *Query) LangsBySummary() bool {
	return len(q.Languages) > 0 && !slices.ContainsFunc(q.Languages, func(l string) bool { return !SummaryLang(l) })
}

// Hit is a candidate with its relevance.
type Hit struct {
	Summary
	Score float64
}

// Sort orders hits by the query's order; ties newest first, then by id (stable
// pages).
func (q *Query) Sort(hits []Hit) { slices.SortFunc(hits, q.compare) }

// Top returns the first k hits in Sort order without sorting them all (a
// bounded max-heap: O(n log k)); hits is reordered.
func (q *Query) Top(hits []Hit, k int) []Hit {
	if k >= len(hits)/2 {
		q.Sort(hits)
		return hits[:min(k, len(hits))]
	}
	h := hits[:0:0]
	h = append(h, hits[:k]...)
	// heap property: h[0] is the worst (largest) kept hit.
	down := func(i int) {
		for {
			l, r, big := 2*i+1, 2*i+2, i
			if l < len(h) && q.compare(h[l], h[big]) > 0 {
				big = l
			}
			if r < len(h) && q.compare(h[r], h[big]) > 0 {
				big = r
			}
			if big == i {
				return
			}
			h[i], h[big] = h[big], h[i]
			i = big
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(i)
	}
	for _, x := range hits[k:] {
		if q.compare(x, h[0]) < 0 {
			h[0] = x
			down(0)
		}
	}
	q.Sort(h)
	return h
}

// Compare orders two hits as Sort does (< 0: a comes first).
func (q *Query) Compare(a, b Hit) int { return q.compare(a, b) }

func (q *Query) compare(a, b Hit) int {
	{
		var c int
		switch q.Order {
		case "price":
			pa, pb := a.Price, b.Price
			if pa < 0 {
				pa = 1 << 62
			}
			if pb < 0 {
				pb = 1 << 62
			}
			c = cmp.Compare(pa, pb)
		case "waiting_time":
			c = cmp.Compare(a.Wait, b.Wait)
		default:
			c = cmp.Compare(b.Score, a.Score)
		}
		if c != 0 {
			return c
		}
		if c = cmp.Compare(b.Updated, a.Updated); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	}
}

// Score adds a word match to a relevance: the weight of where it matched, plus
// a half for a whole-word (not prefix) match.
func Score(weight int, exact bool) float64 {
	s := float64(weight)
	if exact {
		s += 0.5
	}
	return s
}

// TimeKey formats a time as a sortable index key.
func TimeKey(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }
