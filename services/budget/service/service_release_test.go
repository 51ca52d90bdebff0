package service_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/store"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
)

// The referral service releases a referral's commitment with its own SERVICE
// identity when a provider or the client ends the referral without service;
// a service may do nothing else with money: not commit, not release a
// commitment that was not made for a referral.
func TestServiceReleasesReferralCommitmentsOnly(t *testing.T) {
	stores(t, func(tb testing.TB, cs, as, bs store.Store) {
		t := tb.(*testing.T)
		e := start(t, cs, as, bs)
		b := e.activeBudget(t, "r-svc")
		w := e.as(t, aino)
		svc := e.as(t, auth.Principal{Subject: "svc-referral", Role: auth.RoleService})
		line := b.GetLines()[0]
		forReferral, err := e.bc.CommitFunds(w, &budgetv1.CommitFundsRequest{Name: b.GetName(), LineId: line.GetId(), AmountCents: 5000, RequestId: "c-ref",
			Reference: &budgetv1.LedgerReference{Referral: "referrals/r1", Provider: "providers/neurocoach"}})
		if err != nil {
			t.Fatal(err)
		}
		plain, err := e.bc.CommitFunds(w, &budgetv1.CommitFundsRequest{Name: b.GetName(), LineId: line.GetId(), AmountCents: 700, RequestId: "c-plain"})
		if err != nil {
			t.Fatal(err)
		}

		_, err = e.bc.CommitFunds(svc, &budgetv1.CommitFundsRequest{Name: b.GetName(), LineId: line.GetId(), AmountCents: 1, RequestId: "c-svc",
			Reference: &budgetv1.LedgerReference{Referral: "referrals/r1"}})
		wantCode(t, "service commits", err, codes.PermissionDenied)
		_, err = e.bc.ReleaseFunds(svc, &budgetv1.ReleaseFundsRequest{Name: b.GetName(), Commitment: plain.GetName(), Reason: "x", RequestId: "rel-plain"})
		wantCode(t, "service releases a commitment not made for a referral", err, codes.PermissionDenied)
		r, err := e.bc.ReleaseFunds(svc, &budgetv1.ReleaseFundsRequest{Name: b.GetName(), Commitment: forReferral.GetName(), Reason: "ended without service", RequestId: "rel-ref"})
		if err != nil || r.GetAmountCents() != 5000 || r.GetReference().GetReferral() != "referrals/r1" {
			t.Fatalf("service release of the referral's commitment = %v, %v", r, err)
		}
		got, err := e.bc.GetBudget(w, &budgetv1.GetBudgetRequest{Name: b.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		if c := got.GetLines()[0].GetCommittedCents(); c != 700 {
			t.Errorf("line committed = %d, want 700 (only the plain commitment left)", c)
		}
	})
}
