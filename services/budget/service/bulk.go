package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/polku-hb/polku/platform/ids"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/budget/internal/ledger"
	repo "github.com/polku-hb/polku/services/budget/internal/store"
	"golang.org/x/sync/errgroup"
)

// BulkOffering is an offering a seeded budget line buys.
type BulkOffering struct {
	Provider, Offering string // ids
	UnitCents          int64
}

// BulkBudgetInput says what SeedBulk makes.
type BulkBudgetInput struct {
	// Clients get one budget each (ids; their shard decides the batch).
	Clients []string
	// Worker acts in the ledger entries of client i: Workers[i].
	Workers   []string
	Region    string
	Offerings []BulkOffering
	// Entries is the ledger length of each budget (at least the allocations).
	Entries  int
	Parallel int
	// Part keeps generated data of separate calls apart.
	Part int
}

// BulkBudget is one seeded ACTIVE budget.
type BulkBudget struct {
	Client, Budget, Line string // ids: a line with money left to commit
}

// BulkLineCents is what each line of a seeded budget is allocated: enough for
// its seeded ledger and a load test's commitments on top.
const BulkLineCents = 100_000_000

// SeedBulk writes ACTIVE budgets with real ledgers straight into the store for
// load tests. Each budget is built by the domain (Approve, Activate, Commit,
// SpendAgainst), so the cached balances equal the sum of its entries and every
// commitment has its open state; writes of several clients of one shard go in
// one batch, without events. Budgets name a plan revision that only exists in
// name (seeded budgets have no assessment behind them).
func SeedBulk(ctx context.Context, st store.Store, in BulkBudgetInput) ([]BulkBudget, error) {
	if st.Shards() != Shards {
		return nil, fmt.Errorf("budget bulk: store has %d shards, want %d", st.Shards(), Shards)
	}
	if len(in.Offerings) == 0 || len(in.Workers) != len(in.Clients) {
		return nil, fmt.Errorf("budget bulk: need offerings and one worker per client")
	}
	r := repo.New(st)
	out := make([]BulkBudget, len(in.Clients))
	const chunk = 500
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(in.Parallel, 1))
	for from := 0; from < len(in.Clients); from += chunk {
		g.Go(func() error { return seedBudgets(gctx, r, in, from, min(from+chunk, len(in.Clients)), out) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

func seedBudgets(ctx context.Context, r *repo.Repo, in BulkBudgetInput, from, to int, out []BulkBudget) error {
	byShard := map[int][]*repo.Write{}
	for i := from; i < to; i++ {
		w, bb, err := bulkBudget(in, i)
		if err != nil {
			return fmt.Errorf("budget bulk: %w", err)
		}
		s := repo.ShardOf(bb.Client)
		byShard[s] = append(byShard[s], w)
		out[i] = bb
	}
	for shard, ws := range byShard {
		for len(ws) > 0 {
			n := min(len(ws), 10) // ~10 budgets x 100 entries: about 3,000 operations a batch
			if err := r.CommitMany(ctx, shard, ws[:n]); err != nil {
				return fmt.Errorf("budget bulk: %w", err)
			}
			ws = ws[n:]
		}
	}
	return nil
}

// bulkBudget builds budget i: three lines, activated, then commitments with
// spends against them until the ledger has in.Entries entries.
func bulkBudget(in BulkBudgetInput, i int) (*repo.Write, BulkBudget, error) {
	rng := rand.New(rand.NewPCG(uint64(in.Part), uint64(i)))
	clientID, worker := in.Clients[i], in.Workers[i]
	now := time.Now().UTC()
	start := now.AddDate(0, -rng.IntN(6), 0)
	end := start.AddDate(1, 0, 0)
	b := &ledger.Budget{ID: ids.New(), ClientID: clientID, Region: in.Region,
		PlanRevision: "clients/" + clientID + "/plans/" + ids.New() + "/revisions/1",
		DisplayName:  "Henkilökohtainen budjetti", ManagementMode: "MANAGEMENT_MODE_REGION_PAYS",
		Start: ledger.Date{Year: start.Year(), Month: int(start.Month()), Day: start.Day()},
		End:   ledger.Date{Year: end.Year(), Month: int(end.Month()), Day: end.Day()},
		State: ledger.Draft, RevisionNumber: 1, CreateTime: start, UpdateTime: now}
	providers := map[string]string{} // line id -> providers/{p}
	for l := range 3 {
		o := in.Offerings[rng.IntN(len(in.Offerings))]
		providers[fmt.Sprintf("line-%d", l+1)] = "providers/" + o.Provider
		off := "providers/" + o.Provider + "/offerings/" + o.Offering
		b.Lines = append(b.Lines, ledger.Line{ID: fmt.Sprintf("line-%d", l+1), Title: ledger.Text{Fi: "Palvelu"}, Category: "CATEGORY_FAMILY",
			Offering: off, PriceVersion: off + "/priceVersions/1", PriceOptionID: "unit", Unit: "PRICE_UNIT_VISIT",
			UnitCents: max(o.UnitCents, 1), PlannedCents: BulkLineCents})
	}
	if err := b.Approve("m-bulk", "MANAGER", "bulk seed", 0, true, start); err != nil {
		return nil, BulkBudget{}, err
	}
	allocs, err := b.Activate(worker, "WORKER", "", start)
	if err != nil {
		return nil, BulkBudget{}, err
	}
	w := repo.NewWrite(clientID)
	entries := allocs
	var opens []*ledger.Open
	t := start
	for len(entries) < in.Entries {
		t = t.Add(time.Duration(1+rng.IntN(48)) * time.Hour)
		line := b.Lines[rng.IntN(len(b.Lines))]
		var o *ledger.Open
		if len(opens) > 0 && rng.IntN(2) == 0 {
			o = opens[rng.IntN(len(opens))]
		}
		if o != nil && o.OpenCents() >= line.UnitCents {
			e, err := b.SpendAgainst(ledger.Entry{LineID: o.LineID, Amount: min(o.OpenCents(), b.Line(o.LineID).UnitCents),
				Ref:      ledger.Reference{Provider: o.Provider, InvoiceNumber: fmt.Sprintf("B%d-%d", i, len(entries))},
				Delivery: ledger.Date{Year: t.Year(), Month: int(t.Month()), Day: t.Day()}, Actor: worker, ActorRole: "WORKER", CreateTime: t}, o)
			if err != nil {
				return nil, BulkBudget{}, err
			}
			entries = append(entries, e)
			continue
		}
		e, open, err := b.Commit(ledger.Entry{LineID: line.ID, Amount: line.UnitCents * int64(1+rng.IntN(10)),
			Ref: ledger.Reference{Referral: "referrals/" + ids.New(), Provider: providers[line.ID]}, Actor: worker, ActorRole: "WORKER", CreateTime: t})
		if err != nil {
			return nil, BulkBudget{}, err
		}
		entries = append(entries, e)
		opens = append(opens, open)
	}
	b.UpdateTime = t
	w.Budget(b, 0)
	for _, e := range entries {
		w.Entry(b.ID, e)
	}
	for _, o := range opens {
		w.Open(b.ID, o, 0)
	}
	return w, BulkBudget{Client: clientID, Budget: b.ID, Line: b.Lines[0].ID}, nil
}
