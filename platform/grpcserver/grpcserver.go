// Package grpcserver is the one way a Polku service runs its gRPC server: the
// OpenTelemetry stats handler, panic recovery, call logging without payloads, a
// default deadline, the caller's interceptors (authentication), the standard
// health service driven by a readiness check, server reflection, and a graceful
// stop when the context ends.
//
// Health answers two questions under separate service names. Readiness ("" and
// every registered service name) follows the Ready check, so a store outage takes
// the pod out of the load balancer. Liveness (LivenessService) stays SERVING while
// the process serves and turns NOT_SERVING only on shutdown: restarting a pod
// does not bring Redis back, so a store outage must not make Kubernetes restart
// every pod. A wedged process fails liveness by not answering at all.
package grpcserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"time"

	grpclog "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/polku-hb/polku/platform/telemetry"
)

// LivenessService is the health service name the liveness probe asks for.
const LivenessService = "liveness"

// Options configure a Server. Name and Logger are required.
type Options struct {
	// Name of the service, for logs.
	Name string
	// Logger receives one line per finished call (method, code, duration).
	Logger *slog.Logger
	// Telemetry, when set, instruments every call with spans and metrics.
	Telemetry *telemetry.Providers
	// Unary and Stream interceptors run after recovery and logging (auth goes here).
	Unary  []grpc.UnaryServerInterceptor
	Stream []grpc.StreamServerInterceptor
	// DefaultTimeout bounds calls that arrive without a deadline (default 30s).
	DefaultTimeout time.Duration
	// MaxRecvBytes limits one request message (default 4 MiB).
	MaxRecvBytes int
	// Ready reports whether the service can serve (its store answers). The health
	// service says NOT_SERVING while it fails. Nil means always ready.
	Ready func(context.Context) error
	// ReadyInterval is how often Ready is checked (default 2s).
	ReadyInterval time.Duration
	// GracePeriod bounds the graceful stop before open calls are cut (default 10s).
	GracePeriod time.Duration
	// DrainDelay is how long the server keeps serving after it reports
	// NOT_SERVING on shutdown, so load balancers and Kubernetes readiness see it
	// unready and stop sending new work before the listener closes (0: none).
	DrainDelay time.Duration
}

// Server is a gRPC server with health and reflection.
type Server struct {
	opts   Options
	grpc   *grpc.Server
	health *health.Server
}

// New builds the server; register services on GRPC() before Serve.
func New(o Options) *Server {
	if o.DefaultTimeout == 0 {
		o.DefaultTimeout = 30 * time.Second
	}
	if o.MaxRecvBytes == 0 {
		o.MaxRecvBytes = 4 << 20
	}
	if o.ReadyInterval == 0 {
		o.ReadyInterval = 2 * time.Second
	}
	if o.GracePeriod == 0 {
		o.GracePeriod = 10 * time.Second
	}
	logger := grpclog.LoggerFunc(func(ctx context.Context, lvl grpclog.Level, msg string, fields ...any) {
		o.Logger.Log(ctx, slog.Level(lvl), msg, fields...)
	})
	// Payloads are never logged: they carry personal data.
	logOpts := []grpclog.Option{grpclog.WithLogOnEvents(grpclog.FinishCall)}
	recoverOpt := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		// The panic value and stack go to the log for the developer; the caller
		// gets a generic Internal error without internals.
		o.Logger.ErrorContext(ctx, "panic in handler", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return status.Error(codes.Internal, "internal error")
	})

	unary := append([]grpc.UnaryServerInterceptor{
		recovery.UnaryServerInterceptor(recoverOpt),
		grpclog.UnaryServerInterceptor(logger, logOpts...),
		deadlineUnary(o.DefaultTimeout),
	}, o.Unary...)
	stream := append([]grpc.StreamServerInterceptor{
		recovery.StreamServerInterceptor(recoverOpt),
		grpclog.StreamServerInterceptor(logger, logOpts...),
	}, o.Stream...)

	sopts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		grpc.MaxRecvMsgSize(o.MaxRecvBytes),
	}
	if o.Telemetry != nil {
		sopts = append(sopts, grpc.StatsHandler(otelgrpc.NewServerHandler(
			otelgrpc.WithTracerProvider(o.Telemetry.TracerProvider),
			otelgrpc.WithMeterProvider(o.Telemetry.MeterProvider),
			otelgrpc.WithPropagators(o.Telemetry.Propagator),
		)))
	}
	s := &Server{opts: o, grpc: grpc.NewServer(sopts...), health: health.NewServer()}
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	return s
}

// GRPC is the server to register services on.
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// Serve serves on lis until ctx ends, then reports NOT_SERVING, stops gracefully
// (cutting calls still open after GracePeriod) and returns.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.health.SetServingStatus(LivenessService, healthpb.HealthCheckResponse_SERVING)
	s.setServing(s.check(ctx))

	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.opts.ReadyInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				// Unready first, then drain, then refuse new calls and let the
				// open ones finish within the grace period.
				s.health.Shutdown() // everything, liveness too, NOT_SERVING from now on
				time.Sleep(s.opts.DrainDelay)
				stopped := make(chan struct{})
				go func() { s.grpc.GracefulStop(); close(stopped) }()
				select {
				case <-stopped:
				case <-time.After(s.opts.GracePeriod):
					s.grpc.Stop()
				}
				return
			case <-t.C:
				s.setServing(s.check(ctx))
			}
		}
	}()
	err := s.grpc.Serve(lis)
	cancel()
	<-done
	if err == grpc.ErrServerStopped {
		return nil
	}
	return err
}

func (s *Server) check(ctx context.Context) bool {
	if s.opts.Ready == nil {
		return true
	}
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := s.opts.Ready(cctx); err != nil {
		if ctx.Err() == nil {
			s.opts.Logger.WarnContext(ctx, "not ready", "error", err.Error())
		}
		return false
	}
	return true
}

// setServing sets readiness: the overall status and each service's; liveness is
// left alone.
func (s *Server) setServing(ok bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if ok {
		st = healthpb.HealthCheckResponse_SERVING
	}
	s.health.SetServingStatus("", st)
	for name := range s.grpc.GetServiceInfo() {
		s.health.SetServingStatus(name, st)
	}
}

func deadlineUnary(d time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		return handler(ctx, req)
	}
}
