package catalogue

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// QuoteState is the lifecycle of a quote request.
type QuoteState int32

// Quote request states (numbers of the API's QuoteRequest.State).
const (
	QuoteRequested QuoteState = 1
	QuoteQuoted    QuoteState = 2
	QuoteAccepted  QuoteState = 3
	QuoteDeclined  QuoteState = 4
	QuoteExpired   QuoteState = 5
	QuoteLapsed    QuoteState = 6
	QuoteCancelled QuoteState = 7
)

var quoteStateNames = map[QuoteState]string{QuoteRequested: "REQUESTED", QuoteQuoted: "QUOTED", QuoteAccepted: "ACCEPTED",
	QuoteDeclined: "DECLINED", QuoteExpired: "EXPIRED", QuoteLapsed: "LAPSED", QuoteCancelled: "CANCELLED"}

func (s QuoteState) String() string { return quoteStateNames[s] }

// DefaultResponseTime is how long a provider has to answer a quote request.
const DefaultResponseTime = 7 * 24 * time.Hour

// Date is a calendar date.
type Date struct {
	Year  int `json:"y"`
	Month int `json:"m"`
	Day   int `json:"d"`
}

// Valid reports whether the date exists.
func (d Date) Valid() bool {
	t := time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, time.UTC)
	return d.Year >= 2000 && d.Year <= 2200 && t.Year() == d.Year && int(t.Month()) == d.Month && t.Day() == d.Day
}

// IsZero reports an unset date.
func (d Date) IsZero() bool { return d == Date{} }

// helsinki is the zone quotes lapse in; UTC+2 fixed when the zone database is
// missing (a quote then lapses at most an hour early or late in summer).
var helsinki = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Helsinki"); err == nil {
		return l
	}
	return time.FixedZone("EET", 2*3600)
}()

// EndOfDay is when the date ends in Europe/Helsinki.
func (d Date) EndOfDay() time.Time {
	return time.Date(d.Year, time.Month(d.Month), d.Day+1, 0, 0, 0, 0, helsinki)
}

// Quote is a provider's price for a tailored service.
type Quote struct {
	Description string    `json:"description"`
	Unit        PriceUnit `json:"unit"`
	Quantity    int32     `json:"quantity"`
	UnitAmount  int64     `json:"unit_amount_cents"`
	VATRate     int32     `json:"vat_bp"`
	Total       int64     `json:"total_amount_cents"`
	ValidUntil  Date      `json:"valid_until"`
	QuotedBy    string    `json:"quoted_by"`
	QuoteTime   time.Time `json:"quote_time"`
}

// QuoteRequest is a worker's request for a tailored quote. ClientID is never
// shown to the provider.
type QuoteRequest struct {
	ID            string     `json:"id"`
	ProviderID    string     `json:"provider_id"`
	OfferingID    string     `json:"offering_id,omitempty"`
	ClientID      string     `json:"client_id"`
	Requester     string     `json:"requester"`
	Need          string     `json:"need"`
	Municipality  string     `json:"municipality,omitempty"`
	Language      string     `json:"language,omitempty"`
	DesiredStart  Date       `json:"desired_start,omitzero"`
	ResponseDue   time.Time  `json:"response_due"`
	Quote         *Quote     `json:"quote,omitempty"`
	DeclineReason string     `json:"decline_reason,omitempty"`
	CancelReason  string     `json:"cancel_reason,omitempty"`
	State         QuoteState `json:"state"`
	CreateTime    time.Time  `json:"create_time"`
	UpdateTime    time.Time  `json:"update_time"`
	// DueKey is the sort key of the request's entry in the store's due-time
	// index as last written ("" = none): the store needs it to move the entry.
	DueKey string `json:"due_key,omitempty"`
}

var clientRe = regexp.MustCompile(`^clients/[A-Za-z0-9_-]{1,64}$`)

// ValidateQuoteRequest checks a new request; prefix names the request field.
func ValidateQuoteRequest(q *QuoteRequest, clientName string, now time.Time, prefix string) error {
	var vs Violations
	if !clientRe.MatchString(clientName) {
		vs.add(prefix+"client", "must be clients/{client}")
	}
	switch n := utf8.RuneCountInString(strings.TrimSpace(q.Need)); {
	case n == 0:
		vs.add(prefix+"need_description", "is required")
	case n > 4000:
		vs.add(prefix+"need_description", "must be at most 4000 characters")
	}
	if q.Municipality != "" && !municipalityRe.MatchString(q.Municipality) {
		vs.add(prefix+"municipality", "must be a municipality code of three digits")
	}
	if q.Language != "" && !languageRe.MatchString(q.Language) {
		vs.add(prefix+"language", "must be an ISO 639-1 code in lower case")
	}
	if !q.DesiredStart.IsZero() && !q.DesiredStart.Valid() {
		vs.add(prefix+"desired_start_date", "must be a valid date")
	}
	if !q.ResponseDue.IsZero() && (!q.ResponseDue.After(now) || q.ResponseDue.Sub(now) > 90*24*time.Hour) {
		vs.add(prefix+"response_due_time", "must be in the future and within 90 days")
	}
	return vs.Err()
}

// ValidateQuote checks a provider's quote.
func ValidateQuote(q *Quote, now time.Time) error {
	var vs Violations
	switch n := utf8.RuneCountInString(strings.TrimSpace(q.Description)); {
	case n == 0:
		vs.add("quote.description", "is required")
	case n > 4000:
		vs.add("quote.description", "must be at most 4000 characters")
	}
	if q.Unit < 1 || q.Unit > maxPriceUnit {
		vs.add("quote.unit", "must be a known price unit")
	}
	if q.Quantity < 1 || q.Quantity > 10000 {
		vs.add("quote.quantity", "must be between 1 and 10000")
	}
	if q.UnitAmount < 0 || q.UnitAmount > 100_000_000 {
		vs.add("quote.unit_amount_cents", "must be between 0 and 100000000")
	}
	if q.VATRate < 0 || q.VATRate > 10000 {
		vs.add("quote.vat_rate_basis_points", "must be between 0 and 10000")
	}
	if !q.ValidUntil.Valid() {
		vs.add("quote.valid_until", "is required and must be a valid date")
	} else if q.ValidUntil.EndOfDay().Before(now) {
		vs.add("quote.valid_until", "must not be in the past")
	}
	return vs.Err()
}

// DueTime is when Expire will next change the request: the response due time
// of a REQUESTED one, the end of the quote's validity of a QUOTED one; false
// when no time-driven transition is ahead.
func (q *QuoteRequest) DueTime() (time.Time, bool) {
	switch {
	case q.State == QuoteRequested:
		return q.ResponseDue, true
	case q.State == QuoteQuoted && q.Quote != nil:
		return q.Quote.ValidUntil.EndOfDay(), true
	}
	return time.Time{}, false
}

// Expire applies the time-driven transitions: REQUESTED past its response due
// time -> EXPIRED; QUOTED past the end of valid_until -> LAPSED. It reports
// whether the state changed.
func (q *QuoteRequest) Expire(now time.Time) bool {
	switch {
	case q.State == QuoteRequested && now.After(q.ResponseDue):
		q.State, q.UpdateTime = QuoteExpired, now
		return true
	case q.State == QuoteQuoted && q.Quote != nil && !now.Before(q.Quote.ValidUntil.EndOfDay()):
		q.State, q.UpdateTime = QuoteLapsed, now
		return true
	}
	return false
}

func (q *QuoteRequest) illegal() error {
	var allowed []string
	switch q.State {
	case QuoteRequested:
		allowed = []string{"QUOTED", "DECLINED", "CANCELLED"}
	case QuoteQuoted:
		allowed = []string{"ACCEPTED", "CANCELLED"}
	}
	return &TransitionError{From: q.State.String(), Allowed: allowed}
}

// SubmitQuote: REQUESTED -> QUOTED.
func (q *QuoteRequest) SubmitQuote(quote Quote, by string, now time.Time) error {
	if q.Expire(now); q.State != QuoteRequested {
		return q.illegal()
	}
	quote.Total, quote.QuotedBy, quote.QuoteTime = int64(quote.Quantity)*quote.UnitAmount, by, now
	q.Quote, q.State, q.UpdateTime = &quote, QuoteQuoted, now
	return nil
}

// Decline: REQUESTED -> DECLINED.
func (q *QuoteRequest) Decline(reason string, now time.Time) error {
	if q.Expire(now); q.State != QuoteRequested {
		return q.illegal()
	}
	q.DeclineReason, q.State, q.UpdateTime = reason, QuoteDeclined, now
	return nil
}

// Accept: QUOTED -> ACCEPTED before the quote lapses.
func (q *QuoteRequest) Accept(now time.Time) error {
	if q.Expire(now); q.State != QuoteQuoted {
		return q.illegal()
	}
	q.State, q.UpdateTime = QuoteAccepted, now
	return nil
}

// Cancel: REQUESTED or QUOTED -> CANCELLED.
func (q *QuoteRequest) Cancel(reason string, now time.Time) error {
	if q.Expire(now); q.State != QuoteRequested && q.State != QuoteQuoted {
		return q.illegal()
	}
	q.CancelReason, q.State, q.UpdateTime = reason, QuoteCancelled, now
	return nil
}

// String names a quote request for logs (ids only).
func (q *QuoteRequest) String() string {
	return fmt.Sprintf("quote request %s of provider %s", q.ID, q.ProviderID)
}
