package ledger

import (
	"errors"
	"testing"
	"time"
)

func active(t *testing.T) *Budget {
	t.Helper()
	b := &Budget{ID: "b1", State: Approved, Lines: []Line{{ID: "s1", PlannedCents: 10000, Unit: "PRICE_UNIT_SESSION", UnitCents: 2500}, {ID: "s2", PlannedCents: 500}}}
	if _, err := b.Activate("w", "WORKER", "r", time.Now()); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMoneyRules(t *testing.T) {
	var insufficient *InsufficientFunds
	cases := []struct {
		name      string
		do        func(b *Budget) error
		wantAvail int64 // available on s1 after
		wantErr   func(error) bool
	}{
		{"commit within", func(b *Budget) error { _, _, err := b.Commit(Entry{LineID: "s1", Amount: 4000}); return err }, 6000, nil},
		{"commit all", func(b *Budget) error { _, _, err := b.Commit(Entry{LineID: "s1", Amount: 10000}); return err }, 0, nil},
		{"commit above available", func(b *Budget) error { _, _, err := b.Commit(Entry{LineID: "s1", Amount: 10001}); return err }, 10000,
			func(err error) bool { return errors.As(err, &insufficient) && insufficient.Available == 10000 }},
		{"commit zero", func(b *Budget) error { _, _, err := b.Commit(Entry{LineID: "s1"}); return err }, 10000,
			func(err error) bool { var v Violations; return errors.As(err, &v) }},
		{"unknown line", func(b *Budget) error { _, _, err := b.Commit(Entry{LineID: "nope", Amount: 1}); return err }, 10000,
			func(err error) bool { return errors.Is(err, ErrUnknownLine) }},
		{"spend against a commitment up to its amount", func(b *Budget) error {
			_, o, _ := b.Commit(Entry{LineID: "s1", Amount: 5000})
			if _, err := b.SpendAgainst(Entry{LineID: "s1", Amount: 5000}, o); err != nil {
				return err
			}
			_, err := b.SpendAgainst(Entry{LineID: "s1", Amount: 1}, o)
			return err
		}, 5000, func(err error) bool { return errors.As(err, &insufficient) && insufficient.Available == 0 }},
		{"release then spend from the line", func(b *Budget) error {
			_, o, _ := b.Commit(Entry{LineID: "s1", Amount: 5000})
			if _, err := b.Release(Entry{}, o); err != nil {
				return err
			}
			_, err := b.SpendAgainst(Entry{LineID: "s1", Amount: 9999}, nil)
			return err
		}, 1, nil},
		{"adjust down below available", func(b *Budget) error {
			_, _, _ = b.Commit(Entry{LineID: "s1", Amount: 9000})
			_, err := b.Adjust(Entry{LineID: "s1", Amount: -1001, Reason: "x"})
			return err
		}, 1000, func(err error) bool { return errors.As(err, &insufficient) }},
		{"refund returns to the line", func(b *Budget) error {
			sp, err := b.SpendAgainst(Entry{LineID: "s1", Amount: 3000}, nil)
			if err != nil {
				return err
			}
			if _, err := b.Refund(Entry{Amount: 1000}, sp, 0); err != nil {
				return err
			}
			_, err = b.Refund(Entry{Amount: 2001}, sp, 1000)
			return err
		}, 8000, func(err error) bool { return errors.As(err, &insufficient) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := active(t)
			err := c.do(b)
			if (c.wantErr == nil) != (err == nil) || (err != nil && !c.wantErr(err)) {
				t.Fatalf("err = %v", err)
			}
			if got := b.Line("s1").Available(); got != c.wantAvail {
				t.Errorf("available = %d; want %d", got, c.wantAvail)
			}
			for _, l := range b.Lines {
				if l.Available() < 0 {
					t.Errorf("line %s negative: %+v", l.ID, l)
				}
			}
		})
	}
}

func TestApproveAndLifecycle(t *testing.T) {
	cases := []struct {
		name          string
		planned       int64
		manager       bool
		justification string
		wantErr       bool
	}{
		{"worker within the limit", 1000, false, "", false},
		{"worker above the limit", 2000, false, "", true},
		{"manager above without justification", 2000, true, "", true},
		{"manager above with justification", 2000, true, "needed", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := &Budget{State: Draft, Lines: []Line{{ID: "s1", PlannedCents: c.planned}}}
			err := b.Approve("x", "R", c.justification, 1000, c.manager, time.Now())
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v", err)
			}
		})
	}
	b := &Budget{State: Closed}
	var te *TransitionError
	if err := b.Transition(Active); !errors.As(err, &te) || len(te.Allowed) != 0 {
		t.Errorf("closed -> active = %v", err)
	}
}

func TestYearlyCents(t *testing.T) {
	b := &Budget{Lines: []Line{{PlannedCents: 73000}}, Start: Date{2025, 1, 1}, End: Date{2026, 12, 31}}
	if got := b.YearlyCents(); got != 36500 {
		t.Errorf("two-year budget yearly = %d; want 36500", got)
	}
	b.End = Date{2025, 6, 30}
	if got := b.YearlyCents(); got != 73000 {
		t.Errorf("half-year budget yearly = %d; want 73000 (counted in full)", got)
	}
}

func TestRecompute(t *testing.T) {
	b := active(t)
	var entries []Entry
	entries = append(entries, Entry{Seq: 1, Kind: Allocation, LineID: "s1", Amount: 10000}, Entry{Seq: 2, Kind: Allocation, LineID: "s2", Amount: 500})
	e, o, _ := b.Commit(Entry{LineID: "s1", Amount: 4000})
	entries = append(entries, e)
	e, _ = b.SpendAgainst(Entry{LineID: "s1", Amount: 1000}, o)
	entries = append(entries, e)
	opens := map[int64]*Open{o.Seq: o}
	if d := Recompute(b, entries, opens); len(d) != 0 {
		t.Fatalf("consistent ledger reported %v", d)
	}
	b.Line("s1").SpentCents += 7 // a corrupted cache
	if d := Recompute(b, entries, opens); len(d) != 2 || d[0].Field != "spent_cents" {
		t.Errorf("differences = %+v", d)
	}
	if m := Months(entries, false); len(m) != 1 || m[0].Committed != 3000 || m[0].Spent != 1000 {
		t.Errorf("months = %+v", m)
	}
}
