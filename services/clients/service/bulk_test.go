package service_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/telemetry"
	"github.com/polku-hb/polku/platform/testkit"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/services/clients/internal/client"
	"github.com/polku-hb/polku/services/clients/service"
)

func TestBulkPIC(t *testing.T) {
	seen := map[string]int{}
	for _, i := range []int{0, 1, 99, 100, 12_345, 99_999, 100_000, 1_000_000, 1_999_999} {
		code := service.BulkPIC(i)
		if _, err := client.ParsePIC(code, time.Now()); err != nil {
			t.Errorf("BulkPIC(%d) = %s: %v", i, code, err)
		}
		if code[7] != '9' {
			t.Errorf("BulkPIC(%d) = %s: not a temporary (9xx) individual number", i, code)
		}
		if j, dup := seen[code]; dup {
			t.Errorf("BulkPIC(%d) = BulkPIC(%d) = %s", i, j, code)
		}
		seen[code] = i
	}
}

// Seeded clients read through the API exactly like created ones: the
// coordinating worker lists and reads them (identity code masked), their
// timelines page, another worker may not read them, and the identity code is
// taken (the uniqueness key was written).
func TestSeedBulkReadsThroughTheAPI(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		key, _ := service.ParseKey(service.NewKey())
		workers := []string{"w-bulk-a", "w-bulk-b"}
		seeded, err := service.SeedBulk(context.Background(), st, service.BulkInput{
			PICKey: key, Region: "pirkanmaa", Workers: workers, Start: 0, N: 40, Timeline: 3, Parallel: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(seeded) != 40 {
			t.Fatalf("seeded %d, want 40", len(seeded))
		}
		cc, tok := startWithKey(t, st, key)
		a := auth.Principal{Subject: workers[0], Role: auth.RoleWorker, Region: "pirkanmaa"}
		b := auth.Principal{Subject: workers[1], Role: auth.RoleWorker, Region: "pirkanmaa"}
		list, err := cc.ListClients(tok.As(t, a, "case work"), &clientsv1.ListClientsRequest{PageSize: 100})
		if err != nil || len(list.GetClients()) != 20 {
			t.Fatalf("ListClients of worker a = %d, %v; want 20", len(list.GetClients()), err)
		}
		first := seeded[0] // client 0: worker a
		got, err := cc.GetClient(tok.As(t, a, "case work"), &clientsv1.GetClientRequest{Name: "clients/" + first.ID})
		if err != nil {
			t.Fatal(err)
		}
		if want := client.MaskPIC(service.BulkPIC(0)); got.GetPersonalIdentityCodeMasked() != want {
			t.Errorf("masked code %q, want %q", got.GetPersonalIdentityCodeMasked(), want)
		}
		tl, err := cc.ListTimelineEvents(tok.As(t, a, "case work"), &clientsv1.ListTimelineEventsRequest{Parent: "clients/" + first.ID})
		if err != nil || len(tl.GetTimelineEvents()) != 3 {
			t.Fatalf("timeline = %d entries, %v; want 3", len(tl.GetTimelineEvents()), err)
		}
		_, err = cc.GetClient(tok.As(t, b, "case work"), &clientsv1.GetClientRequest{Name: "clients/" + first.ID})
		wantCode(t, "other worker reads", err, codes.PermissionDenied)
		_, err = cc.CreateClient(tok.As(t, a, "case work"), &clientsv1.CreateClientRequest{Client: tiina(service.BulkPIC(0))})
		wantCode(t, "seeded identity code again", err, codes.AlreadyExists)
	})
}

func startWithKey(t *testing.T, st store.Store, key []byte) (clientsv1.ClientsServiceClient, *testkit.Tokens) {
	t.Helper()
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: service.Name})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(service.Deps{Store: st, PICKey: key, Telemetry: tel, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = svc.RunConsumers(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	tok := testkit.NewTokens(t)
	conn := testkit.Serve(t, tok.Verifier, tel, func(r grpc.ServiceRegistrar) { svc.Register(r) })
	return clientsv1.NewClientsServiceClient(conn), tok
}
