package catalogue

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Violation is one invalid field.
type Violation struct {
	Field string
	Rule  string
}

// Violations is every invalid field of a request; as an error it means bad input.
type Violations []Violation

func (v Violations) Error() string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = x.Field + ": " + x.Rule
	}
	return "invalid: " + strings.Join(parts, "; ")
}

func (v *Violations) add(field, rule string) { *v = append(*v, Violation{Field: field, Rule: rule}) }

// Err is nil without violations.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return v
}

// Limits on sizes.
const (
	MaxName        = 200
	MaxDescription = 5000
	MaxNote        = 2000
	MaxReason      = 1000
	MaxList        = 400
	MaxPrices      = 20
)

var (
	businessIDRe   = regexp.MustCompile(`^[0-9]{7}-[0-9]$`)
	municipalityRe = regexp.MustCompile(`^[0-9]{3}$`)
	languageRe     = regexp.MustCompile(`^[a-z]{2}$`)
	phoneRe        = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	optionIDRe     = regexp.MustCompile(`^[a-z0-9-]{1,40}$`)
)

// ValidBusinessID checks a Finnish business ID (Y-tunnus) `1234567-8`: seven
// digits weighted 7, 9, 10, 5, 8, 4, 2; the remainder of the sum by 11 is 0 for
// check digit 0, 1 is never issued, otherwise the check digit is 11 - remainder.
func ValidBusinessID(s string) bool {
	if !businessIDRe.MatchString(s) {
		return false
	}
	weights := [7]int{7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(s[i]-'0') * w
	}
	check := int(s[8] - '0')
	switch r := sum % 11; r {
	case 0:
		return check == 0
	case 1:
		return false
	default:
		return check == 11-r
	}
}

func text(vs *Violations, field string, t Text, required bool, max int) {
	if required && t.Empty() {
		vs.add(field, "needs text in at least one language (fi, sv, en)")
	}
	for lang, s := range map[string]string{"fi": t.Fi, "sv": t.Sv, "en": t.En} {
		if utf8.RuneCountInString(s) > max {
			vs.add(field+"."+lang, fmt.Sprintf("must be at most %d characters", max))
		}
	}
}

func areas(vs *Violations, field string, list []string) {
	if len(list) > MaxList {
		vs.add(field, fmt.Sprintf("must have at most %d entries", MaxList))
		return
	}
	for _, a := range list {
		if !municipalityRe.MatchString(a) {
			vs.add(field, "must be Statistics Finland municipality codes of three digits (837, 091)")
			return
		}
	}
}

func languages(vs *Violations, field string, list []string) {
	if len(list) > 50 {
		vs.add(field, "must have at most 50 entries")
		return
	}
	for _, l := range list {
		if !languageRe.MatchString(l) {
			vs.add(field, "must be ISO 639-1 codes in lower case (fi, sv, en)")
			return
		}
	}
}

func uri(vs *Violations, field, s string) {
	if s == "" {
		return
	}
	if len(s) > 500 || !(strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")) || strings.ContainsAny(s, " \n\t") {
		vs.add(field, "must be an http(s) URL of at most 500 characters")
	}
}

// ValidateProvider checks a provider's fields; prefix names the request field
// ("provider.").
func ValidateProvider(p *Provider, prefix string) error {
	var vs Violations
	switch n := utf8.RuneCountInString(strings.TrimSpace(p.DisplayName)); {
	case n == 0:
		vs.add(prefix+"display_name", "is required")
	case n > MaxName:
		vs.add(prefix+"display_name", fmt.Sprintf("must be at most %d characters", MaxName))
	}
	if p.Kind < KindPublic || p.Kind > KindVolunteer {
		vs.add(prefix+"kind", "must be one of PROVIDER_KIND_PUBLIC, _THIRD_SECTOR, _COMPANY, _VOLUNTEER")
	}
	switch {
	case p.Unregistered && p.BusinessID != "":
		vs.add(prefix+"business_id", "must be empty for an unregistered group")
	case p.Unregistered && p.Kind != KindVolunteer:
		vs.add(prefix+"kind", "must be PROVIDER_KIND_VOLUNTEER for an unregistered group")
	case !p.Unregistered && p.BusinessID == "":
		vs.add(prefix+"business_id", "is required unless unregistered_group is true")
	case !p.Unregistered && !ValidBusinessID(p.BusinessID):
		vs.add(prefix+"business_id", "must be a Finnish business ID 1234567-8 with a valid check digit")
	}
	text(&vs, prefix+"description", p.Description, false, MaxDescription)
	if e := p.Contact.Email; e != "" && (len(e) > 200 || !strings.Contains(e, "@") || strings.ContainsAny(e, " \n")) {
		vs.add(prefix+"contact.email", "must be an email address of at most 200 characters")
	}
	if p.Contact.Phone != "" && !phoneRe.MatchString(p.Contact.Phone) {
		vs.add(prefix+"contact.phone", "must be an E.164 number (+358401234567)")
	}
	uri(&vs, prefix+"contact.website_uri", p.Contact.Website)
	if utf8.RuneCountInString(p.Contact.Address) > 500 {
		vs.add(prefix+"contact.address", "must be at most 500 characters")
	}
	areas(&vs, prefix+"service_areas", p.ServiceAreas)
	languages(&vs, prefix+"languages", p.Languages)
	return vs.Err()
}

// ValidateOffering checks an offering's content and capacity; prefix names the
// request field ("offering.").
func ValidateOffering(c *Content, capacity Capacity, band WaitingBand, prefix string) error {
	var vs Violations
	text(&vs, prefix+"title", c.Title, true, MaxName)
	text(&vs, prefix+"description", c.Description, true, MaxDescription)
	if c.Category < 1 || c.Category > maxCategory {
		vs.add(prefix+"category", "must be a category of the Polku taxonomy (CATEGORY_...)")
	}
	for _, g := range c.TargetGroups {
		if g < 1 || g > maxTargetGroup {
			vs.add(prefix+"target_groups", "must be known target groups")
			break
		}
	}
	if len(c.DeliveryModes) == 0 {
		vs.add(prefix+"delivery_modes", "needs at least one delivery mode")
	}
	for _, m := range c.DeliveryModes {
		if m < 1 || m > maxDeliveryMode {
			vs.add(prefix+"delivery_modes", "must be known delivery modes")
			break
		}
	}
	areas(&vs, prefix+"service_areas", c.ServiceAreas)
	languages(&vs, prefix+"languages", c.Languages)
	text(&vs, prefix+"accessibility_notes", c.Accessibility, false, MaxNote)
	text(&vs, prefix+"eligibility_notes", c.Eligibility, false, MaxNote)
	text(&vs, prefix+"access_instructions", c.Access, false, MaxNote)
	uri(&vs, prefix+"website_uri", c.Website)
	if capacity < CapacityYes || capacity > CapacityWaitlist {
		vs.add(prefix+"capacity", "must be CAPACITY_YES, CAPACITY_NO or CAPACITY_WAITLIST")
	}
	if band < 0 || band > maxWaitingBand {
		vs.add(prefix+"waiting_band", "must be a known waiting band")
	}
	if len(c.Prices) == 0 && !c.QuoteRequired {
		vs.add(prefix+"price_options", "needs at least one price option (amount 0 for a free service) unless quote_required is true")
	}
	if len(c.Prices) > MaxPrices {
		vs.add(prefix+"price_options", fmt.Sprintf("must have at most %d options", MaxPrices))
	}
	seen := map[string]bool{}
	for i, p := range c.Prices {
		f := fmt.Sprintf("%sprice_options[%d]", prefix, i)
		if !optionIDRe.MatchString(p.ID) {
			vs.add(f+".id", "must be 1-40 lower case letters, digits or '-'")
		} else if seen[p.ID] {
			vs.add(f+".id", "must be unique within the offering")
		}
		seen[p.ID] = true
		text(&vs, f+".label", p.Label, false, MaxName)
		if p.Unit < 1 || p.Unit > maxPriceUnit {
			vs.add(f+".unit", "must be a known price unit (PRICE_UNIT_...)")
		}
		if p.Amount < 0 || p.Amount > 100_000_000 {
			vs.add(f+".amount_cents", "must be between 0 and 100000000")
		}
		if p.VATRate < 0 || p.VATRate > 10000 {
			vs.add(f+".vat_rate_basis_points", "must be between 0 and 10000")
		}
	}
	if c.ResponseDeadline < 0 || c.ResponseDeadline > 365*24*3600e9 {
		vs.add(prefix+"response_deadline", "must be between 0 and 365 days")
	}
	if c.StartDeadline < 0 || c.StartDeadline > 365*24*3600e9 {
		vs.add(prefix+"start_deadline", "must be between 0 and 365 days")
	}
	return vs.Err()
}

// ValidateReason checks a required free-text reason.
func ValidateReason(field, s string, required bool) error {
	var vs Violations
	if required && strings.TrimSpace(s) == "" {
		vs.add(field, "is required")
	}
	if utf8.RuneCountInString(s) > MaxReason {
		vs.add(field, fmt.Sprintf("must be at most %d characters", MaxReason))
	}
	return vs.Err()
}

// ValidateSettings checks a region's settings.
func ValidateSettings(s *Settings, prefix string) error {
	var vs Violations
	areas(&vs, prefix+"municipalities", s.Municipalities)
	if s.Freshness < 0 || s.Freshness > 5*365*24*3600e9 {
		vs.add(prefix+"freshness_period", "must be between 0 and 5 years")
	}
	for i, c := range s.Caps {
		f := fmt.Sprintf("%sprice_caps[%d]", prefix, i)
		if c.Category < 1 || c.Category > maxCategory {
			vs.add(f+".category", "must be a category of the Polku taxonomy")
		}
		if c.Unit < 1 || c.Unit > maxPriceUnit {
			vs.add(f+".unit", "must be a known price unit")
		}
		if c.Max < 0 {
			vs.add(f+".max_amount_cents", "must not be negative")
		}
	}
	return vs.Err()
}
