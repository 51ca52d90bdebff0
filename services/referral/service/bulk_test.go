package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/polku-hb/polku/platform/store"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
	"github.com/polku-hb/polku/services/referral/service"
)

// Seeded referrals are listed through the API by client and by state, their
// states are spread, and no deadline has passed (nothing to escalate).
func TestSeedBulkListsThroughTheAPI(t *testing.T) {
	stores(t, func(t *testing.T, clients, st store.Store) {
		e := start(t, clients, st)
		n, err := service.SeedBulk(context.Background(), st, service.BulkReferralInput{
			Clients: []string{e.tiina}, Workers: []string{aino.Subject}, Offerings: []string{coaching},
			Region: "pirkanmaa", N: 60, Parallel: 2, Part: 1})
		if err != nil || n != 60 {
			t.Fatalf("SeedBulk = %d, %v", n, err)
		}
		all, err := e.rc.ListReferrals(e.as(t, aino), &referralv1.ListReferralsRequest{Filter: "client = " + e.parent, PageSize: 100})
		if err != nil || len(all.GetReferrals()) != 60 {
			t.Fatalf("client's referrals = %d, %v; want 60", len(all.GetReferrals()), err)
		}
		states := map[referralv1.Referral_State]int{}
		for _, r := range all.GetReferrals() {
			states[r.GetState()]++
			if d := r.GetDueTime(); d != nil && !d.AsTime().After(time.Now()) {
				t.Errorf("%s in %v is due at %v, already past", r.GetName(), r.GetState(), d.AsTime())
			}
		}
		if len(states) < 4 {
			t.Errorf("states %v: want a spread over at least 4 states", states)
		}
		for _, s := range []string{"SENT", "COMPLETED"} {
			got, err := e.rc.ListReferrals(e.as(t, aino), &referralv1.ListReferralsRequest{Filter: "client = " + e.parent + " AND state = " + s, PageSize: 100})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range got.GetReferrals() {
				if r.GetState().String() != s {
					t.Errorf("state filter %s returned %v", s, r.GetState())
				}
			}
		}
		due, err := e.svc.EscalateDue(context.Background())
		if err != nil || due != 0 {
			t.Errorf("EscalateDue = %d, %v; seeded deadlines must lie ahead", due, err)
		}
	})
}
