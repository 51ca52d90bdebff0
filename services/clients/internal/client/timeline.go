package client

import (
	"strings"
	"time"
)

// TimelineEntry is one step of a client's service path as the client reads it.
type TimelineEntry struct {
	ID        string    `json:"id"` // the id of the event it came from: applied once
	ClientID  string    `json:"client_id"`
	Type      string    `json:"type"`
	Source    string    `json:"source"`
	Subject   string    `json:"subject"`
	Summary   string    `json:"summary"`
	ActorRole string    `json:"actor_role,omitempty"`
	Time      time.Time `json:"time"`
}

// AccessEntry is one read of a client's data, as the client can list it.
type AccessEntry struct {
	ID       string    `json:"id"`
	ClientID string    `json:"client_id"`
	Accessor string    `json:"accessor"`
	Role     string    `json:"role"`
	Provider string    `json:"provider,omitempty"`
	Purpose  string    `json:"purpose"`
	Action   string    `json:"action"`
	Time     time.Time `json:"time"`
}

// summaries say in plain words what an event type means for the client. Types
// not listed fall back to a readable form of the type itself; other services add
// their event types here as they come.
var summaries = map[string]string{
	"polku.clients.v1.client.created":              "Client record created; a coordinating worker was named",
	"polku.clients.v1.client.updated":              "Client details updated",
	"polku.clients.v1.client.closed":               "Service path closed",
	"polku.clients.v1.client.coordinator_assigned": "A new coordinating worker took over",
	"polku.clients.v1.team_member.added":           "A member joined the client's team",
	"polku.clients.v1.team_member.removed":         "A member left the client's team",
	"polku.clients.v1.consent.granted":             "The client gave a consent to share data",
	"polku.clients.v1.consent.withdrawn":           "The client withdrew a consent",

	"polku.referral.v1.referral.created":                   "A referral was drafted",
	"polku.referral.v1.referral.updated":                   "The draft referral was edited",
	"polku.referral.v1.referral.sent":                      "The referral was sent to the service provider",
	"polku.referral.v1.referral.received":                  "The service provider has seen the referral",
	"polku.referral.v1.referral.accepted":                  "The provider accepted the referral and named who holds the matter",
	"polku.referral.v1.referral.started":                   "The service started",
	"polku.referral.v1.referral.held":                      "The service is paused",
	"polku.referral.v1.referral.resumed":                   "The service continues",
	"polku.referral.v1.referral.completed":                 "The service ended; the outcome was recorded",
	"polku.referral.v1.referral.declined":                  "The provider could not take the referral; it came back to the worker",
	"polku.referral.v1.referral.redirected":                "The referral continues to another service",
	"polku.referral.v1.referral.cancelled":                 "The referral was cancelled",
	"polku.referral.v1.referral.closed":                    "The worker closed the referral without redirecting it",
	"polku.referral.v1.referral.reopened":                  "The referral was reopened",
	"polku.referral.v1.referral.escalated":                 "The referral is overdue; the worker or the manager was alerted",
	"polku.budget.v1.budget.created":                       "A personal budget was drawn up from the plan",
	"polku.budget.v1.budget.updated":                       "The draft budget's title, management or period was changed",
	"polku.budget.v1.budget.approved":                      "The budget was approved",
	"polku.budget.v1.budget.activated":                     "The budget is in use",
	"polku.budget.v1.budget.revised":                       "A new version of the budget was drawn up from the updated plan",
	"polku.budget.v1.budget.closed":                        "The budget was closed; open reservations were returned",
	"polku.budget.v1.budget.closed_with_money_left":        "The budget ended with money left",
	"polku.budget.v1.budget.expiring_with_money_left":      "A budget period is ending soon with money left",
	"polku.budget.v1.ledger_entry.created":                 "Money was reserved, used, returned or moved on a budget line",
	"polku.budget.v1.line.usage_alert":                     "A budget line is 80% used",
	"polku.budget.v1.spend.without_commitment":             "A payment was recorded without a matching reservation",
	"polku.budget.v1.claim.accepted":                       "A provider's invoice was accepted and paid from the budget",
	"polku.assessment.v1.assessment.created":               "A needs assessment was started",
	"polku.assessment.v1.assessment.updated":               "The draft needs assessment was edited",
	"polku.assessment.v1.assessment.completed":             "The needs assessment was completed",
	"polku.assessment.v1.assessment.corrected":             "A completed needs assessment was corrected (new version)",
	"polku.assessment.v1.capacity_measurement.recorded":    "A functioning self-assessment was recorded",
	"polku.assessment.v1.satisfaction_response.recorded":   "Satisfaction survey answers were recorded",
	"polku.assessment.v1.plan.created":                     "A client plan was started",
	"polku.assessment.v1.plan.updated":                     "The client plan's title or responsible worker changed",
	"polku.assessment.v1.plan.revision_started":            "A new revision of the client plan was started",
	"polku.assessment.v1.plan.review_recorded":             "A plan review was held; the next review date was set",
	"polku.assessment.v1.plan.closed":                      "The client plan ended",
	"polku.assessment.v1.plan_revision.updated":            "The draft client plan was edited",
	"polku.assessment.v1.plan_revision.proposed":           "The client plan was proposed for approval",
	"polku.assessment.v1.plan_revision.approved":           "The client plan was approved",
	"polku.assessment.v1.plan_revision.returned":           "The client plan was returned for changes",
	"polku.assessment.v1.plan_revision.agreement_recorded": "The client's agreement to the plan was recorded",
	"polku.assessment.v1.plan_revision.activated":          "The client plan came into force",
	"polku.assessment.v1.plan_revision.superseded":         "The previous plan revision was replaced by a new one",
	"polku.assessment.v1.plan_revision.closed":             "A plan revision was closed",
}

// Summarize returns the plain-words summary of an event type.
func Summarize(eventType string) string {
	if s, ok := summaries[eventType]; ok {
		return s
	}
	parts := strings.Split(eventType, ".")
	if len(parts) >= 2 {
		return strings.ReplaceAll(parts[len(parts)-2]+" "+parts[len(parts)-1], "_", " ")
	}
	return eventType
}
