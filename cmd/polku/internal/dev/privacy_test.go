package dev

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/store/embedded"
	assessmentsvc "github.com/polku-hb/polku/services/assessment/service"
	budgetsvc "github.com/polku-hb/polku/services/budget/service"
	cataloguesvc "github.com/polku-hb/polku/services/catalogue/service"
	clientssvc "github.com/polku-hb/polku/services/clients/service"
	referralsvc "github.com/polku-hb/polku/services/referral/service"
)

// demoPersonalData is every piece of personal data the demo seed holds about
// its people, taken from the seed itself, with the field it came from.
func demoPersonalData() map[string]string {
	out := map[string]string{}
	for _, dc := range demoClients() {
		c := dc.client
		for field, v := range map[string]string{
			"given_name": c.GetGivenName(), "family_name": c.GetFamilyName(),
			"personal_identity_code": c.GetPersonalIdentityCode(),
			"masked identity code":   c.GetPersonalIdentityCode()[:7] + "****",
			"phone":                  c.GetContactDetails().GetPhone(), "email": c.GetContactDetails().GetEmail(),
			"postal_address": c.GetContactDetails().GetPostalAddress(),
		} {
			if v != "" {
				out[v] = dc.key + "'s " + field
			}
		}
	}
	return out
}

// The whole demo, seeded and then used over REST by a worker, the client, her
// assistant and a provider, leaves no demo person's name, identity code, phone,
// email or address in any span, log line or event of any service.
func TestDemoFlowKeepsPersonalDataOutOfSpansLogsAndEvents(t *testing.T) {
	dir := t.TempDir()
	spans := tracetest.NewInMemoryExporter()
	logs := &syncBuffer{}
	addrs := map[string]string{}
	for _, n := range []string{"clients", "assessment", "budget", "catalogue", "referral"} {
		addrs[n] = "127.0.0.1:0"
	}
	s, err := Start(context.Background(), Options{DataDir: dir, GatewayAddr: "127.0.0.1:0", ServiceAddrs: addrs, SpanExporter: spans, Log: logs})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = s.Stop()
		}
	})
	demo, err := SeedDemo(context.Background(), s)
	if err != nil {
		t.Fatalf("SeedDemo: %v", err)
	}
	tok := func(p auth.Principal) string {
		v, err := s.Token(p, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	aino := tok(auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion})
	tiina := tok(auth.Principal{Subject: "c-tiina", Role: auth.RoleClient, ClientID: demo.Tiina})
	sanna := tok(auth.Principal{Subject: Sanna, Role: auth.RoleAssistant, Clients: []string{demo.Tiina}})
	coach := tok(auth.Principal{Subject: CoachStaff, Role: auth.RoleProvider, ProviderID: demo.Providers["neurocoach"]})
	client := "/v1/clients/" + demo.Tiina

	// The flow: a worker's day with Tiina, Tiina and her assistant reading her
	// own data, the coach reading its referral inbox.
	flow := []struct {
		who, method, path string
		body              any
	}{
		{aino, "GET", "/v1/clients", nil},
		{aino, "GET", client, nil},
		{aino, "GET", client + "/teamMembers", nil},
		{aino, "GET", client + "/consents", nil},
		{aino, "GET", "/v1/" + demo.Plan, nil},
		{aino, "GET", "/v1/" + demo.Budget + "/statement", nil},
		{aino, "GET", "/v1/referrals", nil},
		{aino, "GET", "/v1/providers/-/offerings:search?query=valmennus", nil},
		{aino, "POST", "/v1/clients", map[string]any{"given_name": "Tiina", "family_name": "Virtanen", "personal_identity_code": "150391-934P", "cohort": "COHORT_PERSONAL_BUDGET"}}, // a duplicate: refused
		{aino, "POST", "/v1/clients", map[string]any{"given_name": "Jari", "personal_identity_code": "070685-912X"}},                                                                 // invalid: refused
		{tiina, "GET", client, nil},
		{tiina, "GET", client + "/accessLogEntries", nil},
		{tiina, "GET", client + "/timelineEvents", nil},
		{tiina, "GET", "/v1/" + demo.Budget, nil},
		{sanna, "GET", client, nil},
		{sanna, "GET", "/v1/" + demo.Budget + "/ledgerEntries", nil},
		{coach, "GET", "/v1/referrals", nil},
		{coach, "GET", client, nil}, // refused: providers never read client records
	}
	for _, step := range flow {
		code, body := call(t, step.method, s.GatewayURL+step.path, step.who, step.body, "X-Polku-Purpose", "privacy test")
		if code >= 500 {
			t.Errorf("%s %s = %d %v", step.method, step.path, code, body)
		}
		if code == 0 || code == http.StatusUnauthorized {
			t.Fatalf("%s %s = %d: the flow did not run", step.method, step.path, code)
		}
	}
	// Spans now: stopping shuts the exporter down, which empties it. Stopping
	// then frees the store file for reading the events.
	got := spans.GetSpans()
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	stopped = true

	secrets := demoPersonalData()
	if len(secrets) < 12 {
		t.Fatalf("only %d pieces of personal data in the demo seed; the check would prove little", len(secrets))
	}
	scan := func(where, text string) {
		t.Helper()
		for v, what := range secrets {
			if strings.Contains(text, v) {
				t.Errorf("%s contains %s", where, what)
			}
		}
	}

	// Spans: names, attributes, events and status of every span.
	if len(got) < 100 {
		t.Fatalf("%d spans; the demo flow makes hundreds", len(got))
	}
	for _, sp := range got {
		text := sp.Name + " " + sp.Status.Description
		for _, kv := range sp.Attributes {
			text += " " + string(kv.Key) + "=" + kv.Value.Emit()
		}
		for _, ev := range sp.Events {
			text += " " + ev.Name
			for _, kv := range ev.Attributes {
				text += " " + string(kv.Key) + "=" + kv.Value.Emit()
			}
		}
		scan("span "+sp.Name+" of "+serviceName(sp), text)
	}

	// Logs of every service.
	out := logs.String()
	if strings.Count(out, "\n") < 20 {
		t.Fatalf("%d log lines; the flow logs every request", strings.Count(out, "\n"))
	}
	scan("the logs", out)

	// Events: every message of every service's streams, read from the start by
	// a fresh consumer group.
	db, err := embedded.Open(filepath.Join(dir, "polku.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stores := boot.EmbeddedStores(db)
	events := 0
	for _, ns := range []struct {
		name   string
		shards int
	}{
		{clientssvc.Namespace, clientssvc.Shards}, {assessmentsvc.Namespace, assessmentsvc.Shards},
		{budgetsvc.Namespace, budgetsvc.Shards}, {cataloguesvc.Namespace, cataloguesvc.Shards},
		{referralsvc.Namespace, referralsvc.Shards},
	} {
		st := stores.Namespace(ns.name, ns.shards)
		for {
			msgs, err := st.ReadGroup(context.Background(), "privacy-test", "reader", 500, 0)
			if err != nil {
				t.Fatalf("%s events: %v", ns.name, err)
			}
			if len(msgs) == 0 {
				break
			}
			for _, m := range msgs {
				scan(ns.name+" event "+m.ID, string(m.Payload))
			}
			events += len(msgs)
			if err := st.Ack(context.Background(), "privacy-test", msgs...); err != nil {
				t.Fatal(err)
			}
		}
	}
	if events < 30 {
		t.Fatalf("%d events in all streams; the demo makes many more", events)
	}
	t.Logf("checked %d spans, %d log lines and %d events for %d pieces of personal data", len(got), strings.Count(out, "\n"), events, len(secrets))
}
