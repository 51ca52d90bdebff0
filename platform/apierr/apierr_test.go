package apierr

import (
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestErrorsCarryCodeAndReason(t *testing.T) {
	tests := []struct {
		name       string
		give       error
		wantCode   codes.Code
		wantReason string
	}{
		{"invalid", Invalid(Violation{"a", "required"}), codes.InvalidArgument, "INVALID_ARGUMENT"},
		{"not found", NotFound("clients/x"), codes.NotFound, "NOT_FOUND"},
		{"stale etag", StaleEtag("clients/x"), codes.Aborted, "ETAG_MISMATCH"},
		{"transition", IllegalTransition("clients/x", "CLOSED", nil), codes.FailedPrecondition, "ILLEGAL_TRANSITION"},
		{"internal", Internal(), codes.Internal, "INTERNAL"},
	}
	for _, tt := range tests {
		if got := status.Code(tt.give); got != tt.wantCode {
			t.Errorf("%s: code = %v; want %v", tt.name, got, tt.wantCode)
		}
		if got := Reason(tt.give); got != tt.wantReason {
			t.Errorf("%s: reason = %q; want %q", tt.name, got, tt.wantReason)
		}
	}
}

func TestViolationsListEveryField(t *testing.T) {
	var v Violations
	if v.Err() != nil {
		t.Fatal("empty Violations.Err() != nil")
	}
	v.Add("client.given_name", "is required")
	v.Add("client.personal_identity_code", "check character does not match")
	err := v.Err()
	want := []string{"client.given_name", "client.personal_identity_code"}
	if got := FieldViolations(err); !slices.Equal(got, want) {
		t.Errorf("FieldViolations = %v; want %v", got, want)
	}
}

func TestIllegalTransitionNamesAllowedStates(t *testing.T) {
	err := IllegalTransition("referrals/r", "SENT", []string{"RECEIVED", "CANCELLED"})
	if got := status.Convert(err).Message(); got != "referrals/r is SENT; allowed next states: RECEIVED, CANCELLED" {
		t.Errorf("message = %q", got)
	}
}
