package edge

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
)

func TestCallerSendsTokenLanguagePurposeAndDecodes(t *testing.T) {
	var got http.Header
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		if r.URL.Path == "/v1/referrals/r1:accept" {
			_, _ = io.WriteString(w, `{"name":"referrals/r1","state":"ACCEPTED","status_summary":"ok","unknown_field":1}`)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"code":3,"message":"invalid request: note: is required","details":[
			{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"INVALID_ARGUMENT","domain":"polku.fi"},
			{"@type":"type.googleapis.com/google.rpc.BadRequest","field_violations":[{"field":"note","description":"is required"}]}]}`)
	}))
	defer srv.Close()
	c := New(srv.URL, nil).As("tok", "sv", "case work")

	var r referralv1.Referral
	if err := c.Post(context.Background(), "referrals/r1:accept", nil, map[string]any{"request_id": "x"}, &r); err != nil {
		t.Fatal(err)
	}
	if r.GetState() != referralv1.Referral_ACCEPTED || r.GetStatusSummary() != "ok" {
		t.Errorf("decoded %v", &r)
	}
	if got.Get("Authorization") != "Bearer tok" || got.Get("Accept-Language") != "sv" || got.Get("X-Polku-Purpose") != "case work" {
		t.Errorf("headers %v", got)
	}
	if gotBody != `{"request_id":"x"}` {
		t.Errorf("body %s", gotBody)
	}

	err := c.Post(context.Background(), "referrals/r2:decline", nil, map[string]any{}, nil)
	var e *Error
	if !errors.As(err, &e) || e.Status != 400 || e.Reason != "INVALID_ARGUMENT" || len(e.Violations) != 1 || e.Violations[0] != "note: is required" {
		t.Errorf("error = %#v", err)
	}
}
