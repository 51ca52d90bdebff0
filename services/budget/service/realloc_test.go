package service_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/polku-hb/polku/platform/store"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
)

func TestReallocateAndRefund(t *testing.T) {
	stores(t, func(tb testing.TB, cs, as, bs store.Store) {
		t := tb.(*testing.T)
		e := start(t, cs, as, bs)
		b := e.activeBudget(t, "r-realloc")
		w := e.as(t, aino)
		from, to := b.GetLines()[0], b.GetLines()[1]
		workerMax := b.GetAllocatedCents() * 2000 / 10000
		cases := []struct {
			name   string
			as     string
			amount int64
			reason string
			code   codes.Code
			errRsn string
		}{
			{"without reason", "aino", 1000, "", codes.InvalidArgument, ""},
			{"worker above the limit", "aino", workerMax + 1, "x", codes.PermissionDenied, "ABOVE_REALLOCATION_LIMIT"},
			{"worker within the limit", "aino", 10000, "more museum visits", codes.OK, ""},
			{"manager above the worker limit", "mikko", workerMax + 1, "agreed", codes.OK, ""},
			{"more than available", "mikko", from.GetAvailableCents(), "x", codes.FailedPrecondition, "INSUFFICIENT_FUNDS"},
		}
		for i, c := range cases {
			ctx := w
			if c.as == "mikko" {
				ctx = e.as(t, mikko)
			}
			res, err := e.bc.ReallocateFunds(ctx, &budgetv1.ReallocateFundsRequest{Name: b.GetName(), FromLineId: from.GetId(), ToLineId: to.GetId(),
				AmountCents: c.amount, Reason: c.reason, RequestId: "re" + string(rune('a'+i))})
			wantCode(t, c.name, err, c.code)
			if c.errRsn != "" {
				wantReason(t, c.name, err, c.errRsn)
			}
			if err == nil && (res.GetFromEntry().GetAmountCents() != -c.amount || res.GetToEntry().GetAmountCents() != c.amount ||
				res.GetFromEntry().GetRelatedEntry() != res.GetToEntry().GetName() || res.GetToEntry().GetRelatedEntry() != res.GetFromEntry().GetName()) {
				t.Errorf("%s: %v", c.name, res)
			}
		}
		got, _ := e.bc.GetBudget(w, &budgetv1.GetBudgetRequest{Name: b.GetName()})
		moved := 10000 + workerMax + 1
		if got.GetLines()[1].GetAllocatedCents() != to.GetAllocatedCents()+moved || got.GetAllocatedCents() != b.GetAllocatedCents() {
			t.Errorf("after reallocation = %v", got.GetLines())
		}

		sp, err := e.bc.SpendFunds(w, &budgetv1.SpendFundsRequest{Name: b.GetName(), LineId: to.GetId(), AmountCents: 5000, DeliveryDate: today, RequestId: "sp"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.bc.RefundFunds(w, &budgetv1.RefundFundsRequest{Name: b.GetName(), SpendEntry: sp.GetName(), AmountCents: 3000, Reason: "returned", RequestId: "rf1"}); err != nil {
			t.Fatal(err)
		}
		_, err = e.bc.RefundFunds(w, &budgetv1.RefundFundsRequest{Name: b.GetName(), SpendEntry: sp.GetName(), AmountCents: 2001, Reason: "again", RequestId: "rf2"})
		wantReason(t, "refund beyond the spend", err, "INSUFFICIENT_FUNDS")
		rf, err := e.bc.RefundFunds(w, &budgetv1.RefundFundsRequest{Name: b.GetName(), SpendEntry: sp.GetName(), AmountCents: 2000, Reason: "rest", RequestId: "rf3"})
		if err != nil || rf.GetRelatedEntry() != sp.GetName() {
			t.Fatalf("refund = %v, %v", rf, err)
		}
		got, _ = e.bc.GetBudget(w, &budgetv1.GetBudgetRequest{Name: b.GetName()})
		if got.GetSpentCents() != 0 {
			t.Errorf("spent after full refund = %d", got.GetSpentCents())
		}
		rep, err := e.bc.CheckConsistency(e.as(t, mikko), &budgetv1.CheckConsistencyRequest{Name: b.GetName()})
		if err != nil || !rep.GetConsistent() {
			t.Errorf("consistency = %v, %v", rep, err)
		}
	})
}
