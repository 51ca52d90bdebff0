package assessment

import (
	"errors"
	"fmt"
	"strings"
)

// Violation is one invalid input field and the rule it broke.
type Violation struct {
	Field string
	Rule  string
}

// Violations is a validation error listing every invalid field.
type Violations []Violation

func (v Violations) Error() string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = x.Field + ": " + x.Rule
	}
	return "invalid: " + strings.Join(parts, "; ")
}

// Add records a violation.
func (v *Violations) Add(field, rule string) { *v = append(*v, Violation{field, rule}) }

// Err is nil when nothing was recorded.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return v
}

// TransitionError is an illegal state change: Kind names the resource kind
// ("plan revision"), From the current state, Allowed the states it may move to.
type TransitionError struct {
	Kind    string
	From    string
	Allowed []string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("%s is %s; allowed next states: %s", e.Kind, e.From, strings.Join(e.Allowed, ", "))
}

// Domain rule errors (beyond validation and transitions).
var (
	// ErrAboveAuthorityLimit: a worker approving a revision whose yearly cost is
	// above the workers' authority limit.
	ErrAboveAuthorityLimit = errors.New("the yearly cost is above the workers' authority limit; a manager must approve with a justification")
	// ErrAgreementRequired: activating without the client's agreement.
	ErrAgreementRequired = errors.New("the client's agreement must be recorded before activation")
	// ErrOpenRevision: RevisePlan while a revision is still open.
	ErrOpenRevision = errors.New("the plan already has an open revision; continue or close it first")
	// ErrNoActiveRevision: a review of a plan that has no active revision.
	ErrNoActiveRevision = errors.New("the plan has no active revision")
	// ErrIncomplete: proposing a revision that lacks goals, a schedule or a period.
	ErrIncomplete = errors.New("the revision is incomplete")
)

// IncompleteError lists what a revision lacks before it can be proposed.
type IncompleteError struct{ Missing []string }

func (e *IncompleteError) Error() string {
	return "the revision cannot be proposed yet: it needs " + strings.Join(e.Missing, ", ")
}

func (e *IncompleteError) Unwrap() error { return ErrIncomplete }
