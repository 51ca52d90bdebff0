// Package ledger is the budget service's domain: budgets, their lines and
// balances, the append-only ledger rules, statements and the consistency
// check. It knows nothing of gRPC or the store; everything here is pure.
package ledger

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// State is a budget's lifecycle state.
type State string

// Budget states.
const (
	Draft    State = "DRAFT"
	Approved State = "APPROVED"
	Active   State = "ACTIVE"
	Closed   State = "CLOSED"
)

// Kind is what a ledger entry does.
type Kind string

// Entry kinds.
const (
	Allocation Kind = "ALLOCATION"
	Commitment Kind = "COMMITMENT"
	Release    Kind = "RELEASE"
	Spend      Kind = "SPEND"
	Refund     Kind = "REFUND"
	Adjustment Kind = "ADJUSTMENT"
)

// Date is a calendar date (no time zone).
type Date struct {
	Year, Month, Day int
}

// IsZero reports an unset date.
func (d Date) IsZero() bool { return d == Date{} }

// Time is the date at midnight UTC.
func (d Date) Time() time.Time {
	return time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, time.UTC)
}

// Text is a localized title.
type Text struct{ Fi, Sv, En string }

// Line is a budget line with its cached balances.
type Line struct {
	ID             string
	Title          Text
	Category       string // CATEGORY_*
	Offering       string
	PriceVersion   string
	PriceOptionID  string
	AcceptedQuote  string
	Unit           string // PRICE_UNIT_*
	UnitCents      int64
	PlannedCents   int64
	CarriedOver    int64
	AllocatedCents int64
	CommittedCents int64
	SpentCents     int64
}

// Available is what is free to commit or spend.
func (l Line) Available() int64 { return l.AllocatedCents - l.CommittedCents - l.SpentCents }

// Approval records who approved a budget.
type Approval struct {
	Approver, Role, Justification string
	LimitCents                    int64
	Time                          time.Time
}

// Budget is a personal budget and its cached balances. The cache is updated in
// the same atomic write as every ledger entry, so it is exact as of LastSeq.
type Budget struct {
	ID             string
	ClientID       string
	Region         string
	PlanRevision   string
	DisplayName    string
	ManagementMode string // MANAGEMENT_MODE_*
	Start, End     Date
	Lines          []Line
	State          State
	Approval       *Approval
	RevisionNumber int
	Previous, Next string
	// ReleaseUnused: on activation of this revision, matched lines' available
	// money is returned to the region instead of carried over.
	ReleaseUnused bool
	CloseReason   string
	LastSeq       int64
	// Alerted lists line ids whose 80 % alert was raised (raised once).
	Alerted    []string
	CreateTime time.Time
	UpdateTime time.Time
	ActivateAt time.Time
	CloseAt    time.Time
}

// Line returns a pointer to the line with the id, or nil.
func (b *Budget) Line(id string) *Line {
	for i := range b.Lines {
		if b.Lines[i].ID == id {
			return &b.Lines[i]
		}
	}
	return nil
}

// Totals sums the lines.
func (b *Budget) Totals() (allocated, committed, spent, available int64) {
	for _, l := range b.Lines {
		allocated += l.AllocatedCents
		committed += l.CommittedCents
		spent += l.SpentCents
		available += l.Available()
	}
	return
}

// PlannedTotal is the sum of planned and carried-over amounts.
func (b *Budget) PlannedTotal() int64 {
	var t int64
	for _, l := range b.Lines {
		t += l.PlannedCents + l.CarriedOver
	}
	return t
}

// YearlyCents is the planned total per 12 months of period: a period longer
// than a year is scaled down; a shorter one counts in full.
func (b *Budget) YearlyCents() int64 {
	t := b.PlannedTotal()
	if b.Start.IsZero() || b.End.IsZero() {
		return t
	}
	days := int64(b.End.Time().Sub(b.Start.Time()).Hours()/24) + 1
	if days > 366 {
		return t * 365 / days
	}
	return t
}

// RequiresManager reports whether the budget is over the workers' limit.
func (b *Budget) RequiresManager(limit int64) bool { return b.YearlyCents() > limit }

// Entry is one append-only ledger entry.
type Entry struct {
	Seq        int64
	Kind       Kind
	LineID     string
	Amount     int64
	Commitment int64 // sequence of the COMMITMENT a RELEASE/SPEND is against
	Related    int64 // the SPEND a REFUND returns, the other half of a reallocation
	// RelatedName is the predecessor budget's entry a carried-over
	// commitment continues.
	RelatedName string
	Ref         Reference
	Delivery    Date
	Reason      string
	Actor       string
	ActorRole   string
	RequestID   string
	CreateTime  time.Time
}

// Reference is what an entry refers to outside the budget.
type Reference struct {
	Referral, Provider, InvoiceNumber, Claim, Note string
}

// Open is the mutable state of one COMMITMENT: kept beside the immutable entry
// and updated in the same write as every RELEASE or SPEND against it.
type Open struct {
	Seq       int64
	LineID    string
	Amount    int64
	Released  int64
	Spent     int64
	Referral  string
	Provider  string
	Unit      string
	UnitCents int64
	Create    time.Time
}

// OpenCents is what is still open on the commitment.
func (o Open) OpenCents() int64 { return o.Amount - o.Released - o.Spent }

// Errors of the domain.
var (
	ErrAboveAuthorityLimit = errors.New("the budget's yearly amount is above the workers' authority limit: a MANAGER approves with a justification")
	ErrNotActive           = errors.New("money moves only on ACTIVE budgets")
	ErrUnknownLine         = errors.New("line_id: no such line in the budget")
	ErrCommitmentLine      = errors.New("line_id: must be the commitment's line")
)

// InsufficientFunds is an overspend attempt: nothing is written.
type InsufficientFunds struct {
	LineID    string
	Available int64
}

func (e *InsufficientFunds) Error() string {
	return fmt.Sprintf("line %s has %d cents available", e.LineID, e.Available)
}

// TransitionError is an illegal lifecycle transition.
type TransitionError struct {
	From    State
	Allowed []string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("illegal transition from %s; allowed: %s", e.From, strings.Join(e.Allowed, ", "))
}

// Violation is one invalid input field.
type Violation struct{ Field, Rule string }

// Violations is a validation error listing every invalid field.
type Violations []Violation

func (v Violations) Error() string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = x.Field + ": " + x.Rule
	}
	return strings.Join(parts, "; ")
}

func (v *Violations) add(field, rule string) { *v = append(*v, Violation{field, rule}) }

// Err returns nil when empty.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return v
}

var next = map[State][]State{
	Draft:    {Approved, Closed},
	Approved: {Active, Closed},
	Active:   {Closed},
}

// Transition checks a lifecycle move.
func (b *Budget) Transition(to State) error {
	if slices.Contains(next[b.State], to) {
		return nil
	}
	allowed := []string{}
	for _, s := range next[b.State] {
		allowed = append(allowed, string(s))
	}
	return &TransitionError{From: b.State, Allowed: allowed}
}

// Approve moves DRAFT -> APPROVED under the authority-limit rule.
func (b *Budget) Approve(actor, role, justification string, limit int64, manager bool, now time.Time) error {
	if err := b.Transition(Approved); err != nil {
		return err
	}
	if b.RequiresManager(limit) {
		if !manager {
			return ErrAboveAuthorityLimit
		}
		if strings.TrimSpace(justification) == "" {
			return Violations{{"justification", "is required above the authority limit"}}
		}
	}
	b.State = Approved
	b.Approval = &Approval{Approver: actor, Role: role, Justification: justification, LimitCents: limit, Time: now}
	return nil
}

// Activate moves APPROVED -> ACTIVE and returns one ALLOCATION entry per line.
func (b *Budget) Activate(actor, role, requestID string, now time.Time) ([]Entry, error) {
	if err := b.Transition(Active); err != nil {
		return nil, err
	}
	var out []Entry
	for i := range b.Lines {
		l := &b.Lines[i]
		amt := l.PlannedCents + l.CarriedOver
		e := b.append(Entry{Kind: Allocation, LineID: l.ID, Amount: amt, Reason: "activation",
			Actor: actor, ActorRole: role, RequestID: requestID, CreateTime: now})
		l.AllocatedCents += amt
		out = append(out, e)
	}
	b.State, b.ActivateAt = Active, now
	return out, nil
}

func (b *Budget) append(e Entry) Entry {
	b.LastSeq++
	e.Seq = b.LastSeq
	return e
}

func (b *Budget) activeLine(lineID string) (*Line, error) {
	if b.State != Active {
		return nil, ErrNotActive
	}
	l := b.Line(lineID)
	if l == nil {
		return nil, ErrUnknownLine
	}
	return l, nil
}

func positive(amount int64) error {
	if amount <= 0 {
		return Violations{{"amount_cents", "must be > 0"}}
	}
	return nil
}

// Commit reserves amount on a line: the COMMITMENT entry and its open state.
func (b *Budget) Commit(e Entry) (Entry, *Open, error) {
	if err := positive(e.Amount); err != nil {
		return Entry{}, nil, err
	}
	l, err := b.activeLine(e.LineID)
	if err != nil {
		return Entry{}, nil, err
	}
	if e.Amount > l.Available() {
		return Entry{}, nil, &InsufficientFunds{LineID: l.ID, Available: l.Available()}
	}
	l.CommittedCents += e.Amount
	e.Kind = Commitment
	e = b.append(e)
	return e, &Open{Seq: e.Seq, LineID: l.ID, Amount: e.Amount, Referral: e.Ref.Referral, Provider: e.Ref.Provider,
		Unit: l.Unit, UnitCents: l.UnitCents, Create: e.CreateTime}, nil
}

// Release returns unused commitment to its line (amount 0 = all that is open).
// Allowed on any budget that is not CLOSED (closing itself releases).
func (b *Budget) Release(e Entry, o *Open) (Entry, error) {
	if b.State != Active {
		return Entry{}, ErrNotActive
	}
	if e.Amount == 0 {
		e.Amount = o.OpenCents()
	}
	if err := positive(e.Amount); err != nil {
		return Entry{}, err
	}
	if e.Amount > o.OpenCents() {
		return Entry{}, &InsufficientFunds{LineID: o.LineID, Available: o.OpenCents()}
	}
	l := b.Line(o.LineID)
	l.CommittedCents -= e.Amount
	o.Released += e.Amount
	e.Kind, e.LineID, e.Commitment = Release, o.LineID, o.Seq
	return b.append(e), nil
}

// SpendAgainst records a spend against a commitment (o non-nil) or straight
// from the line's available money.
func (b *Budget) SpendAgainst(e Entry, o *Open) (Entry, error) {
	if err := positive(e.Amount); err != nil {
		return Entry{}, err
	}
	l, err := b.activeLine(e.LineID)
	if err != nil {
		return Entry{}, err
	}
	if o != nil {
		if o.LineID != l.ID {
			return Entry{}, ErrCommitmentLine
		}
		if e.Amount > o.OpenCents() {
			return Entry{}, &InsufficientFunds{LineID: l.ID, Available: o.OpenCents()}
		}
		o.Spent += e.Amount
		l.CommittedCents -= e.Amount
		e.Commitment = o.Seq
	} else if e.Amount > l.Available() {
		return Entry{}, &InsufficientFunds{LineID: l.ID, Available: l.Available()}
	}
	l.SpentCents += e.Amount
	e.Kind = Spend
	return b.append(e), nil
}

// Adjust changes a line's allocation (signed); a decrease keeps available >= 0.
func (b *Budget) Adjust(e Entry) (Entry, error) {
	if e.Amount == 0 {
		return Entry{}, Violations{{"amount_cents", "must not be 0"}}
	}
	if strings.TrimSpace(e.Reason) == "" {
		return Entry{}, Violations{{"reason", "is required"}}
	}
	l, err := b.activeLine(e.LineID)
	if err != nil {
		return Entry{}, err
	}
	if e.Amount < 0 && -e.Amount > l.Available() {
		return Entry{}, &InsufficientFunds{LineID: l.ID, Available: l.Available()}
	}
	l.AllocatedCents += e.Amount
	e.Kind = Adjustment
	return b.append(e), nil
}

// Refund returns money of a SPEND (refunded so far: already).
func (b *Budget) Refund(e Entry, spend Entry, already int64) (Entry, error) {
	if err := positive(e.Amount); err != nil {
		return Entry{}, err
	}
	if spend.Kind != Spend {
		return Entry{}, Violations{{"spend_entry", "must name a SPEND entry"}}
	}
	l, err := b.activeLine(spend.LineID)
	if err != nil {
		return Entry{}, err
	}
	if e.Amount > spend.Amount-already {
		return Entry{}, &InsufficientFunds{LineID: l.ID, Available: spend.Amount - already}
	}
	l.SpentCents -= e.Amount
	e.Kind, e.LineID, e.Related = Refund, l.ID, spend.Seq
	return b.append(e), nil
}

// Close moves the budget to CLOSED; an ACTIVE budget's open commitments are
// released (the returned entries).
func (b *Budget) Close(reason, actor, role, requestID string, opens []*Open, now time.Time) ([]Entry, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, Violations{{"reason", "is required"}}
	}
	if err := b.Transition(Closed); err != nil {
		return nil, err
	}
	var out []Entry
	if b.State == Active {
		for _, o := range opens {
			if o.OpenCents() <= 0 {
				continue
			}
			e, err := b.Release(Entry{Amount: o.OpenCents(), Reason: "budget closed", Actor: actor, ActorRole: role, RequestID: requestID, CreateTime: now}, o)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
	}
	b.State, b.CloseReason, b.CloseAt = Closed, reason, now
	return out, nil
}

// UsedBasisPoints is (committed + spent) / allocated in basis points.
func (l Line) UsedBasisPoints() int32 {
	if l.AllocatedCents <= 0 {
		return 0
	}
	return int32((l.CommittedCents + l.SpentCents) * 10000 / l.AllocatedCents)
}

// CrossedAlert reports whether a line crossed 80 % use for the first time and
// records it.
func (b *Budget) CrossedAlert(lineID string) bool {
	l := b.Line(lineID)
	if l == nil || l.UsedBasisPoints() < 8000 || slices.Contains(b.Alerted, lineID) {
		return false
	}
	b.Alerted = append(b.Alerted, lineID)
	return true
}

// ErrAboveReallocationLimit: a worker moves more than the reallocation limit.
var ErrAboveReallocationLimit = errors.New("the amount is above the workers' reallocation limit: a MANAGER reallocates it")

// Reallocate moves available money between two lines: a negative ALLOCATION on
// the giving line and a positive one on the receiving line, naming each other.
func (b *Budget) Reallocate(from, to string, amount int64, base Entry) (Entry, Entry, error) {
	if err := positive(amount); err != nil {
		return Entry{}, Entry{}, err
	}
	if strings.TrimSpace(base.Reason) == "" {
		return Entry{}, Entry{}, Violations{{"reason", "is required"}}
	}
	if from == to {
		return Entry{}, Entry{}, Violations{{"to_line_id", "must differ from from_line_id"}}
	}
	lf, err := b.activeLine(from)
	if err != nil {
		return Entry{}, Entry{}, err
	}
	lt := b.Line(to)
	if lt == nil {
		return Entry{}, Entry{}, Violations{{"to_line_id", "no such line in the budget"}}
	}
	if amount > lf.Available() {
		return Entry{}, Entry{}, &InsufficientFunds{LineID: from, Available: lf.Available()}
	}
	lf.AllocatedCents -= amount
	lt.AllocatedCents += amount
	out := base
	out.Kind, out.LineID, out.Amount, out.Related = Allocation, from, -amount, b.LastSeq+2
	out = b.append(out)
	in := base
	in.Kind, in.LineID, in.Amount, in.Related = Allocation, to, amount, out.Seq
	in = b.append(in)
	return out, in, nil
}

// ErrUnmatchedOpen: a line of the predecessor that the revision drops still
// has open commitments.
var ErrUnmatchedOpen = errors.New("a line the revision drops still has open commitments: release them first")

// ReleaseUnused on a DRAFT revision: matched lines' available money is not
// carried over (open commitments still move).
//
// ActivateRevision activates a revision (b, APPROVED) of old (ACTIVE) in one
// step: every matched line's open commitments move (RELEASE on old,
// COMMITMENT naming it on b), its available balance is carried over unless
// releaseUnused, and old is CLOSED. The new line's ALLOCATION is planned +
// carried over + the moved commitments (they bring their money along).
func (b *Budget) ActivateRevision(old *Budget, opens []*Open, oldName string, releaseUnused bool, base Entry, now time.Time) (oldEntries, newEntries []Entry, newOpens []*Open, err error) {
	if err := b.Transition(Active); err != nil {
		return nil, nil, nil, err
	}
	if old.State != Active {
		return nil, nil, nil, ErrNotActive
	}
	moved := map[string]int64{}
	for _, o := range opens {
		if o.OpenCents() <= 0 {
			continue
		}
		if b.Line(o.LineID) == nil {
			return nil, nil, nil, ErrUnmatchedOpen
		}
		moved[o.LineID] += o.OpenCents()
	}
	for i := range b.Lines {
		l := &b.Lines[i]
		l.CarriedOver = 0
		if ol := old.Line(l.ID); ol != nil && !releaseUnused {
			l.CarriedOver = ol.Available()
		}
		amt := l.PlannedCents + l.CarriedOver + moved[l.ID]
		e := base
		e.Kind, e.LineID, e.Amount, e.Reason = Allocation, l.ID, amt, "activation of revision: planned + carried over + moved commitments"
		newEntries = append(newEntries, b.append(e))
		l.AllocatedCents += amt
	}
	b.State, b.ActivateAt = Active, now
	for _, o := range opens {
		if o.OpenCents() <= 0 {
			continue
		}
		amount := o.OpenCents()
		rel := base
		rel.Amount, rel.Reason = amount, "moved to the budget revision"
		rel.Ref = Reference{Referral: o.Referral, Provider: o.Provider}
		re, err := old.Release(rel, o)
		if err != nil {
			return nil, nil, nil, err
		}
		oldEntries = append(oldEntries, re)
		c := base
		c.LineID, c.Amount, c.Ref, c.RelatedName = o.LineID, amount, Reference{Referral: o.Referral, Provider: o.Provider}, oldName+"/ledgerEntries/"+fmt.Sprint(o.Seq)
		ce, no, err := b.Commit(c)
		if err != nil {
			return nil, nil, nil, err
		}
		newEntries = append(newEntries, ce)
		newOpens = append(newOpens, no)
	}
	old.State, old.CloseReason, old.CloseAt = Closed, "superseded by a revision", now
	return oldEntries, newEntries, newOpens, nil
}
