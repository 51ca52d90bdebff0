package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/type/date"

	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
)

// DemoInput is what SeedDemo needs. The contexts carry bearer tokens in their
// outgoing gRPC metadata.
type DemoInput struct {
	// Client is Tiina's client id (from the clients demo).
	Client string
	// Plan is her plan (assessment service DemoResult.Plan); its ACTIVE
	// revision is budgeted.
	Plan string
	// Worker is her coordinating worker (Aino); Manager a manager of her region
	// (approves when the budget is above the workers' limit).
	Worker, Manager context.Context
	// Today anchors the demo's dates (zero: now).
	Today time.Time
}

// DemoResult names what SeedDemo made.
type DemoResult struct {
	Budget string
	// Commitment is the coaching commitment (referral referrals/demo-tiina-coaching).
	Commitment string
}

// DemoReferral is the (future referral service's) referral id the demo's
// coaching commitment is for; the coaching provider sees it as
// providers/{p}/commitments/demo-tiina-coaching.
const DemoReferral = "referrals/demo-tiina-coaching"

// SeedDemo loads Tiina's ACTIVE personal budget through the real gRPC API: a
// budget from her plan's active revision (client-managed), approved and
// activated, a commitment of ten coaching sessions for a referral to the
// coaching provider with two sessions invoiced against it, and a museum-card
// receipt from the culture line. Every call carries a fixed request id and
// finished steps are skipped, so seeding again changes nothing. Run it after
// the assessment demo.
func SeedDemo(bc budgetv1.BudgetServiceClient, ac assessmentv1.AssessmentServiceClient, in DemoInput) (DemoResult, error) {
	today := in.Today
	if today.IsZero() {
		today = time.Now()
	}
	w := in.Worker
	plan, err := ac.GetPlan(w, &assessmentv1.GetPlanRequest{Name: in.Plan})
	if err != nil {
		return DemoResult{}, fmt.Errorf("demo budget: plan: %w", err)
	}
	if plan.GetActiveRevision() == "" {
		return DemoResult{}, errors.New("demo budget: the plan has no active revision")
	}
	b, err := bc.CreateBudget(w, &budgetv1.CreateBudgetRequest{Parent: "clients/" + in.Client, RequestId: "demo-tiina-budget",
		Budget: &budgetv1.Budget{PlanRevision: plan.GetActiveRevision(), DisplayName: "Tiinan henkilökohtainen budjetti",
			ManagementMode: budgetv1.ManagementMode_MANAGEMENT_MODE_REGION_PAYS}})
	if err != nil {
		return DemoResult{}, fmt.Errorf("demo budget: %w", err)
	}
	res := DemoResult{Budget: b.GetName()}
	if b.GetState() == budgetv1.Budget_DRAFT {
		approver, why := w, ""
		if b.GetRequiresManagerApproval() {
			approver, why = in.Manager, "specialist coaching instead of standard family work, agreed in the team"
		}
		if b, err = bc.ApproveBudget(approver, &budgetv1.ApproveBudgetRequest{Name: b.GetName(), Justification: why, RequestId: "demo-tiina-budget-approve"}); err != nil {
			return res, fmt.Errorf("demo budget approve: %w", err)
		}
	}
	if b.GetState() == budgetv1.Budget_APPROVED {
		if b, err = bc.ActivateBudget(w, &budgetv1.ActivateBudgetRequest{Name: b.GetName(), RequestId: "demo-tiina-budget-activate"}); err != nil {
			return res, fmt.Errorf("demo budget activate: %w", err)
		}
	}
	if len(b.GetLines()) == 0 {
		return res, nil
	}
	coaching, culture := b.GetLines()[0], b.GetLines()[len(b.GetLines())-1]
	provider := ""
	if p, _, ok := strings.Cut(strings.TrimPrefix(coaching.GetOffering(), "providers/"), "/offerings/"); ok {
		provider = "providers/" + p
	}
	unit := max(coaching.GetUnitAmountCents(), 1)
	c, err := bc.CommitFunds(w, &budgetv1.CommitFundsRequest{Name: b.GetName(), LineId: coaching.GetId(), AmountCents: min(10*unit, coaching.GetAvailableCents()),
		RequestId: "demo-tiina-commit-coaching", Reference: &budgetv1.LedgerReference{Referral: DemoReferral, Provider: provider}})
	if err != nil {
		return res, fmt.Errorf("demo budget commit: %w", err)
	}
	res.Commitment = c.GetName()
	day := func(offset int) *date.Date {
		t := today.AddDate(0, 0, offset)
		return &date.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}
	}
	for i, inv := range []string{"NC-2025-0141", "NC-2025-0158"} {
		if _, err := bc.SpendFunds(w, &budgetv1.SpendFundsRequest{Name: b.GetName(), LineId: coaching.GetId(), Commitment: c.GetName(),
			AmountCents: min(unit, c.GetAmountCents()/2), DeliveryDate: day(-14 + 7*i), RequestId: "demo-tiina-spend-" + inv,
			Reference: &budgetv1.LedgerReference{Provider: provider, InvoiceNumber: inv}}); err != nil {
			return res, fmt.Errorf("demo budget spend: %w", err)
		}
	}
	if culture.GetId() != coaching.GetId() && culture.GetAvailableCents() > 0 {
		if _, err := bc.SpendFunds(w, &budgetv1.SpendFundsRequest{Name: b.GetName(), LineId: culture.GetId(), AmountCents: culture.GetAvailableCents(),
			DeliveryDate: day(-3), RequestId: "demo-tiina-receipt-museum",
			Reference: &budgetv1.LedgerReference{InvoiceNumber: "KUITTI-2211", Note: "museum card"}}); err != nil {
			return res, fmt.Errorf("demo budget receipt: %w", err)
		}
	}
	return res, nil
}
