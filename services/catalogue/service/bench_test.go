package service_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/polku-hb/polku/platform/ids"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/store/embedded"
	"github.com/polku-hb/polku/platform/store/redisstore"
	"github.com/polku-hb/polku/platform/testkit"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	"github.com/polku-hb/polku/services/catalogue/internal/catalogue"
	repo "github.com/polku-hb/polku/services/catalogue/internal/store"
	"github.com/polku-hb/polku/services/catalogue/service"
)

// BenchOfferingsEnv sets how many live offerings BenchmarkSearch seeds.
const BenchOfferingsEnv = "POLKU_BENCH_OFFERINGS"

var benchWords = strings.Fields(`perhetyö perheille perheen vanhemmuus vanhemmille lapsiperheet nuorille nuorten
valmennus valmentaja ohjaus neuvonta tukea tukihenkilö vertaistuki vertaisryhmä ryhmä ryhmässä kerho
kurssi kurssit opisto museo museokortti teatteri konsertti liikunta uinti kuntosali retki leiri
velkaneuvonta talousneuvonta asumisneuvonta asuminen työllisyys työkokeilu koulutus opiskelu kieli suomen
mielenterveys päihde kuntoutus terapia keskustelu kriisi arki arjen kotiapu kotikäynti siivous kuljetus
ikääntyneet omaishoitajat maahanmuuttajat vammaiset erityislapsi adhd autismi neuropsykiatrinen toiminnanohjaus
ruoka ruokailu yhteisö vapaaehtoinen ystävä kummitoiminta harrastus musiikki taide käsityö keramiikka kirjasto`)

var benchMunicipalities = []string{"837", "536", "980", "211", "604", "418", "091", "049", "092", "235", "564", "853", "179", "398", "405", "286", "444", "698", "743", "905"}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchSize() int {
	if n, err := strconv.Atoi(os.Getenv(BenchOfferingsEnv)); err == nil && n > 0 {
		return n
	}
	return 20000
}

func pick[T any](r *rand.Rand, list []T, n int) []T {
	out := make([]T, 0, n)
	for len(out) < n {
		v := list[r.IntN(len(list))]
		out = append(out, v)
	}
	return out
}

func uniq(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// seeded names one offering written by seedBench.
type seeded struct{ provider, offering string }

// seedBench writes n live offerings of n/100 providers straight through the
// repository (one atomic batch per provider), which is what the use cases write
// but without the per-call round trips.
func seedBench(b testing.TB, st store.Store, n int) []seeded {
	return seedCatalogue(b, st, n, 1)
}

// seedCatalogue is seedBench with a random seed (and Polish, a language not
// carried in summaries, on some offerings).
func seedCatalogue(b testing.TB, st store.Store, n int, seed uint64) []seeded {
	r := rand.New(rand.NewPCG(seed, 2))
	rp := repo.New(st)
	now := time.Now().UTC()
	perProvider := 100
	var out []seeded
	for made := 0; made < n; {
		pid := ids.New()
		prov := &catalogue.Provider{
			ID: pid, DisplayName: "Provider " + pid, Kind: catalogue.ProviderKind(1 + r.IntN(4)), BusinessID: "0211675-2",
			ServiceAreas: uniq(pick(r, benchMunicipalities, 1+r.IntN(3))), Languages: []string{"fi"},
			State: catalogue.ProviderActive, CreateTime: now, UpdateTime: now, VerifyTime: now,
		}
		ch := &repo.Change{ProviderID: pid, Provider: prov, Current: prov}
		for i := 0; i < perProvider && made < n; i++ {
			c := catalogue.Content{
				Title:         catalogue.Text{Fi: strings.Join(pick(r, benchWords, 2+r.IntN(2)), " ")},
				Description:   catalogue.Text{Fi: strings.Join(pick(r, benchWords, 8+r.IntN(6)), " ") + "."},
				Category:      catalogue.Category(1 + r.IntN(11)),
				DeliveryModes: []catalogue.DeliveryMode{catalogue.DeliveryMode(1 + r.IntN(4))},
				ServiceAreas:  uniq(pick(r, benchMunicipalities, 1+r.IntN(4))),
				Languages:     []string{"fi"},
				Prices:        []catalogue.PriceOption{{ID: "unit", Unit: catalogue.PriceUnit(1 + r.IntN(7)), Amount: int64(r.IntN(20000))}},
			}
			if r.IntN(4) == 0 {
				c.Languages = append(c.Languages, "sv")
			}
			if r.IntN(3) == 0 {
				c.Languages = append(c.Languages, "en")
			}
			if r.IntN(20) == 0 {
				c.Languages = append(c.Languages, "so")
			}
			if seed != 1 && r.IntN(10) == 0 {
				c.Languages = append(c.Languages, "pl")
			}
			if r.IntN(10) == 0 {
				c.Title.En = "english " + strings.Join(pick(r, benchWords, 2), " ")
			}
			o := catalogue.NewOffering(ids.NewInShard(repo.ShardOf(pid), repo.Shards), pid, c, catalogue.Capacity(1+r.IntN(3)), catalogue.WaitingBand(r.IntN(5)), now.Add(-time.Duration(r.IntN(1e6))*time.Second))
			pub := c.Clone()
			o.Pub, o.State, o.PriceVersion, o.PublishTime = &pub, catalogue.Published, 1, now
			ch.Offerings = append(ch.Offerings, repo.OfferingWrite{Offering: o})
			ch.NewPrices = append(ch.NewPrices, catalogue.PriceVersion{OfferingID: o.ID, N: 1, Prices: slices.Clone(pub.Prices), Effective: now})
			out = append(out, seeded{"providers/" + pid, "providers/" + pid + "/offerings/" + o.ID})
			made++
		}
		if err := rp.Commit(context.Background(), ch); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	return out
}

var benchQueries = []*cataloguev1.SearchOfferingsRequest{
	{Query: "perhe"},
	{Query: "valmennus nuorille"},
	{Query: "museo", Municipalities: []string{"837"}},
	{Query: "velkaneuvonta", OrderBy: "price"},
	{Query: "ryhmä", AcceptingReferrals: true, OrderBy: "waiting_time"},
	{Municipalities: []string{"837"}, Categories: []cataloguev1.Category{cataloguev1.Category_CATEGORY_FAMILY_AND_PARENTING}},
	{Municipalities: []string{"091", "049"}, OrderBy: "price", MaxUnitPriceCents: 5000},
	{Languages: []string{"so"}, Query: "tukea"},
	{},
	{Query: "kurssi", Languages: []string{"sv"}, DeliveryModes: []cataloguev1.DeliveryMode{cataloguev1.DeliveryMode_DELIVERY_MODE_GROUP}},
}

// BenchmarkSearch measures SearchOfferings through loopback gRPC over a seeded
// catalogue (size from POLKU_BENCH_OFFERINGS, default 20,000) on both stores,
// cycling through typical worker queries, and reports p50/p99 latency.
func BenchmarkSearch(b *testing.B) {
	n := benchSize()
	run := func(b *testing.B, st store.Store) {
		t0 := time.Now()
		seedBench(b, st, n)
		b.Logf("seeded %d offerings in %v", n, time.Since(t0).Round(time.Millisecond))
		heap := func() uint64 {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			return m.HeapAlloc
		}
		before := heap()
		e := start(b, st)
		ctx := e.tok.As(b, aino)
		// What a replica does at start: load its search projection.
		t0 = time.Now()
		if err := e.svc.LoadSearch(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.Logf("projection load %v", time.Since(t0).Round(time.Millisecond))
		// Live heap of the replica (projection, gRPC server, client), kept
		// reachable until measured.
		after := heap()
		heapMB := float64(after-min(before, after)) / (1 << 20)
		runtime.KeepAlive(e)
		for _, q := range benchQueries { // warm up and check
			if _, err := e.cc.SearchOfferings(ctx, q); err != nil {
				b.Fatalf("SearchOfferings(%v): %v", q, err)
			}
		}
		if os.Getenv("POLKU_BENCH_VERBOSE") != "" {
			for _, q := range benchQueries {
				var ds []time.Duration
				var total int32
				for range 15 {
					t0 := time.Now()
					r, _ := e.cc.SearchOfferings(ctx, q)
					ds = append(ds, time.Since(t0))
					total = r.GetTotalSize()
				}
				slices.Sort(ds)
				b.Logf("%-90v total %6d median %v", q, total, ds[len(ds)/2])
			}
		}
		lat := make([]time.Duration, 0, b.N)
		cpu0 := cpuTime()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			t0 := time.Now()
			if _, err := e.cc.SearchOfferings(ctx, benchQueries[i%len(benchQueries)]); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		b.StopTimer()
		cpu := cpuTime() - cpu0
		slices.Sort(lat)
		if len(lat) > 0 {
			p := func(q float64) float64 {
				return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(p(0.50), "p50_ms")
			b.ReportMetric(p(0.99), "p99_ms")
			b.ReportMetric(float64(n), "offerings")
			b.ReportMetric(heapMB, "replica_heap_MB")
			// CPU this process spent per search (gRPC client and server, store
			// reads, the projection): the work, whatever else runs on the host.
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(len(lat)), "cpu_ms/op")
		}
	}
	b.Run(fmt.Sprintf("embedded/%d", n), func(b *testing.B) {
		db, err := embedded.Open(filepath.Join(b.TempDir(), "polku.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		run(b, db.Namespace(service.Namespace, service.Shards))
	})
	b.Run(fmt.Sprintf("redis/%d", n), func(b *testing.B) {
		// No client retries: a batch retried after a read timeout on this busy
		// machine would be applied twice (and then refused as a conflict).
		rc := redis.NewClient(&redis.Options{Addr: testkit.StartRedis(b), ReadTimeout: 30 * time.Second, MaxRetries: -1})
		b.Cleanup(func() { rc.Close() })
		run(b, redisstore.New(rc, service.Namespace, service.Shards))
	})
}
