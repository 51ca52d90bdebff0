package ledger

import (
	"slices"
	"sort"
)

// MinGroupSize is the smallest group whose figures are shown: smaller groups
// are suppressed so no individual can be recognised.
const MinGroupSize = 5

// ClientCost is one client's cost over a period.
type ClientCost struct {
	HasBudget  bool
	Total      int64
	ByCategory map[string]int64
}

// CategoryStat is one category's figures in a cohort.
type CategoryStat struct {
	Category   string
	Suppressed bool
	Clients    int
	Total      int64
	Mean       int64 // per client of the cohort
}

// CohortStats are one cohort's figures.
type CohortStats struct {
	Suppressed          bool
	Clients             int
	WithoutBudget       int
	Total, Mean, Median int64
	Categories          []CategoryStat
}

// InPeriod reports whether d is within [start, end] (zero bounds are open).
func InPeriod(d, start, end Date) bool {
	if d.IsZero() {
		return false
	}
	t := d.Time()
	return (start.IsZero() || !t.Before(start.Time())) && (end.IsZero() || !t.After(end.Time()))
}

// CostInPeriod sums SPEND - REFUND entries dated in the period by category
// (a SPEND by its delivery date, a REFUND by its creation date).
func CostInPeriod(b *Budget, entries []Entry, start, end Date, into *ClientCost) {
	if into.ByCategory == nil {
		into.ByCategory = map[string]int64{}
	}
	into.HasBudget = true
	for _, e := range entries {
		var amt int64
		switch e.Kind {
		case Spend:
			if !InPeriod(e.Delivery, start, end) {
				continue
			}
			amt = e.Amount
		case Refund:
			c := e.CreateTime
			if !InPeriod(Date{c.Year(), int(c.Month()), c.Day()}, start, end) {
				continue
			}
			amt = -e.Amount
		default:
			continue
		}
		cat := "CATEGORY_UNSPECIFIED"
		if l := b.Line(e.LineID); l != nil && l.Category != "" {
			cat = l.Category
		}
		into.Total += amt
		into.ByCategory[cat] += amt
	}
}

// Aggregate computes a cohort's figures from its clients' costs; a cohort (or
// a category) with fewer than MinGroupSize clients is suppressed: no figures.
func Aggregate(costs []ClientCost) CohortStats {
	n := len(costs)
	if n < MinGroupSize {
		return CohortStats{Suppressed: true}
	}
	out := CohortStats{Clients: n}
	totals := make([]int64, 0, n)
	cats := map[string]*CategoryStat{}
	for _, c := range costs {
		if !c.HasBudget {
			out.WithoutBudget++
		}
		out.Total += c.Total
		totals = append(totals, c.Total)
		for cat, v := range c.ByCategory {
			s := cats[cat]
			if s == nil {
				s = &CategoryStat{Category: cat}
				cats[cat] = s
			}
			if v != 0 {
				s.Clients++
			}
			s.Total += v
		}
	}
	slices.Sort(totals)
	out.Mean = out.Total / int64(n)
	if n%2 == 1 {
		out.Median = totals[n/2]
	} else {
		out.Median = (totals[n/2-1] + totals[n/2]) / 2
	}
	for _, s := range cats {
		if s.Clients < MinGroupSize {
			out.Categories = append(out.Categories, CategoryStat{Category: s.Category, Suppressed: true})
			continue
		}
		s.Mean = s.Total / int64(n)
		out.Categories = append(out.Categories, *s)
	}
	sort.Slice(out.Categories, func(i, j int) bool { return out.Categories[i].Category < out.Categories[j].Category })
	return out
}
