package assessment

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func date(y, m, d int) Date { return Date{y, m, d} }

func TestWeeksAndMonths(t *testing.T) {
	tests := []struct {
		give       [2]Date
		weeks, mon int
	}{
		{[2]Date{date(2026, 1, 1), date(2026, 1, 7)}, 1, 1},
		{[2]Date{date(2026, 1, 1), date(2026, 1, 8)}, 2, 1},
		{[2]Date{date(2026, 1, 1), date(2026, 1, 31)}, 5, 1},
		{[2]Date{date(2026, 1, 1), date(2026, 2, 1)}, 5, 2},
		{[2]Date{date(2026, 1, 1), date(2026, 6, 30)}, 26, 6},
		{[2]Date{date(2026, 1, 1), date(2026, 12, 31)}, 53, 12},
		{[2]Date{date(2026, 1, 31), date(2026, 2, 27)}, 4, 1},
		{[2]Date{date(2026, 1, 15), date(2027, 1, 14)}, 53, 12},
	}
	for _, tt := range tests {
		if got := Weeks(tt.give[0], tt.give[1]); got != tt.weeks {
			t.Errorf("Weeks(%v, %v) = %d; want %d", tt.give[0], tt.give[1], got, tt.weeks)
		}
		if got := Months(tt.give[0], tt.give[1]); got != tt.mon {
			t.Errorf("Months(%v, %v) = %d; want %d", tt.give[0], tt.give[1], got, tt.mon)
		}
	}
}

func TestServiceCost(t *testing.T) {
	start, end := date(2026, 1, 1), date(2027, 6, 30) // 18 months
	tests := []struct {
		name          string
		give          Service
		total, yearly int64
	}{
		{"once", Service{UnitAmountCents: 7900, Quantity: 1, Frequency: FrequencyOnce}, 7900, 7900},
		{"per month over 18 months", Service{UnitAmountCents: 10000, Quantity: 2, Frequency: FrequencyPerMonth}, 18 * 20000, 12 * 20000},
		{"per week over 18 months", Service{UnitAmountCents: 9000, Quantity: 1, Frequency: FrequencyPerWeek}, 78 * 9000, 53 * 9000},
		{"flexible money", Service{Flexible: true, FlexibleCents: 20000}, 20000, 20000},
		{"no frequency", Service{UnitAmountCents: 9000, Quantity: 1}, 0, 0},
	}
	for _, tt := range tests {
		total, yearly := ServiceCost(tt.give, start, end)
		if total != tt.total || yearly != tt.yearly {
			t.Errorf("%s: ServiceCost = %d, %d; want %d, %d", tt.name, total, yearly, tt.total, tt.yearly)
		}
	}
}

func TestRevisionTransitions(t *testing.T) {
	tests := []struct {
		from, to string
		ok       bool
	}{
		{RevDraft, RevProposed, true},
		{RevDraft, RevApproved, false},
		{RevProposed, RevApproved, true},
		{RevProposed, RevReturned, true},
		{RevReturned, RevProposed, true},
		{RevApproved, RevActive, true},
		{RevActive, RevSuperseded, true},
		{RevActive, RevClosed, true},
		{RevSuperseded, RevActive, false},
		{RevClosed, RevDraft, false},
	}
	for _, tt := range tests {
		err := CheckRevisionTransition(tt.from, tt.to)
		if (err == nil) != tt.ok {
			t.Errorf("CheckRevisionTransition(%s, %s) = %v; want ok %v", tt.from, tt.to, err, tt.ok)
		}
		var te *TransitionError
		if err != nil && (!errors.As(err, &te) || !strings.Contains(err.Error(), "allowed next states")) {
			t.Errorf("CheckRevisionTransition(%s, %s) = %v; want a TransitionError naming the allowed states", tt.from, tt.to, err)
		}
	}
}

func TestApprovalRule(t *testing.T) {
	const limit = 100_000
	tests := []struct {
		name          string
		yearly        int64
		role, justify string
		want          error
	}{
		{"worker at the limit", limit, "WORKER", "", nil},
		{"worker above", limit + 1, "WORKER", "because", ErrAboveAuthorityLimit},
		{"manager above without justification", limit + 1, "MANAGER", " ", Violations{}},
		{"manager above with justification", limit + 1, "MANAGER", "because", nil},
		{"manager within", 10, "MANAGER", "", nil},
	}
	for _, tt := range tests {
		r := &Revision{State: RevProposed, YearlyCostCents: tt.yearly}
		err := r.Approve("x", tt.role, tt.justify, limit, time.Now())
		var vs Violations
		switch {
		case tt.want == nil && err != nil, tt.want != nil && err == nil:
			t.Errorf("%s: Approve = %v; want %v", tt.name, err, tt.want)
		case errors.Is(tt.want, ErrAboveAuthorityLimit) && !errors.Is(err, ErrAboveAuthorityLimit):
			t.Errorf("%s: Approve = %v; want %v", tt.name, err, tt.want)
		case tt.want != nil && !errors.Is(tt.want, ErrAboveAuthorityLimit) && !errors.As(err, &vs):
			t.Errorf("%s: Approve = %v; want a violation", tt.name, err)
		}
		if err == nil && (r.State != RevApproved || r.Approval.AuthorityLimitCents != limit || r.Approval.ApproverRole != tt.role) {
			t.Errorf("%s: revision = %+v; want APPROVED with the approval recorded", tt.name, r)
		}
	}
}

func TestAddMonthsClamps(t *testing.T) {
	if got := date(2026, 1, 31).AddMonths(1); got != date(2026, 2, 28) {
		t.Errorf("AddMonths = %v; want 2026-02-28", got)
	}
}
