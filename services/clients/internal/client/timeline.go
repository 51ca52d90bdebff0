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
