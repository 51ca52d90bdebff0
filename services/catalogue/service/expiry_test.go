package service_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/type/date"

	"github.com/polku-hb/polku/platform/store"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	"github.com/polku-hb/polku/services/catalogue/internal/catalogue"
	repo "github.com/polku-hb/polku/services/catalogue/internal/store"
)

// The expiry worker finds due quote requests through the due-time index and
// persists EXPIRED / LAPSED with their change-log entry and event, without
// anyone reading the request; two replicas running passes at once make each
// transition exactly once.
func TestQuoteExpiryWorker(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		a, b := start(t, st), start(t, st)
		var now atomic.Int64
		now.Store(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixNano())
		clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
		a.svc.SetClock(clock)
		b.svc.SetClock(clock)
		coach := activeProvider(t, a, &cataloguev1.Provider{DisplayName: "Coach Oy", Kind: cataloguev1.ProviderKind_PROVIDER_KIND_COMPANY, BusinessId: "2345671-3", ServiceAreas: []string{"837"}})
		ask := func() *cataloguev1.QuoteRequest {
			qr, err := a.cc.CreateQuoteRequest(a.as(t, aino), &cataloguev1.CreateQuoteRequestRequest{Parent: coach.GetName(), QuoteRequest: &cataloguev1.QuoteRequest{
				Client: "clients/c1", NeedDescription: "valmennus iltarutiineihin", Municipality: "837"}})
			if err != nil {
				t.Fatal(err)
			}
			return qr
		}
		unanswered := []*cataloguev1.QuoteRequest{ask(), ask(), ask()}
		quoted := ask()
		if _, err := a.cc.SubmitQuote(a.as(t, staff(coach.GetName())), &cataloguev1.SubmitQuoteRequest{Name: quoted.GetName(), Quote: &cataloguev1.Quote{
			Description: "12 x 60 min", Unit: cataloguev1.PriceUnit_PRICE_UNIT_HOUR, Quantity: 12, UnitAmountCents: 9000,
			ValidUntil: &date.Date{Year: 2026, Month: 3, Day: 20}}}); err != nil {
			t.Fatal(err)
		}
		answered := ask()
		if _, err := a.cc.DeclineQuoteRequest(a.as(t, staff(coach.GetName())), &cataloguev1.DeclineQuoteRequestRequest{Name: answered.GetName(), Reason: "full"}); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		pass := func() int {
			t.Helper()
			var wg sync.WaitGroup
			var total atomic.Int64
			for _, e := range []*env{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n, err := e.svc.ExpireDue(ctx)
					if err != nil {
						t.Error(err)
					}
					total.Add(int64(n))
				}()
			}
			wg.Wait()
			return int(total.Load())
		}
		if n := pass(); n != 0 {
			t.Fatalf("pass before anything is due made %d transitions", n)
		}
		now.Add(int64(7*24*time.Hour + time.Minute)) // past the requests' response due, quote still valid
		if n := pass(); n != 3 {
			t.Fatalf("pass after the response due time made %d transitions; want 3 (once each across two replicas)", n)
		}
		rp := repo.New(st)
		state := func(qr *cataloguev1.QuoteRequest) catalogue.QuoteState {
			q, _, err := rp.Quote(ctx, qr.GetName()[len(coach.GetName())+15:])
			if err != nil {
				t.Fatal(err)
			}
			return q.State
		}
		for _, qr := range unanswered {
			if s := state(qr); s != catalogue.QuoteExpired {
				t.Errorf("stored state = %v; want EXPIRED", s)
			}
		}
		if s := state(quoted); s != catalogue.QuoteQuoted {
			t.Errorf("quoted request stored state = %v; want still QUOTED", s)
		}
		now.Add(int64(12 * 24 * time.Hour)) // past 2026-03-20 in Helsinki
		if n := pass(); n != 1 || state(quoted) != catalogue.QuoteLapsed {
			t.Errorf("pass after the quote's validity made %d, state %v; want 1, LAPSED", n, state(quoted))
		}
		if n := pass(); n != 0 {
			t.Errorf("a further pass made %d; want 0 (due entries removed)", n)
		}
		if s := state(answered); s != catalogue.QuoteDeclined {
			t.Errorf("declined request state = %v", s)
		}
		log, err := a.cc.ListChangeLogEntries(a.as(t, staff(coach.GetName())), &cataloguev1.ListChangeLogEntriesRequest{Parent: coach.GetName(), PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		expires := 0
		for _, e := range log.GetChangeLogEntries() {
			if e.GetMethod() == "Expire" {
				expires++
			}
		}
		if expires != 4 {
			t.Errorf("change log has %d Expire entries; want 4", expires)
		}
	})
}
