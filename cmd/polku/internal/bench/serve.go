package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/polku-hb/polku/cmd/polku/internal/dev"
)

// Ready is what the server process prints on its first stdout line once it
// serves: where to reach it and the demo fixtures the scenarios use.
type Ready struct {
	PID        int               `json:"pid"`
	GatewayURL string            `json:"gateway_url"`
	GRPCAddrs  map[string]string `json:"grpc_addrs"`
	// ControlAddr serves GET /spans (spans exported so far) and, with
	// -pprof, /debug/pprof/.
	ControlAddr string   `json:"control_addr"`
	Demo        dev.Demo `json:"demo"`
}

// countingExporter is the span exporter of the bench server: spans are made
// and ended at every hop exactly as with an OTLP exporter, then only counted
// in process (no network export), so tracing costs what instrumenting costs.
type countingExporter struct{ n atomic.Int64 }

func (e *countingExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.n.Add(int64(len(spans)))
	return nil
}
func (e *countingExporter) Shutdown(context.Context) error { return nil }

// Serve is the server half of the bench (`polku bench serve`, started by the
// bench itself): the all-in-one on free loopback ports over an existing store,
// with the demo seeded (idempotent) and tracing on. It prints one Ready line,
// then runs until ctx ends or stdin closes (the bench died).
func Serve(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench serve", flag.ContinueOnError)
	dataDir := fs.String("data", "", "data directory (embedded store, dev keys)")
	storeKind := fs.String("store", "embedded", "embedded or redis")
	redisAddr := fs.String("redis", "", "Redis address with -store redis")
	withPprof := fs.Bool("pprof", false, "also serve net/http/pprof on the control address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dataDir == "" {
		return errors.New("-data is required")
	}
	addrs := map[string]string{}
	for _, n := range []string{"clients", "assessment", "budget", "catalogue", "referral"} {
		addrs[n] = "127.0.0.1:0"
	}
	ttl, err := dev.TokenCacheTTLFromEnv()
	if err != nil {
		return err
	}
	exp := &countingExporter{}
	s, err := dev.Start(ctx, dev.Options{
		DataDir: *dataDir, Store: *storeKind, RedisAddrs: []string{*redisAddr},
		GatewayAddr: "127.0.0.1:0", ServiceAddrs: addrs, SpanExporter: exp, Log: io.Discard, TokenCacheTTL: ttl,
	})
	if err != nil {
		return err
	}
	demo, err := dev.SeedDemo(ctx, s)
	if err != nil {
		return errors.Join(err, s.Stop())
	}
	ready := Ready{PID: os.Getpid(), GatewayURL: s.GatewayURL, GRPCAddrs: s.GRPCAddrs, Demo: demo}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return errors.Join(err, s.Stop())
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /spans", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, exp.n.Load()) })
	if *withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(lis) }()
	defer hs.Close()
	ready.ControlAddr = lis.Addr().String()
	line, _ := json.Marshal(ready)
	if _, err := fmt.Fprintf(out, "%s\n", line); err != nil {
		return errors.Join(err, s.Stop())
	}
	// The bench holds our stdin open; EOF means it is gone.
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = s.Stop()
	}()
	return s.Wait()
}
