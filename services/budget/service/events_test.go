package service_test

import (
	"context"
	"strings"
	"testing"

	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/store"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
)

// TestEvents: every change appends its event in the same batch (ids and codes
// only, Envelope.Client set); a refused overspend appends nothing; the 80 %
// alert is raised once per line.
func TestEvents(t *testing.T) {
	stores(t, func(tb testing.TB, cs, as, bs store.Store) {
		t := tb.(*testing.T)
		e := start(t, cs, as, bs)
		b := e.activeBudget(t, "r-ev")
		w := e.as(t, aino)
		museum := b.GetLines()[1]
		read := func() []events.Envelope {
			msgs, err := bs.ReadGroup(context.Background(), "test", "t", 1000, 0)
			if err != nil {
				t.Fatal(err)
			}
			var out []events.Envelope
			for _, m := range msgs {
				ev, err := events.Unmarshal(m.Payload)
				if err != nil {
					t.Fatal(err)
				}
				if ev.Client != e.tiina || ev.Source != "budget" || !strings.HasPrefix(ev.Type, "polku.budget.v1.") {
					t.Errorf("event %+v", ev)
				}
				out = append(out, ev)
			}
			return out
		}
		types := func(evs []events.Envelope) []string {
			var out []string
			for _, ev := range evs {
				out = append(out, strings.TrimPrefix(ev.Type, "polku.budget.v1."))
			}
			return out
		}
		if got := types(read()); strings.Join(got, ",") != "budget.created,budget.approved,budget.activated" {
			t.Errorf("lifecycle events = %v", got)
		}
		_, err := e.bc.SpendFunds(w, &budgetv1.SpendFundsRequest{Name: b.GetName(), LineId: museum.GetId(), AmountCents: museum.GetAvailableCents() + 1, DeliveryDate: today, RequestId: "x"})
		wantReason(t, "overspend", err, "INSUFFICIENT_FUNDS")
		if got := read(); len(got) != 0 {
			t.Errorf("refused overspend wrote events %v", types(got))
		}
		for i, amt := range []int64{6400, 100} { // 81 %, then 82 %: one alert
			if _, err := e.bc.SpendFunds(w, &budgetv1.SpendFundsRequest{Name: b.GetName(), LineId: museum.GetId(), AmountCents: amt, DeliveryDate: today, RequestId: "sp" + string(rune('a'+i))}); err != nil {
				t.Fatal(err)
			}
		}
		got := types(read())
		if strings.Join(got, ",") != "ledger_entry.created,line.usage_alert,spend.without_commitment,ledger_entry.created,spend.without_commitment" {
			t.Errorf("spend events = %v", got)
		}
	})
}
