package catalogue

import (
	"slices"
	"testing"
	"time"
)

func TestValidBusinessID(t *testing.T) {
	tests := []struct {
		give string
		want bool
	}{
		{"0211675-2", true},
		{"2345671-3", true},
		{"3221308-6", true},
		{"2011512-0", true}, // remainder 0 -> check digit 0
		{"0211675-3", false},
		{"211675-2", false},
		{"02116752", false},
		{"0211675-", false},
		{"abcdefg-1", false},
		{"1234568-0", false},
	}
	for _, tt := range tests {
		if got := ValidBusinessID(tt.give); got != tt.want {
			t.Errorf("ValidBusinessID(%q) = %v; want %v", tt.give, got, tt.want)
		}
	}
}

func TestWords(t *testing.T) {
	tests := []struct {
		give string
		want []string
	}{
		{"Perhetyö kotona", []string{"perhetyo", "kotona"}},
		{"ÄÖÅ åäö", []string{"aoa", "aao"}},
		{"ADHD-valmennus, 60 min", []string{"adhd", "valmennus", "60", "min"}},
		{"Café Nørre", []string{"cafe", "norre"}},
	}
	for _, tt := range tests {
		if got := Words(tt.give); !slices.Equal(got, tt.want) {
			t.Errorf("Words(%q) = %v; want %v", tt.give, got, tt.want)
		}
	}
	if got := QueryWords("ja perhe PERHE x"); !slices.Equal(got, []string{"perhe"}) {
		t.Errorf("QueryWords = %v; want [perhe]", got)
	}
}

func TestSummaryRoundTrip(t *testing.T) {
	s := Summary{ID: "abc", Price: -1, Wait: 3, Kind: 2, Category: 11, Delivery: 0x1e, Targets: 0x3e, Langs: 0xffff, Updated: 1700000000}
	got, ok := DecodeSummary(s.Encode())
	if !ok || got != s {
		t.Errorf("DecodeSummary(Encode(%v)) = %v, %v", s, got, ok)
	}
	for _, bad := range []string{"", "a,b", "a,1,2,3,4,5,6,7,8,9", "a,x,2,3,4,5,6,7,8"} {
		if _, ok := DecodeSummary(bad); ok {
			t.Errorf("DecodeSummary(%q) ok; want failure", bad)
		}
	}
}

func TestOfferingLifecycle(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := Content{Title: Text{Fi: "a"}, Prices: []PriceOption{{ID: "h", Unit: 1, Amount: 100}}}
	o := NewOffering("o", "p", c, CapacityYes, 0, now)
	if _, err := o.Publish(nil, now); err == nil {
		t.Fatal("publish a draft: want an error")
	}
	steps := []struct {
		name string
		do   func() error
		want OfferingState
	}{
		{"submit", func() error { return o.Submit(now) }, PendingReview},
		{"publish", func() error { _, err := o.Publish(nil, now); return err }, Published},
		{"capacity only", func() error { o.Edit(o.Work, CapacityNo, 0, []string{"capacity"}, now); return nil }, Published},
		{"title edit", func() error {
			w := o.Work.Clone()
			w.Title.Fi = "b"
			o.Edit(w, CapacityNo, 0, []string{"title"}, now)
			return nil
		}, PendingReview},
		{"reject back to published", func() error { return o.Reject("no", now) }, Published},
		{"withdraw", func() error { return o.Withdraw(now) }, Withdrawn},
		{"resubmit", func() error { return o.Submit(now) }, PendingReview},
		{"reject back to withdrawn", func() error { return o.Reject("no", now) }, Withdrawn},
	}
	for _, st := range steps {
		if err := st.do(); err != nil || o.State != st.want {
			t.Fatalf("%s: state %v, %v; want %v", st.name, o.State, err, st.want)
		}
	}
	if o.Pub.Title.Fi != "a" || o.Work.Title.Fi != "b" {
		t.Errorf("published %q working %q; want a / b", o.Pub.Title.Fi, o.Work.Title.Fi)
	}
	if o.Deletable() == nil {
		t.Error("a once-published offering must not be deletable")
	}
}

func TestQuoteExpiry(t *testing.T) {
	now := time.Date(2026, 3, 5, 21, 30, 0, 0, time.UTC) // 23:30 in Helsinki
	q := &QuoteRequest{State: QuoteQuoted, Quote: &Quote{ValidUntil: Date{2026, 3, 5}}}
	if q.Expire(now) {
		t.Error("lapsed before the end of the day in Helsinki")
	}
	if !q.Expire(now.Add(time.Hour)) || q.State != QuoteLapsed {
		t.Errorf("state %v; want LAPSED after midnight Helsinki", q.State)
	}
}

func TestTopMatchesSort(t *testing.T) {
	for _, order := range []string{"relevance", "price", "waiting_time"} {
		q := &Query{Order: order}
		var hits []Hit
		for i := range 500 {
			hits = append(hits, Hit{Summary: Summary{ID: string(rune('a'+i%26)) + string(rune('a'+i/26)), Price: int64((i * 7919) % 300), Wait: i % 6, Updated: int64(i % 17)}, Score: float64(i % 5)})
		}
		want := slices.Clone(hits)
		q.Sort(want)
		for _, k := range []int{1, 10, 51, 400} {
			got := q.Top(slices.Clone(hits), k)
			if !slices.Equal(got, want[:k]) {
				t.Errorf("Top(%s, %d) differs from the sorted prefix", order, k)
			}
		}
	}
}
