// Package events is the envelope every Polku service appends to its event stream,
// in the same atomic store batch as the state change it reports (the outbox), and
// the loop that feeds a consumer group from those streams.
//
// An envelope carries ids and codes only, never personal data: consumers that need
// more read it from the owning service. It carries the W3C trace context of the
// call that caused it, so a consumer's work is linked to the original trace.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/polku-hb/polku/platform/ids"
)

// Envelope is one event.
type Envelope struct {
	// ID is random and unique; consumers use it to apply an event once.
	ID string `json:"id"`
	// Type names what happened: "polku.clients.v1.client.created".
	Type string `json:"type"`
	// Source is the emitting service: "clients".
	Source string `json:"source"`
	// Subject is the resource name the event is about: "clients/abc".
	Subject string `json:"subject"`
	// Client is the id of the client whose service path this belongs to, so the
	// timeline can file it without asking the source ("" when none).
	Client string `json:"client,omitempty"`
	// Time is when it happened (UTC).
	Time time.Time `json:"time"`
	// ActorRole is the role of who caused it (WORKER, PROVIDER, SERVICE, ...).
	ActorRole string `json:"actor_role,omitempty"`
	// Actor is the subject id of who caused it (an opaque id, not a name).
	Actor string `json:"actor,omitempty"`
	// TraceParent and TraceState are the W3C trace context of the causing call.
	TraceParent string `json:"traceparent,omitempty"`
	TraceState  string `json:"tracestate,omitempty"`
	// Data holds ids and codes that describe the change (e.g. "from": "SENT").
	Data map[string]string `json:"data,omitempty"`
}

// New makes an envelope stamped with a fresh id, the time and ctx's trace context.
func New(ctx context.Context, source, typ, subject string, now time.Time) Envelope {
	e := Envelope{ID: ids.New(), Type: typ, Source: source, Subject: subject, Time: now.UTC()}
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	e.TraceParent, e.TraceState = carrier["traceparent"], carrier["tracestate"]
	return e
}

// Marshal encodes the envelope for the store.
func (e Envelope) Marshal() []byte {
	b, _ := json.Marshal(e) // a struct of strings, a time and a string map cannot fail
	return b
}

// Unmarshal decodes a stored envelope.
func Unmarshal(b []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return Envelope{}, fmt.Errorf("events: bad envelope: %w", err)
	}
	return e, nil
}

// SpanContext is the remote span context the event was emitted under (invalid
// when it carried none): consumers link their spans to it.
func (e Envelope) SpanContext() trace.SpanContext {
	carrier := propagation.MapCarrier{"traceparent": e.TraceParent, "tracestate": e.TraceState}
	ctx := propagation.TraceContext{}.Extract(context.Background(), carrier)
	return trace.SpanContextFromContext(ctx)
}
