package app

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/ids"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/catalogue/internal/catalogue"
	repo "github.com/polku-hb/polku/services/catalogue/internal/store"
)

// OfferingInput is what a provider writes: content plus capacity.
type OfferingInput struct {
	Content     catalogue.Content
	Capacity    catalogue.Capacity
	WaitingBand catalogue.WaitingBand
}

func defaults(c *catalogue.Content) {
	if c.ResponseDeadline == 0 {
		c.ResponseDeadline = catalogue.DefaultResponseDeadline
	}
	if c.StartDeadline == 0 {
		c.StartDeadline = catalogue.DefaultStartDeadline
	}
}

// CreateOffering creates a DRAFT offering of the caller's own provider.
func (s *Service) CreateOffering(ctx context.Context, providerID string, in OfferingInput, requestID string) (*OfferingView, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !owns(p, providerID) {
		return nil, ErrPermission
	}
	var vs catalogue.Violations
	defaults(&in.Content)
	if err := catalogue.ValidateOffering(&in.Content, in.Capacity, in.WaitingBand, "offering."); err != nil {
		vs = append(vs, err.(catalogue.Violations)...)
	}
	if err := tooLong("request_id", requestID); err != nil {
		vs = append(vs, err.(catalogue.Violations)...)
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	prov, _, err := s.loadProvider(ctx, providerID)
	if err != nil {
		return nil, err
	}
	if prov.State == catalogue.ProviderRejected {
		return nil, ErrProviderState
	}
	shard := repo.ShardOf(providerID)
	reqKey := ""
	if requestID != "" {
		reqKey = repo.ReqKey(providerID, requestID)
		if id, ok, err := s.repo.RequestResult(ctx, shard, reqKey); err != nil {
			return nil, err
		} else if ok {
			return s.GetOffering(ctx, providerID, id)
		}
	}
	o := catalogue.NewOffering(ids.NewInShard(shard, repo.Shards), providerID, in.Content, in.Capacity, in.WaitingBand, s.now())
	name := "providers/" + providerID + "/offerings/" + o.ID
	ch := &repo.Change{
		ProviderID: providerID, Current: prov, ReqKey: reqKey, Result: o.ID,
		Offerings: []repo.OfferingWrite{{Offering: o}},
		Log:       []catalogue.ChangeLogEntry{s.logEntry(p, providerID, o.ID, name, "CreateOffering", offeringChanges(nil, o))},
		Events:    []events.Envelope{s.event(ctx, p, "offering.created", name, map[string]string{"provider": providerID, "offering": o.ID})},
	}
	if err := s.repo.Commit(ctx, ch); errors.Is(err, repo.ErrConflict) && reqKey != "" {
		id, _, err := s.repo.RequestResult(ctx, shard, reqKey)
		if err != nil {
			return nil, err
		}
		return s.GetOffering(ctx, providerID, id)
	} else if err != nil {
		return nil, err
	}
	regions, err := s.regions(ctx)
	if err != nil {
		return nil, err
	}
	return s.view(o, prov, 1, true, regions), nil
}

// loadOffering reads an offering of a provider and the provider.
func (s *Service) loadOffering(ctx context.Context, providerID, offeringID string) (*catalogue.Offering, int64, *catalogue.Provider, error) {
	o, ver, err := s.repo.Offering(ctx, offeringID)
	if errors.Is(err, repo.ErrNotFound) || (err == nil && o.ProviderID != providerID) {
		return nil, 0, nil, ErrNotFound
	}
	if err != nil {
		return nil, 0, nil, err
	}
	prov, _, err := s.loadProvider(ctx, providerID)
	if err != nil {
		return nil, 0, nil, err
	}
	return o, ver, prov, nil
}

// GetOffering: live offerings for everyone signed in (published content); the
// provider and operators see the working copy of any of its offerings.
func (s *Service) GetOffering(ctx context.Context, providerID, offeringID string) (*OfferingView, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	o, ver, prov, err := s.loadOffering(ctx, providerID, offeringID)
	if err != nil {
		return nil, err
	}
	owner := owns(p, providerID) || p.Is(auth.RoleOperator)
	if !owner && !o.Live(prov.State) {
		return nil, ErrNotFound
	}
	regions, err := s.regions(ctx)
	if err != nil {
		return nil, err
	}
	return s.view(o, prov, ver, owner, regions), nil
}

// offeringPaths are the fields UpdateOffering accepts in its mask.
var offeringPaths = []string{"title", "description", "category", "target_groups", "delivery_modes", "service_areas", "languages",
	"accessibility_notes", "eligibility_notes", "access_instructions", "website_uri", "capacity", "waiting_band", "quote_required",
	"price_options", "response_deadline", "start_deadline"}

// UpdateOffering applies a provider's edit (see catalogue.Offering.Edit).
func (s *Service) UpdateOffering(ctx context.Context, providerID, offeringID string, in OfferingInput, paths []string, etag string) (*OfferingView, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !owns(p, providerID) {
		return nil, ErrPermission
	}
	var vs catalogue.Violations
	if etag == "" {
		vs = append(vs, catalogue.Violation{Field: "offering.etag", Rule: "is required"})
	}
	if len(paths) == 0 {
		vs = append(vs, catalogue.Violation{Field: "update_mask", Rule: "must list at least one field"})
	}
	for _, path := range paths {
		if !slices.Contains(offeringPaths, path) {
			vs = append(vs, catalogue.Violation{Field: "update_mask", Rule: "unknown or read-only field " + strconv.Quote(path)})
		}
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return s.mutateOffering(ctx, p, providerID, offeringID, "UpdateOffering", "", etag, "offering.updated", func(o *catalogue.Offering, _ *catalogue.Provider) error {
		c := o.Work.Clone()
		capacity, band := o.Capacity, o.WaitingBand
		for _, path := range paths {
			switch path {
			case "title":
				c.Title = in.Content.Title
			case "description":
				c.Description = in.Content.Description
			case "category":
				c.Category = in.Content.Category
			case "target_groups":
				c.TargetGroups = in.Content.TargetGroups
			case "delivery_modes":
				c.DeliveryModes = in.Content.DeliveryModes
			case "service_areas":
				c.ServiceAreas = in.Content.ServiceAreas
			case "languages":
				c.Languages = in.Content.Languages
			case "accessibility_notes":
				c.Accessibility = in.Content.Accessibility
			case "eligibility_notes":
				c.Eligibility = in.Content.Eligibility
			case "access_instructions":
				c.Access = in.Content.Access
			case "website_uri":
				c.Website = in.Content.Website
			case "quote_required":
				c.QuoteRequired = in.Content.QuoteRequired
			case "price_options":
				c.Prices = in.Content.Prices
			case "response_deadline":
				c.ResponseDeadline = in.Content.ResponseDeadline
			case "start_deadline":
				c.StartDeadline = in.Content.StartDeadline
			case "capacity":
				capacity = in.Capacity
			case "waiting_band":
				band = in.WaitingBand
			}
		}
		defaults(&c)
		if err := catalogue.ValidateOffering(&c, capacity, band, "offering."); err != nil {
			return err
		}
		o.Edit(c, capacity, band, paths, s.now())
		return nil
	})
}

// SubmitOffering: the provider, DRAFT or WITHDRAWN -> PENDING_REVIEW.
func (s *Service) SubmitOffering(ctx context.Context, providerID, offeringID, etag, requestID string) (*OfferingView, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !owns(p, providerID) {
		return nil, ErrPermission
	}
	return s.mutateOffering(ctx, p, providerID, offeringID, "SubmitOffering", requestID, etag, "offering.submitted", func(o *catalogue.Offering, _ *catalogue.Provider) error {
		return o.Submit(s.now())
	})
}

// PublishOffering: operator, PENDING_REVIEW -> PUBLISHED, with a new price
// version when the prices changed.
func (s *Service) PublishOffering(ctx context.Context, providerID, offeringID, etag, requestID string) (*OfferingView, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !p.Is(auth.RoleOperator) {
		return nil, ErrPermission
	}
	return s.mutateOfferingCh(ctx, p, providerID, offeringID, "PublishOffering", requestID, etag, "offering.published", func(o *catalogue.Offering, _ *catalogue.Provider, ch *repo.Change) error {
		var prev []catalogue.PriceOption
		var cur *catalogue.PriceVersion
		var curVer int64
		if o.PriceVersion > 0 {
			pv, v, err := s.repo.PriceVersion(ctx, o.ID, o.PriceVersion)
			if err != nil {
				return err
			}
			cur, curVer, prev = pv, v, pv.Prices
		}
		now := s.now()
		created, err := o.Publish(prev, now)
		if err != nil {
			return err
		}
		if created {
			ch.NewPrices = []catalogue.PriceVersion{{OfferingID: o.ID, N: o.PriceVersion, Prices: slices.Clone(o.Pub.Prices), Effective: now}}
			if cur != nil {
				cur.Supersede = now
				ch.Superseded, ch.SupersededVer = cur, curVer
			}
		}
		return nil
	})
}

// RejectOffering: operator, with a note.
func (s *Service) RejectOffering(ctx context.Context, providerID, offeringID, reason, etag, requestID string) (*OfferingView, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !p.Is(auth.RoleOperator) {
		return nil, ErrPermission
	}
	if err := catalogue.ValidateReason("reason", reason, true); err != nil {
		return nil, err
	}
	return s.mutateOffering(ctx, p, providerID, offeringID, "RejectOffering", requestID, etag, "offering.rejected", func(o *catalogue.Offering, _ *catalogue.Provider) error {
		return o.Reject(reason, s.now())
	})
}

// WithdrawOffering: the provider or an operator.
func (s *Service) WithdrawOffering(ctx context.Context, providerID, offeringID, reason, etag, requestID string) (*OfferingView, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !owns(p, providerID) && !p.Is(auth.RoleOperator) {
		return nil, ErrPermission
	}
	if err := catalogue.ValidateReason("reason", reason, false); err != nil {
		return nil, err
	}
	return s.mutateOffering(ctx, p, providerID, offeringID, "WithdrawOffering", requestID, etag, "offering.withdrawn", func(o *catalogue.Offering, _ *catalogue.Provider) error {
		return o.Withdraw(s.now())
	})
}

// ConfirmOffering: the provider confirms the offering is accurate.
func (s *Service) ConfirmOffering(ctx context.Context, providerID, offeringID, requestID string) (*OfferingView, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !owns(p, providerID) {
		return nil, ErrPermission
	}
	return s.mutateOffering(ctx, p, providerID, offeringID, "ConfirmOffering", requestID, "", "offering.confirmed", func(o *catalogue.Offering, _ *catalogue.Provider) error {
		o.Confirm(s.now())
		return nil
	})
}

// DeleteOffering deletes a never-published draft (the provider).
func (s *Service) DeleteOffering(ctx context.Context, providerID, offeringID, etag string) error {
	p, err := caller(ctx)
	if err != nil {
		return err
	}
	if !owns(p, providerID) {
		return ErrPermission
	}
	o, ver, prov, err := s.loadOffering(ctx, providerID, offeringID)
	if err != nil {
		return err
	}
	if err := checkEtag(etag, ver); err != nil {
		return err
	}
	if err := o.Deletable(); err != nil {
		return err
	}
	name := "providers/" + providerID + "/offerings/" + offeringID
	ch := &repo.Change{
		ProviderID: providerID, Current: prov,
		Offerings: []repo.OfferingWrite{{Offering: o, Version: ver, Delete: true}},
		Log:       []catalogue.ChangeLogEntry{s.logEntry(p, providerID, "", name, "DeleteOffering", nil)},
		Events:    []events.Envelope{s.event(ctx, p, "offering.deleted", name, map[string]string{"provider": providerID, "offering": offeringID})},
	}
	if err := s.repo.Commit(ctx, ch); errors.Is(err, repo.ErrConflict) {
		return ErrStaleEtag
	} else if err != nil {
		return err
	}
	return nil
}

func (s *Service) mutateOffering(ctx context.Context, p auth.Principal, providerID, offeringID, method, requestID, etag, evType string, fn func(*catalogue.Offering, *catalogue.Provider) error) (*OfferingView, error) {
	return s.mutateOfferingCh(ctx, p, providerID, offeringID, method, requestID, etag, evType, func(o *catalogue.Offering, prov *catalogue.Provider, _ *repo.Change) error {
		return fn(o, prov)
	})
}

// mutateOfferingCh loads, checks idempotency and etag, applies fn and commits the
// offering with its index changes, change-log entry and event in one batch,
// retrying a lost race when the caller sent no etag.
func (s *Service) mutateOfferingCh(ctx context.Context, p auth.Principal, providerID, offeringID, method, requestID, etag, evType string, fn func(*catalogue.Offering, *catalogue.Provider, *repo.Change) error) (*OfferingView, error) {
	if err := tooLong("request_id", requestID); err != nil {
		return nil, err
	}
	for range 3 {
		o, ver, prov, err := s.loadOffering(ctx, providerID, offeringID)
		if err != nil {
			return nil, err
		}
		reqKey := ""
		if requestID != "" {
			reqKey = repo.ReqKey(offeringID, requestID)
			if _, ok, err := s.repo.RequestResult(ctx, repo.ShardOf(providerID), reqKey); err != nil {
				return nil, err
			} else if ok {
				return s.GetOffering(ctx, providerID, offeringID)
			}
		}
		if err := checkEtag(etag, ver); err != nil {
			return nil, err
		}
		before := o.Clone()
		name := "providers/" + providerID + "/offerings/" + offeringID
		ch := &repo.Change{ProviderID: providerID, Current: prov, ReqKey: reqKey, Result: offeringID}
		if err := fn(o, prov, ch); err != nil {
			return nil, err
		}
		ch.Offerings = []repo.OfferingWrite{{Offering: o, Version: ver}}
		ch.Log = []catalogue.ChangeLogEntry{s.logEntry(p, providerID, offeringID, name, method, offeringChanges(before, o))}
		ch.Events = []events.Envelope{s.event(ctx, p, evType, name, map[string]string{
			"provider": providerID, "offering": offeringID, "from": before.State.String(), "to": o.State.String(),
		})}
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
		regions, err := s.regions(ctx)
		if err != nil {
			return nil, err
		}
		return s.view(o, prov, ver+1, owns(p, providerID) || p.Is(auth.RoleOperator), regions), nil
	}
	return nil, ErrBusy
}

// OfferingFilter is a parsed ListOfferings filter.
type OfferingFilter struct {
	State       catalogue.OfferingState
	Category    catalogue.Category
	Stale       *bool
	PriceCapped *bool
}

// ListOfferings lists a provider's offerings (providerID "-" = all, operators
// only), newest created first. Others than the provider and operators see only
// live offerings.
func (s *Service) ListOfferings(ctx context.Context, providerID string, f OfferingFilter, after store.IndexEntry, limit int) ([]*OfferingView, store.IndexEntry, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, store.IndexEntry{}, err
	}
	index := "offp:" + providerID
	if providerID == "-" {
		if !p.Is(auth.RoleOperator) {
			return nil, store.IndexEntry{}, ErrPermission
		}
		index = "off"
	}
	regions, err := s.regions(ctx)
	if err != nil {
		return nil, store.IndexEntry{}, err
	}
	provs := map[string]*catalogue.Provider{}
	var out []*OfferingView
	next, err := s.pageIndex(ctx, index, after, limit, true, func(entries []store.IndexEntry) (int, bool, error) {
		idList := make([]string, len(entries))
		for i, e := range entries {
			idList[i] = e.ID
		}
		offs, err := s.repo.Offerings(ctx, idList)
		if err != nil {
			return 0, false, err
		}
		var need []string
		for _, o := range offs {
			if provs[o.ProviderID] == nil {
				need = append(need, o.ProviderID)
			}
		}
		if len(need) > 0 {
			more, err := s.repo.Providers(ctx, need)
			if err != nil {
				return 0, false, err
			}
			for k, v := range more {
				provs[k] = v
			}
		}
		byID := map[string]*catalogue.Offering{}
		for _, o := range offs {
			byID[o.ID] = o
		}
		for i, e := range entries {
			o := byID[e.ID]
			if o == nil || provs[o.ProviderID] == nil {
				continue
			}
			prov := provs[o.ProviderID]
			owner := owns(p, o.ProviderID) || p.Is(auth.RoleOperator)
			if !owner && !o.Live(prov.State) {
				continue
			}
			v := s.view(o, prov, 0, owner, regions)
			v.Etag = ""
			if f.State != 0 && o.State != f.State || f.Category != 0 && v.Content.Category != f.Category ||
				f.Stale != nil && v.Stale != *f.Stale || f.PriceCapped != nil && (len(v.Flags) > 0) != *f.PriceCapped {
				continue
			}
			out = append(out, v)
			if len(out) == limit {
				return i + 1, true, nil
			}
		}
		return len(entries), false, nil
	})
	return out, next, err
}

// ---- Price versions ----

func (s *Service) mayReadOffering(ctx context.Context, providerID, offeringID string) error {
	_, err := s.GetOffering(ctx, providerID, offeringID)
	return err
}

// GetPriceVersion reads one price version (whoever may read the offering).
func (s *Service) GetPriceVersion(ctx context.Context, providerID, offeringID string, n int) (*catalogue.PriceVersion, error) {
	if err := s.mayReadOffering(ctx, providerID, offeringID); err != nil {
		return nil, err
	}
	pv, _, err := s.repo.PriceVersion(ctx, offeringID, n)
	if errors.Is(err, repo.ErrNotFound) {
		return nil, ErrNotFound
	}
	return pv, err
}

// ListPriceVersions lists an offering's price history, newest first.
func (s *Service) ListPriceVersions(ctx context.Context, providerID, offeringID string, after store.IndexEntry, limit int) ([]catalogue.PriceVersion, store.IndexEntry, error) {
	if err := s.mayReadOffering(ctx, providerID, offeringID); err != nil {
		return nil, store.IndexEntry{}, err
	}
	return s.repo.PriceVersions(ctx, offeringID, after, limit)
}
