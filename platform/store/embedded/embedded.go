package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/store/internal/indexkey"
)

// ErrClosed is returned by a ReadGroup whose DB was closed while it waited.
var ErrClosed = errors.New("embedded: database closed")

// defaultCount is the ReadGroup/Claim count used for count <= 0.
const defaultCount = 100

var (
	bucketNS      = []byte("ns")
	bucketDocs    = []byte("docs")
	bucketIdx     = []byte("idx")
	bucketEvents  = []byte("events")
	bucketGroups  = []byte("groups")
	bucketPending = []byte("pending")
	keyLast       = []byte("last")
)

// DB is one store file shared by any number of namespaces.
type DB struct {
	bolt      *bolt.DB
	closed    chan struct{}
	closeOnce sync.Once

	mu      sync.Mutex
	signals map[string]*signal // by namespace, shared by every Store of it
}

// Open opens (creating if needed) the store file at path.
func Open(path string) (*DB, error) {
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	return &DB{bolt: b, closed: make(chan struct{}), signals: make(map[string]*signal)}, nil
}

// Close wakes every blocked ReadGroup (they return ErrClosed) and closes the file.
func (db *DB) Close() error {
	db.closeOnce.Do(func() { close(db.closed) })
	return db.bolt.Close()
}

// Namespace returns the store of one namespace. shards is fixed for the
// namespace's lifetime (store.ShardOf depends on it); a value below 1 is taken as 1.
func (db *DB) Namespace(name string, shards int) *Store {
	db.mu.Lock()
	defer db.mu.Unlock()
	sig := db.signals[name]
	if sig == nil {
		sig = newSignal()
		db.signals[name] = sig
	}
	return &Store{db: db, name: name, shards: max(shards, 1), events: sig}
}

// signal is a broadcast: waiters take the current channel, which is closed (and
// replaced) when events are committed.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }

func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

func (s *signal) broadcast() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.ch)
	s.ch = make(chan struct{})
}

// Store is one namespace of a DB.
type Store struct {
	db     *DB
	name   string
	shards int
	events *signal
	// turn rotates the shard ReadGroup and Claim start from, so that a busy
	// shard cannot starve the others.
	turn atomic.Uint32
}

var _ store.Store = (*Store)(nil)

// Namespace implements store.Store.
func (s *Store) Namespace() string { return s.name }

// Shards implements store.Store.
func (s *Store) Shards() int { return s.shards }

func (s *Store) checkShard(shard int) error {
	if shard < 0 || shard >= s.shards {
		return fmt.Errorf("%w: %d of %d", store.ErrBadShard, shard, s.shards)
	}
	return nil
}

// shardBucket returns the shard's bucket, or nil when nothing was written to it.
func (s *Store) shardBucket(tx *bolt.Tx, shard int) *bolt.Bucket {
	ns := tx.Bucket(bucketNS)
	if ns == nil {
		return nil
	}
	b := ns.Bucket([]byte(s.name))
	if b == nil {
		return nil
	}
	return b.Bucket(shardName(shard))
}

// createShardBucket returns the shard's bucket, creating it and its fixed
// sub-buckets on first use.
func (s *Store) createShardBucket(tx *bolt.Tx, shard int) (*bolt.Bucket, error) {
	b, err := tx.CreateBucketIfNotExists(bucketNS)
	if err != nil {
		return nil, err
	}
	if b, err = b.CreateBucketIfNotExists([]byte(s.name)); err != nil {
		return nil, err
	}
	if b, err = b.CreateBucketIfNotExists(shardName(shard)); err != nil {
		return nil, err
	}
	for _, name := range [][]byte{bucketDocs, bucketIdx, bucketEvents, bucketGroups} {
		if _, err := b.CreateBucketIfNotExists(name); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func shardName(shard int) []byte { return []byte(strconv.Itoa(shard)) }

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// readU64 decodes u64; absent (nil) reads as 0.
func readU64(b []byte) uint64 {
	if len(b) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func encodeDoc(version int64, value []byte) []byte {
	return append(u64(uint64(version)), value...)
}

// decodeDoc copies the document out of bbolt's memory, which is only valid
// during the transaction. An absent document has Version 0.
func decodeDoc(key string, raw []byte) store.Doc {
	if raw == nil {
		return store.Doc{Key: key}
	}
	return store.Doc{Key: key, Version: int64(readU64(raw)), Value: append([]byte{}, raw[8:]...)}
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, shard int, key string) (store.Doc, error) {
	docs, err := s.GetMany(ctx, shard, key)
	if err != nil {
		return store.Doc{}, err
	}
	if docs[0].Version == 0 {
		return store.Doc{}, fmt.Errorf("%w: %q", store.ErrNotFound, key)
	}
	return docs[0], nil
}

// GetMany implements store.Store.
func (s *Store) GetMany(ctx context.Context, shard int, keys ...string) ([]store.Doc, error) {
	if err := s.checkShard(shard); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	docs := make([]store.Doc, len(keys))
	err := s.db.bolt.View(func(tx *bolt.Tx) error {
		var b *bolt.Bucket
		if sb := s.shardBucket(tx, shard); sb != nil {
			b = sb.Bucket(bucketDocs)
		}
		for i, key := range keys {
			var raw []byte
			if b != nil {
				raw = b.Get([]byte(key))
			}
			docs[i] = decodeDoc(key, raw)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: get: %w", err)
	}
	return docs, nil
}

// Commit implements store.Store.
func (s *Store) Commit(ctx context.Context, shard int, b *store.Batch) error {
	if err := s.checkShard(shard); err != nil {
		return err
	}
	if b == nil || (len(b.Ops) == 0 && len(b.Events) == 0) {
		return nil
	}
	for _, op := range b.Ops {
		if op.Kind < store.OpCreate || op.Kind > store.OpIndexRemove {
			return fmt.Errorf("embedded: unknown op kind %d", op.Kind)
		}
		if op.Kind == store.OpIndexAdd || op.Kind == store.OpIndexRemove {
			if err := indexkey.Validate(op.Entry); err != nil {
				return err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.bolt.Update(func(tx *bolt.Tx) error {
		sb, err := s.createShardBucket(tx, shard)
		if err != nil {
			return err
		}
		docs := sb.Bucket(bucketDocs)
		if err := checkBatch(docs, b.Ops); err != nil {
			return err
		}
		if err := applyBatch(sb, b.Ops); err != nil {
			return err
		}
		events := sb.Bucket(bucketEvents)
		for _, payload := range b.Events {
			seq, err := events.NextSequence()
			if err != nil {
				return err
			}
			if err := events.Put(u64(seq), payload); err != nil {
				return err
			}
		}
		if len(b.Events) > 0 {
			tx.OnCommit(s.events.broadcast)
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) {
		return err
	}
	if err != nil {
		return fmt.Errorf("embedded: commit: %w", err)
	}
	return nil
}

// checkBatch checks every precondition, each against the version the batch's
// earlier ops leave the document at, before anything is written.
func checkBatch(docs *bolt.Bucket, ops []store.Op) error {
	cur := make(map[string]int64)
	version := func(key string) int64 {
		v, ok := cur[key]
		if !ok {
			v = decodeDoc(key, docs.Get([]byte(key))).Version
			cur[key] = v
		}
		return v
	}
	for _, op := range ops {
		switch op.Kind {
		case store.OpCreate:
			if version(op.Key) != 0 {
				return fmt.Errorf("%w: %q", store.ErrExists, op.Key)
			}
			cur[op.Key] = 1
		case store.OpPut, store.OpDelete:
			v := version(op.Key)
			if v == 0 || v != op.Version {
				return fmt.Errorf("%w: %q", store.ErrConflict, op.Key)
			}
			if op.Kind == store.OpPut {
				cur[op.Key] = v + 1
			} else {
				cur[op.Key] = 0
			}
		case store.OpCheck:
			if version(op.Key) != op.Version {
				return fmt.Errorf("%w: %q", store.ErrConflict, op.Key)
			}
		}
	}
	return nil
}

// applyBatch writes the ops of a batch whose preconditions hold.
func applyBatch(sb *bolt.Bucket, ops []store.Op) error {
	docs, idx := sb.Bucket(bucketDocs), sb.Bucket(bucketIdx)
	for _, op := range ops {
		var err error
		switch op.Kind {
		case store.OpCreate:
			err = docs.Put([]byte(op.Key), encodeDoc(1, op.Value))
		case store.OpPut:
			err = docs.Put([]byte(op.Key), encodeDoc(op.Version+1, op.Value))
		case store.OpDelete:
			err = docs.Delete([]byte(op.Key))
		case store.OpIndexAdd:
			var b *bolt.Bucket
			if b, err = idx.CreateBucketIfNotExists([]byte(op.Index)); err == nil {
				err = b.Put([]byte(indexkey.Encode(op.Entry)), []byte{})
			}
		case store.OpIndexRemove:
			if b := idx.Bucket([]byte(op.Index)); b != nil {
				err = b.Delete([]byte(indexkey.Encode(op.Entry)))
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Scan implements store.Store.
func (s *Store) Scan(ctx context.Context, shard int, index string, q store.IndexQuery) ([]store.IndexEntry, error) {
	shards := []int{shard}
	if shard == store.AllShards {
		shards = make([]int, s.shards)
		for i := range shards {
			shards[i] = i
		}
	} else if err := s.checkShard(shard); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, limit := indexkey.RangeOf(q), indexkey.Limit(q)
	pages := make([][]store.IndexEntry, len(shards))
	err := s.db.bolt.View(func(tx *bolt.Tx) error {
		for i, sh := range shards {
			if sb := s.shardBucket(tx, sh); sb != nil {
				pages[i] = scanIndex(sb.Bucket(bucketIdx).Bucket([]byte(index)), r, q.Reverse, limit)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: scan %q: %w", index, err)
	}
	return indexkey.Merge(pages, q.Reverse, limit), nil
}

// scanIndex reads up to limit entries of r from one index bucket (nil = empty).
func scanIndex(b *bolt.Bucket, r indexkey.Range, reverse bool, limit int) []store.IndexEntry {
	out := []store.IndexEntry{}
	if b == nil || r.Empty {
		return out
	}
	c := b.Cursor()
	var k []byte
	next := c.Next
	switch {
	case !reverse && r.NoLo:
		k, _ = c.First()
	case !reverse:
		if k, _ = c.Seek([]byte(r.Lo)); k != nil && r.LoExclusive && string(k) == r.Lo {
			k, _ = c.Next()
		}
	case r.NoHi:
		k, _ = c.Last()
		next = c.Prev
	default:
		// Seek finds the first key >= Hi; Hi is exclusive, so start just before it.
		if k, _ = c.Seek([]byte(r.Hi)); k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		next = c.Prev
	}
	// Walking away from the start bound, the first key out of range ends the page.
	for ; k != nil && len(out) < limit && r.Contains(string(k)); k, _ = next() {
		out = append(out, indexkey.Decode(string(k)))
	}
	return out
}

// rotation is every shard, starting from the next one in turn.
func (s *Store) rotation() []int {
	start := int(s.turn.Add(1) % uint32(s.shards))
	order := make([]int, s.shards)
	for i := range order {
		order[i] = (start + i) % s.shards
	}
	return order
}

// ReadGroup implements store.Store.
func (s *Store) ReadGroup(ctx context.Context, group, consumer string, count int, block time.Duration) ([]store.Message, error) {
	if count <= 0 {
		count = defaultCount
	}
	var timeout <-chan time.Time
	if block > 0 {
		t := time.NewTimer(block)
		defer t.Stop()
		timeout = t.C
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Take the wake-up channel before reading, so that an event committed
		// after the read has already closed it.
		wake := s.events.wait()
		msgs, err := s.deliver(group, consumer, count)
		if err != nil || len(msgs) > 0 || timeout == nil {
			return msgs, err
		}
		select {
		case <-wake:
		case <-timeout:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.db.closed:
			return nil, ErrClosed
		}
	}
}

// groupLast is the group's last delivered sequence in the shard (0 = none).
func groupLast(sb *bolt.Bucket, group string) uint64 {
	if g := sb.Bucket(bucketGroups).Bucket([]byte(group)); g != nil {
		return readU64(g.Get(keyLast))
	}
	return 0
}

// deliver hands up to count undelivered messages to consumer and marks them pending.
func (s *Store) deliver(group, consumer string, count int) ([]store.Message, error) {
	order := s.rotation()
	// Look first in a read-only transaction: an idle consumer polls, and a
	// read-write transaction costs an fsync even when it changes nothing.
	ready := false
	err := s.db.bolt.View(func(tx *bolt.Tx) error {
		for _, shard := range order {
			if sb := s.shardBucket(tx, shard); sb != nil {
				last, _ := sb.Bucket(bucketEvents).Cursor().Last()
				if readU64(last) > groupLast(sb, group) {
					ready = true
					return nil
				}
			}
		}
		return nil
	})
	if err != nil || !ready {
		return nil, wrap("read group", err)
	}

	var msgs []store.Message
	err = s.db.bolt.Update(func(tx *bolt.Tx) error {
		delivered := pendingValue(time.Now(), consumer)
		for _, shard := range order {
			if len(msgs) == count {
				break
			}
			sb := s.shardBucket(tx, shard)
			if sb == nil {
				continue
			}
			last := groupLast(sb, group)
			c := sb.Bucket(bucketEvents).Cursor()
			k, v := c.Seek(u64(last + 1))
			if k == nil {
				continue
			}
			g, err := sb.Bucket(bucketGroups).CreateBucketIfNotExists([]byte(group))
			if err != nil {
				return err
			}
			pending, err := g.CreateBucketIfNotExists(bucketPending)
			if err != nil {
				return err
			}
			for ; k != nil && len(msgs) < count; k, v = c.Next() {
				last = readU64(k)
				if err := pending.Put(u64(last), delivered); err != nil {
					return err
				}
				msgs = append(msgs, message(shard, last, v))
			}
			if err := g.Put(keyLast, u64(last)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap("read group", err)
	}
	return msgs, nil
}

// pendingValue is a pending entry: delivery time, then consumer.
func pendingValue(at time.Time, consumer string) []byte {
	return append(u64(uint64(at.UnixNano())), consumer...)
}

func message(shard int, seq uint64, payload []byte) store.Message {
	return store.Message{ID: fmt.Sprintf("%020d", seq), Shard: shard, Payload: append([]byte{}, payload...)}
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("embedded: %s: %w", what, err)
}

// Ack implements store.Store.
func (s *Store) Ack(ctx context.Context, group string, msgs ...store.Message) error {
	seqs := make([]uint64, len(msgs))
	for i, m := range msgs {
		if err := s.checkShard(m.Shard); err != nil {
			return err
		}
		seq, err := strconv.ParseUint(m.ID, 10, 64)
		if err != nil {
			return fmt.Errorf("embedded: ack: bad message id %q", m.ID)
		}
		seqs[i] = seq
	}
	if len(msgs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return wrap("ack", s.db.bolt.Update(func(tx *bolt.Tx) error {
		for i, m := range msgs {
			if p := pendingBucket(s.shardBucket(tx, m.Shard), group); p != nil {
				if err := p.Delete(u64(seqs[i])); err != nil {
					return err
				}
			}
		}
		return nil
	}))
}

// pendingBucket is the group's pending list in the shard, or nil.
func pendingBucket(sb *bolt.Bucket, group string) *bolt.Bucket {
	if sb == nil {
		return nil
	}
	if g := sb.Bucket(bucketGroups).Bucket([]byte(group)); g != nil {
		return g.Bucket(bucketPending)
	}
	return nil
}

// Claim implements store.Store.
func (s *Store) Claim(ctx context.Context, group, consumer string, minIdle time.Duration, count int) ([]store.Message, error) {
	if count <= 0 {
		count = defaultCount
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	order := s.rotation()
	// idle lists up to count pending sequences per shard delivered before cutoff.
	idle := func(tx *bolt.Tx, cutoff uint64) map[int][]uint64 {
		found, n := make(map[int][]uint64), 0
		for _, shard := range order {
			p := pendingBucket(s.shardBucket(tx, shard), group)
			if p == nil {
				continue
			}
			c := p.Cursor()
			for k, v := c.First(); k != nil && n < count; k, v = c.Next() {
				if readU64(v) <= cutoff {
					found[shard] = append(found[shard], readU64(k))
					n++
				}
			}
		}
		return found
	}

	now := time.Now()
	cutoff := uint64(now.Add(-minIdle).UnixNano())
	found := false
	// Read-only first, as in deliver: Claim is polled and usually finds nothing.
	err := s.db.bolt.View(func(tx *bolt.Tx) error {
		found = len(idle(tx, cutoff)) > 0
		return nil
	})
	if err != nil || !found {
		return nil, wrap("claim", err)
	}

	var msgs []store.Message
	err = s.db.bolt.Update(func(tx *bolt.Tx) error {
		claimed := pendingValue(now, consumer)
		for shard, seqs := range idle(tx, cutoff) {
			sb := s.shardBucket(tx, shard)
			p, events := pendingBucket(sb, group), sb.Bucket(bucketEvents)
			for _, seq := range seqs {
				if err := p.Put(u64(seq), claimed); err != nil {
					return err
				}
				msgs = append(msgs, message(shard, seq, events.Get(u64(seq))))
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap("claim", err)
	}
	return msgs, nil
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return wrap("ping", s.db.bolt.View(func(*bolt.Tx) error { return nil }))
}
