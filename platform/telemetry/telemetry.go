// Package telemetry sets up OpenTelemetry tracing and metrics for one service.
//
// Providers are passed explicitly to the gRPC and HTTP instrumentation instead of
// being installed as process globals: the all-in-one runs every service in one
// process, and each must report under its own service.name.
//
// Metrics can also be scraped: a Scrape (see scrape.go) serves every service of
// the process on one Prometheus /metrics endpoint.
//
// Export is OTLP over gRPC when OTEL_EXPORTER_OTLP_ENDPOINT (or the traces/metrics
// specific variant) is set; the exporter itself honours the standard OTEL_* variables
// (headers, TLS, timeout). Without an endpoint spans are still made (so trace ids
// flow into logs and events) but not exported.
package telemetry

import (
	"context"
	"errors"
	"os"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Config names the service and says where to export.
type Config struct {
	// ServiceName becomes the service.name resource attribute ("polku-clients").
	ServiceName string
	// ServiceVersion becomes service.version.
	ServiceVersion string
	// SpanExporter, when set, replaces OTLP (tests use an in-memory exporter).
	SpanExporter sdktrace.SpanExporter
	// MetricReader, when set, replaces OTLP metric export (tests).
	MetricReader sdkmetric.Reader
	// Scrape, when set, also exposes this service's metrics on that Prometheus
	// endpoint (beside OTLP export, if configured).
	Scrape *Scrape
}

// Providers are one service's tracer and meter providers and the propagator.
type Providers struct {
	TracerProvider *sdktrace.TracerProvider
	MeterProvider  *sdkmetric.MeterProvider
	Propagator     propagation.TextMapPropagator
}

// Propagator is W3C trace context plus baggage, used on every hop.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// Setup builds the providers. Call Shutdown when the service stops.
func Setup(ctx context.Context, cfg Config) (*Providers, error) {
	res, err := resource.New(ctx,
		resource.WithFromEnv(), // OTEL_RESOURCE_ATTRIBUTES, e.g. deployment.environment
		resource.WithTelemetrySDK(),
		resource.WithAttributes(
			semconv.ServiceName(cfg.ServiceName),
			semconv.ServiceVersion(cfg.ServiceVersion),
			semconv.ServiceNamespace("polku"),
		),
	)
	if err != nil && res == nil {
		return nil, err
	}

	topts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	switch {
	case cfg.SpanExporter != nil:
		// Synchronous export keeps tests deterministic: the span is in the
		// exporter when the call returns.
		topts = append(topts, sdktrace.WithSyncer(cfg.SpanExporter))
	case exportTraces():
		exp, err := otlptracegrpc.New(ctx)
		if err != nil {
			return nil, err
		}
		topts = append(topts, sdktrace.WithBatcher(exp))
	}

	mopts := []sdkmetric.Option{sdkmetric.WithResource(res)}
	switch {
	case cfg.MetricReader != nil:
		mopts = append(mopts, sdkmetric.WithReader(cfg.MetricReader))
	case exportMetrics():
		exp, err := otlpmetricgrpc.New(ctx)
		if err != nil {
			return nil, err
		}
		mopts = append(mopts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
	}
	if cfg.Scrape != nil {
		r, err := cfg.Scrape.reader()
		if err != nil {
			return nil, err
		}
		mopts = append(mopts, sdkmetric.WithReader(r))
	}

	return &Providers{
		TracerProvider: sdktrace.NewTracerProvider(topts...),
		MeterProvider:  sdkmetric.NewMeterProvider(mopts...),
		Propagator:     Propagator(),
	}, nil
}

// Tracer returns a named tracer of these providers.
func (p *Providers) Tracer(name string) trace.Tracer { return p.TracerProvider.Tracer(name) }

// Meter returns a named meter of these providers.
func (p *Providers) Meter(name string) metric.Meter { return p.MeterProvider.Meter(name) }

// Shutdown flushes and stops both providers.
func (p *Providers) Shutdown(ctx context.Context) error {
	return errors.Join(p.TracerProvider.Shutdown(ctx), p.MeterProvider.Shutdown(ctx))
}

func exportTraces() bool {
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

func exportMetrics() bool {
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") != ""
}
