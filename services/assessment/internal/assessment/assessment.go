package assessment

import (
	"fmt"
	"slices"
	"time"
)

// Assessment states and kinds.
const (
	AssessmentDraft     = "DRAFT"
	AssessmentCompleted = "COMPLETED"
)

// Assessment is a needs assessment made with the client.
type Assessment struct {
	ID           string       `json:"id"`
	ClientID     string       `json:"client"`
	Kind         string       `json:"kind"` // INITIAL, REVIEW, FINAL
	Participants []string     `json:"participants,omitempty"`
	ClientWords  string       `json:"client_words,omitempty"`
	Needs        []Need       `json:"needs,omitempty"`
	Strengths    []string     `json:"strengths,omitempty"`
	Summary      string       `json:"summary,omitempty"`
	AssessDate   Date         `json:"assess_date"`
	State        string       `json:"state"`
	Version      int          `json:"version"`
	Corrections  []Correction `json:"corrections,omitempty"`
	Author       string       `json:"author"`
	CreateTime   time.Time    `json:"create_time"`
	UpdateTime   time.Time    `json:"update_time"`
	CompleteTime time.Time    `json:"complete_time"`
}

// Need is one need found in an assessment.
type Need struct {
	ID          string `json:"id"`
	Domain      string `json:"domain"` // NEED_DOMAIN_*
	Description string `json:"description"`
	Priority    string `json:"priority,omitempty"` // NEED_PRIORITY_*
}

// Correction records one correction of a completed assessment.
type Correction struct {
	Version     int       `json:"version"`
	Reason      string    `json:"reason"`
	Fields      []string  `json:"fields"`
	CorrectedBy string    `json:"corrected_by"`
	CorrectTime time.Time `json:"correct_time"`
}

// NeedDomains is the documented list of need domains.
var NeedDomains = []string{
	"NEED_DOMAIN_LIVELIHOOD_AND_BENEFITS", "NEED_DOMAIN_HOUSING", "NEED_DOMAIN_HEALTH",
	"NEED_DOMAIN_MENTAL_WELLBEING", "NEED_DOMAIN_FUNCTIONING", "NEED_DOMAIN_FAMILY_AND_PARENTING",
	"NEED_DOMAIN_WORK_AND_EDUCATION", "NEED_DOMAIN_SOCIAL_RELATIONSHIPS", "NEED_DOMAIN_LEISURE_AND_CULTURE",
	"NEED_DOMAIN_SAFETY", "NEED_DOMAIN_OTHER",
}

// AssessmentFields are the fields Update and Correct may change.
var AssessmentFields = []string{"participants", "client_words", "needs", "strengths", "summary", "assess_date"}

// Copy is a deep copy.
func (a *Assessment) Copy() *Assessment {
	c := *a
	c.Participants = slices.Clone(a.Participants)
	c.Needs = slices.Clone(a.Needs)
	c.Strengths = slices.Clone(a.Strengths)
	c.Corrections = slices.Clone(a.Corrections)
	return &c
}

// Apply copies the masked fields from src into a.
func (a *Assessment) Apply(src *Assessment, fields []string) {
	for _, f := range fields {
		switch f {
		case "participants":
			a.Participants = slices.Clone(src.Participants)
		case "client_words":
			a.ClientWords = src.ClientWords
		case "needs":
			a.Needs = slices.Clone(src.Needs)
		case "strengths":
			a.Strengths = slices.Clone(src.Strengths)
		case "summary":
			a.Summary = src.Summary
		case "assess_date":
			a.AssessDate = src.AssessDate
		}
	}
}

// AssignNeedIDs gives needs without a key the next free one (n1, n2, ...).
func (a *Assessment) AssignNeedIDs() {
	assign(len(a.Needs), "n", func(i int) *string { return &a.Needs[i].ID }, nil)
}

// ValidateAssessment checks an assessment's content.
func ValidateAssessment(a *Assessment, prefix string) error {
	var vs Violations
	switch a.Kind {
	case "INITIAL", "REVIEW", "FINAL":
	default:
		vs.Add(prefix+"kind", "is required (INITIAL, REVIEW or FINAL)")
	}
	checkDate(&vs, prefix+"assess_date", a.AssessDate, true)
	checkText(&vs, prefix+"client_words", a.ClientWords, maxLong, false)
	checkText(&vs, prefix+"summary", a.Summary, maxText, false)
	if len(a.Participants) > maxItems || len(a.Needs) > maxItems || len(a.Strengths) > maxItems {
		vs.Add(prefix+"needs", fmt.Sprintf("participants, needs and strengths are limited to %d each", maxItems))
	}
	for i, p := range a.Participants {
		if p != "clients/"+a.ClientID && !IsChildName(p, a.ClientID, "teamMembers") {
			vs.Add(fmt.Sprintf("%sparticipants[%d]", prefix, i), "must be the client (clients/{client}) or a member of the client's team (clients/{client}/teamMembers/{id})")
		}
	}
	seen := map[string]bool{}
	for i, n := range a.Needs {
		f := fmt.Sprintf("%sneeds[%d].", prefix, i)
		if !slices.Contains(NeedDomains, n.Domain) {
			vs.Add(f+"domain", "is required (one of the documented need domains)")
		}
		checkText(&vs, f+"description", n.Description, maxText, true)
		if n.ID != "" && seen[n.ID] {
			vs.Add(f+"id", "must be unique within the assessment")
		}
		seen[n.ID] = true
	}
	for i, s := range a.Strengths {
		checkText(&vs, fmt.Sprintf("%sstrengths[%d]", prefix, i), s, maxText, true)
	}
	return vs.Err()
}

// CheckAssessmentTransition is nil when from -> to is allowed (DRAFT ->
// COMPLETED only).
func CheckAssessmentTransition(from, to string) error {
	if from == AssessmentDraft && to == AssessmentCompleted {
		return nil
	}
	allowed := []string{}
	if from == AssessmentDraft {
		allowed = []string{AssessmentCompleted}
	}
	return &TransitionError{Kind: "assessment", From: from, Allowed: allowed}
}
