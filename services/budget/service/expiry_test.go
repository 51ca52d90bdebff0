package service_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/store"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	"github.com/polku-hb/polku/services/budget/service"
)

const expiringType = "polku.budget.v1.budget.expiring_with_money_left"

// expiringEvents reads the budget stream's new messages (consumer group
// "expiry-test") and returns the expiry alerts among them.
func expiringEvents(t *testing.T, bs store.Store) []events.Envelope {
	t.Helper()
	msgs, err := bs.ReadGroup(context.Background(), "expiry-test", "t", 10000, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []events.Envelope
	for _, m := range msgs {
		ev, err := events.Unmarshal(m.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == expiringType {
			out = append(out, ev)
		}
	}
	return out
}

// replica builds another budget service instance on the same store (a second
// replica, or the service after a restart) with its clock at now.
func (e *env) replica(t *testing.T, now time.Time, interval time.Duration) *service.Service {
	t.Helper()
	d := e.deps
	d.AlertInterval = interval
	svc, err := service.New(d)
	if err != nil {
		t.Fatal(err)
	}
	svc.SetClock(func() time.Time { return now })
	return svc
}

func endOf(b *budgetv1.Budget) time.Time {
	d := b.GetEndDate()
	return time.Date(int(d.GetYear()), time.Month(d.GetMonth()), int(d.GetDay()), 0, 0, 0, 0, time.UTC)
}

// TestExpiryAlert: an ACTIVE budget with money left raises
// budget.expiring_with_money_left once its period end is inside the horizon
// (30 days by default) and not before; two replicas running the worker at
// once raise it once; a restarted service does not raise it again.
func TestExpiryAlert(t *testing.T) {
	stores(t, func(tb testing.TB, cs, as, bs store.Store) {
		t := tb.(*testing.T)
		e := start(t, cs, as, bs)
		b := e.activeBudget(t, "r-exp")
		if b.GetAvailableCents() <= 0 || b.GetEndDate() == nil {
			t.Fatalf("budget %v", b)
		}
		end := endOf(b)
		expiringEvents(t, bs) // skip the lifecycle events

		// Outside the horizon: 31 days before the end.
		far := e.replica(t, end.AddDate(0, 0, -31).Add(9*time.Hour), time.Hour)
		if n, err := far.AlertExpiring(context.Background()); err != nil || n != 0 {
			t.Fatalf("outside the horizon: %d alerts, %v", n, err)
		}
		if got := expiringEvents(t, bs); len(got) != 0 {
			t.Fatalf("outside the horizon: events %v", got)
		}

		// Inside the horizon: two replicas run the worker concurrently.
		now := end.AddDate(0, 0, -10).Add(9 * time.Hour)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range 2 {
			r := e.replica(t, now, 5*time.Millisecond)
			wg.Go(func() {
				if err := r.RunWorkers(ctx); err != nil {
					t.Errorf("RunWorkers: %v", err)
				}
			})
		}
		deadline := time.Now().Add(10 * time.Second)
		var got []events.Envelope
		for len(got) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			got = append(got, expiringEvents(t, bs)...)
		}
		time.Sleep(200 * time.Millisecond) // let both workers make more passes
		cancel()
		wg.Wait()
		got = append(got, expiringEvents(t, bs)...)
		if len(got) != 1 {
			t.Fatalf("two replicas raised %d alerts; want 1: %v", len(got), got)
		}
		ev := got[0]
		budgetID := b.GetName()[len(e.parent+"/budgets/"):]
		if ev.Client != e.tiina || ev.Source != "budget" || ev.Subject != b.GetName() ||
			ev.Data["budget"] != budgetID || ev.Data["days_left"] != "10" ||
			ev.Data["available_cents"] != strconv.FormatInt(b.GetAvailableCents(), 10) {
			t.Errorf("alert = %+v", ev)
		}
		for k := range ev.Data {
			switch k {
			case "budget", "days_left", "available_cents", "period_end":
			default:
				t.Errorf("unexpected data field %q", k)
			}
		}

		// A restart (a new instance on the same store) does not raise it again,
		// not even closer to the end.
		restarted := e.replica(t, end.Add(-time.Hour), time.Hour)
		if n, err := restarted.AlertExpiring(context.Background()); err != nil || n != 0 {
			t.Errorf("after a restart: %d alerts, %v", n, err)
		}
		if got := expiringEvents(t, bs); len(got) != 0 {
			t.Errorf("after a restart: events %v", got)
		}
	})
}

// TestExpiryAlertNothingAvailable: a budget inside the horizon whose money is
// all used raises no alert; a CLOSED budget leaves the index.
func TestExpiryAlertNothingAvailable(t *testing.T) {
	stores(t, func(tb testing.TB, cs, as, bs store.Store) {
		t := tb.(*testing.T)
		e := start(t, cs, as, bs)
		b := e.activeBudget(t, "r-exp0")
		w := e.as(t, aino)
		for i, l := range b.GetLines() {
			if _, err := e.bc.SpendFunds(w, &budgetv1.SpendFundsRequest{Name: b.GetName(), LineId: l.GetId(), AmountCents: l.GetAvailableCents(),
				DeliveryDate: today, RequestId: "all" + strconv.Itoa(i)}); err != nil {
				t.Fatalf("SpendFunds: %v", err)
			}
		}
		got, err := e.bc.GetBudget(w, &budgetv1.GetBudgetRequest{Name: b.GetName()})
		if err != nil || got.GetAvailableCents() != 0 {
			t.Fatalf("budget after spending = %v, %v", got, err)
		}
		expiringEvents(t, bs)
		r := e.replica(t, endOf(b).AddDate(0, 0, -5), time.Hour)
		if n, err := r.AlertExpiring(context.Background()); err != nil || n != 0 {
			t.Errorf("nothing available: %d alerts, %v", n, err)
		}
		if evs := expiringEvents(t, bs); len(evs) != 0 {
			t.Errorf("nothing available: events %v", evs)
		}
		if entries, err := bs.Scan(context.Background(), store.AllShards, "expiring", store.IndexQuery{}); err != nil || len(entries) != 1 {
			t.Fatalf("expiry index = %v, %v; want the ACTIVE budget", entries, err)
		}
		if _, err := e.bc.CloseBudget(w, &budgetv1.CloseBudgetRequest{Name: b.GetName(), Reason: "done"}); err != nil {
			t.Fatalf("CloseBudget: %v", err)
		}
		if entries, err := bs.Scan(context.Background(), store.AllShards, "expiring", store.IndexQuery{}); err != nil || len(entries) != 0 {
			t.Errorf("expiry index after close = %v, %v; want empty", entries, err)
		}
	})
}
