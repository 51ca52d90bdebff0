package assessment

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Plan states.
const (
	PlanOpen   = "OPEN"
	PlanClosed = "CLOSED"
)

// Revision states.
const (
	RevDraft      = "DRAFT"
	RevProposed   = "PROPOSED"
	RevApproved   = "APPROVED"
	RevReturned   = "RETURNED"
	RevActive     = "ACTIVE"
	RevSuperseded = "SUPERSEDED"
	RevClosed     = "CLOSED"
)

// revisionNext is the revision lifecycle: state -> allowed next states.
var revisionNext = map[string][]string{
	RevDraft:      {RevProposed, RevClosed},
	RevProposed:   {RevApproved, RevReturned, RevClosed},
	RevReturned:   {RevProposed, RevClosed},
	RevApproved:   {RevActive, RevClosed},
	RevActive:     {RevSuperseded, RevClosed},
	RevSuperseded: {},
	RevClosed:     {},
}

// RevisionNext lists the states a revision in state may move to.
func RevisionNext(state string) []string { return slices.Clone(revisionNext[state]) }

// CheckRevisionTransition is nil when from -> to is allowed.
func CheckRevisionTransition(from, to string) error {
	if slices.Contains(revisionNext[from], to) {
		return nil
	}
	return &TransitionError{Kind: "plan revision", From: from, Allowed: RevisionNext(from)}
}

// Open reports whether a revision is still being worked on (not yet in force
// or ended).
func Open(state string) bool {
	return state == RevDraft || state == RevProposed || state == RevReturned || state == RevApproved
}

// Editable reports whether a revision's content may change.
func Editable(state string) bool { return state == RevDraft || state == RevReturned }

// Plan is the stable home of a client plan's revisions.
type Plan struct {
	ID                string    `json:"id"`
	ClientID          string    `json:"client"`
	Region            string    `json:"region"`
	DisplayName       string    `json:"display_name,omitempty"`
	ResponsibleWorker string    `json:"responsible_worker,omitempty"`
	State             string    `json:"state"`
	ActiveRevision    int       `json:"active_revision,omitempty"`
	LatestRevision    int       `json:"latest_revision"`
	OpenRevision      int       `json:"open_revision,omitempty"`
	LastReviewDate    Date      `json:"last_review_date"`
	NextReviewDate    Date      `json:"next_review_date"`
	CreateTime        time.Time `json:"create_time"`
	UpdateTime        time.Time `json:"update_time"`
	CloseTime         time.Time `json:"close_time"`
	// Reviews held (RecordPlanReview), oldest first; not in the v1 API yet.
	Reviews []Review `json:"reviews,omitempty"`
}

// Review is one held plan review.
type Review struct {
	Date       Date      `json:"date"`
	Next       Date      `json:"next"`
	Note       string    `json:"note,omitempty"`
	RecordedBy string    `json:"recorded_by"`
	RecordTime time.Time `json:"record_time"`
}

// ReviewOverdue reports whether the plan's review is overdue on day today.
func (p *Plan) ReviewOverdue(today Date) bool {
	return p.State == PlanOpen && p.ActiveRevision > 0 && !p.NextReviewDate.IsZero() && p.NextReviewDate.Before(today)
}

// Text is a localized string.
type Text struct {
	Fi string `json:"fi,omitempty"`
	Sv string `json:"sv,omitempty"`
	En string `json:"en,omitempty"`
}

// Goal is a plan goal in the client's words.
type Goal struct {
	ID          string    `json:"id"`
	ClientWords string    `json:"client_words"`
	Measure     string    `json:"measure,omitempty"`
	TargetDate  Date      `json:"target_date"`
	Needs       []NeedRef `json:"needs,omitempty"`
	Progress    string    `json:"progress,omitempty"`
}

// NeedRef points at one need of an assessment.
type NeedRef struct {
	Assessment string `json:"assessment"`
	NeedID     string `json:"need_id"`
}

// Action is an agreed action.
type Action struct {
	ID                    string   `json:"id"`
	Description           string   `json:"description"`
	Responsible           string   `json:"responsible"` // RESPONSIBLE_PARTY_*
	ResponsibleTeamMember string   `json:"responsible_team_member,omitempty"`
	ResponsibleProvider   string   `json:"responsible_provider,omitempty"`
	DueDate               Date     `json:"due_date"`
	Done                  bool     `json:"done,omitempty"`
	GoalIDs               []string `json:"goal_ids,omitempty"`
}

// Frequencies of a chosen service.
const (
	FrequencyOnce     = "FREQUENCY_ONCE"
	FrequencyPerWeek  = "FREQUENCY_PER_WEEK"
	FrequencyPerMonth = "FREQUENCY_PER_MONTH"
)

// Service is a chosen service with its pinned price and computed cost.
type Service struct {
	ID string `json:"id"`
	// Pinned catalogue price (Offering set), or flexible money (Flexible).
	Offering      string `json:"offering,omitempty"`
	PriceVersion  string `json:"price_version,omitempty"`
	PriceOptionID string `json:"price_option_id,omitempty"`
	Flexible      bool   `json:"flexible,omitempty"`
	FlexibleCents int64  `json:"flexible_cents,omitempty"`
	// AcceptedQuote prices the service from a quote the worker accepted: its
	// quantity times unit price, once (Offering is the quote's offering, if any).
	AcceptedQuote   string `json:"accepted_quote,omitempty"`
	Category        string `json:"category,omitempty"` // CATEGORY_*
	Quantity        int32  `json:"quantity,omitempty"`
	Frequency       string `json:"frequency,omitempty"`
	Note            string `json:"note,omitempty"`
	Title           Text   `json:"title"`
	Unit            string `json:"unit,omitempty"` // PRICE_UNIT_*
	UnitAmountCents int64  `json:"unit_amount_cents,omitempty"`
	CostCents       int64  `json:"cost_cents,omitempty"`
	YearlyCostCents int64  `json:"yearly_cost_cents,omitempty"`
}

// SamePin reports whether o asks for the same catalogue price as s (an empty
// price version in o means "keep what is pinned").
func (s Service) SamePin(o Service) bool {
	if s.AcceptedQuote != "" || o.AcceptedQuote != "" {
		return s.AcceptedQuote == o.AcceptedQuote
	}
	return s.Offering != "" && s.Offering == o.Offering && s.PriceOptionID == o.PriceOptionID &&
		(o.PriceVersion == "" || o.PriceVersion == s.PriceVersion)
}

// Schedule is when a plan is followed up.
type Schedule struct {
	NextReviewDate Date  `json:"next_review_date"`
	CadenceMonths  int32 `json:"cadence_months,omitempty"`
}

// Agreement is how the client agreed.
type Agreement struct {
	Method     string    `json:"method"` // AGREEMENT_METHOD_*
	ByClient   bool      `json:"by_client"`
	RecordedBy string    `json:"recorded_by"`
	Note       string    `json:"note,omitempty"`
	AgreeTime  time.Time `json:"agree_time"`
}

// Approval is who approved a revision and on what grounds.
type Approval struct {
	Approver            string    `json:"approver"`
	ApproverRole        string    `json:"approver_role"`
	Justification       string    `json:"justification,omitempty"`
	YearlyCostCents     int64     `json:"yearly_cost_cents"`
	AuthorityLimitCents int64     `json:"authority_limit_cents"`
	ApproveTime         time.Time `json:"approve_time"`
}

// Revision is one revision of a plan.
type Revision struct {
	ClientID            string     `json:"client"`
	PlanID              string     `json:"plan"`
	Number              int        `json:"number"`
	Assessments         []string   `json:"assessments,omitempty"`
	Goals               []Goal     `json:"goals,omitempty"`
	Actions             []Action   `json:"actions,omitempty"`
	Services            []Service  `json:"services,omitempty"`
	WantsPersonalBudget bool       `json:"wants_personal_budget,omitempty"`
	Schedule            Schedule   `json:"schedule"`
	StartDate           Date       `json:"start_date"`
	EndDate             Date       `json:"end_date"`
	TotalCostCents      int64      `json:"total_cost_cents"`
	YearlyCostCents     int64      `json:"yearly_cost_cents"`
	State               string     `json:"state"`
	ReviseReason        string     `json:"revise_reason,omitempty"`
	Agreement           *Agreement `json:"agreement,omitempty"`
	Approval            *Approval  `json:"approval,omitempty"`
	ReturnReason        string     `json:"return_reason,omitempty"`
	CloseReason         string     `json:"close_reason,omitempty"`
	CreateTime          time.Time  `json:"create_time"`
	UpdateTime          time.Time  `json:"update_time"`
	ActivateTime        time.Time  `json:"activate_time"`
	EndTime             time.Time  `json:"end_time"`
}

// RequiresManager reports whether the revision's yearly cost is above the
// workers' authority limit.
func (r *Revision) RequiresManager(limitCents int64) bool { return r.YearlyCostCents > limitCents }

// Copy is a deep copy used as the next revision's starting point.
func (r *Revision) Copy() *Revision {
	c := *r
	c.Assessments = slices.Clone(r.Assessments)
	c.Goals = slices.Clone(r.Goals)
	for i := range c.Goals {
		c.Goals[i].Needs = slices.Clone(c.Goals[i].Needs)
	}
	c.Actions = slices.Clone(r.Actions)
	for i := range c.Actions {
		c.Actions[i].GoalIDs = slices.Clone(c.Actions[i].GoalIDs)
	}
	c.Services = slices.Clone(r.Services)
	c.Agreement, c.Approval = nil, nil
	return &c
}

// AssignIDs gives goals, actions and services without a key the next free one
// (g1, a1, s1, ...), keeping existing keys. Keys used by prev (the revision's
// earlier content) are never handed out again, so a budget line matched to a
// removed service is not matched to a new one.
func (r *Revision) AssignIDs(prev *Revision) {
	var pg, pa, ps []string
	if prev != nil {
		for _, g := range prev.Goals {
			pg = append(pg, g.ID)
		}
		for _, a := range prev.Actions {
			pa = append(pa, a.ID)
		}
		for _, s := range prev.Services {
			ps = append(ps, s.ID)
		}
	}
	assign(len(r.Goals), "g", func(i int) *string { return &r.Goals[i].ID }, pg)
	assign(len(r.Actions), "a", func(i int) *string { return &r.Actions[i].ID }, pa)
	assign(len(r.Services), "s", func(i int) *string { return &r.Services[i].ID }, ps)
}

func assign(n int, prefix string, id func(int) *string, used []string) {
	next := 1
	bump := func(s string) {
		if k, err := strconv.Atoi(strings.TrimPrefix(s, prefix)); err == nil && strings.HasPrefix(s, prefix) && k >= next {
			next = k + 1
		}
	}
	for _, u := range used {
		bump(u)
	}
	for i := range n {
		bump(*id(i))
	}
	for i := range n {
		if *id(i) == "" {
			*id(i) = prefix + strconv.Itoa(next)
			next++
		}
	}
}

// Recompute sets each service's cost from its pinned unit price, quantity,
// frequency and the period, and the revision's totals.
func (r *Revision) Recompute() {
	r.TotalCostCents, r.YearlyCostCents = 0, 0
	for i := range r.Services {
		s := &r.Services[i]
		s.CostCents, s.YearlyCostCents = ServiceCost(*s, r.StartDate, r.EndDate)
		r.TotalCostCents += s.CostCents
		r.YearlyCostCents += s.YearlyCostCents
	}
}

// ServiceCost is a service's cost over the period [start, end] and the part in
// its first 12 months. Pinned prices: unit x quantity x occurrences, where
// occurrences are 1 (ONCE), the weeks of the period rounded up (PER_WEEK) or
// its months rounded up (PER_MONTH). Flexible money: the amount, all in the
// first year. Without a valid period a recurring service costs 0.
func ServiceCost(s Service, start, end Date) (total, yearly int64) {
	if s.Flexible {
		return s.FlexibleCents, s.FlexibleCents
	}
	per := s.UnitAmountCents * int64(s.Quantity)
	switch s.Frequency {
	case FrequencyOnce:
		return per, per
	case FrequencyPerWeek, FrequencyPerMonth:
	default:
		return 0, 0
	}
	if start.IsZero() || end.IsZero() || end.Before(start) {
		return 0, 0
	}
	yearEnd := start.AddMonths(12).AddDays(-1)
	if end.Before(yearEnd) {
		yearEnd = end
	}
	count := Weeks
	if s.Frequency == FrequencyPerMonth {
		count = Months
	}
	return per * int64(count(start, end)), per * int64(count(start, yearEnd))
}

// Weeks is the number of weeks in [start, end], rounded up.
func Weeks(start, end Date) int {
	days := start.DaysUntil(end) + 1
	return (days + 6) / 7
}

// Months is the number of months in [start, end], rounded up: whole months
// from start, plus one for a remainder.
func Months(start, end Date) int {
	after := end.AddDays(1)
	n := 0
	for !after.Before(start.AddMonths(n + 1)) {
		n++
	}
	if start.AddMonths(n) != after {
		n++
	}
	return n
}

// Approve applies the approval rule: a WORKER approves when the yearly cost is
// within (at most) the authority limit; above it only a MANAGER, with a
// justification. Managers may approve any revision.
func (r *Revision) Approve(approver, role, justification string, limitCents int64, now time.Time) error {
	if err := CheckRevisionTransition(r.State, RevApproved); err != nil {
		return err
	}
	above := r.RequiresManager(limitCents)
	switch {
	case above && role != "MANAGER":
		return ErrAboveAuthorityLimit
	case above && strings.TrimSpace(justification) == "":
		return Violations{{"justification", "is required when a manager approves above the workers' authority limit"}}
	case len(justification) > 2000:
		return Violations{{"justification", "must be at most 2000 characters"}}
	}
	r.State = RevApproved
	r.Approval = &Approval{Approver: approver, ApproverRole: role, Justification: justification,
		YearlyCostCents: r.YearlyCostCents, AuthorityLimitCents: limitCents, ApproveTime: now}
	r.UpdateTime = now
	return nil
}

// Incomplete lists what a revision lacks before it can be proposed.
func (r *Revision) Incomplete() error {
	var missing []string
	if len(r.Goals) == 0 {
		missing = append(missing, "at least one goal")
	}
	if r.Schedule.NextReviewDate.IsZero() {
		missing = append(missing, "a review schedule")
	}
	if r.StartDate.IsZero() || r.EndDate.IsZero() {
		missing = append(missing, "a plan period (start_date, end_date)")
	}
	if len(missing) > 0 {
		return &IncompleteError{Missing: missing}
	}
	return nil
}
