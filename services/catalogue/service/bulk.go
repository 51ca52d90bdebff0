package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/polku-hb/polku/platform/ids"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/catalogue/internal/catalogue"
	repo "github.com/polku-hb/polku/services/catalogue/internal/store"
	"golang.org/x/sync/errgroup"
)

// BulkOfferingsPerProvider is how many offerings SeedBulk gives each provider.
const BulkOfferingsPerProvider = 10

// BulkOffering names one offering SeedBulk wrote (for other seeders to refer to).
type BulkOffering struct {
	Provider string // provider id
	Offering string // offering id
	Price    int64  // the cents of its first price option
}

// SeedBulk writes n published offerings of ACTIVE providers (ten per provider)
// straight into the store for load tests: valid domain objects (validated as
// the API would) committed through the repository's own Change, one atomic
// batch per provider, so keys, search indexes and price versions are exactly
// what the service writes. No events and no change log are written: a seeded
// catalogue has no history. part makes the generated names differ between
// calls; workers is the number of parallel committers.
func SeedBulk(ctx context.Context, st store.Store, n, part, workers int) ([]BulkOffering, error) {
	if st.Shards() != Shards {
		return nil, fmt.Errorf("catalogue bulk: store has %d shards, want %d", st.Shards(), Shards)
	}
	r := repo.New(st)
	providers := (n + BulkOfferingsPerProvider - 1) / BulkOfferingsPerProvider
	out := make([][]BulkOffering, providers)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 1))
	for i := range providers {
		g.Go(func() error {
			k := min(BulkOfferingsPerProvider, n-i*BulkOfferingsPerProvider)
			ch, made, err := bulkProvider(part, i, k)
			if err == nil {
				err = r.Commit(gctx, ch)
			}
			if err != nil {
				return fmt.Errorf("catalogue bulk provider %d: %w", i, err)
			}
			out[i] = made
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return slices.Concat(out...), nil
}

var (
	bulkPrefixes = []string{"Pirkan", "Hämeen", "Järvi", "Koski", "Metsä", "Kangas", "Ranta", "Sydän", "Kalevan", "Tammer"}
	bulkSuffixes = []string{"tuki ry", "hoiva Oy", "valmennus Oy", "palvelut", "kulttuuri ry", "liikunta ry", "perhetalo", "kuntoutus Oy"}
	bulkTopics   = []struct {
		fi, en string
		cat    catalogue.Category
	}{
		{"Perhetyö", "Family work", catalogue.CategoryFamily},
		{"Kotipalvelu", "Home help", 2},
		{"Neuropsykiatrinen valmennus", "Neuropsychiatric coaching", 3},
		{"Vertaistukiryhmä", "Peer support group", 8},
		{"Museokäynti", "Museum visit", catalogue.CategoryCultureLeisure},
		{"Uimahallikortti", "Swimming hall card", catalogue.CategoryCultureLeisure},
		{"Työpaja nuorille", "Workshop for young people", 5},
		{"Päihdekuntoutus", "Substance-abuse rehabilitation", 6},
		{"Kuljetuspalvelu", "Transport service", 7},
		{"Musiikkiterapia", "Music therapy", 3},
		{"Ryhmäliikunta", "Group exercise", 10},
		{"Asumisen tuki", "Housing support", 11},
	}
	bulkAdjectives = []string{"lapsiperheille", "nuorille", "ikäihmisille", "kotona", "ryhmässä", "etänä", "arki-iltaisin", "viikonloppuisin"}
	bulkAreas      = []string{"837", "536", "980", "211", "604", "418", "091", "049", "092", "564", "853", "179"}
	bulkLanguages  = []string{"fi", "sv", "en"}
)

// bulkProvider builds provider i of a part with k published offerings.
func bulkProvider(part, i, k int) (*repo.Change, []BulkOffering, error) {
	rng := rand.New(rand.NewPCG(uint64(part), uint64(i)))
	now := time.Now().UTC().Add(-time.Duration(rng.IntN(365*24)) * time.Hour)
	id := ids.New()
	shard := repo.ShardOf(id)
	areas := []string{bulkAreas[rng.IntN(len(bulkAreas))], bulkAreas[rng.IntN(len(bulkAreas))]}
	slices.Sort(areas)
	areas = slices.Compact(areas)
	p := catalogue.NewProvider(id, catalogue.Provider{
		DisplayName:  fmt.Sprintf("%s%s %d-%d", bulkPrefixes[rng.IntN(len(bulkPrefixes))], bulkSuffixes[rng.IntN(len(bulkSuffixes))], part, i),
		Kind:         catalogue.ProviderKind(1 + rng.IntN(3)),
		BusinessID:   bulkBusinessID(rng),
		Description:  catalogue.Text{Fi: "Kuormitustestin palveluntuottaja."},
		ServiceAreas: areas,
		Languages:    bulkLanguages[:1+rng.IntN(len(bulkLanguages))],
	}, now)
	if err := catalogue.ValidateProvider(p, "provider."); err != nil {
		return nil, nil, err
	}
	if err := p.Verify(now); err != nil {
		return nil, nil, err
	}
	ch := &repo.Change{ProviderID: id, Provider: p, Current: p}
	made := make([]BulkOffering, 0, k)
	for j := range k {
		t := bulkTopics[rng.IntN(len(bulkTopics))]
		adj := bulkAdjectives[rng.IntN(len(bulkAdjectives))]
		cents := int64(500 + rng.IntN(200)*100)
		c := catalogue.Content{
			Title:         catalogue.Text{Fi: t.fi + " " + adj, En: t.en},
			Description:   catalogue.Text{Fi: fmt.Sprintf("%s %s: palvelu %d tarjoaa tukea arkeen.", t.fi, adj, j)},
			Category:      t.cat,
			DeliveryModes: []catalogue.DeliveryMode{catalogue.DeliveryMode(1 + rng.IntN(4))},
			Prices: []catalogue.PriceOption{{ID: "unit", Unit: catalogue.PriceUnit(1 + rng.IntN(3)), Amount: cents,
				VATRate: int32(rng.IntN(2)) * 2550, Label: catalogue.Text{Fi: "Käynti"}}},
			ResponseDeadline: catalogue.DefaultResponseDeadline,
			StartDeadline:    catalogue.DefaultStartDeadline,
		}
		if err := catalogue.ValidateOffering(&c, catalogue.CapacityYes, 0, "offering."); err != nil {
			return nil, nil, err
		}
		o := catalogue.NewOffering(ids.NewInShard(shard, Shards), id, c, catalogue.Capacity(1+rng.IntN(3)), 0, now)
		if o.Capacity == catalogue.CapacityWaitlist {
			o.WaitingBand = catalogue.WaitingBand(1 + rng.IntN(4))
		}
		if err := o.Submit(now); err != nil {
			return nil, nil, err
		}
		if _, err := o.Publish(nil, now); err != nil {
			return nil, nil, err
		}
		ch.Offerings = append(ch.Offerings, repo.OfferingWrite{Offering: o})
		ch.NewPrices = append(ch.NewPrices, catalogue.PriceVersion{OfferingID: o.ID, N: o.PriceVersion, Prices: slices.Clone(o.Pub.Prices), Effective: now})
		made = append(made, BulkOffering{Provider: id, Offering: o.ID, Price: cents})
	}
	return ch, made, nil
}

// bulkBusinessID draws a business ID with a valid check digit (see
// catalogue.ValidBusinessID); remainder 1 is never issued, so it draws again.
func bulkBusinessID(rng *rand.Rand) string {
	weights := [7]int{7, 9, 10, 5, 8, 4, 2}
	for {
		n := 1_000_000 + rng.IntN(8_999_999)
		digits := fmt.Sprintf("%07d", n)
		sum := 0
		for i, w := range weights {
			sum += int(digits[i]-'0') * w
		}
		switch r := sum % 11; r {
		case 0:
			return digits + "-0"
		case 1:
			continue
		default:
			return fmt.Sprintf("%s-%d", digits, 11-r)
		}
	}
}
