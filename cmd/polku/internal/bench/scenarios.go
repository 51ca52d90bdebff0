package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/polku-hb/polku/cmd/polku/internal/dev"
	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/ids"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
	clientssvc "github.com/polku-hb/polku/services/clients/service"
)

// Scenario names (the keys of the JSON results).
const (
	FloorGRPC      = "floor-grpc-health"
	FloorREST      = "floor-rest-health"
	SendReferral   = "rest-send-referral"
	CreateClient   = "rest-create-client"
	CatalogueSrch  = "grpc-catalogue-search"
	CommitHot      = "grpc-budget-commit-hot-line"
	CommitSpread   = "grpc-budget-commit-spread"
	TimelineRead   = "rest-client-timeline"
	createPICStart = 1_000_000 // identity codes of created clients follow the seeded ones
)

// ReadScenarios are measured at 10 % and at 100 % of the volume (growth).
var ReadScenarios = []string{CatalogueSrch, TimelineRead}

// AllScenarios in the order they run.
var AllScenarios = []string{FloorGRPC, FloorREST, SendReferral, CreateClient, CatalogueSrch, CommitHot, CommitSpread, TimelineRead}

// target is a running server and how to call it.
type target struct {
	ready  Ready
	issuer *auth.DevIssuer
	http   *http.Client
	conns  map[string]*grpc.ClientConn
	tokens sync.Map // subject -> bearer token
}

func newTarget(r Ready, issuer *auth.DevIssuer, concurrency int) (*target, error) {
	t := &target{ready: r, issuer: issuer, conns: map[string]*grpc.ClientConn{},
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: 4 * concurrency, MaxIdleConnsPerHost: 4 * concurrency}}}
	for name, addr := range r.GRPCAddrs {
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.close()
			return nil, err
		}
		t.conns[name] = c
	}
	return t, nil
}

func (t *target) close() {
	for _, c := range t.conns {
		c.Close()
	}
	t.http.CloseIdleConnections()
}

// token is a worker's bearer token (workers of the demo region).
func (t *target) token(subject string) string {
	if v, ok := t.tokens.Load(subject); ok {
		return v.(string)
	}
	tok, err := t.issuer.Issue(auth.Principal{Subject: subject, Role: auth.RoleWorker, Region: dev.DemoRegion, Unit: "family-services"},
		auth.DevIssuerName, auth.DevAudience, 12*time.Hour)
	if err != nil {
		panic(err) // the dev key signs; a failure is a broken key file
	}
	t.tokens.Store(subject, tok)
	return tok
}

func (t *target) as(ctx context.Context, subject string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+t.token(subject), "x-polku-purpose", "load test")
}

func (t *target) rest(ctx context.Context, method, path, subject string, body []byte) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.ready.GatewayURL+path, rd)
	if err != nil {
		return err
	}
	if subject != "" {
		req.Header.Set("Authorization", "Bearer "+t.token(subject))
		req.Header.Set("X-Polku-Purpose", "load test")
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := t.http.Do(req)
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %.200s", method, strings.SplitN(path, "?", 2)[0], resp.StatusCode, msg)
	}
	return nil
}

// Plan is how much load one measurement makes.
type Plan struct {
	Concurrency int
	Duration    time.Duration
	// Sends is the number of drafts made for the send scenario (each send
	// needs its own draft).
	Sends int
}

// measure runs the named scenarios against t, one after another.
func measure(ctx context.Context, t *target, seeded *Seeded, p Plan, names []string, createBase int) ([]Result, error) {
	var out []Result
	for _, name := range names {
		r, err := scenario(ctx, t, seeded, p, name, createBase)
		if err != nil {
			return out, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func round(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }

var searchWords = []string{"perhetyö", "museo", "valmennus", "vertaistuki", "nuorille", "kotipalvelu", "musiikkiterapia", "ryhmäliikunta", "asumisen tuki", "uimahalli"}

func scenario(ctx context.Context, t *target, seeded *Seeded, p Plan, name string, createBase int) (Result, error) {
	c, d := p.Concurrency, p.Duration
	const unbounded = 1 << 40
	switch name {
	case FloorGRPC:
		h := healthpb.NewHealthClient(t.conns["clients"])
		return run(ctx, name, "grpc", c, unbounded, d, func(ctx context.Context, _ int) error {
			_, err := h.Check(ctx, &healthpb.HealthCheckRequest{})
			return err
		}), nil
	case FloorREST:
		return run(ctx, name, "rest", c, unbounded, d, func(ctx context.Context, _ int) error {
			return t.rest(ctx, http.MethodGet, "/healthz", "", nil)
		}), nil
	case SendReferral:
		drafts, err := makeDrafts(ctx, t, p.Sends, c)
		if err != nil {
			return Result{}, err
		}
		// A send through the gateway: consent packet (clients, assessment),
		// offering (catalogue), a 1-cent commitment (budget), all traced.
		return run(ctx, name, "rest", c, len(drafts), d, func(ctx context.Context, i int) error {
			return t.rest(ctx, http.MethodPost, "/v1/"+drafts[i]+":send", dev.Aino, []byte(`{"acknowledge_no_capacity":true}`))
		}), nil
	case CreateClient:
		return run(ctx, name, "rest", c, unbounded, d, func(ctx context.Context, i int) error {
			body := fmt.Sprintf(`{"given_name":"Testi","family_name":"Kuormitus","personal_identity_code":%q,"preferred_languages":["fi"],`+
				`"contact_preference":"CONTACT_PREFERENCE_VIA_WORKER","target_group":"TARGET_GROUP_FAMILY_ADULT","cohort":"COHORT_PERSONAL_BUDGET"}`,
				clientssvc.BulkPIC(createBase+i))
			return t.rest(ctx, http.MethodPost, "/v1/clients?request_id="+ids.New(), dev.Aino, []byte(body))
		}), nil
	case CatalogueSrch:
		cc := cataloguev1.NewCatalogueServiceClient(t.conns["catalogue"])
		return run(ctx, name, "grpc", c, unbounded, d, func(ctx context.Context, i int) error {
			req := &cataloguev1.SearchOfferingsRequest{Query: searchWords[i%len(searchWords)], PageSize: 20}
			if i%2 == 1 {
				req.Municipalities = []string{"837"} // Tampere
			}
			_, err := cc.SearchOfferings(t.as(ctx, dev.Aino), req)
			return err
		}), nil
	case CommitHot, CommitSpread:
		if len(seeded.Budgets) == 0 {
			return Result{}, fmt.Errorf("no seeded budgets")
		}
		bc := budgetv1.NewBudgetServiceClient(t.conns["budget"])
		workerOf := map[string]string{}
		for _, cl := range seeded.Clients {
			workerOf[cl.ID] = cl.Worker
		}
		hot := seeded.Budgets[0]
		return run(ctx, name, "grpc", c, unbounded, d, func(ctx context.Context, i int) error {
			b := hot
			if name == CommitSpread {
				b = seeded.Budgets[rand.IntN(len(seeded.Budgets))]
			}
			_, err := bc.CommitFunds(t.as(ctx, workerOf[b.Client]), &budgetv1.CommitFundsRequest{
				Name: "clients/" + b.Client + "/budgets/" + b.Budget, LineId: b.Line, AmountCents: 1, RequestId: ids.New()})
			return err
		}), nil
	case TimelineRead:
		if len(seeded.Clients) == 0 {
			return Result{}, fmt.Errorf("no seeded clients")
		}
		return run(ctx, name, "rest", c, unbounded, d, func(ctx context.Context, _ int) error {
			cl := seeded.Clients[rand.IntN(len(seeded.Clients))]
			return t.rest(ctx, http.MethodGet, "/v1/clients/"+cl.ID+"/timelineEvents", cl.Worker, nil)
		}), nil
	}
	return Result{}, fmt.Errorf("unknown scenario")
}

// makeDrafts creates n draft referrals of the demo client to the coaching
// provider with a 1-cent commitment on her budget (before the clock starts:
// only the send is measured).
func makeDrafts(ctx context.Context, t *target, n, c int) ([]string, error) {
	demo := t.ready.Demo
	wctx := t.as(ctx, dev.Aino)
	coach := demo.Providers["neurocoach"]
	offs, err := cataloguev1.NewCatalogueServiceClient(t.conns["catalogue"]).ListOfferings(wctx, &cataloguev1.ListOfferingsRequest{Parent: "providers/" + coach})
	if err != nil || len(offs.GetOfferings()) == 0 {
		return nil, fmt.Errorf("coach offerings: %v", err)
	}
	bud, err := budgetv1.NewBudgetServiceClient(t.conns["budget"]).GetBudget(wctx, &budgetv1.GetBudgetRequest{Name: demo.Budget})
	if err != nil {
		return nil, err
	}
	line := ""
	for _, l := range bud.GetLines() {
		if strings.HasPrefix(l.GetOffering(), "providers/"+coach+"/") {
			line = l.GetId()
		}
	}
	rc := referralv1.NewReferralServiceClient(t.conns["referral"])
	drafts := make([]string, n)
	r := run(ctx, "drafts", "grpc", c, n, time.Hour, func(ctx context.Context, i int) error {
		d, err := rc.CreateReferral(t.as(ctx, dev.Aino), &referralv1.CreateReferralRequest{RequestId: ids.New(), Referral: &referralv1.Referral{
			Client: "clients/" + demo.Tiina, SendingUnit: "bench", RecipientOffering: offs.GetOfferings()[0].GetName(),
			Urgency: referralv1.Urgency_URGENCY_ROUTINE, SendingResponsible: &referralv1.ResponsiblePerson{DisplayName: "Aino"},
			Commitment: &referralv1.BudgetCommitment{Budget: demo.Budget, LineId: line, AmountCents: 1}}})
		if err == nil {
			drafts[i] = d.GetName()
		}
		return err
	})
	if r.Errors > 0 {
		return nil, fmt.Errorf("creating drafts: %d errors, first: %s", r.Errors, r.FirstError)
	}
	return drafts, nil
}
