package grpcapi

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/polku-hb/polku/platform/apierr"
	"github.com/polku-hb/polku/platform/pagination"
	"github.com/polku-hb/polku/services/assessment/internal/app"
	"github.com/polku-hb/polku/services/assessment/internal/assessment"
)

// toStatus turns a use-case error into a gRPC status. Only this function decides
// what a caller learns: messages name the rule, never personal data or internals.
func (s *Server) toStatus(ctx context.Context, resource string, err error) error {
	var vs assessment.Violations
	var te *assessment.TransitionError
	var inc *assessment.IncompleteError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &vs):
		out := make([]apierr.Violation, len(vs))
		for i, v := range vs {
			out[i] = apierr.Violation{Field: v.Field, Description: v.Rule}
		}
		return apierr.Invalid(out...)
	case errors.As(err, &te):
		return apierr.IllegalTransition(resource, te.From, te.Allowed)
	case errors.As(err, &inc):
		return apierr.New(codes.FailedPrecondition, "PLAN_INCOMPLETE", inc.Error(), nil)
	case errors.Is(err, pagination.ErrBadToken), errors.Is(err, pagination.ErrNegativeSize):
		field := "page_token"
		if errors.Is(err, pagination.ErrNegativeSize) {
			field = "page_size"
		}
		return apierr.Invalid(apierr.Violation{Field: field, Description: err.Error()})
	case errors.Is(err, app.ErrUnauthenticated):
		return status.Error(codes.Unauthenticated, "missing or invalid bearer token")
	case errors.Is(err, app.ErrPermission):
		return apierr.New(codes.PermissionDenied, "NOT_IN_CLIENT_TEAM",
			"the caller has no relationship to "+resource+" that allows this (team worker, region manager, or the client themself for reading)", nil)
	case errors.Is(err, assessment.ErrAboveAuthorityLimit):
		return apierr.New(codes.PermissionDenied, "ABOVE_AUTHORITY_LIMIT", err.Error(), nil)
	case errors.Is(err, assessment.ErrAgreementRequired):
		return apierr.New(codes.FailedPrecondition, "AGREEMENT_REQUIRED", err.Error(), nil)
	case errors.Is(err, assessment.ErrOpenRevision):
		return apierr.New(codes.FailedPrecondition, "OPEN_REVISION_EXISTS", err.Error(), nil)
	case errors.Is(err, assessment.ErrNoActiveRevision):
		return apierr.New(codes.FailedPrecondition, "NO_ACTIVE_REVISION", err.Error(), nil)
	case errors.Is(err, app.ErrExists):
		return apierr.New(codes.AlreadyExists, "ALREADY_EXISTS", resource+" already exists; instruments are immutable, create a new version under a new id", nil)
	case errors.Is(err, app.ErrNoMeasurements):
		return apierr.New(codes.FailedPrecondition, "NO_MEASUREMENTS", err.Error(), nil)
	case errors.Is(err, app.ErrNotFound):
		return apierr.NotFound(resource)
	case errors.Is(err, app.ErrStaleEtag):
		return apierr.StaleEtag(resource)
	case errors.Is(err, app.ErrBusy):
		return apierr.Conflict(resource)
	case errors.Is(err, app.ErrPeerUnavailable):
		return apierr.Unavailable("a peer service (clients or catalogue)")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	}
	s.log.ErrorContext(ctx, "request failed", "error", err.Error())
	return apierr.Unavailable("the assessment store")
}
