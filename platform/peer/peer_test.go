package peer

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

func TestCallForwardsTokenPurposeAndDeadline(t *testing.T) {
	in := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer t0k", PurposeKey, "case work"))
	var got metadata.MD
	var deadline time.Time
	_, err := Call(in, func(ctx context.Context, _ string, _ ...grpc.CallOption) (string, error) {
		got, _ = metadata.FromOutgoingContext(ctx)
		deadline, _ = ctx.Deadline()
		return "ok", nil
	}, "req")
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Get("authorization"); len(v) != 1 || v[0] != "Bearer t0k" {
		t.Errorf("authorization = %v; want the caller's token once", v)
	}
	if v := got.Get(PurposeKey); len(v) != 1 || v[0] != "case work" {
		t.Errorf("purpose = %v; want the caller's purpose once", v)
	}
	if d := time.Until(deadline); d <= 0 || d > Timeout {
		t.Errorf("deadline in %v; want within %v", d, Timeout)
	}
}
