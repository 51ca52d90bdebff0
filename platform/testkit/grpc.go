package testkit

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/grpcserver"
	"github.com/polku-hb/polku/platform/telemetry"
)

// Tokens issues test tokens that a Verifier built from the same key accepts.
type Tokens struct {
	Issuer   *auth.DevIssuer
	Verifier *auth.Verifier
}

// NewTokens makes a fresh signing key in a temp dir and its verifier.
func NewTokens(t testing.TB) *Tokens {
	t.Helper()
	iss, err := auth.LoadOrCreateDevKey(t.TempDir())
	if err != nil {
		t.Fatalf("dev key: %v", err)
	}
	v, err := auth.NewVerifier(context.Background(), auth.Config{Issuer: auth.DevIssuerName, Audience: auth.DevAudience, PublicKeyPEM: iss.PublicKeyPEM()})
	if err != nil {
		t.Fatalf("verifier: %v", err)
	}
	return &Tokens{Issuer: iss, Verifier: v}
}

// Token signs a token for p, valid for an hour.
func (k *Tokens) Token(t testing.TB, p auth.Principal) string {
	t.Helper()
	tok, err := k.Issuer.Issue(p, auth.DevIssuerName, auth.DevAudience, time.Hour)
	if err != nil {
		t.Fatalf("issue token: %v", err)
	}
	return tok
}

// As returns a context whose outgoing gRPC metadata carries p's bearer token
// and, when given, the access purpose.
func (k *Tokens) As(t testing.TB, p auth.Principal, purpose ...string) context.Context {
	t.Helper()
	md := []string{"authorization", "Bearer " + k.Token(t, p)}
	if len(purpose) > 0 {
		md = append(md, "x-polku-purpose", purpose[0])
	}
	return metadata.AppendToOutgoingContext(context.Background(), md...)
}

// Serve runs a gRPC server built with grpcserver (authentication by v, telemetry
// tel if not nil) on a loopback port until the test ends, and returns a client
// connection to it.
func Serve(t testing.TB, v auth.TokenVerifier, tel *telemetry.Providers, register func(grpc.ServiceRegistrar)) *grpc.ClientConn {
	t.Helper()
	srv := grpcserver.New(grpcserver.Options{
		Name: "test", Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Telemetry: tel,
		Unary:  []grpc.UnaryServerInterceptor{auth.UnaryServerInterceptor(v)},
		Stream: []grpc.StreamServerInterceptor{auth.StreamServerInterceptor(v)},
	})
	register(srv.GRPC())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return conn
}
