//go:build faults

package faults

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/telemetry"
	"github.com/polku-hb/polku/platform/testkit"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	clientssvc "github.com/polku-hb/polku/services/clients/service"
)

// TestFaultTimelineConsumersCrashAndReplicas runs the clients service's timeline
// consumer as two replicas of one consumer group while clients are being
// created. Replica A dies mid-batch (its context is cut after it has filed some
// events, so that batch is never acknowledged) and is started again under the
// same name, as a restarted pod would be. Checked:
//   - no event is lost: every client.created event in the stream is on its
//     client's timeline, and nothing is left pending in the group;
//   - none is applied twice: each timeline lists each event exactly once, even
//     though the events A filed but never acknowledged were delivered again (the
//     test asserts that this redelivery did happen, or it would prove nothing);
//   - both replicas did part of the work.
func TestFaultTimelineConsumersCrashAndReplicas(t *testing.T) {
	rs := testkit.StartRedisServer(t, testkit.RedisOptions{})
	rc := redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { rc.Close() })
	st := boot.RedisStores(rc).Namespace(clientssvc.Namespace, clientssvc.Shards)
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: clientssvc.Name})
	if err != nil {
		t.Fatal(err)
	}
	key, err := clientssvc.ParseKey(clientssvc.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	newReplica := func() *clientssvc.Service {
		svc, err := clientssvc.New(clientssvc.Deps{Store: st, PICKey: key, Telemetry: tel, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	a, b := newReplica(), newReplica()
	tokens := testkit.NewTokens(t)
	cc := clientsv1.NewClientsServiceClient(testkit.Serve(t, tokens.Verifier, tel, a.Register))
	worker := auth.Principal{Subject: "w-fault", Role: auth.RoleWorker, Region: "pirkanmaa"}
	ctx := tokens.As(t, worker, "fault test")

	// handled counts how often each event reached a handler, per replica.
	var mu sync.Mutex
	handled := map[string]int{}
	byReplica := map[string]int{}
	consumer := func(svc *clientssvc.Service, name string, onApplied func(n int)) *events.Consumer {
		c := svc.TimelineConsumer(st)
		c.Name, c.Batch, c.Block, c.ClaimAfter = name, 8, 200*time.Millisecond, 2*time.Second
		apply := c.Handle
		var n atomic.Int64
		c.Handle = func(ctx context.Context, e events.Envelope) error {
			if err := apply(ctx, e); err != nil {
				return err
			}
			mu.Lock()
			handled[e.ID]++
			byReplica[name]++
			mu.Unlock()
			if onApplied != nil {
				onApplied(int(n.Add(1)))
			}
			return nil
		}
		return c
	}
	run := func(c *events.Consumer) (stop func()) {
		cctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(cctx) }()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("consumer %s: %v", c.Name, err)
			}
		}
	}

	// Replica A crashes right after filing its 5th event: the rest of its
	// batch fails and nothing of it is acknowledged.
	crashCtx, crash := context.WithCancel(context.Background())
	crashed := make(chan struct{})
	var once sync.Once
	ca := consumer(a, "replica-a", func(n int) {
		if n == 5 {
			once.Do(func() { crash(); close(crashed) })
		}
	})
	doneA := make(chan error, 1)
	go func() { doneA <- ca.Run(crashCtx) }()
	stopB := run(consumer(b, "replica-b", nil))
	defer stopB()

	const clients = 60
	names := make([]string, clients)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < clients; i += 4 {
				c, err := cc.CreateClient(ctx, &clientsv1.CreateClientRequest{Client: newClient(200 + i), CoordinatingWorker: worker.Subject, RequestId: uuid()})
				if err != nil {
					t.Errorf("CreateClient: %v", err)
					return
				}
				names[i] = c.GetName()
				if i == clients/2 {
					// Half-way: A has crashed by now (or will); bring it back.
					select {
					case <-crashed:
						<-doneA
						stopA := run(consumer(a, "replica-a", nil))
						t.Cleanup(stopA)
					case <-time.After(10 * time.Second):
						t.Errorf("replica A never handled 5 events")
					}
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// Every client.created event of the stream ends up on its timeline once.
	created := map[string]string{}
	for _, e := range streamEvents(t, rc, clientssvc.Namespace, clientssvc.Shards) {
		if e.Client != "" {
			created["clients/"+e.Client] = e.ID
		}
	}
	if len(created) != clients {
		t.Fatalf("%d clients have events in the stream; want %d", len(created), clients)
	}
	for _, name := range names {
		var got map[string]int
		ok := eventually(30*time.Second, func() bool {
			resp, err := cc.ListTimelineEvents(ctx, &clientsv1.ListTimelineEventsRequest{Parent: name, PageSize: 100})
			if err != nil {
				return false
			}
			got = map[string]int{}
			for _, ev := range resp.GetTimelineEvents() {
				got[ev.GetName()]++
			}
			return len(got) > 0
		})
		if !ok {
			t.Errorf("timeline of %s is empty: its event was lost", name)
			continue
		}
		want := name + "/timelineEvents/" + created[name]
		for n, count := range got {
			if n != want || count != 1 {
				t.Errorf("timeline of %s lists %s %d times; want only %s, once", name, n, count, want)
			}
		}
	}

	// Nothing is left pending, and the crash did cause redelivery.
	if !eventually(15*time.Second, func() bool { return pending(t, rc) == 0 }) {
		t.Errorf("%d events still pending in the timeline group", pending(t, rc))
	}
	mu.Lock()
	defer mu.Unlock()
	again := 0
	for _, n := range handled {
		if n > 1 {
			again++
		}
	}
	t.Logf("%d events, %d delivered again after the crash; filed by replica: %v", len(handled), again, byReplica)
	if again == 0 {
		t.Errorf("no event was delivered twice: the crash left nothing unacknowledged, so idempotency was not tested")
	}
	if byReplica["replica-a"] == 0 || byReplica["replica-b"] == 0 {
		t.Errorf("work per replica = %v; want both to have filed events", byReplica)
	}
}

// pending is the number of unacknowledged messages of the clients timeline group
// over every shard of the clients stream.
func pending(t *testing.T, rc *redis.Client) int64 {
	t.Helper()
	var n int64
	for shard := range clientssvc.Shards {
		key := "polku:{" + clientssvc.Namespace + ":" + strconv.Itoa(shard) + "}:events"
		p, err := rc.XPending(context.Background(), key, "clients-timeline").Result()
		if err != nil {
			if redis.HasErrorPrefix(err, "NOGROUP") {
				continue
			}
			t.Fatalf("XPENDING %s: %v", key, err)
		}
		n += p.Count
	}
	return n
}
