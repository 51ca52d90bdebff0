package dev

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/testkit"
)

// syncBuffer collects the JSON logs of every service.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startStack(t *testing.T, storeOpts ...Options) (*Stack, *tracetest.InMemoryExporter, *syncBuffer) {
	t.Helper()
	var so Options
	if len(storeOpts) > 0 {
		so = storeOpts[0]
	}
	spans := tracetest.NewInMemoryExporter()
	logs := &syncBuffer{}
	addrs := map[string]string{}
	for _, n := range []string{"clients", "assessment", "budget", "catalogue", "referral"} {
		addrs[n] = "127.0.0.1:0"
	}
	s, err := Start(context.Background(), Options{
		DataDir: t.TempDir(), GatewayAddr: "127.0.0.1:0", ServiceAddrs: addrs,
		SpanExporter: spans, Log: logs, Store: so.Store, RedisAddrs: so.RedisAddrs, MetricsAddr: so.MetricsAddr,
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s, spans, logs
}

func call(t *testing.T, method, url, token string, body any, headers ...string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// The walking skeleton: REST -> gateway -> gRPC -> store -> events, traced, with
// no personal data in logs or spans.
func TestRESTFlowIsTracedAndKeepsPersonalDataOutOfTelemetry(t *testing.T) {
	t.Run("embedded", func(t *testing.T) { restFlow(t, Options{}) })
	t.Run("redis", func(t *testing.T) {
		restFlow(t, Options{Store: "redis", RedisAddrs: []string{testkit.StartRedis(t)}})
	})
}

func restFlow(t *testing.T, storeOpts Options) {
	s, spans, logs := startStack(t, storeOpts)
	worker, err := s.Token(auth.Principal{Subject: "w-aino", Role: auth.RoleWorker, Region: "pirkanmaa"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	const pic, given, family = "150391-934P", "Tiina", "Virtanen"
	spans.Reset()
	code, created := call(t, "POST", s.GatewayURL+"/v1/clients", worker, map[string]any{
		"given_name": given, "family_name": family, "personal_identity_code": pic,
		"contact_preference": "CONTACT_PREFERENCE_VIA_WORKER", "cohort": "COHORT_PERSONAL_BUDGET",
	})
	if code != http.StatusOK {
		t.Fatalf("POST /v1/clients = %d %v; want 200", code, created)
	}
	name, _ := created["name"].(string)
	if created["personal_identity_code_masked"] != "150391-****" || created["personal_identity_code"] != nil {
		t.Errorf("created client = %v; want only the masked code", created)
	}

	// One trace with spans from the gateway and the clients service: the trace of
	// the gateway's span for the request holds the clients service's spans too,
	// and every span the request caused shares it. (Background workers, such as
	// the timeline consumers, make traces of their own meanwhile; they are not
	// part of the request.)
	createSpans := spans.GetSpans()
	var requestTrace string
	for _, sp := range createSpans {
		if serviceName(sp) == "polku-gateway" && sp.Name == "POST /v1/clients" {
			requestTrace = sp.SpanContext.TraceID().String()
		}
	}
	services := map[string]int{}
	for _, sp := range createSpans {
		if sp.SpanContext.TraceID().String() == requestTrace {
			services[serviceName(sp)]++
		}
	}
	if requestTrace == "" || services["polku-gateway"] == 0 || services["polku-clients"] == 0 {
		t.Errorf("create: gateway span trace %q has spans of %v; want one trace spanning polku-gateway and polku-clients", requestTrace, services)
	}

	// Read it back and find the read in the access log.
	code, got := call(t, "GET", s.GatewayURL+"/v1/"+name, worker, nil, "X-Polku-Purpose", "first meeting")
	if code != http.StatusOK || got["given_name"] != given || got["personal_identity_code_masked"] != "150391-****" {
		t.Fatalf("GET %s = %d %v", name, code, got)
	}
	code, log := call(t, "GET", s.GatewayURL+"/v1/"+name+"/accessLogEntries", worker, nil)
	entries, _ := log["access_log_entries"].([]any)
	if code != http.StatusOK || len(entries) != 1 || entries[0].(map[string]any)["purpose"] != "first meeting" {
		t.Errorf("access log = %d %v; want the one read with its purpose", code, log)
	}

	// Nothing personal in any span attribute, span name, event or log line.
	for _, sp := range spans.GetSpans() {
		text := sp.Name
		for _, kv := range sp.Attributes {
			text += " " + string(kv.Key) + "=" + kv.Value.Emit()
		}
		for _, ev := range sp.Events {
			text += " " + ev.Name
			for _, kv := range ev.Attributes {
				text += " " + kv.Value.Emit()
			}
		}
		for _, secret := range []string{pic, "150391", given, family} {
			if strings.Contains(text, secret) {
				t.Errorf("span %q carries personal data %q: %s", sp.Name, secret, text)
			}
		}
	}
	out := logs.String()
	if out == "" {
		t.Fatal("no log lines were written; the privacy check would prove nothing")
	}
	for _, secret := range []string{pic, "150391", given, family} {
		if strings.Contains(out, secret) {
			t.Errorf("logs contain personal data %q", secret)
		}
	}
}

func TestGatewayErrorsAndEdges(t *testing.T) {
	s, _, _ := startStack(t)
	worker, _ := s.Token(auth.Principal{Subject: "w-aino", Role: auth.RoleWorker, Region: "pirkanmaa"}, time.Hour)

	code, body := call(t, "GET", s.GatewayURL+"/v1/clients", "", nil)
	if code != http.StatusUnauthorized {
		t.Errorf("no token: %d %v; want 401", code, body)
	}
	code, body = call(t, "POST", s.GatewayURL+"/v1/clients", worker, map[string]any{"given_name": "A", "personal_identity_code": "150391-934A"})
	if code != http.StatusBadRequest {
		t.Fatalf("bad identity code: %d %v; want 400", code, body)
	}
	var fields []string
	for _, d := range body["details"].([]any) {
		for _, v := range asSlice(d.(map[string]any)["field_violations"]) {
			fields = append(fields, v.(map[string]any)["field"].(string))
		}
	}
	if !slices.Contains(fields, "client.personal_identity_code") || !slices.Contains(fields, "client.family_name") {
		t.Errorf("field violations in the JSON body = %v; want the identity code and family name", fields)
	}
	code, _ = call(t, "GET", s.GatewayURL+"/v1/clients/nosuchclient", worker, nil)
	if code != http.StatusNotFound {
		t.Errorf("unknown client: %d; want 404", code)
	}
	big := map[string]any{"given_name": strings.Repeat("x", 2<<20)}
	if code, _ = call(t, "POST", s.GatewayURL+"/v1/clients", worker, big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB body: %d; want 413", code)
	}
	if code, _ = call(t, "GET", s.GatewayURL+"/healthz", "", nil); code != http.StatusOK {
		t.Errorf("/healthz = %d", code)
	}
	if code, body = call(t, "GET", s.GatewayURL+"/readyz", "", nil); code != http.StatusOK {
		t.Errorf("/readyz = %d %v", code, body)
	}
	code, spec := call(t, "GET", s.GatewayURL+"/openapi.json", "", nil)
	paths, _ := spec["paths"].(map[string]any)
	if code != http.StatusOK || paths["/v1/clients"] == nil {
		t.Errorf("/openapi.json = %d with %d paths; want the merged spec", code, len(paths))
	}
	for _, svc := range []string{"/v1/referrals", "/v1/providers"} {
		found := false
		for p := range paths {
			found = found || strings.HasPrefix(p, svc)
		}
		if !found {
			t.Errorf("/openapi.json has no %s paths; want every service merged", svc)
		}
	}
}

// Reflection lists all five APIs, each on its own port.
func TestAllFiveServicesAreReachable(t *testing.T) {
	s, _, _ := startStack(t)
	want := []string{"polku.assessment.v1.AssessmentService", "polku.budget.v1.BudgetService",
		"polku.catalogue.v1.CatalogueService", "polku.clients.v1.ClientsService", "polku.referral.v1.ReferralService"}
	var listed []string
	for _, addr := range s.GRPCAddrs {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		stream, err := rpb.NewServerReflectionClient(conn).ServerReflectionInfo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("reflection on %s: %v", addr, err)
		}
		for _, svc := range resp.GetListServicesResponse().GetService() {
			if strings.HasPrefix(svc.GetName(), "polku.") {
				listed = append(listed, svc.GetName())
			}
		}
		conn.Close()
	}
	slices.Sort(listed)
	if !slices.Equal(listed, want) {
		t.Errorf("reflection lists %v; want %v", listed, want)
	}
}

func TestDemoSeedIsIdempotent(t *testing.T) {
	s, _, _ := startStack(t)
	first, err := SeedDemo(context.Background(), s)
	if err != nil {
		t.Fatalf("SeedDemo: %v", err)
	}
	second, err := SeedDemo(context.Background(), s)
	if err != nil || !reflect.DeepEqual(second, first) {
		t.Fatalf("second SeedDemo = %v, %v; want the same %v", second, err, first)
	}
	manager, _ := s.Token(auth.Principal{Subject: Mikko, Role: auth.RoleManager, Region: DemoRegion}, time.Hour)
	code, body := call(t, "GET", s.GatewayURL+"/v1/clients", manager, nil)
	if list := asSlice(body["clients"]); code != http.StatusOK || len(list) != 4 {
		t.Errorf("manager lists %d demo clients (%d); want 4", len(list), code)
	}

	// Across services, through REST: the catalogue finds the coach with a price,
	// Tiina's plan is active, and her timeline tells the whole path so far.
	aino, _ := s.Token(auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion}, time.Hour)
	code, body = call(t, "GET", s.GatewayURL+"/v1/providers/-/offerings:search?query=adhd", aino, nil)
	if hits := asSlice(body["results"]); code != http.StatusOK || len(hits) == 0 {
		t.Errorf("search for adhd = %d %v; want the coaching offering", code, body)
	}
	for _, name := range []string{first.Plan, first.Budget, first.Budget + "/statement"} {
		if code, body = call(t, "GET", s.GatewayURL+"/v1/"+name, aino, nil); code != http.StatusOK {
			t.Errorf("GET %s = %d %v", name, code, body)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	var sources map[string]bool
	for time.Now().Before(deadline) {
		_, tl := call(t, "GET", s.GatewayURL+"/v1/clients/"+first.Tiina+"/timelineEvents?page_size=100", aino, nil)
		sources = map[string]bool{}
		for _, e := range asSlice(tl["timeline_events"]) {
			sources[e.(map[string]any)["source"].(string)] = true
		}
		if sources["clients"] && sources["assessment"] && sources["referral"] && sources["budget"] {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("Tiina's timeline has events from %v; want clients, assessment, budget and referral", sources)
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
