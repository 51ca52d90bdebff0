package grpcapi

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/polku-hb/polku/platform/apierr"
	"github.com/polku-hb/polku/platform/pagination"
	"github.com/polku-hb/polku/services/clients/internal/app"
	"github.com/polku-hb/polku/services/clients/internal/client"
)

// toStatus turns a use-case error into a gRPC status. Only this function decides
// what a caller learns: messages name the rule, never personal data or internals.
func (s *Server) toStatus(ctx context.Context, resource string, err error) error {
	var vs client.Violations
	switch {
	case err == nil:
		return nil
	case errors.As(err, &vs):
		out := make([]apierr.Violation, len(vs))
		for i, v := range vs {
			out[i] = apierr.Violation{Field: v.Field, Description: v.Rule}
		}
		return apierr.Invalid(out...)
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
			"the caller has no relationship to "+resource+" that allows this (team member, region manager, or the client themself)", nil)
	case errors.Is(err, app.ErrNotFound):
		return apierr.NotFound(resource)
	case errors.Is(err, client.ErrTeamMemberNotFound), errors.Is(err, client.ErrConsentNotFound):
		return apierr.NotFound(resource)
	case errors.Is(err, app.ErrStaleEtag):
		return apierr.StaleEtag(resource)
	case errors.Is(err, app.ErrBusy):
		return apierr.Conflict(resource)
	case errors.Is(err, app.ErrDuplicate):
		return apierr.New(codes.AlreadyExists, "DUPLICATE_IDENTITY_CODE",
			"a client with this personal identity code is already registered; search for the existing client", nil)
	case errors.Is(err, client.ErrClosed):
		return apierr.IllegalTransition(resource, "CLOSED", nil)
	case errors.Is(err, client.ErrAlreadyWithdrawn):
		return apierr.IllegalTransition(resource, "WITHDRAWN", nil)
	case errors.Is(err, client.ErrRemoveCoordinator), errors.Is(err, client.ErrSameWorker):
		return apierr.New(codes.FailedPrecondition, "COORDINATOR_RULE", err.Error(), nil)
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	}
	// Anything else is a failure of ours (most likely the store): log the cause
	// for operators, tell the caller only that it may retry.
	s.log.ErrorContext(ctx, "request failed", "resource_kind", "client", "error", err.Error())
	return apierr.Unavailable("the client register")
}
