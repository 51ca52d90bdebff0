//go:build faults

package faults

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/polku-hb/polku/cmd/polku/internal/dev"
	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/testkit"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
	referralsvc "github.com/polku-hb/polku/services/referral/service"
)

// referralProcess is the referral service binary run as a child process against
// the stack's other services and Redis, so it can be killed with SIGKILL.
type referralProcess struct {
	t    *testing.T
	bin  string
	addr string
	env  []string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
}

// startReferralProcess builds cmd/referral and starts it on a free port.
func startReferralProcess(t *testing.T, s *dev.Stack, redisAddr string) *referralProcess {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "referral")
	build := exec.Command("go", "build", "-o", bin, "github.com/polku-hb/polku/services/referral/cmd/referral")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the referral binary: %v\n%s", err, out)
	}
	keyFile, tokenFile := filepath.Join(dir, "jwt.pem"), filepath.Join(dir, "service-token")
	tok, err := s.Token(auth.Principal{Subject: "svc-referral", Role: auth.RoleService}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, s.Issuer.PublicKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokenFile, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := &referralProcess{t: t, bin: bin, addr: addr, log: filepath.Join(dir, "referral.log"), env: append(os.Environ(),
		"POLKU_STORE=redis", "POLKU_REDIS_ADDRS="+redisAddr, "POLKU_JWT_PUBLIC_KEY_FILE="+keyFile,
		"POLKU_REFERRAL_ADDR="+addr, "POLKU_REFERRAL_SERVICE_TOKEN_FILE="+tokenFile,
		"POLKU_CLIENTS_TARGET="+s.GRPCAddrs["clients"], "POLKU_CATALOGUE_TARGET="+s.GRPCAddrs["catalogue"],
		"POLKU_BUDGET_TARGET="+s.GRPCAddrs["budget"], "POLKU_ASSESSMENT_TARGET="+s.GRPCAddrs["assessment"],
		"POLKU_SHUTDOWN_DRAIN=0s", "POLKU_LOG_LEVEL=warn", "OTEL_TRACES_EXPORTER=none", "OTEL_METRICS_EXPORTER=none",
	)}
	p.start()
	t.Cleanup(func() {
		if p.cmd != nil {
			p.kill()
		}
		if t.Failed() {
			out, _ := os.ReadFile(p.log)
			t.Logf("referral process log:\n%s", out)
		}
	})
	return p
}

func (p *referralProcess) start() {
	p.t.Helper()
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	defer logf.Close()
	p.cmd = exec.Command(p.bin)
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = p.env, logf, logf
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start referral: %v", err)
	}
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(p.cmd, p.done)
	h := healthpb.NewHealthClient(dial(p.t, p.addr))
	if !eventually(30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r, err := h.Check(ctx, &healthpb.HealthCheckRequest{})
		return err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING
	}) {
		p.t.Fatalf("referral process on %s never became SERVING", p.addr)
	}
}

// kill ends the process with SIGKILL: no drain, no deferred cleanup.
func (p *referralProcess) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
	p.cmd = nil
}

// TestFaultReferralServiceKilledMidSend runs the referral service as its own
// process, sends referrals that commit budget funds through it concurrently,
// SIGKILLs it while sends are in flight and starts it again. Checked:
//   - right after the restart every referral is either a DRAFT or SENT with its
//     commitment recorded; a SENT referral's commitment is in the ledger naming
//     it; no referral has two commitments (a commitment the kill left without
//     its SENT referral is allowed at this point, and reported);
//   - retrying each send with its request_id completes it exactly once: every
//     referral SENT, exactly one commitment each, linked both ways, one
//     referral.sent event each, and the budget consistent.
func TestFaultReferralServiceKilledMidSend(t *testing.T) {
	rs := testkit.StartRedisServer(t, testkit.RedisOptions{AppendFsync: "always"})
	s, demo := startStack(t, rs.Addr)
	proc := startReferralProcess(t, s, rs.Addr)
	rc := referralv1.NewReferralServiceClient(dial(t, proc.addr))
	bc := budgetv1.NewBudgetServiceClient(dial(t, s.GRPCAddrs["budget"]))
	cat := cataloguev1.NewCatalogueServiceClient(dial(t, s.GRPCAddrs["catalogue"]))
	ainoCtx := as(t, s, aino)

	coach := demo.Providers["neurocoach"]
	offs, err := cat.ListOfferings(ainoCtx, &cataloguev1.ListOfferingsRequest{Parent: "providers/" + coach})
	if err != nil || len(offs.GetOfferings()) == 0 {
		t.Fatalf("coach offerings = %v, %v", offs, err)
	}
	b, err := bc.GetBudget(ainoCtx, &budgetv1.GetBudgetRequest{Name: demo.Budget})
	if err != nil {
		t.Fatalf("GetBudget: %v", err)
	}
	const referrals, amount = 16, 100
	lineID := ""
	for _, l := range b.GetLines() {
		if strings.HasPrefix(l.GetOffering(), "providers/"+coach+"/") && l.GetAvailableCents() >= referrals*amount {
			lineID = l.GetId()
		}
	}
	if lineID == "" {
		t.Fatalf("no coach line with %d cents available in %v", referrals*amount, b.GetLines())
	}
	names := make([]string, referrals)
	for i := range names {
		r, err := rc.CreateReferral(ainoCtx, &referralv1.CreateReferralRequest{RequestId: "kill-create-" + strconv.Itoa(i), Referral: &referralv1.Referral{
			Client: "clients/" + demo.Tiina, SendingUnit: "Perhepalvelut", RecipientOffering: offs.GetOfferings()[0].GetName(),
			RequestNote: "coaching", Urgency: referralv1.Urgency_URGENCY_ROUTINE,
			SendingResponsible: &referralv1.ResponsiblePerson{DisplayName: "Aino"},
			Commitment:         &referralv1.BudgetCommitment{Budget: demo.Budget, LineId: lineID, AmountCents: amount}}})
		if err != nil {
			t.Fatalf("CreateReferral: %v", err)
		}
		names[i] = r.GetName()
	}
	send := func(ctx context.Context, i int) (*referralv1.Referral, error) {
		return rc.SendReferral(ctx, &referralv1.SendReferralRequest{Name: names[i], AcknowledgeNoCapacity: true, RequestId: "kill-send-" + strconv.Itoa(i)})
	}

	// Four callers send. The process dies as soon as the budget holds a
	// commitment whose referral's send has not answered yet (the window the kill
	// should hit), or else as the eighth send is acknowledged.
	acked := make([]bool, referrals)
	var ackMu sync.Mutex
	var ackCount atomic.Int64
	killed := make(chan struct{})
	var killOnce sync.Once
	kill := func() { killOnce.Do(func() { proc.kill(); close(killed) }) }
	go func() {
		for {
			select {
			case <-killed:
				return
			default:
			}
			resp, err := bc.ListLedgerEntries(ainoCtx, &budgetv1.ListLedgerEntriesRequest{Parent: demo.Budget, PageSize: 500})
			if err != nil {
				continue
			}
			ackMu.Lock()
			for _, e := range resp.GetLedgerEntries() {
				if ref := e.GetReference().GetReferral(); strings.HasPrefix(ref, "referrals/") {
					for i, name := range names {
						if name == ref && !acked[i] {
							kill()
						}
					}
				}
			}
			ackMu.Unlock()
		}
	}()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < referrals; i += 4 {
				ctx, cancel := context.WithTimeout(ainoCtx, 10*time.Second)
				r, err := send(ctx, i)
				cancel()
				if err == nil && r.GetState() == referralv1.Referral_SENT {
					ackMu.Lock()
					acked[i] = true
					ackMu.Unlock()
					if ackCount.Add(1) == 8 {
						kill()
					}
				}
			}
		})
	}
	wg.Wait()
	select {
	case <-killed:
	default:
		t.Fatalf("the process was never killed (%d sends acknowledged)", ackCount.Load())
	}
	t.Logf("%d of %d sends acknowledged before the SIGKILL", ackCount.Load(), referrals)
	if ackCount.Load() == referrals {
		t.Fatalf("every send finished before the kill: nothing was in flight")
	}
	proc.start()

	commitments := func() map[string][]string {
		t.Helper()
		out := map[string][]string{}
		resp, err := bc.ListLedgerEntries(ainoCtx, &budgetv1.ListLedgerEntriesRequest{Parent: demo.Budget, PageSize: 500})
		if err != nil {
			t.Fatalf("ListLedgerEntries: %v", err)
		}
		for _, e := range resp.GetLedgerEntries() {
			if e.GetKind() == budgetv1.LedgerEntry_COMMITMENT && e.GetReference().GetReferral() != "" {
				out[e.GetReference().GetReferral()] = append(out[e.GetReference().GetReferral()], e.GetName())
			}
		}
		return out
	}

	// Right after the restart: no half referral.
	orphans := 0
	byReferral := commitments()
	for i, name := range names {
		r, err := rc.GetReferral(ainoCtx, &referralv1.GetReferralRequest{Name: name})
		if err != nil {
			t.Fatalf("GetReferral %s: %v", name, err)
		}
		got := byReferral[name]
		switch r.GetState() {
		case referralv1.Referral_SENT:
			entry := r.GetCommitment().GetLedgerEntry()
			if len(got) != 1 || got[0] != entry {
				t.Errorf("SENT %s records commitment %q; the ledger has %v for it", name, entry, got)
			}
		case referralv1.Referral_DRAFT:
			if acked[i] {
				t.Errorf("%s was acknowledged SENT but is a DRAFT after the restart", name)
			}
			if len(got) > 1 {
				t.Errorf("DRAFT %s has %d commitments", name, len(got))
			}
			orphans += len(got)
		default:
			t.Errorf("%s is %v after the restart; want DRAFT or SENT", name, r.GetState())
		}
	}
	t.Logf("after the restart: %d commitments waiting for their referral's send to be retried", orphans)

	// The callers retry: each send completes once.
	for i := range names {
		r, err := send(ainoCtx, i)
		if err != nil || r.GetState() != referralv1.Referral_SENT {
			t.Errorf("retried send of %s = %v, %v; want SENT", names[i], r.GetState(), err)
		}
	}
	byReferral = commitments()
	for _, name := range names {
		r, err := rc.GetReferral(ainoCtx, &referralv1.GetReferralRequest{Name: name})
		if err != nil {
			t.Fatalf("GetReferral %s: %v", name, err)
		}
		if got := byReferral[name]; len(got) != 1 || got[0] != r.GetCommitment().GetLedgerEntry() {
			t.Errorf("%s (%v) records commitment %q; the ledger has %v for it; want exactly one, the same",
				name, r.GetState(), r.GetCommitment().GetLedgerEntry(), got)
		}
	}
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	sent := map[string]int{}
	for _, e := range streamEvents(t, rdb, referralsvc.Namespace, referralsvc.Shards) {
		if strings.HasSuffix(e.Type, ".referral.sent") {
			sent[e.Subject]++
		}
	}
	for _, name := range names {
		if sent[name] != 1 {
			t.Errorf("%s has %d referral.sent events; want 1", name, sent[name])
		}
	}
	report, err := bc.CheckConsistency(as(t, s, mikko), &budgetv1.CheckConsistencyRequest{Name: demo.Budget})
	if err != nil || !report.GetConsistent() {
		t.Errorf("CheckConsistency = %v, %v; want consistent", report, err)
	}
}
