package grpcapi

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/polku-hb/polku/platform/apierr"
	"github.com/polku-hb/polku/platform/pagination"
	"github.com/polku-hb/polku/services/catalogue/internal/app"
	"github.com/polku-hb/polku/services/catalogue/internal/catalogue"
)

// toStatus turns a use-case error into a gRPC status. Only this function decides
// what a caller learns: messages name the rule, never internals.
func (s *Server) toStatus(ctx context.Context, resource string, err error) error {
	var vs catalogue.Violations
	var te *catalogue.TransitionError
	if _, ok := status.FromError(err); ok && err != nil {
		return err // already a status (name parsing)
	}
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
	case errors.Is(err, pagination.ErrBadToken), errors.Is(err, pagination.ErrNegativeSize):
		field := "page_token"
		if errors.Is(err, pagination.ErrNegativeSize) {
			field = "page_size"
		}
		return apierr.Invalid(apierr.Violation{Field: field, Description: err.Error()})
	case errors.Is(err, app.ErrBadCredential):
		return apierr.New(codes.Unauthenticated, "INVALID_CLIENT", "invalid client credentials", nil)
	case errors.Is(err, app.ErrTokensOff):
		return apierr.New(codes.FailedPrecondition, "EXCHANGE_NOT_CONFIGURED", "the credential exchange is not configured in this deployment", nil)
	case errors.Is(err, app.ErrUnauthenticated):
		return status.Error(codes.Unauthenticated, "missing or invalid bearer token")
	case errors.Is(err, app.ErrPermission):
		return apierr.New(codes.PermissionDenied, "NOT_ALLOWED",
			"the caller may not do this with "+resource+" (providers act only for their own provider; moderation is for operators)", nil)
	case errors.Is(err, app.ErrNotFound):
		return apierr.NotFound(resource)
	case errors.Is(err, app.ErrStaleEtag):
		return apierr.StaleEtag(resource)
	case errors.Is(err, app.ErrBusy):
		return apierr.Conflict(resource)
	case errors.Is(err, app.ErrProviderState):
		return apierr.New(codes.FailedPrecondition, "PROVIDER_NOT_ACTIVE", "the provider of "+resource+" is not in a state that allows this", nil)
	case errors.Is(err, catalogue.ErrNotDeletable):
		return apierr.New(codes.FailedPrecondition, "NOT_DELETABLE", err.Error()+"; withdraw a published offering instead", nil)
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	}
	s.log.ErrorContext(ctx, "request failed", "resource_kind", "catalogue", "error", err.Error())
	return apierr.Unavailable("the provider catalogue")
}
