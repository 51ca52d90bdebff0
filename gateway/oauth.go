package gateway

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
)

// The OAuth 2.0 token endpoint (RFC 6749 §4.4, client-credentials grant) for
// providers' own systems: client authentication by HTTP Basic or form fields
// (§2.3.1), answered by the catalogue's ExchangeProviderCredential; errors as
// §5.2 JSON. Failed attempts are limited per remote address.

// Failed exchanges allowed per remote address in one window, and the window.
const (
	maxFailedExchanges = 10
	failureWindow      = time.Minute
)

// failures counts refused exchanges per remote address in fixed windows.
type failures struct {
	mu     sync.Mutex
	start  time.Time
	counts map[string]int
}

// blocked reports whether addr used up its failures in the current window.
func (f *failures) blocked(addr string, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.Sub(f.start) >= failureWindow {
		f.start, f.counts = now, map[string]int{}
	}
	return f.counts[addr] >= maxFailedExchanges
}

func (f *failures) add(addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.counts == nil {
		f.counts = map[string]int{}
	}
	f.counts[addr]++
}

func oauthError(w http.ResponseWriter, code int, errCode, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, code, map[string]string{"error": errCode, "error_description": desc})
}

func (g *Gateway) token(w http.ResponseWriter, r *http.Request) {
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	if g.failed.blocked(addr, time.Now()) {
		w.Header().Set("Retry-After", strconv.Itoa(int(failureWindow/time.Second)))
		oauthError(w, http.StatusTooManyRequests, "invalid_request", "too many failed attempts; retry later")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		return
	}
	form := r.PostForm
	switch form.Get("grant_type") {
	case "client_credentials":
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
		return
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		// §2.3.1: both are form-urlencoded before Basic encoding.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil || form.Has("client_id") || form.Has("client_secret") {
			oauthError(w, http.StatusBadRequest, "invalid_request", "use exactly one client authentication method")
			return
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if id == "" || secret == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "client_id and client_secret are required")
		return
	}
	resp, err := cataloguev1.NewCatalogueServiceClient(g.conns["catalogue"]).ExchangeProviderCredential(r.Context(),
		&cataloguev1.ExchangeProviderCredentialRequest{ClientId: id, ClientSecret: secret})
	switch status.Code(err) {
	case codes.OK:
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		writeJSON(w, http.StatusOK, map[string]any{"access_token": resp.GetAccessToken(), "token_type": "Bearer", "expires_in": resp.GetExpiresIn()})
	case codes.Unauthenticated, codes.InvalidArgument:
		g.failed.add(addr)
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="polku"`)
		}
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
	case codes.FailedPrecondition:
		oauthError(w, http.StatusBadRequest, "unauthorized_client", "the credential exchange is not configured")
	default:
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "retry later")
	}
}
