package boot

import (
	"context"
	"time"

	"github.com/polku-hb/polku/platform/store"
)

// EventsTrimInterval is how often TrimEvents trims; a pass is a few commands
// per shard, so the interval only bounds how far past the retention a stream
// may grow.
const EventsTrimInterval = time.Hour

// TrimEvents returns a worker that trims the service's own event streams to
// POLKU_EVENTS_RETENTION, at start and then every EventsTrimInterval, keeping
// whatever a consumer group has not acknowledged (store.Trimmer). It does
// nothing when the retention is 0 or the store does not trim (the embedded
// store keeps every event). Every replica may run it: a trim is idempotent.
// A failed pass is logged and retried at the next tick; it never stops the
// process.
func (p *Process) TrimEvents(st store.Store) func(context.Context) error {
	return func(ctx context.Context) error {
		tr, ok := st.(store.Trimmer)
		if !ok || p.Common.EventsRetention <= 0 {
			return nil
		}
		tick := time.NewTicker(EventsTrimInterval)
		defer tick.Stop()
		for {
			n, err := tr.TrimEvents(ctx, time.Now().Add(-p.Common.EventsRetention))
			switch {
			case ctx.Err() != nil:
				return nil
			case err != nil:
				p.Log.Warn("event stream trim failed; retrying at the next pass", "namespace", st.Namespace(), "err", err)
			case n > 0:
				p.Log.Info("event streams trimmed", "namespace", st.Namespace(), "removed", n)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
	}
}
