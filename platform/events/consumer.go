package events

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/polku-hb/polku/platform/store"
)

// Handler applies one event. It must be idempotent: after a crash an event may be
// delivered again. A returned error leaves the event pending; it is retried after
// the consumer's ClaimAfter.
type Handler func(ctx context.Context, e Envelope) error

// Consumer feeds a consumer group of one stream to a handler.
type Consumer struct {
	Store  store.Store
	Group  string
	Name   string // this replica's consumer name (host or pod name)
	Handle Handler
	Logger *slog.Logger
	Tracer trace.Tracer // optional: a span per event, linked to the emitting trace
	Batch  int          // messages per read (default 64)
	Block  time.Duration
	// ClaimAfter is how long a message may stay unacknowledged before another
	// replica takes it over (default 30s).
	ClaimAfter time.Duration
}

// Run consumes until ctx ends. Messages a crashed replica left pending are taken
// over after ClaimAfter, so no event is lost when a replica dies mid-batch.
func (c *Consumer) Run(ctx context.Context) error {
	if c.Batch == 0 {
		c.Batch = 64
	}
	if c.Block == 0 {
		c.Block = 2 * time.Second
	}
	if c.ClaimAfter == 0 {
		c.ClaimAfter = 30 * time.Second
	}
	lastClaim := time.Time{}
	for ctx.Err() == nil {
		var msgs []store.Message
		var err error
		if time.Since(lastClaim) > c.ClaimAfter/2 {
			lastClaim = time.Now()
			msgs, err = c.Store.Claim(ctx, c.Group, c.Name, c.ClaimAfter, c.Batch)
		}
		if err == nil && len(msgs) == 0 {
			msgs, err = c.Store.ReadGroup(ctx, c.Group, c.Name, c.Batch, c.Block)
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			c.Logger.WarnContext(ctx, "event read failed; retrying", "group", c.Group, "error", err.Error())
			sleep(ctx, time.Second)
			continue
		}
		var done []store.Message
		for _, m := range msgs {
			if c.apply(ctx, m) {
				done = append(done, m)
			}
		}
		if len(done) > 0 {
			if err := c.Store.Ack(ctx, c.Group, done...); err != nil && ctx.Err() == nil {
				c.Logger.WarnContext(ctx, "event ack failed", "group", c.Group, "error", err.Error())
			}
		}
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return nil
	}
	return ctx.Err()
}

func (c *Consumer) apply(ctx context.Context, m store.Message) bool {
	e, err := Unmarshal(m.Payload)
	if err != nil {
		// A message that can never be decoded would block nothing but would be
		// retried forever: log it (no payload, it may be anything) and drop it.
		c.Logger.ErrorContext(ctx, "dropping undecodable event", "group", c.Group, "message_id", m.ID)
		return true
	}
	hctx := ctx
	if c.Tracer != nil {
		var span trace.Span
		opts := []trace.SpanStartOption{
			trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(attribute.String("polku.event.type", e.Type), attribute.String("polku.event.id", e.ID)),
		}
		if sc := e.SpanContext(); sc.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
		}
		hctx, span = c.Tracer.Start(ctx, "consume "+e.Type, opts...)
		defer span.End()
	}
	if err := c.Handle(hctx, e); err != nil {
		c.Logger.WarnContext(hctx, "event handler failed; will retry", "group", c.Group, "event_type", e.Type, "event_id", e.ID, "error", err.Error())
		return false
	}
	return true
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
