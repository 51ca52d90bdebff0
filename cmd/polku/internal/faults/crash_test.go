//go:build faults

package faults

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/polku-hb/polku/platform/testkit"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	budgetsvc "github.com/polku-hb/polku/services/budget/service"
	clientssvc "github.com/polku-hb/polku/services/clients/service"
)

// attempt is one write a caller made: its idempotency key and, when the call was
// acknowledged, what it answered.
type attempt struct {
	requestID string
	n         int    // the client's individual number, for client creations
	acked     string // resource name answered; "" when the call failed
	code      codes.Code
	took      time.Duration
}

// TestFaultRedisKilledUnderConcurrentWrites runs the all-in-one on a Redis with
// appendfsync always, has workers commit budget funds and create clients
// concurrently through gRPC, SIGKILLs Redis in the middle, restarts it on the
// same AOF and then checks that:
//   - every acknowledged commitment is in the ledger with its amount, and every
//     acknowledged client exists;
//   - nothing is half-applied: the budget's cached balances equal the ledger
//     recomputed (CheckConsistency), every ledger entry has its event in the
//     budget stream and every event its entry, and every client its
//     client.created event;
//   - retrying every request with its request_id (the caller's recovery) makes
//     each write exist exactly once, and the line's committed total grows by
//     exactly the sum of the requests;
//   - the clients timeline files each of those events exactly once.
func TestFaultRedisKilledUnderConcurrentWrites(t *testing.T) {
	rs := testkit.StartRedisServer(t, testkit.RedisOptions{AppendFsync: "always"})
	s, demo := startStack(t, rs.Addr)
	bc := budgetv1.NewBudgetServiceClient(dial(t, s.GRPCAddrs["budget"]))
	cc := clientsv1.NewClientsServiceClient(dial(t, s.GRPCAddrs["clients"]))
	ainoCtx, mikkoCtx := as(t, s, aino), as(t, s, mikko)

	b, err := bc.GetBudget(ainoCtx, &budgetv1.GetBudgetRequest{Name: demo.Budget})
	if err != nil {
		t.Fatalf("GetBudget: %v", err)
	}
	var line *budgetv1.BudgetLine
	for _, l := range b.GetLines() {
		if line == nil || l.GetAvailableCents() > line.GetAvailableCents() {
			line = l
		}
	}
	const amount = 7 // cents; small enough that the line never runs out
	committedBefore := line.GetCommittedCents()

	const workers = 6
	var (
		mu       sync.Mutex
		commits  []*attempt
		creates  []*attempt
		acks     atomic.Int64
		seq      atomic.Int64
		stop     = make(chan struct{})
		killedAt atomic.Int64 // unix nanos, 0 while Redis runs
	)
	// Each worker alternates a commitment and a client creation until stopped.
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c := &attempt{requestID: "fault-" + uuid()}
				ctx, cancel := context.WithTimeout(ainoCtx, 15*time.Second)
				start := time.Now()
				e, err := bc.CommitFunds(ctx, &budgetv1.CommitFundsRequest{Name: demo.Budget, LineId: line.GetId(), AmountCents: amount,
					RequestId: c.requestID, Reference: &budgetv1.LedgerReference{Note: c.requestID}})
				c.took = time.Since(start)
				c.acked, c.code = e.GetName(), status.Code(err)
				cancel()

				n := int(seq.Add(1)) + 100
				k := &attempt{requestID: uuid(), n: n}
				ctx, cancel = context.WithTimeout(ainoCtx, 15*time.Second)
				start = time.Now()
				cl, err := cc.CreateClient(ctx, &clientsv1.CreateClientRequest{Client: newClient(n), CoordinatingWorker: aino.Subject, RequestId: k.requestID})
				k.took = time.Since(start)
				k.acked, k.code = cl.GetName(), status.Code(err)
				cancel()

				mu.Lock()
				commits, creates = append(commits, c), append(creates, k)
				mu.Unlock()
				for _, a := range []*attempt{c, k} {
					if a.acked != "" {
						acks.Add(1)
					}
				}
				if killedAt.Load() != 0 {
					time.Sleep(50 * time.Millisecond) // do not spin while Redis is down
				}
			}
		})
	}

	// Kill Redis once writes are flowing, keep calling while it is down, restart.
	if !eventually(60*time.Second, func() bool { return acks.Load() >= 40 }) {
		t.Fatalf("only %d writes acknowledged before the kill", acks.Load())
	}
	killedAt.Store(time.Now().UnixNano())
	rs.Kill()
	ackedAtKill := acks.Load()
	time.Sleep(2 * time.Second)
	rs.Restart()
	restartedAt := time.Now()
	// Let writes flow again on the restarted server before stopping.
	if !eventually(60*time.Second, func() bool { return acks.Load() >= ackedAtKill+20 }) {
		t.Fatalf("writes did not resume after the restart (%d acknowledged)", acks.Load())
	}
	close(stop)
	wg.Wait()

	failedOf := func(as []*attempt) (n int) {
		for _, a := range as {
			if a.acked == "" {
				n++
			}
		}
		return n
	}
	var failed, slowFailures int
	var slowest time.Duration
	for _, a := range append(append([]*attempt{}, commits...), creates...) {
		if a.acked == "" {
			failed++
			if a.code != codes.Unavailable && a.code != codes.Aborted {
				t.Errorf("a write failed with %v; want UNAVAILABLE (or ABORTED) while Redis was down", a.code)
			}
			if a.took > 5*time.Second {
				slowFailures++
			}
			slowest = max(slowest, a.took)
		}
	}
	t.Logf("%d commitments (%d failed), %d client creations (%d failed); %d acknowledged, %d failed while Redis was down (slowest failure %v); restarted in %v",
		len(commits), failedOf(commits), len(creates), failedOf(creates), acks.Load(), failed, slowest.Round(time.Millisecond), restartedAt.Sub(time.Unix(0, killedAt.Load())).Round(time.Millisecond))
	if failed == 0 {
		t.Errorf("no write failed: Redis was not down while writes were in flight, the test proved nothing")
	}
	if slowFailures > 0 {
		t.Errorf("%d writes took over 5s to fail; a dead Redis must be answered quickly", slowFailures)
	}

	// 1. Every acknowledged write survived the SIGKILL.
	for _, c := range commits {
		if c.acked == "" {
			continue
		}
		e, err := bc.GetLedgerEntry(ainoCtx, &budgetv1.GetLedgerEntryRequest{Name: c.acked})
		if err != nil || e.GetKind() != budgetv1.LedgerEntry_COMMITMENT || e.GetAmountCents() != amount || e.GetReference().GetNote() != c.requestID {
			t.Errorf("acknowledged commitment %s (%s) after restart = %v, %v", c.acked, c.requestID, e, err)
		}
	}
	for _, k := range creates {
		if k.acked == "" {
			continue
		}
		if _, err := cc.GetClient(ainoCtx, &clientsv1.GetClientRequest{Name: k.acked}); err != nil {
			t.Errorf("acknowledged client %s lost after restart: %v", k.acked, err)
		}
	}

	// 2. The caller retries every request with its request_id: an acknowledged
	// one answers the same resource, the others are applied now, once.
	for _, c := range commits {
		e, err := bc.CommitFunds(ainoCtx, &budgetv1.CommitFundsRequest{Name: demo.Budget, LineId: line.GetId(), AmountCents: amount,
			RequestId: c.requestID, Reference: &budgetv1.LedgerReference{Note: c.requestID}})
		if err != nil || (c.acked != "" && e.GetName() != c.acked) {
			t.Errorf("retry of commitment %s = %v, %v; first answer %q", c.requestID, e.GetName(), err, c.acked)
		}
	}
	for _, k := range creates {
		cl, err := cc.CreateClient(ainoCtx, &clientsv1.CreateClientRequest{Client: newClient(k.n), CoordinatingWorker: aino.Subject, RequestId: k.requestID})
		if err != nil || (k.acked != "" && cl.GetName() != k.acked) {
			t.Errorf("retry of client creation %s = %v, %v; first answer %q", k.requestID, cl.GetName(), err, k.acked)
		}
		k.acked = cl.GetName()
	}

	// 3. Exactly one commitment per request, and the line's total adds up.
	perNote := map[string]int{}
	entries := map[string]bool{}      // every entry of the budget
	faultEntries := map[string]bool{} // the commitments this test made
	var pageToken string
	for {
		resp, err := bc.ListLedgerEntries(ainoCtx, &budgetv1.ListLedgerEntriesRequest{Parent: demo.Budget, PageSize: 500, PageToken: pageToken})
		if err != nil {
			t.Fatalf("ListLedgerEntries: %v", err)
		}
		for _, e := range resp.GetLedgerEntries() {
			entries[e.GetName()] = true
			if strings.HasPrefix(e.GetReference().GetNote(), "fault-") {
				perNote[e.GetReference().GetNote()]++
				faultEntries[e.GetName()] = true
			}
		}
		if pageToken = resp.GetNextPageToken(); pageToken == "" {
			break
		}
	}
	for _, c := range commits {
		if perNote[c.requestID] != 1 {
			t.Errorf("request %s has %d commitments in the ledger; want exactly 1", c.requestID, perNote[c.requestID])
		}
	}
	if len(perNote) != len(commits) {
		t.Errorf("ledger has commitments of %d fault requests; %d were made", len(perNote), len(commits))
	}
	after, err := bc.GetBudget(ainoCtx, &budgetv1.GetBudgetRequest{Name: demo.Budget})
	if err != nil {
		t.Fatalf("GetBudget: %v", err)
	}
	for _, l := range after.GetLines() {
		if l.GetId() == line.GetId() {
			if got, want := l.GetCommittedCents(), committedBefore+int64(len(commits))*amount; got != want {
				t.Errorf("line %s committed = %d cents; want %d (before) + %d x %d", l.GetId(), got, committedBefore, len(commits), amount)
			}
		}
	}
	report, err := bc.CheckConsistency(mikkoCtx, &budgetv1.CheckConsistencyRequest{Name: demo.Budget})
	if err != nil || !report.GetConsistent() || len(report.GetDifferences()) > 0 {
		t.Errorf("CheckConsistency = %v, %v; want consistent", report, err)
	}

	// 4. The outbox: each commitment has exactly one ledger_entry.created event
	// and each such event its entry (activation's allocations are announced by
	// one budget event, not per entry); each client exactly one client.created
	// event.
	rc := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rc.Close()
	entryEvents := map[string]int{}
	for _, e := range streamEvents(t, rc, budgetsvc.Namespace, budgetsvc.Shards) {
		if strings.HasSuffix(e.Type, ".ledger_entry.created") {
			entryEvents[e.Data["entry"]]++
			if !entries[e.Data["entry"]] {
				t.Errorf("event %s names ledger entry %s, which does not exist", e.ID, e.Data["entry"])
			}
		}
	}
	for name := range faultEntries {
		if entryEvents[name] != 1 {
			t.Errorf("ledger entry %s has %d events in the budget stream; want 1", name, entryEvents[name])
		}
	}
	created := map[string]string{} // client name -> its client.created event id
	for _, e := range streamEvents(t, rc, clientssvc.Namespace, clientssvc.Shards) {
		if strings.HasSuffix(e.Type, ".client.created") {
			if created[e.Subject] != "" {
				t.Errorf("client %s has two client.created events", e.Subject)
			}
			created[e.Subject] = e.ID
		}
	}
	for _, k := range creates {
		if created[k.acked] == "" {
			t.Errorf("client %s has no client.created event in the stream", k.acked)
		}
	}

	// 5. The timeline consumers (they were cut off by the kill too) file every
	// client's creation exactly once. An event whose handling failed while Redis
	// was down stays pending and is claimed again after the consumer's ClaimAfter
	// (30s, checked every 15s): hence the long wait.
	timelineDeadline := time.Now().Add(60 * time.Second)
	for _, k := range creates {
		var got map[string]int
		ok := eventually(time.Until(timelineDeadline), func() bool {
			resp, err := cc.ListTimelineEvents(ainoCtx, &clientsv1.ListTimelineEventsRequest{Parent: k.acked, PageSize: 100})
			if err != nil {
				return false
			}
			got = map[string]int{}
			for _, ev := range resp.GetTimelineEvents() {
				got[ev.GetName()]++
			}
			return got[k.acked+"/timelineEvents/"+created[k.acked]] >= 1
		})
		if !ok {
			t.Errorf("timeline of %s never showed its creation; has %v", k.acked, got)
		}
		for name, n := range got {
			if n != 1 {
				t.Errorf("timeline of %s lists %s %d times", k.acked, name, n)
			}
		}
	}
	t.Logf("every timeline complete %v after the restart", time.Since(restartedAt).Round(time.Millisecond))
}
