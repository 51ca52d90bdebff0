// Package store keeps the catalogue in the platform store port.
//
// Layout (namespace "catalogue", Shards shards). The aggregate is the provider:
// a provider and everything under it live in the provider's shard
// (store.ShardOf(provider id)); offering ids are drawn in that shard
// (ids.NewInShard) so an offering id alone names its shard.
//
//	prov/<provider>              the provider (JSON of catalogue.Provider)
//	off/<offering>               an offering (working copy, published copy)
//	oidx/<offering>              the search-index entries written for the offering (read on writes only)
//	pv/<offering>/<n>            price version n (immutable but for its supersede time)
//	chg/<entry>                  one change-log entry
//	req/<scope>/<request id>     idempotency: the resource id a request made or changed
//	cred/<credential>            a provider's API credential (secret stored as SHA-256 only)
//	qr/<quote request>           a quote request (id drawn in the provider's shard)
//	settings/<region>            a region's settings (all in shard 0, with the "regions" index)
//
// Indexes, per shard, merged across shards at read time:
//
//	prov                 every provider; sort key = normalised display name
//	off                  every offering (operators' lists); sort key = create time
//	offp:<provider>      a provider's offerings; sort key = create time
//	pv:<offering>        price versions; sort key = zero-padded number
//	chg:<provider>       change log of a provider and its offerings; sort key = time
//	chgo:<offering>      change log of one offering; sort key = time
//	cred:<provider>      a provider's credentials; sort key = create time
//	qrp:<provider>       a provider's quote-request inbox; sort key = create time
//	qrw:<worker>         quote requests a worker asked; sort key = create time
//	qrdue                open quote requests by due time (response due / end of quote validity)
//	s:seq (document)     the shard's search change sequence (its version)
//	s:chg                offerings by the search change sequence of their latest change
//	regions (shard 0)    regions with settings
//
// Search indexes hold only live offerings (published content, provider ACTIVE);
// every entry's id is the offering's catalogue.Summary, so candidates can be
// filtered and sorted without loading documents:
//
//	s:live               all live offerings; sort key = update time (newest first)
//	s:mun:<code>         live offerings serving a municipality
//	s:lang:<code>        live offerings given in a language
//	s:w                  word index: sort key = normalised word, id = weight + summary;
//	                     a query word is a prefix range scan of this one index
//	s:proj               one compact entry per live offering (projection.Entry):
//	                     what a replica's search projection loads
//
// Why 8 shards: every search reads each index it needs from every shard (one
// pipelined round trip per index on Redis), so fewer shards mean cheaper
// searches; 8 still spreads a Redis Cluster over 8 slots. Writes of one provider
// (provider, offerings, price versions, change log, events) stay in one shard,
// so each use case is one atomic batch. The count never changes once data exists.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/catalogue/internal/catalogue"
	"github.com/polku-hb/polku/services/catalogue/internal/projection"
)

// Namespace and shard count of the catalogue.
const (
	Namespace = "catalogue"
	Shards    = 8
)

// Errors of the repository.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("concurrent modification")
)

// Repo is the catalogue repository.
type Repo struct{ st store.Store }

// New wraps a store namespace.
func New(st store.Store) *Repo { return &Repo{st: st} }

// ShardOf is the shard of a provider or offering id.
func ShardOf(id string) int { return store.ShardOf(id, Shards) }

// ReqKey is the idempotency key of a request in a scope.
func ReqKey(scope, requestID string) string { return "req/" + scope + "/" + requestID }

func get[T any](ctx context.Context, st store.Store, shard int, key string) (*T, int64, error) {
	doc, err := st.Get(ctx, shard, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, err
	}
	var v T
	if err := json.Unmarshal(doc.Value, &v); err != nil {
		return nil, 0, fmt.Errorf("decode %s: %w", key, err)
	}
	return &v, doc.Version, nil
}

// Provider reads a provider.
func (r *Repo) Provider(ctx context.Context, id string) (*catalogue.Provider, int64, error) {
	return get[catalogue.Provider](ctx, r.st, ShardOf(id), "prov/"+id)
}

// Offering reads an offering with its index entries (for a change).
func (r *Repo) Offering(ctx context.Context, id string) (*catalogue.Offering, int64, error) {
	os, vers, err := r.offeringsIn(ctx, ShardOf(id), []string{id}, true)
	if err != nil {
		return nil, 0, err
	}
	if len(os) == 0 {
		return nil, 0, ErrNotFound
	}
	return os[0], vers[0], nil
}

// PriceVersion reads price version n of an offering.
func (r *Repo) PriceVersion(ctx context.Context, offeringID string, n int) (*catalogue.PriceVersion, int64, error) {
	return get[catalogue.PriceVersion](ctx, r.st, ShardOf(offeringID), pvKey(offeringID, n))
}

func pvKey(oid string, n int) string { return "pv/" + oid + "/" + strconv.Itoa(n) }

// Credential reads a provider credential (in its provider's shard).
func (r *Repo) Credential(ctx context.Context, providerID, id string) (*catalogue.Credential, int64, error) {
	return get[catalogue.Credential](ctx, r.st, ShardOf(providerID), "cred/"+id)
}

// CredentialByID finds a credential from its id alone (a client id): in the
// id's shard (where credentials are drawn), else in any shard (credentials
// issued before ids were drawn so).
func (r *Repo) CredentialByID(ctx context.Context, id string) (*catalogue.Credential, error) {
	home := ShardOf(id)
	for i := range Shards {
		c, _, err := get[catalogue.Credential](ctx, r.st, (home+i)%Shards, "cred/"+id)
		if !errors.Is(err, ErrNotFound) {
			return c, err
		}
	}
	return nil, ErrNotFound
}

// Credentials reads a page of a provider's credentials, newest first.
func (r *Repo) Credentials(ctx context.Context, providerID string, after store.IndexEntry, limit int) ([]catalogue.Credential, store.IndexEntry, error) {
	return listDocs[catalogue.Credential](ctx, r.st, ShardOf(providerID), "cred:"+providerID, func(id string) string { return "cred/" + id }, after, limit)
}

// Quote reads a quote request (its id is drawn in its provider's shard).
func (r *Repo) Quote(ctx context.Context, id string) (*catalogue.QuoteRequest, int64, error) {
	return get[catalogue.QuoteRequest](ctx, r.st, ShardOf(id), "qr/"+id)
}

// Quotes reads quote requests by id, in the order given, with versions;
// missing ones are left out.
func (r *Repo) Quotes(ctx context.Context, ids []string) ([]*catalogue.QuoteRequest, []int64, error) {
	found := map[string]*catalogue.QuoteRequest{}
	vers := map[string]int64{}
	byShard := map[int][]string{}
	for _, id := range ids {
		byShard[ShardOf(id)] = append(byShard[ShardOf(id)], "qr/"+id)
	}
	for shard, keys := range byShard {
		docs, err := r.st.GetMany(ctx, shard, keys...)
		if err != nil {
			return nil, nil, err
		}
		for _, d := range docs {
			var q catalogue.QuoteRequest
			if d.Version > 0 && json.Unmarshal(d.Value, &q) == nil {
				found[q.ID], vers[q.ID] = &q, d.Version
			}
		}
	}
	var out []*catalogue.QuoteRequest
	var outVers []int64
	for _, id := range ids {
		if q := found[id]; q != nil {
			out, outVers = append(out, q), append(outVers, vers[id])
		}
	}
	return out, outVers, nil
}

// Settings reads a region's settings (nil when never set).
func (r *Repo) Settings(ctx context.Context, region string) (*catalogue.Settings, int64, error) {
	s, v, err := get[catalogue.Settings](ctx, r.st, 0, "settings/"+region)
	if errors.Is(err, ErrNotFound) {
		return nil, 0, nil
	}
	return s, v, err
}

// AllSettings reads the settings of every region that has some.
func (r *Repo) AllSettings(ctx context.Context) ([]catalogue.Settings, error) {
	entries, err := r.st.Scan(ctx, 0, "regions", store.IndexQuery{Limit: 1000})
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = "settings/" + e.ID
	}
	docs, err := r.st.GetMany(ctx, 0, keys...)
	if err != nil {
		return nil, err
	}
	out := make([]catalogue.Settings, 0, len(docs))
	for _, d := range docs {
		var s catalogue.Settings
		if d.Version > 0 && json.Unmarshal(d.Value, &s) == nil {
			out = append(out, s)
		}
	}
	return out, nil
}

// PutSettings writes a region's settings at version (0 = new).
func (r *Repo) PutSettings(ctx context.Context, s *catalogue.Settings, version int64, ev events.Envelope) error {
	b := &store.Batch{}
	if version == 0 {
		b.Create("settings/"+s.Region, mustJSON(s))
		b.IndexAdd("regions", s.Region, s.Region)
	} else {
		b.Put("settings/"+s.Region, mustJSON(s), version)
	}
	b.Emit(ev.Marshal())
	return conflict(r.st.Commit(ctx, 0, b))
}

// RequestResult returns the resource id an earlier request with this key made.
func (r *Repo) RequestResult(ctx context.Context, shard int, reqKey string) (string, bool, error) {
	doc, err := r.st.Get(ctx, shard, reqKey)
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return string(doc.Value), true, nil
}

// OfferingWrite is one offering changed by a Change.
type OfferingWrite struct {
	Offering *catalogue.Offering
	Version  int64 // 0 = create
	Delete   bool
}

// Change is everything one use case writes to one provider's shard, committed
// as one atomic batch: the provider, its offerings (search indexes kept in step),
// new price versions, superseded ones, change-log entries, the idempotency key
// and the events.
type Change struct {
	ProviderID      string
	Provider        *catalogue.Provider // nil when unchanged (it is still needed for indexing: Current)
	ProviderVersion int64               // 0 = create
	Current         *catalogue.Provider // the provider as it is after the change (for indexing)
	Offerings       []OfferingWrite
	NewPrices       []catalogue.PriceVersion
	Superseded      *catalogue.PriceVersion // written at SupersededVersion
	SupersededVer   int64
	Quotes          []QuoteWrite
	Credential      *catalogue.Credential // written at CredentialVer (0 = create)
	CredentialVer   int64
	Log             []catalogue.ChangeLogEntry
	ReqKey, Result  string
	Events          []events.Envelope
}

// QuoteWrite is one quote request changed by a Change.
type QuoteWrite struct {
	Quote   *catalogue.QuoteRequest
	Version int64 // 0 = create
}

// Commit writes a Change atomically. A change that writes offerings also
// advances the shard's search change sequence (the version of the s:seq
// document, compare-and-set in the same batch) and files each offering under
// the new sequence in s:chg, which is how every replica's search projection
// learns what changed. Two changes of different providers in one shard may
// race for the sequence: the loser is retried here while only the sequence
// moved (bounded), so callers see no more conflicts than before.
func (r *Repo) Commit(ctx context.Context, ch *Change) error {
	shard := ShardOf(ch.ProviderID)
	if len(ch.Offerings) == 0 {
		b, _ := r.batch(ch, 0)
		if err := r.st.Commit(ctx, shard, b); err != nil {
			return conflict(err)
		}
		setDueKeys(ch)
		return nil
	}
	seq, err := r.SearchSeq(ctx, shard)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		b, indexed := r.batch(ch, seq)
		err := r.st.Commit(ctx, shard, b)
		if err == nil {
			for i, w := range ch.Offerings {
				w.Offering.Indexed = indexed[i]
			}
			setDueKeys(ch)
			return nil
		}
		if conflict(err) != ErrConflict || attempt == 8 {
			return conflict(err)
		}
		now, rerr := r.SearchSeq(ctx, shard)
		if rerr != nil {
			return rerr
		}
		if now == seq {
			return ErrConflict // the conflict was elsewhere: the caller's to handle
		}
		seq = now
	}
}

// QuoteDueIndex is the per-shard index of open quote requests by the time
// their next time-driven transition is due (sort key TimeKey(due), id the
// request id), read by the expiry worker.
const QuoteDueIndex = "qrdue"

// setDueKeys records on the committed quote requests the due entries written.
func setDueKeys(ch *Change) {
	for _, w := range ch.Quotes {
		if due, ok := w.Quote.DueTime(); ok {
			w.Quote.DueKey = catalogue.TimeKey(due)
		} else {
			w.Quote.DueKey = ""
		}
	}
}

// DueQuotes lists up to limit quote requests of a shard whose due time is at
// or before now, earliest first.
func (r *Repo) DueQuotes(ctx context.Context, shard int, now time.Time, limit int) ([]string, error) {
	entries, err := r.st.Scan(ctx, shard, QuoteDueIndex, store.IndexQuery{Limit: limit})
	if err != nil {
		return nil, err
	}
	end := catalogue.TimeKey(now)
	var ids []string
	for _, e := range entries {
		if e.SortKey > end {
			break
		}
		ids = append(ids, e.ID)
	}
	return ids, nil
}

// seqKey is the document whose version is a shard's search change sequence.
const seqKey = "s:seq"

// SeqKey is the s:chg sort key of change sequence n.
func SeqKey(n int64) string { return fmt.Sprintf("%016d", n) }

// SearchSeq is a shard's search change sequence (0 before the first change).
func (r *Repo) SearchSeq(ctx context.Context, shard int) (int64, error) {
	d, err := r.st.Get(ctx, shard, seqKey)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	return d.Version, err
}

// SearchSeqs reads every shard's search change sequence in parallel.
func (r *Repo) SearchSeqs(ctx context.Context) ([]int64, error) {
	out := make([]int64, Shards)
	errs := make([]error, Shards)
	var wg sync.WaitGroup
	for sh := range Shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[sh], errs[sh] = r.SearchSeq(ctx, sh)
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// SearchChanges lists the offerings of a shard changed after sequence after
// (each offering is filed once, under its latest change) and the highest
// sequence seen.
func (r *Repo) SearchChanges(ctx context.Context, shard int, after int64) ([]string, int64, error) {
	q := store.IndexQuery{Limit: scanChunk}
	if after > 0 {
		q.After = store.IndexEntry{SortKey: SeqKey(after), ID: "\xff"}
	}
	var ids []string
	top := after
	for {
		page, err := r.st.Scan(ctx, shard, "s:chg", q)
		if err != nil {
			return nil, 0, err
		}
		for _, e := range page {
			ids = append(ids, e.ID)
			if n, err := strconv.ParseInt(e.SortKey, 10, 64); err == nil {
				top = max(top, n)
			}
		}
		if len(page) < scanChunk {
			return ids, top, nil
		}
		q.After = page[len(page)-1]
	}
}

// IndexRefs reads the search-index entries the store holds for offerings of
// one shard (none for an offering that is not live or no longer exists).
func (r *Repo) IndexRefs(ctx context.Context, shard int, ids []string) (map[string][]catalogue.IndexRef, error) {
	out := make(map[string][]catalogue.IndexRef, len(ids))
	for start := 0; start < len(ids); start += 1000 {
		part := ids[start:min(start+1000, len(ids))]
		keys := make([]string, len(part))
		for i, id := range part {
			keys[i] = "oidx/" + id
		}
		docs, err := r.st.GetMany(ctx, shard, keys...)
		if err != nil {
			return nil, err
		}
		for i, d := range docs {
			var refs []catalogue.IndexRef
			if d.Version > 0 {
				if err := json.Unmarshal(d.Value, &refs); err != nil {
					return nil, fmt.Errorf("decode offering index: %w", err)
				}
			}
			out[part[i]] = refs
		}
	}
	return out, nil
}

// batch builds the Change's batch for search change sequence seq (the current
// one; the batch moves it to seq+1) without touching ch, returning the index
// entries each offering will have.
func (r *Repo) batch(ch *Change, seq int64) (*store.Batch, [][]catalogue.IndexRef) {
	b := &store.Batch{}
	if p := ch.Provider; p != nil {
		if ch.ProviderVersion == 0 {
			b.Create("prov/"+p.ID, mustJSON(p))
			b.IndexAdd("prov", providerSortKey(p), p.ID)
		} else {
			b.Put("prov/"+p.ID, mustJSON(p), ch.ProviderVersion)
		}
	}
	if len(ch.Offerings) > 0 {
		if seq == 0 {
			b.Create(seqKey, []byte("1"))
		} else {
			b.Put(seqKey, []byte(strconv.FormatInt(seq+1, 10)), seq)
		}
	}
	indexed := make([][]catalogue.IndexRef, len(ch.Offerings))
	for i, w := range ch.Offerings {
		o := w.Offering
		for _, e := range o.Indexed {
			b.IndexRemove(e.Index, e.SortKey, e.ID)
		}
		if w.Delete {
			b.Delete("off/"+o.ID, w.Version)
			if o.IndexedVersion > 0 {
				b.Delete("oidx/"+o.ID, o.IndexedVersion)
			}
			b.IndexRemove("off", catalogue.TimeKey(o.CreateTime), o.ID)
			b.IndexRemove("offp:"+o.ProviderID, catalogue.TimeKey(o.CreateTime), o.ID)
			continue
		}
		var refs []catalogue.IndexRef
		if ch.Current != nil && o.Live(ch.Current.State) {
			refs = searchEntries(o, ch.Current)
		}
		refs = append(refs, catalogue.IndexRef{Index: "s:chg", SortKey: SeqKey(seq + 1), ID: o.ID})
		indexed[i] = refs
		for _, e := range refs {
			b.IndexAdd(e.Index, e.SortKey, e.ID)
		}
		if o.IndexedVersion == 0 {
			b.Create("oidx/"+o.ID, mustJSON(refs))
		} else {
			b.Put("oidx/"+o.ID, mustJSON(refs), o.IndexedVersion)
		}
		if w.Version == 0 {
			b.Create("off/"+o.ID, mustJSON(o))
			b.IndexAdd("off", catalogue.TimeKey(o.CreateTime), o.ID)
			b.IndexAdd("offp:"+o.ProviderID, catalogue.TimeKey(o.CreateTime), o.ID)
		} else {
			b.Put("off/"+o.ID, mustJSON(o), w.Version)
		}
	}
	for _, w := range ch.Quotes {
		q := *w.Quote // a copy: the due key is set on the caller's only after the commit
		if due, ok := q.DueTime(); ok {
			q.DueKey = catalogue.TimeKey(due)
		} else {
			q.DueKey = ""
		}
		if w.Quote.DueKey != q.DueKey {
			if w.Quote.DueKey != "" {
				b.IndexRemove(QuoteDueIndex, w.Quote.DueKey, q.ID)
			}
			if q.DueKey != "" {
				b.IndexAdd(QuoteDueIndex, q.DueKey, q.ID)
			}
		}
		if w.Version == 0 {
			b.Create("qr/"+q.ID, mustJSON(q))
			b.IndexAdd("qrp:"+q.ProviderID, catalogue.TimeKey(q.CreateTime), q.ID)
			b.IndexAdd("qrw:"+q.Requester, catalogue.TimeKey(q.CreateTime), q.ID)
		} else {
			b.Put("qr/"+q.ID, mustJSON(q), w.Version)
		}
	}
	if c := ch.Credential; c != nil {
		if ch.CredentialVer == 0 {
			b.Create("cred/"+c.ID, mustJSON(c))
			b.IndexAdd("cred:"+c.ProviderID, catalogue.TimeKey(c.CreateTime), c.ID)
		} else {
			b.Put("cred/"+c.ID, mustJSON(c), ch.CredentialVer)
		}
	}
	for _, pv := range ch.NewPrices {
		b.Create(pvKey(pv.OfferingID, pv.N), mustJSON(pv))
		b.IndexAdd("pv:"+pv.OfferingID, fmt.Sprintf("%08d", pv.N), strconv.Itoa(pv.N))
	}
	if pv := ch.Superseded; pv != nil {
		b.Put(pvKey(pv.OfferingID, pv.N), mustJSON(pv), ch.SupersededVer)
	}
	for _, e := range ch.Log {
		b.Create("chg/"+e.ID, mustJSON(e))
		b.IndexAdd("chg:"+e.ProviderID, catalogue.TimeKey(e.Time), e.ID)
		if e.OfferingID != "" {
			b.IndexAdd("chgo:"+e.OfferingID, catalogue.TimeKey(e.Time), e.ID)
		}
	}
	if ch.ReqKey != "" {
		b.Create(ch.ReqKey, []byte(ch.Result))
	}
	for _, e := range ch.Events {
		b.Emit(e.Marshal())
	}
	return b, indexed
}

func conflict(err error) error {
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) {
		return ErrConflict
	}
	return err
}

func providerSortKey(p *catalogue.Provider) string {
	return strings.Join(catalogue.Words(p.DisplayName), " ")
}

// searchEntries are the search-index entries of a live offering.
func searchEntries(o *catalogue.Offering, p *catalogue.Provider) []catalogue.IndexRef {
	sum := catalogue.Summarise(o, p).Encode()
	tk := catalogue.TimeKey(o.UpdateTime)
	out := []catalogue.IndexRef{{Index: "s:live", SortKey: tk, ID: sum}}
	areas, langs := catalogue.EffectiveAreas(o.Pub, p), catalogue.EffectiveLanguages(o.Pub, p)
	for _, m := range areas {
		out = append(out, catalogue.IndexRef{Index: "s:mun:" + m, SortKey: tk, ID: sum})
	}
	for _, l := range langs {
		out = append(out, catalogue.IndexRef{Index: "s:lang:" + l, SortKey: tk, ID: sum})
	}
	words := catalogue.IndexWords(o.Pub)
	out = append(out, catalogue.IndexRef{Index: projection.Index, SortKey: o.ID, ID: projection.Entry(tk, sum, areas, langs, words)})
	keys := make([]string, 0, len(words))
	for w := range words {
		keys = append(keys, w)
	}
	slices.Sort(keys)
	for _, w := range keys {
		out = append(out, catalogue.IndexRef{Index: "s:w", SortKey: w, ID: strconv.Itoa(words[w]) + sum})
	}
	return out
}

// ProviderOfferings reads every offering of a provider with its version.
func (r *Repo) ProviderOfferings(ctx context.Context, providerID string) ([]*catalogue.Offering, []int64, error) {
	shard := ShardOf(providerID)
	entries, err := r.ScanShard(ctx, shard, "offp:"+providerID)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	return r.offeringsIn(ctx, shard, ids, true)
}

// offeringsIn reads offerings of one shard; withIndex also reads their index
// entries (needed to change them).
func (r *Repo) offeringsIn(ctx context.Context, shard int, ids []string, withIndex bool) ([]*catalogue.Offering, []int64, error) {
	step := 1
	if withIndex {
		step = 2
	}
	keys := make([]string, 0, len(ids)*step)
	for _, id := range ids {
		keys = append(keys, "off/"+id)
		if withIndex {
			keys = append(keys, "oidx/"+id)
		}
	}
	docs, err := r.st.GetMany(ctx, shard, keys...)
	if err != nil {
		return nil, nil, err
	}
	var out []*catalogue.Offering
	var vers []int64
	for i := 0; i < len(docs); i += step {
		d := docs[i]
		if d.Version == 0 {
			continue
		}
		var o catalogue.Offering
		if err := json.Unmarshal(d.Value, &o); err != nil {
			return nil, nil, fmt.Errorf("decode offering: %w", err)
		}
		if withIndex && docs[i+1].Version > 0 {
			if err := json.Unmarshal(docs[i+1].Value, &o.Indexed); err != nil {
				return nil, nil, fmt.Errorf("decode offering index: %w", err)
			}
			o.IndexedVersion = docs[i+1].Version
		}
		out = append(out, &o)
		vers = append(vers, d.Version)
	}
	return out, vers, nil
}

// Offerings reads offerings by id (any shards, read in parallel), in the order
// given; missing ones are left out.
func (r *Repo) Offerings(ctx context.Context, ids []string) ([]*catalogue.Offering, error) {
	byShard := map[int][]string{}
	for _, id := range ids {
		byShard[ShardOf(id)] = append(byShard[ShardOf(id)], id)
	}
	found := map[string]*catalogue.Offering{}
	var mu sync.Mutex
	err := perShard(byShard, func(shard int, list []string) error {
		os, _, err := r.offeringsIn(ctx, shard, list, false)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, o := range os {
			found[o.ID] = o
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]*catalogue.Offering, 0, len(ids))
	for _, id := range ids {
		if o := found[id]; o != nil {
			out = append(out, o)
		}
	}
	return out, nil
}

// perShard runs fn for each shard's list concurrently.
func perShard(byShard map[int][]string, fn func(shard int, list []string) error) error {
	if len(byShard) == 1 {
		for shard, list := range byShard {
			return fn(shard, list)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(byShard))
	for shard, list := range byShard {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- fn(shard, list)
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// Providers reads providers by id; missing ones are left out of the map.
func (r *Repo) Providers(ctx context.Context, ids []string) (map[string]*catalogue.Provider, error) {
	byShard := map[int][]string{}
	for _, id := range ids {
		if !slices.Contains(byShard[ShardOf(id)], id) {
			byShard[ShardOf(id)] = append(byShard[ShardOf(id)], id)
		}
	}
	out := map[string]*catalogue.Provider{}
	var mu sync.Mutex
	err := perShard(byShard, func(shard int, list []string) error {
		keys := make([]string, len(list))
		for i, id := range list {
			keys[i] = "prov/" + id
		}
		docs, err := r.st.GetMany(ctx, shard, keys...)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, d := range docs {
			var p catalogue.Provider
			if d.Version > 0 && json.Unmarshal(d.Value, &p) == nil {
				out[p.ID] = &p
			}
		}
		return nil
	})
	return out, err
}

// Scan reads a page of an index (one shard or all).
func (r *Repo) Scan(ctx context.Context, shard int, index string, q store.IndexQuery) ([]store.IndexEntry, error) {
	return r.st.Scan(ctx, shard, index, q)
}

// scanChunk is the page size ScanAll reads an index in.
const scanChunk = 4096

// ScanAll reads every entry of an index whose sort key starts with prefix, from
// all shards in parallel (one goroutine per shard, chunked), in no particular
// order across shards: for candidate sets that are intersected, not paged.
func (r *Repo) ScanAll(ctx context.Context, index, prefix string) ([]store.IndexEntry, error) {
	parts := make([][]store.IndexEntry, Shards)
	errs := make([]error, Shards)
	var wg sync.WaitGroup
	for sh := range Shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := store.IndexQuery{Prefix: prefix, Limit: scanChunk}
			for {
				page, err := r.st.Scan(ctx, sh, index, q)
				if err != nil {
					errs[sh] = err
					return
				}
				parts[sh] = append(parts[sh], page...)
				if len(page) < scanChunk {
					return
				}
				q.After = page[len(page)-1]
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []store.IndexEntry
	for _, p := range parts {
		out = append(out, p...)
	}
	return out, nil
}

// ScanShard reads every entry of an index in one shard, in chunks.
func (r *Repo) ScanShard(ctx context.Context, shard int, index string) ([]store.IndexEntry, error) {
	var out []store.IndexEntry
	q := store.IndexQuery{Limit: scanChunk}
	for {
		page, err := r.st.Scan(ctx, shard, index, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < scanChunk {
			return out, nil
		}
		q.After = page[len(page)-1]
	}
}

// PriceVersions reads a page of an offering's price versions, newest first.
func (r *Repo) PriceVersions(ctx context.Context, oid string, after store.IndexEntry, limit int) ([]catalogue.PriceVersion, store.IndexEntry, error) {
	return listDocs[catalogue.PriceVersion](ctx, r.st, ShardOf(oid), "pv:"+oid, func(id string) string { n, _ := strconv.Atoi(id); return pvKey(oid, n) }, after, limit)
}

// ChangeLog reads a page of a change log (index chg:<provider> or chgo:<offering>), newest first.
func (r *Repo) ChangeLog(ctx context.Context, shardID, index string, after store.IndexEntry, limit int) ([]catalogue.ChangeLogEntry, store.IndexEntry, error) {
	return listDocs[catalogue.ChangeLogEntry](ctx, r.st, ShardOf(shardID), index, func(id string) string { return "chg/" + id }, after, limit)
}

func listDocs[T any](ctx context.Context, st store.Store, shard int, index string, key func(string) string, after store.IndexEntry, limit int) ([]T, store.IndexEntry, error) {
	entries, err := st.Scan(ctx, shard, index, store.IndexQuery{After: after, Limit: limit + 1, Reverse: true})
	if err != nil {
		return nil, store.IndexEntry{}, err
	}
	var next store.IndexEntry
	if len(entries) > limit {
		entries = entries[:limit]
		next = entries[limit-1]
	}
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = key(e.ID)
	}
	docs, err := st.GetMany(ctx, shard, keys...)
	if err != nil {
		return nil, store.IndexEntry{}, err
	}
	out := make([]T, 0, len(docs))
	for _, d := range docs {
		if d.Version == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(d.Value, &v); err != nil {
			return nil, store.IndexEntry{}, fmt.Errorf("decode %s: %w", index, err)
		}
		out = append(out, v)
	}
	return out, next, nil
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v) // plain structs: cannot fail
	return b
}
