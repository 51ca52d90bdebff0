package dev

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/polku-hb/polku/gateway"
	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/version"
)

// Run is `polku dev`: start everything, seed the demo, print how to use it, and
// run until interrupted.
func Run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	dataDir := fs.String("data", envOr("POLKU_DATA_DIR", ".data"), "directory for the embedded store and dev keys")
	storeKind := fs.String("store", envOr("POLKU_STORE", "embedded"), "embedded or redis")
	redisAddrs := fs.String("redis", envOr("POLKU_REDIS_ADDRS", "127.0.0.1:6379"), "Redis address(es), with -store redis")
	gatewayAddr := fs.String("addr", envOr("POLKU_GATEWAY_ADDR", "127.0.0.1:8080"), "REST gateway listen address")
	webAddr := fs.String("web", envOr("POLKU_WEB_ADDR", "127.0.0.1:8090"), "web UI listen address")
	logFile := fs.String("log", "", "write service logs to this file (default: <data>/polku.log)")
	metricsAddr := fs.String("metrics", envOr("POLKU_METRICS_ADDR", "127.0.0.1:9190"), "Prometheus /metrics listen address of every service (\"\" or off: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *metricsAddr == "off" {
		*metricsAddr = ""
	}
	if *storeKind != "embedded" && *storeKind != "redis" {
		return fmt.Errorf("-store must be embedded or redis, not %q", *storeKind)
	}
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		return err
	}
	if *logFile == "" {
		*logFile = filepath.Join(*dataDir, "polku.log")
	}
	lf, err := os.OpenFile(*logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer lf.Close()

	ttl, err := TokenCacheTTLFromEnv()
	if err != nil {
		return err
	}
	s, err := Start(ctx, Options{
		DataDir: *dataDir, Store: *storeKind, RedisAddrs: strings.Split(*redisAddrs, ","),
		GatewayAddr: *gatewayAddr, Log: lf, MetricsAddr: *metricsAddr, TokenCacheTTL: ttl,
	})
	if err != nil {
		return err
	}
	demo, err := SeedDemo(ctx, s)
	if err != nil {
		return errors.Join(err, s.Stop())
	}
	webURL, err := StartWeb(ctx, s, demo, *webAddr)
	if err != nil {
		return errors.Join(fmt.Errorf("web UI: %w", err), s.Stop())
	}
	if err := printWelcome(out, s, demo, webURL, *storeKind, *dataDir, *logFile); err != nil {
		return errors.Join(err, s.Stop())
	}
	return s.Wait()
}

func printWelcome(out io.Writer, s *Stack, demo Demo, webURL, storeKind, dataDir, logFile string) error {
	type person struct {
		env, who string
		p        auth.Principal
	}
	people := []person{
		{"WORKER_TOKEN", "Aino, coordinating worker", auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion, Unit: "family-services"}},
		{"WORKER2_TOKEN", "Pekka, worker", auth.Principal{Subject: Pekka, Role: auth.RoleWorker, Region: DemoRegion, Unit: "family-services"}},
		{"MANAGER_TOKEN", "Mikko, manager", auth.Principal{Subject: Mikko, Role: auth.RoleManager, Region: DemoRegion}},
		{"CLIENT_TOKEN", "Tiina, client clients/" + demo.Tiina, auth.Principal{Subject: "u-tiina", Role: auth.RoleClient, ClientID: demo.Tiina}},
		{"ASSISTANT_TOKEN", "Sanna, Tiina's assistant", auth.Principal{Subject: Sanna, Role: auth.RoleAssistant, Clients: []string{demo.Tiina}}},
		{"PROVIDER_TOKEN", "NeuroValmennus Oy staff (providers/" + demo.Providers["neurocoach"] + ")", auth.Principal{Subject: CoachStaff, Role: auth.RoleProvider, ProviderID: demo.Providers["neurocoach"]}},
		{"OPERATOR_TOKEN", "Olli, catalogue operator", auth.Principal{Subject: Olli, Role: auth.RoleOperator}},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nPolku %s is running. Stop it with Ctrl-C.\n\n", version.String())
	fmt.Fprintf(&b, "Web UI         %s   (sign in as a demo person)\n", webURL)
	fmt.Fprintf(&b, "REST gateway   %s   (OpenAPI: %s/openapi.json, health: %s/readyz)\n", s.GatewayURL, s.GatewayURL, s.GatewayURL)
	fmt.Fprintf(&b, "gRPC services ")
	for _, name := range gateway.Services() {
		fmt.Fprintf(&b, "  %s %s", name, s.GRPCAddrs[name])
	}
	fmt.Fprintf(&b, "\n               (reflection on: grpcurl -plaintext %s list)\n", s.GRPCAddrs["clients"])
	if s.MetricsURL != "" {
		fmt.Fprintf(&b, "Metrics        %s   (Prometheus text, every service; label service_name)\n", s.MetricsURL)
	}
	fmt.Fprintf(&b, "Store          %s (data in %s), logs in %s\n\n", storeKind, dataDir, logFile)
	fmt.Fprintf(&b, "Demo tokens, valid 12 hours (more: go run ./cmd/polku token -h). Paste into your shell:\n\n")
	for _, p := range people {
		tok, err := s.Token(p.p, 12*time.Hour)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "export %s=%s   # %s\n", p.env, tok, p.who)
	}
	fmt.Fprintf(&b, "\nTry:\n  curl -s -H \"Authorization: Bearer $WORKER_TOKEN\" %s/v1/clients\n", s.GatewayURL)
	fmt.Fprintf(&b, "  curl -s -H \"Authorization: Bearer $CLIENT_TOKEN\" %s/v1/clients/%s/accessLogEntries\n\n", s.GatewayURL, demo.Tiina)
	_, err := io.WriteString(out, b.String())
	return err
}

// Token is `polku token`: issue a development token with the dev key.
func Token(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	dataDir := fs.String("data", envOr("POLKU_DATA_DIR", ".data"), "directory holding the dev signing key")
	role := fs.String("role", "WORKER", "WORKER, MANAGER, PROVIDER, CLIENT, ASSISTANT, OPERATOR or SERVICE")
	sub := fs.String("sub", "", "subject: the user's opaque id (required)")
	region := fs.String("region", DemoRegion, "welfare region (workers, managers)")
	unit := fs.String("unit", "", "organisational unit")
	provider := fs.String("provider", "", "provider id (PROVIDER)")
	clientID := fs.String("client", "", "client id (CLIENT)")
	clients := fs.String("clients", "", "comma-separated client ids (ASSISTANT)")
	ttl := fs.Duration("ttl", 12*time.Hour, "validity")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r, err := auth.ParseRole(strings.ToUpper(*role))
	if err != nil {
		return fmt.Errorf("-role: %w", err)
	}
	p := auth.Principal{Subject: *sub, Role: r, Unit: *unit, ProviderID: *provider, ClientID: *clientID}
	if r == auth.RoleWorker || r == auth.RoleManager {
		p.Region = *region
	}
	for _, c := range strings.Split(*clients, ",") {
		if c = strings.TrimSpace(c); c != "" {
			p.Clients = append(p.Clients, c)
		}
	}
	if err := p.Validate(); err != nil {
		return err
	}
	issuer, err := auth.LoadOrCreateDevKey(*dataDir)
	if err != nil {
		return err
	}
	tok, err := issuer.Issue(p, auth.DevIssuerName, auth.DevAudience, *ttl)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, tok)
	return err
}

// TokenCacheTTLFromEnv reads POLKU_TOKEN_CACHE_TTL as the services do ("0"
// turns the cache off) into Options.TokenCacheTTL.
func TokenCacheTTLFromEnv() (time.Duration, error) {
	v := os.Getenv("POLKU_TOKEN_CACHE_TTL")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil || d < 0:
		return 0, fmt.Errorf("POLKU_TOKEN_CACHE_TTL: %q is not a duration of 0 or more", v)
	case d == 0:
		return -1, nil
	}
	return d, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
