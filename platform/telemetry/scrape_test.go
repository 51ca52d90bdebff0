package telemetry

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Two services of one process record the same instrument: one scrape shows both,
// told apart by service_name, each with its own value.
func TestScrapeKeepsServicesApart(t *testing.T) {
	sc := NewScrape()
	ctx := context.Background()
	counts := map[string]int64{"polku-a": 2, "polku-b": 5}
	for name, n := range counts {
		p, err := Setup(ctx, Config{ServiceName: name, ServiceVersion: "test", Scrape: sc})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
		c, err := p.Meter("test").Int64Counter("polku.test.things")
		if err != nil {
			t.Fatal(err)
		}
		c.Add(ctx, n, metric.WithAttributes(attribute.String("kind", "x")))
	}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- ServeMetrics(sctx, lis, sc) }()

	resp, err := http.Get("http://" + lis.Addr().String() + MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %s", MetricsPath, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	fam := fams["polku_test_things_total"]
	if fam == nil {
		t.Fatalf("no polku_test_things_total among %d families", len(fams))
	}
	got := map[string]int64{}
	for _, m := range fam.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["kind"] != "x" || labels["service_version"] != "test" {
			t.Errorf("series labels %v; want kind=x and service_version=test", labels)
		}
		got[labels["service_name"]] += int64(m.GetCounter().GetValue())
	}
	for name, n := range counts {
		if got[name] != n {
			t.Errorf("polku_test_things_total{service_name=%q} = %d; want %d (all: %v)", name, got[name], n, got)
		}
	}
	// Process metrics are there once, without a service.
	if g := fams["go_goroutines"]; g == nil || len(g.GetMetric()) != 1 {
		t.Errorf("go_goroutines = %v; want one series", g)
	}

	stop()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("ServeMetrics = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeMetrics did not return after cancel")
	}
}
