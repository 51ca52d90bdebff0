package dev

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/testkit"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
)

// benchConcurrency is the fixed number of concurrent callers.
const benchConcurrency = 8

// BenchmarkSendReferralREST measures the end-to-end figure: a worker's
// REST send-referral through the gateway (consent packet from clients and
// assessment, offering from catalogue, a 1-cent commitment in budget), with
// every service instrumented and spans recorded, at fixed concurrency; in the
// same run a bare gRPC health check is the floor. b.N is the number of sends.
// Reported: sends/s, p50 and p99 of the send, the floor's p50 and p99, and the
// ratio of the p50s. Run: go test -run '^$' -bench SendReferral ./cmd/polku/internal/dev
// (POLKU_BENCH_STORE=redis for Redis).
func BenchmarkSendReferralREST(b *testing.B) {
	opts := Options{}
	if os.Getenv("POLKU_BENCH_STORE") == "redis" {
		opts = Options{Store: "redis", RedisAddrs: []string{testkit.StartRedis(b)}}
	}
	addrs := map[string]string{}
	for _, n := range []string{"clients", "assessment", "budget", "catalogue", "referral"} {
		addrs[n] = "127.0.0.1:0"
	}
	s, err := Start(context.Background(), Options{
		DataDir: b.TempDir(), GatewayAddr: "127.0.0.1:0", ServiceAddrs: addrs, Log: io.Discard,
		SpanExporter: tracetest.NewNoopExporter(), Store: opts.Store, RedisAddrs: opts.RedisAddrs,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Stop()
	demo, err := SeedDemo(context.Background(), s)
	if err != nil {
		b.Fatal(err)
	}
	aino := auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion, Unit: "family-services"}
	tok, _ := s.Token(aino, time.Hour)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok, "x-polku-purpose", "benchmark")
	dial := func(name string) *grpc.ClientConn { return dialService(b, s, name) }
	rc := referralv1.NewReferralServiceClient(dial("referral"))
	coachID := demo.Providers["neurocoach"]
	offs, err := cataloguev1.NewCatalogueServiceClient(dial("catalogue")).ListOfferings(ctx, &cataloguev1.ListOfferingsRequest{Parent: "providers/" + coachID})
	if err != nil || len(offs.GetOfferings()) == 0 {
		b.Fatalf("coach offerings: %v", err)
	}
	bud, err := budgetv1.NewBudgetServiceClient(dial("budget")).GetBudget(ctx, &budgetv1.GetBudgetRequest{Name: demo.Budget})
	if err != nil {
		b.Fatal(err)
	}
	line := ""
	for _, l := range bud.GetLines() {
		if strings.HasPrefix(l.GetOffering(), "providers/"+coachID+"/") {
			line = l.GetId()
		}
	}

	// Drafts are made before the clock starts: only the send is measured.
	drafts := make([]string, b.N)
	for i := range drafts {
		d, err := rc.CreateReferral(ctx, &referralv1.CreateReferralRequest{RequestId: fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i), Referral: &referralv1.Referral{
			Client: "clients/" + demo.Tiina, SendingUnit: "bench", RecipientOffering: offs.GetOfferings()[0].GetName(),
			Urgency: referralv1.Urgency_URGENCY_ROUTINE, SendingResponsible: &referralv1.ResponsiblePerson{DisplayName: "Aino"},
			Commitment: &referralv1.BudgetCommitment{Budget: demo.Budget, LineId: line, AmountCents: 1}}})
		if err != nil {
			b.Fatalf("CreateReferral: %v", err)
		}
		drafts[i] = d.GetName()
	}
	health := healthpb.NewHealthClient(dial("clients"))

	b.ResetTimer()
	start := time.Now()
	sends, sendErrs := runConcurrent(len(drafts), func(i int) error {
		req, _ := http.NewRequest(http.MethodPost, s.GatewayURL+"/v1/"+drafts[i]+":send", bytes.NewReader([]byte(`{"acknowledge_no_capacity":true}`)))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("X-Polku-Purpose", "benchmark")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	elapsed := time.Since(start)
	b.StopTimer()
	floor, floorErrs := runConcurrent(len(drafts), func(int) error {
		_, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{})
		return err
	})
	if sendErrs > 0 || floorErrs > 0 {
		b.Errorf("errors: %d sends, %d health checks", sendErrs, floorErrs)
	}
	p50, p99 := percentile(sends, 50), percentile(sends, 99)
	f50, f99 := percentile(floor, 50), percentile(floor, 99)
	b.ReportMetric(float64(len(sends))/elapsed.Seconds(), "sends/s")
	b.ReportMetric(ms(p50), "p50_ms")
	b.ReportMetric(ms(p99), "p99_ms")
	b.ReportMetric(ms(f50), "floor_p50_ms")
	b.ReportMetric(ms(f99), "floor_p99_ms")
	if f50 > 0 {
		b.ReportMetric(float64(p50)/float64(f50), "p50_ratio_to_floor")
	}
}

// runConcurrent runs n calls of f on benchConcurrency goroutines and returns
// each call's latency and the number of failed calls.
func runConcurrent(n int, f func(i int) error) ([]time.Duration, int) {
	var mu sync.Mutex
	lat := make([]time.Duration, 0, n)
	errs := 0
	next := make(chan int)
	var wg sync.WaitGroup
	for range benchConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t0 := time.Now()
				err := f(i)
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				if err != nil {
					errs++
				}
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return lat, errs
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
