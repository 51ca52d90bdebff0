package auth

import (
	"context"
	"regexp"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of the errors this package
// returns (the same as every other Polku error).
const ErrorDomain = "polku.fi"

// ErrorInfo reasons used by this package.
const (
	ReasonUnauthenticated  = "UNAUTHENTICATED"
	ReasonPermissionDenied = "PERMISSION_DENIED"
)

// Client-facing messages: short, naming the rule, never personal data or why a
// token failed in detail.
const (
	msgUnauthenticated = "missing or invalid bearer token"
	msgDenied          = "the caller is not permitted to do this"
)

var upperSnake = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)

func statusError(code codes.Code, reason, msg string, metadata map[string]string) error {
	st := status.New(code, msg)
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain, Metadata: metadata}); err == nil {
		st = d
	}
	return st.Err()
}

// Unauthenticated is the UNAUTHENTICATED status the interceptors answer with.
func Unauthenticated() error {
	return statusError(codes.Unauthenticated, ReasonUnauthenticated, msgUnauthenticated, nil)
}

// Require returns the caller if it has one of the roles (any authenticated
// caller when no role is given). With no principal in ctx it is
// UNAUTHENTICATED; with another role PERMISSION_DENIED naming the allowed roles.
func Require(ctx context.Context, roles ...Role) (Principal, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return Principal{}, Unauthenticated()
	}
	if len(roles) == 0 || p.Is(roles...) {
		return p, nil
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	allowed := strings.Join(names, ", ")
	return Principal{}, statusError(codes.PermissionDenied, ReasonPermissionDenied,
		"this operation requires role "+allowed,
		map[string]string{"required_roles": allowed, "role": string(p.Role)})
}

// Deny is the PERMISSION_DENIED answer of a relationship check a service makes
// (the worker is not in the client's region, the provider has no order for
// this client, ...). reason is an UPPER_SNAKE ErrorInfo reason naming the rule,
// e.g. "NOT_CLIENTS_REGION"; anything else becomes "PERMISSION_DENIED". The
// message is generic: the reason carries the rule, nothing carries data.
func Deny(reason string) error {
	if !upperSnake.MatchString(reason) {
		reason = ReasonPermissionDenied
	}
	return statusError(codes.PermissionDenied, reason, msgDenied, nil)
}
