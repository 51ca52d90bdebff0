package grpcapi

import (
	"context"
	"errors"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/polku-hb/polku/platform/apierr"
	"github.com/polku-hb/polku/platform/pagination"
	"github.com/polku-hb/polku/services/budget/internal/app"
	"github.com/polku-hb/polku/services/budget/internal/ledger"
)

// toStatus turns a use-case error into a gRPC status. Only this function decides
// what a caller learns: messages name the rule, never personal data or internals.
func (s *Server) toStatus(ctx context.Context, resource string, err error) error {
	var vs ledger.Violations
	var te *ledger.TransitionError
	var inf *ledger.InsufficientFunds
	var ref *ledger.ClaimRefused
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
		return apierr.IllegalTransition(resource, string(te.From), te.Allowed)
	case errors.As(err, &inf):
		return apierr.New(codes.FailedPrecondition, "INSUFFICIENT_FUNDS",
			"the amount is above what is available ("+strconv.FormatInt(inf.Available, 10)+" cents on line "+inf.LineID+"); nothing was written",
			map[string]string{"line_id": inf.LineID, "available_cents": strconv.FormatInt(inf.Available, 10)})
	case errors.As(err, &ref):
		code := codes.FailedPrecondition
		switch ref.Reason {
		case ledger.UnknownReferral:
			code = codes.NotFound
		case ledger.DuplicateInvoice:
			code = codes.AlreadyExists
		case ledger.InvalidRow:
			code = codes.InvalidArgument
		}
		return apierr.New(code, string(ref.Reason), ref.Message, nil)
	case errors.Is(err, ledger.ErrBadFile):
		return apierr.Invalid(apierr.Violation{Field: "csv_data", Description: err.Error()})
	case errors.Is(err, ledger.ErrUnmatchedOpen):
		return apierr.New(codes.FailedPrecondition, "UNMATCHED_OPEN_COMMITMENTS", err.Error(), nil)
	case errors.Is(err, app.ErrNotDraft):
		return apierr.New(codes.FailedPrecondition, "BUDGET_NOT_DRAFT", err.Error(), nil)
	case errors.Is(err, app.ErrRevisionPending):
		return apierr.New(codes.FailedPrecondition, "REVISION_PENDING", err.Error(), nil)
	case errors.Is(err, ledger.ErrNotActive):
		return apierr.New(codes.FailedPrecondition, "BUDGET_NOT_ACTIVE", err.Error(), nil)
	case errors.Is(err, ledger.ErrUnknownLine), errors.Is(err, ledger.ErrCommitmentLine):
		return apierr.Invalid(apierr.Violation{Field: "line_id", Description: err.Error()[len("line_id: "):]})
	case errors.Is(err, app.ErrPlanNotApproved):
		return apierr.New(codes.FailedPrecondition, "PLAN_REVISION_NOT_APPROVED", err.Error(), nil)
	case errors.Is(err, pagination.ErrBadToken), errors.Is(err, pagination.ErrNegativeSize):
		field := "page_token"
		if errors.Is(err, pagination.ErrNegativeSize) {
			field = "page_size"
		}
		return apierr.Invalid(apierr.Violation{Field: field, Description: err.Error()})
	case errors.Is(err, app.ErrUnauthenticated):
		return status.Error(codes.Unauthenticated, "missing or invalid bearer token")
	case errors.Is(err, app.ErrPermission):
		return apierr.New(codes.PermissionDenied, "NOT_ALLOWED",
			"the caller has no relationship to "+resource+" that allows this", nil)
	case errors.Is(err, ledger.ErrAboveReallocationLimit):
		return apierr.New(codes.PermissionDenied, "ABOVE_REALLOCATION_LIMIT", err.Error(), nil)
	case errors.Is(err, ledger.ErrAboveAuthorityLimit):
		return apierr.New(codes.PermissionDenied, "ABOVE_AUTHORITY_LIMIT", err.Error(), nil)
	case errors.Is(err, app.ErrNotFound):
		return apierr.NotFound(resource)
	case errors.Is(err, app.ErrStaleEtag):
		return apierr.StaleEtag(resource)
	case errors.Is(err, app.ErrBusy):
		return apierr.Conflict(resource)
	case errors.Is(err, app.ErrPeerUnavailable):
		return apierr.Unavailable("a peer service (clients or assessment)")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	}
	s.log.ErrorContext(ctx, "request failed", "error", err.Error())
	return apierr.Unavailable("the budget store")
}
