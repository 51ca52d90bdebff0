package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/telemetry"
)

type rejectAll struct{}

func (rejectAll) Verify(context.Context, string) (auth.Principal, error) {
	return auth.Principal{}, auth.ErrUnauthenticated
}

func newTestGateway(t *testing.T, origins ...string) http.Handler {
	t.Helper()
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: Name})
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]string{}
	for _, s := range Services() {
		targets[s] = "127.0.0.1:1" // never dialled: connections are lazy
	}
	g, err := New(context.Background(), Config{Targets: targets, CORSOrigins: origins, MaxBodyBytes: 1024}, rejectAll{}, tel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g.Handler()
}

func TestCORS(t *testing.T) {
	h := newTestGateway(t, "https://polku.example.fi")
	tests := []struct {
		origin    string
		wantAllow string
	}{
		{"https://polku.example.fi", "https://polku.example.fi"},
		{"https://evil.example.com", ""},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodOptions, "/v1/clients", nil)
		req.Header.Set("Origin", tt.origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-polku-purpose") // as browsers send it
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tt.wantAllow {
			t.Errorf("preflight from %s: Allow-Origin = %q; want %q", tt.origin, got, tt.wantAllow)
		}
		if rec.Code == http.StatusUnauthorized {
			t.Errorf("preflight from %s answered 401; preflights carry no token", tt.origin)
		}
	}
}

func TestAuthBeforeProxyAndPublicPaths(t *testing.T) {
	h := newTestGateway(t)
	tests := []struct {
		path string
		want int
	}{
		{"/v1/clients", http.StatusUnauthorized},
		{"/v1/referrals/r1", http.StatusUnauthorized},
		{"/healthz", http.StatusOK},
		{"/openapi.json", http.StatusOK},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
		if rec.Code != tt.want {
			t.Errorf("GET %s = %d; want %d", tt.path, rec.Code, tt.want)
		}
	}
}

func TestRouteOfHidesIDs(t *testing.T) {
	tests := []struct{ give, want string }{
		{"/v1/clients", "/v1/clients"},
		{"/v1/clients/abc", "/v1/clients/{id}"},
		{"/v1/clients/abc:close", "/v1/clients/{id}:close"},
		{"/v1/clients/abc/accessLogEntries", "/v1/clients/{id}/accessLogEntries"},
		{"/v1/providers/p1/offerings/o1", "/v1/providers/{id}/offerings/{id}"},
	}
	for _, tt := range tests {
		if got := routeOf(httptest.NewRequest(http.MethodGet, tt.give, nil)); got != tt.want {
			t.Errorf("routeOf(%q) = %q; want %q", tt.give, got, tt.want)
		}
	}
}

func TestHeaderMatcherForwardsPurpose(t *testing.T) {
	if got, ok := headerMatcher("X-Polku-Purpose"); !ok || got != "x-polku-purpose" {
		t.Errorf("headerMatcher(X-Polku-Purpose) = %q, %v; want x-polku-purpose", got, ok)
	}
	if _, ok := headerMatcher("X-Random"); ok {
		t.Error("headerMatcher forwards an arbitrary header")
	}
}
