package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const whoMethod = "/polku.authtest.v1.Who/Who"

// whoService is a tiny hand-written unary service: Who answers with whatever
// fn makes of the handler's ctx.
func whoService(fn func(context.Context) (string, error)) *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: "polku.authtest.v1.Who",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Who",
			Handler: func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
				in := new(emptypb.Empty)
				if err := dec(in); err != nil {
					return nil, err
				}
				h := func(ctx context.Context, _ any) (any, error) {
					s, err := fn(ctx)
					if err != nil {
						return nil, err
					}
					return wrapperspb.String(s), nil
				}
				if icpt == nil {
					return h(ctx, in)
				}
				return icpt(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: whoMethod}, h)
			},
		}},
	}
}

func subjectOf(ctx context.Context) (string, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return "<none>", nil
	}
	return p.Subject + "/" + string(p.Role), nil
}

// unknownHandler answers any unregistered method (a streaming handler) with
// the caller's principal.
func unknownHandler(_ any, ss grpc.ServerStream) error {
	if err := ss.RecvMsg(new(emptypb.Empty)); err != nil {
		return err
	}
	s, _ := subjectOf(ss.Context())
	return ss.SendMsg(wrapperspb.String(s))
}

// startServer serves on a loopback listener and returns a client connection
// and the address.
func startServer(t *testing.T, v TokenVerifier, who func(context.Context) (string, error), opts ...Option) (*grpc.ClientConn, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(UnaryServerInterceptor(v, opts...)),
		grpc.ChainStreamInterceptor(StreamServerInterceptor(v, opts...)),
		grpc.UnknownServiceHandler(unknownHandler),
	)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	srv.RegisterService(whoService(who), struct{}{})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return dial(t, lis.Addr().String()), lis.Addr().String()
}

func dial(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+addr, append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func devSetup(t *testing.T) (*DevIssuer, *Verifier) {
	t.Helper()
	d, err := LoadOrCreateDevKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(context.Background(), Config{Issuer: DevIssuerName, Audience: DevAudience, PublicKeyPEM: d.PublicKeyPEM()})
	if err != nil {
		t.Fatal(err)
	}
	return d, v
}

func callCtx(t *testing.T, authorization ...string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	for _, a := range authorization {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", a)
	}
	return ctx
}

func TestServerInterceptors(t *testing.T) {
	d, v := devSetup(t)
	tok, err := d.Issue(Principal{Subject: "u-42", Role: RoleManager, Region: "pirkanmaa"}, "", "", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	otherIssuer, _ := LoadOrCreateDevKey(t.TempDir())
	forged, _ := otherIssuer.Issue(Principal{Subject: "u-42", Role: RoleOperator}, "", "", time.Minute)
	conn, _ := startServer(t, v, subjectOf, WithPublicMethods("/polku.authtest.v1.Public/"))

	t.Run("health needs no token", func(t *testing.T) {
		resp, err := healthpb.NewHealthClient(conn).Check(callCtx(t), &healthpb.HealthCheckRequest{})
		if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Check = %v, %v", resp, err)
		}
	})

	tests := []struct {
		name   string
		method string
		auth   []string
		want   string // "" means UNAUTHENTICATED
	}{
		{"unary without token", whoMethod, nil, ""},
		{"unary with token", whoMethod, []string{"Bearer " + tok}, "u-42/MANAGER"},
		{"unary lower-case scheme", whoMethod, []string{"bearer " + tok}, "u-42/MANAGER"},
		{"unary token of another key", whoMethod, []string{"Bearer " + forged}, ""},
		{"unary garbage token", whoMethod, []string{"Bearer abc.def.ghi"}, ""},
		{"unary Basic scheme", whoMethod, []string{"Basic dXNlcjpwYXNz"}, ""},
		{"unary bare token", whoMethod, []string{tok}, ""},
		{"unary two tokens", whoMethod, []string{"Bearer " + tok, "Bearer " + tok}, ""},
		{"stream (unknown service) without token", "/polku.nothere.v1.Svc/Do", nil, ""},
		{"stream (unknown service) with token", "/polku.nothere.v1.Svc/Do", []string{"Bearer " + tok}, "u-42/MANAGER"},
		{"stream with bad token", "/polku.nothere.v1.Svc/Do", []string{"Bearer " + forged}, ""},
		{"public method without token", "/polku.authtest.v1.Public/Ping", nil, "<none>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := new(wrapperspb.StringValue)
			err := conn.Invoke(callCtx(t, tt.auth...), tt.method, new(emptypb.Empty), out)
			if tt.want != "" {
				if err != nil || out.Value != tt.want {
					t.Fatalf("Invoke = %q, %v; want %q", out.Value, err, tt.want)
				}
				return
			}
			code, msg, ei := errorInfo(t, err)
			if code != codes.Unauthenticated || msg != "missing or invalid bearer token" || ei.Reason != "UNAUTHENTICATED" {
				t.Fatalf("got %v %q %+v", code, msg, ei)
			}
			for _, a := range tt.auth {
				if f := strings.Fields(a); len(f) > 0 && strings.Contains(status.Convert(err).String(), f[len(f)-1]) {
					t.Fatal("error echoes the token")
				}
			}
		})
	}
}

func TestClientInterceptorPropagates(t *testing.T) {
	d, v := devSetup(t)
	tok, _ := d.Issue(Principal{Subject: "u-7", Role: RoleClient, ClientID: "c-7"}, "", "", time.Minute)
	svcTok, _ := d.Issue(Principal{Subject: "svc-reminders", Role: RoleService}, "", "", time.Minute)

	_, backendAddr := startServer(t, v, subjectOf)
	// The frontend's Who asks the backend's Who, through a connection with the
	// propagation interceptors, and answers with both views of the caller.
	backendConn := dial(t, backendAddr,
		grpc.WithUnaryInterceptor(UnaryClientInterceptor()),
		grpc.WithStreamInterceptor(StreamClientInterceptor()))
	frontend, _ := startServer(t, v, func(ctx context.Context) (string, error) {
		front, _ := subjectOf(ctx)
		out := new(wrapperspb.StringValue)
		if err := backendConn.Invoke(ctx, whoMethod, new(emptypb.Empty), out); err != nil {
			return "", err
		}
		return front + " -> " + out.Value, nil
	})

	out := new(wrapperspb.StringValue)
	if err := frontend.Invoke(callCtx(t, "Bearer "+tok), whoMethod, new(emptypb.Empty), out); err != nil {
		t.Fatal(err)
	}
	if out.Value != "u-7/CLIENT -> u-7/CLIENT" {
		t.Fatalf("got %q", out.Value)
	}

	// Streams forward too.
	stream, err := backendConn.NewStream(
		metadata.NewIncomingContext(callCtx(t), metadata.Pairs("authorization", "Bearer "+tok)),
		&grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, "/polku.nothere.v1.Svc/Do")
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.SendMsg(new(emptypb.Empty)); err != nil {
		t.Fatal(err)
	}
	_ = stream.CloseSend()
	if err := stream.RecvMsg(out); err != nil || out.Value != "u-7/CLIENT" {
		t.Fatalf("stream got %q, %v", out.Value, err)
	}

	// A service calling with its own token keeps it.
	ctx := metadata.NewIncomingContext(callCtx(t), metadata.Pairs("authorization", "Bearer "+tok))
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+svcTok)
	if err := backendConn.Invoke(ctx, whoMethod, new(emptypb.Empty), out); err != nil || out.Value != "svc-reminders/SERVICE" {
		t.Fatalf("own token: %q, %v", out.Value, err)
	}

	// Without an incoming token nothing is invented.
	err = backendConn.Invoke(callCtx(t), whoMethod, new(emptypb.Empty), out)
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("no token: %v", err)
	}
}

func TestPublicMethodPrefixes(t *testing.T) {
	o := newOptions([]Option{WithPublicMethods("/polku.info.v1.Info/Version", "")})
	tests := []struct {
		method string
		public bool
	}{
		{"/grpc.health.v1.Health/Check", true},
		{"/grpc.health.v1.Health/Watch", true},
		{"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", true},
		{"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", true},
		{"/polku.info.v1.Info/Version", true},
		{"/polku.info.v1.Info/Secrets", false},
		{"/grpc.health.v2.Health/Check", false},
		{"/polku.clients.v1.Clients/GetClient", false},
	}
	for _, tt := range tests {
		if got := o.isPublic(tt.method); got != tt.public {
			t.Errorf("isPublic(%q) = %v", tt.method, got)
		}
	}
	// The defaults are not changed by options of another interceptor.
	if newOptions(nil).isPublic("/polku.info.v1.Info/Version") {
		t.Fatal("options leaked between interceptors")
	}
}

type fakeVerifier struct{ err error }

func (f fakeVerifier) Verify(context.Context, string) (Principal, error) {
	if f.err != nil {
		return Principal{}, f.err
	}
	return Principal{Subject: "u-1", Role: RoleWorker}, nil
}

func TestOnReject(t *testing.T) {
	verifyErr := fmt.Errorf("%w: token is expired", ErrUnauthenticated)
	tests := []struct {
		name    string
		v       TokenVerifier
		auth    []string
		method  string
		wantErr error // nil: no rejection
	}{
		{"no header", fakeVerifier{}, nil, whoMethod, ErrNoBearer},
		{"not bearer", fakeVerifier{}, []string{"Token abc"}, whoMethod, ErrNoBearer},
		{"verify fails", fakeVerifier{err: verifyErr}, []string{"Bearer abc"}, whoMethod, verifyErr},
		{"ok", fakeVerifier{}, []string{"Bearer abc"}, whoMethod, nil},
		{"public", fakeVerifier{err: verifyErr}, nil, "/grpc.health.v1.Health/Check", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotMethod string
			var gotErr error
			icpt := UnaryServerInterceptor(tt.v, WithOnReject(func(_ context.Context, m string, err error) {
				gotMethod, gotErr = m, err
			}))
			md := metadata.MD{}
			for _, a := range tt.auth {
				md.Append("authorization", a)
			}
			ctx := metadata.NewIncomingContext(context.Background(), md)
			called := false
			_, err := icpt(ctx, nil, &grpc.UnaryServerInfo{FullMethod: tt.method}, func(context.Context, any) (any, error) {
				called = true
				return nil, nil
			})
			if tt.wantErr == nil {
				if err != nil || !called || gotErr != nil {
					t.Fatalf("err %v, called %v, rejected %v", err, called, gotErr)
				}
				return
			}
			if status.Code(err) != codes.Unauthenticated || called {
				t.Fatalf("err %v, called %v", err, called)
			}
			if !errors.Is(gotErr, tt.wantErr) || !errors.Is(gotErr, ErrUnauthenticated) || gotMethod != tt.method {
				t.Fatalf("onReject(%q, %v)", gotMethod, gotErr)
			}
		})
	}
}
