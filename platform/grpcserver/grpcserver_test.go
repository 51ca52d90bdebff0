package grpcserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

func start(t *testing.T, o Options) (healthpb.HealthClient, *grpc.ClientConn, context.CancelFunc, <-chan error) {
	t.Helper()
	o.Name, o.Logger = "test", slog.New(slog.NewJSONHandler(io.Discard, nil))
	s := New(o)
	// A handler that panics, reached through the unknown-service hook.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); conn.Close() })
	return healthpb.NewHealthClient(conn), conn, cancel, errc
}

func TestHealthFollowsReadiness(t *testing.T) {
	var ready atomic.Bool
	ready.Store(true)
	hc, _, _, _ := start(t, Options{
		ReadyInterval: 20 * time.Millisecond,
		Ready: func(context.Context) error {
			if ready.Load() {
				return nil
			}
			return errors.New("store down")
		},
	})
	waitStatus(t, hc, healthpb.HealthCheckResponse_SERVING)
	ready.Store(false)
	waitStatus(t, hc, healthpb.HealthCheckResponse_NOT_SERVING)
	ready.Store(true)
	waitStatus(t, hc, healthpb.HealthCheckResponse_SERVING)
}

// A store outage makes the server unready but not dead: Kubernetes stops routing
// to it without restarting it. Stopping turns liveness NOT_SERVING too.
func TestStoreDownLeavesLivenessServing(t *testing.T) {
	var ready atomic.Bool
	ready.Store(true)
	s := New(Options{Name: "test", Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), ReadyInterval: 20 * time.Millisecond,
		DrainDelay: 500 * time.Millisecond,
		Ready: func(context.Context) error {
			if ready.Load() {
				return nil
			}
			return errors.New("store down")
		}})
	s.GRPC().RegisterService(slowDesc(0), struct{}{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { _ = s.Serve(ctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)

	expect := func(phase string, want map[string]healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		for svc, st := range want {
			waitService(t, hc, svc, st)
		}
		t.Logf("%s: %v", phase, want)
	}
	up, down := healthpb.HealthCheckResponse_SERVING, healthpb.HealthCheckResponse_NOT_SERVING
	expect("store up", map[string]healthpb.HealthCheckResponse_ServingStatus{"": up, "test.Slow": up, LivenessService: up})
	ready.Store(false)
	expect("store down", map[string]healthpb.HealthCheckResponse_ServingStatus{"": down, "test.Slow": down, LivenessService: up})
	// Liveness stays SERVING through several more readiness checks, not just the first.
	time.Sleep(100 * time.Millisecond)
	expect("store still down", map[string]healthpb.HealthCheckResponse_ServingStatus{"": down, LivenessService: up})
	ready.Store(true)
	expect("store back", map[string]healthpb.HealthCheckResponse_ServingStatus{"": up, "test.Slow": up, LivenessService: up})
	stop()
	expect("stopping", map[string]healthpb.HealthCheckResponse_ServingStatus{"": down, LivenessService: down})
}

func TestServeReturnsOnCancel(t *testing.T) {
	hc, _, cancel, errc := start(t, Options{})
	waitStatus(t, hc, healthpb.HealthCheckResponse_SERVING)
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Serve() = %v; want nil after cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

func TestPanicBecomesInternalWithoutDetails(t *testing.T) {
	_, conn, _, _ := start(t, Options{Unary: []grpc.UnaryServerInterceptor{
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if info.FullMethod == healthpb.Health_Check_FullMethodName {
				panic("secret internals")
			}
			return h(ctx, req)
		},
	}})
	_, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if status.Code(err) != codes.Internal {
		t.Fatalf("Check after panic = %v; want Internal", err)
	}
	if msg := status.Convert(err).Message(); msg != "internal error" {
		t.Errorf("message = %q; want the generic text", msg)
	}
}

func waitStatus(t *testing.T, hc healthpb.HealthClient, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	waitService(t, hc, "", want)
}

// waitService waits until the health status of one service name is want.
func waitService(t *testing.T, hc healthpb.HealthClient, service string, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
		if err == nil && resp.GetStatus() == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("health(%q) = %v, %v; want %v", service, resp.GetStatus(), err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// slowDesc is a one-method service whose call takes as long as the test says.
func slowDesc(d time.Duration) *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: "test.Slow",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Wait", Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var req healthpb.HealthCheckRequest
			if err := dec(&req); err != nil {
				return nil, err
			}
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
		}}},
	}
}

// On shutdown the server turns unready first, keeps serving through the drain
// delay, then refuses new calls while the open ones finish.
func TestGracefulShutdownOrder(t *testing.T) {
	s := New(Options{Name: "test", Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), DrainDelay: 300 * time.Millisecond, GracePeriod: 5 * time.Second})
	s.GRPC().RegisterService(slowDesc(600*time.Millisecond), struct{}{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	waitStatus(t, hc, healthpb.HealthCheckResponse_SERVING)

	inflight := make(chan error, 1)
	go func() {
		out := new(healthpb.HealthCheckResponse)
		inflight <- conn.Invoke(context.Background(), "/test.Slow/Wait", &healthpb.HealthCheckRequest{}, out)
	}()
	time.Sleep(100 * time.Millisecond) // the slow call is open
	stop()                             // SIGTERM

	// Within the drain delay: unready, still answering.
	time.Sleep(50 * time.Millisecond)
	resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health during drain = %v, %v; want NOT_SERVING", resp.GetStatus(), err)
	}
	// After the drain: new connections are refused.
	time.Sleep(400 * time.Millisecond)
	fresh, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	cctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := healthpb.NewHealthClient(fresh).Check(cctx, &healthpb.HealthCheckRequest{}); err == nil {
		t.Error("a new call after the drain was served; want it refused")
	}
	// The open call finished normally, and Serve returned.
	if err := <-inflight; err != nil {
		t.Errorf("in-flight call = %v; want it to finish", err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}
