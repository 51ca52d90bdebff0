package service_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/polku-hb/polku/platform/store"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
)

func TestReviseBudget(t *testing.T) {
	stores(t, func(tb testing.TB, cs, as, bs store.Store) {
		t := tb.(*testing.T)
		e := start(t, cs, as, bs)
		w := e.as(t, aino)
		b1 := e.activeBudget(t, "r-rev")
		coachLine, museum := b1.GetLines()[0], b1.GetLines()[1]
		c, err := e.bc.CommitFunds(w, &budgetv1.CommitFundsRequest{Name: b1.GetName(), LineId: coachLine.GetId(), AmountCents: 36000, RequestId: "c1",
			Reference: &budgetv1.LedgerReference{Referral: "referrals/ref1", Provider: "providers/neurocoach"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.bc.SpendFunds(w, &budgetv1.SpendFundsRequest{Name: b1.GetName(), LineId: coachLine.GetId(), Commitment: c.GetName(), AmountCents: 9000, DeliveryDate: today, RequestId: "s1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.bc.SpendFunds(w, &budgetv1.SpendFundsRequest{Name: b1.GetName(), LineId: museum.GetId(), AmountCents: 7900, DeliveryDate: today, RequestId: "s2"}); err != nil {
			t.Fatal(err)
		}

		// A newer plan revision (a copy of the active one), approved.
		planName := e.rev[:len(e.rev)-len("/revisions/1")]
		rev2, err := e.ac.RevisePlan(w, &assessmentv1.RevisePlanRequest{Name: planName, Reason: "review"})
		if err != nil {
			t.Fatalf("RevisePlan: %v", err)
		}
		_, err = e.bc.ReviseBudget(w, &budgetv1.ReviseBudgetRequest{Name: b1.GetName(), PlanRevision: rev2.GetName(), RequestId: "rv0"})
		wantReason(t, "revise from a DRAFT plan revision", err, "PLAN_REVISION_NOT_APPROVED")
		if _, err := e.ac.ProposePlanRevision(w, &assessmentv1.ProposePlanRevisionRequest{Name: rev2.GetName()}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ac.ApprovePlanRevision(w, &assessmentv1.ApprovePlanRevisionRequest{Name: rev2.GetName()}); err != nil {
			t.Fatal(err)
		}
		_, err = e.bc.ReviseBudget(w, &budgetv1.ReviseBudgetRequest{Name: b1.GetName(), PlanRevision: e.rev})
		wantCode(t, "revise from the same revision", err, codes.InvalidArgument)

		b2, err := e.bc.ReviseBudget(w, &budgetv1.ReviseBudgetRequest{Name: b1.GetName(), PlanRevision: rev2.GetName(), RequestId: "rv1"})
		if err != nil || b2.GetState() != budgetv1.Budget_DRAFT || b2.GetRevisionNumber() != 2 || b2.GetPreviousBudget() != b1.GetName() {
			t.Fatalf("revision = %v, %v", b2, err)
		}
		again, err := e.bc.ReviseBudget(w, &budgetv1.ReviseBudgetRequest{Name: b1.GetName(), PlanRevision: rev2.GetName(), RequestId: "rv1"})
		if err != nil || again.GetName() != b2.GetName() {
			t.Errorf("retried revise = %v, %v", again.GetName(), err)
		}
		_, err = e.bc.ReviseBudget(w, &budgetv1.ReviseBudgetRequest{Name: b1.GetName(), PlanRevision: rev2.GetName(), RequestId: "rv2"})
		wantReason(t, "a second pending revision", err, "REVISION_PENDING")
		old, _ := e.bc.GetBudget(w, &budgetv1.GetBudgetRequest{Name: b1.GetName()})
		if old.GetState() != budgetv1.Budget_ACTIVE || old.GetNextBudget() != b2.GetName() {
			t.Errorf("predecessor while the revision is a draft = %v", old)
		}
		// Money still moves on the predecessor until the revision is activated.
		if _, err := e.bc.CommitFunds(w, &budgetv1.CommitFundsRequest{Name: b1.GetName(), LineId: coachLine.GetId(), AmountCents: 1000, RequestId: "c2"}); err != nil {
			t.Fatal(err)
		}
		old, _ = e.bc.GetBudget(w, &budgetv1.GetBudgetRequest{Name: b1.GetName()})
		carry := old.GetLines()[0].GetAvailableCents()
		if _, err := e.bc.ApproveBudget(e.as(t, mikko), &budgetv1.ApproveBudgetRequest{Name: b2.GetName(), Justification: "review"}); err != nil {
			t.Fatal(err)
		}
		b2, err = e.bc.ActivateBudget(w, &budgetv1.ActivateBudgetRequest{Name: b2.GetName(), RequestId: "act2"})
		if err != nil {
			t.Fatalf("activate revision: %v", err)
		}
		l := b2.GetLines()[0]
		if l.GetCarriedOverCents() != carry || l.GetCommittedCents() != 27000+1000 || l.GetAllocatedCents() != l.GetPlannedCents()+carry+28000 ||
			l.GetAvailableCents() != l.GetPlannedCents()+carry || b2.GetLines()[1].GetCarriedOverCents() != 0 {
			t.Errorf("revised line = %v (carry %d)", l, carry)
		}
		old, _ = e.bc.GetBudget(w, &budgetv1.GetBudgetRequest{Name: b1.GetName()})
		if old.GetState() != budgetv1.Budget_CLOSED || old.GetCommittedCents() != 0 {
			t.Errorf("predecessor = %v", old)
		}
		entries, _ := e.bc.ListLedgerEntries(w, &budgetv1.ListLedgerEntriesRequest{Parent: b2.GetName()})
		var related []string
		for _, en := range entries.GetLedgerEntries() {
			if en.GetKind() == budgetv1.LedgerEntry_COMMITMENT {
				related = append(related, en.GetRelatedEntry())
			}
		}
		if len(related) != 2 || related[0] != c.GetName() {
			t.Errorf("moved commitments name %v; want the predecessor's %s first", related, c.GetName())
		}
		pc, err := e.bc.GetProviderCommitment(e.as(t, coach), &budgetv1.GetProviderCommitmentRequest{Name: "providers/neurocoach/commitments/ref1"})
		if err != nil || pc.GetOpenCents() != 27000 || pc.GetState() != budgetv1.ProviderCommitment_OPEN {
			t.Errorf("provider view after the move = %v, %v", pc, err)
		}
		for _, n := range []string{b1.GetName(), b2.GetName()} {
			rep, err := e.bc.CheckConsistency(e.as(t, mikko), &budgetv1.CheckConsistencyRequest{Name: n})
			if err != nil || !rep.GetConsistent() {
				t.Errorf("consistency of %s = %v, %v", n, rep, err)
			}
		}
		_, err = e.bc.ReviseBudget(w, &budgetv1.ReviseBudgetRequest{Name: b1.GetName(), PlanRevision: rev2.GetName(), RequestId: "rv3"})
		wantCode(t, "revise a closed budget", err, codes.FailedPrecondition)
	})
}
