package service_test

import (
	"testing"
	"time"

	"github.com/polku-hb/polku/platform/store"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	"github.com/polku-hb/polku/services/budget/service"
)

func TestSeedDemo(t *testing.T) {
	stores(t, func(tb testing.TB, cs, as, bs store.Store) {
		t := tb.(*testing.T)
		e := start(t, cs, as, bs)
		plans, err := e.ac.ListPlans(e.as(t, aino), &assessmentv1.ListPlansRequest{Parent: e.parent})
		if err != nil || len(plans.GetPlans()) != 1 {
			t.Fatalf("plans: %v %v", plans, err)
		}
		in := service.DemoInput{Client: e.tiina, Plan: plans.GetPlans()[0].GetName(), Worker: e.as(t, aino), Manager: e.as(t, mikko), Today: time.Now()}
		first, err := service.SeedDemo(e.bc, e.ac, in)
		if err != nil {
			t.Fatalf("SeedDemo: %v", err)
		}
		again, err := service.SeedDemo(e.bc, e.ac, in)
		if err != nil || again != first {
			t.Fatalf("second SeedDemo = %v, %v; want %v", again, err, first)
		}
		b, err := e.bc.GetBudget(e.as(t, e.client), &budgetv1.GetBudgetRequest{Name: first.Budget})
		if err != nil || b.GetState() != budgetv1.Budget_ACTIVE || b.GetLastEntrySequence() != 6 || b.GetCommittedCents() != 72000 || b.GetSpentCents() != 18000+7900 {
			t.Errorf("demo budget = %v, %v", b, err)
		}
		pc, err := e.bc.GetProviderCommitment(e.as(t, coach), &budgetv1.GetProviderCommitmentRequest{Name: "providers/neurocoach/commitments/demo-tiina-coaching"})
		if err != nil || pc.GetOpenCents() != 72000 {
			t.Errorf("coach's view = %v, %v", pc, err)
		}
	})
}
