package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestLoggerAddsServiceAndTraceIDs(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "info", "clients")
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}))
	log.InfoContext(ctx, "hello", "client_id", "abc")

	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line is not JSON: %v: %s", err, buf.String())
	}
	for k, want := range map[string]string{"service": "clients", "trace_id": tid.String(), "span_id": sid.String(), "client_id": "abc"} {
		if line[k] != want {
			t.Errorf("line[%q] = %v; want %q", k, line[k], want)
		}
	}
}

func TestDebugHiddenAtInfo(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, "info", "x").Debug("noise")
	if buf.Len() != 0 {
		t.Errorf("debug line written at info level: %s", buf.String())
	}
}
