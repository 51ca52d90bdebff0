package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/polku-hb/polku/platform/apierr"
	"github.com/polku-hb/polku/platform/store"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	assessmentservice "github.com/polku-hb/polku/services/assessment/service"
	"github.com/polku-hb/polku/services/budget/service"
)

// otherBudget gives Olli (the env's second client, in his own shard as far as
// ids go) an ACTIVE budget from a plan of his own.
func (e *env) otherBudget(t *testing.T) *budgetv1.Budget {
	t.Helper()
	res, err := assessmentservice.SeedDemo(e.ac, assessmentservice.DemoInput{Client: e.other, Worker: e.as(t, aino), Manager: e.as(t, mikko),
		Coaching: assessmentservice.DemoService{Offering: coaching, PriceOptionID: "session"},
		Culture:  assessmentservice.DemoService{Offering: museumCard, PriceOptionID: "card"}, Today: time.Now()})
	if err != nil {
		t.Fatalf("assessment demo for Olli: %v", err)
	}
	plan, err := e.ac.GetPlan(e.as(t, aino), &assessmentv1.GetPlanRequest{Name: res.Plan})
	if err != nil || plan.GetActiveRevision() == "" {
		t.Fatalf("plan: %v %v", plan, err)
	}
	b, err := e.bc.CreateBudget(e.as(t, aino), &budgetv1.CreateBudgetRequest{Parent: "clients/" + e.other, RequestId: "r-olli",
		Budget: &budgetv1.Budget{PlanRevision: plan.GetActiveRevision(), DisplayName: "Olli's budget", ManagementMode: budgetv1.ManagementMode_MANAGEMENT_MODE_REGION_PAYS}})
	if err != nil {
		t.Fatalf("CreateBudget: %v", err)
	}
	if _, err := e.bc.ApproveBudget(e.as(t, mikko), &budgetv1.ApproveBudgetRequest{Name: b.GetName(), Justification: "agreed in the team"}); err != nil {
		t.Fatalf("ApproveBudget: %v", err)
	}
	b, err = e.bc.ActivateBudget(e.as(t, aino), &budgetv1.ActivateBudgetRequest{Name: b.GetName()})
	if err != nil {
		t.Fatalf("ActivateBudget: %v", err)
	}
	return b
}

func (e *env) commitFor(t *testing.T, b *budgetv1.Budget, referral string, cents int64) {
	t.Helper()
	if _, err := e.bc.CommitFunds(e.as(t, aino), &budgetv1.CommitFundsRequest{Name: b.GetName(), LineId: b.GetLines()[0].GetId(), AmountCents: cents,
		RequestId: "c-" + referral, Reference: &budgetv1.LedgerReference{Referral: "referrals/" + referral, Provider: "providers/neurocoach"}}); err != nil {
		t.Fatalf("CommitFunds %s: %v", referral, err)
	}
}

func (e *env) spends(t *testing.T, budgets ...*budgetv1.Budget) int {
	t.Helper()
	n := 0
	for _, b := range budgets {
		list, err := e.bc.ListLedgerEntries(e.as(t, mikko), &budgetv1.ListLedgerEntriesRequest{Parent: b.GetName(), PageSize: 100})
		if err != nil {
			t.Fatalf("ListLedgerEntries: %v", err)
		}
		for _, en := range list.GetLedgerEntries() {
			if en.GetKind() == budgetv1.LedgerEntry_SPEND {
				n++
			}
		}
	}
	return n
}

func sessionClaim(referral, invoice string, qty int32) *budgetv1.Claim {
	return &budgetv1.Claim{Referral: "referrals/" + referral, DeliveryDate: today, Unit: cataloguev1.PriceUnit_PRICE_UNIT_SESSION,
		Quantity: qty, UnitPriceCents: 9000, InvoiceNumber: invoice}
}

// Two clients' referrals, one invoice number, many concurrent claims: the
// provider-wide reservation lets exactly one through.
func TestClaimsSameInvoiceAcrossClientsConcurrently(t *testing.T) {
	stores(t, func(tb testing.TB, cs, as, bs store.Store) {
		t := tb.(*testing.T)
		e := start(t, cs, as, bs)
		bt, bo := e.activeBudget(t, "r-race"), e.otherBudget(t)
		e.commitFor(t, bt, "ref-tiina", 90000)
		e.commitFor(t, bo, "ref-olli", 90000)
		const n = 16
		var wg sync.WaitGroup
		errs := make([]error, n)
		pc := e.as(t, coach)
		for i := range n {
			ref := "ref-tiina"
			if i%2 == 1 {
				ref = "ref-olli"
			}
			wg.Go(func() {
				_, errs[i] = e.bc.CreateClaim(pc, &budgetv1.CreateClaimRequest{Parent: "providers/neurocoach",
					Claim: sessionClaim(ref, "RACE-1", 1), RequestId: fmt.Sprintf("rq-%d", i)})
			})
		}
		wg.Wait()
		accepted := 0
		for i, err := range errs {
			switch {
			case err == nil:
				accepted++
			case status.Code(err) == codes.AlreadyExists && apierr.Reason(err) == "DUPLICATE_INVOICE_NUMBER":
			default:
				t.Errorf("claim %d: %v", i, err)
			}
		}
		if accepted != 1 {
			t.Errorf("accepted = %d; want exactly 1", accepted)
		}
		if got := e.spends(t, bt, bo); got != 1 {
			t.Errorf("SPEND entries = %d; want 1", got)
		}
		list, err := e.bc.ListClaims(pc, &budgetv1.ListClaimsRequest{Parent: "providers/neurocoach"})
		if err != nil || len(list.GetClaims()) != 1 {
			t.Errorf("claims = %v, %v", list, err)
		}
	})
}

// A claim refused over the commitment releases the invoice number, so the
// corrected claim (another request id) is accepted.
func TestClaimRefusedLeavesInvoiceUsable(t *testing.T) {
	stores(t, func(tb testing.TB, cs, as, bs store.Store) {
		t := tb.(*testing.T)
		e := start(t, cs, as, bs)
		b := e.activeBudget(t, "r-refused")
		e.commitFor(t, b, "ref-fix", 18000)
		pc := e.as(t, coach)
		_, err := e.bc.CreateClaim(pc, &budgetv1.CreateClaimRequest{Parent: "providers/neurocoach", Claim: sessionClaim("ref-fix", "FIX-1", 3), RequestId: "bad"})
		wantCode(t, "over the commitment", err, codes.FailedPrecondition)
		wantReason(t, "over the commitment", err, "OVER_COMMITMENT")
		got, err := e.bc.CreateClaim(pc, &budgetv1.CreateClaimRequest{Parent: "providers/neurocoach", Claim: sessionClaim("ref-fix", "FIX-1", 2), RequestId: "good"})
		if err != nil || got.GetAmountCents() != 18000 {
			t.Fatalf("corrected claim = %v, %v", got, err)
		}
		if n := e.spends(t, b); n != 1 {
			t.Errorf("SPEND entries = %d; want 1", n)
		}
	})
}

// A crash between the reservation and the spend leaves an orphaned
// reservation: the same request id takes it over and completes; another
// request is refused as a duplicate.
func TestClaimRetryAfterCrashBetweenSteps(t *testing.T) {
	stores(t, func(tb testing.TB, cs, as, bs store.Store) {
		t := tb.(*testing.T)
		e := start(t, cs, as, bs)
		b := e.activeBudget(t, "r-crash")
		e.commitFor(t, b, "ref-crash", 18000)
		// What step 1 of the crashed request left behind (step 2 never ran).
		orphan, _ := json.Marshal(map[string]any{"request_id": "rq-crash", "claim_id": "lost", "time": time.Now().UTC()})
		var batch store.Batch
		if err := bs.Commit(context.Background(), store.ShardOf("neurocoach", service.Shards), batch.Create("invoice/neurocoach/CRASH-1", orphan)); err != nil {
			t.Fatal(err)
		}
		pc := e.as(t, coach)
		_, err := e.bc.CreateClaim(pc, &budgetv1.CreateClaimRequest{Parent: "providers/neurocoach", Claim: sessionClaim("ref-crash", "CRASH-1", 1), RequestId: "rq-other"})
		wantCode(t, "another request on an orphaned reservation", err, codes.AlreadyExists)
		wantReason(t, "another request on an orphaned reservation", err, "DUPLICATE_INVOICE_NUMBER")
		got, err := e.bc.CreateClaim(pc, &budgetv1.CreateClaimRequest{Parent: "providers/neurocoach", Claim: sessionClaim("ref-crash", "CRASH-1", 1), RequestId: "rq-crash"})
		if err != nil || got.GetAmountCents() != 9000 {
			t.Fatalf("retried claim = %v, %v", got, err)
		}
		again, err := e.bc.CreateClaim(pc, &budgetv1.CreateClaimRequest{Parent: "providers/neurocoach", Claim: sessionClaim("ref-crash", "CRASH-1", 1), RequestId: "rq-crash"})
		if err != nil || again.GetName() != got.GetName() {
			t.Errorf("second retry = %v, %v; want %s", again, err, got.GetName())
		}
		if n := e.spends(t, b); n != 1 {
			t.Errorf("SPEND entries = %d; want 1", n)
		}
	})
}

// An orphaned reservation (step 1 written, the request crashed, no request id
// to retry with) blocks its invoice number until the reconciliation pass,
// which frees it once it is older than the grace period; reservations whose
// claim was written, and young orphans, are kept.
func TestReconciliationFreesOrphanedInvoiceNumbers(t *testing.T) {
	stores(t, func(tb testing.TB, cs, as, bs store.Store) {
		t := tb.(*testing.T)
		e := start(t, cs, as, bs)
		b := e.activeBudget(t, "r-orphan")
		e.commitFor(t, b, "ref-orphan", 36000)
		pc := e.as(t, coach)
		ctx := context.Background()
		shard := store.ShardOf("neurocoach", service.Shards)
		// What step 1 of a crashed request without a request id leaves: the
		// reservation and its pending entry (the layout of the budget store).
		orphan := func(invoice string, at time.Time) {
			t.Helper()
			doc, _ := json.Marshal(map[string]any{"claim_id": "lost-" + invoice, "time": at})
			var batch store.Batch
			batch.Create("invoice/neurocoach/"+invoice, doc).
				IndexAdd("resv:pending", at.UTC().Format("2006-01-02T15:04:05.000000000Z"), "neurocoach|"+invoice)
			if err := bs.Commit(ctx, shard, &batch); err != nil {
				t.Fatal(err)
			}
		}
		// The pass below runs with the clock 20 minutes on (grace: 15).
		now := time.Now().UTC()
		orphan("OLD-1", now.Add(-time.Minute))   // 21 minutes old then
		orphan("NEW-1", now.Add(10*time.Minute)) // 10 minutes old then
		paid, err := e.bc.CreateClaim(pc, &budgetv1.CreateClaimRequest{Parent: "providers/neurocoach", Claim: sessionClaim("ref-orphan", "PAID-1", 1), RequestId: "rq-paid"})
		if err != nil {
			t.Fatalf("claim: %v", err)
		}
		_, err = e.bc.CreateClaim(pc, &budgetv1.CreateClaimRequest{Parent: "providers/neurocoach", Claim: sessionClaim("ref-orphan", "OLD-1", 1), RequestId: "rq-a"})
		wantReason(t, "claim on an orphaned number before reconciliation", err, "DUPLICATE_INVOICE_NUMBER")

		// Twenty minutes on: the paid claim's reservation is old too, but has its claim.
		e.svc.SetClock(func() time.Time { return time.Now().Add(20 * time.Minute) })
		n, err := e.svc.ReconcileReservations(ctx)
		if err != nil || n != 1 {
			t.Fatalf("ReconcileReservations = %d, %v; want 1 orphan (OLD-1) cleared", n, err)
		}
		e.svc.SetClock(time.Now)
		if n, err := e.svc.ReconcileReservations(ctx); err != nil || n != 0 {
			t.Errorf("second pass = %d, %v; want nothing left to clear", n, err)
		}
		for _, kept := range []string{"invoice/neurocoach/NEW-1", "invoice/neurocoach/PAID-1"} {
			if _, err := bs.Get(ctx, shard, kept); err != nil {
				t.Errorf("%s after reconciliation: %v; want kept", kept, err)
			}
		}
		if _, err := bs.Get(ctx, shard, "invoice/neurocoach/OLD-1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("orphan OLD-1 after reconciliation: %v; want deleted", err)
		}
		got, err := e.bc.CreateClaim(pc, &budgetv1.CreateClaimRequest{Parent: "providers/neurocoach", Claim: sessionClaim("ref-orphan", "OLD-1", 1), RequestId: "rq-b"})
		if err != nil || got.GetAmountCents() != 9000 {
			t.Fatalf("claim on the freed number = %v, %v", got, err)
		}
		_, err = e.bc.CreateClaim(pc, &budgetv1.CreateClaimRequest{Parent: "providers/neurocoach", Claim: sessionClaim("ref-orphan", "PAID-1", 1), RequestId: "rq-c"})
		wantReason(t, "claim on a paid number", err, "DUPLICATE_INVOICE_NUMBER")
		_, err = e.bc.CreateClaim(pc, &budgetv1.CreateClaimRequest{Parent: "providers/neurocoach", Claim: sessionClaim("ref-orphan", "NEW-1", 1), RequestId: "rq-d"})
		wantReason(t, "claim on a young orphan", err, "DUPLICATE_INVOICE_NUMBER")
		if paid.GetAmountCents() != 9000 || e.spends(t, b) != 2 {
			t.Errorf("SPEND entries = %d; want 2 (PAID-1, OLD-1)", e.spends(t, b))
		}
	})
}
