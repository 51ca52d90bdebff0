package dev

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/polku-hb/polku/platform/auth"
)

// The provider-credential path end to end over real HTTP: an operator issues a
// credential; the provider's system exchanges it at the gateway's
// /oauth2/token (Basic and form client authentication) for a PROVIDER token;
// with it the system changes its own offering over REST but not another
// provider's; the JWKS names the token's key; after revocation the exchange is
// refused; repeated failures are rate limited.
func TestProviderCredentialExchange(t *testing.T) {
	s, _, logs := startStack(t)
	ctx := context.Background()
	demo, err := SeedDemo(ctx, s)
	if err != nil {
		t.Fatalf("SeedDemo: %v", err)
	}
	coach, museum := demo.Providers["neurocoach"], demo.Providers["museum"]
	opTok, err := s.Token(auth.Principal{Subject: Olli, Role: auth.RoleOperator}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path, token string, body any) (int, map[string]any) {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = strings.NewReader(string(b))
		}
		req, _ := http.NewRequest(method, s.GatewayURL+path, r)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	exchange := func(form url.Values, basicID, basicSecret string) (*http.Response, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.GatewayURL+"/oauth2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basicID != "" {
			req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp, out
	}

	code, cred := call(http.MethodPost, "/v1/providers/"+coach+"/credentials", opTok, map[string]any{"display_name": "Booking system"})
	if code != http.StatusOK || cred["client_secret"] == nil {
		t.Fatalf("CreateProviderCredential = %d %v", code, cred)
	}
	clientID, secret := cred["client_id"].(string), cred["client_secret"].(string)

	grant := url.Values{"grant_type": {"client_credentials"}}
	resp, tok := exchange(grant, clientID, secret)
	if resp.StatusCode != http.StatusOK || tok["token_type"] != "Bearer" || tok["expires_in"] != float64(ProviderTokenTTL/time.Second) {
		t.Fatalf("exchange (Basic) = %d %v", resp.StatusCode, tok)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("token response Cache-Control = %q; want no-store", resp.Header.Get("Cache-Control"))
	}
	access := tok["access_token"].(string)
	parts := strings.Split(access, ".")
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var h, claims map[string]any
	_ = json.Unmarshal(header, &h)
	_ = json.Unmarshal(payload, &claims)
	if claims["role"] != "PROVIDER" || claims["provider_id"] != coach || claims["exp"].(float64)-claims["iat"].(float64) != ProviderTokenTTL.Seconds() {
		t.Errorf("token claims = %v; want role PROVIDER, provider_id %s, 15 min", claims, coach)
	}
	code, jwks := call(http.MethodGet, "/.well-known/jwks.json", "", nil)
	if keys, _ := jwks["keys"].([]any); code != http.StatusOK || len(keys) != 1 || keys[0].(map[string]any)["kid"] != h["kid"] {
		t.Errorf("JWKS = %d %v; want the one key with kid %v", code, jwks, h["kid"])
	}
	// Form client authentication works too.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}}
	if resp, out := exchange(form, "", ""); resp.StatusCode != http.StatusOK || out["access_token"] == "" {
		t.Errorf("exchange (form) = %d %v", resp.StatusCode, out)
	}

	// The token edits the coach's own offering...
	code, list := call(http.MethodGet, "/v1/providers/"+coach+"/offerings", access, nil)
	offs, _ := list["offerings"].([]any)
	if code != http.StatusOK || len(offs) == 0 {
		t.Fatalf("ListOfferings (own) = %d %v", code, list)
	}
	_, own := call(http.MethodGet, "/v1/"+offs[0].(map[string]any)["name"].(string), access, nil)
	code, out := call(http.MethodPatch, "/v1/"+own["name"].(string)+"?update_mask=capacity", access,
		map[string]any{"capacity": "CAPACITY_WAITLIST", "etag": own["etag"]})
	if code != http.StatusOK || out["capacity"] != "CAPACITY_WAITLIST" {
		t.Errorf("UpdateOffering (own) = %d %v", code, out)
	}
	// ...but not another provider's.
	_, list = call(http.MethodGet, "/v1/providers/"+museum+"/offerings", access, nil)
	_, other := call(http.MethodGet, "/v1/"+list["offerings"].([]any)[0].(map[string]any)["name"].(string), opTok, nil)
	code, out = call(http.MethodPatch, "/v1/"+other["name"].(string)+"?update_mask=capacity", access,
		map[string]any{"capacity": "CAPACITY_NO", "etag": other["etag"]})
	if code != http.StatusForbidden {
		t.Errorf("UpdateOffering (another provider's) = %d %v; want 403", code, out)
	}

	// Errors as RFC 6749 §5.2.
	if resp, out := exchange(grant, clientID, "wrong"); resp.StatusCode != http.StatusUnauthorized || out["error"] != "invalid_client" || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("wrong secret = %d %v", resp.StatusCode, out)
	}
	if resp, out := exchange(url.Values{"grant_type": {"password"}}, clientID, secret); resp.StatusCode != http.StatusBadRequest || out["error"] != "unsupported_grant_type" {
		t.Errorf("password grant = %d %v", resp.StatusCode, out)
	}
	if resp, out := exchange(form, clientID, secret); resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_request" {
		t.Errorf("two client authentication methods = %d %v", resp.StatusCode, out)
	}

	// Revoked: no new tokens.
	code, out = call(http.MethodPost, "/v1/"+cred["name"].(string)+":revoke", opTok, map[string]any{"reason": "system replaced"})
	if code != http.StatusOK || out["state"] != "REVOKED" {
		t.Fatalf("RevokeProviderCredential = %d %v", code, out)
	}
	if resp, out := exchange(grant, clientID, secret); resp.StatusCode != http.StatusUnauthorized || out["error"] != "invalid_client" {
		t.Errorf("exchange after revoke = %d %v; want 401 invalid_client", resp.StatusCode, out)
	}
	// The secret never reaches the logs; the refusals do.
	if l := logs.String(); strings.Contains(l, secret) || !strings.Contains(l, "credential exchange refused") {
		t.Errorf("logs: secret present = %v, refusal logged = %v", strings.Contains(l, secret), strings.Contains(l, "credential exchange refused"))
	}
	// Failures are limited per remote address: the 11th within a minute is 429.
	limited := false
	for range 12 {
		if resp, _ := exchange(grant, clientID, "wrong"); resp.StatusCode == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Error("repeated failed exchanges were never rate limited")
	}
}
