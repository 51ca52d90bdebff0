// Package referral is the referral domain: the closed-loop lifecycle with its
// allowed next states, deadlines and escalation decisions, and webhook
// signing. It does no I/O and knows nothing of gRPC, the store or telemetry.
package referral

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// State is a referral's lifecycle state; the names are the API's enum names.
type State string

// The states.
const (
	Draft         State = "DRAFT"
	Sent          State = "SENT"
	Received      State = "RECEIVED"
	Accepted      State = "ACCEPTED"
	InProgress    State = "IN_PROGRESS"
	OnHold        State = "ON_HOLD"
	Completed     State = "COMPLETED"
	Declined      State = "DECLINED"
	NeedsRedirect State = "NEEDS_REDIRECT"
	Cancelled     State = "CANCELLED"
	Closed        State = "CLOSED"
)

// Verb is a state-changing method.
type Verb string

// The verbs.
const (
	VSend     Verb = "send"
	VReceive  Verb = "receive"
	VAccept   Verb = "accept"
	VStart    Verb = "start"
	VHold     Verb = "hold"
	VResume   Verb = "resume"
	VComplete Verb = "complete"
	VDecline  Verb = "decline"
	VRedirect Verb = "redirect"
	VCancel   Verb = "cancel"
	VClose    Verb = "close"
	VReopen   Verb = "reopen"
)

// next lists the allowed next states of each state.
var next = map[State][]State{
	Draft:         {Sent, Cancelled},
	Sent:          {Received, Accepted, NeedsRedirect, Cancelled},
	Received:      {Accepted, NeedsRedirect, Cancelled},
	Accepted:      {InProgress, NeedsRedirect, Cancelled},
	InProgress:    {OnHold, Completed, Cancelled},
	OnHold:        {InProgress, Completed, Cancelled},
	NeedsRedirect: {Declined, Closed, Cancelled},
	Completed:     {InProgress},
	Closed:        {NeedsRedirect},
	Cancelled:     {NeedsRedirect, Draft},
	Declined:      nil,
}

// verbTargets: which target state a verb produces from which source states.
var verbFrom = map[Verb][]State{
	VSend:     {Draft},
	VReceive:  {Sent},
	VAccept:   {Sent, Received},
	VStart:    {Accepted},
	VHold:     {InProgress},
	VResume:   {OnHold},
	VComplete: {InProgress, OnHold},
	VDecline:  {Sent, Received, Accepted},
	VRedirect: {NeedsRedirect},
	VCancel:   {Draft, Sent, Received, Accepted, InProgress, OnHold, NeedsRedirect},
	VClose:    {NeedsRedirect},
	VReopen:   {Completed, Closed, Cancelled},
}

// AllowedNext returns the states a referral in s may move to.
func AllowedNext(s State) []State { return slices.Clone(next[s]) }

// Open reports whether s is an open state (the referral is on someone's list).
func (s State) Open() bool {
	switch s {
	case Draft, Sent, Received, Accepted, InProgress, OnHold, NeedsRedirect:
		return true
	}
	return false
}

// TransitionError is an illegal transition; the API answers FAILED_PRECONDITION
// naming the allowed states.
type TransitionError struct {
	From    State
	Verb    Verb
	Allowed []string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("cannot %s a referral in state %s; allowed next states: %s", e.Verb, e.From, strings.Join(e.Allowed, ", "))
}

// Violation is one invalid field.
type Violation struct{ Field, Rule string }

// Violations are invalid input.
type Violations []Violation

func (v Violations) Error() string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = x.Field + " " + x.Rule
	}
	return strings.Join(parts, "; ")
}

// Domain errors.
var (
	// ErrNoCapacity: the offering takes no clients and the worker did not
	// acknowledge it.
	ErrNoCapacity = errors.New("the offering has no capacity; set acknowledge_no_capacity to send anyway")
	// ErrNotLive: the offering cannot take referrals.
	ErrNotLive = errors.New("the offering is not live (not published or its provider is not active)")
	// ErrNotDraft: only a DRAFT referral can be updated.
	ErrNotDraft = errors.New("only a DRAFT referral can be updated; a sent referral changes through its verbs")
)

// Person is a named responsible person (work contact details only).
type Person struct {
	Subject     string `json:"subject,omitempty"`
	DisplayName string `json:"display_name"`
	Phone       string `json:"phone,omitempty"`
	Email       string `json:"email,omitempty"`
}

// NeedRef references a need of an assessment.
type NeedRef struct {
	Assessment string `json:"assessment"`
	NeedID     string `json:"need_id"`
}

// Commitment is the optional budget commitment.
type Commitment struct {
	Budget      string `json:"budget"`
	LineID      string `json:"line_id"`
	AmountCents int64  `json:"amount_cents"`
	LedgerEntry string `json:"ledger_entry,omitempty"`
	Released    bool   `json:"released,omitempty"`
}

// Contact are the client's contact details (only when disclosed).
type Contact struct {
	Phone         string `json:"phone,omitempty"`
	Email         string `json:"email,omitempty"`
	PostalAddress string `json:"postal_address,omitempty"`
}

// Packet is the consent-filtered information frozen at send.
type Packet struct {
	Categories         []string  `json:"categories,omitempty"` // DATA_CATEGORY_*
	Languages          []string  `json:"languages,omitempty"`
	ContactPreference  string    `json:"contact_preference,omitempty"`
	Contact            *Contact  `json:"contact,omitempty"`
	CoordinatingWorker string    `json:"coordinating_worker,omitempty"`
	RequestNote        string    `json:"request_note,omitempty"`
	FreezeTime         time.Time `json:"freeze_time"`
	// PlanGoals: the goals of the client's ACTIVE plan revision(s) in the
	// client's words (PLAN_GOALS), from the assessment service.
	PlanGoals []string `json:"plan_goals,omitempty"`
	// AssessmentSummary: the latest COMPLETED assessment's summary
	// (ASSESSMENT_SUMMARY), from the assessment service.
	AssessmentSummary string `json:"assessment_summary,omitempty"`
	// Budget: the personal budget's totals (BUDGET_SUMMARY), amounts only.
	Budget *BudgetSummary `json:"budget,omitempty"`
}

// BudgetSummary is the amounts of a personal budget as disclosed in a packet.
type BudgetSummary struct {
	AllocatedCents int64 `json:"allocated_cents"`
	CommittedCents int64 `json:"committed_cents"`
	SpentCents     int64 `json:"spent_cents"`
	AvailableCents int64 `json:"available_cents"`
}

// String renders the amounts in euros.
func (b BudgetSummary) String() string {
	eur := func(c int64) string { return fmt.Sprintf("%d.%02d EUR", c/100, c%100) }
	return "allocated " + eur(b.AllocatedCents) + ", committed " + eur(b.CommittedCents) + ", spent " + eur(b.SpentCents) +
		", available " + eur(b.AvailableCents)
}

// Category names.
const (
	CategoryContactDetails    = "DATA_CATEGORY_CONTACT_DETAILS"
	CategoryAssessmentSummary = "DATA_CATEGORY_ASSESSMENT_SUMMARY"
	CategoryPlanGoals         = "DATA_CATEGORY_PLAN_GOALS"
	CategoryBudgetSummary     = "DATA_CATEGORY_BUDGET_SUMMARY"
)

// Filter returns the packet as it may be shown now: categories no longer in
// allowed are blanked and returned as withdrawn.
func (p Packet) Filter(allowed []string) (Packet, []string) {
	var withdrawn []string
	out := p
	out.Categories = nil
	for _, c := range p.Categories {
		if slices.Contains(allowed, c) {
			out.Categories = append(out.Categories, c)
		} else {
			withdrawn = append(withdrawn, c)
		}
	}
	if !slices.Contains(out.Categories, CategoryContactDetails) {
		out.Contact = nil
	}
	if !slices.Contains(out.Categories, CategoryPlanGoals) {
		out.PlanGoals = nil
	}
	if !slices.Contains(out.Categories, CategoryAssessmentSummary) {
		out.AssessmentSummary = ""
	}
	if !slices.Contains(out.Categories, CategoryBudgetSummary) {
		out.Budget = nil
	}
	return out, withdrawn
}

// Outcome is the structured outcome of a completed referral.
type Outcome struct {
	Result           string `json:"result"` // OUTCOME_RESULT_*
	ServiceDelivered bool   `json:"service_delivered"`
	Note             string `json:"note,omitempty"`
	Reason           string `json:"reason,omitempty"`
}

// Validate checks an outcome: a reason is required when the client was not
// helped or the service was not delivered.
func (o Outcome) Validate() error {
	var vs Violations
	switch o.Result {
	case "OUTCOME_RESULT_HELPED", "OUTCOME_RESULT_PARTLY_HELPED", "OUTCOME_RESULT_NOT_HELPED":
	default:
		vs = append(vs, Violation{"outcome.result", "is required"})
	}
	if (o.Result == "OUTCOME_RESULT_NOT_HELPED" || !o.ServiceDelivered) && strings.TrimSpace(o.Reason) == "" {
		vs = append(vs, Violation{"outcome.reason", "is required when the client was not helped or the service was not delivered"})
	}
	if len(vs) > 0 {
		return vs
	}
	return nil
}

// Decline is a recipient's decline.
type Decline struct {
	Reason     string    `json:"reason"` // DECLINE_REASON_*
	Note       string    `json:"note"`
	DeclinedBy string    `json:"declined_by"`
	Time       time.Time `json:"time"`
}

// Transition is one recorded state change.
type Transition struct {
	From      State     `json:"from"`
	To        State     `json:"to"`
	Actor     string    `json:"actor"`
	ActorRole string    `json:"actor_role"`
	Reason    string    `json:"reason,omitempty"`
	Time      time.Time `json:"time"`
}

// DeadlineKind names the deadline of the current state.
type DeadlineKind string

// Deadline kinds (the API's enum names).
const (
	NoDeadline       DeadlineKind = ""
	DeadlineResponse DeadlineKind = "DEADLINE_KIND_RESPONSE"
	DeadlineStart    DeadlineKind = "DEADLINE_KIND_START"
	DeadlineRedirect DeadlineKind = "DEADLINE_KIND_REDIRECT"
)

// SpanRef is the W3C trace id and span id of the referral's first trace (the
// send), so later handoffs link to it.
type SpanRef struct {
	TraceID string `json:"trace_id,omitempty"`
	SpanID  string `json:"span_id,omitempty"`
}

// Referral is the aggregate.
type Referral struct {
	ID                   string       `json:"id"`
	ClientID             string       `json:"client_id"`
	Region               string       `json:"region"`
	Sender               string       `json:"sender"`
	SendingUnit          string       `json:"sending_unit"`
	SendingResponsible   Person       `json:"sending_responsible"`
	RecipientOffering    string       `json:"recipient_offering"`
	RecipientProvider    string       `json:"recipient_provider"` // provider id
	ProviderKind         string       `json:"provider_kind,omitempty"`
	Capacity             string       `json:"capacity,omitempty"`
	WaitingBand          string       `json:"waiting_band,omitempty"`
	Needs                []NeedRef    `json:"needs,omitempty"`
	Urgency              string       `json:"urgency,omitempty"`
	RequestNote          string       `json:"request_note,omitempty"`
	Commitment           *Commitment  `json:"commitment,omitempty"`
	ReceivingResponsible *Person      `json:"receiving_responsible,omitempty"`
	Packet               *Packet      `json:"packet,omitempty"`
	State                State        `json:"state"`
	StateSince           time.Time    `json:"state_since"`
	DeadlineKind         DeadlineKind `json:"deadline_kind,omitempty"`
	DueTime              time.Time    `json:"due_time,omitzero"`
	EscalationLevel      int          `json:"escalation_level,omitempty"`
	Escalations          []string     `json:"escalations,omitempty"`    // open escalation ids
	EscalationLog        []string     `json:"escalation_log,omitempty"` // every escalation id, oldest first
	Outcome              *Outcome     `json:"outcome,omitempty"`
	Decline              *Decline     `json:"decline,omitempty"`
	HoldReason           string       `json:"hold_reason,omitempty"`
	EndReason            string       `json:"end_reason,omitempty"`
	RedirectedFrom       string       `json:"redirected_from,omitempty"`
	RedirectedTo         string       `json:"redirected_to,omitempty"`
	Transitions          []Transition `json:"transitions,omitempty"`
	// SLA of the offering, frozen at send.
	ResponseDeadline time.Duration `json:"response_deadline,omitempty"`
	StartDeadline    time.Duration `json:"start_deadline,omitempty"`
	FirstSpan        SpanRef       `json:"first_span,omitzero"`
	// Requests maps request ids of verbs already applied to the verb, so a retry
	// returns the current referral instead of an illegal transition.
	Requests   map[string]Verb `json:"requests,omitempty"`
	CreateTime time.Time       `json:"create_time"`
	SendTime   time.Time       `json:"send_time,omitzero"`
	UpdateTime time.Time       `json:"update_time"`
}

// WasSent reports whether the referral ever left DRAFT through :send.
func (r *Referral) WasSent() bool { return !r.SendTime.IsZero() }

// Actor is who makes a transition.
type Actor struct{ Subject, Role string }

// Policy holds the deadline defaults.
type Policy struct {
	// DefaultResponse and DefaultStart apply when the offering has none.
	DefaultResponse time.Duration
	DefaultStart    time.Duration
	// Redirect is the deadline to redirect or close after a decline.
	Redirect time.Duration
	// Level2After is the further period after the deadline before level 2.
	Level2After time.Duration
}

// DefaultPolicy: response 5 days, start 14 days, redirect 5 days, level 2 two
// days after the deadline.
var DefaultPolicy = Policy{DefaultResponse: 5 * 24 * time.Hour, DefaultStart: 14 * 24 * time.Hour,
	Redirect: 5 * 24 * time.Hour, Level2After: 2 * 24 * time.Hour}

// Check returns the target state of verb from the referral's state, or a
// TransitionError.
func Check(r *Referral, v Verb) (State, error) {
	from := r.State
	if slices.Contains(verbFrom[v], from) {
		switch v {
		case VSend:
			return Sent, nil
		case VReceive:
			return Received, nil
		case VAccept:
			return Accepted, nil
		case VStart, VResume:
			return InProgress, nil
		case VHold:
			return OnHold, nil
		case VComplete:
			return Completed, nil
		case VDecline:
			return NeedsRedirect, nil
		case VRedirect:
			return Declined, nil
		case VCancel:
			return Cancelled, nil
		case VClose:
			return Closed, nil
		case VReopen:
			switch {
			case from == Completed:
				return InProgress, nil
			case from == Closed || r.WasSent():
				return NeedsRedirect, nil
			default:
				return Draft, nil
			}
		}
	}
	allowed := make([]string, 0, len(next[from]))
	for _, s := range next[from] {
		allowed = append(allowed, string(s))
	}
	return "", &TransitionError{From: from, Verb: v, Allowed: allowed}
}

// Move applies a transition to to at now by actor, recording it, resetting the
// escalation level and setting the deadline of the new state. It returns how
// long the referral was in the previous state.
func (r *Referral) Move(to State, a Actor, reason string, now time.Time, p Policy) time.Duration {
	spent := now.Sub(r.StateSince)
	r.Transitions = append(r.Transitions, Transition{From: r.State, To: to, Actor: a.Subject, ActorRole: a.Role, Reason: reason, Time: now})
	r.State, r.StateSince, r.UpdateTime = to, now, now
	r.EscalationLevel = 0
	r.DeadlineKind, r.DueTime = NoDeadline, time.Time{}
	switch to {
	case Sent:
		d := r.ResponseDeadline
		if d <= 0 {
			d = p.DefaultResponse
		}
		if r.Urgency == "URGENCY_URGENT" && d > 24*time.Hour {
			d = 24 * time.Hour
		}
		r.DeadlineKind, r.DueTime = DeadlineResponse, now.Add(d)
	case Received:
		// The response deadline runs on from the send.
		d := r.ResponseDeadline
		if d <= 0 {
			d = p.DefaultResponse
		}
		if r.Urgency == "URGENCY_URGENT" && d > 24*time.Hour {
			d = 24 * time.Hour
		}
		r.DeadlineKind, r.DueTime = DeadlineResponse, r.SendTime.Add(d)
	case Accepted:
		d := r.StartDeadline
		if d <= 0 {
			d = p.DefaultStart
		}
		r.DeadlineKind, r.DueTime = DeadlineStart, now.Add(d)
	case NeedsRedirect:
		r.DeadlineKind, r.DueTime = DeadlineRedirect, now.Add(p.Redirect)
	}
	return spent
}

// NextEscalation returns when the referral's next escalation is due and its
// level; ok is false when none is pending (no deadline, or already level 2).
func (r *Referral) NextEscalation(p Policy) (at time.Time, level int, ok bool) {
	if r.DeadlineKind == NoDeadline || r.DueTime.IsZero() || !r.State.Open() {
		return time.Time{}, 0, false
	}
	switch r.EscalationLevel {
	case 0:
		return r.DueTime, 1, true
	case 1:
		return r.DueTime.Add(p.Level2After), 2, true
	}
	return time.Time{}, 0, false
}

// EscalationID is the deterministic id of an escalation of a referral's
// deadline at a level, so replicas racing on it create it once.
func EscalationID(kind DeadlineKind, due time.Time, level int) string {
	k := strings.ToLower(strings.TrimPrefix(string(kind), "DEADLINE_KIND_"))
	return fmt.Sprintf("%s-%d-l%d", k, due.Unix(), level)
}

// Escalation is a missed deadline.
type Escalation struct {
	ID                string       `json:"id"`
	ReferralID        string       `json:"referral_id"`
	Level             int          `json:"level"`
	DeadlineKind      DeadlineKind `json:"deadline_kind"`
	DueTime           time.Time    `json:"due_time"`
	ReferralState     State        `json:"referral_state"`
	Notified          []string     `json:"notified,omitempty"`
	Sender            string       `json:"sender"`
	Region            string       `json:"region"`
	RecipientProvider string       `json:"recipient_provider"`
	Resolved          bool         `json:"resolved,omitempty"`
	EscalateTime      time.Time    `json:"escalate_time"`
	ResolveTime       time.Time    `json:"resolve_time,omitzero"`
}

// StatusSummary is the state in plain words for the client.
func (r *Referral) StatusSummary(lang string) string {
	who := ""
	if r.ReceivingResponsible != nil {
		who = r.ReceivingResponsible.DisplayName
	}
	if lang == "en" {
		switch r.State {
		case Draft:
			return "Being prepared by your worker."
		case Sent:
			return "Sent; waiting for the service provider to answer."
		case Received:
			return "The service provider has seen it."
		case Accepted:
			return "Accepted: " + who + " holds your matter now."
		case InProgress:
			return "The service has started."
		case OnHold:
			return "The service is paused."
		case Completed:
			return "Completed."
		case NeedsRedirect:
			return "The provider could not take it; your worker is finding another service."
		case Declined:
			return "The provider could not take it; it continues as a new referral."
		case Cancelled:
			return "Cancelled."
		case Closed:
			return "Closed by your worker."
		}
		return ""
	}
	switch r.State {
	case Draft:
		return "Työntekijäsi valmistelee lähetettä."
	case Sent:
		return "Lähetetty; odotetaan palveluntuottajan vastausta."
	case Received:
		return "Palveluntuottaja on nähnyt lähetteen."
	case Accepted:
		return "Hyväksytty: " + who + " hoitaa asiaasi nyt."
	case InProgress:
		return "Palvelu on alkanut."
	case OnHold:
		return "Palvelu on tauolla."
	case Completed:
		return "Päättynyt."
	case NeedsRedirect:
		return "Palveluntuottaja ei voinut ottaa asiaa; työntekijäsi etsii toisen palvelun."
	case Declined:
		return "Palveluntuottaja ei voinut ottaa asiaa; asia jatkuu uutena lähetteenä."
	case Cancelled:
		return "Peruttu."
	case Closed:
		return "Työntekijäsi on sulkenut lähetteen."
	}
	return ""
}
