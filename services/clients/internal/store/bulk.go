package store

import (
	"context"

	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/clients/internal/client"
)

// CreateMany writes new clients of one shard, with their identity-code keys,
// indexes and the given timeline entries (of those clients), as one atomic
// batch and without events: the bulk seeding of load tests. The layout is the
// one Create and AddTimeline write.
func (r *Repo) CreateMany(ctx context.Context, shard int, cs []*client.Client, timeline []client.TimelineEntry) error {
	b := &store.Batch{}
	for _, c := range cs {
		b.Create(clientKey(c.ID), mustJSON(c))
		if c.PICHash != "" {
			b.Create("pic/"+c.PICHash, []byte(c.ID))
		}
		indexDiff(b, nil, c)
	}
	for _, e := range timeline {
		b.Create("timeline/"+e.ClientID+"/"+e.ID, mustJSON(e))
		b.IndexAdd("timeline:"+e.ClientID, TimeKey(e.Time), e.ID)
	}
	return r.st.Commit(ctx, shard, b)
}
