package store

import (
	"context"
	"fmt"

	"github.com/polku-hb/polku/platform/store"
)

// CommitMany applies the writes of several referrals of one shard as one
// atomic batch: the bulk seeding of load tests, with the layout each Write has.
func (r *Repo) CommitMany(ctx context.Context, shard int, ws []*Write) error {
	var b store.Batch
	for _, w := range ws {
		if ShardOf(w.ref) != shard {
			return fmt.Errorf("bulk write of referral %s is not in shard %d", w.ref, shard)
		}
		b.Ops = append(b.Ops, w.b.Ops...)
		b.Events = append(b.Events, w.b.Events...)
	}
	return r.st.Commit(ctx, shard, &b)
}
