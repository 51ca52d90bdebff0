// Package app holds the clients service's use cases: it checks who is asking,
// applies the domain rules, makes requests idempotent, writes through the
// repository (state, indexes and events in one batch) and records every read of
// client data in the access log.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/ids"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/clients/internal/client"
	"github.com/polku-hb/polku/services/clients/internal/protect"
	repo "github.com/polku-hb/polku/services/clients/internal/store"
)

// Source is this service's name in events.
const Source = "clients"

// Errors the use cases return besides domain errors and client.Violations.
var (
	ErrUnauthenticated = errors.New("no authenticated caller")
	ErrPermission      = errors.New("caller may not do this")
	ErrNotFound        = errors.New("client not found")
	ErrStaleEtag       = errors.New("etag does not match")
	ErrDuplicate       = errors.New("a client with this identity code already exists")
	ErrBusy            = errors.New("too many concurrent changes; retry")
)

// Repo is what the use cases need from storage.
type Repo interface {
	Get(ctx context.Context, id string) (*client.Client, int64, error)
	RequestResult(ctx context.Context, shard int, reqKey string) (string, bool, error)
	Create(ctx context.Context, c *client.Client, reqKey string, ev events.Envelope) error
	Update(ctx context.Context, before, after *client.Client, version int64, reqKey, result string, evs ...events.Envelope) error
	ListIndex(ctx context.Context, index string, after store.IndexEntry, limit int) ([]store.IndexEntry, error)
	AppendAccess(ctx context.Context, e client.AccessEntry) error
	ListAccess(ctx context.Context, clientID string, after store.IndexEntry, limit int) ([]client.AccessEntry, store.IndexEntry, error)
	AddTimeline(ctx context.Context, e client.TimelineEntry) error
	ListTimeline(ctx context.Context, clientID string, after store.IndexEntry, limit int) ([]client.TimelineEntry, store.IndexEntry, error)
}

// Service is the clients use cases.
type Service struct {
	repo   Repo
	box    *protect.Box
	tracer trace.Tracer
	log    *slog.Logger
	now    func() time.Time
}

// New builds the use cases.
func New(r Repo, box *protect.Box, tracer trace.Tracer, log *slog.Logger) *Service {
	return &Service{repo: r, box: box, tracer: tracer, log: log, now: func() time.Time { return time.Now().UTC() }}
}

// Etag renders a document version as the API's etag.
func Etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

func viewer(ctx context.Context) (client.Viewer, auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return client.Viewer{}, p, ErrUnauthenticated
	}
	return client.Viewer{Subject: p.Subject, Role: string(p.Role), Region: p.Region, ClientID: p.ClientID, Clients: p.Clients}, p, nil
}

func (s *Service) event(ctx context.Context, p auth.Principal, typ string, c *client.Client, data map[string]string) events.Envelope {
	e := events.New(ctx, Source, "polku.clients.v1."+typ, "clients/"+c.ID, s.now())
	e.Client, e.Actor, e.ActorRole, e.Data = c.ID, p.Subject, string(p.Role), data
	return e
}

// CreateInput is what a worker sends to register a client.
type CreateInput struct {
	Profile     client.Client // names, languages, contact, target group, cohort, region
	PIC         string        // the identity code as typed ("" when the person has none)
	Coordinator string        // defaults to the caller
	RequestID   string
}

// Create registers a client.
func (s *Service) Create(ctx context.Context, in CreateInput) (*client.Client, int64, error) {
	v, p, err := viewer(ctx)
	if err != nil {
		return nil, 0, err
	}
	if !client.MayCreate(v) {
		return nil, 0, ErrPermission
	}
	now := s.now()
	prof := in.Profile
	if prof.Region == "" {
		prof.Region = p.Region
	}
	if prof.Region != p.Region {
		return nil, 0, client.Violations{{Field: "client.region", Rule: "must be the caller's own region"}}
	}
	var vs client.Violations
	if err := client.ValidateProfile(&prof, "client."); err != nil {
		errors.As(err, &vs)
	}
	var pic client.PIC
	if in.PIC != "" {
		pic, err = client.ParsePIC(in.PIC, now)
		if err != nil {
			vs = append(vs, client.Violation{Field: "client.personal_identity_code", Rule: err.Error()})
		}
	}
	if len(in.RequestID) > 100 {
		vs = append(vs, client.Violation{Field: "request_id", Rule: "must be at most 100 characters"})
	}
	if len(vs) > 0 {
		return nil, 0, vs
	}
	coordinator := in.Coordinator
	if coordinator == "" {
		if p.Role != auth.RoleWorker {
			return nil, 0, client.Violations{{Field: "coordinating_worker", Rule: "is required when a manager creates a client"}}
		}
		coordinator = p.Subject
	}

	// Place the client where its uniqueness and idempotency keys live (see the
	// store package): the identity-code hash decides, else the request id.
	var picHash string
	shard := -1
	switch {
	case in.PIC != "":
		picHash = s.box.Hash(pic.String())
		shard = store.ShardOf(picHash, repo.Shards)
	case in.RequestID != "":
		shard = store.ShardOf("req:"+in.RequestID, repo.Shards)
	}
	reqKey := ""
	if in.RequestID != "" {
		reqKey = repo.ReqKey("create", in.RequestID)
		if id, ok, err := s.repo.RequestResult(ctx, shard, reqKey); err != nil {
			return nil, 0, err
		} else if ok {
			return s.readAfterRetry(ctx, v, id)
		}
	}
	id := ids.New()
	if shard >= 0 {
		id = ids.NewInShard(shard, repo.Shards)
	}
	c := client.New(id, prof, coordinator, ids.New(), now)
	if in.PIC != "" {
		c.PICHash, c.PICMasked, c.PICCipher = picHash, pic.Masked(), s.box.Seal(pic.String(), id)
	}
	ev := s.event(ctx, p, "client.created", c, map[string]string{"coordinating_worker": coordinator})
	switch err := s.repo.Create(ctx, c, reqKey, ev); {
	case errors.Is(err, repo.ErrDuplicatePIC):
		return nil, 0, ErrDuplicate
	case errors.Is(err, repo.ErrConflict):
		// A twin request with the same id won the race: answer with its result.
		id, _, err := s.repo.RequestResult(ctx, shard, reqKey)
		if err != nil {
			return nil, 0, err
		}
		return s.readAfterRetry(ctx, v, id)
	case err != nil:
		return nil, 0, err
	}
	return c, 1, nil
}

func (s *Service) readAfterRetry(ctx context.Context, v client.Viewer, id string) (*client.Client, int64, error) {
	c, ver, err := s.repo.Get(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	if !c.Allows(v, client.Read) {
		return nil, 0, ErrPermission
	}
	return c, ver, nil
}

// load reads a client the viewer may act on in the given way.
func (s *Service) load(ctx context.Context, id string, a client.Action) (*client.Client, int64, client.Viewer, auth.Principal, error) {
	v, p, err := viewer(ctx)
	if err != nil {
		return nil, 0, v, p, err
	}
	// Providers and operators never see client records: refuse before reading.
	if p.Is(auth.RoleProvider, auth.RoleOperator) {
		return nil, 0, v, p, ErrPermission
	}
	c, ver, err := s.repo.Get(ctx, id)
	if errors.Is(err, repo.ErrNotFound) {
		return nil, 0, v, p, ErrNotFound
	}
	if err != nil {
		return nil, 0, v, p, err
	}
	if !c.Allows(v, a) {
		return nil, 0, v, p, ErrPermission
	}
	return c, ver, v, p, nil
}

// Get reads a client and records the read in the client's access log.
func (s *Service) Get(ctx context.Context, id, purpose string) (*client.Client, int64, error) {
	c, ver, _, p, err := s.load(ctx, id, client.Read)
	if err != nil {
		return nil, 0, err
	}
	if err := s.recordAccess(ctx, p, c.ID, purpose, "GetClient", ""); err != nil {
		return nil, 0, err
	}
	return c, ver, nil
}

// recordAccess appends to the access log. The read is refused if it cannot be
// logged: a read the client cannot see would break the promise of the log.
func (s *Service) recordAccess(ctx context.Context, p auth.Principal, clientID, purpose, action, provider string) error {
	purpose = strings.TrimSpace(purpose)
	if purpose == "" {
		purpose = "not stated"
	}
	if len(purpose) > 200 {
		purpose = purpose[:200]
	}
	if provider == "" {
		provider = p.ProviderID
	}
	e := client.AccessEntry{ID: ids.New(), ClientID: clientID, Accessor: p.Subject, Role: string(p.Role),
		Provider: provider, Purpose: purpose, Action: action, Time: s.now()}
	if err := s.repo.AppendAccess(ctx, e); err != nil {
		return fmt.Errorf("record access: %w", err)
	}
	return nil
}

// change runs a read-modify-write on a client with compare-and-set, retrying
// when a concurrent writer won and no etag pins the version. mutate returns the
// events to emit and the result id to remember for the request id.
func (s *Service) change(ctx context.Context, id, etag, requestID string, a client.Action,
	mutate func(c *client.Client, p auth.Principal) (result string, evs []events.Envelope, err error),
) (*client.Client, int64, string, error) {
	reqKey := ""
	if requestID != "" {
		if len(requestID) > 100 {
			return nil, 0, "", client.Violations{{Field: "request_id", Rule: "must be at most 100 characters"}}
		}
		reqKey = repo.ReqKey(id, requestID)
	}
	for attempt := 0; attempt < 5; attempt++ {
		c, ver, _, p, err := s.load(ctx, id, a)
		if err != nil {
			return nil, 0, "", err
		}
		if reqKey != "" {
			if res, ok, err := s.repo.RequestResult(ctx, repo.ShardOf(id), reqKey); err != nil {
				return nil, 0, "", err
			} else if ok {
				return c, ver, res, nil // a retry: the first call already did it
			}
		}
		if etag != "" && etag != Etag(ver) {
			return nil, 0, "", ErrStaleEtag
		}
		before := clone(c)
		result, evs, err := mutate(c, p)
		if err != nil {
			return nil, 0, "", err
		}
		err = s.repo.Update(ctx, before, c, ver, reqKey, result, evs...)
		if errors.Is(err, repo.ErrConflict) {
			if etag != "" {
				return nil, 0, "", ErrStaleEtag
			}
			continue
		}
		if err != nil {
			return nil, 0, "", err
		}
		return c, ver + 1, result, nil
	}
	return nil, 0, "", ErrBusy
}

func clone(c *client.Client) *client.Client {
	cp := *c
	cp.Team = append([]client.TeamMember(nil), c.Team...)
	cp.Consents = append([]client.Consent(nil), c.Consents...)
	cp.CoordinatorHistory = append([]client.Assignment(nil), c.CoordinatorHistory...)
	return &cp
}

// Update applies the fields named in paths from the patch.
func (s *Service) Update(ctx context.Context, id, etag string, patch client.Client, paths []string) (*client.Client, int64, error) {
	if etag == "" {
		return nil, 0, client.Violations{{Field: "client.etag", Rule: "is required: send the etag of the version you edited"}}
	}
	c, ver, _, err := s.change(ctx, id, etag, "", client.Manage, func(c *client.Client, p auth.Principal) (string, []events.Envelope, error) {
		if c.State == client.Closed {
			return "", nil, client.ErrClosed
		}
		if err := ApplyMask(c, patch, paths); err != nil {
			return "", nil, err
		}
		if err := client.ValidateProfile(c, "client."); err != nil {
			return "", nil, err
		}
		c.UpdateTime = s.now()
		return c.ID, []events.Envelope{s.event(ctx, p, "client.updated", c, map[string]string{"fields": strings.Join(paths, ",")})}, nil
	})
	return c, ver, err
}

// UpdatablePaths are the field-mask paths UpdateClient accepts.
var UpdatablePaths = []string{"given_name", "family_name", "preferred_languages", "contact_preference",
	"contact_details", "contact_details.phone", "contact_details.email", "contact_details.postal_address",
	"target_group", "cohort"}

// ApplyMask copies the masked fields of patch onto c.
func ApplyMask(c *client.Client, patch client.Client, paths []string) error {
	var vs client.Violations
	if len(paths) == 0 {
		vs = append(vs, client.Violation{Field: "update_mask", Rule: "must name at least one field"})
	}
	for _, path := range paths {
		switch path {
		case "given_name":
			c.GivenName = patch.GivenName
		case "family_name":
			c.FamilyName = patch.FamilyName
		case "preferred_languages":
			c.PreferredLanguages = patch.PreferredLanguages
		case "contact_preference":
			c.ContactPreference = patch.ContactPreference
		case "contact_details":
			c.Contact = patch.Contact
		case "contact_details.phone":
			c.Contact.Phone = patch.Contact.Phone
		case "contact_details.email":
			c.Contact.Email = patch.Contact.Email
		case "contact_details.postal_address":
			c.Contact.PostalAddress = patch.Contact.PostalAddress
		case "target_group":
			c.TargetGroup = patch.TargetGroup
		case "cohort":
			c.Cohort = patch.Cohort
		default:
			vs = append(vs, client.Violation{Field: "update_mask", Rule: fmt.Sprintf("field %q cannot be updated; updatable: %s", path, strings.Join(UpdatablePaths, ", "))})
		}
	}
	if len(vs) > 0 {
		return vs
	}
	return nil
}

// Close ends a client's service path.
func (s *Service) Close(ctx context.Context, id, reason, etag, requestID string) (*client.Client, int64, error) {
	c, ver, _, err := s.change(ctx, id, etag, requestID, client.Manage, func(c *client.Client, p auth.Principal) (string, []events.Envelope, error) {
		if err := c.Close(reason, s.now()); err != nil {
			return "", nil, err
		}
		return c.ID, []events.Envelope{s.event(ctx, p, "client.closed", c, nil)}, nil
	})
	return c, ver, err
}

// AssignCoordinator hands the client to another coordinating worker. The handoff
// is a span of its own so operations can find every change of responsibility.
func (s *Service) AssignCoordinator(ctx context.Context, id, worker, reason, etag, requestID string) (*client.Client, int64, error) {
	ctx, span := s.tracer.Start(ctx, "client.handoff", trace.WithAttributes(
		attribute.String("polku.client.id", id), attribute.String("polku.handoff.kind", "coordinating_worker")))
	defer span.End()
	c, ver, _, err := s.change(ctx, id, etag, requestID, client.Manage, func(c *client.Client, p auth.Principal) (string, []events.Envelope, error) {
		prev, err := c.AssignCoordinator(worker, reason, ids.New(), s.now())
		if err != nil {
			return "", nil, err
		}
		span.SetAttributes(attribute.String("polku.handoff.from", prev), attribute.String("polku.handoff.to", worker))
		return c.ID, []events.Envelope{s.event(ctx, p, "client.coordinator_assigned", c, map[string]string{"from": prev, "to": worker})}, nil
	})
	return c, ver, err
}

// AddTeamMember adds a member to the team.
func (s *Service) AddTeamMember(ctx context.Context, id string, m client.TeamMember, requestID string) (client.TeamMember, error) {
	c, _, memberID, err := s.change(ctx, id, "", requestID, client.Manage, func(c *client.Client, p auth.Principal) (string, []events.Envelope, error) {
		m.ID = ids.New()
		added, err := c.AddTeamMember(m, s.now())
		if err != nil {
			return "", nil, err
		}
		return added.ID, []events.Envelope{s.event(ctx, p, "team_member.added", c, map[string]string{"team_member": added.ID, "role": added.Role})}, nil
	})
	if err != nil {
		return client.TeamMember{}, err
	}
	for _, tm := range c.Team {
		if tm.ID == memberID {
			return tm, nil
		}
	}
	return client.TeamMember{}, client.ErrTeamMemberNotFound // removed again since the first call
}

// RemoveTeamMember removes a member from the team.
func (s *Service) RemoveTeamMember(ctx context.Context, id, memberID, requestID string) error {
	_, _, _, err := s.change(ctx, id, "", requestID, client.Manage, func(c *client.Client, p auth.Principal) (string, []events.Envelope, error) {
		m, err := c.RemoveTeamMember(memberID, s.now())
		if err != nil {
			return "", nil, err
		}
		return m.ID, []events.Envelope{s.event(ctx, p, "team_member.removed", c, map[string]string{"team_member": m.ID, "role": m.Role})}, nil
	})
	return err
}

// Team reads the team (a read of client data: logged).
func (s *Service) Team(ctx context.Context, id, purpose string) ([]client.TeamMember, error) {
	c, _, err := s.Get(ctx, id, purpose)
	if err != nil {
		return nil, err
	}
	return c.Team, nil
}

// Grant records a consent.
func (s *Service) Grant(ctx context.Context, id string, k client.Consent, requestID string) (client.Consent, error) {
	c, _, consentID, err := s.change(ctx, id, "", requestID, client.RecordConsent, func(c *client.Client, p auth.Principal) (string, []events.Envelope, error) {
		k.ID, k.RecordedBy = ids.New(), p.Subject
		g, err := c.Grant(k, s.now())
		if err != nil {
			return "", nil, err
		}
		return g.ID, []events.Envelope{s.event(ctx, p, "consent.granted", c, map[string]string{"consent": g.ID, "category": g.Category, "recipient": g.Recipient})}, nil
	})
	if err != nil {
		return client.Consent{}, err
	}
	return findConsent(c, consentID)
}

// Withdraw withdraws a consent.
func (s *Service) Withdraw(ctx context.Context, id, consentID, requestID string) (client.Consent, error) {
	c, _, _, err := s.change(ctx, id, "", requestID, client.RecordConsent, func(c *client.Client, p auth.Principal) (string, []events.Envelope, error) {
		w, err := c.Withdraw(consentID, s.now())
		if err != nil {
			return "", nil, err
		}
		return w.ID, []events.Envelope{s.event(ctx, p, "consent.withdrawn", c, map[string]string{"consent": w.ID, "category": w.Category, "recipient": w.Recipient})}, nil
	})
	if err != nil {
		return client.Consent{}, err
	}
	return findConsent(c, consentID)
}

func findConsent(c *client.Client, id string) (client.Consent, error) {
	for _, k := range c.Consents {
		if k.ID == id {
			return k, nil
		}
	}
	return client.Consent{}, client.ErrConsentNotFound
}

// Consents reads the consents (a read of client data: logged).
func (s *Service) Consents(ctx context.Context, id, purpose string) ([]client.Consent, error) {
	c, _, _, p, err := s.load(ctx, id, client.Read)
	if err != nil {
		return nil, err
	}
	if err := s.recordAccess(ctx, p, c.ID, purpose, "ListConsents", ""); err != nil {
		return nil, err
	}
	return c.Consents, nil
}

// Disclosure is what may be disclosed of a client to a recipient now.
type Disclosure struct {
	Categories         []string
	Contact            *client.Contact
	Languages          []string
	ContactPreference  string
	CoordinatingWorker string
}

// ResolveDisclosure answers what the client agrees to disclose to recipient. The
// disclosure is logged with the recipient as the provider it is meant for.
func (s *Service) ResolveDisclosure(ctx context.Context, id, recipient, purpose string) (Disclosure, error) {
	if !strings.HasPrefix(recipient, "providers/") || recipient == client.AllProviders || strings.Count(recipient, "/") != 1 {
		return Disclosure{}, client.Violations{{Field: "recipient", Rule: "must be providers/{provider}"}}
	}
	c, _, _, p, err := s.load(ctx, id, client.Disclose)
	if err != nil {
		return Disclosure{}, err
	}
	d := Disclosure{Categories: c.Disclosable(recipient), Languages: c.PreferredLanguages,
		ContactPreference: c.ContactPreference, CoordinatingWorker: c.Coordinator}
	for _, cat := range d.Categories {
		if cat == client.CategoryContactDetails {
			contact := c.Contact
			d.Contact = &contact
		}
	}
	if err := s.recordAccess(ctx, p, c.ID, purpose, "ResolveDisclosure", strings.TrimPrefix(recipient, "providers/")); err != nil {
		return Disclosure{}, err
	}
	return d, nil
}

// AccessLog lists who read the client's data, newest first.
func (s *Service) AccessLog(ctx context.Context, id string, after store.IndexEntry, limit int) ([]client.AccessEntry, store.IndexEntry, error) {
	c, _, _, _, err := s.load(ctx, id, client.ReadAccessLog)
	if err != nil {
		return nil, store.IndexEntry{}, err
	}
	return s.repo.ListAccess(ctx, c.ID, after, limit)
}

// Timeline lists the client's service path, newest first. Reading it is a read
// of client data and is logged.
func (s *Service) Timeline(ctx context.Context, id, purpose string, after store.IndexEntry, limit int) ([]client.TimelineEntry, store.IndexEntry, error) {
	c, _, _, p, err := s.load(ctx, id, client.Read)
	if err != nil {
		return nil, store.IndexEntry{}, err
	}
	if err := s.recordAccess(ctx, p, c.ID, purpose, "ListTimelineEvents", ""); err != nil {
		return nil, store.IndexEntry{}, err
	}
	return s.repo.ListTimeline(ctx, c.ID, after, limit)
}

// ApplyEvent files an event of any service on the client's timeline (the
// timeline consumer's handler). Events without a client are not timeline steps.
func (s *Service) ApplyEvent(ctx context.Context, e events.Envelope) error {
	if e.Client == "" {
		return nil
	}
	return s.repo.AddTimeline(ctx, client.TimelineEntry{
		ID: e.ID, ClientID: e.Client, Type: e.Type, Source: e.Source, Subject: e.Subject,
		ActorRole: e.ActorRole, Time: e.Time,
	})
}
