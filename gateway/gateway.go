// Package gateway is Polku's REST edge: one grpc-gateway mux in front of every
// service. It authenticates each request before proxying (and every service
// verifies the same token again), forwards the access purpose header, limits
// request sizes, answers CORS preflights for configured origins, maps gRPC
// errors to HTTP with their details, and serves /healthz, /readyz and the
// merged /openapi.json.
package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/rs/cors"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/polku-hb/polku/gateway/internal/openapi"
	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/config"
	"github.com/polku-hb/polku/platform/telemetry"
)

// Name is the gateway's service.name.
const Name = "polku-gateway"

// Config is the gateway's configuration (see docs/configuration.md).
type Config struct {
	// Addr is the HTTP listen address.
	Addr string
	// Targets maps each backend service to its gRPC address.
	Targets map[string]string
	// CORSOrigins are the browser origins allowed to call the API ("" = none).
	CORSOrigins []string
	// MaxBodyBytes limits one request body.
	MaxBodyBytes int64
	// JWKS is the public key set of the catalogue's provider tokens, served at
	// /.well-known/jwks.json (nil: not served).
	JWKS []byte
	// Timeouts of the HTTP server (zero: the defaults below). A client that
	// trickles its headers or body, or idles on a kept-alive connection, is
	// disconnected when they run out.
	Timeouts Timeouts
}

// Timeouts bound how long one HTTP connection may take.
type Timeouts struct {
	// ReadHeader is the time to read the request headers (default 5s).
	ReadHeader time.Duration
	// Read is the time to read the whole request, body included (default 30s).
	Read time.Duration
	// Write is the time from the end of the headers to the end of the answer
	// (default 60s).
	Write time.Duration
	// Idle is how long a kept-alive connection may wait for its next request
	// (default 120s).
	Idle time.Duration
}

// DefaultTimeouts are the server timeouts when none are configured.
var DefaultTimeouts = Timeouts{ReadHeader: 5 * time.Second, Read: 30 * time.Second, Write: 60 * time.Second, Idle: 120 * time.Second}

// orDefaults fills unset (or non-positive) timeouts: the edge never runs
// without one.
func (t Timeouts) orDefaults() Timeouts {
	if t.ReadHeader <= 0 {
		t.ReadHeader = DefaultTimeouts.ReadHeader
	}
	if t.Read <= 0 {
		t.Read = DefaultTimeouts.Read
	}
	if t.Write <= 0 {
		t.Write = DefaultTimeouts.Write
	}
	if t.Idle <= 0 {
		t.Idle = DefaultTimeouts.Idle
	}
	return t
}

// Services are the backends the gateway fronts (those with generated REST
// handlers in register.go), sorted by name.
func Services() []string {
	names := make([]string, 0, len(registrations))
	for n := range registrations {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// DefaultTargets are the loopback ports `polku dev` and a single-host install use.
var DefaultTargets = map[string]string{
	"clients":    "127.0.0.1:9101",
	"assessment": "127.0.0.1:9102",
	"budget":     "127.0.0.1:9103",
	"catalogue":  "127.0.0.1:9104",
	"referral":   "127.0.0.1:9105",
}

// LoadConfig reads the gateway's settings.
func LoadConfig(e *config.Env) Config {
	c := Config{
		Addr:         e.String("POLKU_GATEWAY_ADDR", ":8080"),
		Targets:      map[string]string{},
		MaxBodyBytes: e.Int64("POLKU_GATEWAY_MAX_BODY_BYTES", 1<<20),
		Timeouts: Timeouts{
			ReadHeader: e.Duration("POLKU_GATEWAY_READ_HEADER_TIMEOUT", DefaultTimeouts.ReadHeader),
			Read:       e.Duration("POLKU_GATEWAY_READ_TIMEOUT", DefaultTimeouts.Read),
			Write:      e.Duration("POLKU_GATEWAY_WRITE_TIMEOUT", DefaultTimeouts.Write),
			Idle:       e.Duration("POLKU_GATEWAY_IDLE_TIMEOUT", DefaultTimeouts.Idle),
		},
	}
	for _, s := range Services() {
		c.Targets[s] = e.String("POLKU_"+strings.ToUpper(s)+"_TARGET", DefaultTargets[s])
	}
	for _, o := range strings.Split(e.String("POLKU_CORS_ORIGINS", ""), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	if c.MaxBodyBytes <= 0 {
		e.Fail(errors.New("POLKU_GATEWAY_MAX_BODY_BYTES must be positive"))
	}
	return c
}

// Gateway is the REST edge.
type Gateway struct {
	handler  http.Handler
	timeouts Timeouts
	conns    map[string]*grpc.ClientConn
	failed   failures // refused credential exchanges per remote address
}

// New connects to the backends (lazily: a backend that is down answers 503 per
// request, it does not stop the gateway) and builds the handler.
func New(ctx context.Context, cfg Config, verifier auth.TokenVerifier, tel *telemetry.Providers) (*Gateway, error) {
	g := &Gateway{conns: map[string]*grpc.ClientConn{}, timeouts: cfg.Timeouts.orDefaults()}
	dialOpts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(
			otelgrpc.WithTracerProvider(tel.TracerProvider),
			otelgrpc.WithMeterProvider(tel.MeterProvider),
			otelgrpc.WithPropagators(tel.Propagator),
		)),
	}
	mux := runtime.NewServeMux(
		runtime.WithIncomingHeaderMatcher(headerMatcher),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: false},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
	)
	for _, name := range Services() {
		target, ok := cfg.Targets[name]
		if !ok || target == "" {
			return nil, fmt.Errorf("gateway: no target for %s", name)
		}
		conn, err := grpc.NewClient(target, dialOpts...)
		if err != nil {
			g.Close()
			return nil, fmt.Errorf("gateway: %s target %q: %w", name, target, err)
		}
		g.conns[name] = conn
		if err := registrations[name](ctx, mux, conn); err != nil {
			g.Close()
			return nil, fmt.Errorf("gateway: register %s: %w", name, err)
		}
	}

	public := func(r *http.Request) bool {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/openapi.json", "/oauth2/token", "/.well-known/jwks.json":
			return true
		}
		return r.Method == http.MethodOptions // CORS preflight carries no token
	}
	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	root.HandleFunc("GET /readyz", g.ready)
	root.Handle("GET /openapi.json", openapi.Handler())
	root.Handle("POST /oauth2/token", limitBody(cfg.MaxBodyBytes, http.HandlerFunc(g.token)))
	if cfg.JWKS != nil {
		root.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "public, max-age=300")
			_, _ = w.Write(cfg.JWKS)
		})
	}
	root.Handle("/", limitBody(cfg.MaxBodyBytes, mux))

	var h http.Handler = auth.HTTPMiddleware(verifier, public)(root)
	h = cors.New(cors.Options{
		AllowedOrigins: cfg.CORSOrigins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete},
		AllowedHeaders: []string{"Authorization", "Content-Type", "X-Polku-Purpose"},
		MaxAge:         600,
	}).Handler(h)
	g.handler = otelhttp.NewHandler(h, "gateway",
		otelhttp.WithTracerProvider(tel.TracerProvider),
		otelhttp.WithMeterProvider(tel.MeterProvider),
		otelhttp.WithPropagators(tel.Propagator),
		// Span names carry the route pattern, never the resource ids of the path.
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + routeOf(r) }),
	)
	return g, nil
}

// Handler is the HTTP handler of the edge.
func (g *Gateway) Handler() http.Handler { return g.handler }

// Close closes the backend connections.
func (g *Gateway) Close() {
	for _, c := range g.conns {
		_ = c.Close()
	}
}

// MaxHeaderBytes limits the request line and headers of one request.
const MaxHeaderBytes = 64 << 10

// Server returns an http.Server with the configured timeouts.
func (g *Gateway) Server(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           g.handler,
		ReadHeaderTimeout: g.timeouts.ReadHeader,
		ReadTimeout:       g.timeouts.Read,
		WriteTimeout:      g.timeouts.Write,
		IdleTimeout:       g.timeouts.Idle,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}

// ready answers 200 when every backend reports SERVING, else 503 with each
// backend's state.
func (g *Gateway) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	states := map[string]string{}
	code := http.StatusOK
	for name, conn := range g.conns {
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		switch {
		case err != nil:
			states[name], code = "UNREACHABLE", http.StatusServiceUnavailable
		case resp.GetStatus() != healthpb.HealthCheckResponse_SERVING:
			states[name], code = resp.GetStatus().String(), http.StatusServiceUnavailable
		default:
			states[name] = "SERVING"
		}
	}
	writeJSON(w, code, map[string]any{"ready": code == http.StatusOK, "services": states})
}

// headerMatcher forwards the purpose of an access (written to the client's
// access log) and the standard headers grpc-gateway forwards by default.
func headerMatcher(key string) (string, bool) {
	if textproto.CanonicalMIMEHeaderKey(key) == "X-Polku-Purpose" {
		return "x-polku-purpose", true
	}
	return runtime.DefaultHeaderMatcher(key)
}

// limitBody answers 413 to a body over n bytes. A body without a length
// (chunked) is read here, at most n+1 bytes, so that it gets the same 413 and
// not the decoder's 400 from deep inside the mux; every body is decoded whole
// anyway.
func limitBody(n int64, next http.Handler) http.Handler {
	tooLarge := func(w http.ResponseWriter) {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{
			"code": 3, "message": fmt.Sprintf("request body is larger than %d bytes", n), "details": []any{},
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > n {
			tooLarge(w)
			return
		}
		if r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody {
			b, err := io.ReadAll(io.LimitReader(r.Body, n+1))
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]any{"code": 3, "message": "request body could not be read", "details": []any{}})
				return
			}
			if int64(len(b)) > n {
				tooLarge(w)
				return
			}
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		}
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, r)
	})
}

// routeOf reduces a path to its route shape: resource ids become {id}.
func routeOf(r *http.Request) string {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	for i := range parts {
		// Collections sit at even positions after the version: v1/clients/{id}/...
		if i >= 2 && i%2 == 0 {
			verb := ""
			if j := strings.IndexByte(parts[i], ':'); j >= 0 {
				verb = parts[i][j:]
			}
			parts[i] = "{id}" + verb
		}
	}
	return "/" + strings.Join(parts, "/")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
