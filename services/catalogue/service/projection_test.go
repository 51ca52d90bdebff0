package service_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/testkit"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	"github.com/polku-hb/polku/services/catalogue/service"
)

// randomQuery draws a search mixing words (whole and prefixes), filters and
// orders over the seedCatalogue vocabulary.
func randomQuery(r *rand.Rand) *cataloguev1.SearchOfferingsRequest {
	q := &cataloguev1.SearchOfferingsRequest{PageSize: int32(3 + r.IntN(25))}
	for range r.IntN(3) {
		w := []rune(benchWords[r.IntN(len(benchWords))])
		if r.IntN(2) == 0 && len(w) > 4 {
			w = w[:3+r.IntN(len(w)-3)] // a prefix
		}
		q.Query += string(w) + " "
	}
	if r.IntN(3) == 0 {
		q.Municipalities = pick(r, benchMunicipalities, 1+r.IntN(2))
	}
	if r.IntN(4) == 0 {
		q.Categories = []cataloguev1.Category{cataloguev1.Category(1 + r.IntN(11))}
	}
	if r.IntN(5) == 0 {
		q.Languages = pick(r, []string{"sv", "en", "so", "pl"}, 1)
	}
	if r.IntN(6) == 0 {
		q.DeliveryModes = []cataloguev1.DeliveryMode{cataloguev1.DeliveryMode(1 + r.IntN(4))}
	}
	if r.IntN(6) == 0 {
		q.ProviderKinds = []cataloguev1.ProviderKind{cataloguev1.ProviderKind(1 + r.IntN(4))}
	}
	if r.IntN(5) == 0 {
		q.MaxUnitPriceCents = int64(r.IntN(15000))
	}
	q.AcceptingReferrals = r.IntN(5) == 0
	q.OrderBy = []string{"", "relevance", "price", "waiting_time"}[r.IntN(4)]
	return q
}

// page is what a search answered: names in order, total and whether more follow.
type page struct {
	names []string
	total int32
	more  bool
}

func searchPages(t *testing.T, e *env, q *cataloguev1.SearchOfferingsRequest) []page {
	t.Helper()
	var out []page
	ctx := e.as(t, aino)
	req := proto.Clone(q).(*cataloguev1.SearchOfferingsRequest)
	for range 2 {
		resp, err := e.cc.SearchOfferings(ctx, req)
		if err != nil {
			t.Fatalf("SearchOfferings(%v): %v", q, err)
		}
		p := page{total: resp.GetTotalSize(), more: resp.GetNextPageToken() != ""}
		for _, x := range resp.GetResults() {
			p.names = append(p.names, x.GetOffering().GetName())
		}
		out = append(out, p)
		if !p.more {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	return out
}

// TestSearchProjectionMatchesStoreIndexes: two replicas answering from their
// in-memory projections give exactly the pages (order, total_size, paging) of a
// replica answering from the store's indexes, on generated data with random
// queries, before and after edits, publishes, capacity changes, withdrawals,
// new offerings and a provider's suspension and reinstatement made through
// either replica.
func TestSearchProjectionMatchesStoreIndexes(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		offs := seedCatalogue(t, st, 600, 7)
		a, b, ref := start(t, st), start(t, st), startWith(t, st, func(d *service.Deps, _ *testkit.Tokens) { d.SearchFromStore = true })
		r := rand.New(rand.NewPCG(42, 7))
		compared, nonEmpty := 0, 0
		compare := func(stage string) {
			t.Helper()
			for range 40 {
				q := randomQuery(r)
				want := searchPages(t, ref, q)
				for i, e := range []*env{a, b} {
					if got := searchPages(t, e, q); !slices.EqualFunc(got, want, func(x, y page) bool {
						return slices.Equal(x.names, y.names) && x.total == y.total && x.more == y.more
					}) {
						t.Fatalf("%s: replica %d answered %v with %+v; store indexes %+v", stage, i, q, got, want)
					}
				}
				compared++
				if len(want[0].names) > 0 {
					nonEmpty++
				}
			}
		}
		compare("seeded")

		// Edits through both replicas: a new published content (review then
		// publish), capacity changes at once, withdrawals.
		replicas := []*env{a, b}
		for i, o := range offs[:60] {
			e := replicas[i%2]
			ctx := e.as(t, staff(o.provider))
			cur, err := e.cc.GetOffering(ctx, &cataloguev1.GetOfferingRequest{Name: o.offering})
			if err != nil {
				t.Fatal(err)
			}
			switch i % 3 {
			case 0:
				upd := &cataloguev1.Offering{Name: o.offering, Etag: cur.GetEtag(), Title: &cataloguev1.LocalizedText{Fi: "museo uusi " + benchWords[r.IntN(len(benchWords))]}}
				if _, err := e.cc.UpdateOffering(ctx, &cataloguev1.UpdateOfferingRequest{Offering: upd, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}}}); err != nil {
					t.Fatalf("UpdateOffering: %v", err)
				}
				if _, err := e.cc.PublishOffering(e.as(t, op), &cataloguev1.PublishOfferingRequest{Name: o.offering}); err != nil {
					t.Fatalf("PublishOffering: %v", err)
				}
			case 1:
				upd := &cataloguev1.Offering{Name: o.offering, Etag: cur.GetEtag(), Capacity: cataloguev1.Capacity_CAPACITY_NO}
				if _, err := e.cc.UpdateOffering(ctx, &cataloguev1.UpdateOfferingRequest{Offering: upd, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"capacity"}}}); err != nil {
					t.Fatalf("UpdateOffering capacity: %v", err)
				}
			case 2:
				if _, err := e.cc.WithdrawOffering(ctx, &cataloguev1.WithdrawOfferingRequest{Name: o.offering}); err != nil {
					t.Fatalf("WithdrawOffering: %v", err)
				}
			}
		}
		for i := range 5 {
			publish(t, replicas[i%2], offs[100*i].provider, offering("Museo ja uusi kerho", "Uusi ryhmä perheille", cataloguev1.Category_CATEGORY_CULTURE_AND_LEISURE, int64(1000*i)))
		}
		compare("after edits")

		// A suspended provider's offerings leave search on every replica at once.
		suspended := offs[200].provider
		if _, err := a.cc.SuspendProvider(a.as(t, op), &cataloguev1.SuspendProviderRequest{Name: suspended, Reason: "complaints"}); err != nil {
			t.Fatal(err)
		}
		for _, e := range []*env{a, b} {
			for _, p := range searchPages(t, e, &cataloguev1.SearchOfferingsRequest{PageSize: 500}) {
				for _, n := range p.names {
					if len(n) > len(suspended) && n[:len(suspended)+1] == suspended+"/" {
						t.Fatalf("suspended provider's offering %s still found", n)
					}
				}
			}
		}
		compare("after suspension")
		if _, err := b.cc.VerifyProvider(b.as(t, op), &cataloguev1.VerifyProviderRequest{Name: suspended}); err != nil {
			t.Fatal(err)
		}
		compare("after reinstatement")
		if nonEmpty < compared/3 {
			t.Fatalf("only %d of %d random queries found anything: the comparison proves little", nonEmpty, compared)
		}
	})
}

// TestProviderSeesOwnPublishAtOnce: a publish through one replica is found by
// the very next search on another replica that had already loaded its
// projection.
func TestProviderSeesOwnPublishAtOnce(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		a, b := start(t, st), start(t, st)
		p := activeProvider(t, a, assoc("Tukiverkko ry", "0211675-2"))
		q := &cataloguev1.SearchOfferingsRequest{Query: "keramiikka"}
		if got := searchPages(t, b, q); len(got[0].names) != 0 {
			t.Fatalf("before publish: %v", got)
		}
		o := publish(t, a, p.GetName(), offering("Keramiikkakurssi", "Savitöitä", cataloguev1.Category_CATEGORY_CULTURE_AND_LEISURE, 7200))
		if got := searchPages(t, b, q); !slices.Equal(got[0].names, []string{o.GetName()}) {
			t.Fatalf("replica b after publish on a = %v; want %s", got, o.GetName())
		}
		if _, err := b.cc.WithdrawOffering(b.as(t, staff(p.GetName())), &cataloguev1.WithdrawOfferingRequest{Name: o.GetName()}); err != nil {
			t.Fatal(err)
		}
		if got := searchPages(t, a, q); len(got[0].names) != 0 {
			t.Fatalf("replica a after withdrawal on b = %v; want nothing", got)
		}
	})
}
