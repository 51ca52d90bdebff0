package client

import (
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// State is the lifecycle of a client's service path.
type State string

const (
	Active State = "ACTIVE"
	Closed State = "CLOSED"
)

// Enumerations kept as their API names so stored records read plainly.
const (
	ContactUnspecified = "CONTACT_PREFERENCE_UNSPECIFIED"
	ContactViaWorker   = "CONTACT_PREFERENCE_VIA_WORKER"
)

// Team roles.
const (
	RoleCoordinatingWorker = "COORDINATING_WORKER"
	RoleWorker             = "WORKER"
	RoleAssistant          = "ASSISTANT"
	RoleClosePerson        = "CLOSE_PERSON"
	RolePeerSupporter      = "PEER_SUPPORTER"
)

// Data categories a consent covers.
const (
	CategoryContactDetails    = "DATA_CATEGORY_CONTACT_DETAILS"
	CategoryAssessmentSummary = "DATA_CATEGORY_ASSESSMENT_SUMMARY"
	CategoryPlanGoals         = "DATA_CATEGORY_PLAN_GOALS"
	CategoryBudgetSummary     = "DATA_CATEGORY_BUDGET_SUMMARY"
)

// AllProviders is the consent recipient meaning every provider the client is referred to.
const AllProviders = "providers/-"

// Domain errors; the gRPC layer maps them to status codes.
var (
	ErrClosed             = errors.New("client is closed")
	ErrNotVisible         = errors.New("client not visible to caller")
	ErrForbidden          = errors.New("caller may not do this")
	ErrTeamMemberNotFound = errors.New("team member not found")
	ErrConsentNotFound    = errors.New("consent not found")
	ErrRemoveCoordinator  = errors.New("the coordinating worker cannot be removed; assign another first")
	ErrAlreadyWithdrawn   = errors.New("consent is already withdrawn")
	ErrSameWorker         = errors.New("worker is already the coordinating worker")
)

// Client is a client record as the service keeps it. The identity code is held
// only encrypted (PICCipher) and as a keyed hash (PICHash) for duplicate checks.
type Client struct {
	ID                 string       `json:"id"`
	GivenName          string       `json:"given_name"`
	FamilyName         string       `json:"family_name"`
	PICCipher          []byte       `json:"pic_cipher,omitempty"`
	PICHash            string       `json:"pic_hash,omitempty"`
	PICMasked          string       `json:"pic_masked,omitempty"`
	PreferredLanguages []string     `json:"preferred_languages,omitempty"`
	ContactPreference  string       `json:"contact_preference,omitempty"`
	Contact            Contact      `json:"contact"`
	TargetGroup        string       `json:"target_group,omitempty"`
	Cohort             string       `json:"cohort,omitempty"`
	Region             string       `json:"region"`
	Coordinator        string       `json:"coordinator"`
	CoordinatorHistory []Assignment `json:"coordinator_history,omitempty"`
	Team               []TeamMember `json:"team,omitempty"`
	Consents           []Consent    `json:"consents,omitempty"`
	State              State        `json:"state"`
	CloseReason        string       `json:"close_reason,omitempty"`
	CreateTime         time.Time    `json:"create_time"`
	UpdateTime         time.Time    `json:"update_time"`
	CloseTime          time.Time    `json:"close_time,omitzero"`
}

// Contact holds the client's contact details.
type Contact struct {
	Phone         string `json:"phone,omitempty"`
	Email         string `json:"email,omitempty"`
	PostalAddress string `json:"postal_address,omitempty"`
}

// Assignment is one period of a coordinating worker's responsibility.
type Assignment struct {
	Worker string    `json:"worker"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end,omitzero"`
	Reason string    `json:"reason,omitempty"`
}

// TeamMember is one member of the client's team.
type TeamMember struct {
	ID          string    `json:"id"`
	Role        string    `json:"role"`
	Subject     string    `json:"subject,omitempty"`
	DisplayName string    `json:"display_name,omitempty"`
	CreateTime  time.Time `json:"create_time"`
}

// Consent is the client's permission to disclose one data category to a recipient.
type Consent struct {
	ID           string    `json:"id"`
	Category     string    `json:"category"`
	Recipient    string    `json:"recipient"`
	Withdrawn    bool      `json:"withdrawn,omitempty"`
	RecordedBy   string    `json:"recorded_by"`
	GrantTime    time.Time `json:"grant_time"`
	WithdrawTime time.Time `json:"withdraw_time,omitzero"`
}

// Violation is one invalid field (the gRPC layer turns a list into BadRequest).
type Violation struct{ Field, Rule string }

// Violations is returned as an error when input is invalid.
type Violations []Violation

func (v Violations) Error() string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = x.Field + ": " + x.Rule
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

func (v *Violations) add(field, rule string) { *v = append(*v, Violation{field, rule}) }

func (v Violations) err() error {
	if len(v) == 0 {
		return nil
	}
	return v
}

var (
	langRe   = regexp.MustCompile(`^[a-z]{2,3}$`)
	phoneRe  = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	regionRe = regexp.MustCompile(`^[a-z0-9-]{1,40}$`)
)

var (
	contactPreferences = []string{ContactUnspecified, "CONTACT_PREFERENCE_PHONE", "CONTACT_PREFERENCE_EMAIL", "CONTACT_PREFERENCE_LETTER", ContactViaWorker}
	targetGroups       = []string{"TARGET_GROUP_UNSPECIFIED", "TARGET_GROUP_FAMILY_ADULT", "TARGET_GROUP_YOUNG_ADULT_AFTERCARE", "TARGET_GROUP_DISABILITY_SERVICES", "TARGET_GROUP_CARER", "TARGET_GROUP_OTHER"}
	cohorts            = []string{"COHORT_UNSPECIFIED", "COHORT_PERSONAL_BUDGET", "COHORT_COMPARISON", "COHORT_NONE"}
	teamRoles          = []string{RoleWorker, RoleAssistant, RoleClosePerson, RolePeerSupporter}
	categories         = []string{CategoryContactDetails, CategoryAssessmentSummary, CategoryPlanGoals, CategoryBudgetSummary}
)

const maxText = 200

// ValidateProfile checks the fields a worker may set on create and update. prefix
// is the request path of the client message ("client.").
func ValidateProfile(c *Client, prefix string) error {
	var v Violations
	checkName := func(field, s string) {
		switch {
		case strings.TrimSpace(s) == "":
			v.add(prefix+field, "is required")
		case utf8.RuneCountInString(s) > maxText:
			v.add(prefix+field, fmt.Sprintf("must be at most %d characters", maxText))
		}
	}
	checkName("given_name", c.GivenName)
	checkName("family_name", c.FamilyName)
	if len(c.PreferredLanguages) > 10 {
		v.add(prefix+"preferred_languages", "at most 10 languages")
	}
	for i, l := range c.PreferredLanguages {
		if !langRe.MatchString(l) {
			v.add(fmt.Sprintf("%spreferred_languages[%d]", prefix, i), "must be an ISO 639 code in lower case, e.g. fi, sv, en")
		}
	}
	if c.Contact.Phone != "" && !phoneRe.MatchString(c.Contact.Phone) {
		v.add(prefix+"contact_details.phone", "must be in E.164 form, e.g. +358401234567")
	}
	if c.Contact.Email != "" {
		if a, err := mail.ParseAddress(c.Contact.Email); err != nil || a.Address != c.Contact.Email {
			v.add(prefix+"contact_details.email", "must be a plain email address")
		}
	}
	if utf8.RuneCountInString(c.Contact.PostalAddress) > 500 {
		v.add(prefix+"contact_details.postal_address", "must be at most 500 characters")
	}
	if !slices.Contains(contactPreferences, c.ContactPreference) {
		v.add(prefix+"contact_preference", "unknown value")
	}
	if c.ContactPreference == "CONTACT_PREFERENCE_PHONE" && c.Contact.Phone == "" {
		v.add(prefix+"contact_details.phone", "is required when the contact preference is phone")
	}
	if c.ContactPreference == "CONTACT_PREFERENCE_EMAIL" && c.Contact.Email == "" {
		v.add(prefix+"contact_details.email", "is required when the contact preference is email")
	}
	if !slices.Contains(targetGroups, c.TargetGroup) {
		v.add(prefix+"target_group", "unknown value")
	}
	if !slices.Contains(cohorts, c.Cohort) {
		v.add(prefix+"cohort", "unknown value")
	}
	if !regionRe.MatchString(c.Region) {
		v.add(prefix+"region", "must be a region code of lower-case letters, digits and dashes")
	}
	return v.err()
}

// New makes a new ACTIVE client whose coordinating worker is coordinator.
// memberID is the id of the coordinator's team-member entry.
func New(id string, profile Client, coordinator, memberID string, now time.Time) *Client {
	c := profile
	c.ID = id
	c.State = Active
	c.Coordinator = coordinator
	c.CoordinatorHistory = []Assignment{{Worker: coordinator, Start: now, Reason: "client created"}}
	c.Team = []TeamMember{{ID: memberID, Role: RoleCoordinatingWorker, Subject: coordinator, CreateTime: now}}
	c.CreateTime, c.UpdateTime = now, now
	return &c
}

// Close ends the service path.
func (c *Client) Close(reason string, now time.Time) error {
	if c.State == Closed {
		return ErrClosed
	}
	if strings.TrimSpace(reason) == "" {
		return Violations{{"reason", "is required"}}
	}
	c.State, c.CloseReason, c.CloseTime, c.UpdateTime = Closed, reason, now, now
	return nil
}

// AssignCoordinator hands responsibility to another worker, closing the previous
// period in the history. The previous coordinator stays in the team as a worker so
// the handoff is warm: they can still be asked. memberID is used when the new
// coordinator is not yet in the team. It returns the previous worker.
func (c *Client) AssignCoordinator(worker, reason, memberID string, now time.Time) (string, error) {
	var v Violations
	if strings.TrimSpace(worker) == "" {
		v.add("worker", "is required")
	}
	if strings.TrimSpace(reason) == "" {
		v.add("reason", "is required")
	}
	if err := v.err(); err != nil {
		return "", err
	}
	if c.State == Closed {
		return "", ErrClosed
	}
	prev := c.Coordinator
	if prev == worker {
		return "", ErrSameWorker
	}
	if n := len(c.CoordinatorHistory); n > 0 {
		c.CoordinatorHistory[n-1].End = now
	}
	c.CoordinatorHistory = append(c.CoordinatorHistory, Assignment{Worker: worker, Start: now, Reason: reason})
	c.Coordinator = worker
	promoted := false
	for i := range c.Team {
		switch {
		case c.Team[i].Role == RoleCoordinatingWorker:
			c.Team[i].Role = RoleWorker
		case c.Team[i].Subject == worker && !promoted:
			c.Team[i].Role, promoted = RoleCoordinatingWorker, true
		}
	}
	if !promoted {
		c.Team = append(c.Team, TeamMember{ID: memberID, Role: RoleCoordinatingWorker, Subject: worker, CreateTime: now})
	}
	c.UpdateTime = now
	return prev, nil
}

// AddTeamMember adds a member with a new id.
func (c *Client) AddTeamMember(m TeamMember, now time.Time) (TeamMember, error) {
	var v Violations
	if !slices.Contains(teamRoles, m.Role) {
		v.add("team_member.role", "must be WORKER, ASSISTANT, CLOSE_PERSON or PEER_SUPPORTER (the coordinating worker is set by assignment)")
	}
	if (m.Role == RoleWorker || m.Role == RoleAssistant) && m.Subject == "" {
		v.add("team_member.subject", "is required for workers and assistants (their Polku account)")
	}
	if m.Subject == "" && strings.TrimSpace(m.DisplayName) == "" {
		v.add("team_member.display_name", "is required for a member without an account")
	}
	if utf8.RuneCountInString(m.DisplayName) > maxText {
		v.add("team_member.display_name", fmt.Sprintf("must be at most %d characters", maxText))
	}
	if err := v.err(); err != nil {
		return TeamMember{}, err
	}
	if c.State == Closed {
		return TeamMember{}, ErrClosed
	}
	m.CreateTime = now
	c.Team = append(c.Team, m)
	c.UpdateTime = now
	return m, nil
}

// RemoveTeamMember removes a member; the coordinating worker stays.
func (c *Client) RemoveTeamMember(id string, now time.Time) (TeamMember, error) {
	i := slices.IndexFunc(c.Team, func(m TeamMember) bool { return m.ID == id })
	if i < 0 {
		return TeamMember{}, ErrTeamMemberNotFound
	}
	m := c.Team[i]
	if m.Role == RoleCoordinatingWorker {
		return TeamMember{}, ErrRemoveCoordinator
	}
	c.Team = slices.Delete(c.Team, i, i+1)
	c.UpdateTime = now
	return m, nil
}

// Grant records a consent.
func (c *Client) Grant(k Consent, now time.Time) (Consent, error) {
	var v Violations
	if !slices.Contains(categories, k.Category) {
		v.add("consent.category", "must be a known data category")
	}
	if k.Recipient != AllProviders && !validProviderName(k.Recipient) {
		v.add("consent.recipient", "must be providers/{provider} or providers/- for every provider")
	}
	if err := v.err(); err != nil {
		return Consent{}, err
	}
	if c.State == Closed {
		return Consent{}, ErrClosed
	}
	k.GrantTime, k.Withdrawn, k.WithdrawTime = now, false, time.Time{}
	c.Consents = append(c.Consents, k)
	c.UpdateTime = now
	return k, nil
}

// Withdraw withdraws a consent.
func (c *Client) Withdraw(id string, now time.Time) (Consent, error) {
	i := slices.IndexFunc(c.Consents, func(k Consent) bool { return k.ID == id })
	if i < 0 {
		return Consent{}, ErrConsentNotFound
	}
	if c.Consents[i].Withdrawn {
		return Consent{}, ErrAlreadyWithdrawn
	}
	c.Consents[i].Withdrawn, c.Consents[i].WithdrawTime = true, now
	c.UpdateTime = now
	return c.Consents[i], nil
}

// Disclosable returns the categories the client currently agrees to disclose to
// recipient (a provider name), in a fixed order.
func (c *Client) Disclosable(recipient string) []string {
	var out []string
	for _, cat := range categories {
		for _, k := range c.Consents {
			if !k.Withdrawn && k.Category == cat && (k.Recipient == recipient || k.Recipient == AllProviders) {
				out = append(out, cat)
				break
			}
		}
	}
	return out
}

// InTeam reports whether subject is a member of the team with an account.
func (c *Client) InTeam(subject string) bool {
	return subject != "" && slices.ContainsFunc(c.Team, func(m TeamMember) bool { return m.Subject == subject })
}

var providerNameRe = regexp.MustCompile(`^providers/[a-z0-9][a-z0-9-]{0,62}$`)

func validProviderName(s string) bool { return providerNameRe.MatchString(s) }
