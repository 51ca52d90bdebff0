// Package app holds the budget service's use cases: authorization through the
// clients service, plan revisions from the assessment service, idempotency,
// the atomic ledger writes with their events.
package app

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/ids"
	"github.com/polku-hb/polku/platform/pagination"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/budget/internal/ledger"
	repo "github.com/polku-hb/polku/services/budget/internal/store"
)

// Source is the event source name of this service.
const Source = "budget"

// EventPrefix starts every event type of this service.
const EventPrefix = "polku.budget.v1."

// DefaultAuthorityLimitCents is 5 000 EUR a year, as for plans.
const DefaultAuthorityLimitCents int64 = 500_000

// Errors of the use cases; the gRPC layer turns them into statuses.
var (
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrPermission      = errors.New("permission denied")
	ErrNotFound        = errors.New("not found")
	ErrStaleEtag       = errors.New("stale etag")
	ErrBusy            = errors.New("concurrent modification")
	ErrPeerUnavailable = errors.New("a peer service is unavailable")
	// ErrPlanNotApproved: the plan revision is not APPROVED or ACTIVE.
	ErrPlanNotApproved = errors.New("the plan revision must be APPROVED or ACTIVE")
)

// ClientInfo is what the clients service says about a client.
type ClientInfo struct {
	ID, Region, CoordinatingWorker string
	Team                           []string
	Closed                         bool
}

// Clients is the port to the clients service (called with the caller's token).
type Clients interface {
	Client(ctx context.Context, clientID string) (ClientInfo, error)
	// InCohort lists the ids of the caller's region's clients in a cohort
	// (COHORT_*), for the cohort report (MANAGER callers).
	InCohort(ctx context.Context, cohort string) ([]string, error)
}

// ChosenService is one priced service of a plan revision.
type ChosenService struct {
	ID, Offering, PriceVersion, PriceOptionID, AcceptedQuote string
	Title                                                    ledger.Text
	Category, Unit                                           string
	UnitCents, CostCents                                     int64
}

// PlanRevision is what a budget needs of a plan revision.
type PlanRevision struct {
	Name                string
	State               string // PlanRevision.State name
	WantsPersonalBudget bool
	Start, End          ledger.Date
	Services            []ChosenService
}

// Assessment is the port to the assessment service.
type Assessment interface {
	PlanRevision(ctx context.Context, name string) (PlanRevision, error)
	// CohortCapacity is a region's cohort's mean capacity change between
	// BASELINE and each client's latest phase (MANAGER callers).
	CohortCapacity(ctx context.Context, region, cohort, instrument string, start, end ledger.Date) (CapacityChange, error)
}

// Config is the service's policy configuration.
type Config struct {
	AuthorityLimitCents int64
	// ReallocationLimitBasisPoints is the share of a budget's allocation a
	// worker may move between lines in one reallocation (2000 = 20 %).
	ReallocationLimitBasisPoints int64
	// ExpiryAlertDays: an ACTIVE budget whose period ends within this many
	// days with money available raises budget.expiring_with_money_left
	// (0 = DefaultExpiryAlertDays).
	ExpiryAlertDays int
}

// DefaultReallocationLimitBasisPoints is 20 % of the budget's allocation.
const DefaultReallocationLimitBasisPoints int64 = 2000

// Service holds the use cases.
type Service struct {
	repo    *repo.Repo
	clients Clients
	asmt    Assessment
	cfg     Config
	tracer  trace.Tracer
	log     *slog.Logger
	now     func() time.Time
	stripes [256]sync.Mutex
}

// New builds the use cases.
func New(r *repo.Repo, clients Clients, asmt Assessment, cfg Config, tracer trace.Tracer, log *slog.Logger) *Service {
	return &Service{repo: r, clients: clients, asmt: asmt, cfg: cfg, tracer: tracer, log: log, now: func() time.Time { return time.Now().UTC() }}
}

// AuthorityLimitCents is the workers' approval limit in force.
func (s *Service) AuthorityLimitCents() int64 { return s.cfg.AuthorityLimitCents }

// Etag renders a document version as the API's etag.
func Etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

func checkEtag(etag string, version int64) error {
	if etag != "" && etag != Etag(version) {
		return ErrStaleEtag
	}
	return nil
}

func checkRequestID(id string, required bool) error {
	if required && id == "" {
		return ledger.Violations{{Field: "request_id", Rule: "is required"}}
	}
	if len(id) > 100 || strings.Contains(id, "/") {
		return ledger.Violations{{Field: "request_id", Rule: "must be at most 100 characters without '/'"}}
	}
	return nil
}

type mode int

const (
	read  mode = iota // team, region managers, the client and their assistant
	write             // team workers and region managers
	// release is write, and also a Polku service (SERVICE) releasing the
	// commitment of a referral that ended without service on a verb of
	// someone who may not move money (the provider, the client): the use
	// case checks that the commitment was made for a referral.
	release
)

// authorize decides whether the caller may act on the client's budgets.
func (s *Service) authorize(ctx context.Context, clientID string, m mode) (auth.Principal, ClientInfo, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return p, ClientInfo{}, ErrUnauthenticated
	}
	switch p.Role {
	case auth.RoleClient, auth.RoleAssistant:
		if p.ActsFor(clientID) && m == read {
			return p, ClientInfo{}, nil
		}
		return p, ClientInfo{}, ErrPermission
	case auth.RoleService:
		if m == release {
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

func notFound(err error) error {
	switch {
	case errors.Is(err, repo.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, repo.ErrConflict):
		return ErrBusy
	}
	return err
}

// maxAttempts bounds the compare-and-set retries of one money move.
const maxAttempts = 200

// retry runs fn until it does not conflict: every attempt re-reads and
// re-validates, so a lost race is decided on fresh balances.
func retry(ctx context.Context, fn func() error) error {
	for i := range maxAttempts {
		err := fn()
		if !errors.Is(err, repo.ErrConflict) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if i > 2 {
			time.Sleep(time.Duration(rand.IntN(200*min(i, 20))) * time.Microsecond)
		}
	}
	return ErrBusy
}

func page(size int32, token, query string) (int, store.IndexEntry, string, error) {
	n, err := pagination.Size(size)
	if err != nil {
		return 0, store.IndexEntry{}, "", err
	}
	after, err := pagination.Decode(token, query)
	if err != nil {
		return 0, store.IndexEntry{}, "", err
	}
	return n, after, query, nil
}

func nextToken(pg repo.Page, query string) string {
	if !pg.More || len(pg.Entries) == 0 {
		return ""
	}
	return pagination.Encode(pg.Entries[len(pg.Entries)-1], query)
}
