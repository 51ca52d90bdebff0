package app

import (
	"context"
	"errors"
	"strings"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/ids"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/catalogue/internal/catalogue"
	repo "github.com/polku-hb/polku/services/catalogue/internal/store"
)

// QuoteView is a quote request as one caller sees it: providers never see the
// client.
type QuoteView struct {
	Q        *catalogue.QuoteRequest
	Etag     string
	ShowUser bool // the client reference may be shown
}

func quoteView(p auth.Principal, q *catalogue.QuoteRequest, ver int64) *QuoteView {
	return &QuoteView{Q: q, Etag: Etag(ver), ShowUser: p.Role != auth.RoleProvider}
}

// mayReadQuote: the provider addressed, or the requesting worker. (The client's
// other team workers need a call to the clients service: not yet.)
func mayReadQuote(p auth.Principal, q *catalogue.QuoteRequest) bool {
	return owns(p, q.ProviderID) || (p.Role == auth.RoleWorker && p.Subject == q.Requester)
}

// CreateQuoteRequest: a worker asks an ACTIVE provider (and, when named, its
// live offering) for a quote.
func (s *Service) CreateQuoteRequest(ctx context.Context, providerID string, in catalogue.QuoteRequest, clientName, requestID string) (*QuoteView, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if p.Role != auth.RoleWorker {
		return nil, ErrPermission
	}
	now := s.now()
	var vs catalogue.Violations
	if err := catalogue.ValidateQuoteRequest(&in, clientName, now, "quote_request."); err != nil {
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
	if prov.State != catalogue.ProviderActive {
		return nil, ErrProviderState
	}
	if in.OfferingID != "" {
		o, _, err := s.repo.Offering(ctx, in.OfferingID)
		if errors.Is(err, repo.ErrNotFound) || (err == nil && (o.ProviderID != providerID || !o.Live(prov.State))) {
			return nil, catalogue.Violations{{Field: "quote_request.offering", Rule: "must be a live offering of this provider"}}
		} else if err != nil {
			return nil, err
		}
	}
	shard := repo.ShardOf(providerID)
	reqKey := ""
	if requestID != "" {
		reqKey = repo.ReqKey("quote-"+p.Subject, requestID)
		if id, ok, err := s.repo.RequestResult(ctx, shard, reqKey); err != nil {
			return nil, err
		} else if ok {
			return s.GetQuoteRequest(ctx, providerID, id)
		}
	}
	q := in
	q.ID, q.ProviderID, q.ClientID, q.Requester = ids.NewInShard(shard, repo.Shards), providerID, strings.TrimPrefix(clientName, "clients/"), p.Subject
	q.State, q.CreateTime, q.UpdateTime, q.Quote, q.DeclineReason, q.CancelReason = catalogue.QuoteRequested, now, now, nil, "", ""
	if q.ResponseDue.IsZero() {
		q.ResponseDue = now.Add(catalogue.DefaultResponseTime)
	}
	name := "providers/" + providerID + "/quoteRequests/" + q.ID
	ev := s.event(ctx, p, "quote_request.created", name, map[string]string{"provider": providerID, "quote_request": q.ID, "offering": q.OfferingID})
	ev.Client = q.ClientID
	ch := &repo.Change{
		ProviderID: providerID, Current: prov, ReqKey: reqKey, Result: q.ID,
		Quotes: []repo.QuoteWrite{{Quote: &q}},
		Log:    []catalogue.ChangeLogEntry{s.logEntry(p, providerID, "", name, "CreateQuoteRequest", []catalogue.FieldChange{{Field: "state", New: `"REQUESTED"`}})},
		Events: []events.Envelope{ev},
	}
	if err := s.repo.Commit(ctx, ch); errors.Is(err, repo.ErrConflict) && reqKey != "" {
		id, _, err := s.repo.RequestResult(ctx, shard, reqKey)
		if err != nil {
			return nil, err
		}
		return s.GetQuoteRequest(ctx, providerID, id)
	} else if err != nil {
		return nil, err
	}
	return quoteView(p, &q, 1), nil
}

func (s *Service) loadQuote(ctx context.Context, p auth.Principal, providerID, id string) (*catalogue.QuoteRequest, int64, error) {
	q, ver, err := s.repo.Quote(ctx, id)
	if errors.Is(err, repo.ErrNotFound) || (err == nil && (q.ProviderID != providerID || !mayReadQuote(p, q))) {
		return nil, 0, ErrNotFound // never reveal requests addressed elsewhere
	}
	return q, ver, err
}

// GetQuoteRequest reads a quote request (expiry applied to the answer).
func (s *Service) GetQuoteRequest(ctx context.Context, providerID, id string) (*QuoteView, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	q, ver, err := s.loadQuote(ctx, p, providerID, id)
	if err != nil {
		return nil, err
	}
	q.Expire(s.now())
	return quoteView(p, q, ver), nil
}

// QuoteFilter narrows a quote request list; zero fields match everything.
type QuoteFilter struct {
	State     catalogue.QuoteState
	ClientID  string // workers only: a provider never learns the client
	Requester string
	// OfferingProvider and OfferingID name one offering.
	OfferingProvider, OfferingID string
}

func (f QuoteFilter) match(q *catalogue.QuoteRequest) bool {
	return (f.State == 0 || q.State == f.State) && (f.ClientID == "" || q.ClientID == f.ClientID) &&
		(f.Requester == "" || q.Requester == f.Requester) &&
		(f.OfferingID == "" || q.ProviderID == f.OfferingProvider && q.OfferingID == f.OfferingID)
}

// ListQuoteRequests lists a provider's inbox (the provider) or a worker's own
// requests (providerID "-", or a provider to narrow them), newest first.
func (s *Service) ListQuoteRequests(ctx context.Context, providerID string, f QuoteFilter, after store.IndexEntry, limit int) ([]*QuoteView, store.IndexEntry, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, store.IndexEntry{}, err
	}
	if f.ClientID != "" && p.Role == auth.RoleProvider {
		return nil, store.IndexEntry{}, catalogue.Violations{{Field: "filter", Rule: "client is not a filter for providers"}}
	}
	var index string
	switch {
	case p.Role == auth.RoleProvider && (providerID == "-" || owns(p, providerID)):
		index = "qrp:" + p.ProviderID
	case p.Role == auth.RoleWorker:
		index = "qrw:" + p.Subject
	default:
		return nil, store.IndexEntry{}, ErrPermission
	}
	now := s.now()
	var out []*QuoteView
	next, err := s.pageIndex(ctx, index, after, limit, true, func(entries []store.IndexEntry) (int, bool, error) {
		idList := make([]string, len(entries))
		for i, e := range entries {
			idList[i] = e.ID
		}
		qs, vers, err := s.repo.Quotes(ctx, idList)
		if err != nil {
			return 0, false, err
		}
		byID := map[string]int{}
		for i, q := range qs {
			byID[q.ID] = i
		}
		for i, e := range entries {
			k, ok := byID[e.ID]
			if !ok {
				continue
			}
			q := qs[k]
			q.Expire(now)
			if !mayReadQuote(p, q) || (providerID != "-" && q.ProviderID != providerID) || !f.match(q) {
				continue
			}
			out = append(out, quoteView(p, q, vers[k]))
			if len(out) == limit {
				return i + 1, true, nil
			}
		}
		return len(entries), false, nil
	})
	return out, next, err
}

// SubmitQuote: the provider addressed gives a quote.
func (s *Service) SubmitQuote(ctx context.Context, providerID, id string, quote catalogue.Quote, etag, requestID string) (*QuoteView, error) {
	return s.mutateQuote(ctx, providerID, id, etag, requestID, "SubmitQuote", "quote_request.quoted", true, func(p auth.Principal, q *catalogue.QuoteRequest) error {
		if err := catalogue.ValidateQuote(&quote, s.now()); err != nil {
			return err
		}
		return q.SubmitQuote(quote, p.Subject, s.now())
	})
}

// DeclineQuoteRequest: the provider addressed declines with a reason.
func (s *Service) DeclineQuoteRequest(ctx context.Context, providerID, id, reason, etag, requestID string) (*QuoteView, error) {
	if err := catalogue.ValidateReason("reason", reason, true); err != nil {
		return nil, err
	}
	return s.mutateQuote(ctx, providerID, id, etag, requestID, "DeclineQuoteRequest", "quote_request.declined", true, func(_ auth.Principal, q *catalogue.QuoteRequest) error {
		return q.Decline(reason, s.now())
	})
}

// AcceptQuoteRequest: the requesting worker accepts the quote before it lapses.
func (s *Service) AcceptQuoteRequest(ctx context.Context, providerID, id, etag, requestID string) (*QuoteView, error) {
	return s.mutateQuote(ctx, providerID, id, etag, requestID, "AcceptQuoteRequest", "quote_request.accepted", false, func(_ auth.Principal, q *catalogue.QuoteRequest) error {
		return q.Accept(s.now())
	})
}

// CancelQuoteRequest: the requesting worker cancels.
func (s *Service) CancelQuoteRequest(ctx context.Context, providerID, id, reason, etag, requestID string) (*QuoteView, error) {
	if err := catalogue.ValidateReason("reason", reason, false); err != nil {
		return nil, err
	}
	return s.mutateQuote(ctx, providerID, id, etag, requestID, "CancelQuoteRequest", "quote_request.cancelled", false, func(_ auth.Principal, q *catalogue.QuoteRequest) error {
		return q.Cancel(reason, s.now())
	})
}

// mutateQuote applies a transition. byProvider: only the provider addressed may
// do it; otherwise only the requesting worker. A transition refused because the
// request expired or lapsed still records that expiry.
func (s *Service) mutateQuote(ctx context.Context, providerID, id, etag, requestID, method, evType string, byProvider bool, fn func(auth.Principal, *catalogue.QuoteRequest) error) (*QuoteView, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := tooLong("request_id", requestID); err != nil {
		return nil, err
	}
	q, ver, err := s.loadQuote(ctx, p, providerID, id)
	if err != nil {
		return nil, err
	}
	if byProvider != owns(p, providerID) {
		return nil, ErrPermission
	}
	reqKey := ""
	if requestID != "" {
		reqKey = repo.ReqKey(id, requestID)
		if _, ok, err := s.repo.RequestResult(ctx, repo.ShardOf(providerID), reqKey); err != nil {
			return nil, err
		} else if ok {
			return s.GetQuoteRequest(ctx, providerID, id)
		}
	}
	if err := checkEtag(etag, ver); err != nil {
		return nil, err
	}
	before := q.State
	ferr := fn(p, q)
	if ferr != nil && q.State == before {
		return nil, ferr
	}
	if ferr != nil {
		reqKey, evType, method = "", "quote_request.expired", "Expire"
		if q.State == catalogue.QuoteLapsed {
			evType = "quote_request.lapsed"
		}
	}
	prov, _, err := s.loadProvider(ctx, providerID)
	if err != nil {
		return nil, err
	}
	name := "providers/" + providerID + "/quoteRequests/" + id
	ev := s.event(ctx, p, evType, name, map[string]string{"provider": providerID, "quote_request": id, "from": before.String(), "to": q.State.String()})
	ev.Client = q.ClientID
	ch := &repo.Change{
		ProviderID: providerID, Current: prov, ReqKey: reqKey, Result: id,
		Quotes: []repo.QuoteWrite{{Quote: q, Version: ver}},
		Log:    []catalogue.ChangeLogEntry{s.logEntry(p, providerID, "", name, method, []catalogue.FieldChange{{Field: "state", Old: `"` + before.String() + `"`, New: `"` + q.State.String() + `"`}})},
		Events: []events.Envelope{ev},
	}
	if err := s.repo.Commit(ctx, ch); errors.Is(err, repo.ErrConflict) {
		return nil, ErrStaleEtag
	} else if err != nil {
		return nil, err
	}
	if ferr != nil {
		return nil, ferr
	}
	return quoteView(p, q, ver+1), nil
}
