package service_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/polku-hb/polku/platform/store"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
)

func TestClaims(t *testing.T) {
	stores(t, func(tb testing.TB, cs, as, bs store.Store) {
		t := tb.(*testing.T)
		e := start(t, cs, as, bs)
		b := e.activeBudget(t, "r-claims")
		line := b.GetLines()[0].GetId()
		c, err := e.bc.CommitFunds(e.as(t, aino), &budgetv1.CommitFundsRequest{Name: b.GetName(), LineId: line, AmountCents: 45000, RequestId: "c1",
			Reference: &budgetv1.LedgerReference{Referral: "referrals/ref1", Provider: "providers/neurocoach"}})
		if err != nil {
			t.Fatal(err)
		}
		pc := e.as(t, coach)
		claim := func(inv string, qty int32, price int64, u cataloguev1.PriceUnit, ref string) *budgetv1.Claim {
			return &budgetv1.Claim{Referral: ref, DeliveryDate: today, Unit: u, Quantity: qty, UnitPriceCents: price, InvoiceNumber: inv}
		}
		session := cataloguev1.PriceUnit_PRICE_UNIT_SESSION
		cases := []struct {
			name   string
			as     string
			claim  *budgetv1.Claim
			rid    string
			code   codes.Code
			reason string
		}{
			{"accepted", "coach", claim("INV-1", 2, 9000, session, "referrals/ref1"), "rq1", codes.OK, ""},
			{"retry of the same request", "coach", claim("INV-1", 2, 9000, session, "referrals/ref1"), "rq1", codes.OK, ""},
			{"duplicate invoice number", "coach", claim("INV-1", 1, 9000, session, "ref1"), "rq2", codes.AlreadyExists, "DUPLICATE_INVOICE_NUMBER"},
			{"price above the pinned price", "coach", claim("INV-2", 1, 9001, session, "ref1"), "", codes.FailedPrecondition, "PRICE_ABOVE_PINNED"},
			{"unit mismatch", "coach", claim("INV-3", 1, 9000, cataloguev1.PriceUnit_PRICE_UNIT_HOUR, "ref1"), "", codes.FailedPrecondition, "UNIT_MISMATCH"},
			{"over the commitment", "coach", claim("INV-4", 4, 9000, session, "ref1"), "", codes.FailedPrecondition, "OVER_COMMITMENT"},
			{"unknown referral", "coach", claim("INV-5", 1, 9000, session, "nope"), "", codes.NotFound, "UNKNOWN_REFERRAL"},
			{"invalid row", "coach", claim("", 0, 9000, session, "ref1"), "", codes.InvalidArgument, "INVALID_ROW"},
			{"another provider", "museo", claim("INV-6", 1, 9000, session, "ref1"), "", codes.NotFound, "UNKNOWN_REFERRAL"},
		}
		var first *budgetv1.Claim
		for _, cse := range cases {
			ctx, parent := pc, "providers/neurocoach"
			if cse.as == "museo" {
				ctx, parent = e.as(t, museo), "providers/museo"
			}
			got, err := e.bc.CreateClaim(ctx, &budgetv1.CreateClaimRequest{Parent: parent, Claim: cse.claim, RequestId: cse.rid})
			wantCode(t, cse.name, err, cse.code)
			if cse.reason != "" {
				wantReason(t, cse.name, err, cse.reason)
			}
			if err == nil {
				if got.GetAmountCents() != 18000 || got.GetSpendEntry() != "" {
					t.Errorf("%s: claim = %v", cse.name, got)
				}
				if first == nil {
					first = got
				} else if got.GetName() != first.GetName() {
					t.Errorf("%s: a second claim %s", cse.name, got.GetName())
				}
			}
		}
		_, err = e.bc.CreateClaim(e.as(t, aino), &budgetv1.CreateClaimRequest{Parent: "providers/neurocoach", Claim: claim("INV-9", 1, 9000, session, "ref1")})
		wantCode(t, "a worker claims", err, codes.PermissionDenied)

		// The bulk file: validated whole, then applied row by row.
		_, err = e.bc.UploadClaims(pc, &budgetv1.UploadClaimsRequest{Parent: "providers/neurocoach", CsvData: []byte("ref,date\nx,y\n")})
		wantCode(t, "bad header", err, codes.InvalidArgument)
		csv := "referral,delivery_date,unit,quantity,unit_price_cents,invoice_number\n" +
			"referrals/ref1,2026-03-01,SESSION,1,9000,INV-10\n" + // accepted
			"ref1,2026-03-08,SESSION,1,9000,INV-10\n" + // repeated in the file
			"ref1,2026-03-08,SESSION,1,9500,INV-11\n" + // price above pinned
			"ref1,2026-13-08,SESSION,1,9000,INV-12\n" + // invalid date
			"ref1,2026-03-15,SESSION,3,9000,INV-13\n" + // over the commitment (18000 open)
			"ref1,2026-03-15,SESSION,1,9000,INV-1\n" + // duplicate of an earlier claim
			"ref1,2026-03-22,SESSION,1,9000,INV-14\n" // accepted, 9000 left open
		dry, err := e.bc.UploadClaims(pc, &budgetv1.UploadClaimsRequest{Parent: "providers/neurocoach", CsvData: []byte(csv), ValidateOnly: true})
		if err != nil || len(dry.GetRows()) != 7 {
			t.Fatalf("validate only = %v, %v", dry, err)
		}
		res, err := e.bc.UploadClaims(pc, &budgetv1.UploadClaimsRequest{Parent: "providers/neurocoach", CsvData: []byte(csv), RequestId: "up1"})
		if err != nil {
			t.Fatal(err)
		}
		want := []budgetv1.ClaimRefusalReason{0, budgetv1.ClaimRefusalReason_CLAIM_REFUSAL_REASON_DUPLICATE_INVOICE_NUMBER,
			budgetv1.ClaimRefusalReason_CLAIM_REFUSAL_REASON_PRICE_ABOVE_PINNED, budgetv1.ClaimRefusalReason_CLAIM_REFUSAL_REASON_INVALID_ROW,
			budgetv1.ClaimRefusalReason_CLAIM_REFUSAL_REASON_OVER_COMMITMENT, budgetv1.ClaimRefusalReason_CLAIM_REFUSAL_REASON_DUPLICATE_INVOICE_NUMBER, 0}
		for i, r := range res.GetRows() {
			if r.GetRefusalReason() != want[i] || r.GetLine() != int32(i+2) || r.GetAccepted() != (want[i] == 0) {
				t.Errorf("row %d = %v; want %v", i, r, want[i])
			}
		}
		if res.GetAcceptedCount() != 2 || res.GetRefusedCount() != 5 {
			t.Errorf("counts = %d/%d", res.GetAcceptedCount(), res.GetRefusedCount())
		}
		again, err := e.bc.UploadClaims(pc, &budgetv1.UploadClaimsRequest{Parent: "providers/neurocoach", CsvData: []byte(csv), RequestId: "up1"})
		if err != nil || again.GetAcceptedCount() != 2 || again.GetRows()[0].GetClaim().GetName() != res.GetRows()[0].GetClaim().GetName() {
			t.Errorf("retried upload = %v, %v", again, err)
		}
		got, _ := e.bc.GetLedgerEntry(e.as(t, aino), &budgetv1.GetLedgerEntryRequest{Name: c.GetName()})
		if got.GetOpenAmountCents() != 9000 {
			t.Errorf("commitment open after claims = %d", got.GetOpenAmountCents())
		}
		list, err := e.bc.ListClaims(pc, &budgetv1.ListClaimsRequest{Parent: "providers/neurocoach"})
		if err != nil || len(list.GetClaims()) != 3 {
			t.Errorf("claims = %v, %v", list, err)
		}
		if _, err := e.bc.GetClaim(pc, &budgetv1.GetClaimRequest{Name: first.GetName()}); err != nil {
			t.Errorf("GetClaim: %v", err)
		}
		_, err = e.bc.GetClaim(e.as(t, museo), &budgetv1.GetClaimRequest{Name: first.GetName()})
		wantCode(t, "another provider's claim", err, codes.PermissionDenied)
		rep, err := e.bc.CheckConsistency(e.as(t, mikko), &budgetv1.CheckConsistencyRequest{Name: b.GetName()})
		if err != nil || !rep.GetConsistent() {
			t.Errorf("consistency = %v, %v", rep, err)
		}
	})
}
