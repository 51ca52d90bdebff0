package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// MetricsPath is where Scrape.Handler is mounted by ServeMetrics.
const MetricsPath = "/metrics"

// Scrape is one Prometheus scrape endpoint for every service of a process.
//
// Each service gets its own registry and exporter, because the all-in-one runs
// five services (and the gateway) in one process with one MeterProvider each:
// one shared registry would refuse the second service's otelgrpc instruments as
// duplicates. Each exporter puts the service's service.name on every series as
// the label service_name, so the same metric of two services stays two series;
// the handler gathers all registries into one answer. Process-wide Go runtime
// and process metrics are registered once, without a service label.
type Scrape struct {
	mu        sync.Mutex
	gatherers prometheus.Gatherers
}

// NewScrape makes an empty endpoint with the Go runtime and process collectors.
func NewScrape() *Scrape {
	proc := prometheus.NewRegistry()
	proc.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Scrape{gatherers: prometheus.Gatherers{proc}}
}

// reader makes the metric reader of one service: a Prometheus exporter on a
// registry of its own.
func (s *Scrape) reader() (sdkmetric.Reader, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		// service.name and service.version only: they are bounded and say whose
		// series it is; the rest of the resource stays on target_info.
		otelprom.WithResourceAsConstantLabels(attribute.NewAllowKeysFilter(semconv.ServiceNameKey, semconv.ServiceVersionKey)),
	)
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	s.mu.Lock()
	s.gatherers = append(s.gatherers, reg)
	s.mu.Unlock()
	return exp, nil
}

// Gather collects every registered service's metrics (the handler's source).
func (s *Scrape) Gather() ([]*dto.MetricFamily, error) {
	s.mu.Lock()
	g := append(prometheus.Gatherers(nil), s.gatherers...)
	s.mu.Unlock()
	return g.Gather()
}

// Handler serves the Prometheus text format of every service.
func (s *Scrape) Handler() http.Handler {
	return promhttp.HandlerFor(prometheus.GathererFunc(s.Gather), promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// ServeMetrics serves Handler on lis at MetricsPath until ctx ends.
func ServeMetrics(ctx context.Context, lis net.Listener, s *Scrape) error {
	mux := http.NewServeMux()
	mux.Handle("GET "+MetricsPath, s.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
