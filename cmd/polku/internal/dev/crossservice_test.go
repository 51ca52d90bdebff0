package dev

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"

	"github.com/polku-hb/polku/platform/auth"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
)

func spanAttr(s tracetest.SpanStub, key string) string {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value.Emit()
		}
	}
	return ""
}

func serviceName(s tracetest.SpanStub) string {
	for _, kv := range s.Resource.Attributes() {
		if kv.Key == "service.name" {
			return kv.Value.AsString()
		}
	}
	return ""
}

// The quality bar: all five services on real loopback gRPC plus the
// gateway, seeded with the demo region. Aino sends Tiina's referral to the
// coach through the REST gateway with a budget commitment; the coach accepts,
// starts and completes it over gRPC. Asserted: the send is one trace across
// gateway, referral, clients (consent), catalogue (offering), assessment
// (packet) and budget (commitment); each later handoff is its own trace with a
// span link to the send; the packet carries Tiina's plan goals and not her
// contact details; the ledger shows the commitment; the clients timeline tells
// the referral's story; no personal data in any span attribute.
func TestCrossServiceReferralSendAcceptStartComplete(t *testing.T) {
	s, spans, _ := startStack(t)
	ctx := context.Background()
	demo, err := SeedDemo(ctx, s)
	if err != nil {
		t.Fatalf("SeedDemo: %v", err)
	}
	coachID := demo.Providers["neurocoach"]
	as := func(p auth.Principal) context.Context { return callAs(t, s, ctx, p, "case work") }
	conn := func(name string) *grpc.ClientConn { return dialService(t, s, name) }
	rc := referralv1.NewReferralServiceClient(conn("referral"))
	cc := clientsv1.NewClientsServiceClient(conn("clients"))
	bc := budgetv1.NewBudgetServiceClient(conn("budget"))
	cat := cataloguev1.NewCatalogueServiceClient(conn("catalogue"))
	aino := auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion, Unit: "family-services"}
	coach := auth.Principal{Subject: CoachStaff, Role: auth.RoleProvider, ProviderID: coachID}

	// The coach's offering and the budget line that pays for it.
	offs, err := cat.ListOfferings(as(aino), &cataloguev1.ListOfferingsRequest{Parent: "providers/" + coachID})
	if err != nil || len(offs.GetOfferings()) == 0 {
		t.Fatalf("coach offerings = %v, %v", offs, err)
	}
	offering := offs.GetOfferings()[0].GetName()
	b, err := bc.GetBudget(as(aino), &budgetv1.GetBudgetRequest{Name: demo.Budget})
	if err != nil {
		t.Fatalf("GetBudget: %v", err)
	}
	lineID := ""
	for _, l := range b.GetLines() {
		if strings.HasPrefix(l.GetOffering(), "providers/"+coachID+"/") && l.GetAvailableCents() >= 5_000 {
			lineID = l.GetId()
		}
	}
	if lineID == "" {
		t.Fatalf("no budget line for the coach with 50 EUR available in %v", b.GetLines())
	}

	draft, err := rc.CreateReferral(as(aino), &referralv1.CreateReferralRequest{RequestId: "xs-create", Referral: &referralv1.Referral{
		Client: "clients/" + demo.Tiina, SendingUnit: "Perhepalvelut, Tampere", RecipientOffering: offering,
		RequestNote: "Follow-up coaching, 2 sessions", Urgency: referralv1.Urgency_URGENCY_ROUTINE,
		SendingResponsible: &referralv1.ResponsiblePerson{DisplayName: "Aino"},
		Commitment:         &referralv1.BudgetCommitment{Budget: demo.Budget, LineId: lineID, AmountCents: 5_000}}})
	if err != nil {
		t.Fatalf("CreateReferral: %v", err)
	}
	name := draft.GetName()
	id := strings.TrimPrefix(name, "referrals/")

	// Send through the REST gateway.
	spans.Reset()
	tok, _ := s.Token(aino, time.Hour)
	code, sent := call(t, "POST", s.GatewayURL+"/v1/"+name+":send", tok, map[string]any{"acknowledge_no_capacity": true},
		"X-Polku-Purpose", "case work")
	if code != http.StatusOK || sent["state"] != "SENT" {
		t.Fatalf("REST send = %d %v; want 200 SENT (budget %v line %s %v)", code, sent, b.GetState(), lineID, b.GetLines())
	}

	// The provider's verbs, each its own call (and trace).
	if _, err := rc.AcceptReferral(as(coach), &referralv1.AcceptReferralRequest{Name: name, RequestId: "xs-accept",
		ReceivingResponsible: &referralv1.ResponsiblePerson{DisplayName: "Maria (valmentaja)"}}); err != nil {
		t.Fatalf("accept: %v", err)
	}
	if _, err := rc.StartReferral(as(coach), &referralv1.StartReferralRequest{Name: name, RequestId: "xs-start"}); err != nil {
		t.Fatalf("start: %v", err)
	}
	done, err := rc.CompleteReferral(as(coach), &referralv1.CompleteReferralRequest{Name: name, RequestId: "xs-complete",
		Outcome: &referralv1.Outcome{Result: referralv1.OutcomeResult_OUTCOME_RESULT_HELPED, ServiceDelivered: true, Note: "two sessions held"}})
	if err != nil || done.GetState() != referralv1.Referral_COMPLETED {
		t.Fatalf("complete = %v, %v", done.GetState(), err)
	}

	// The packet the provider reads: plan goals (consented), no contact details.
	got, err := rc.GetReferral(as(coach), &referralv1.GetReferralRequest{Name: name})
	if err != nil {
		t.Fatalf("provider GetReferral: %v", err)
	}
	pk := got.GetPacket()
	if len(pk.GetPlanGoals()) == 0 || pk.GetContactDetails() != nil || len(pk.GetDisclosedCategories()) != 1 ||
		pk.GetDisclosedCategories()[0] != clientsv1.DataCategory_DATA_CATEGORY_PLAN_GOALS ||
		pk.GetAssessmentSummary() != "" || pk.GetBudgetSummary() != "" || got.GetClient() != "" {
		t.Errorf("provider's packet = %v (client %q); want plan goals only", pk, got.GetClient())
	}
	goals := pk.GetPlanGoals()

	// The ledger shows the commitment made for this referral.
	ledger, err := bc.ListLedgerEntries(as(aino), &budgetv1.ListLedgerEntriesRequest{Parent: demo.Budget, PageSize: 500})
	if err != nil {
		t.Fatalf("ListLedgerEntries: %v", err)
	}
	committed := false
	for _, e := range ledger.GetLedgerEntries() {
		if e.GetKind() == budgetv1.LedgerEntry_COMMITMENT && e.GetReference().GetReferral() == name && e.GetAmountCents() == 5_000 {
			committed = true
		}
	}
	if !committed {
		t.Errorf("ledger has no 50 EUR commitment for %s: %v", name, ledger.GetLedgerEntries())
	}

	// Spans.
	var all []tracetest.SpanStub
	handoffs := map[string]tracetest.SpanStub{}
	deadline := time.Now().Add(10 * time.Second)
	for {
		all = spans.GetSpans()
		handoffs = map[string]tracetest.SpanStub{}
		for _, sp := range all {
			if strings.HasPrefix(sp.Name, "referral.handoff ") && spanAttr(sp, "polku.referral.id") == id {
				handoffs[strings.TrimPrefix(sp.Name, "referral.handoff ")] = sp
			}
		}
		if len(handoffs) >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	send, ok := handoffs["send"]
	if !ok {
		t.Fatalf("no send handoff span among %d spans", len(all))
	}
	sendTrace := send.SpanContext.TraceID()
	services := map[string]bool{}
	for _, sp := range all {
		if sp.SpanContext.TraceID() == sendTrace {
			services[serviceName(sp)] = true
		}
	}
	for _, want := range []string{"polku-gateway", "polku-referral", "polku-clients", "polku-catalogue", "polku-assessment", "polku-budget"} {
		if !services[want] {
			t.Errorf("send trace has no span of %s; services in it: %v", want, services)
		}
	}
	if spanAttr(send, "polku.provider.id") != coachID || spanAttr(send, "polku.referral.state.to") != "SENT" {
		t.Errorf("send span attributes = %v", send.Attributes)
	}
	for _, verb := range []string{"accept", "start", "complete"} {
		sp, ok := handoffs[verb]
		if !ok {
			t.Errorf("no %s handoff span", verb)
			continue
		}
		if sp.SpanContext.TraceID() == sendTrace {
			t.Errorf("%s span is in the send's trace; want its own trace", verb)
		}
		if len(sp.Links) != 1 || sp.Links[0].SpanContext.TraceID() != sendTrace || sp.Links[0].SpanContext.SpanID() != send.SpanContext.SpanID() {
			t.Errorf("%s span links = %v; want one link to the send span", verb, sp.Links)
		}
	}
	// No personal data in any span attribute (names, identity code, contact,
	// the plan's goals in the client's words).
	personal := []string{"Tiina", "Virtanen", "150391-934P", "+358401234567"}
	personal = append(personal, goals...)
	for _, sp := range all {
		for _, a := range sp.Attributes {
			for _, p := range personal {
				if p != "" && strings.Contains(a.Value.Emit(), p) {
					t.Errorf("span %s (%s) carries personal data in %s", sp.Name, serviceName(sp), a.Key)
				}
			}
		}
	}

	// The clients timeline tells the referral's story (projected asynchronously).
	want := []string{"sent", "accepted", "started", "completed"}
	var seen map[string]bool
	deadline = time.Now().Add(15 * time.Second)
	for {
		seen = map[string]bool{}
		resp, err := cc.ListTimelineEvents(as(aino), &clientsv1.ListTimelineEventsRequest{Parent: "clients/" + demo.Tiina, PageSize: 500})
		if err != nil {
			t.Fatalf("ListTimelineEvents: %v", err)
		}
		for _, ev := range resp.GetTimelineEvents() {
			if ev.GetSubject() == name || strings.HasSuffix(ev.GetSubject(), id) {
				seen[strings.TrimPrefix(ev.GetType(), "polku.referral.v1.referral.")] = true
			}
		}
		all := true
		for _, w := range want {
			all = all && seen[w]
		}
		if all || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("send trace spans services %v; timeline events of the referral: %v", services, seen)
	for _, w := range want {
		if !seen[w] {
			t.Errorf("timeline has no referral %q event for %s; saw %v", w, name, seen)
		}
	}
}
