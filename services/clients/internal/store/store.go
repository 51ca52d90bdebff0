// Package store keeps the clients service's records in the platform store port.
//
// Layout (namespace "clients", Shards shards). A client and everything under it
// live in the client's shard (store.ShardOf(client id)):
//
//	client/<id>                   the client document (JSON of client.Client)
//	pic/<keyed hash>              uniqueness of the identity code -> client id
//	req/<scope>/<request id>      idempotency: the resource a request made
//	access/<client>/<entry id>    one access-log entry
//	timeline/<client>/<event id>  one timeline entry (the event id makes it once-only)
//
// Indexes (sort key = UTC time, fixed width, so pages read newest first):
//
//	member:<subject>     clients whose team the subject is in (per shard, merged)
//	region:<region>      clients of a region (per shard, merged)
//	access:<client>      the client's access log
//	timeline:<client>    the client's timeline
//
// A new client is placed in the shard of its identity-code hash (or of its
// request id when it has no code), so the uniqueness key, the idempotency key and
// the client document are written by one atomic batch.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/clients/internal/client"
)

// Namespace and shard count of the clients service; the count never changes
// once data exists (keys are placed by it).
const (
	Namespace = "clients"
	Shards    = 16
)

// Errors of the repository.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("concurrent modification")
	ErrDuplicatePIC = errors.New("a client with this identity code exists")
)

// Repo is the clients repository.
type Repo struct{ st store.Store }

// New wraps a store namespace.
func New(st store.Store) *Repo { return &Repo{st: st} }

// Store is the underlying namespace (for consumers of its event stream).
func (r *Repo) Store() store.Store { return r.st }

// ShardOf is the shard of a client id.
func ShardOf(id string) int { return store.ShardOf(id, Shards) }

// TimeKey formats a time as a sortable index key.
func TimeKey(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

func clientKey(id string) string { return "client/" + id }

// ReqKey is the idempotency key of a request in a scope (a client id, or "create").
func ReqKey(scope, requestID string) string { return "req/" + scope + "/" + requestID }

// Get reads a client and its version.
func (r *Repo) Get(ctx context.Context, id string) (*client.Client, int64, error) {
	doc, err := r.st.Get(ctx, ShardOf(id), clientKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, err
	}
	var c client.Client
	if err := json.Unmarshal(doc.Value, &c); err != nil {
		return nil, 0, fmt.Errorf("decode client: %w", err)
	}
	return &c, doc.Version, nil
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

// Create writes a new client with its uniqueness and idempotency keys and event.
func (r *Repo) Create(ctx context.Context, c *client.Client, reqKey string, ev events.Envelope) error {
	shard := ShardOf(c.ID)
	b := &store.Batch{}
	b.Create(clientKey(c.ID), mustJSON(c))
	if c.PICHash != "" {
		b.Create("pic/"+c.PICHash, []byte(c.ID))
	}
	if reqKey != "" {
		b.Create(reqKey, []byte(c.ID))
	}
	indexDiff(b, nil, c)
	b.Emit(ev.Marshal())
	err := r.st.Commit(ctx, shard, b)
	if errors.Is(err, store.ErrExists) {
		// Which key existed? The request key is checked before Create is called,
		// so a concurrent twin or the identity code. Tell them apart by reading.
		if reqKey != "" {
			if _, ok, _ := r.RequestResult(ctx, shard, reqKey); ok {
				return ErrConflict
			}
		}
		return ErrDuplicatePIC
	}
	return err
}

// Update replaces a client at version, keeping indexes in step, recording the
// request key and emitting the events, all in one batch.
func (r *Repo) Update(ctx context.Context, before, after *client.Client, version int64, reqKey, result string, evs ...events.Envelope) error {
	b := &store.Batch{}
	b.Put(clientKey(after.ID), mustJSON(after), version)
	if reqKey != "" {
		b.Create(reqKey, []byte(result))
	}
	indexDiff(b, before, after)
	for _, e := range evs {
		b.Emit(e.Marshal())
	}
	err := r.st.Commit(ctx, ShardOf(after.ID), b)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) {
		return ErrConflict
	}
	return err
}

// indexDiff adds the index changes between two versions of a client (before nil
// for a new one).
func indexDiff(b *store.Batch, before, after *client.Client) {
	key := TimeKey(after.CreateTime)
	members := func(c *client.Client) []string {
		if c == nil {
			return nil
		}
		var out []string
		for _, m := range c.Team {
			if m.Subject != "" && !slices.Contains(out, m.Subject) {
				out = append(out, m.Subject)
			}
		}
		return out
	}
	old, cur := members(before), members(after)
	for _, s := range old {
		if !slices.Contains(cur, s) {
			b.IndexRemove("member:"+s, key, after.ID)
		}
	}
	for _, s := range cur {
		if !slices.Contains(old, s) {
			b.IndexAdd("member:"+s, key, after.ID)
		}
	}
	if before == nil {
		b.IndexAdd("region:"+after.Region, key, after.ID)
	}
}

// ListIndex returns a page of client ids from an index over all shards, newest first.
func (r *Repo) ListIndex(ctx context.Context, index string, after store.IndexEntry, limit int) ([]store.IndexEntry, error) {
	return r.st.Scan(ctx, store.AllShards, index, store.IndexQuery{After: after, Limit: limit, Reverse: true})
}

// AppendAccess records one read of a client's data.
func (r *Repo) AppendAccess(ctx context.Context, e client.AccessEntry) error {
	b := &store.Batch{}
	b.Create("access/"+e.ClientID+"/"+e.ID, mustJSON(e))
	b.IndexAdd("access:"+e.ClientID, TimeKey(e.Time), e.ID)
	return r.st.Commit(ctx, ShardOf(e.ClientID), b)
}

// ListAccess returns a page of the access log, newest first.
func (r *Repo) ListAccess(ctx context.Context, clientID string, after store.IndexEntry, limit int) ([]client.AccessEntry, store.IndexEntry, error) {
	return listDocs[client.AccessEntry](ctx, r.st, clientID, "access", after, limit)
}

// AddTimeline files a timeline entry once: a redelivered event is a no-op.
func (r *Repo) AddTimeline(ctx context.Context, e client.TimelineEntry) error {
	b := &store.Batch{}
	b.Create("timeline/"+e.ClientID+"/"+e.ID, mustJSON(e))
	b.IndexAdd("timeline:"+e.ClientID, TimeKey(e.Time), e.ID)
	err := r.st.Commit(ctx, ShardOf(e.ClientID), b)
	if errors.Is(err, store.ErrExists) {
		return nil
	}
	return err
}

// ListTimeline returns a page of the timeline, newest first.
func (r *Repo) ListTimeline(ctx context.Context, clientID string, after store.IndexEntry, limit int) ([]client.TimelineEntry, store.IndexEntry, error) {
	return listDocs[client.TimelineEntry](ctx, r.st, clientID, "timeline", after, limit)
}

// listDocs reads one page of a per-client index and the documents it points to.
// The returned entry is the cursor of the next page (zero when this was the last).
func listDocs[T any](ctx context.Context, st store.Store, clientID, kind string, after store.IndexEntry, limit int) ([]T, store.IndexEntry, error) {
	shard := ShardOf(clientID)
	// One extra entry tells whether another page follows.
	entries, err := st.Scan(ctx, shard, kind+":"+clientID, store.IndexQuery{After: after, Limit: limit + 1, Reverse: true})
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
		keys[i] = kind + "/" + clientID + "/" + e.ID
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
			return nil, store.IndexEntry{}, fmt.Errorf("decode %s: %w", kind, err)
		}
		out = append(out, v)
	}
	return out, next, nil
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v) // plain structs of strings, times and slices: cannot fail
	return b
}
