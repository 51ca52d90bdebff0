package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/store/internal/indexkey"
)

const (
	// defaultCount is the ReadGroup/Claim count used for count <= 0.
	defaultCount = 100
	// waitSlice bounds one blocking Redis call (go-redis cannot abort a command
	// already sent, so this is how long a cancelled ctx may go unnoticed), and is
	// the polling interval of a Cluster client waiting for events.
	waitSlice = 100 * time.Millisecond
)

// Store is one namespace on Redis.
type Store struct {
	client    redis.UniversalClient
	namespace string
	shards    int
	// single is set for a client that talks to one server (standalone or
	// Sentinel), where one command or script may touch every shard's keys.
	single bool
	// turn rotates the shard ReadGroup and Claim start from, so that a busy
	// shard cannot starve the others.
	turn atomic.Uint32
	// waitReplicas and waitTimeout: see WithWaitReplicas.
	waitReplicas int
	waitTimeout  time.Duration
}

// ErrNotReplicated is returned by Commit with WithWaitReplicas when the batch
// was applied on the primary but fewer replicas than asked confirmed it within
// the timeout. The outcome is then unknown to the caller (a failover may still
// lose it), so services answer UNAVAILABLE and the caller retries with the
// same request id, which finds the batch's idempotency key if it survived.
var ErrNotReplicated = errors.New("redisstore: batch not confirmed by enough replicas")

// Option configures a Store.
type Option func(*Store)

// WithWaitReplicas makes every Commit wait (Redis WAIT, on the connection that
// ran the batch) until n replicas have the batch, at most timeout, and fail
// with ErrNotReplicated when fewer do. It narrows what a Sentinel failover can
// lose to batches that were not acknowledged to anyone. Only for a client that
// talks to one primary (standalone or Sentinel); n <= 0 turns it off.
func WithWaitReplicas(n int, timeout time.Duration) Option {
	return func(s *Store) { s.waitReplicas, s.waitTimeout = n, timeout }
}

var _ store.Store = (*Store)(nil)

// New returns the namespace on client. shards is fixed for the namespace's
// lifetime (store.ShardOf depends on it); a value below 1 is taken as 1.
func New(client redis.UniversalClient, namespace string, shards int, opts ...Option) *Store {
	_, single := client.(*redis.Client)
	s := &Store{client: client, namespace: namespace, shards: max(shards, 1), single: single}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Namespace implements store.Store.
func (s *Store) Namespace() string { return s.namespace }

// Shards implements store.Store.
func (s *Store) Shards() int { return s.shards }

func (s *Store) keyPrefix(shard int) string {
	return "polku:{" + s.namespace + ":" + strconv.Itoa(shard) + "}:"
}

func (s *Store) docKey(shard int, key string) string     { return s.keyPrefix(shard) + "d:" + key }
func (s *Store) indexKey(shard int, index string) string { return s.keyPrefix(shard) + "i:" + index }
func (s *Store) streamKey(shard int) string              { return s.keyPrefix(shard) + "events" }

func (s *Store) checkShard(shard int) error {
	if shard < 0 || shard >= s.shards {
		return fmt.Errorf("%w: %d of %d", store.ErrBadShard, shard, s.shards)
	}
	return nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, shard int, key string) (store.Doc, error) {
	if err := s.checkShard(shard); err != nil {
		return store.Doc{}, err
	}
	vals, err := s.client.HMGet(ctx, s.docKey(shard, key), "v", "d").Result()
	if err != nil {
		return store.Doc{}, fmt.Errorf("redisstore: get %q: %w", key, err)
	}
	doc, err := parseDoc(key, vals)
	if err != nil {
		return store.Doc{}, err
	}
	if doc.Version == 0 {
		return store.Doc{}, fmt.Errorf("%w: %q", store.ErrNotFound, key)
	}
	return doc, nil
}

// GetMany implements store.Store.
func (s *Store) GetMany(ctx context.Context, shard int, keys ...string) ([]store.Doc, error) {
	if err := s.checkShard(shard); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return []store.Doc{}, nil
	}
	pipe := s.client.Pipeline()
	cmds := make([]*redis.SliceCmd, len(keys))
	for i, key := range keys {
		cmds[i] = pipe.HMGet(ctx, s.docKey(shard, key), "v", "d")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("redisstore: get many: %w", err)
	}
	docs := make([]store.Doc, len(keys))
	for i, cmd := range cmds {
		doc, err := parseDoc(keys[i], cmd.Val())
		if err != nil {
			return nil, err
		}
		docs[i] = doc
	}
	return docs, nil
}

// parseDoc reads an HMGET v d reply; a missing document has Version 0.
func parseDoc(key string, vals []any) (store.Doc, error) {
	doc := store.Doc{Key: key}
	v, ok := vals[0].(string)
	if !ok {
		return doc, nil
	}
	version, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return doc, fmt.Errorf("redisstore: document %q has a bad version %q", key, v)
	}
	data, _ := vals[1].(string)
	doc.Version, doc.Value = version, []byte(data)
	return doc, nil
}

// Commit implements store.Store.
func (s *Store) Commit(ctx context.Context, shard int, b *store.Batch) error {
	if err := s.checkShard(shard); err != nil {
		return err
	}
	if b == nil || (len(b.Ops) == 0 && len(b.Events) == 0) {
		return nil
	}
	keys := make([]string, 0, 1+len(b.Ops))
	keys = append(keys, s.streamKey(shard))
	args := make([]any, 0, 3*len(b.Ops)+len(b.Events))
	for _, op := range b.Ops {
		switch op.Kind {
		case store.OpCreate:
			keys = append(keys, s.docKey(shard, op.Key))
			args = append(args, "c", "", op.Value)
		case store.OpPut:
			keys = append(keys, s.docKey(shard, op.Key))
			args = append(args, "p", op.Version, op.Value)
		case store.OpDelete:
			keys = append(keys, s.docKey(shard, op.Key))
			args = append(args, "d", op.Version, "")
		case store.OpCheck:
			keys = append(keys, s.docKey(shard, op.Key))
			args = append(args, "k", op.Version, "")
		case store.OpIndexAdd, store.OpIndexRemove:
			if err := indexkey.Validate(op.Entry); err != nil {
				return err
			}
			kind := "a"
			if op.Kind == store.OpIndexRemove {
				kind = "r"
			}
			keys = append(keys, s.indexKey(shard, op.Index))
			args = append(args, kind, indexkey.Encode(op.Entry), "")
		default:
			return fmt.Errorf("redisstore: unknown op kind %d", op.Kind)
		}
	}
	for _, payload := range b.Events {
		args = append(args, payload)
	}

	res, replicas, err := s.runCommit(ctx, keys, args)
	if err != nil {
		return fmt.Errorf("redisstore: commit: %w", err)
	}
	status, _ := res[0].(string)
	if status == "ok" {
		if replicas < s.waitReplicas {
			return fmt.Errorf("%w: %d of %d within %v", ErrNotReplicated, replicas, s.waitReplicas, s.waitTimeout)
		}
		return nil
	}
	var key string
	if i, ok := res[1].(int64); ok && i >= 1 && int(i) <= len(b.Ops) {
		key = b.Ops[i-1].Key
	}
	switch status {
	case "conflict":
		return fmt.Errorf("%w: %q", store.ErrConflict, key)
	case "exists":
		return fmt.Errorf("%w: %q", store.ErrExists, key)
	}
	return fmt.Errorf("redisstore: commit: unexpected reply %v", res)
}

// runCommit runs the commit script and, with WithWaitReplicas, WAIT in the same
// pipeline: WAIT counts the replicas that have every write of its own
// connection, so it must follow the script on that connection. It returns the
// script's reply and the replica count (0 without waiting).
func (s *Store) runCommit(ctx context.Context, keys []string, args []any) ([]any, int, error) {
	if s.waitReplicas <= 0 {
		res, err := commitScript.Run(ctx, s.client, keys, args...).Slice()
		return res, 0, err
	}
	for attempt := 0; ; attempt++ {
		pipe := s.client.Pipeline()
		eval := pipe.EvalSha(ctx, commitScript.Hash(), keys, args...)
		wait := pipe.Do(ctx, "WAIT", s.waitReplicas, s.waitTimeout.Milliseconds())
		_, _ = pipe.Exec(ctx)
		if err := eval.Err(); redis.HasErrorPrefix(err, "NOSCRIPT") && attempt == 0 {
			// First commit on this server: load the script and go again.
			if err := commitScript.Load(ctx, s.client).Err(); err != nil {
				return nil, 0, err
			}
			continue
		}
		res, err := eval.Slice()
		if err != nil {
			return nil, 0, err
		}
		n, err := wait.Int()
		if err != nil {
			return nil, 0, fmt.Errorf("wait for replicas: %w", err)
		}
		return res, n, nil
	}
}

// Scan implements store.Store.
func (s *Store) Scan(ctx context.Context, shard int, index string, q store.IndexQuery) ([]store.IndexEntry, error) {
	if shard != store.AllShards {
		if err := s.checkShard(shard); err != nil {
			return nil, err
		}
	}
	r := indexkey.RangeOf(q)
	if r.Empty {
		return []store.IndexEntry{}, nil
	}
	shards := []int{shard}
	if shard == store.AllShards {
		shards = s.allShards()
	}
	limit := indexkey.Limit(q)
	pipe := s.client.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(shards))
	for i, sh := range shards {
		cmds[i] = pipe.ZRangeArgs(ctx, lexRange(s.indexKey(sh, index), r, q.Reverse, limit))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("redisstore: scan %q: %w", index, err)
	}
	pages := make([][]store.IndexEntry, len(cmds))
	for i, cmd := range cmds {
		members := cmd.Val()
		pages[i] = make([]store.IndexEntry, len(members))
		for j, m := range members {
			pages[i][j] = indexkey.Decode(m)
		}
	}
	if len(pages) == 1 {
		return pages[0], nil
	}
	return indexkey.Merge(pages, q.Reverse, limit), nil
}

// lexRange turns r into a ZRANGE ... BYLEX [REV] LIMIT 0 limit.
func lexRange(key string, r indexkey.Range, reverse bool, limit int) redis.ZRangeArgs {
	lo, hi := "-", "+"
	if !r.NoLo {
		lo = "[" + r.Lo
		if r.LoExclusive {
			lo = "(" + r.Lo
		}
	}
	if !r.NoHi {
		hi = "(" + r.Hi
	}
	z := redis.ZRangeArgs{Key: key, Start: lo, Stop: hi, ByLex: true, Count: int64(limit)}
	if reverse {
		z.Start, z.Stop, z.Rev = hi, lo, true
	}
	return z
}

func (s *Store) allShards() []int {
	all := make([]int, s.shards)
	for i := range all {
		all[i] = i
	}
	return all
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
	deadline := time.Now().Add(block)
	for {
		msgs, wake, err := s.readReady(ctx, group, consumer, count, block > 0)
		if err != nil || len(msgs) > 0 {
			return msgs, err
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return nil, nil
		}
		if err := s.waitForEvents(ctx, wake, min(wait, waitSlice)); err != nil {
			return nil, err
		}
	}
}

// readReady reads up to count messages that are ready now. When it read nothing
// and wantWake is set on a single-node client, it also returns the XREAD STREAMS
// arguments that wait for anything newer than what it saw.
func (s *Store) readReady(ctx context.Context, group, consumer string, count int, wantWake bool) ([]store.Message, []string, error) {
	order := s.rotation()
	if s.single {
		keys := make([]string, len(order))
		for i, shard := range order {
			keys[i] = s.streamKey(shard)
		}
		msgs, tails, err := s.runRead(ctx, order, keys, group, consumer, count, wantWake)
		if err != nil || len(tails) != len(keys) {
			return msgs, nil, err
		}
		return msgs, append(keys, tails...), nil
	}
	// Each shard lives in its own slot, so read them one by one.
	var out []store.Message
	for _, shard := range order {
		msgs, _, err := s.runRead(ctx, []int{shard}, []string{s.streamKey(shard)}, group, consumer, count-len(out), false)
		if err != nil {
			return nil, nil, err
		}
		if out = append(out, msgs...); len(out) >= count {
			break
		}
	}
	return out, nil, nil
}

// runRead runs readScript over keys, the streams of shards (same order), asking
// for the streams' last IDs when wantTails is set.
func (s *Store) runRead(ctx context.Context, shards []int, keys []string, group, consumer string, count int, wantTails bool) ([]store.Message, []string, error) {
	tailsArg := "0"
	if wantTails {
		tailsArg = "1"
	}
	res, err := readScript.Run(ctx, s.client, keys, group, consumer, count, tailsArg).Slice()
	if err != nil {
		return nil, nil, fmt.Errorf("redisstore: read group %q: %w", group, err)
	}
	read, _ := res[0].([]any)
	rawTails, _ := res[1].([]any)
	var msgs []store.Message
	for i := 0; i+2 < len(read); i += 3 {
		k, _ := read[i].(int64)
		id, _ := read[i+1].(string)
		payload, _ := read[i+2].(string)
		if k < 1 || int(k) > len(shards) {
			return nil, nil, fmt.Errorf("redisstore: read group %q: bad reply", group)
		}
		msgs = append(msgs, store.Message{ID: id, Shard: shards[k-1], Payload: []byte(payload)})
	}
	tails := make([]string, len(rawTails))
	for i, t := range rawTails {
		tails[i], _ = t.(string)
	}
	return msgs, tails, nil
}

// waitForEvents returns after at most d, earlier when an event may be ready.
// wake holds XREAD STREAMS arguments (single-node client); without them it polls.
func (s *Store) waitForEvents(ctx context.Context, wake []string, d time.Duration) error {
	if len(wake) == 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	// BLOCK is in whole milliseconds and 0 would mean forever.
	err := s.client.XRead(ctx, &redis.XReadArgs{Streams: wake, Count: 1, Block: max(d, time.Millisecond)}).Err()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("redisstore: wait for events: %w", err)
	}
	return nil
}

// Ack implements store.Store.
func (s *Store) Ack(ctx context.Context, group string, msgs ...store.Message) error {
	ids := make(map[int][]string)
	for _, m := range msgs {
		if err := s.checkShard(m.Shard); err != nil {
			return err
		}
		ids[m.Shard] = append(ids[m.Shard], m.ID)
	}
	if len(ids) == 0 {
		return nil
	}
	pipe := s.client.Pipeline()
	for shard, list := range ids {
		pipe.XAck(ctx, s.streamKey(shard), group, list...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redisstore: ack %q: %w", group, err)
	}
	return nil
}

// Claim implements store.Store.
func (s *Store) Claim(ctx context.Context, group, consumer string, minIdle time.Duration, count int) ([]store.Message, error) {
	if count <= 0 {
		count = defaultCount
	}
	var out []store.Message
	for _, shard := range s.rotation() {
		// XAUTOCLAIM looks at a bounded part of the pending list per call and
		// returns the cursor to go on from ("0-0" once it has seen it all).
		for start := "0-0"; len(out) < count; {
			msgs, next, err := s.client.XAutoClaim(ctx, &redis.XAutoClaimArgs{
				Stream: s.streamKey(shard), Group: group, Consumer: consumer,
				MinIdle: minIdle, Start: start, Count: int64(count - len(out)),
			}).Result()
			if redis.HasErrorPrefix(err, "NOGROUP") {
				break // the group never read this shard: nothing is pending
			}
			if err != nil {
				return nil, fmt.Errorf("redisstore: claim %q: %w", group, err)
			}
			for _, m := range msgs {
				payload, _ := m.Values["p"].(string)
				out = append(out, store.Message{ID: m.ID, Shard: shard, Payload: []byte(payload)})
			}
			if next == "0-0" {
				break
			}
			start = next
		}
		if len(out) >= count {
			break
		}
	}
	return out, nil
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisstore: ping: %w", err)
	}
	return nil
}

// TrimEvents implements store.Trimmer: every shard's stream loses the events
// appended before before that all of its consumer groups have acknowledged
// (see trimScript). It returns how many were removed.
func (s *Store) TrimEvents(ctx context.Context, before time.Time) (int64, error) {
	cut := strconv.FormatInt(before.UnixMilli(), 10) + "-0"
	var total int64
	for shard := range s.shards {
		n, err := trimScript.Run(ctx, s.client, []string{s.streamKey(shard)}, cut).Int64()
		if err != nil {
			return total, fmt.Errorf("redisstore: trim events: %w", err)
		}
		total += n
	}
	return total, nil
}
