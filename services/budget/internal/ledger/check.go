package ledger

import (
	"fmt"
	"sort"
	"strconv"
)

// Balance is a line's figures recomputed from entries.
type Balance struct {
	Allocated, Committed, Spent int64
}

// Difference is one figure where the cache and the recomputation disagree.
type Difference struct {
	Subject, Field     string
	Cached, Recomputed int64
}

// Recompute derives the lines' balances and the commitments' open amounts from
// the entries (in sequence order) and compares them with the cached ones.
func Recompute(b *Budget, entries []Entry, opens map[int64]*Open) []Difference {
	bal := map[string]*Balance{}
	for _, l := range b.Lines {
		bal[l.ID] = &Balance{}
	}
	get := func(id string) *Balance {
		if bal[id] == nil {
			bal[id] = &Balance{}
		}
		return bal[id]
	}
	open := map[int64]int64{}
	var diffs []Difference
	for i, e := range entries {
		if e.Seq != int64(i+1) {
			diffs = append(diffs, Difference{Subject: b.ID, Field: "sequence_gap", Cached: int64(i + 1), Recomputed: e.Seq})
		}
		x := get(e.LineID)
		switch e.Kind {
		case Allocation, Adjustment:
			x.Allocated += e.Amount
		case Commitment:
			x.Committed += e.Amount
			open[e.Seq] = e.Amount
		case Release:
			x.Committed -= e.Amount
			open[e.Commitment] -= e.Amount
		case Spend:
			x.Spent += e.Amount
			if e.Commitment != 0 {
				x.Committed -= e.Amount
				open[e.Commitment] -= e.Amount
			}
		case Refund:
			x.Spent -= e.Amount
		}
	}
	for _, l := range b.Lines {
		r := bal[l.ID]
		cmp := func(field string, cached, re int64) {
			if cached != re {
				diffs = append(diffs, Difference{Subject: l.ID, Field: field, Cached: cached, Recomputed: re})
			}
		}
		cmp("allocated_cents", l.AllocatedCents, r.Allocated)
		cmp("committed_cents", l.CommittedCents, r.Committed)
		cmp("spent_cents", l.SpentCents, r.Spent)
		cmp("available_cents", l.Available(), r.Allocated-r.Committed-r.Spent)
		if re := r.Allocated - r.Committed - r.Spent; re < 0 {
			diffs = append(diffs, Difference{Subject: l.ID, Field: "available_cents", Cached: 0, Recomputed: re})
		}
	}
	seqs := make([]int64, 0, len(open))
	for s := range open {
		seqs = append(seqs, s)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for _, s := range seqs {
		subject := strconv.FormatInt(s, 10)
		var cached int64
		if o := opens[s]; o != nil {
			cached = o.OpenCents()
		}
		if open[s] < 0 || cached != open[s] {
			diffs = append(diffs, Difference{Subject: subject, Field: "open_amount_cents", Cached: cached, Recomputed: open[s]})
		}
	}
	if n := int64(len(entries)); n != b.LastSeq {
		diffs = append(diffs, Difference{Subject: b.ID, Field: "sequence_gap", Cached: b.LastSeq, Recomputed: n})
	}
	return diffs
}

// Month is a statement month's sums.
type Month struct {
	Year, Month                 int
	Allocated, Committed, Spent int64
	Entries                     []Entry
}

// Months groups entries by calendar month (Europe/Helsinki is close enough to
// UTC for monthly sums; entries are stamped UTC), oldest first.
func Months(entries []Entry, withEntries bool) []Month {
	var out []Month
	idx := map[string]int{}
	for _, e := range entries {
		t := e.CreateTime
		key := fmt.Sprintf("%04d-%02d", t.Year(), int(t.Month()))
		i, ok := idx[key]
		if !ok {
			out = append(out, Month{Year: t.Year(), Month: int(t.Month())})
			i = len(out) - 1
			idx[key] = i
		}
		m := &out[i]
		switch e.Kind {
		case Allocation, Adjustment:
			m.Allocated += e.Amount
		case Commitment:
			m.Committed += e.Amount
		case Release:
			m.Committed -= e.Amount
		case Spend:
			m.Spent += e.Amount
			if e.Commitment != 0 {
				m.Committed -= e.Amount
			}
		case Refund:
			m.Spent -= e.Amount
		}
		if withEntries {
			m.Entries = append(m.Entries, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].Year < out[j].Year || (out[i].Year == out[j].Year && out[i].Month < out[j].Month)
	})
	return out
}
