//go:build faults

package faults

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/config"
	"github.com/polku-hb/polku/platform/telemetry"
	"github.com/polku-hb/polku/platform/testkit"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	clientssvc "github.com/polku-hb/polku/services/clients/service"
)

// TestFaultSentinelFailover runs the clients service on the Sentinel
// configuration platform/boot reads (POLKU_REDIS_MASTER_NAME, and the Sentinels
// in POLKU_REDIS_ADDRS), writes clients continuously, SIGKILLs the primary and
// checks that the Sentinels promote the replica and the service, never
// restarted, reconnects to it by itself and answers again; that every client
// acknowledged after the failover is there; and it reports how many of those
// acknowledged before the kill the promoted replica lacks (asynchronous
// replication: docs/resilience.md says what can be lost).
func TestFaultSentinelFailover(t *testing.T) {
	rs := testkit.StartRedisSentinel(t)
	env := config.FromMap(map[string]string{
		"POLKU_STORE": "redis", "POLKU_REDIS_MASTER_NAME": rs.MasterName,
		"POLKU_REDIS_ADDRS": strings.Join(rs.SentinelAddrs(), ","),
	})
	common := boot.LoadCommon(env)
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	stores, err := boot.OpenStores(common)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stores.Close() })
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: clientssvc.Name})
	if err != nil {
		t.Fatal(err)
	}
	key, err := clientssvc.ParseKey(clientssvc.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := clientssvc.New(clientssvc.Deps{Store: stores.Namespace(clientssvc.Namespace, clientssvc.Shards), PICKey: key,
		Telemetry: tel, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	tokens := testkit.NewTokens(t)
	cc := clientsv1.NewClientsServiceClient(testkit.Serve(t, tokens.Verifier, tel, svc.Register))
	worker := auth.Principal{Subject: "w-fault", Role: auth.RoleWorker, Region: "pirkanmaa"}
	ctx := tokens.As(t, worker, "fault test")

	type write struct {
		name string
		at   time.Time
	}
	var (
		mu       sync.Mutex
		acked    []write
		failures int
		n        = 300
	)
	create := func() {
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		c, err := cc.CreateClient(cctx, &clientsv1.CreateClientRequest{Client: newClient(i), CoordinatingWorker: worker.Subject, RequestId: uuid()})
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failures++
			return
		}
		acked = append(acked, write{c.GetName(), time.Now()})
	}
	for range 20 {
		create()
	}
	if len(acked) != 20 {
		t.Fatalf("%d of 20 writes before the failover failed", failures)
	}

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				create()
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	rs.Primary.Kill()
	killedAt := time.Now()

	// The service answers again once it has found the promoted replica.
	var recovered, promoted time.Duration
	if !eventually(60*time.Second, func() bool {
		if info, err := rs.Replica.Do("INFO", "replication"); promoted == 0 && err == nil && strings.Contains(info, "role:master") {
			promoted = time.Since(killedAt)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(acked) > 0 && acked[len(acked)-1].at.After(killedAt) {
			recovered = acked[len(acked)-1].at.Sub(killedAt)
			return true
		}
		return false
	}) {
		t.Fatalf("no write succeeded within 60s of killing the primary (%d failures)", failures)
	}
	time.Sleep(time.Second)
	close(stop)
	<-done
	if info, err := rs.Replica.Do("INFO", "replication"); err != nil || !strings.Contains(info, "role:master") {
		t.Errorf("the replica was not promoted: %q, %v", info, err)
	}

	lostBefore, afterKill := 0, 0
	for _, w := range acked {
		_, err := cc.GetClient(ctx, &clientsv1.GetClientRequest{Name: w.name})
		switch {
		case w.at.After(killedAt):
			afterKill++
			if err != nil {
				t.Errorf("client %s, acknowledged after the failover, cannot be read: %v", w.name, err)
			}
		case err != nil:
			lostBefore++
		}
	}
	t.Logf("replica promoted within %v, writes answered again %v after the primary was killed; %d failed meanwhile; %d acknowledged after it; %d of %d acknowledged before it missing on the promoted replica",
		promoted.Round(100*time.Millisecond), recovered.Round(time.Millisecond), failures, afterKill, lostBefore, len(acked)-afterKill)
	if afterKill == 0 {
		t.Errorf("no write was acknowledged after the failover")
	}
}
