//go:build faults

package faults

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/polku-hb/polku/cmd/polku/internal/dev"
	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/events"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
)

// TestMain quiets go-redis's own logger: every dial refused while Redis is down
// would print a line; the services log what matters.
func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	os.Exit(m.Run())
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// syncBuffer collects the JSON logs of every service (read when a test fails).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startStack runs the all-in-one on the Redis at addr, every port picked free,
// seeds the demo region and stops it all when the test ends.
func startStack(t *testing.T, addr string) (*dev.Stack, dev.Demo) {
	t.Helper()
	addrs := map[string]string{}
	for _, n := range []string{"clients", "assessment", "budget", "catalogue", "referral"} {
		addrs[n] = "127.0.0.1:0"
	}
	logs := &syncBuffer{}
	s, err := dev.Start(context.Background(), dev.Options{
		DataDir: t.TempDir(), GatewayAddr: "127.0.0.1:0", ServiceAddrs: addrs,
		Store: "redis", RedisAddrs: []string{addr}, Log: logs,
	})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop stack: %v", err)
		}
		if t.Failed() {
			t.Logf("service warnings and errors:\n%s", problems(logs.String(), 30))
		}
	})
	demo, err := dev.SeedDemo(context.Background(), s)
	if err != nil {
		t.Fatalf("seed demo: %v", err)
	}
	return s, demo
}

// problems is the last max WARN and ERROR lines of the logs.
func problems(logs string, max int) string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"level":"WARN"`) || strings.Contains(l, `"level":"ERROR"`) {
			out = append(out, l)
		}
	}
	return strings.Join(out[len(out)-min(max, len(out)):], "\n")
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The demo's people, as their tokens name them.
var (
	aino  = auth.Principal{Subject: dev.Aino, Role: auth.RoleWorker, Region: dev.DemoRegion, Unit: "family-services"}
	mikko = auth.Principal{Subject: dev.Mikko, Role: auth.RoleManager, Region: dev.DemoRegion}
)

// as is a context carrying p's token and an access purpose.
func as(t *testing.T, s *dev.Stack, p auth.Principal) context.Context {
	t.Helper()
	tok, err := s.Token(p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok, "x-polku-purpose", "fault test")
}

// uuid is a random version-4 UUID (the clients API wants its request ids so).
func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// identityCode is a valid synthetic Finnish identity code, born 1 Jan 1990,
// distinct for each individual number n (2..899).
func identityCode(n int) string {
	const checks = "0123456789ABCDEFHJKLMNPRSTUVWXY"
	num := fmt.Sprintf("%03d", n)
	v, _ := strconv.Atoi("010190" + num)
	return "010190-" + num + string(checks[v%31])
}

// newClient is a synthetic client record (no real person).
func newClient(n int) *clientsv1.Client {
	return &clientsv1.Client{
		GivenName: "Vika", FamilyName: "Testi", PersonalIdentityCode: identityCode(n),
		ContactPreference: clientsv1.ContactPreference_CONTACT_PREFERENCE_VIA_WORKER,
		TargetGroup:       clientsv1.TargetGroup_TARGET_GROUP_FAMILY_ADULT, Cohort: clientsv1.Cohort_COHORT_PERSONAL_BUDGET,
	}
}

// streamEvents reads every event of a namespace's streams straight from Redis
// (key layout of platform/store/redisstore), oldest first per shard.
func streamEvents(t *testing.T, rc *redis.Client, namespace string, shards int) []events.Envelope {
	t.Helper()
	var out []events.Envelope
	for shard := range shards {
		key := "polku:{" + namespace + ":" + strconv.Itoa(shard) + "}:events"
		msgs, err := rc.XRange(context.Background(), key, "-", "+").Result()
		if err != nil {
			t.Fatalf("XRANGE %s: %v", key, err)
		}
		for _, m := range msgs {
			p, _ := m.Values["p"].(string)
			e, err := events.Unmarshal([]byte(p))
			if err != nil {
				t.Fatalf("event %s of %s: %v", m.ID, key, err)
			}
			out = append(out, e)
		}
	}
	return out
}

// eventually polls cond until it holds or timeout passes.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}
