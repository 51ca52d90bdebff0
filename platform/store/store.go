// Package store is the narrow storage port every Polku service writes through.
//
// A service owns one namespace ("clients", "referral", ...). The namespace is split
// into a fixed number of shards; every key of one aggregate (a client and all that
// hangs under it) lives in one shard, so that one atomic Batch only ever touches one
// shard. On Redis a shard is a hash tag ({ns:shard}), which keeps every batch inside
// one Redis Cluster slot; on the embedded engine a shard is only a key prefix.
//
// What the port offers, and nothing more:
//   - versioned documents with compare-and-set (Doc.Version, ErrConflict);
//   - secondary indexes: ordered (sortKey, id) entries, scanned per shard or merged
//     across all shards;
//   - atomic batches of document writes, index changes and event appends
//     (the outbox: an event is appended in the same batch as the state change);
//   - one event stream per shard, read through consumer groups with acknowledgement
//     and reclaiming of messages a crashed consumer left pending.
//
// Both adapters (redisstore, embedded) pass the one contract suite in storetest.
package store

import (
	"context"
	"errors"
	"hash/fnv"
	"time"
)

// Errors every adapter returns (wrapped or bare; test with errors.Is).
var (
	// ErrNotFound: the document does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a compare-and-set precondition failed (stale version).
	ErrConflict = errors.New("store: version conflict")
	// ErrExists: Create found the key already present.
	ErrExists = errors.New("store: already exists")
	// ErrBadShard: a shard number outside [0, Shards()) (a caller bug).
	ErrBadShard = errors.New("store: shard out of range")
)

// AllShards asks Scan to merge the index of every shard.
const AllShards = -1

// Doc is one versioned document. Version is 1 after Create and grows by one with
// each Put; it is what callers hand back as the expected version (and what the API
// layer turns into an etag).
type Doc struct {
	Key     string
	Value   []byte
	Version int64
}

// IndexEntry is one entry of a secondary index: entries sort by SortKey, then ID.
// A SortKey must not contain a NUL byte (Commit rejects it): NUL separates the
// two parts in the stored form, which keeps stored order equal to this order.
type IndexEntry struct {
	SortKey string
	ID      string
}

// IndexQuery selects a page of one index.
type IndexQuery struct {
	// Prefix keeps only entries whose SortKey starts with it ("" = all).
	Prefix string
	// After is the exclusive cursor: the last entry of the previous page
	// (zero value = from the start).
	After IndexEntry
	// Limit is the page size; 0 means 100.
	Limit int
	// Reverse walks from the largest entry down (newest first for time keys).
	Reverse bool
}

// Message is one event read from a shard's stream.
type Message struct {
	// ID is the adapter's stream position ("1700000000000-0" on Redis), unique per shard.
	ID      string
	Shard   int
	Payload []byte
}

// Store is one namespace of the store.
type Store interface {
	// Namespace is the name the store was opened with.
	Namespace() string
	// Shards is the fixed shard count of the namespace.
	Shards() int

	// Get returns the document or ErrNotFound.
	Get(ctx context.Context, shard int, key string) (Doc, error)
	// GetMany returns documents in the order of keys; missing ones have Version 0
	// and nil Value (no error).
	GetMany(ctx context.Context, shard int, keys ...string) ([]Doc, error)
	// Commit applies the batch atomically in one shard: every check passes and
	// every operation is applied, or nothing is (ErrConflict / ErrExists).
	Commit(ctx context.Context, shard int, b *Batch) error
	// Scan reads one page of an index in one shard, or merged over all shards
	// (shard == AllShards) in index order.
	Scan(ctx context.Context, shard int, index string, q IndexQuery) ([]IndexEntry, error)

	// ReadGroup returns up to count messages not yet delivered to the consumer
	// group, from every shard's stream, creating the group at the start of the
	// streams when it does not exist. It waits up to block for a message when
	// none is ready (0 = do not wait). Delivered messages stay pending until Ack.
	ReadGroup(ctx context.Context, group, consumer string, count int, block time.Duration) ([]Message, error)
	// Ack marks messages as processed by the group.
	Ack(ctx context.Context, group string, msgs ...Message) error
	// Claim hands this consumer up to count messages that another consumer of
	// the group took at least minIdle ago and never acknowledged (it crashed).
	Claim(ctx context.Context, group, consumer string, minIdle time.Duration, count int) ([]Message, error)

	// Ping reports whether the backing store answers (readiness).
	Ping(ctx context.Context) error
}

// Trimmer is a Store whose event streams can be trimmed, so they do not grow
// with every event ever emitted.
type Trimmer interface {
	// TrimEvents removes the events appended before before that every consumer
	// group has acknowledged (delivered and not pending), and returns how many
	// it removed. A consumer group created later starts at the oldest event
	// left; a group that lags keeps its events, however old.
	TrimEvents(ctx context.Context, before time.Time) (int64, error)
}

// Batch collects the operations of one atomic commit. The zero value is ready.
type Batch struct {
	Ops    []Op
	Events [][]byte
}

// OpKind says what an Op does.
type OpKind int

const (
	// OpCreate writes a new document (version 1); ErrExists if the key exists.
	OpCreate OpKind = iota + 1
	// OpPut replaces a document whose current version is Version; ErrConflict otherwise.
	OpPut
	// OpDelete removes a document whose current version is Version; ErrConflict otherwise.
	OpDelete
	// OpCheck writes nothing but fails the batch with ErrConflict unless the
	// document's current version is Version (0 = must not exist).
	OpCheck
	// OpIndexAdd adds (SortKey, ID) to Index; adding an existing entry is a no-op.
	OpIndexAdd
	// OpIndexRemove removes (SortKey, ID) from Index; removing a missing entry is a no-op.
	OpIndexRemove
)

// Op is one operation of a Batch.
type Op struct {
	Kind    OpKind
	Key     string
	Value   []byte
	Version int64
	Index   string
	Entry   IndexEntry
}

// Create adds a create of a new document.
func (b *Batch) Create(key string, value []byte) *Batch {
	b.Ops = append(b.Ops, Op{Kind: OpCreate, Key: key, Value: value})
	return b
}

// Put adds a compare-and-set write: it applies only if the document is at version.
func (b *Batch) Put(key string, value []byte, version int64) *Batch {
	b.Ops = append(b.Ops, Op{Kind: OpPut, Key: key, Value: value, Version: version})
	return b
}

// Delete adds a compare-and-set delete.
func (b *Batch) Delete(key string, version int64) *Batch {
	b.Ops = append(b.Ops, Op{Kind: OpDelete, Key: key, Version: version})
	return b
}

// Check adds a precondition on a document's version (0 = must not exist).
func (b *Batch) Check(key string, version int64) *Batch {
	b.Ops = append(b.Ops, Op{Kind: OpCheck, Key: key, Version: version})
	return b
}

// IndexAdd adds an index entry.
func (b *Batch) IndexAdd(index, sortKey, id string) *Batch {
	b.Ops = append(b.Ops, Op{Kind: OpIndexAdd, Index: index, Entry: IndexEntry{SortKey: sortKey, ID: id}})
	return b
}

// IndexRemove removes an index entry.
func (b *Batch) IndexRemove(index, sortKey, id string) *Batch {
	b.Ops = append(b.Ops, Op{Kind: OpIndexRemove, Index: index, Entry: IndexEntry{SortKey: sortKey, ID: id}})
	return b
}

// Emit appends an event payload to the shard's stream as part of the batch.
func (b *Batch) Emit(payload []byte) *Batch {
	b.Events = append(b.Events, payload)
	return b
}

// ShardOf maps an aggregate id to its shard (FNV-1a); stable forever for a given
// shard count, which is why a namespace's shard count never changes.
func ShardOf(id string, shards int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % uint32(shards))
}
