package service_test

import (
	"context"
	"testing"

	"github.com/polku-hb/polku/platform/store"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	"github.com/polku-hb/polku/services/budget/service"
)

// Seeded budgets are real ledgers: the service's own consistency check (a
// manager's) recomputes the cached balances from the entries and agrees, the
// ledger pages through the API, and money moves on them like on any ACTIVE
// budget.
func TestSeedBulkLedgersAreConsistent(t *testing.T) {
	stores(t, func(t testing.TB, clients, asmt, st store.Store) {
		e := start(t, clients, asmt, st)
		made, err := service.SeedBulk(context.Background(), st, service.BulkBudgetInput{
			Clients: []string{e.tiina, e.other}, Workers: []string{aino.Subject, aino.Subject}, Region: "pirkanmaa",
			Offerings: []service.BulkOffering{{Provider: "neurocoach", Offering: "adhd-coaching", UnitCents: 9500}, {Provider: "museo", Offering: "museum-card", UnitCents: 8900}},
			Entries:   40, Parallel: 2, Part: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range made {
			name := "clients/" + b.Client + "/budgets/" + b.Budget
			rep, err := e.bc.CheckConsistency(e.as(t, mikko), &budgetv1.CheckConsistencyRequest{Name: name})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.GetConsistent() || rep.GetEntriesChecked() != 40 {
				t.Errorf("%s: consistent %v over %d entries (%v); want consistent over 40", name, rep.GetConsistent(), rep.GetEntriesChecked(), rep.GetDifferences())
			}
			page, err := e.bc.ListLedgerEntries(e.as(t, aino), &budgetv1.ListLedgerEntriesRequest{Parent: name, PageSize: 100})
			if err != nil || len(page.GetLedgerEntries()) != 40 {
				t.Fatalf("ledger = %d entries, %v; want 40", len(page.GetLedgerEntries()), err)
			}
			if _, err := e.bc.CommitFunds(e.as(t, aino), &budgetv1.CommitFundsRequest{Name: name, LineId: b.Line, AmountCents: 100, RequestId: "after-seed-" + b.Budget}); err != nil {
				t.Errorf("commit on a seeded budget: %v", err)
			}
		}
	})
}
