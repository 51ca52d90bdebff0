package dev

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polku-hb/polku/platform/auth"
)

// Bad input at the REST edge is refused with a clear 4xx error, whatever its
// size or shape, and the stack keeps serving.
func TestRequestLimits(t *testing.T) {
	s := startQuietStack(t)
	worker, _ := s.Token(auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion}, time.Hour)
	client := &http.Client{Timeout: 30 * time.Second}
	do := func(method, path string, body io.Reader, contentLength int64) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, s.GatewayURL+path, body)
		req.Header.Set("Authorization", "Bearer "+worker)
		req.Header.Set("Content-Type", "application/json")
		if contentLength != 0 {
			req.ContentLength = contentLength // -1: chunked, no length announced
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	nested := func(depth int) string {
		return `{"given_name":"A","family_name":"B","unknown":` + strings.Repeat(`{"a":`, depth) + `1` + strings.Repeat(`}`, depth) + `}`
	}
	tests := []struct {
		name          string
		method, path  string
		body          string
		chunked       bool
		wantCode      int
		wantInMessage string
	}{
		{name: "body over the limit, length announced", method: "POST", path: "/v1/clients",
			body: `{"given_name":"` + strings.Repeat("x", 2<<20) + `"}`, wantCode: 413, wantInMessage: "larger than 1048576 bytes"},
		{name: "body over the limit, chunked", method: "POST", path: "/v1/clients", chunked: true,
			body: `{"given_name":"` + strings.Repeat("x", 2<<20) + `"}`, wantCode: 413, wantInMessage: "larger than 1048576 bytes"},
		{name: "deeply nested JSON", method: "POST", path: "/v1/clients", body: nested(100000), wantCode: 400},
		{name: "nested JSON in a known field", method: "POST", path: "/v1/clients",
			body: `{"given_name":` + strings.Repeat(`[`, 50000) + strings.Repeat(`]`, 50000) + `}`, wantCode: 400},
		{name: "very long name", method: "POST", path: "/v1/clients",
			body: `{"given_name":"` + strings.Repeat("x", 500000) + `","family_name":"B"}`, wantCode: 400, wantInMessage: "client.given_name"},
		{name: "very long filter", method: "GET", path: "/v1/clients?filter=" + strings.Repeat("state%20%3D%20ACTIVE%20AND%20", 2000), wantCode: 400, wantInMessage: "filter"},
		{name: "very long page token", method: "GET", path: "/v1/clients?page_token=" + strings.Repeat("A", 20000), wantCode: 400, wantInMessage: "page_token"},
		{name: "page size beyond int32", method: "GET", path: "/v1/clients?page_size=99999999999", wantCode: 400},
		{name: "negative page size", method: "GET", path: "/v1/clients?page_size=-1", wantCode: 400, wantInMessage: "page_size"},
		{name: "huge page size is clamped", method: "GET", path: "/v1/clients?page_size=2147483647", wantCode: 200},
		{name: "huge page size on the catalogue", method: "GET", path: "/v1/providers?page_size=2147483647", wantCode: 200},
		{name: "huge page size on referrals", method: "GET", path: "/v1/referrals?page_size=2147483647", wantCode: 200},
		{name: "very long path id", method: "GET", path: "/v1/clients/" + strings.Repeat("x", 10000), wantCode: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var length int64
			if tc.chunked {
				length = -1
			}
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
				if tc.chunked {
					body = io.MultiReader(body) // hides the length from net/http
				}
			}
			code, raw := do(tc.method, tc.path, body, length)
			if code != tc.wantCode {
				t.Fatalf("= %d %.300s; want %d", code, raw, tc.wantCode)
			}
			var out map[string]any
			if err := json.Unmarshal([]byte(raw), &out); err != nil {
				t.Fatalf("answer is not JSON: %.300s", raw)
			}
			if code >= 400 {
				msg, _ := out["message"].(string)
				if msg == "" || !strings.Contains(msg, tc.wantInMessage) {
					t.Errorf("message %q; want it to name %q", msg, tc.wantInMessage)
				}
				if len(raw) > 4096 {
					t.Errorf("the error is %d bytes long; an error must not echo the oversized input", len(raw))
				}
			}
		})
	}
	// The stack still serves.
	if code, raw := do("GET", "/v1/clients", nil, 0); code != http.StatusOK {
		t.Errorf("after the bad requests GET /v1/clients = %d %s", code, raw)
	}
}
