package ledger

import "testing"

func TestAggregate(t *testing.T) {
	cost := func(total int64, cat string, has bool) ClientCost {
		return ClientCost{HasBudget: has, Total: total, ByCategory: map[string]int64{cat: total}}
	}
	cases := []struct {
		name       string
		costs      []ClientCost
		suppressed bool
		mean, med  int64
		without    int
		catSupp    map[string]bool
	}{
		{"four clients are suppressed", []ClientCost{cost(1, "A", true), cost(2, "A", true), cost(3, "A", true), cost(4, "A", true)}, true, 0, 0, 0, nil},
		{"five clients, one category suppressed", []ClientCost{cost(100, "A", true), cost(200, "A", true), cost(300, "A", true), cost(400, "A", true), {}},
			false, 200, 200, 1, map[string]bool{"A": true}},
		{"six clients, category shown", []ClientCost{cost(100, "A", true), cost(200, "A", true), cost(300, "A", true), cost(400, "A", true), cost(600, "A", true), {}},
			false, 266, 250, 1, map[string]bool{"A": false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Aggregate(c.costs)
			if got.Suppressed != c.suppressed || got.Mean != c.mean || got.Median != c.med || got.WithoutBudget != c.without {
				t.Fatalf("got %+v", got)
			}
			if c.suppressed && (got.Clients != 0 || got.Total != 0) {
				t.Errorf("suppressed cohort shows figures: %+v", got)
			}
			for _, cat := range got.Categories {
				if cat.Suppressed != c.catSupp[cat.Category] || (cat.Suppressed && cat.Total != 0) {
					t.Errorf("category %+v", cat)
				}
			}
		})
	}
}
