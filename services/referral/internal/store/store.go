// Package store keeps the referral service's records in the platform store
// port.
//
// Layout (namespace "referral", Shards shards). A referral is its own
// aggregate: it and its escalations live in the shard of the referral id
// (store.ShardOf(id, Shards)), so each state change, its escalation records,
// its index moves and its event are one atomic batch.
//
//	ref/<referral>                 a referral (JSON of referral.Referral)
//	esc/<referral>/<escalation>    an escalation (id deterministic: kind, due, level)
//
// Indexes, kept per shard and merged at read time (store.AllShards):
//
//	open:<sender>       the sender's open referrals (sort key: update time)
//	inbox:<provider>    referrals sent to a provider (sort key: send time)
//	client:<client>     a client's referrals (sort key: create time)
//	region:<region>     all referrals of a region (sort key: create time)
//	due                 referrals with a pending escalation (sort key: when)
//	escs:<region>       a region's escalations (sort key: escalate time)
//	escs:w:<sender>     a sender's escalations (sort key: escalate time)
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/referral/internal/referral"
)

// Namespace and shard count; the count never changes once data exists.
const (
	Namespace = "referral"
	Shards    = 16
)

// Errors of the repository.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("concurrent modification")
)

// Repo is the referral repository.
type Repo struct {
	st     store.Store
	policy referral.Policy
}

// New wraps a store namespace.
func New(st store.Store, p referral.Policy) *Repo { return &Repo{st: st, policy: p} }

// ShardOf is the shard of a referral id.
func ShardOf(id string) int { return store.ShardOf(id, Shards) }

// TimeKey formats a time as a sortable index key.
func TimeKey(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

func refKey(id string) string        { return "ref/" + id }
func escKey(ref, esc string) string  { return "esc/" + ref + "/" + esc }
func OpenIndex(sender string) string { return "open:" + sender }
func InboxIndex(prov string) string  { return "inbox:" + prov }
func ClientIndex(c string) string    { return "client:" + c }
func RegionIndex(r string) string    { return "region:" + r }
func EscRegionIndex(r string) string { return "escs:" + r }
func EscSenderIndex(s string) string { return "escs:w:" + s }

// DueIndex is the index of pending escalations.
const DueIndex = "due"

// Referral reads a referral and its version.
func (r *Repo) Referral(ctx context.Context, id string) (*referral.Referral, int64, error) {
	doc, err := r.st.Get(ctx, ShardOf(id), refKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, err
	}
	var x referral.Referral
	if err := json.Unmarshal(doc.Value, &x); err != nil {
		return nil, 0, fmt.Errorf("decode referral: %w", err)
	}
	return &x, doc.Version, nil
}

// Escalations reads escalations of a referral by id (missing ones skipped),
// with their versions.
func (r *Repo) Escalations(ctx context.Context, refID string, escIDs ...string) ([]*referral.Escalation, []int64, error) {
	if len(escIDs) == 0 {
		return nil, nil, nil
	}
	keys := make([]string, len(escIDs))
	for i, e := range escIDs {
		keys[i] = escKey(refID, e)
	}
	docs, err := r.st.GetMany(ctx, ShardOf(refID), keys...)
	if err != nil {
		return nil, nil, err
	}
	var out []*referral.Escalation
	var vs []int64
	for _, d := range docs {
		if d.Version == 0 {
			continue
		}
		var e referral.Escalation
		if err := json.Unmarshal(d.Value, &e); err != nil {
			return nil, nil, fmt.Errorf("decode escalation: %w", err)
		}
		out = append(out, &e)
		vs = append(vs, d.Version)
	}
	return out, vs, nil
}

// Write collects the changes of one referral made atomically.
type Write struct {
	ref string
	b   store.Batch
	p   referral.Policy
}

// NewWrite starts a batch for a referral.
func (r *Repo) NewWrite(refID string) *Write { return &Write{ref: refID, p: r.policy} }

// Referral writes a referral (version 0 creates it), keeping its indexes in
// step with before (nil for a new referral).
func (w *Write) Referral(before, after *referral.Referral, version int64) *Write {
	b := mustJSON(after)
	if version == 0 {
		w.b.Create(refKey(after.ID), b)
	} else {
		w.b.Put(refKey(after.ID), b, version)
	}
	for _, e := range entries(before, w.p) {
		w.b.IndexRemove(e[0], e[1], e[2])
	}
	for _, e := range entries(after, w.p) {
		w.b.IndexAdd(e[0], e[1], e[2])
	}
	return w
}

func entries(x *referral.Referral, p referral.Policy) [][3]string {
	if x == nil {
		return nil
	}
	out := [][3]string{
		{ClientIndex(x.ClientID), TimeKey(x.CreateTime), x.ID},
		{RegionIndex(x.Region), TimeKey(x.CreateTime), x.ID},
	}
	if x.State.Open() {
		out = append(out, [3]string{OpenIndex(x.Sender), TimeKey(x.UpdateTime), x.ID})
	}
	if x.WasSent() {
		out = append(out, [3]string{InboxIndex(x.RecipientProvider), TimeKey(x.SendTime), x.ID})
	}
	if at, _, ok := x.NextEscalation(p); ok {
		out = append(out, [3]string{DueIndex, TimeKey(at), x.ID})
	}
	return out
}

// Escalation writes an escalation (version 0 creates it: a twin from another
// replica makes the commit fail with ErrConflict).
func (w *Write) Escalation(e *referral.Escalation, version int64) *Write {
	if version == 0 {
		w.b.Create(escKey(e.ReferralID, e.ID), mustJSON(e))
		k := TimeKey(e.EscalateTime)
		id := e.ReferralID + "/" + e.ID
		w.b.IndexAdd(EscRegionIndex(e.Region), k, id)
		w.b.IndexAdd(EscSenderIndex(e.Sender), k, id)
	} else {
		w.b.Put(escKey(e.ReferralID, e.ID), mustJSON(e), version)
	}
	return w
}

// Emit appends events.
func (w *Write) Emit(evs ...events.Envelope) *Write {
	for _, e := range evs {
		w.b.Emit(e.Marshal())
	}
	return w
}

// Commit applies the write atomically; a stale version or a twin create is
// ErrConflict.
func (r *Repo) Commit(ctx context.Context, w *Write) error {
	err := r.st.Commit(ctx, ShardOf(w.ref), &w.b)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) {
		return ErrConflict
	}
	return err
}

// Scan pages an index merged over all shards.
func (r *Repo) Scan(ctx context.Context, index string, after store.IndexEntry, limit int, reverse bool) ([]store.IndexEntry, error) {
	return r.st.Scan(ctx, store.AllShards, index, store.IndexQuery{After: after, Limit: limit, Reverse: reverse})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode: %v", err)) // plain structs cannot fail
	}
	return b
}

// Webhook records live in the provider's shard (scope "provider/<id>"):
//
//	sub/<provider>/<subscription>   a subscription (with its secret)
//	dlv/<provider>/<delivery>       a delivery and its attempts
//	subs:<provider>                 the provider's subscriptions (create time)
//	dlvs:<provider>                 the provider's delivery log (create time)
//	pending                         deliveries to attempt (sort key: next
//	                                attempt time; id "<provider>/<delivery>"),
//	                                per shard, merged
const PendingIndex = "pending"

// ProviderScope is the shard scope of a provider's webhook records.
func ProviderScope(providerID string) string { return "provider/" + providerID }

func subKey(p, s string) string { return "sub/" + p + "/" + s }
func dlvKey(p, d string) string { return "dlv/" + p + "/" + d }

// SubsIndex and DeliveriesIndex are a provider's lists.
func SubsIndex(p string) string       { return "subs:" + p }
func DeliveriesIndex(p string) string { return "dlvs:" + p }

// Subscription reads a subscription.
func (r *Repo) Subscription(ctx context.Context, providerID, id string) (*referral.Subscription, int64, error) {
	var s referral.Subscription
	v, err := r.getJSON(ctx, ProviderScope(providerID), subKey(providerID, id), &s)
	return &s, v, err
}

// Delivery reads a delivery.
func (r *Repo) Delivery(ctx context.Context, providerID, id string) (*referral.Delivery, int64, error) {
	var d referral.Delivery
	v, err := r.getJSON(ctx, ProviderScope(providerID), dlvKey(providerID, id), &d)
	return &d, v, err
}

func (r *Repo) getJSON(ctx context.Context, scope, key string, into any) (int64, error) {
	doc, err := r.st.Get(ctx, store.ShardOf(scope, Shards), key)
	if errors.Is(err, store.ErrNotFound) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(doc.Value, into); err != nil {
		return 0, fmt.Errorf("decode: %w", err)
	}
	return doc.Version, nil
}

// ScanProvider pages one of a provider's indexes (newest first).
func (r *Repo) ScanProvider(ctx context.Context, providerID, index string, after store.IndexEntry, limit int) ([]store.IndexEntry, error) {
	return r.st.Scan(ctx, store.ShardOf(ProviderScope(providerID), Shards), index, store.IndexQuery{After: after, Limit: limit, Reverse: true})
}

// PWrite collects changes of one provider's webhook records.
type PWrite struct {
	provider string
	b        store.Batch
}

// NewProviderWrite starts a batch in a provider's shard.
func (r *Repo) NewProviderWrite(providerID string) *PWrite { return &PWrite{provider: providerID} }

// Subscription writes a subscription (version 0 creates it); deleted removes it.
func (w *PWrite) Subscription(s *referral.Subscription, version int64, deleted bool) *PWrite {
	k := subKey(w.provider, s.ID)
	switch {
	case deleted:
		w.b.Delete(k, version)
		w.b.IndexRemove(SubsIndex(w.provider), TimeKey(s.CreateTime), s.ID)
	case version == 0:
		w.b.Create(k, mustJSON(s))
		w.b.IndexAdd(SubsIndex(w.provider), TimeKey(s.CreateTime), s.ID)
	default:
		w.b.Put(k, mustJSON(s), version)
	}
	return w
}

// Delivery writes a delivery (version 0 creates it), moving its pending entry
// from before (nil for a new one).
func (w *PWrite) Delivery(before, d *referral.Delivery, version int64) *PWrite {
	k := dlvKey(w.provider, d.ID)
	if version == 0 {
		w.b.Create(k, mustJSON(d))
		w.b.IndexAdd(DeliveriesIndex(w.provider), TimeKey(d.CreateTime), d.ID)
	} else {
		w.b.Put(k, mustJSON(d), version)
	}
	id := w.provider + "/" + d.ID
	if before != nil && !before.NextAttemptTime.IsZero() {
		w.b.IndexRemove(PendingIndex, TimeKey(before.NextAttemptTime), id)
	}
	if !d.NextAttemptTime.IsZero() {
		w.b.IndexAdd(PendingIndex, TimeKey(d.NextAttemptTime), id)
	}
	return w
}

// CommitProvider applies a provider write atomically.
func (r *Repo) CommitProvider(ctx context.Context, w *PWrite) error {
	err := r.st.Commit(ctx, store.ShardOf(ProviderScope(w.provider), Shards), &w.b)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) {
		return ErrConflict
	}
	return err
}
