// Package apierr builds the gRPC status errors Polku services return: a canonical
// code, an actionable message that names the field and the rule (never personal
// data or internals), an ErrorInfo detail with an UPPER_SNAKE reason, and for bad
// input a BadRequest detail listing every field violation. The gateway turns these
// into HTTP errors with the details in the JSON body.
package apierr

import (
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Domain is the ErrorInfo domain of every Polku error.
const Domain = "polku.fi"

// Violation is one problem with one request field.
type Violation struct {
	// Field is the path of the field, e.g. "client.personal_identity_code".
	Field string
	// Description says which rule failed, e.g. "check character does not match".
	Description string
}

// Violations collects field problems while a request is validated.
type Violations []Violation

// Add records a violation.
func (v *Violations) Add(field, description string) {
	*v = append(*v, Violation{Field: field, Description: description})
}

// Err returns nil when nothing was recorded, else an INVALID_ARGUMENT error.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return Invalid(v...)
}

// Invalid is INVALID_ARGUMENT with a BadRequest detail for every violation.
func Invalid(vs ...Violation) error {
	parts := make([]string, 0, len(vs))
	br := &errdetails.BadRequest{}
	for _, v := range vs {
		parts = append(parts, v.Field+": "+v.Description)
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field: v.Field, Description: v.Description,
		})
	}
	return with(codes.InvalidArgument, "INVALID_ARGUMENT", "invalid request: "+strings.Join(parts, "; "), nil, br)
}

// New is an error with a code, an UPPER_SNAKE reason, a message and optional
// metadata (ids and numbers only, never personal data).
func New(code codes.Code, reason, message string, metadata map[string]string) error {
	return with(code, reason, message, metadata)
}

// NotFound says a resource does not exist (or is not visible to the caller: a
// caller without access gets the same answer, so existence is not leaked).
func NotFound(resource string) error {
	return with(codes.NotFound, "NOT_FOUND", resource+" was not found", map[string]string{"resource": resource})
}

// StaleEtag is the ABORTED answer to an update carrying an old etag.
func StaleEtag(resource string) error {
	return with(codes.Aborted, "ETAG_MISMATCH", "etag does not match the current version of "+resource+"; read it again and retry", map[string]string{"resource": resource})
}

// Conflict is the ABORTED answer when a concurrent write won; the caller retries.
func Conflict(resource string) error {
	return with(codes.Aborted, "CONCURRENT_MODIFICATION", resource+" was changed concurrently; retry", map[string]string{"resource": resource})
}

// IllegalTransition is FAILED_PRECONDITION naming the allowed next states.
func IllegalTransition(resource, from string, allowed []string) error {
	msg := resource + " is " + from + "; allowed next states: " + strings.Join(allowed, ", ")
	if len(allowed) == 0 {
		msg = resource + " is " + from + "; it allows no further change"
	}
	return with(codes.FailedPrecondition, "ILLEGAL_TRANSITION", msg, map[string]string{"state": from, "allowed": strings.Join(allowed, ",")})
}

// Internal hides the cause: the caller learns only that it failed and may retry.
func Internal() error {
	return with(codes.Internal, "INTERNAL", "internal error; the request may be retried", nil)
}

// Unavailable says a dependency (the store, a peer service) does not answer.
func Unavailable(what string) error {
	return with(codes.Unavailable, "UNAVAILABLE", what+" is unavailable; retry later", nil)
}

func with(code codes.Code, reason, message string, metadata map[string]string, extra ...*errdetails.BadRequest) error {
	st := status.New(code, message)
	info := &errdetails.ErrorInfo{Reason: reason, Domain: Domain, Metadata: metadata}
	var err error
	if len(extra) > 0 {
		st, err = st.WithDetails(info, extra[0])
	} else {
		st, err = st.WithDetails(info)
	}
	if err != nil {
		return status.Error(code, message)
	}
	return st.Err()
}

// Reason returns the ErrorInfo reason of a status error ("" when it has none).
func Reason(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return ""
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// FieldViolations returns the BadRequest field paths of a status error.
func FieldViolations(err error) []string {
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}
