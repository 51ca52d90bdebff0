package grpcapi

import (
	"time"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/types/known/timestamppb"

	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	"github.com/polku-hb/polku/services/budget/internal/app"
	"github.com/polku-hb/polku/services/budget/internal/ledger"
)

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func toDate(d ledger.Date) *date.Date {
	if d.IsZero() {
		return nil
	}
	return &date.Date{Year: int32(d.Year), Month: int32(d.Month), Day: int32(d.Day)}
}

func fromDate(d *date.Date) ledger.Date {
	if d == nil {
		return ledger.Date{}
	}
	return ledger.Date{Year: int(d.GetYear()), Month: int(d.GetMonth()), Day: int(d.GetDay())}
}

func toText(t ledger.Text) *cataloguev1.LocalizedText {
	if t == (ledger.Text{}) {
		return nil
	}
	return &cataloguev1.LocalizedText{Fi: t.Fi, Sv: t.Sv, En: t.En}
}

func category(s string) cataloguev1.Category {
	return cataloguev1.Category(cataloguev1.Category_value[s])
}
func unit(s string) cataloguev1.PriceUnit {
	return cataloguev1.PriceUnit(cataloguev1.PriceUnit_value[s])
}

func budgetToProto(v app.BudgetView) *budgetv1.Budget {
	b := v.B
	out := &budgetv1.Budget{
		Name: app.BudgetName(b.ClientID, b.ID), PlanRevision: b.PlanRevision, DisplayName: b.DisplayName,
		ManagementMode: budgetv1.ManagementMode(budgetv1.ManagementMode_value[b.ManagementMode]),
		StartDate:      toDate(b.Start), EndDate: toDate(b.End), RequiresManagerApproval: v.RequiresManagerApproval,
		State: budgetv1.Budget_State(budgetv1.Budget_State_value[string(b.State)]), RevisionNumber: int32(b.RevisionNumber),
		PreviousBudget: b.Previous, NextBudget: b.Next, CloseReason: b.CloseReason, LastEntrySequence: b.LastSeq,
		CreateTime: ts(b.CreateTime), UpdateTime: ts(b.UpdateTime), ActivateTime: ts(b.ActivateAt), CloseTime: ts(b.CloseAt),
		Etag: app.Etag(v.Version),
	}
	out.AllocatedCents, out.CommittedCents, out.SpentCents, out.AvailableCents = b.Totals()
	for _, l := range b.Lines {
		out.Lines = append(out.Lines, &budgetv1.BudgetLine{Id: l.ID, Title: toText(l.Title), Category: category(l.Category),
			Offering: l.Offering, PriceVersion: l.PriceVersion, PriceOptionId: l.PriceOptionID, AcceptedQuote: l.AcceptedQuote,
			Unit: unit(l.Unit), UnitAmountCents: l.UnitCents, PlannedCents: l.PlannedCents, CarriedOverCents: l.CarriedOver,
			AllocatedCents: l.AllocatedCents, CommittedCents: l.CommittedCents, SpentCents: l.SpentCents, AvailableCents: l.Available()})
	}
	if a := b.Approval; a != nil {
		out.Approval = &budgetv1.BudgetApproval{Approver: a.Approver, ApproverRole: a.Role, Justification: a.Justification,
			AuthorityLimitCents: a.LimitCents, ApproveTime: ts(a.Time)}
	}
	return out
}

func budgetFromProto(b *budgetv1.Budget) *ledger.Budget {
	mode := ""
	if b.GetManagementMode() != budgetv1.ManagementMode_MANAGEMENT_MODE_UNSPECIFIED {
		mode = b.GetManagementMode().String()
	}
	return &ledger.Budget{PlanRevision: b.GetPlanRevision(), DisplayName: b.GetDisplayName(), ManagementMode: mode,
		Start: fromDate(b.GetStartDate()), End: fromDate(b.GetEndDate())}
}

func refToProto(r ledger.Reference) *budgetv1.LedgerReference {
	if r == (ledger.Reference{}) {
		return nil
	}
	return &budgetv1.LedgerReference{Referral: r.Referral, Provider: r.Provider, InvoiceNumber: r.InvoiceNumber, Claim: r.Claim, Note: r.Note}
}

func refFromProto(r *budgetv1.LedgerReference) ledger.Reference {
	return ledger.Reference{Referral: r.GetReferral(), Provider: r.GetProvider(), InvoiceNumber: r.GetInvoiceNumber(), Claim: r.GetClaim(), Note: r.GetNote()}
}

func entryToProto(v app.EntryView) *budgetv1.LedgerEntry {
	e := v.E
	out := &budgetv1.LedgerEntry{Name: app.EntryName(v.ClientID, v.BudgetID, e.Seq), Sequence: e.Seq,
		Kind: budgetv1.LedgerEntry_Kind(budgetv1.LedgerEntry_Kind_value[string(e.Kind)]), LineId: e.LineID, AmountCents: e.Amount,
		Reference: refToProto(e.Ref), OpenAmountCents: v.OpenCents, DeliveryDate: toDate(e.Delivery), Reason: e.Reason,
		Actor: e.Actor, ActorRole: e.ActorRole, RequestId: e.RequestID, CreateTime: ts(e.CreateTime)}
	if e.Commitment != 0 {
		out.Commitment = app.EntryName(v.ClientID, v.BudgetID, e.Commitment)
	}
	if e.Related != 0 {
		out.RelatedEntry = app.EntryName(v.ClientID, v.BudgetID, e.Related)
	}
	if e.RelatedName != "" {
		out.RelatedEntry = e.RelatedName
	}
	return out
}

func statementToProto(st app.Statement, now time.Time) *budgetv1.Statement {
	b := st.B
	out := &budgetv1.Statement{Name: app.BudgetName(b.ClientID, b.ID) + "/statement", DisplayName: b.DisplayName,
		State:          budgetv1.Budget_State(budgetv1.Budget_State_value[string(b.State)]),
		ManagementMode: budgetv1.ManagementMode(budgetv1.ManagementMode_value[b.ManagementMode]),
		StartDate:      toDate(b.Start), EndDate: toDate(b.End), LastEntrySequence: b.LastSeq, ComputeTime: ts(now)}
	out.AllocatedCents, out.CommittedCents, out.SpentCents, out.AvailableCents = b.Totals()
	for _, l := range b.Lines {
		out.Lines = append(out.Lines, &budgetv1.StatementLine{LineId: l.ID, Title: toText(l.Title), Category: category(l.Category),
			AllocatedCents: l.AllocatedCents, CommittedCents: l.CommittedCents, SpentCents: l.SpentCents, AvailableCents: l.Available(),
			UsedBasisPoints: l.UsedBasisPoints()})
	}
	for _, m := range st.Months {
		ms := &budgetv1.MonthSummary{Month: &date.Date{Year: int32(m.Year), Month: int32(m.Month)},
			AllocatedCents: m.Allocated, CommittedCents: m.Committed, SpentCents: m.Spent}
		for _, e := range m.Entries {
			ms.Entries = append(ms.Entries, entryToProto(app.EntryView{ClientID: b.ClientID, BudgetID: b.ID, E: e}))
		}
		out.Months = append(out.Months, ms)
	}
	return out
}

func providerCommitmentToProto(pc app.ProviderCommitment) *budgetv1.ProviderCommitment {
	o := pc.O
	state := budgetv1.ProviderCommitment_OPEN
	switch {
	case o.OpenCents() > 0:
	case o.Released > 0:
		state = budgetv1.ProviderCommitment_RELEASED
	default:
		state = budgetv1.ProviderCommitment_SPENT
	}
	id := pc.Referral[len("referrals/"):]
	return &budgetv1.ProviderCommitment{Name: pc.Provider + "/commitments/" + id, Referral: pc.Referral, AmountCents: o.Amount,
		ClaimedCents: o.Spent, OpenCents: o.OpenCents(), Unit: unit(o.Unit), UnitAmountCents: o.UnitCents, State: state, CreateTime: ts(o.Create)}
}
