//go:build faults

package faults

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/polku-hb/polku/platform/testkit"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
)

// TestFaultRedisUnavailable takes Redis away for some seconds, either frozen
// (SIGSTOP: connections hang, the worst case for timeouts) or dead (SIGKILL, then
// restarted on its AOF), and checks that:
//   - calls answer UNAVAILABLE well before their deadline instead of hanging;
//   - every service's gRPC readiness turns NOT_SERVING;
//   - both recover by themselves once Redis is back, no service restarted;
//   - a money move whose outcome the caller could not know (it answered
//     UNAVAILABLE, but a frozen Redis may still run the script once it thaws)
//     is settled by retrying its request_id: exactly one ledger entry.
func TestFaultRedisUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name       string
		down, back func(r *testkit.RedisServer)
	}{
		{"frozen", (*testkit.RedisServer).Pause, (*testkit.RedisServer).Resume},
		{"killed", (*testkit.RedisServer).Kill, (*testkit.RedisServer).Restart},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := testkit.StartRedisServer(t, testkit.RedisOptions{AppendFsync: "always"})
			s, demo := startStack(t, rs.Addr)
			bc := budgetv1.NewBudgetServiceClient(dial(t, s.GRPCAddrs["budget"]))
			cc := clientsv1.NewClientsServiceClient(dial(t, s.GRPCAddrs["clients"]))
			ainoCtx := as(t, s, aino)
			health := map[string]healthpb.HealthClient{}
			for name, addr := range s.GRPCAddrs {
				health[name] = healthpb.NewHealthClient(dial(t, addr))
			}
			b, err := bc.GetBudget(ainoCtx, &budgetv1.GetBudgetRequest{Name: demo.Budget})
			if err != nil {
				t.Fatalf("GetBudget: %v", err)
			}
			lineID := b.GetLines()[0].GetId()
			for _, l := range b.GetLines() {
				if l.GetAvailableCents() > 100 {
					lineID = l.GetId()
				}
			}
			commit := func(ctx context.Context, requestID string) (*budgetv1.LedgerEntry, error) {
				return bc.CommitFunds(ctx, &budgetv1.CommitFundsRequest{Name: demo.Budget, LineId: lineID, AmountCents: 3,
					RequestId: requestID, Reference: &budgetv1.LedgerReference{Note: requestID}})
			}
			wantHealth := func(want healthpb.HealthCheckResponse_ServingStatus) time.Duration {
				t.Helper()
				start := time.Now()
				for name, h := range health {
					var got healthpb.HealthCheckResponse_ServingStatus
					var err error
					ok := eventually(15*time.Second, func() bool {
						ctx, cancel := context.WithTimeout(context.Background(), time.Second)
						defer cancel()
						var r *healthpb.HealthCheckResponse
						r, err = h.Check(ctx, &healthpb.HealthCheckRequest{})
						got = r.GetStatus()
						return err == nil && got == want
					})
					if !ok {
						t.Fatalf("%s health = %v, %v; want %v", name, got, err, want)
					}
				}
				return time.Since(start)
			}
			wantHealth(healthpb.HealthCheckResponse_SERVING)

			tc.down(rs)
			downAt := time.Now()
			wantHealth(healthpb.HealthCheckResponse_NOT_SERVING)
			t.Logf("every service NOT_SERVING %v after Redis went down", time.Since(downAt).Round(time.Millisecond))

			// Calls with a generous deadline answer UNAVAILABLE long before it.
			const deadline = 20 * time.Second
			calls := map[string]func(ctx context.Context) error{
				"GetBudget": func(ctx context.Context) error {
					_, err := bc.GetBudget(ctx, &budgetv1.GetBudgetRequest{Name: demo.Budget})
					return err
				},
				"GetClient": func(ctx context.Context) error {
					_, err := cc.GetClient(ctx, &clientsv1.GetClientRequest{Name: "clients/" + demo.Tiina})
					return err
				},
				"CommitFunds": func(ctx context.Context) error {
					_, err := commit(ctx, "outage-"+tc.name)
					return err
				},
			}
			for name, call := range calls {
				ctx, cancel := context.WithTimeout(ainoCtx, deadline)
				start := time.Now()
				err := call(ctx)
				took := time.Since(start)
				cancel()
				t.Logf("%s while Redis is %s: %v after %v", name, tc.name, status.Code(err), took.Round(time.Millisecond))
				if status.Code(err) != codes.Unavailable {
					t.Errorf("%s while Redis is %s = %v; want UNAVAILABLE", name, tc.name, err)
				}
				if took > deadline/3 {
					t.Errorf("%s took %v to fail; want well under its %v deadline", name, took, deadline)
				}
			}
			if rest := 5*time.Second - time.Since(downAt); rest > 0 {
				time.Sleep(rest) // stay down a while: pools and health loops keep failing
			}

			tc.back(rs)
			backAt := time.Now()
			wantHealth(healthpb.HealthCheckResponse_SERVING)
			t.Logf("every service SERVING again %v after Redis came back", time.Since(backAt).Round(time.Millisecond))
			if !eventually(10*time.Second, func() bool {
				ctx, cancel := context.WithTimeout(ainoCtx, 5*time.Second)
				defer cancel()
				return calls["GetBudget"](ctx) == nil && calls["GetClient"](ctx) == nil
			}) {
				t.Fatalf("calls do not succeed again after Redis came back")
			}

			// The caller does not know whether the commitment made during the
			// outage happened (a frozen Redis runs the script it had received
			// once it thaws): its retry settles it, once.
			applied := false
			if resp, err := bc.ListLedgerEntries(ainoCtx, &budgetv1.ListLedgerEntriesRequest{Parent: demo.Budget, PageSize: 500}); err == nil {
				for _, le := range resp.GetLedgerEntries() {
					applied = applied || le.GetReference().GetNote() == "outage-"+tc.name
				}
			}
			t.Logf("the commitment answered UNAVAILABLE during the outage was applied anyway: %v", applied)
			e, err := commit(ainoCtx, "outage-"+tc.name)
			if err != nil {
				t.Fatalf("retry of the commitment made during the outage: %v", err)
			}
			resp, err := bc.ListLedgerEntries(ainoCtx, &budgetv1.ListLedgerEntriesRequest{Parent: demo.Budget, PageSize: 500})
			if err != nil {
				t.Fatalf("ListLedgerEntries: %v", err)
			}
			n := 0
			for _, le := range resp.GetLedgerEntries() {
				if le.GetReference().GetNote() == "outage-"+tc.name {
					n++
					if le.GetName() != e.GetName() {
						t.Errorf("ledger entry %s for the outage request; the retry answered %s", le.GetName(), e.GetName())
					}
				}
			}
			if n != 1 {
				t.Errorf("the outage request has %d ledger entries; want exactly 1", n)
			}
		})
	}
}
