package events

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/store/embedded"
)

func TestEnvelopeCarriesTraceContext(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "send")
	defer span.End()
	e := New(ctx, "referral", "polku.referral.v1.referral.sent", "referrals/r1", time.Now())
	if e.ID == "" || e.Time.Location() != time.UTC {
		t.Errorf("New = %+v; want an id and a UTC time", e)
	}
	got, err := Unmarshal(e.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if sc := got.SpanContext(); sc.TraceID() != span.SpanContext().TraceID() || !sc.IsRemote() {
		t.Errorf("SpanContext = %v; want the sending trace %v", sc.TraceID(), span.SpanContext().TraceID())
	}
	if _, err := Unmarshal([]byte("{")); err == nil {
		t.Error("Unmarshal of broken JSON = nil error")
	}
}

func TestConsumerAppliesEveryEventAndRetriesFailures(t *testing.T) {
	db, err := embedded.Open(filepath.Join(t.TempDir(), "e.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := db.Namespace("test", 4)
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))

	sendCtx, send := tp.Tracer("t").Start(context.Background(), "send")
	want := map[string]bool{}
	for i := range 20 {
		e := New(sendCtx, "test", "polku.test.v1.thing.happened", "things/x", time.Now())
		want[e.ID] = true
		if err := st.Commit(context.Background(), i%4, (&store.Batch{}).Emit(e.Marshal())); err != nil {
			t.Fatal(err)
		}
	}
	send.End()

	var mu sync.Mutex
	seen := map[string]int{}
	failedOnce := false
	ctx, cancel := context.WithCancel(context.Background())
	c := &Consumer{
		Store: st, Group: "g", Name: "c1", Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Tracer: tp.Tracer("consumer"), Block: 50 * time.Millisecond, ClaimAfter: 200 * time.Millisecond,
		Handle: func(_ context.Context, e Envelope) error {
			mu.Lock()
			defer mu.Unlock()
			if !failedOnce {
				failedOnce = true
				return errors.New("transient") // left pending, claimed again later
			}
			seen[e.ID]++
			return nil
		},
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n == len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v; want nil after cancel", err)
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("event %s applied %d times; want 1", id, seen[id])
		}
	}
	linked := 0
	for _, sp := range spans.GetSpans() {
		if sp.SpanKind.String() == "consumer" && len(sp.Links) == 1 && sp.Links[0].SpanContext.TraceID() == send.SpanContext().TraceID() {
			linked++
		}
	}
	if linked < len(want) {
		t.Errorf("%d consumer spans linked to the sending trace; want at least %d", linked, len(want))
	}
}
