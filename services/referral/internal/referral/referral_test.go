package referral

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func TestCheck(t *testing.T) {
	tests := []struct {
		give    State
		sent    bool
		verb    Verb
		want    State
		wantErr bool
	}{
		{Draft, false, VSend, Sent, false},
		{Sent, true, VReceive, Received, false},
		{Sent, true, VAccept, Accepted, false},
		{Received, true, VAccept, Accepted, false},
		{Accepted, true, VStart, InProgress, false},
		{InProgress, true, VHold, OnHold, false},
		{OnHold, true, VResume, InProgress, false},
		{OnHold, true, VComplete, Completed, false},
		{Accepted, true, VDecline, NeedsRedirect, false},
		{NeedsRedirect, true, VRedirect, Declined, false},
		{NeedsRedirect, true, VClose, Closed, false},
		{Draft, false, VCancel, Cancelled, false},
		{Completed, true, VReopen, InProgress, false},
		{Closed, true, VReopen, NeedsRedirect, false},
		{Cancelled, true, VReopen, NeedsRedirect, false},
		{Cancelled, false, VReopen, Draft, false},
		{Sent, true, VStart, "", true},
		{InProgress, true, VDecline, "", true},
		{Declined, true, VReopen, "", true},
		{Completed, true, VCancel, "", true},
		{Draft, false, VAccept, "", true},
	}
	for _, tt := range tests {
		r := &Referral{State: tt.give}
		if tt.sent {
			r.SendTime = t0
		}
		got, err := Check(r, tt.verb)
		var te *TransitionError
		if tt.wantErr {
			if !errors.As(err, &te) || !slices.Equal(te.Allowed, toStrings(next[tt.give])) {
				t.Errorf("Check(%s, %s) = %v, %v; want a TransitionError naming %v", tt.give, tt.verb, got, err, next[tt.give])
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Check(%s, %s) = %v, %v; want %v", tt.give, tt.verb, got, err, tt.want)
		}
		if !slices.Contains(AllowedNext(tt.give), got) {
			t.Errorf("Check(%s, %s) = %s, not among AllowedNext %v", tt.give, tt.verb, got, AllowedNext(tt.give))
		}
	}
}

func toStrings(ss []State) []string {
	out := []string{}
	for _, s := range ss {
		out = append(out, string(s))
	}
	return out
}

func TestDeadlinesAndEscalation(t *testing.T) {
	p := DefaultPolicy
	tests := []struct {
		name      string
		urgency   string
		response  time.Duration
		to        State
		wantKind  DeadlineKind
		wantDue   time.Duration
		wantLevel int
	}{
		{"offering deadline", "", 48 * time.Hour, Sent, DeadlineResponse, 48 * time.Hour, 1},
		{"default", "", 0, Sent, DeadlineResponse, 5 * 24 * time.Hour, 1},
		{"urgent caps at a day", "URGENCY_URGENT", 72 * time.Hour, Sent, DeadlineResponse, 24 * time.Hour, 1},
		{"accepted: start", "", 0, Accepted, DeadlineStart, 14 * 24 * time.Hour, 1},
		{"redirect", "", 0, NeedsRedirect, DeadlineRedirect, 5 * 24 * time.Hour, 1},
		{"in progress: none", "", 0, InProgress, NoDeadline, 0, 0},
	}
	for _, tt := range tests {
		r := &Referral{State: Draft, Urgency: tt.urgency, ResponseDeadline: tt.response, SendTime: t0}
		r.Move(tt.to, Actor{"w", "WORKER"}, "", t0, p)
		if r.DeadlineKind != tt.wantKind || (tt.wantDue > 0 && !r.DueTime.Equal(t0.Add(tt.wantDue))) {
			t.Errorf("%s: deadline = %s %v; want %s +%v", tt.name, r.DeadlineKind, r.DueTime, tt.wantKind, tt.wantDue)
		}
		at, level, ok := r.NextEscalation(p)
		if level != tt.wantLevel || (ok && !at.Equal(r.DueTime)) {
			t.Errorf("%s: NextEscalation = %v %d %v; want level %d at due", tt.name, at, level, ok, tt.wantLevel)
		}
		if ok {
			r.EscalationLevel = 1
			if at2, l2, _ := r.NextEscalation(p); l2 != 2 || !at2.Equal(r.DueTime.Add(p.Level2After)) {
				t.Errorf("%s: level 2 = %v %d", tt.name, at2, l2)
			}
			r.EscalationLevel = 2
			if _, _, ok := r.NextEscalation(p); ok {
				t.Errorf("%s: escalation after level 2", tt.name)
			}
		}
	}
}

func TestPacketFilter(t *testing.T) {
	p := Packet{Categories: []string{CategoryContactDetails, "DATA_CATEGORY_PLAN_GOALS"}, Contact: &Contact{Phone: "+358"}}
	got, withdrawn := p.Filter([]string{"DATA_CATEGORY_PLAN_GOALS"})
	if got.Contact != nil || len(got.Categories) != 1 || !slices.Equal(withdrawn, []string{CategoryContactDetails}) {
		t.Errorf("Filter = %+v, %v; want contact blanked and withdrawn", got, withdrawn)
	}
	if p.Contact == nil {
		t.Error("Filter changed the frozen packet")
	}
}

func TestWebhookSignature(t *testing.T) {
	body := []byte(`{"id":"e1"}`)
	secret, old := []byte("s3cret"), []byte("old")
	ts := strconv.FormatInt(t0.Unix(), 10)
	tests := []struct {
		name string
		sig  string
		ts   string
		body []byte
		now  time.Time
		want error
	}{
		{"valid", Sign(body, t0, secret), ts, body, t0.Add(time.Minute), nil},
		{"during rotation", Sign(body, t0, old, secret), ts, body, t0, nil},
		{"tampered body", Sign(body, t0, secret), ts, []byte(`{"id":"e2"}`), t0, ErrBadSignature},
		{"wrong secret", Sign(body, t0, old), ts, body, t0, ErrBadSignature},
		{"replayed", Sign(body, t0, secret), ts, body, t0.Add(6 * time.Minute), ErrStale},
		{"timestamp changed", Sign(body, t0, secret), strconv.FormatInt(t0.Unix()+1, 10), body, t0, ErrBadSignature},
	}
	for _, tt := range tests {
		if got := Verify(tt.body, tt.ts, tt.sig, secret, tt.now); !errors.Is(got, tt.want) && got != tt.want {
			t.Errorf("%s: Verify = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		give int
		want time.Duration
	}{{1, 30 * time.Second}, {2, time.Minute}, {3, 2 * time.Minute}, {8, time.Hour}, {20, time.Hour}}
	for _, tt := range tests {
		if got := Backoff(tt.give); got != min(tt.want, time.Hour) {
			t.Errorf("Backoff(%d) = %v; want %v", tt.give, got, tt.want)
		}
	}
}

func TestPacketFilterBlanksWithdrawnParts(t *testing.T) {
	p := Packet{Categories: []string{CategoryContactDetails, CategoryPlanGoals, CategoryAssessmentSummary, CategoryBudgetSummary},
		Contact: &Contact{Phone: "+358"}, PlanGoals: []string{"g"}, AssessmentSummary: "s", Budget: &BudgetSummary{AllocatedCents: 1},
		Languages: []string{"fi"}}
	all, withdrawn := p.Filter(p.Categories)
	if len(withdrawn) != 0 || all.Contact == nil || len(all.PlanGoals) != 1 || all.AssessmentSummary == "" || all.Budget == nil {
		t.Errorf("nothing withdrawn: %+v, %v", all, withdrawn)
	}
	none, withdrawn := p.Filter(nil)
	if len(withdrawn) != 4 || none.Contact != nil || none.PlanGoals != nil || none.AssessmentSummary != "" || none.Budget != nil ||
		len(none.Languages) != 1 {
		t.Errorf("all withdrawn: %+v, %v; want the consented parts blanked, languages kept", none, withdrawn)
	}
	if len(p.PlanGoals) != 1 || p.Contact == nil {
		t.Errorf("Filter changed the frozen packet: %+v", p)
	}
	if got := (BudgetSummary{AllocatedCents: 500000, CommittedCents: 5, SpentCents: 120, AvailableCents: 499875}).String(); got !=
		"allocated 5000.00 EUR, committed 0.05 EUR, spent 1.20 EUR, available 4998.75 EUR" {
		t.Errorf("budget summary = %q", got)
	}
}
