package service_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/store"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
)

func metadata(err error) map[string]string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetMetadata()
		}
	}
	return nil
}

var today = &date.Date{Year: 2026, Month: 3, Day: 2}

func TestBudgetLifecycle(t *testing.T) {
	stores(t, func(tb testing.TB, cs, as, bs store.Store) {
		t := tb.(*testing.T)
		e := start(t, cs, as, bs)
		w := e.as(t, aino)
		create := func(rid string) (*budgetv1.Budget, error) {
			return e.bc.CreateBudget(w, &budgetv1.CreateBudgetRequest{Parent: e.parent, RequestId: rid,
				Budget: &budgetv1.Budget{PlanRevision: e.rev, ManagementMode: budgetv1.ManagementMode_MANAGEMENT_MODE_CLIENT_MANAGED}})
		}
		b, err := create("r-create")
		if err != nil {
			t.Fatalf("CreateBudget: %v", err)
		}
		if b.GetState() != budgetv1.Budget_DRAFT || len(b.GetLines()) != 2 || !b.GetRequiresManagerApproval() || b.GetAllocatedCents() != 0 {
			t.Fatalf("created = %v", b)
		}
		var planned int64
		for _, l := range b.GetLines() {
			if l.GetPlannedCents() <= 0 || l.GetId() == "" || l.GetUnit() == 0 || l.GetUnitAmountCents() <= 0 {
				t.Errorf("line %v", l)
			}
			planned += l.GetPlannedCents()
		}
		again, err := create("r-create")
		if err != nil || again.GetName() != b.GetName() {
			t.Errorf("retried create = %v, %v; want %s", again.GetName(), err, b.GetName())
		}

		_, err = e.bc.CreateBudget(w, &budgetv1.CreateBudgetRequest{Parent: e.parent, Budget: &budgetv1.Budget{PlanRevision: e.rev}})
		wantCode(t, "create without mode", err, codes.InvalidArgument)
		_, err = e.bc.CreateBudget(w, &budgetv1.CreateBudgetRequest{Parent: e.parent, Budget: &budgetv1.Budget{
			PlanRevision: e.parent + "/plans/nope/revisions/1", ManagementMode: budgetv1.ManagementMode_MANAGEMENT_MODE_REGION_PAYS}})
		wantCode(t, "create from a missing revision", err, codes.NotFound)

		upd, err := e.bc.UpdateBudget(w, &budgetv1.UpdateBudgetRequest{UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name", "management_mode"}},
			Budget: &budgetv1.Budget{Name: b.GetName(), Etag: b.GetEtag(), DisplayName: "Tiinan budjetti", ManagementMode: budgetv1.ManagementMode_MANAGEMENT_MODE_ASSISTANT_MANAGED}})
		if err != nil || upd.GetDisplayName() != "Tiinan budjetti" || upd.GetManagementMode() != budgetv1.ManagementMode_MANAGEMENT_MODE_ASSISTANT_MANAGED {
			t.Fatalf("UpdateBudget = %v, %v", upd, err)
		}
		_, err = e.bc.UpdateBudget(w, &budgetv1.UpdateBudgetRequest{UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
			Budget: &budgetv1.Budget{Name: b.GetName(), Etag: b.GetEtag(), DisplayName: "x"}})
		wantCode(t, "update with a stale etag", err, codes.Aborted)
		_, err = e.bc.UpdateBudget(e.as(t, e.client), &budgetv1.UpdateBudgetRequest{UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
			Budget: &budgetv1.Budget{Name: b.GetName(), Etag: upd.GetEtag(), DisplayName: "x"}})
		wantCode(t, "the client updates", err, codes.PermissionDenied)
		b = upd
		steps := []struct {
			name   string
			as     auth.Principal
			do     func(ctx context.Context) error
			code   codes.Code
			reason string
		}{
			{"commit on a draft", aino, func(ctx context.Context) error {
				_, err := e.bc.CommitFunds(ctx, &budgetv1.CommitFundsRequest{Name: b.GetName(), LineId: b.GetLines()[0].GetId(), AmountCents: 100, RequestId: "c0"})
				return err
			}, codes.FailedPrecondition, "BUDGET_NOT_ACTIVE"},
			{"activate a draft", aino, func(ctx context.Context) error {
				_, err := e.bc.ActivateBudget(ctx, &budgetv1.ActivateBudgetRequest{Name: b.GetName()})
				return err
			}, codes.FailedPrecondition, "ILLEGAL_TRANSITION"},
			{"worker approves above the limit", aino, func(ctx context.Context) error {
				_, err := e.bc.ApproveBudget(ctx, &budgetv1.ApproveBudgetRequest{Name: b.GetName()})
				return err
			}, codes.PermissionDenied, "ABOVE_AUTHORITY_LIMIT"},
			{"manager without justification", mikko, func(ctx context.Context) error {
				_, err := e.bc.ApproveBudget(ctx, &budgetv1.ApproveBudgetRequest{Name: b.GetName()})
				return err
			}, codes.InvalidArgument, ""},
			{"stale etag", mikko, func(ctx context.Context) error {
				_, err := e.bc.ApproveBudget(ctx, &budgetv1.ApproveBudgetRequest{Name: b.GetName(), Justification: "x", Etag: `W/"99"`})
				return err
			}, codes.Aborted, ""},
			{"manager approves", mikko, func(ctx context.Context) error {
				got, err := e.bc.ApproveBudget(ctx, &budgetv1.ApproveBudgetRequest{Name: b.GetName(), Justification: "agreed in the team", Etag: b.GetEtag()})
				if err == nil && (got.GetState() != budgetv1.Budget_APPROVED || got.GetApproval().GetAuthorityLimitCents() != limit) {
					return fmt.Errorf("approved = %v", got)
				}
				return err
			}, codes.OK, ""},
			{"activate", aino, func(ctx context.Context) error {
				got, err := e.bc.ActivateBudget(ctx, &budgetv1.ActivateBudgetRequest{Name: b.GetName(), RequestId: "act"})
				if err == nil && (got.GetState() != budgetv1.Budget_ACTIVE || got.GetAllocatedCents() != planned || got.GetAvailableCents() != planned || got.GetLastEntrySequence() != 2) {
					return fmt.Errorf("activated = %v", got)
				}
				return err
			}, codes.OK, ""},
			{"activate again with the same request id", aino, func(ctx context.Context) error {
				got, err := e.bc.ActivateBudget(ctx, &budgetv1.ActivateBudgetRequest{Name: b.GetName(), RequestId: "act"})
				if err == nil && got.GetLastEntrySequence() != 2 {
					return fmt.Errorf("retry wrote entries: %v", got)
				}
				return err
			}, codes.OK, ""},
			{"close without reason", aino, func(ctx context.Context) error {
				_, err := e.bc.CloseBudget(ctx, &budgetv1.CloseBudgetRequest{Name: b.GetName()})
				return err
			}, codes.InvalidArgument, ""},
		}
		for _, s := range steps {
			err := s.do(e.as(t, s.as))
			wantCode(t, s.name, err, s.code)
			if s.reason != "" {
				wantReason(t, s.name, err, s.reason)
			}
		}
	})
}

func TestLedger(t *testing.T) {
	stores(t, func(tb testing.TB, cs, as, bs store.Store) {
		t := tb.(*testing.T)
		e := start(t, cs, as, bs)
		b := e.activeBudget(t, "r-ledger")
		w := e.as(t, aino)
		line := b.GetLines()[0] // coaching
		museum := b.GetLines()[1]

		c, err := e.bc.CommitFunds(w, &budgetv1.CommitFundsRequest{Name: b.GetName(), LineId: line.GetId(), AmountCents: 36000, RequestId: "c1",
			Reference: &budgetv1.LedgerReference{Referral: "referrals/r1", Provider: "providers/neurocoach"}})
		if err != nil || c.GetKind() != budgetv1.LedgerEntry_COMMITMENT || c.GetSequence() != 3 || c.GetOpenAmountCents() != 36000 {
			t.Fatalf("commit = %v, %v", c, err)
		}
		// Overspend: FAILED_PRECONDITION with the available amount; nothing written.
		avail := line.GetAvailableCents() - 36000
		_, err = e.bc.CommitFunds(w, &budgetv1.CommitFundsRequest{Name: b.GetName(), LineId: line.GetId(), AmountCents: avail + 1, RequestId: "c-over"})
		wantCode(t, "overcommit", err, codes.FailedPrecondition)
		wantReason(t, "overcommit", err, "INSUFFICIENT_FUNDS")
		if md := metadata(err); md["available_cents"] != fmt.Sprint(avail) || md["line_id"] != line.GetId() {
			t.Errorf("overcommit metadata = %v; want available_cents %d", md, avail)
		}
		// Spend against the commitment, at most its amount.
		s1, err := e.bc.SpendFunds(w, &budgetv1.SpendFundsRequest{Name: b.GetName(), LineId: line.GetId(), Commitment: c.GetName(), AmountCents: 27000,
			DeliveryDate: today, RequestId: "s1", Reference: &budgetv1.LedgerReference{InvoiceNumber: "INV-1"}})
		if err != nil || s1.GetCommitment() != c.GetName() {
			t.Fatalf("spend = %v, %v", s1, err)
		}
		_, err = e.bc.SpendFunds(w, &budgetv1.SpendFundsRequest{Name: b.GetName(), LineId: line.GetId(), Commitment: c.GetName(), AmountCents: 9001, DeliveryDate: today, RequestId: "s2"})
		wantReason(t, "spend beyond the commitment", err, "INSUFFICIENT_FUNDS")
		_, err = e.bc.SpendFunds(w, &budgetv1.SpendFundsRequest{Name: b.GetName(), LineId: museum.GetId(), Commitment: c.GetName(), AmountCents: 1, DeliveryDate: today, RequestId: "s3"})
		wantCode(t, "spend on another line", err, codes.InvalidArgument)
		_, err = e.bc.SpendFunds(w, &budgetv1.SpendFundsRequest{Name: b.GetName(), LineId: line.GetId(), AmountCents: 1, RequestId: "s4"})
		wantCode(t, "spend without a delivery date", err, codes.InvalidArgument)
		_, err = e.bc.CommitFunds(w, &budgetv1.CommitFundsRequest{Name: b.GetName(), LineId: line.GetId(), AmountCents: 1})
		wantCode(t, "commit without request id", err, codes.InvalidArgument)
		// A receipt straight from the museum line (80 % alert), then release the rest of the commitment.
		if _, err := e.bc.SpendFunds(w, &budgetv1.SpendFundsRequest{Name: b.GetName(), LineId: museum.GetId(), AmountCents: 7000, DeliveryDate: today, RequestId: "s5"}); err != nil {
			t.Fatalf("receipt: %v", err)
		}
		r, err := e.bc.ReleaseFunds(w, &budgetv1.ReleaseFundsRequest{Name: b.GetName(), Commitment: c.GetName(), Reason: "the referral ended", RequestId: "rel1"})
		if err != nil || r.GetAmountCents() != 9000 {
			t.Fatalf("release = %v, %v", r, err)
		}
		_, err = e.bc.ReleaseFunds(w, &budgetv1.ReleaseFundsRequest{Name: b.GetName(), Commitment: c.GetName(), Reason: "again", RequestId: "rel2"})
		wantCode(t, "release of a closed commitment", err, codes.InvalidArgument)
		_, err = e.bc.AdjustFunds(w, &budgetv1.AdjustFundsRequest{Name: b.GetName(), LineId: museum.GetId(), AmountCents: 1000, Reason: "price rose", RequestId: "adj"})
		wantCode(t, "worker adjusts", err, codes.PermissionDenied)
		if _, err := e.bc.AdjustFunds(e.as(t, mikko), &budgetv1.AdjustFundsRequest{Name: b.GetName(), LineId: museum.GetId(), AmountCents: 1000, Reason: "price rose", RequestId: "adj"}); err != nil {
			t.Fatalf("adjust: %v", err)
		}

		st, err := e.bc.GetStatement(e.as(t, e.client), &budgetv1.GetStatementRequest{Name: b.GetName() + "/statement", IncludeEntries: true})
		if err != nil {
			t.Fatalf("statement: %v", err)
		}
		if st.GetSpentCents() != 34000 || st.GetCommittedCents() != 0 || st.GetAllocatedCents() != b.GetAllocatedCents()+1000 ||
			st.GetAvailableCents() != b.GetAllocatedCents()+1000-34000 || st.GetLastEntrySequence() != 7 || len(st.GetMonths()) != 1 || len(st.GetMonths()[0].GetEntries()) != 7 {
			t.Errorf("statement = %v", st)
		}
		list, err := e.bc.ListLedgerEntries(w, &budgetv1.ListLedgerEntriesRequest{Parent: b.GetName(), PageSize: 5})
		if err != nil || len(list.GetLedgerEntries()) != 5 || list.GetNextPageToken() == "" || list.GetLedgerEntries()[4].GetSequence() != 5 {
			t.Fatalf("list = %v, %v", list, err)
		}
		list, err = e.bc.ListLedgerEntries(w, &budgetv1.ListLedgerEntriesRequest{Parent: b.GetName(), PageSize: 5, PageToken: list.GetNextPageToken()})
		if err != nil || len(list.GetLedgerEntries()) != 2 || list.GetNextPageToken() != "" {
			t.Fatalf("list page 2 = %v, %v", list, err)
		}
		got, err := e.bc.GetLedgerEntry(e.as(t, e.sanna), &budgetv1.GetLedgerEntryRequest{Name: c.GetName()})
		if err != nil || got.GetOpenAmountCents() != 0 || got.GetAmountCents() != 36000 {
			t.Errorf("commitment now = %v, %v", got, err)
		}
		rep, err := e.bc.CheckConsistency(e.as(t, mikko), &budgetv1.CheckConsistencyRequest{Name: b.GetName()})
		if err != nil || !rep.GetConsistent() || rep.GetEntriesChecked() != 7 {
			t.Errorf("consistency = %v, %v", rep, err)
		}
		_, err = e.bc.CheckConsistency(w, &budgetv1.CheckConsistencyRequest{Name: b.GetName()})
		wantCode(t, "worker checks consistency", err, codes.PermissionDenied)

		// Closing releases open commitments.
		c2, err := e.bc.CommitFunds(w, &budgetv1.CommitFundsRequest{Name: b.GetName(), LineId: line.GetId(), AmountCents: 1000, RequestId: "c9"})
		if err != nil {
			t.Fatal(err)
		}
		closed, err := e.bc.CloseBudget(w, &budgetv1.CloseBudgetRequest{Name: b.GetName(), Reason: "plan ended", RequestId: "close"})
		if err != nil || closed.GetState() != budgetv1.Budget_CLOSED || closed.GetCommittedCents() != 0 || closed.GetLastEntrySequence() != 9 {
			t.Fatalf("closed = %v, %v", closed, err)
		}
		got, _ = e.bc.GetLedgerEntry(w, &budgetv1.GetLedgerEntryRequest{Name: c2.GetName()})
		if got.GetOpenAmountCents() != 0 {
			t.Errorf("commitment after close = %v", got)
		}
		_, err = e.bc.CommitFunds(w, &budgetv1.CommitFundsRequest{Name: b.GetName(), LineId: line.GetId(), AmountCents: 1, RequestId: "c10"})
		wantReason(t, "commit on a closed budget", err, "BUDGET_NOT_ACTIVE")
		rep, err = e.bc.CheckConsistency(e.as(t, mikko), &budgetv1.CheckConsistencyRequest{Name: b.GetName()})
		if err != nil || !rep.GetConsistent() {
			t.Errorf("consistency after close = %v, %v", rep, err)
		}
	})
}

func TestAuthorization(t *testing.T) {
	stores(t, func(tb testing.TB, cs, as, bs store.Store) {
		t := tb.(*testing.T)
		e := start(t, cs, as, bs)
		b := e.activeBudget(t, "r-auth")
		line := b.GetLines()[0].GetId()
		c, err := e.bc.CommitFunds(e.as(t, aino), &budgetv1.CommitFundsRequest{Name: b.GetName(), LineId: line, AmountCents: 18000, RequestId: "c1",
			Reference: &budgetv1.LedgerReference{Referral: "referrals/ref-coach", Provider: "providers/neurocoach"}})
		if err != nil {
			t.Fatal(err)
		}
		reads := []struct {
			who  string
			p    auth.Principal
			want codes.Code
		}{
			{"coordinating worker", aino, codes.OK},
			{"region manager", mikko, codes.OK},
			{"the client", e.client, codes.OK},
			{"her assistant", e.sanna, codes.OK},
			{"another client", e.otherMe, codes.PermissionDenied},
			{"a worker outside the team", pekka, codes.PermissionDenied},
			{"another region's manager", lapland, codes.PermissionDenied},
			{"a provider", coach, codes.PermissionDenied},
		}
		for _, r := range reads {
			ctx := e.as(t, r.p)
			_, err := e.bc.GetBudget(ctx, &budgetv1.GetBudgetRequest{Name: b.GetName()})
			wantCode(t, r.who+" GetBudget", err, r.want)
			_, err = e.bc.GetStatement(ctx, &budgetv1.GetStatementRequest{Name: b.GetName() + "/statement"})
			wantCode(t, r.who+" GetStatement", err, r.want)
			_, err = e.bc.ListLedgerEntries(ctx, &budgetv1.ListLedgerEntriesRequest{Parent: b.GetName()})
			wantCode(t, r.who+" ListLedgerEntries", err, r.want)
			_, err = e.bc.ListBudgets(ctx, &budgetv1.ListBudgetsRequest{Parent: e.parent})
			wantCode(t, r.who+" ListBudgets", err, r.want)
		}
		// Money moves: the team and managers only.
		for _, p := range []auth.Principal{e.client, e.sanna, pekka, coach, lapland} {
			_, err := e.bc.CommitFunds(e.as(t, p), &budgetv1.CommitFundsRequest{Name: b.GetName(), LineId: line, AmountCents: 1, RequestId: "x-" + p.Subject})
			wantCode(t, string(p.Role)+" "+p.Subject+" commits", err, codes.PermissionDenied)
		}
		// Providers: only the commitment of a referral sent to them, amount and reference only.
		pc, err := e.bc.GetProviderCommitment(e.as(t, coach), &budgetv1.GetProviderCommitmentRequest{Name: "providers/neurocoach/commitments/ref-coach"})
		if err != nil || pc.GetAmountCents() != 18000 || pc.GetOpenCents() != 18000 || pc.GetReferral() != "referrals/ref-coach" ||
			pc.GetState() != budgetv1.ProviderCommitment_OPEN || pc.GetUnitAmountCents() != 9000 {
			t.Fatalf("provider commitment = %v, %v", pc, err)
		}
		_, err = e.bc.GetProviderCommitment(e.as(t, museo), &budgetv1.GetProviderCommitmentRequest{Name: "providers/museo/commitments/ref-coach"})
		wantCode(t, "another provider's referral", err, codes.NotFound)
		_, err = e.bc.GetProviderCommitment(e.as(t, museo), &budgetv1.GetProviderCommitmentRequest{Name: "providers/neurocoach/commitments/ref-coach"})
		wantCode(t, "another provider's path", err, codes.PermissionDenied)
		_, err = e.bc.GetProviderCommitment(e.as(t, aino), &budgetv1.GetProviderCommitmentRequest{Name: "providers/neurocoach/commitments/ref-coach"})
		wantCode(t, "a worker on the provider view", err, codes.PermissionDenied)
		list, err := e.bc.ListProviderCommitments(e.as(t, coach), &budgetv1.ListProviderCommitmentsRequest{Parent: "providers/neurocoach"})
		if err != nil || len(list.GetProviderCommitments()) != 1 {
			t.Errorf("coach's commitments = %v, %v", list, err)
		}
		list, err = e.bc.ListProviderCommitments(e.as(t, museo), &budgetv1.ListProviderCommitmentsRequest{Parent: "providers/museo"})
		if err != nil || len(list.GetProviderCommitments()) != 0 {
			t.Errorf("museo's commitments = %v, %v", list, err)
		}
		if _, err := e.bc.SpendFunds(e.as(t, aino), &budgetv1.SpendFundsRequest{Name: b.GetName(), LineId: line, Commitment: c.GetName(), AmountCents: 18000, DeliveryDate: today, RequestId: "s"}); err != nil {
			t.Fatal(err)
		}
		pc, _ = e.bc.GetProviderCommitment(e.as(t, coach), &budgetv1.GetProviderCommitmentRequest{Name: "providers/neurocoach/commitments/ref-coach"})
		if pc.GetState() != budgetv1.ProviderCommitment_SPENT || pc.GetClaimedCents() != 18000 {
			t.Errorf("spent provider commitment = %v", pc)
		}
	})
}

// TestConcurrentCommits: 64 goroutines commit against one line through gRPC;
// the line never goes below zero and the accepted commitments are exactly
// what the ledger shows.
func TestConcurrentCommits(t *testing.T) {
	stores(t, func(tb testing.TB, cs, as, bs store.Store) {
		t := tb.(*testing.T)
		e := start(t, cs, as, bs)
		b := e.activeBudget(t, "r-conc")
		line := b.GetLines()[0]
		const workers = 64
		amount := line.GetAvailableCents()/workers*3/2 + 1 // about two thirds can be accepted
		ctx := e.as(t, aino)
		var accepted, refused, accSum atomic.Int64
		var wg sync.WaitGroup
		for i := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.bc.CommitFunds(ctx, &budgetv1.CommitFundsRequest{Name: b.GetName(), LineId: line.GetId(), AmountCents: amount, RequestId: fmt.Sprintf("conc-%d", i)})
				switch {
				case err == nil:
					accepted.Add(1)
					accSum.Add(amount)
				case status.Code(err) == codes.FailedPrecondition:
					refused.Add(1)
				default:
					t.Errorf("commit %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		got, err := e.bc.GetBudget(ctx, &budgetv1.GetBudgetRequest{Name: b.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		gl := got.GetLines()[0]
		wantAccepted := line.GetAvailableCents() / amount
		if accepted.Load() != wantAccepted || gl.GetCommittedCents() != accSum.Load() || gl.GetAvailableCents() < 0 ||
			got.GetLastEntrySequence() != 2+accepted.Load() {
			t.Errorf("accepted %d (want %d), refused %d, sum %d; line = %v, last seq %d", accepted.Load(), wantAccepted, refused.Load(), accSum.Load(), gl, got.GetLastEntrySequence())
		}
		var ledgerSum int64
		entries, err := e.bc.ListLedgerEntries(ctx, &budgetv1.ListLedgerEntriesRequest{Parent: b.GetName(), PageSize: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range entries.GetLedgerEntries() {
			if en.GetKind() == budgetv1.LedgerEntry_COMMITMENT {
				ledgerSum += en.GetAmountCents()
			}
		}
		if ledgerSum != accSum.Load() {
			t.Errorf("ledger commitments %d; accepted %d", ledgerSum, accSum.Load())
		}
		rep, err := e.bc.CheckConsistency(e.as(t, mikko), &budgetv1.CheckConsistencyRequest{Name: b.GetName()})
		if err != nil || !rep.GetConsistent() {
			t.Errorf("consistency = %v, %v", rep, err)
		}
	})
}

// TestConcurrentRetry: the same request_id sent 10 times at once makes exactly
// one entry, and every caller gets that entry.
func TestConcurrentRetry(t *testing.T) {
	stores(t, func(tb testing.TB, cs, as, bs store.Store) {
		t := tb.(*testing.T)
		e := start(t, cs, as, bs)
		b := e.activeBudget(t, "r-retry")
		ctx := e.as(t, aino)
		names := make([]string, 10)
		var wg sync.WaitGroup
		for i := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				en, err := e.bc.CommitFunds(ctx, &budgetv1.CommitFundsRequest{Name: b.GetName(), LineId: b.GetLines()[0].GetId(), AmountCents: 500, RequestId: "same-request"})
				if err != nil {
					t.Errorf("commit %d: %v", i, err)
					return
				}
				names[i] = en.GetName()
			}()
		}
		wg.Wait()
		for _, n := range names {
			if n != names[0] || n == "" {
				t.Errorf("entries %v; want one", names)
				break
			}
		}
		got, _ := e.bc.GetBudget(ctx, &budgetv1.GetBudgetRequest{Name: b.GetName()})
		if got.GetLastEntrySequence() != 3 || got.GetCommittedCents() != 500 {
			t.Errorf("budget after retries = seq %d committed %d; want 3, 500", got.GetLastEntrySequence(), got.GetCommittedCents())
		}
	})
}
