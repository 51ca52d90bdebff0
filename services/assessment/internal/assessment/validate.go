package assessment

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// quoteRe is a catalogue quote request's resource name.
var quoteRe = regexp.MustCompile(`^providers/[A-Za-z0-9_-]{1,64}/quoteRequests/[A-Za-z0-9_-]{1,64}$`)

// Length limits of free text (characters).
const (
	maxShort = 200
	maxText  = 2000
	maxLong  = 10000
	maxItems = 100
)

func checkText(vs *Violations, field, s string, max int, required bool) {
	switch {
	case required && strings.TrimSpace(s) == "":
		vs.Add(field, "is required")
	case utf8.RuneCountInString(s) > max:
		vs.Add(field, fmt.Sprintf("must be at most %d characters", max))
	}
}

func checkDate(vs *Violations, field string, d Date, required bool) {
	switch {
	case d.IsZero():
		if required {
			vs.Add(field, "is required")
		}
	case !d.Valid():
		vs.Add(field, "is not a valid calendar date")
	}
}

// IsChildName reports whether name is `clients/<client>/<collection>/<id>` of
// this client.
func IsChildName(name, clientID, collection string) bool {
	id, ok := strings.CutPrefix(name, "clients/"+clientID+"/"+collection+"/")
	return ok && id != "" && !strings.Contains(id, "/")
}

// ValidateRevision checks a revision's content (field paths relative to
// prefix, e.g. "plan_revision.").
func ValidateRevision(r *Revision, prefix string) error {
	var vs Violations
	if len(r.Goals) > maxItems || len(r.Actions) > maxItems || len(r.Services) > maxItems || len(r.Assessments) > maxItems {
		vs.Add(prefix+"goals", fmt.Sprintf("goals, actions, services and assessments are limited to %d each", maxItems))
	}
	for i, a := range r.Assessments {
		if !IsChildName(a, r.ClientID, "assessments") {
			vs.Add(fmt.Sprintf("%sassessments[%d]", prefix, i), "must be an assessment of this client")
		}
	}
	goalIDs := map[string]bool{}
	for i, g := range r.Goals {
		f := fmt.Sprintf("%sgoals[%d].", prefix, i)
		checkText(&vs, f+"client_words", g.ClientWords, maxText, true)
		checkText(&vs, f+"measure", g.Measure, maxText, false)
		checkDate(&vs, f+"target_date", g.TargetDate, false)
		if g.ID != "" && goalIDs[g.ID] {
			vs.Add(f+"id", "must be unique within the revision")
		}
		goalIDs[g.ID] = true
		for j, n := range g.Needs {
			if !IsChildName(n.Assessment, r.ClientID, "assessments") || n.NeedID == "" {
				vs.Add(fmt.Sprintf("%sneeds[%d]", f, j), "must name an assessment of this client and a need id")
			}
		}
	}
	actionIDs := map[string]bool{}
	for i, a := range r.Actions {
		f := fmt.Sprintf("%sactions[%d].", prefix, i)
		checkText(&vs, f+"description", a.Description, maxText, true)
		checkDate(&vs, f+"due_date", a.DueDate, false)
		if a.ID != "" && actionIDs[a.ID] {
			vs.Add(f+"id", "must be unique within the revision")
		}
		actionIDs[a.ID] = true
		switch a.Responsible {
		case "RESPONSIBLE_PARTY_CLIENT", "RESPONSIBLE_PARTY_WORKER", "RESPONSIBLE_PARTY_ASSISTANT",
			"RESPONSIBLE_PARTY_PROVIDER", "RESPONSIBLE_PARTY_CLOSE_PERSON":
		default:
			vs.Add(f+"responsible", "is required")
		}
		if a.ResponsibleTeamMember != "" && !IsChildName(a.ResponsibleTeamMember, r.ClientID, "teamMembers") {
			vs.Add(f+"responsible_team_member", "must be a team member of this client (clients/{client}/teamMembers/{id})")
		}
		if a.ResponsibleProvider != "" {
			id, ok := strings.CutPrefix(a.ResponsibleProvider, "providers/")
			if !ok || id == "" || strings.Contains(id, "/") || a.Responsible != "RESPONSIBLE_PARTY_PROVIDER" {
				vs.Add(f+"responsible_provider", "must be providers/{provider} and only when responsible is PROVIDER")
			}
		}
		for _, g := range a.GoalIDs {
			if !goalIDs[g] {
				vs.Add(f+"goal_ids", "must name goals of this revision")
				break
			}
		}
	}
	serviceIDs := map[string]bool{}
	for i, s := range r.Services {
		f := fmt.Sprintf("%sservices[%d].", prefix, i)
		if s.ID != "" && serviceIDs[s.ID] {
			vs.Add(f+"id", "must be unique within the revision")
		}
		serviceIDs[s.ID] = true
		checkText(&vs, f+"note", s.Note, maxText, false)
		switch {
		case s.AcceptedQuote != "":
			// Quantity, unit and price come from the quote; the category from its
			// offering, or from the worker when the request named no offering.
			if !quoteRe.MatchString(s.AcceptedQuote) {
				vs.Add(f+"accepted_quote", "must be providers/{provider}/quoteRequests/{quote_request}")
			}
		case s.Flexible:
			if s.FlexibleCents <= 0 {
				vs.Add(f+"flexible_amount_cents", "must be positive")
			}
			if s.Category == "" || s.Category == "CATEGORY_UNSPECIFIED" {
				vs.Add(f+"category", "is required for flexible money")
			}
		case s.Offering != "":
			if s.PriceOptionID == "" {
				vs.Add(f+"pinned_price.price_option_id", "is required")
			}
			if s.Quantity <= 0 || s.Quantity > 10000 {
				vs.Add(f+"quantity", "must be between 1 and 10000")
			}
			switch s.Frequency {
			case FrequencyOnce, FrequencyPerWeek, FrequencyPerMonth:
			default:
				vs.Add(f+"frequency", "is required (ONCE, PER_WEEK or PER_MONTH)")
			}
		default:
			vs.Add(f+"pricing", "exactly one of pinned_price, accepted_quote or flexible_amount_cents is required")
		}
	}
	checkDate(&vs, prefix+"start_date", r.StartDate, false)
	checkDate(&vs, prefix+"end_date", r.EndDate, false)
	if r.StartDate.Valid() && r.EndDate.Valid() {
		if r.EndDate.Before(r.StartDate) {
			vs.Add(prefix+"end_date", "must not be before start_date")
		} else if r.StartDate.AddMonths(24).Before(r.EndDate) {
			vs.Add(prefix+"end_date", "must be at most 24 months after start_date")
		}
	}
	checkDate(&vs, prefix+"review_schedule.next_review_date", r.Schedule.NextReviewDate, false)
	if r.Schedule.CadenceMonths < 0 || r.Schedule.CadenceMonths > 24 {
		vs.Add(prefix+"review_schedule.cadence_months", "must be between 0 and 24")
	}
	return vs.Err()
}

// ValidatePlan checks a plan's own fields.
func ValidatePlan(p *Plan, prefix string) error {
	var vs Violations
	checkText(&vs, prefix+"display_name", p.DisplayName, maxShort, false)
	checkText(&vs, prefix+"responsible_worker", p.ResponsibleWorker, maxShort, false)
	return vs.Err()
}

// CheckReason validates a required reason field.
func CheckReason(field, reason string) error {
	var vs Violations
	checkText(&vs, field, reason, maxText, true)
	return vs.Err()
}

// CheckDate validates a date field.
func CheckDate(field string, d Date, required bool) error {
	var vs Violations
	checkDate(&vs, field, d, required)
	return vs.Err()
}

// CheckText validates an optional free-text field.
func CheckText(field, s string) error {
	var vs Violations
	checkText(&vs, field, s, maxText, false)
	return vs.Err()
}
