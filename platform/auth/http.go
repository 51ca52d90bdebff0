package auth

import (
	"net/http"
)

// unauthorizedBody is the JSON a grpc-gateway client gets for any other
// UNAUTHENTICATED error too, so clients handle one shape.
const unauthorizedBody = `{"code":16,"message":"missing or invalid bearer token","details":[]}`

// HTTPMiddleware verifies the "Authorization: Bearer <token>" header before
// the REST gateway proxies a request, and puts the Principal in the request's
// ctx. Requests for which public returns true (health, docs) pass without a
// token; public may be nil. A missing or invalid token is answered 401 with
// WWW-Authenticate: Bearer and a google.rpc.Status JSON body. The header is
// left in place: the gateway forwards it and the service verifies it again.
func HTTPMiddleware(v TokenVerifier, public func(*http.Request) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if public != nil && public(r) {
				next.ServeHTTP(w, r)
				return
			}
			token, ok := bearerToken(r.Header.Values("Authorization"))
			if !ok {
				unauthorized(w)
				return
			}
			p, err := v.Verify(r.Context(), token)
			if err != nil {
				unauthorized(w)
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), p)))
		})
	}
}

func unauthorized(w http.ResponseWriter) {
	h := w.Header()
	h.Set("WWW-Authenticate", "Bearer")
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(unauthorizedBody))
}
