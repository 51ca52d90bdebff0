package app

import (
	"context"
	"errors"
	"time"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/services/catalogue/internal/catalogue"
	repo "github.com/polku-hb/polku/services/catalogue/internal/store"
)

// expiryActor is who the change log and events name for the worker's
// transitions.
var expiryActor = auth.Principal{Subject: "catalogue-quote-expiry"}

// expiryBatch is how many due requests a pass reads per shard at a time.
const expiryBatch = 100

// ExpireDue applies every due time-driven quote-request transition (REQUESTED
// past its response due time -> EXPIRED, QUOTED past its validity -> LAPSED)
// found through the due-time index, each in its own atomic batch with its
// change-log entry and event. Several replicas may run it at once: the batch
// is compare-and-set on the request's version, so one wins and the others skip
// it. It returns how many transitions this call made.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	made := 0
	var errs []error
	for sh := range repo.Shards {
		for {
			n, more, err := s.expireShard(ctx, sh)
			made += n
			if err != nil {
				errs = append(errs, err)
			}
			if err != nil || !more {
				break
			}
		}
	}
	return made, errors.Join(errs...)
}

// expireShard handles one batch of a shard's due requests; more reports that a
// full batch was due (read again).
func (s *Service) expireShard(ctx context.Context, shard int) (int, bool, error) {
	now := s.now()
	ids, err := s.repo.DueQuotes(ctx, shard, now, expiryBatch)
	if err != nil || len(ids) == 0 {
		return 0, false, err
	}
	qs, vers, err := s.repo.Quotes(ctx, ids)
	if err != nil {
		return 0, false, err
	}
	made, progressed := 0, false
	for i, q := range qs {
		before := q.State
		if !q.Expire(now) {
			continue // due at exactly now (Expire needs "after"), or a stale read
		}
		name := "providers/" + q.ProviderID + "/quoteRequests/" + q.ID
		typ := "quote_request.expired"
		if q.State == catalogue.QuoteLapsed {
			typ = "quote_request.lapsed"
		}
		ev := s.event(ctx, expiryActor, typ, name, map[string]string{"provider": q.ProviderID, "quote_request": q.ID, "from": before.String(), "to": q.State.String()})
		ev.Client = q.ClientID
		prov, _, err := s.repo.Provider(ctx, q.ProviderID)
		if err != nil {
			return made, false, err
		}
		ch := &repo.Change{
			ProviderID: q.ProviderID, Current: prov,
			Quotes: []repo.QuoteWrite{{Quote: q, Version: vers[i]}},
			Log:    []catalogue.ChangeLogEntry{s.logEntry(expiryActor, q.ProviderID, "", name, "Expire", []catalogue.FieldChange{{Field: "state", Old: `"` + before.String() + `"`, New: `"` + q.State.String() + `"`}})},
			Events: []events.Envelope{ev},
		}
		switch err := s.repo.Commit(ctx, ch); {
		case errors.Is(err, repo.ErrConflict):
			progressed = true // another replica or a user changed it first
		case err != nil:
			return made, false, err
		default:
			made++
			progressed = true
		}
	}
	// Another full batch may be due, unless nothing here could move.
	return made, progressed && len(ids) == expiryBatch, nil
}

// RunExpiry runs ExpireDue every interval until ctx ends.
func (s *Service) RunExpiry(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.ExpireDue(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "quote expiry pass failed", "error", err.Error())
		} else if n > 0 {
			s.log.InfoContext(ctx, "quote requests expired", "count", n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
