package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/polku-hb/polku/cmd/polku/internal/dev"
	"github.com/polku-hb/polku/platform/boot"
	budgetsvc "github.com/polku-hb/polku/services/budget/service"
	cataloguesvc "github.com/polku-hb/polku/services/catalogue/service"
	clientssvc "github.com/polku-hb/polku/services/clients/service"
	referralsvc "github.com/polku-hb/polku/services/referral/service"
)

// Volume is how much data a full-scale run seeds (the figures).
type Volume struct {
	Clients        int `json:"clients"`
	Offerings      int `json:"offerings"`
	Budgets        int `json:"budgets"`
	EntriesPerBudg int `json:"ledger_entries_per_budget"`
	Referrals      int `json:"referrals"`
	TimelinePer    int `json:"timeline_entries_per_client"`
}

// FullVolume is 100,000 clients, 100,000 offerings, 10,000 active budgets with
// 1,000,000 ledger entries, 200,000 referrals.
var FullVolume = Volume{Clients: 100_000, Offerings: 100_000, Budgets: 10_000, EntriesPerBudg: 100, Referrals: 200_000, TimelinePer: 5}

// Scaled is the volume times f (at least one of each).
func (v Volume) Scaled(f float64) Volume {
	s := func(n int) int { return max(1, int(float64(n)*f+0.5)) }
	return Volume{Clients: s(v.Clients), Offerings: s(v.Offerings), Budgets: s(v.Budgets), EntriesPerBudg: v.EntriesPerBudg,
		Referrals: s(v.Referrals), TimelinePer: v.TimelinePer}
}

// Minus is what seeding v on top of already-seeded w adds.
func (v Volume) Minus(w Volume) Volume {
	return Volume{Clients: v.Clients - w.Clients, Offerings: v.Offerings - w.Offerings, Budgets: v.Budgets - w.Budgets,
		EntriesPerBudg: v.EntriesPerBudg, Referrals: v.Referrals - w.Referrals, TimelinePer: v.TimelinePer}
}

// BenchWorkers is the number of coordinating workers of the seeded clients.
const BenchWorkers = 50

// WorkerSubject is the subject of seeded worker k.
func WorkerSubject(k int) string { return fmt.Sprintf("w-bench-%03d", k) }

// Seeded is what the bench keeps of the seeded data to aim requests at.
type Seeded struct {
	Clients   []clientssvc.BulkClient
	Offerings []cataloguesvc.BulkOffering
	Budgets   []budgetsvc.BulkBudget
	Referrals int
}

// SeedTimes are the durations of one seeding step, in seconds.
type SeedTimes struct {
	Clients   float64 `json:"clients_s"`
	Offerings float64 `json:"offerings_s"`
	Budgets   float64 `json:"budgets_s"`
	Referrals float64 `json:"referrals_s"`
	Total     float64 `json:"total_s"`
}

// seed adds v to the stores (part numbers keep generated data of the two
// growth steps apart; clientStart is the index of the first generated
// identity code). afterClients, when set, is called once the clients are
// written (Redis memory accounting).
func seed(ctx context.Context, stores *boot.Stores, picKey []byte, v Volume, part, clientStart, parallel int, have *Seeded, afterClients func()) (SeedTimes, error) {
	var t SeedTimes
	all := time.Now()
	workers := make([]string, BenchWorkers)
	for k := range workers {
		workers[k] = WorkerSubject(k)
	}
	step := time.Now()
	cs, err := clientssvc.SeedBulk(ctx, stores.Namespace(clientssvc.Namespace, clientssvc.Shards), clientssvc.BulkInput{
		PICKey: picKey, Region: dev.DemoRegion, Workers: workers, Start: clientStart, N: v.Clients, Timeline: v.TimelinePer, Parallel: parallel})
	if err != nil {
		return t, err
	}
	have.Clients = append(have.Clients, cs...)
	t.Clients = time.Since(step).Seconds()
	if afterClients != nil {
		afterClients()
	}

	step = time.Now()
	offs, err := cataloguesvc.SeedBulk(ctx, stores.Namespace(cataloguesvc.Namespace, cataloguesvc.Shards), v.Offerings, part, parallel)
	if err != nil {
		return t, err
	}
	have.Offerings = append(have.Offerings, offs...)
	t.Offerings = time.Since(step).Seconds()

	// Budgets go to the newly seeded clients (one each), lines buy seeded offerings.
	step = time.Now()
	n := min(v.Budgets, len(cs))
	bin := budgetsvc.BulkBudgetInput{Region: dev.DemoRegion, Entries: v.EntriesPerBudg, Parallel: parallel, Part: part}
	for _, c := range cs[:n] {
		bin.Clients = append(bin.Clients, c.ID)
		bin.Workers = append(bin.Workers, c.Worker)
	}
	for _, o := range offs {
		bin.Offerings = append(bin.Offerings, budgetsvc.BulkOffering{Provider: o.Provider, Offering: o.Offering, UnitCents: o.Price})
	}
	bs, err := budgetsvc.SeedBulk(ctx, stores.Namespace(budgetsvc.Namespace, budgetsvc.Shards), bin)
	if err != nil {
		return t, err
	}
	have.Budgets = append(have.Budgets, bs...)
	t.Budgets = time.Since(step).Seconds()

	step = time.Now()
	rin := referralsvc.BulkReferralInput{Region: dev.DemoRegion, N: v.Referrals, Parallel: parallel, Part: part}
	for _, c := range cs {
		rin.Clients = append(rin.Clients, c.ID)
		rin.Workers = append(rin.Workers, c.Worker)
	}
	for _, o := range offs {
		rin.Offerings = append(rin.Offerings, "providers/"+o.Provider+"/offerings/"+o.Offering)
	}
	nref, err := referralsvc.SeedBulk(ctx, stores.Namespace(referralsvc.Namespace, referralsvc.Shards), rin)
	if err != nil {
		return t, err
	}
	have.Referrals += nref
	t.Referrals = time.Since(step).Seconds()
	t.Total = time.Since(all).Seconds()
	return t, nil
}
