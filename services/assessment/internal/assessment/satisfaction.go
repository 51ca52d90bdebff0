package assessment

import (
	"fmt"
	"time"
)

// SurveyVersion is the satisfaction survey implemented.
const SurveyVersion = "polku-satisfaction-1"

// SatisfactionItems are the survey's statements (answered 1-5).
var SatisfactionItems = []string{
	"SATISFACTION_ITEM_HEARD", "SATISFACTION_ITEM_RESPECTED", "SATISFACTION_ITEM_HELPED", "SATISFACTION_ITEM_KNEW_WHO",
	"SATISFACTION_ITEM_INFORMED", "SATISFACTION_ITEM_DATA_TRUST", "SATISFACTION_ITEM_OVERALL",
}

// Answer is one survey answer.
type Answer struct {
	Item  string `json:"item"`
	Score int32  `json:"score"`
}

// Satisfaction is a client's survey answers for one plan period. Immutable.
type Satisfaction struct {
	ID               string    `json:"id"`
	ClientID         string    `json:"client"`
	PlanRevision     string    `json:"plan_revision"`
	SurveyVersion    string    `json:"survey_version"`
	Answers          []Answer  `json:"answers"`
	Comment          string    `json:"comment,omitempty"`
	AnsweredWithHelp bool      `json:"answered_with_help,omitempty"`
	RecordedBy       string    `json:"recorded_by"`
	CreateTime       time.Time `json:"create_time"`
}

// ValidateSatisfaction checks a response.
func ValidateSatisfaction(s *Satisfaction) error {
	var vs Violations
	if s.SurveyVersion != "" && s.SurveyVersion != SurveyVersion {
		vs.Add("satisfaction_response.survey_version", "must be "+SurveyVersion)
	}
	if len(s.Answers) == 0 {
		vs.Add("satisfaction_response.answers", "are required")
	}
	seen := map[string]bool{}
	for i, a := range s.Answers {
		f := fmt.Sprintf("satisfaction_response.answers[%d].", i)
		known := false
		for _, it := range SatisfactionItems {
			known = known || it == a.Item
		}
		if !known {
			vs.Add(f+"item", "is required (one of the survey's items)")
		} else if seen[a.Item] {
			vs.Add(f+"item", "is answered twice")
		}
		seen[a.Item] = true
		if a.Score < 1 || a.Score > 5 {
			vs.Add(f+"score", "must be 1-5")
		}
	}
	checkText(&vs, "satisfaction_response.comment", s.Comment, maxText, false)
	return vs.Err()
}
