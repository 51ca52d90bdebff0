// Package app holds the catalogue's use cases: who may do what (PROVIDER tokens
// act only for their own provider, OPERATOR moderates, everyone signed in reads
// live data), idempotency, etags, and writing state, indexes, change log and
// events through the repository in one atomic batch per use case.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/ids"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/catalogue/internal/catalogue"
	"github.com/polku-hb/polku/services/catalogue/internal/projection"
	repo "github.com/polku-hb/polku/services/catalogue/internal/store"
)

// Source is this service's name in events.
const Source = "catalogue"

// Errors the use cases return besides domain errors and catalogue.Violations.
var (
	ErrUnauthenticated = errors.New("no authenticated caller")
	ErrPermission      = errors.New("caller may not do this")
	ErrNotFound        = errors.New("not found")
	ErrStaleEtag       = errors.New("etag does not match")
	ErrBusy            = errors.New("too many concurrent changes; retry")
	ErrProviderState   = errors.New("the provider is not ACTIVE")
)

// Service is the catalogue use cases.
type Service struct {
	repo *repo.Repo
	log  *slog.Logger
	now  func() time.Time

	proj       *projection.Projection // nil: search reads the store's indexes
	projMu     sync.Mutex             // one load or refresh at a time
	projLoaded atomic.Bool

	tokens *TokenConfig // nil: no credential exchange
}

// New builds the use cases.
func New(r *repo.Repo, log *slog.Logger) *Service {
	return &Service{repo: r, log: log, now: func() time.Time { return time.Now().UTC() }}
}

// SetClock replaces the clock (tests of freshness and expiry).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Etag renders a document version as the API's etag.
func Etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

func checkEtag(etag string, version int64) error {
	if etag != "" && etag != Etag(version) {
		return ErrStaleEtag
	}
	return nil
}

func caller(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return p, ErrUnauthenticated
	}
	return p, nil
}

// owns: a PROVIDER token bound to this provider.
func owns(p auth.Principal, providerID string) bool {
	return p.Role == auth.RoleProvider && p.ProviderID == providerID
}

func (s *Service) event(ctx context.Context, p auth.Principal, typ, subject string, data map[string]string) events.Envelope {
	e := events.New(ctx, Source, "polku.catalogue.v1."+typ, subject, s.now())
	e.Actor, e.ActorRole, e.Data = p.Subject, string(p.Role), data
	return e
}

func (s *Service) logEntry(p auth.Principal, providerID, offeringID, subject, method string, changes []catalogue.FieldChange) catalogue.ChangeLogEntry {
	return catalogue.ChangeLogEntry{
		ID: ids.New(), ProviderID: providerID, OfferingID: offeringID, Subject: subject, Method: method,
		Actor: p.Subject, ActorRole: string(p.Role), Changes: changes, Time: s.now(),
	}
}

// diff lists the top-level JSON fields that differ between two values.
func diff(before, after any, prefix string, skip ...string) []catalogue.FieldChange {
	var a, b map[string]json.RawMessage
	ab, _ := json.Marshal(before)
	bb, _ := json.Marshal(after)
	_ = json.Unmarshal(ab, &a)
	_ = json.Unmarshal(bb, &b)
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []catalogue.FieldChange
	for _, k := range keys {
		if slices.Contains(skip, k) || string(a[k]) == string(b[k]) {
			continue
		}
		out = append(out, catalogue.FieldChange{Field: prefix + k, Old: string(a[k]), New: string(b[k])})
	}
	return out
}

func offeringChanges(before, after *catalogue.Offering) []catalogue.FieldChange {
	var out []catalogue.FieldChange
	if before == nil {
		before = &catalogue.Offering{}
	}
	out = append(out, diff(before.Work, after.Work, "")...)
	type top struct {
		State       string `json:"state,omitempty"`
		Capacity    int32  `json:"capacity,omitempty"`
		WaitingBand int32  `json:"waiting_band,omitempty"`
		ReviewNote  string `json:"review_note,omitempty"`
		PriceVer    int    `json:"current_price_version,omitempty"`
	}
	t := func(o *catalogue.Offering) top {
		return top{o.State.String(), int32(o.Capacity), int32(o.WaitingBand), o.ReviewNote, o.PriceVersion}
	}
	return append(out, diff(t(before), t(after), "")...)
}

// ProviderView is a provider with its etag.
type ProviderView struct {
	P    *catalogue.Provider
	Etag string
}

// OfferingView is an offering as one caller sees it.
type OfferingView struct {
	O        *catalogue.Offering
	Content  *catalogue.Content // the working copy (owner, operator) or the published content
	Provider *catalogue.Provider
	Live     bool
	Stale    bool
	Flags    []catalogue.CapFlag
	Etag     string
}

func (s *Service) view(o *catalogue.Offering, prov *catalogue.Provider, version int64, owner bool, regions []catalogue.Settings) *OfferingView {
	c := o.Visible(owner)
	v := &OfferingView{O: o, Content: c, Provider: prov, Live: o.Live(prov.State), Etag: Etag(version)}
	if c != nil {
		v.Stale, v.Flags = catalogue.Flags(o, c, catalogue.EffectiveAreas(c, prov), regions, s.now())
	}
	return v
}

// mayReadProvider: ACTIVE providers are public to every signed-in caller; others
// only to themselves and operators.
func mayReadProvider(p auth.Principal, prov *catalogue.Provider) bool {
	return prov.State == catalogue.ProviderActive || owns(p, prov.ID) || p.Is(auth.RoleOperator)
}

func tooLong(field, s string) error {
	if len(s) > 100 {
		return catalogue.Violations{{Field: field, Rule: "must be at most 100 characters"}}
	}
	return nil
}

// ---- Providers ----

// CreateProvider registers a provider (PENDING_VERIFICATION).
func (s *Service) CreateProvider(ctx context.Context, in catalogue.Provider, requestID string) (*ProviderView, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if p.Is(auth.RoleClient, auth.RoleAssistant) {
		return nil, ErrPermission
	}
	vs := catalogue.Violations{}
	if err := catalogue.ValidateProvider(&in, "provider."); err != nil {
		vs = append(vs, err.(catalogue.Violations)...)
	}
	if err := tooLong("request_id", requestID); err != nil {
		vs = append(vs, err.(catalogue.Violations)...)
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	id := ids.New()
	reqKey := ""
	if requestID != "" {
		shard := store.ShardOf("req:"+requestID, repo.Shards)
		reqKey = repo.ReqKey("create", requestID)
		if prev, ok, err := s.repo.RequestResult(ctx, shard, reqKey); err != nil {
			return nil, err
		} else if ok {
			return s.providerAfterRetry(ctx, p, prev)
		}
		id = ids.NewInShard(shard, repo.Shards)
	}
	prov := catalogue.NewProvider(id, in, s.now())
	name := "providers/" + id
	ch := &repo.Change{
		ProviderID: id, Provider: prov, Current: prov, ReqKey: reqKey, Result: id,
		Log:    []catalogue.ChangeLogEntry{s.logEntry(p, id, "", name, "CreateProvider", diff(catalogue.Provider{}, prov, "", "id", "create_time", "update_time"))},
		Events: []events.Envelope{s.event(ctx, p, "provider.registered", name, map[string]string{"provider": id})},
	}
	if err := s.repo.Commit(ctx, ch); errors.Is(err, repo.ErrConflict) && reqKey != "" {
		prev, _, err := s.repo.RequestResult(ctx, store.ShardOf("req:"+requestID, repo.Shards), reqKey)
		if err != nil {
			return nil, err
		}
		return s.providerAfterRetry(ctx, p, prev)
	} else if err != nil {
		return nil, err
	}
	return &ProviderView{P: prov, Etag: Etag(1)}, nil
}

func (s *Service) providerAfterRetry(ctx context.Context, p auth.Principal, id string) (*ProviderView, error) {
	prov, ver, err := s.repo.Provider(ctx, id)
	if err != nil {
		return nil, err
	}
	return &ProviderView{P: prov, Etag: Etag(ver)}, nil
}

// GetProvider reads a provider.
func (s *Service) GetProvider(ctx context.Context, id string) (*ProviderView, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	prov, ver, err := s.loadProvider(ctx, id)
	if err != nil {
		return nil, err
	}
	if !mayReadProvider(p, prov) {
		return nil, ErrNotFound // do not reveal a registration to others
	}
	return &ProviderView{P: prov, Etag: Etag(ver)}, nil
}

func (s *Service) loadProvider(ctx context.Context, id string) (*catalogue.Provider, int64, error) {
	prov, ver, err := s.repo.Provider(ctx, id)
	if errors.Is(err, repo.ErrNotFound) {
		return nil, 0, ErrNotFound
	}
	return prov, ver, err
}

// UpdateProvider changes the masked fields of a provider (the provider itself
// or an operator; kind only by an operator).
func (s *Service) UpdateProvider(ctx context.Context, id string, in catalogue.Provider, paths []string, etag string) (*ProviderView, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var vs catalogue.Violations
	if etag == "" {
		vs = append(vs, catalogue.Violation{Field: "provider.etag", Rule: "is required"})
	}
	if len(paths) == 0 {
		vs = append(vs, catalogue.Violation{Field: "update_mask", Rule: "must list at least one field"})
	}
	if !owns(p, id) && !p.Is(auth.RoleOperator) {
		return nil, ErrPermission
	}
	for _, path := range paths {
		switch path {
		case "display_name", "business_id", "unregistered_group", "description", "contact", "service_areas", "languages":
		case "kind":
			if !p.Is(auth.RoleOperator) {
				vs = append(vs, catalogue.Violation{Field: "update_mask", Rule: "kind may only be changed by an operator"})
			}
		default:
			vs = append(vs, catalogue.Violation{Field: "update_mask", Rule: "unknown or read-only field " + strconv.Quote(path)})
		}
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return s.mutateProvider(ctx, p, id, "UpdateProvider", "", etag, "provider.updated", func(prov *catalogue.Provider) error {
		for _, path := range paths {
			switch path {
			case "display_name":
				prov.DisplayName = in.DisplayName
			case "business_id":
				prov.BusinessID = in.BusinessID
			case "unregistered_group":
				prov.Unregistered = in.Unregistered
			case "description":
				prov.Description = in.Description
			case "contact":
				prov.Contact = in.Contact
			case "service_areas":
				prov.ServiceAreas = in.ServiceAreas
			case "languages":
				prov.Languages = in.Languages
			case "kind":
				prov.Kind = in.Kind
			}
		}
		prov.UpdateTime = s.now()
		return catalogue.ValidateProvider(prov, "provider.")
	})
}

// VerifyProvider: operator.
func (s *Service) VerifyProvider(ctx context.Context, id, etag, requestID string) (*ProviderView, error) {
	return s.moderateProvider(ctx, id, etag, requestID, "VerifyProvider", "provider.verified", func(prov *catalogue.Provider) error { return prov.Verify(s.now()) })
}

// RejectProvider: operator, with a reason.
func (s *Service) RejectProvider(ctx context.Context, id, reason, etag, requestID string) (*ProviderView, error) {
	if err := catalogue.ValidateReason("reason", reason, true); err != nil {
		return nil, err
	}
	return s.moderateProvider(ctx, id, etag, requestID, "RejectProvider", "provider.rejected", func(prov *catalogue.Provider) error { return prov.Reject(reason, s.now()) })
}

// SuspendProvider: operator, with a reason; its offerings leave search.
func (s *Service) SuspendProvider(ctx context.Context, id, reason, etag, requestID string) (*ProviderView, error) {
	if err := catalogue.ValidateReason("reason", reason, true); err != nil {
		return nil, err
	}
	return s.moderateProvider(ctx, id, etag, requestID, "SuspendProvider", "provider.suspended", func(prov *catalogue.Provider) error { return prov.Suspend(reason, s.now()) })
}

func (s *Service) moderateProvider(ctx context.Context, id, etag, requestID, method, evType string, fn func(*catalogue.Provider) error) (*ProviderView, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !p.Is(auth.RoleOperator) {
		return nil, ErrPermission
	}
	if err := tooLong("request_id", requestID); err != nil {
		return nil, err
	}
	return s.mutateProvider(ctx, p, id, method, requestID, etag, evType, fn)
}

// mutateProvider applies fn to a provider and re-indexes its offerings (its
// state decides whether they are live), all in one batch.
func (s *Service) mutateProvider(ctx context.Context, p auth.Principal, id, method, requestID, etag, evType string, fn func(*catalogue.Provider) error) (*ProviderView, error) {
	for range 3 {
		prov, ver, err := s.loadProvider(ctx, id)
		if err != nil {
			return nil, err
		}
		reqKey := ""
		if requestID != "" {
			reqKey = repo.ReqKey(id, requestID)
			if _, ok, err := s.repo.RequestResult(ctx, repo.ShardOf(id), reqKey); err != nil {
				return nil, err
			} else if ok {
				return &ProviderView{P: prov, Etag: Etag(ver)}, nil
			}
		}
		if err := checkEtag(etag, ver); err != nil {
			return nil, err
		}
		before := *prov
		if err := fn(prov); err != nil {
			return nil, err
		}
		name := "providers/" + id
		ch := &repo.Change{
			ProviderID: id, Provider: prov, ProviderVersion: ver, Current: prov, ReqKey: reqKey, Result: id,
			Log:    []catalogue.ChangeLogEntry{s.logEntry(p, id, "", name, method, diff(before, prov, "", "update_time", "verify_time"))},
			Events: []events.Envelope{s.event(ctx, p, evType, name, map[string]string{"provider": id, "from": before.State.String(), "to": prov.State.String()})},
		}
		if before.State != prov.State || before.Kind != prov.Kind || !slices.Equal(before.ServiceAreas, prov.ServiceAreas) || !slices.Equal(before.Languages, prov.Languages) {
			offs, vers, err := s.repo.ProviderOfferings(ctx, id)
			if err != nil {
				return nil, err
			}
			for i, o := range offs {
				ch.Offerings = append(ch.Offerings, repo.OfferingWrite{Offering: o, Version: vers[i]})
			}
		}
		if prov.State == catalogue.ProviderSuspended && before.State != catalogue.ProviderSuspended {
			if err := s.cancelOpenQuotes(ctx, p, ch); err != nil {
				return nil, err
			}
		}
		err = s.repo.Commit(ctx, ch)
		if errors.Is(err, repo.ErrConflict) {
			if etag != "" {
				return nil, ErrStaleEtag
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		return &ProviderView{P: prov, Etag: Etag(ver + 1)}, nil
	}
	return nil, ErrBusy
}

// ListProviders lists providers by name: operators all, others ACTIVE ones.
func (s *Service) ListProviders(ctx context.Context, f ProviderFilter, after store.IndexEntry, limit int) ([]*ProviderView, store.IndexEntry, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, store.IndexEntry{}, err
	}
	keep := func(prov *catalogue.Provider) bool {
		if !mayReadProvider(p, prov) {
			return false
		}
		if f.State != 0 && prov.State != f.State {
			return false
		}
		if f.Kind != 0 && prov.Kind != f.Kind {
			return false
		}
		return f.Area == "" || slices.Contains(prov.ServiceAreas, f.Area)
	}
	var out []*ProviderView
	next, err := s.pageIndex(ctx, "prov", after, limit, false, func(entries []store.IndexEntry) (int, bool, error) {
		idList := make([]string, len(entries))
		for i, e := range entries {
			idList[i] = e.ID
		}
		provs, err := s.repo.Providers(ctx, idList)
		if err != nil {
			return 0, false, err
		}
		for i, e := range entries {
			if prov := provs[e.ID]; prov != nil && keep(prov) {
				out = append(out, &ProviderView{P: prov})
				if len(out) == limit {
					return i + 1, true, nil
				}
			}
		}
		return len(entries), false, nil
	})
	return out, next, err
}

// ProviderFilter is a parsed ListProviders filter.
type ProviderFilter struct {
	State catalogue.ProviderState
	Kind  catalogue.ProviderKind
	Area  string
}

// pageIndex walks an index over all shards in chunks, handing each chunk to
// take, which reports how many entries it consumed and whether the page is
// full. It returns the cursor of the next page (zero on the last).
func (s *Service) pageIndex(ctx context.Context, index string, after store.IndexEntry, limit int, reverse bool, take func([]store.IndexEntry) (int, bool, error)) (store.IndexEntry, error) {
	chunk := max(limit*2, 50)
	for {
		entries, err := s.repo.Scan(ctx, store.AllShards, index, store.IndexQuery{After: after, Limit: chunk, Reverse: reverse})
		if err != nil {
			return store.IndexEntry{}, err
		}
		n, full, err := take(entries)
		if err != nil {
			return store.IndexEntry{}, err
		}
		if full {
			if n == len(entries) && len(entries) < chunk {
				return store.IndexEntry{}, nil
			}
			return entries[n-1], nil
		}
		if len(entries) < chunk {
			return store.IndexEntry{}, nil
		}
		after = entries[len(entries)-1]
	}
}

// ---- Change log ----

// ListChangeLog lists a provider's or an offering's change log (the provider
// itself and operators).
func (s *Service) ListChangeLog(ctx context.Context, providerID, offeringID string, after store.IndexEntry, limit int) ([]catalogue.ChangeLogEntry, store.IndexEntry, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, store.IndexEntry{}, err
	}
	if !owns(p, providerID) && !p.Is(auth.RoleOperator) {
		return nil, store.IndexEntry{}, ErrPermission
	}
	if offeringID != "" {
		o, _, err := s.repo.Offering(ctx, offeringID)
		if errors.Is(err, repo.ErrNotFound) || (err == nil && o.ProviderID != providerID) {
			return nil, store.IndexEntry{}, ErrNotFound
		} else if err != nil {
			return nil, store.IndexEntry{}, err
		}
		return s.repo.ChangeLog(ctx, providerID, "chgo:"+offeringID, after, limit)
	}
	return s.repo.ChangeLog(ctx, providerID, "chg:"+providerID, after, limit)
}

// ---- Settings ----

// GetSettings reads a region's settings (defaults until set). Anyone signed in.
func (s *Service) GetSettings(ctx context.Context, region string) (*catalogue.Settings, string, error) {
	if _, err := caller(ctx); err != nil {
		return nil, "", err
	}
	st, ver, err := s.repo.Settings(ctx, region)
	if err != nil {
		return nil, "", err
	}
	if st == nil {
		d := catalogue.DefaultSettings(region)
		return &d, Etag(0), nil
	}
	return st, Etag(ver), nil
}

// UpdateSettings changes a region's settings (OPERATOR, or a MANAGER of the region).
func (s *Service) UpdateSettings(ctx context.Context, in catalogue.Settings, paths []string, etag string) (*catalogue.Settings, string, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, "", err
	}
	if !p.Is(auth.RoleOperator) && !(p.Is(auth.RoleManager) && p.Region == in.Region) {
		return nil, "", ErrPermission
	}
	var vs catalogue.Violations
	if len(paths) == 0 {
		vs = append(vs, catalogue.Violation{Field: "update_mask", Rule: "must list at least one field"})
	}
	for _, path := range paths {
		if path != "municipalities" && path != "freshness_period" && path != "price_caps" {
			vs = append(vs, catalogue.Violation{Field: "update_mask", Rule: "unknown or read-only field " + strconv.Quote(path)})
		}
	}
	if err := vs.Err(); err != nil {
		return nil, "", err
	}
	cur, ver, err := s.repo.Settings(ctx, in.Region)
	if err != nil {
		return nil, "", err
	}
	if cur == nil {
		d := catalogue.DefaultSettings(in.Region)
		cur = &d
	}
	if err := checkEtag(etag, ver); err != nil {
		return nil, "", err
	}
	for _, path := range paths {
		switch path {
		case "municipalities":
			cur.Municipalities = in.Municipalities
		case "freshness_period":
			cur.Freshness = in.Freshness
			if cur.Freshness == 0 {
				cur.Freshness = catalogue.DefaultFreshness
			}
		case "price_caps":
			cur.Caps = in.Caps
		}
	}
	if err := catalogue.ValidateSettings(cur, "catalogue_settings."); err != nil {
		return nil, "", err
	}
	cur.UpdateTime = s.now()
	name := "regions/" + in.Region + "/catalogueSettings"
	if err := s.repo.PutSettings(ctx, cur, ver, s.event(ctx, p, "settings.updated", name, map[string]string{"region": in.Region})); errors.Is(err, repo.ErrConflict) {
		return nil, "", ErrStaleEtag
	} else if err != nil {
		return nil, "", err
	}
	return cur, Etag(ver + 1), nil
}

func (s *Service) regions(ctx context.Context) ([]catalogue.Settings, error) {
	return s.repo.AllSettings(ctx)
}

// cancelOpenQuotes adds to a suspension the cancelling of the provider's open
// quote requests (REQUESTED or QUOTED), each with its event.
func (s *Service) cancelOpenQuotes(ctx context.Context, p auth.Principal, ch *repo.Change) error {
	entries, err := s.repo.ScanShard(ctx, repo.ShardOf(ch.ProviderID), "qrp:"+ch.ProviderID)
	if err != nil {
		return err
	}
	idList := make([]string, len(entries))
	for i, e := range entries {
		idList[i] = e.ID
	}
	qs, vers, err := s.repo.Quotes(ctx, idList)
	if err != nil {
		return err
	}
	now := s.now()
	for i, q := range qs {
		q.Expire(now)
		if q.Cancel("provider suspended", now) != nil {
			continue
		}
		name := "providers/" + q.ProviderID + "/quoteRequests/" + q.ID
		ev := s.event(ctx, p, "quote_request.cancelled", name, map[string]string{"provider": q.ProviderID, "quote_request": q.ID, "reason": "provider_suspended"})
		ev.Client = q.ClientID
		ch.Quotes = append(ch.Quotes, repo.QuoteWrite{Quote: q, Version: vers[i]})
		ch.Events = append(ch.Events, ev)
	}
	return nil
}
