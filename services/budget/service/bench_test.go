package service_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polku-hb/polku/platform/store"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
)

// BenchmarkCommit measures CommitFunds through loopback gRPC (with the real
// clients service answering the relationship check of every call) on one hot
// budget, where every commit races for the same balance document, and spread
// over many budgets (POLKU_BENCH_BUDGETS, default 100). It reports p50 and
// p99 latency in milliseconds and commits per second.
//
//	go test -run '^$' -bench Commit ./services/budget/...
func BenchmarkCommit(b *testing.B) {
	n := 100
	if v, err := strconv.Atoi(os.Getenv("POLKU_BENCH_BUDGETS")); err == nil && v > 0 {
		n = v
	}
	for _, mode := range []struct {
		name    string
		budgets int
	}{{"hot", 1}, {fmt.Sprintf("spread-%d", n), n}} {
		b.Run(mode.name, func(b *testing.B) {
			stores(b, func(tb testing.TB, cs, as, bs store.Store) {
				b := tb.(*testing.B)
				e := start(b, cs, as, bs)
				budgets := make([]*budgetv1.Budget, mode.budgets)
				for i := range budgets {
					budgets[i] = e.activeBudget(b, fmt.Sprintf("bench-%d", i))
				}
				ctx := e.as(b, aino)
				var seq atomic.Int64
				var mu sync.Mutex
				lat := make([]time.Duration, 0, b.N)
				b.SetParallelism(8) // 8 x GOMAXPROCS concurrent callers
				b.ResetTimer()
				begin := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					local := make([]time.Duration, 0, 1024)
					for pb.Next() {
						i := seq.Add(1)
						bud := budgets[int(i)%len(budgets)]
						t0 := time.Now()
						_, err := e.bc.CommitFunds(ctx, &budgetv1.CommitFundsRequest{Name: bud.GetName(), LineId: bud.GetLines()[0].GetId(),
							AmountCents: 1, RequestId: "b-" + strconv.FormatInt(i, 10)})
						if err != nil {
							b.Errorf("commit: %v", err)
							return
						}
						local = append(local, time.Since(t0))
					}
					mu.Lock()
					lat = append(lat, local...)
					mu.Unlock()
				})
				elapsed := time.Since(begin)
				b.StopTimer()
				if len(lat) == 0 {
					return
				}
				slices.Sort(lat)
				ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / float64(time.Millisecond) }
				b.ReportMetric(ms(0.50), "p50_ms")
				b.ReportMetric(ms(0.99), "p99_ms")
				b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "commits/s")
			})
		})
	}
}
