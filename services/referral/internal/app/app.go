// Package app holds the referral service's use cases: who may do what, the
// send with its catalogue, consent and budget steps, the lifecycle verbs, the
// lists, the SLA escalation worker, and the handoff spans and metrics.
package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/ids"
	"github.com/polku-hb/polku/services/referral/internal/referral"
	repo "github.com/polku-hb/polku/services/referral/internal/store"
)

// Source is the event source name of this service.
const Source = "referral"

// EventPrefix starts every event type of this service.
const EventPrefix = "polku.referral.v1."

// Errors of the use cases; the gRPC layer turns them into statuses.
var (
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrPermission      = errors.New("permission denied")
	ErrNotFound        = errors.New("not found")
	ErrStaleEtag       = errors.New("stale etag")
	ErrBusy            = errors.New("concurrent modification")
	// ErrPeerUnavailable: the clients, catalogue or budget service did not answer.
	ErrPeerUnavailable = errors.New("a peer service is unavailable")
	// ErrBudgetRefused: the budget service refused the commitment (a failed
	// precondition or invalid amount there).
	ErrBudgetRefused = errors.New("the budget service refused the commitment")
)

// ClientInfo is what the clients service says about a client.
type ClientInfo struct {
	ID                 string
	Region             string
	CoordinatingWorker string
	Team               []string
}

// Disclosure is what the client agrees to disclose to a provider now.
type Disclosure struct {
	Categories         []string // DATA_CATEGORY_*
	Contact            *referral.Contact
	Languages          []string
	ContactPreference  string
	CoordinatingWorker string
}

// Clients is the port to the clients service. Errors: ErrNotFound,
// ErrPermission, ErrPeerUnavailable.
type Clients interface {
	Client(ctx context.Context, clientID string) (ClientInfo, error)
	Disclosure(ctx context.Context, clientID, providerID string) (Disclosure, error)
}

// Offering is what a referral needs of a catalogue offering.
type Offering struct {
	Name             string
	ProviderID       string
	ProviderKind     string // PROVIDER_KIND_*; "" when unknown
	Capacity         string // CAPACITY_*
	WaitingBand      string // WAITING_BAND_*
	Live             bool
	ResponseDeadline time.Duration
	StartDeadline    time.Duration
}

// Catalogue is the port to the catalogue service.
type Catalogue interface {
	Offering(ctx context.Context, name string) (Offering, error)
}

// Budget is the port to the budget service: idempotent on requestID.
type Budget interface {
	Commit(ctx context.Context, budget, lineID string, amountCents int64, referralName, providerName, requestID string) (ledgerEntry string, err error)
	Release(ctx context.Context, budget, ledgerEntry, reason, requestID string) error
	// Summary returns the totals of budget (a budget resource name), or of the
	// client's ACTIVE budget when budget is ""; nil when there is none.
	Summary(ctx context.Context, clientID, budget string) (*referral.BudgetSummary, error)
}

// Assessment is the port to the assessment service (the packet's PLAN_GOALS
// and ASSESSMENT_SUMMARY). Errors: ErrNotFound, ErrPermission,
// ErrPeerUnavailable.
type Assessment interface {
	// PlanGoals: the goals of the client's ACTIVE plan revision(s); none when
	// the client has no active plan.
	PlanGoals(ctx context.Context, clientID string) ([]string, error)
	// AssessmentSummary: the latest COMPLETED assessment's summary, "" if none.
	AssessmentSummary(ctx context.Context, clientID string) (string, error)
}

// Deps of the use cases.
type Deps struct {
	Repo      *repo.Repo
	Clients   Clients
	Catalogue Catalogue
	Budget    Budget
	// Assessment fills PLAN_GOALS and ASSESSMENT_SUMMARY in the packet.
	Assessment Assessment
	Policy     referral.Policy
	// ServiceToken returns the referral service's own SERVICE bearer token, for
	// work not done for the caller (escalation, the provider's consent
	// re-check, releases on provider verbs).
	ServiceToken func(ctx context.Context) (string, error)
	Tracer       trace.Tracer
	Meter        metric.Meter
	Logger       *slog.Logger
	Webhooks     WebhookConfig
}

// Service holds the use cases.
type Service struct {
	Deps
	clock       atomic.Pointer[func() time.Time]
	inState     metric.Float64Histogram
	toAccept    metric.Float64Histogram
	toStart     metric.Float64Histogram
	escalations metric.Int64Counter
	handoffs    metric.Int64Counter
}

// New builds the use cases.
func New(d Deps) (*Service, error) {
	s := &Service{Deps: d}
	s.SetClock(func() time.Time { return time.Now().UTC() })
	var err error
	if s.inState, err = d.Meter.Float64Histogram("polku.referral.state.duration", metric.WithUnit("s"),
		metric.WithDescription("Time a referral spent in a state, by state and provider kind")); err != nil {
		return nil, err
	}
	if s.toAccept, err = d.Meter.Float64Histogram("polku.referral.send_to_accept.duration", metric.WithUnit("s"),
		metric.WithDescription("Time from send to accept, by provider kind")); err != nil {
		return nil, err
	}
	if s.toStart, err = d.Meter.Float64Histogram("polku.referral.send_to_start.duration", metric.WithUnit("s"),
		metric.WithDescription("Time from send to service start, by provider kind")); err != nil {
		return nil, err
	}
	if s.escalations, err = d.Meter.Int64Counter("polku.referral.escalations",
		metric.WithDescription("Referral escalations, by level and provider kind")); err != nil {
		return nil, err
	}
	// One counter for every verb rather than one per verb: sent, accepted and
	// declined rates are the same query with another verb, and both labels have
	// a fixed, small set of values.
	if s.handoffs, err = d.Meter.Int64Counter("polku.referral.handoffs",
		metric.WithDescription("Referral state changes made, by verb (send, accept, decline, ...) and provider kind")); err != nil {
		return nil, err
	}
	return s, nil
}

// SetClock replaces the clock (tests, demo seeding); safe while workers run.
func (s *Service) SetClock(now func() time.Time) { s.clock.Store(&now) }

func (s *Service) now() time.Time { return (*s.clock.Load())() }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// Etag renders a document version as the API's etag.
func Etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

func checkEtag(etag string, version int64) error {
	if etag != "" && etag != Etag(version) {
		return ErrStaleEtag
	}
	return nil
}

func newID() string { return strings.ToLower(ids.New()) }

// derivedID is a stable id made from parts (idempotency of creates).
func derivedID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:13])
}

// Name is a referral's resource name.
func Name(id string) string { return "referrals/" + id }

// asService returns ctx carrying the service's own token for outgoing calls.
func (s *Service) asService(ctx context.Context) (context.Context, error) {
	if s.ServiceToken == nil {
		return nil, ErrPeerUnavailable
	}
	tok, err := s.ServiceToken(ctx)
	if err != nil {
		return nil, err
	}
	return metadata.NewOutgoingContext(ctx, metadata.Pairs("authorization", "Bearer "+tok)), nil
}

// teamWorker checks that the caller is a worker of the client's team or a
// manager of its region (asked from the clients service with the caller's
// token).
func (s *Service) teamWorker(ctx context.Context, p auth.Principal, clientID string) (ClientInfo, error) {
	if p.Role != auth.RoleWorker && p.Role != auth.RoleManager {
		return ClientInfo{}, ErrPermission
	}
	info, err := s.Clients.Client(ctx, clientID)
	if err != nil {
		return ClientInfo{}, err
	}
	if info.Region != p.Region {
		return ClientInfo{}, ErrPermission
	}
	if p.Role == auth.RoleWorker && info.CoordinatingWorker != p.Subject && !slices.Contains(info.Team, p.Subject) {
		return ClientInfo{}, ErrPermission
	}
	return info, nil
}

func principal(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return p, ErrUnauthenticated
	}
	return p, nil
}

func (s *Service) event(ctx context.Context, a referral.Actor, typ string, r *referral.Referral, data map[string]string) events.Envelope {
	e := events.New(ctx, Source, EventPrefix+typ, Name(r.ID), s.now())
	e.Client, e.Actor, e.ActorRole = r.ClientID, a.Subject, a.Role
	if data == nil {
		data = map[string]string{}
	}
	data["referral"] = Name(r.ID)
	data["recipient_provider"] = "providers/" + r.RecipientProvider
	data["state"] = string(r.State)
	e.Data = data
	return e
}

func notFound(err error) error {
	switch {
	case errors.Is(err, repo.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, repo.ErrConflict):
		return ErrBusy
	}
	return err
}

// Span and attribute names of handoffs (docs/observability.md).
const (
	SpanHandoff      = "referral.handoff"
	SpanEscalate     = "referral.escalate"
	AttrReferralID   = "polku.referral.id"
	AttrStateFrom    = "polku.referral.state.from"
	AttrStateTo      = "polku.referral.state.to"
	AttrProviderID   = "polku.provider.id"
	AttrVerb         = "polku.referral.verb"
	AttrEscalation   = "polku.referral.escalation.level"
	AttrProviderKind = "polku.provider.kind"
	// AttrEscalationWon is false on the span of a replica that lost the race
	// for an escalation (another replica made it).
	AttrEscalationWon = "polku.referral.escalation.won"
)

// startHandoff starts a handoff span: a child of the current call, linked to
// the referral's first trace (the send) when there is one.
func (s *Service) startHandoff(ctx context.Context, name string, r *referral.Referral, verb referral.Verb) (context.Context, trace.Span) {
	opts := []trace.SpanStartOption{trace.WithAttributes(
		attribute.String(AttrReferralID, r.ID),
		attribute.String(AttrStateFrom, string(r.State)),
		attribute.String(AttrProviderID, r.RecipientProvider),
		attribute.String(AttrVerb, string(verb)),
	)}
	if sc, ok := firstSpan(r); ok {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc,
			Attributes: []attribute.KeyValue{attribute.String("polku.link", "referral.first_trace")}}))
	}
	return s.Tracer.Start(ctx, name+" "+string(verb), opts...)
}

func firstSpan(r *referral.Referral) (trace.SpanContext, bool) {
	tid, err1 := trace.TraceIDFromHex(r.FirstSpan.TraceID)
	sid, err2 := trace.SpanIDFromHex(r.FirstSpan.SpanID)
	if err1 != nil || err2 != nil {
		return trace.SpanContext{}, false
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true}), true
}

func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(2, "handoff failed") // codes.Error
	}
	span.End()
}

func kindOf(r *referral.Referral) string {
	if r.ProviderKind == "" {
		return "PROVIDER_KIND_UNSPECIFIED"
	}
	return r.ProviderKind
}

// record the metrics of a committed verb that left state from after spent.
func (s *Service) observe(ctx context.Context, r *referral.Referral, v referral.Verb, from referral.State, spent time.Duration) {
	kind := attribute.String("provider_kind", kindOf(r))
	s.handoffs.Add(ctx, 1, metric.WithAttributes(attribute.String("verb", string(v)), kind))
	s.inState.Record(ctx, spent.Seconds(), metric.WithAttributes(attribute.String("state", string(from)), kind))
	if !r.WasSent() {
		return
	}
	since := s.now().Sub(r.SendTime).Seconds()
	switch r.State {
	case referral.Accepted:
		s.toAccept.Record(ctx, since, metric.WithAttributes(kind))
	case referral.InProgress:
		if from == referral.Accepted {
			s.toStart.Record(ctx, since, metric.WithAttributes(kind))
		}
	}
}
