package auth

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// TokenVerifier turns a raw bearer token into a Principal. *Verifier is one.
type TokenVerifier interface {
	Verify(ctx context.Context, rawToken string) (Principal, error)
}

// authorizationKey is the gRPC metadata key of the bearer token (grpc-gateway
// forwards the HTTP Authorization header under it).
const authorizationKey = "authorization"

// DefaultPublicMethods are the full-method prefixes that need no token: health
// checks (probes have no token), server reflection, and the catalogue's
// credential exchange (the client id and secret are its authentication).
var DefaultPublicMethods = []string{"/grpc.health.v1.Health/", "/grpc.reflection.", "/polku.catalogue.v1.CatalogueService/ExchangeProviderCredential"}

// Option configures the server interceptors.
type Option func(*options)

type options struct {
	public   []string
	onReject func(ctx context.Context, fullMethod string, err error)
}

// WithPublicMethods adds full-method prefixes (e.g. "/polku.info.v1.Info/" or
// one exact "/pkg.Svc/Method") that are served without a token.
func WithPublicMethods(prefixes ...string) Option {
	return func(o *options) { o.public = append(o.public, prefixes...) }
}

// WithOnReject calls fn for every call refused for want of a valid token,
// with the reason: ErrNoBearer for a missing or malformed authorization
// header, else the Verify error (which names the failed check and never holds
// the token, so it may be logged). The caller still gets only a generic
// UNAUTHENTICATED.
func WithOnReject(fn func(ctx context.Context, fullMethod string, err error)) Option {
	return func(o *options) { o.onReject = fn }
}

// ErrNoBearer is the WithOnReject reason for a call without exactly one
// "Bearer <token>" authorization value. It wraps ErrUnauthenticated.
var ErrNoBearer = fmt.Errorf("%w: no bearer token in authorization", ErrUnauthenticated)

func newOptions(opts []Option) *options {
	o := &options{public: append([]string(nil), DefaultPublicMethods...)}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

func (o *options) isPublic(fullMethod string) bool {
	for _, p := range o.public {
		if p != "" && strings.HasPrefix(fullMethod, p) {
			return true
		}
	}
	return false
}

// bearerToken returns the token of one "Bearer <token>" value; the scheme is
// case-insensitive. Several values are refused as ambiguous.
func bearerToken(values []string) (string, bool) {
	if len(values) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}

// authenticate verifies the incoming token and returns ctx with the Principal.
func (o *options) authenticate(ctx context.Context, v TokenVerifier, fullMethod string) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	token, ok := bearerToken(md.Get(authorizationKey))
	var p Principal
	err := ErrNoBearer
	if ok {
		p, err = v.Verify(ctx, token)
	}
	if err != nil {
		if o.onReject != nil {
			o.onReject(ctx, fullMethod, err)
		}
		return nil, Unauthenticated()
	}
	return NewContext(ctx, p), nil
}

// UnaryServerInterceptor verifies the bearer token of every call except public
// methods, puts the Principal in the handler's ctx, and answers
// UNAUTHENTICATED (without saying why) when the token is missing or invalid.
func UnaryServerInterceptor(v TokenVerifier, opts ...Option) grpc.UnaryServerInterceptor {
	o := newOptions(opts)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if o.isPublic(info.FullMethod) {
			return handler(ctx, req)
		}
		ctx, err := o.authenticate(ctx, v, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streaming calls (and
// for calls to an unknown-service handler).
func StreamServerInterceptor(v TokenVerifier, opts ...Option) grpc.StreamServerInterceptor {
	o := newOptions(opts)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if o.isPublic(info.FullMethod) {
			return handler(srv, ss)
		}
		ctx, err := o.authenticate(ss.Context(), v, info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &principalStream{ServerStream: ss, ctx: ctx})
	}
}

type principalStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *principalStream) Context() context.Context { return s.ctx }

// propagate copies the caller's authorization from the incoming metadata of a
// server ctx to the outgoing metadata, unless the outgoing call already has one
// (a service calling with its own SERVICE token).
func propagate(ctx context.Context) context.Context {
	if out, ok := metadata.FromOutgoingContext(ctx); ok && len(out.Get(authorizationKey)) > 0 {
		return ctx
	}
	in, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ctx
	}
	if vals := in.Get(authorizationKey); len(vals) == 1 {
		return metadata.AppendToOutgoingContext(ctx, authorizationKey, vals[0])
	}
	return ctx
}

// UnaryClientInterceptor forwards the user's bearer token from the incoming
// call to the outgoing one, so the next service verifies the same token again
// (zero trust: no service trusts another's word for who the user is).
func UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(propagate(ctx), method, req, reply, cc, opts...)
	}
}

// StreamClientInterceptor is UnaryClientInterceptor for streaming calls.
func StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return streamer(propagate(ctx), desc, cc, method, opts...)
	}
}
