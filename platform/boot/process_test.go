package boot

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/config"
	"github.com/polku-hb/polku/platform/telemetry"
)

// devEnv is the environment of a service binary on the embedded store with a
// development key, plus extra.
func devEnv(t *testing.T, extra map[string]string) *config.Env {
	t.Helper()
	dir := t.TempDir()
	issuer, err := auth.LoadOrCreateDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	pem := filepath.Join(dir, "public.pem")
	if err := os.WriteFile(pem, issuer.PublicKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{"POLKU_STORE": "embedded", "POLKU_DATA_DIR": dir, "POLKU_JWT_PUBLIC_KEY_FILE": pem, "POLKU_SHUTDOWN_DRAIN": "0s"}
	for k, v := range extra {
		m[k] = v
	}
	return config.FromMap(m)
}

// A service binary with POLKU_METRICS_ADDR serves its metrics, labelled with its
// service name, while Serve runs, and stops serving them when it returns.
func TestServeExposesMetrics(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := Start(ctx, devEnv(t, map[string]string{"POLKU_METRICS_ADDR": addr}), "polku-boottest")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := p.Telemetry.Meter("test").Int64Counter("polku.boottest.things")
	if err != nil {
		t.Fatal(err)
	}
	c.Add(ctx, 3)
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx, "127.0.0.1:0", nil, func(grpc.ServiceRegistrar) {}) }()

	url := "http://" + addr + telemetry.MetricsPath
	var body string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(body, "polku_boottest_things_total") {
		if resp, err := http.Get(url); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var line string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "polku_boottest_things_total{") {
			line = l
		}
	}
	if !strings.Contains(line, `service_name="polku-boottest"`) || !strings.HasSuffix(line, " 3") {
		t.Fatalf("metrics line = %q; want the counter at 3 with service_name", line)
	}

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve = %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := http.Get(url); err == nil {
		t.Error("metrics still served after Serve returned")
	}
}

func TestMetricsOffByDefault(t *testing.T) {
	p, err := Start(context.Background(), devEnv(t, nil), "polku-boottest")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Metrics != nil {
		t.Error("a metrics endpoint without POLKU_METRICS_ADDR")
	}
}
