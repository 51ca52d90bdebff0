package service_test

import (
	"context"
	"testing"

	"github.com/polku-hb/polku/platform/store"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	"github.com/polku-hb/polku/services/catalogue/service"
)

// Seeded offerings are found by search and read like published ones: they
// are live, indexed and have their first price version.
func TestSeedBulkIsSearchable(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		made, err := service.SeedBulk(context.Background(), st, 25, 1, 3)
		if err != nil {
			t.Fatal(err)
		}
		providers := map[string]bool{}
		for _, m := range made {
			providers[m.Provider] = true
		}
		if len(made) != 25 || len(providers) != 3 {
			t.Fatalf("made %d offerings of %d providers, want 25 of 3", len(made), len(providers))
		}
		e := start(t, st)
		res, err := e.cc.SearchOfferings(e.as(t, aino), &cataloguev1.SearchOfferingsRequest{PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.GetResults()) != 25 {
			t.Fatalf("search found %d, want all 25 seeded", len(res.GetResults()))
		}
		m := made[0]
		o, err := e.cc.GetOffering(e.as(t, aino), &cataloguev1.GetOfferingRequest{Name: "providers/" + m.Provider + "/offerings/" + m.Offering})
		if err != nil {
			t.Fatal(err)
		}
		if o.GetState() != cataloguev1.Offering_PUBLISHED {
			t.Errorf("state %v, want PUBLISHED", o.GetState())
		}
		pv, err := e.cc.GetPriceVersion(e.as(t, aino), &cataloguev1.GetPriceVersionRequest{Name: o.GetCurrentPriceVersion()})
		if err != nil || len(pv.GetPriceOptions()) != 1 || pv.GetPriceOptions()[0].GetAmountCents() != m.Price {
			t.Fatalf("price version = %v, %v; want one option of %d cents", pv, err, m.Price)
		}
	})
}
