// Package auth is how Polku knows who calls and what they may do.
//
// # Zero trust
//
// Every hop verifies. The REST gateway checks the bearer token with
// HTTPMiddleware before it proxies a request, and every gRPC service checks it
// again with UnaryServerInterceptor and StreamServerInterceptor; no service
// takes another's word for who the user is. When a service calls another on a
// user's behalf, UnaryClientInterceptor and StreamClientInterceptor forward the
// user's own token, which the next service verifies in turn. A service acting
// on its own behalf (a background worker) calls with its own SERVICE token
// instead, which the client interceptors leave alone.
//
// Verification fixes the caller (a Principal in the request context) and the
// coarse rule of which roles may call a method (Require). The fine rules, such
// as whether this worker's region holds this client or this provider has an
// order for them, are relationship checks that the owning service makes on its
// own data and answers with Deny. Both give gRPC status errors with a
// google.rpc.ErrorInfo (domain "polku.fi", an UPPER_SNAKE reason) and messages
// that name the rule, never personal data. Clients get "missing or invalid
// bearer token" for any authentication failure; the precise reason
// (expired, wrong audience, ...) is in the error Verify returns, which never
// contains the token and is safe to log.
//
// Health checks ("/grpc.health.v1.Health/") and server reflection
// ("/grpc.reflection.") need no token; WithPublicMethods adds more.
//
// # Tokens
//
// Tokens are JWTs signed with RS256 or ES256; anything else ("none", HS256 and
// the other HMACs, RS384, PS256, ...) is refused, so a verification key can
// never be used as an HMAC secret to forge a token. The claims are:
//
//	sub          opaque user id (never a personal identity code or a name); required
//	iss, aud     must match Config.Issuer and Config.Audience
//	exp          required; exp, nbf and iat are checked with 30 s leeway
//	role         WORKER, MANAGER, PROVIDER, CLIENT, ASSISTANT, OPERATOR or SERVICE; required
//	region, unit the welfare region and unit of workers and managers
//	provider_id  the provider a PROVIDER acts for; required for PROVIDER
//	polku_client_id    the client a CLIENT is; required for CLIENT
//	clients      array of the clients that delegated to an ASSISTANT; at least one
//
// A binding claim counts only with its own role: provider_id is read only from
// PROVIDER tokens, polku_client_id only from CLIENT tokens and clients only from
// ASSISTANT tokens.
//
// # Keys: development and production
//
// In production the identity provider signs tokens and publishes its keys as a
// JWK Set: Config.JWKSURL. The Verifier fetches it when built (a service that
// cannot fetch its keys fails to start), refreshes it in the background until
// the context given to NewVerifier ends, and refetches it, rate limited, when a
// token names a key id it does not know, so the provider can rotate keys.
//
// In development there is no identity provider. LoadOrCreateDevKey keeps an
// ECDSA P-256 key in <dir>/dev-signing-key.pem (created once, mode 0600, and
// reused), DevIssuer.Issue signs tokens with it, and services verify them with
// Config{Issuer: DevIssuerName, Audience: DevAudience, PublicKeyPEM:
// issuer.PublicKeyPEM()}. Only the public key goes into service
// configuration; the private key never leaves the developer's machine and is
// never used in production.
package auth
