package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/polku-hb/polku/platform/pagination"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/catalogue/internal/catalogue"
	repo "github.com/polku-hb/polku/services/catalogue/internal/store"
)

// MaxTotal is the exactness limit of a search's total_size.
const MaxTotal = 10000

// SearchResult is one hit with the live offering as everyone sees it.
type SearchResult struct {
	View  *OfferingView
	Score float64
	Price int64 // -1 when quote only
}

// Search finds live offerings: the ordered hits come from the replica's search
// projection (brought up to date with the store first, see projection.go) or,
// without one, from the store's search indexes; only the page's documents are
// loaded from the store.
func (s *Service) Search(ctx context.Context, q catalogue.Query, pageToken string, limit int) ([]SearchResult, string, int, error) {
	if _, err := caller(ctx); err != nil {
		return nil, "", 0, err
	}
	binding := fmt.Sprintf("%v", q)
	offset := 0
	if pageToken != "" {
		e, err := pagination.Decode(pageToken, binding)
		if err != nil {
			return nil, "", 0, err
		}
		n, err := strconv.Atoi(e.SortKey)
		if err != nil || n < 0 {
			return nil, "", 0, pagination.ErrBadToken
		}
		offset = n
	}
	hits, total, err := s.hits(ctx, q, offset+limit+1)
	if err != nil {
		return nil, "", 0, err
	}
	next := ""
	if offset > len(hits) {
		offset = len(hits)
	}
	page := hits[offset:min(offset+limit, len(hits))]
	if offset+limit < len(hits) {
		next = pagination.Encode(store.IndexEntry{SortKey: strconv.Itoa(offset + limit), ID: "o"}, binding)
	}
	ids := make([]string, len(page))
	for i, h := range page {
		ids[i] = h.ID
	}
	offs, err := s.repo.Offerings(ctx, ids)
	if err != nil {
		return nil, "", 0, err
	}
	pids := make([]string, len(offs))
	for i, o := range offs {
		pids[i] = o.ProviderID
	}
	provs, err := s.repo.Providers(ctx, pids)
	if err != nil {
		return nil, "", 0, err
	}
	regions, err := s.regions(ctx)
	if err != nil {
		return nil, "", 0, err
	}
	byID := map[string]*catalogue.Offering{}
	for _, o := range offs {
		byID[o.ID] = o
	}
	out := make([]SearchResult, 0, len(page))
	for _, h := range page {
		o := byID[h.ID]
		if o == nil || provs[o.ProviderID] == nil || !o.Live(provs[o.ProviderID].State) {
			continue // changed since the index read
		}
		out = append(out, SearchResult{View: s.view(o, provs[o.ProviderID], 0, false, regions), Score: h.Score, Price: h.Price})
	}
	return out, next, total, nil
}

// hits are the first k hits of q in order and the total_size to report.
func (s *Service) hits(ctx context.Context, q catalogue.Query, k int) ([]catalogue.Hit, int, error) {
	langIndex := len(q.Languages) > 0 && !q.LangsBySummary()
	plain := len(q.Words) == 0 && len(q.Municipalities) == 0 && !langIndex &&
		q.Order != "price" && q.Order != "waiting_time" && noSummaryFilters(q)
	if s.proj != nil {
		if err := s.syncProjection(ctx); err != nil {
			return nil, 0, err
		}
		if plain {
			hits := s.proj.Newest(k)
			return hits, len(hits), nil // a lower bound when another page follows
		}
		hits, count := s.proj.Search(q, langIndex, k)
		return hits, min(count, MaxTotal), nil
	}
	return s.storeHits(ctx, q, k, plain, langIndex)
}

// storeHits answers from the store's search indexes: candidate sets (word
// prefixes, municipalities, languages not carried in summaries) are read from
// every shard and intersected in memory; the remaining filters and the sort use
// the summaries stored in the index entries. With no words and no filters the
// relevance order (newest first) is paged straight from the live index.
func (s *Service) storeHits(ctx context.Context, q catalogue.Query, k int, plain, langIndex bool) ([]catalogue.Hit, int, error) {
	var hits []catalogue.Hit
	if plain {
		entries, err := s.repo.Scan(ctx, store.AllShards, "s:live", store.IndexQuery{Limit: k, Reverse: true})
		if err != nil {
			return nil, 0, err
		}
		for _, e := range entries {
			if sum, ok := catalogue.DecodeSummary(e.ID); ok {
				hits = append(hits, catalogue.Hit{Summary: sum})
			}
		}
		return hits, len(hits), nil // a lower bound when another page follows
	}
	cands, err := s.candidates(ctx, q, langIndex)
	if err != nil {
		return nil, 0, err
	}
	hits = make([]catalogue.Hit, 0, len(cands))
	for _, h := range cands {
		if q.Matches(h.Summary) {
			hits = append(hits, h)
		}
	}
	return q.Top(hits, min(k, len(hits))), min(len(hits), MaxTotal), nil
}

func noSummaryFilters(q catalogue.Query) bool {
	return len(q.Categories) == 0 && len(q.DeliveryModes) == 0 && len(q.Kinds) == 0 && len(q.TargetGroups) == 0 &&
		q.MaxPrice == 0 && !q.Accepting && len(q.Languages) == 0
}

// candidates reads and intersects the candidate sets of the query.
func (s *Service) candidates(ctx context.Context, q catalogue.Query, langIndex bool) ([]catalogue.Hit, error) {
	var set map[string]catalogue.Hit // nil = no set read yet (everything)
	intersect := func(next map[string]catalogue.Hit) {
		if set == nil {
			set = next
			return
		}
		for id, h := range set {
			n, ok := next[id]
			if !ok {
				delete(set, id)
				continue
			}
			h.Score += n.Score
			set[id] = h
		}
	}
	union := func(prefixOrIndexes []string) (map[string]catalogue.Hit, error) {
		var out map[string]catalogue.Hit
		for _, index := range prefixOrIndexes {
			entries, err := s.repo.ScanAll(ctx, index, "")
			if err != nil {
				return nil, err
			}
			if out == nil {
				out = make(map[string]catalogue.Hit, len(entries))
			}
			for _, e := range entries {
				if sum, ok := catalogue.DecodeSummary(e.ID); ok {
					out[sum.ID] = catalogue.Hit{Summary: sum}
				}
			}
		}
		if out == nil {
			out = map[string]catalogue.Hit{} // empty, not "no set"
		}
		return out, nil
	}
	// Municipalities first: usually the most selective set.
	if len(q.Municipalities) > 0 {
		idx := make([]string, len(q.Municipalities))
		for i, m := range q.Municipalities {
			idx[i] = "s:mun:" + m
		}
		m, err := union(idx)
		if err != nil {
			return nil, err
		}
		intersect(m)
	}
	for _, w := range q.Words {
		entries, err := s.repo.ScanAll(ctx, "s:w", w)
		if err != nil {
			return nil, err
		}
		size := len(entries)
		if set != nil {
			size = min(size, len(set))
		}
		m := make(map[string]catalogue.Hit, size)
		for _, e := range entries {
			if len(e.ID) < 2 {
				continue
			}
			score := catalogue.Score(int(e.ID[0]-'0'), e.SortKey == w)
			id := catalogue.SummaryID(e.ID[1:])
			if set != nil {
				if _, in := set[id]; !in {
					continue // cannot survive the intersection
				}
			}
			if h, ok := m[id]; ok {
				if h.Score < score {
					h.Score = score
					m[id] = h
				}
				continue
			}
			sum, ok := catalogue.DecodeSummary(e.ID[1:])
			if !ok {
				continue
			}
			m[id] = catalogue.Hit{Summary: sum, Score: score}
		}
		intersect(m)
	}
	if langIndex {
		idx := make([]string, len(q.Languages))
		for i, l := range q.Languages {
			idx[i] = "s:lang:" + l
		}
		m, err := union(idx)
		if err != nil {
			return nil, err
		}
		intersect(m)
	}
	if set == nil {
		m, err := union([]string{"s:live"})
		if err != nil {
			return nil, err
		}
		set = m
	}
	out := make([]catalogue.Hit, 0, len(set))
	for _, h := range set {
		out = append(out, h)
	}
	return out, nil
}

// Export is one page of the HSDS export.
type Export struct {
	Services []map[string]any
	Next     store.IndexEntry
	Total    int
}

// ExportHSDS exports live offerings (all, or one provider's; optionally only
// those serving some municipalities) as HSDS services, newest change first.
// Anyone signed in: it is public data.
func (s *Service) ExportHSDS(ctx context.Context, providerID string, municipalities []string, lang string, after store.IndexEntry, limit int) (*Export, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	provs := map[string]*catalogue.Provider{}
	keepAreas := func(o *catalogue.Offering, p *catalogue.Provider) bool {
		if len(municipalities) == 0 {
			return true
		}
		for _, m := range catalogue.EffectiveAreas(o.Pub, p) {
			if slices.Contains(municipalities, m) {
				return true
			}
		}
		return false
	}
	out := &Export{}
	load := func(entries []store.IndexEntry, idOf func(store.IndexEntry) string) (int, bool, error) {
		idList := make([]string, len(entries))
		for i, e := range entries {
			idList[i] = idOf(e)
		}
		offs, err := s.repo.Offerings(ctx, idList)
		if err != nil {
			return 0, false, err
		}
		byID := map[string]*catalogue.Offering{}
		var need []string
		for _, o := range offs {
			byID[o.ID] = o
			if provs[o.ProviderID] == nil {
				need = append(need, o.ProviderID)
			}
		}
		more, err := s.repo.Providers(ctx, need)
		if err != nil {
			return 0, false, err
		}
		maps.Copy(provs, more)
		for i, e := range entries {
			o := byID[idOf(e)]
			if o == nil || provs[o.ProviderID] == nil || !o.Live(provs[o.ProviderID].State) || (providerID != "-" && o.ProviderID != providerID) {
				continue
			}
			p := provs[o.ProviderID]
			if !keepAreas(o, p) {
				continue
			}
			pv, _, err := s.repo.PriceVersion(ctx, o.ID, o.PriceVersion)
			if err != nil && !errors.Is(err, repo.ErrNotFound) {
				return 0, false, err
			}
			out.Services = append(out.Services, catalogue.HSDSService(o, p, pv, lang))
			if len(out.Services) == limit {
				return i + 1, true, nil
			}
		}
		return len(entries), false, nil
	}
	var err error
	if providerID == "-" {
		out.Next, err = s.pageIndex(ctx, "s:live", after, limit, true, func(entries []store.IndexEntry) (int, bool, error) {
			return load(entries, func(e store.IndexEntry) string { id, _, _ := strings.Cut(e.ID, ","); return id })
		})
		if err != nil {
			return nil, err
		}
		if len(municipalities) == 0 {
			all, err := s.repo.ScanAll(ctx, "s:live", "")
			if err != nil {
				return nil, err
			}
			out.Total = len(all)
		}
	} else {
		if _, _, err := s.loadProvider(ctx, providerID); err != nil {
			return nil, err
		}
		out.Next, err = s.pageIndex(ctx, "offp:"+providerID, after, limit, true, func(entries []store.IndexEntry) (int, bool, error) {
			return load(entries, func(e store.IndexEntry) string { return e.ID })
		})
		if err != nil {
			return nil, err
		}
	}
	if out.Total == 0 {
		out.Total = len(out.Services) // a lower bound when filtered
	}
	return out, nil
}
