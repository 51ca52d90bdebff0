package dev

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/testkit"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
)

// testIdentityCode makes a valid Finnish identity code in the 900-999 range,
// which is never given to a real person.
func testIdentityCode(i int) string {
	day, month, year, ind := 1+i%28, 1+(i/28)%12, 50+(i/336)%50, 900+i%100
	digits := fmt.Sprintf("%02d%02d%02d%03d", day, month, year, ind)
	n, _ := strconv.Atoi(digits)
	return fmt.Sprintf("%02d%02d%02d-%03d%c", day, month, year, ind, "0123456789ABCDEFHJKLMNPRSTUVWXY"[n%31])
}

var namespaceOfKey = regexp.MustCompile(`^polku:\{([a-z]+):`)

// bytesByNamespace sums MEMORY USAGE of every key per store namespace.
func bytesByNamespace(t *testing.T, rc *redis.Client) (bytes, keys map[string]int64) {
	t.Helper()
	ctx := context.Background()
	bytes, keys = map[string]int64{}, map[string]int64{}
	it := rc.Scan(ctx, 0, "*", 1000).Iterator()
	for it.Next(ctx) {
		m := namespaceOfKey.FindStringSubmatch(it.Val())
		ns := "other"
		if m != nil {
			ns = m[1]
		}
		n, err := rc.MemoryUsage(ctx, it.Val()).Result()
		if err != nil {
			t.Fatal(err)
		}
		bytes[ns] += n
		keys[ns]++
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return bytes, keys
}

func usedMemory(t *testing.T, rc *redis.Client) int64 {
	t.Helper()
	info := rc.Info(context.Background(), "memory").Val()
	m := regexp.MustCompile(`(?m)^used_memory:(\d+)`).FindStringSubmatch(info)
	if m == nil {
		t.Fatalf("no used_memory in INFO memory")
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// TestRedisSizing measures what a client costs in Redis, for the sizing notes
// in docs/operations.md: N clients written through the clients service (each
// with a team member and a consent, as a personal-budget client has), INFO
// memory and MEMORY USAGE before and after; then the demo's one full service
// path (assessment, plan, budget, four referrals) per namespace. The figures
// are logged (go test -run TestRedisSizing -v); the assertions only keep them
// within sane bounds.
func TestRedisSizing(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	addr := testkit.StartRedis(t)
	rc := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rc.Close() })
	s, _, _ := startStack(t, Options{Store: "redis", RedisAddrs: []string{addr}})
	ctx := context.Background()
	cc := clientsv1.NewClientsServiceClient(dialService(t, s, "clients"))
	as := func(p auth.Principal) context.Context { return callAs(t, s, ctx, p, "sizing") }
	manager := as(auth.Principal{Subject: Mikko, Role: auth.RoleManager, Region: DemoRegion})
	worker := as(auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion, Unit: "family-services"})

	const n = 300
	memBefore := usedMemory(t, rc)
	bytesBefore, keysBefore := bytesByNamespace(t, rc)
	for i := range n {
		c, err := cc.CreateClient(manager, &clientsv1.CreateClientRequest{RequestId: fmt.Sprintf("sizing-%d", i), CoordinatingWorker: Aino,
			Client: &clientsv1.Client{
				GivenName: "Testi", FamilyName: fmt.Sprintf("Asiakas%d", i), PersonalIdentityCode: testIdentityCode(i),
				PreferredLanguages: []string{"fi"}, ContactPreference: clientsv1.ContactPreference_CONTACT_PREFERENCE_PHONE,
				ContactDetails: &clientsv1.ContactDetails{Phone: fmt.Sprintf("+35840%07d", i)},
				TargetGroup:    clientsv1.TargetGroup_TARGET_GROUP_FAMILY_ADULT, Cohort: clientsv1.Cohort_COHORT_PERSONAL_BUDGET,
			}})
		if err != nil {
			t.Fatalf("CreateClient %d (%s): %v", i, testIdentityCode(i), err)
		}
		if _, err := cc.CreateTeamMember(worker, &clientsv1.CreateTeamMemberRequest{Parent: c.GetName(), RequestId: fmt.Sprintf("sizing-team-%d", i),
			TeamMember: &clientsv1.TeamMember{Role: clientsv1.TeamMember_CLOSE_PERSON, DisplayName: "sister"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := cc.CreateConsent(worker, &clientsv1.CreateConsentRequest{Parent: c.GetName(), RequestId: fmt.Sprintf("sizing-consent-%d", i),
			Consent: &clientsv1.Consent{Category: clientsv1.DataCategory_DATA_CATEGORY_PLAN_GOALS, Recipient: "providers/-"}}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond) // let the timeline consumer catch up
	memAfter := usedMemory(t, rc)
	bytesAfter, keysAfter := bytesByNamespace(t, rc)
	perClient := float64(memAfter-memBefore) / n
	perClientKeys := float64(keysAfter["clients"]-keysBefore["clients"]) / n
	perClientUsage := float64(bytesAfter["clients"]-bytesBefore["clients"]) / n
	t.Logf("clients: %d clients: used_memory +%d bytes = %.0f bytes/client; clients namespace: %.1f keys/client, MEMORY USAGE %.0f bytes/client",
		n, memAfter-memBefore, perClient, perClientKeys, perClientUsage)
	if perClient <= 0 || perClient > 256<<10 || perClientKeys <= 0 {
		t.Errorf("%.0f bytes and %.1f keys per client: outside sane bounds", perClient, perClientKeys)
	}

	// One full service path: the demo seeds Tiina's assessment, plan, budget and
	// referrals; the assessment, budget and referral namespaces hold nothing else.
	if _, err := SeedDemo(ctx, s); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	bytesDemo, keysDemo := bytesByNamespace(t, rc)
	var path int64
	for _, ns := range []string{"assessment", "budget", "referral"} {
		t.Logf("one client's full path: %s namespace %d keys, MEMORY USAGE %d bytes", ns, keysDemo[ns], bytesDemo[ns])
		path += bytesDemo[ns]
	}
	t.Logf("one client's full path (assessment+budget+referral): %d bytes; catalogue of the demo region: %d keys, %d bytes",
		path, keysDemo["catalogue"], bytesDemo["catalogue"])
	if path <= 0 {
		t.Error("the demo path wrote nothing to assessment, budget and referral")
	}
}
