package bench

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one scenario's figures.
type Result struct {
	Name        string  `json:"name"`
	Kind        string  `json:"kind"` // "rest" or "grpc"
	Concurrency int     `json:"concurrency"`
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	Seconds     float64 `json:"seconds"`
	RPS         float64 `json:"requests_per_s"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	// FloorRatioP50 and FloorRatioP99 divide by the same percentile of the
	// health check of the same protocol (REST or gRPC) in the same run.
	FloorRatioP50 float64 `json:"floor_ratio_p50,omitempty"`
	FloorRatioP99 float64 `json:"floor_ratio_p99,omitempty"`
}

// run calls op on c goroutines until max calls were made or d elapsed
// (whichever comes first) and measures each call. op gets the call's number.
func run(ctx context.Context, name, kind string, c, maxCalls int, d time.Duration, op func(ctx context.Context, i int) error) Result {
	var next atomic.Int64
	var mu sync.Mutex
	lat := make([]time.Duration, 0, 4096)
	errs := 0
	first := ""
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1024)
			lerrs, lfirst := 0, ""
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if i >= maxCalls {
					break
				}
				t0 := time.Now()
				err := op(ctx, i)
				local = append(local, time.Since(t0))
				if err != nil {
					lerrs++
					if lfirst == "" {
						lfirst = err.Error()
					}
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			errs += lerrs
			if first == "" {
				first = lfirst
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	r := Result{Name: name, Kind: kind, Concurrency: c, Requests: len(lat), Errors: errs, FirstError: first, Seconds: el.Seconds()}
	if el > 0 {
		r.RPS = float64(len(lat)-errs) / el.Seconds()
	}
	r.P50ms, r.P99ms = ms(percentile(lat, 50)), ms(percentile(lat, 99))
	return r
}

// percentile is the nearest-rank percentile.
func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
