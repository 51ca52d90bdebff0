// Package peer is how a Polku service calls another: every call gets a deadline,
// carries the caller's bearer token on (the peer verifies the same user again:
// zero trust) and the stated purpose of the access (the clients service writes it
// to the client's access log).
package peer

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/polku-hb/polku/platform/auth"
)

// Timeout bounds every peer call.
const Timeout = 5 * time.Second

// PurposeKey is the metadata key of the access purpose.
const PurposeKey = "x-polku-purpose"

var forward = auth.UnaryClientInterceptor()

// Call runs one unary call with the Timeout deadline, the caller's token
// forwarded and the caller's purpose passed on. Forwarding goes through the
// platform interceptor, so a connection dialled with it too forwards once.
func Call[Req, Resp any](ctx context.Context, fn func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, error) {
	ctx, cancel := context.WithTimeout(ForwardPurpose(ctx), Timeout)
	defer cancel()
	var resp Resp
	var err error
	_ = forward(ctx, "", nil, nil, nil, func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
		resp, err = fn(ctx, req)
		return err
	})
	return resp, err
}

// ForwardPurpose copies the incoming access purpose to the outgoing metadata
// (once: an outgoing purpose already set is kept).
func ForwardPurpose(ctx context.Context) context.Context {
	if out, ok := metadata.FromOutgoingContext(ctx); ok && len(out.Get(PurposeKey)) > 0 {
		return ctx
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get(PurposeKey)) == 1 {
		return metadata.AppendToOutgoingContext(ctx, PurposeKey, md.Get(PurposeKey)[0])
	}
	return ctx
}
