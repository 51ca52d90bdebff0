package auth

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHTTPMiddleware(t *testing.T) {
	d, v := devSetup(t)
	tok, _ := d.Issue(Principal{Subject: "u-5", Role: RoleWorker, Region: "pirkanmaa"}, "", "", time.Minute)
	wrongAud, _ := d.Issue(Principal{Subject: "u-5", Role: RoleWorker}, "", "someone-else", time.Minute)

	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := FromContext(r.Context())
		if !ok {
			_, _ = io.WriteString(w, "anonymous")
			return
		}
		if r.Header.Get("Authorization") == "" {
			t.Error("Authorization header was not kept for the gateway to forward")
		}
		_, _ = io.WriteString(w, p.Subject+"/"+string(p.Role))
	})
	public := func(r *http.Request) bool { return r.URL.Path == "/healthz" }
	h := HTTPMiddleware(v, public)(next)
	const body401 = `{"code":16,"message":"missing or invalid bearer token","details":[]}`

	tests := []struct {
		name     string
		path     string
		auth     []string
		wantCode int
		wantBody string
	}{
		{"valid token", "/v1/clients", []string{"Bearer " + tok}, 200, "u-5/WORKER"},
		{"lower-case scheme", "/v1/clients", []string{"bearer " + tok}, 200, "u-5/WORKER"},
		{"public path", "/healthz", nil, 200, "anonymous"},
		{"missing", "/v1/clients", nil, 401, body401},
		{"wrong audience", "/v1/clients", []string{"Bearer " + wrongAud}, 401, body401},
		{"garbage", "/v1/clients", []string{"Bearer x.y.z"}, 401, body401},
		{"empty bearer", "/v1/clients", []string{"Bearer "}, 401, body401},
		{"basic", "/v1/clients", []string{"Basic dXNlcjpwYXNz"}, 401, body401},
		{"two headers", "/v1/clients", []string{"Bearer " + tok, "Bearer " + tok}, 401, body401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tt.path, nil)
			for _, a := range tt.auth {
				r.Header.Add("Authorization", a)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.wantCode || w.Body.String() != tt.wantBody {
				t.Fatalf("got %d %q, want %d %q", w.Code, w.Body.String(), tt.wantCode, tt.wantBody)
			}
			if tt.wantCode == 401 {
				if got := w.Header().Get("WWW-Authenticate"); got != "Bearer" {
					t.Fatalf("WWW-Authenticate = %q", got)
				}
				if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Fatalf("Content-Type = %q", ct)
				}
			}
		})
	}

	// A nil public func protects everything.
	w := httptest.NewRecorder()
	HTTPMiddleware(v, nil)(next).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if w.Code != 401 {
		t.Fatalf("nil public: %d", w.Code)
	}
}
