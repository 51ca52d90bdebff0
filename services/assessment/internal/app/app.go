// Package app holds the assessment service's use cases: authorization through
// the clients service, idempotency, etags, pricing from the catalogue and the
// events that feed the client's timeline.
package app

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/ids"
	"github.com/polku-hb/polku/services/assessment/internal/assessment"
	repo "github.com/polku-hb/polku/services/assessment/internal/store"
)

// Source is the event source name of this service.
const Source = "assessment"

// EventPrefix starts every event type of this service.
const EventPrefix = "polku.assessment.v1."

// Errors of the use cases; the gRPC layer turns them into statuses.
var (
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrPermission      = errors.New("permission denied")
	ErrNotFound        = errors.New("not found")
	ErrStaleEtag       = errors.New("stale etag")
	ErrBusy            = errors.New("concurrent modification")
	// ErrExists: an instrument with the id exists.
	ErrExists = errors.New("already exists")
	// ErrPeerUnavailable: the clients or catalogue service did not answer.
	ErrPeerUnavailable = errors.New("a peer service is unavailable")
)

// ClientInfo is what the clients service says about a client: enough to decide
// who may act on the client's assessments and plans.
type ClientInfo struct {
	ID                 string
	Region             string
	CoordinatingWorker string
	// Team lists the subjects of the client's team members (workers,
	// assistants) that have one.
	Team   []string
	Closed bool
}

// Clients is the port to the clients service. It is called with the caller's
// own token, so the clients service checks the relationship too; errors are
// ErrNotFound, ErrPermission or ErrPeerUnavailable.
type Clients interface {
	Client(ctx context.Context, clientID string) (ClientInfo, error)
	// InCohort lists the ids of the caller's region's clients in a cohort
	// (COHORT_*), for cohort aggregates (MANAGER callers).
	InCohort(ctx context.Context, cohort string) ([]string, error)
}

// Offering is what a plan needs of a catalogue offering.
type Offering struct {
	Name                string
	Title               assessment.Text
	Category            string // CATEGORY_*
	CurrentPriceVersion string
	Live                bool
}

// PriceOption is one option of a price version.
type PriceOption struct {
	ID          string
	Unit        string // PRICE_UNIT_*
	AmountCents int64
}

// PriceVersion is an immutable catalogue price snapshot.
type PriceVersion struct {
	Name    string
	Options []PriceOption
}

// Quote is what a plan needs of an accepted quote request (seed 000: a tailored
// service the catalogue has no fixed price for).
type Quote struct {
	Name            string
	Offering        string // empty when the request named no offering
	ClientID        string
	Accepted        bool
	Unit            string // PRICE_UNIT_*
	Quantity        int32
	UnitAmountCents int64
}

// Catalogue is the port to the catalogue service. Errors: ErrNotFound (also
// for offerings and quote requests the caller may not see), ErrPeerUnavailable.
type Catalogue interface {
	Offering(ctx context.Context, name string) (Offering, error)
	PriceVersion(ctx context.Context, name string) (PriceVersion, error)
	Quote(ctx context.Context, name string) (Quote, error)
}

// Config is the service's policy configuration.
type Config struct {
	// AuthorityLimitCents is the yearly plan cost up to which a worker may
	// approve a plan revision; above it a MANAGER approves with a justification.
	AuthorityLimitCents int64
}

// DefaultAuthorityLimitCents is 5 000 EUR a year.
const DefaultAuthorityLimitCents int64 = 500_000

// Service holds the use cases.
type Service struct {
	repo    *repo.Repo
	clients Clients
	cat     Catalogue
	cfg     Config
	tracer  trace.Tracer
	log     *slog.Logger
	now     func() time.Time
}

// New builds the use cases.
func New(r *repo.Repo, clients Clients, cat Catalogue, cfg Config, tracer trace.Tracer, log *slog.Logger) *Service {
	return &Service{repo: r, clients: clients, cat: cat, cfg: cfg, tracer: tracer, log: log, now: func() time.Time { return time.Now().UTC() }}
}

// AuthorityLimitCents is the workers' approval limit in force.
func (s *Service) AuthorityLimitCents() int64 { return s.cfg.AuthorityLimitCents }

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Etag renders a document version as the API's etag.
func Etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// checkEtag compares a sent etag with the current version; "" passes unless
// required.
func checkEtag(etag string, version int64, required bool) error {
	if etag == "" {
		if required {
			return assessment.Violations{{Field: "etag", Rule: "is required"}}
		}
		return nil
	}
	if etag != Etag(version) {
		return ErrStaleEtag
	}
	return nil
}

func checkRequestID(id string) error {
	if len(id) > 100 {
		return assessment.Violations{{Field: "request_id", Rule: "must be at most 100 characters"}}
	}
	return nil
}

// mode is what a caller wants to do with a client's records.
type mode int

const (
	read   mode = iota
	write       // team workers and region managers
	agree       // write, or the client themself (the plan agreement)
	report      // write, or the client or their assistant (measurements, surveys)
)

// authorize decides whether the caller may act on the client's records: team
// workers and region managers read and write (the team is asked from the
// clients service, with the caller's token); the client (and their assistant)
// read their own; providers, operators and services never.
func (s *Service) authorize(ctx context.Context, clientID string, m mode) (auth.Principal, error) {
	p, _, err := s.authorizeInfo(ctx, clientID, m)
	return p, err
}

// authorizeInfo is authorize that also returns what the clients service said
// (zero for CLIENT and ASSISTANT callers, who are not looked up).
func (s *Service) authorizeInfo(ctx context.Context, clientID string, m mode) (auth.Principal, ClientInfo, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return p, ClientInfo{}, ErrUnauthenticated
	}
	switch p.Role {
	case auth.RoleClient, auth.RoleAssistant:
		if !p.ActsFor(clientID) {
			return p, ClientInfo{}, ErrPermission
		}
		if m == read || m == report || (m == agree && p.Role == auth.RoleClient) {
			return p, ClientInfo{}, nil
		}
		return p, ClientInfo{}, ErrPermission
	case auth.RoleWorker, auth.RoleManager:
	default:
		return p, ClientInfo{}, ErrPermission
	}
	info, err := s.clients.Client(ctx, clientID)
	if err != nil {
		return p, ClientInfo{}, err
	}
	if info.Region != p.Region {
		return p, ClientInfo{}, ErrPermission
	}
	if p.Role == auth.RoleWorker && info.CoordinatingWorker != p.Subject && !slices.Contains(info.Team, p.Subject) {
		return p, ClientInfo{}, ErrPermission
	}
	return p, info, nil
}

func (s *Service) event(ctx context.Context, p auth.Principal, typ, clientID, subject string, data map[string]string) events.Envelope {
	e := events.New(ctx, Source, EventPrefix+typ, subject, s.now())
	e.Client, e.Actor, e.ActorRole, e.Data = clientID, p.Subject, string(p.Role), data
	return e
}

func newID() string { return strings.ToLower(ids.New()) }

// notFound maps the repository's not-found.
func notFound(err error) error {
	switch {
	case errors.Is(err, repo.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, repo.ErrConflict):
		return ErrBusy
	}
	return err
}
