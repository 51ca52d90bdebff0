package dev

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/polku-hb/polku/platform/auth"
)

// dialService is a loopback gRPC connection to one of the stack's services,
// closed with the test.
func dialService(t testing.TB, s *Stack, name string) *grpc.ClientConn {
	t.Helper()
	c, err := grpc.NewClient(s.GRPCAddrs[name], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// callAs is ctx carrying an hour's token of p and the purpose the client's
// access log records.
func callAs(t testing.TB, s *Stack, ctx context.Context, p auth.Principal, purpose string) context.Context {
	t.Helper()
	tok, err := s.Token(p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok, "x-polku-purpose", purpose)
}
