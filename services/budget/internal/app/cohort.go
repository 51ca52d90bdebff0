package app

import (
	"context"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/budget/internal/ledger"
)

// DefaultInstrument is the capacity instrument of the cohort report when none
// is named (the demo Kykyviisari-style instrument).
const DefaultInstrument = "instruments/kykyviisari-demo-1"

// Cohorts compared by the report.
var Cohorts = []string{"COHORT_PERSONAL_BUDGET", "COHORT_COMPARISON"}

// CapacityChange is a cohort's mean capacity change from the assessment service.
type CapacityChange struct {
	Clients    int
	Suppressed bool
	Mean       float64
}

// CohortReport is the report's figures per cohort.
type CohortReport struct {
	Cohort   string
	Stats    ledger.CohortStats
	Capacity CapacityChange
}

// GetCohortReport computes the region's cohort comparison (MANAGER of the
// region): costs from this service's ledgers, capacity change from the
// assessment service, groups under ledger.MinGroupSize suppressed.
func (s *Service) GetCohortReport(ctx context.Context, region string, start, end ledger.Date, instrument string) ([]CohortReport, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, ErrUnauthenticated
	}
	if p.Role != auth.RoleManager || p.Region == "" || p.Region != region {
		return nil, ErrPermission
	}
	var vs ledger.Violations
	if start.IsZero() {
		vs = append(vs, ledger.Violation{Field: "start_date", Rule: "is required"})
	}
	if end.IsZero() {
		vs = append(vs, ledger.Violation{Field: "end_date", Rule: "is required"})
	}
	if !start.IsZero() && !end.IsZero() && end.Time().Before(start.Time()) {
		vs = append(vs, ledger.Violation{Field: "end_date", Rule: "must not be before start_date"})
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	if instrument == "" {
		instrument = DefaultInstrument
	}
	var out []CohortReport
	for _, cohort := range Cohorts {
		ids, err := s.clients.InCohort(ctx, cohort)
		if err != nil {
			return nil, err
		}
		costs := make([]ledger.ClientCost, 0, len(ids))
		for _, id := range ids {
			c, err := s.clientCost(ctx, id, start, end)
			if err != nil {
				return nil, err
			}
			costs = append(costs, c)
		}
		r := CohortReport{Cohort: cohort, Stats: ledger.Aggregate(costs)}
		if r.Stats.Suppressed {
			r.Capacity.Suppressed = true
		} else {
			cc, err := s.asmt.CohortCapacity(ctx, region, cohort, instrument, start, end)
			if err != nil {
				return nil, err
			}
			r.Capacity = cc
		}
		out = append(out, r)
	}
	return out, nil
}

func (s *Service) clientCost(ctx context.Context, clientID string, start, end ledger.Date) (ledger.ClientCost, error) {
	var c ledger.ClientCost
	after := store.IndexEntry{}
	for {
		pg, err := s.repo.BudgetIDs(ctx, clientID, after, 500)
		if err != nil {
			return c, err
		}
		for _, e := range pg.Entries {
			b, _, err := s.repo.Budget(ctx, clientID, e.ID)
			if err != nil {
				return c, notFound(err)
			}
			es, err := s.repo.AllEntries(ctx, clientID, b.ID, b.LastSeq)
			if err != nil {
				return c, err
			}
			ledger.CostInPeriod(b, es, start, end, &c)
		}
		if !pg.More {
			return c, nil
		}
		after = pg.Entries[len(pg.Entries)-1]
	}
}
