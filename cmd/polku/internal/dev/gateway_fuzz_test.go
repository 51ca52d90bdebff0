package dev

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polku-hb/polku/platform/auth"
)

// fuzzRoutes are REST routes that take a JSON body, over every service. {c}
// is a client the fuzzing worker created, {p} a provider that does not exist.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/v1/clients"},
	{"PATCH", "/v1/clients/{c}?update_mask=given_name,contact_details"},
	{"POST", "/v1/clients/{c}/teamMembers"},
	{"POST", "/v1/clients/{c}/consents"},
	{"POST", "/v1/clients/{c}/assessments"},
	{"POST", "/v1/clients/{c}/plans"},
	{"POST", "/v1/clients/{c}/budgets"},
	{"POST", "/v1/providers"},
	{"POST", "/v1/providers/{p}/offerings"},
	{"POST", "/v1/referrals"},
}

// FuzzGatewayJSON sends arbitrary bodies through the real REST edge to the
// real services over loopback. Whatever the body, the answer is a JSON error
// or success with a 2xx or 4xx status: never a 5xx (no service may fail on bad
// input), never a dropped connection (no panic), never a body that is not JSON.
func FuzzGatewayJSON(f *testing.F) {
	for i := range fuzzRoutes {
		f.Add(uint8(i), []byte(`{}`))
	}
	f.Add(uint8(0), []byte(`{"given_name":"A","family_name":"B","personal_identity_code":"010594Y9032","cohort":"COHORT_PERSONAL_BUDGET"}`))
	f.Add(uint8(0), []byte(`{"given_name":`+strings.Repeat(`[`, 200)+`}`))
	f.Add(uint8(1), []byte(`{"given_name":"\u0000\ud800","contact_details":{"email":1e400}}`))
	f.Add(uint8(7), []byte(`{"display_name":{"fi":"`+strings.Repeat("x", 70000)+`"}}`))
	f.Add(uint8(9), []byte(`{"client":"clients/x","recipient_offering":"providers/-/offerings/-","unknown":true}`))
	f.Add(uint8(2), []byte(`null`))
	f.Add(uint8(3), []byte(`[1,2,3]`))
	f.Add(uint8(4), []byte("\xff\xfe"))

	s := startQuietStack(f)
	worker, err := s.Token(auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion}, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	code, created := post(f, s.GatewayURL+"/v1/clients", worker, `{"given_name":"Fuzz","family_name":"Target","cohort":"COHORT_COMPARISON"}`)
	id, _ := created["name"].(string)
	if code != http.StatusOK || id == "" {
		f.Fatalf("create the fuzzing client: %d %v", code, created)
	}
	client := &http.Client{Timeout: 20 * time.Second}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		path := strings.NewReplacer("{c}", strings.TrimPrefix(id, "clients/"), "{p}", "nosuchprovider").Replace(r.path)
		req, err := http.NewRequestWithContext(context.Background(), r.method, s.GatewayURL+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+worker)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v (the gateway dropped the request)", r.method, r.path, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s with %q = %d %s; want a 2xx or 4xx", r.method, r.path, body, resp.StatusCode, raw)
		}
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s = %d with a body that is not a JSON object: %q", r.method, r.path, resp.StatusCode, raw)
		}
		if resp.StatusCode >= 400 {
			if msg, _ := out["message"].(string); msg == "" || out["code"] == nil {
				t.Fatalf("%s %s = %d %s; want an error with a code and a message", r.method, r.path, resp.StatusCode, raw)
			}
		}
	})
}

// startQuietStack starts the stack for a fuzz target or benchmark (startStack
// needs a *testing.T), its logs discarded.
func startQuietStack(tb testing.TB) *Stack {
	tb.Helper()
	addrs := map[string]string{}
	for _, n := range []string{"clients", "assessment", "budget", "catalogue", "referral"} {
		addrs[n] = "127.0.0.1:0"
	}
	s, err := Start(context.Background(), Options{DataDir: tb.TempDir(), GatewayAddr: "127.0.0.1:0", ServiceAddrs: addrs, Log: io.Discard})
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Errorf("Stop: %v", err)
		}
	})
	return s
}

func post(t testing.TB, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}
