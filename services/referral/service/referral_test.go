package service_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/store"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
)

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, a := range s.Attributes() {
		if string(a.Key) == key {
			return a.Value.Emit()
		}
	}
	return ""
}

func TestLifecycleWithSpanLinks(t *testing.T) {
	stores(t, func(t *testing.T, cs, rs store.Store) {
		e := start(t, cs, rs)
		r := e.draft(t, coaching, 108_000)
		if r.GetState() != referralv1.Referral_DRAFT || r.GetRecipientProvider() != "providers/neurocoach" {
			t.Fatalf("CreateReferral = %v; want DRAFT to neurocoach", r)
		}
		got, err := e.rc.GetReferral(e.as(t, aino), &referralv1.GetReferralRequest{Name: r.GetName()})
		if err != nil || got.GetRecipientCapacity().String() != "CAPACITY_YES" {
			t.Fatalf("GetReferral(DRAFT) capacity = %v, %v; want CAPACITY_YES", got.GetRecipientCapacity(), err)
		}
		sent, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName(), RequestId: "send-1"})
		if err != nil {
			t.Fatalf("SendReferral: %v", err)
		}
		if sent.GetState() != referralv1.Referral_SENT || sent.GetCommitment().GetLedgerEntry() == "" ||
			sent.GetDeadlineKind() != referralv1.DeadlineKind_DEADLINE_KIND_RESPONSE ||
			!sent.GetDueTime().AsTime().Equal(e.now().Add(48*time.Hour)) {
			t.Fatalf("SendReferral = %v; want SENT with a commitment and a 48 h response deadline", sent)
		}
		// A retry with the same request id returns the referral, no second commitment.
		if _, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName(), RequestId: "send-1"}); err != nil {
			t.Errorf("SendReferral retry: %v", err)
		}
		if n, _ := e.bud.count(); n != 1 {
			t.Errorf("commitments = %d; want 1", n)
		}
		steps := []struct {
			name string
			call func() (*referralv1.Referral, error)
			want referralv1.Referral_State
		}{
			{"accept", func() (*referralv1.Referral, error) {
				return e.rc.AcceptReferral(e.as(t, coach), &referralv1.AcceptReferralRequest{Name: r.GetName(),
					ReceivingResponsible: &referralv1.ResponsiblePerson{Subject: "p-coach", DisplayName: "Maria Valmentaja"}})
			}, referralv1.Referral_ACCEPTED},
			{"start", func() (*referralv1.Referral, error) {
				return e.rc.StartReferral(e.as(t, coach), &referralv1.StartReferralRequest{Name: r.GetName()})
			}, referralv1.Referral_IN_PROGRESS},
			{"complete", func() (*referralv1.Referral, error) {
				return e.rc.CompleteReferral(e.as(t, coach), &referralv1.CompleteReferralRequest{Name: r.GetName(),
					Outcome: &referralv1.Outcome{Result: referralv1.OutcomeResult_OUTCOME_RESULT_HELPED, ServiceDelivered: true}})
			}, referralv1.Referral_COMPLETED},
		}
		for _, tt := range steps {
			e.advance(time.Hour)
			got, err := tt.call()
			if err != nil || got.GetState() != tt.want {
				t.Fatalf("%s = %v, %v; want %v", tt.name, got.GetState(), err, tt.want)
			}
			if got.GetClient() != "" || got.GetCommitment().GetBudget() != "" {
				t.Errorf("%s: provider sees client %q / budget %q; want hidden", tt.name, got.GetClient(), got.GetCommitment().GetBudget())
			}
		}
		final, err := e.rc.GetReferral(e.as(t, aino), &referralv1.GetReferralRequest{Name: r.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		var path []string
		for _, tr := range final.GetTransitions() {
			path = append(path, tr.GetToState().String()+"/"+tr.GetActorRole())
			if tr.GetActor() == "" || tr.GetTransitionTime() == nil {
				t.Errorf("transition %v names no actor or time", tr)
			}
		}
		if want := "SENT/WORKER RECEIVED/PROVIDER ACCEPTED/PROVIDER IN_PROGRESS/PROVIDER COMPLETED/PROVIDER"; strings.Join(path, " ") != want {
			t.Errorf("transitions = %v; want %v", path, want)
		}
		if _, rel := e.bud.count(); rel != 0 {
			t.Errorf("releases = %d; want 0 (service delivered)", rel)
		}

		// Spans: one handoff per verb; later ones link to the send's span and
		// live in other traces; no personal data in attributes.
		handoffs := map[string]sdktrace.ReadOnlySpan{}
		for _, s := range e.flush(t) {
			for _, a := range s.Attributes() {
				if strings.Contains(a.Value.Emit(), "Tiina") || strings.Contains(a.Value.Emit(), "+358") {
					t.Errorf("span %s carries personal data in %s", s.Name(), a.Key)
				}
			}
			if strings.HasPrefix(s.Name(), "referral.handoff ") && attr(s, "polku.referral.id") == strings.TrimPrefix(r.GetName(), "referrals/") {
				handoffs[strings.TrimPrefix(s.Name(), "referral.handoff ")] = s
			}
		}
		send, ok := handoffs["send"]
		if !ok {
			t.Fatalf("no send handoff span among %v", handoffs)
		}
		if attr(send, "polku.provider.id") != "neurocoach" || attr(send, "polku.referral.state.to") != "SENT" {
			t.Errorf("send span attributes = %v", send.Attributes())
		}
		for _, verb := range []string{"accept", "start", "complete"} {
			s, ok := handoffs[verb]
			if !ok {
				t.Errorf("no %s handoff span", verb)
				continue
			}
			if s.SpanContext().TraceID() == send.SpanContext().TraceID() {
				t.Errorf("%s span is in the send's trace; want its own trace", verb)
			}
			if len(s.Links()) != 1 || s.Links()[0].SpanContext.SpanID() != send.SpanContext().SpanID() ||
				s.Links()[0].SpanContext.TraceID() != send.SpanContext().TraceID() {
				t.Errorf("%s span links = %v; want one link to the send span", verb, s.Links())
			}
		}
		// Metrics: time in state by state and provider kind only.
		var rm metricdata.ResourceMetrics
		if err := e.metrics.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		handoffCounts := map[string]int64{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if c, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "polku.referral.handoffs" {
					for _, dp := range c.DataPoints {
						verb, _ := dp.Attributes.Value("verb")
						kind, _ := dp.Attributes.Value("provider_kind")
						if dp.Attributes.Len() != 2 || !strings.HasPrefix(kind.AsString(), "PROVIDER_KIND_") {
							t.Errorf("%s point %v; want exactly verb and a PROVIDER_KIND_* provider_kind", m.Name, dp.Attributes.ToSlice())
						}
						handoffCounts[verb.AsString()] += dp.Value
					}
				}
				h, ok := m.Data.(metricdata.Histogram[float64])
				if !ok || !strings.HasPrefix(m.Name, "polku.referral.") {
					continue
				}
				for _, dp := range h.DataPoints {
					for _, kv := range dp.Attributes.ToSlice() {
						if k := string(kv.Key); k != "state" && k != "provider_kind" {
							t.Errorf("%s has label %s; want state and provider_kind only", m.Name, k)
						}
					}
					st, _ := dp.Attributes.Value("state")
					seen[m.Name+"/"+st.AsString()] = true
				}
			}
		}
		for _, want := range []string{"polku.referral.state.duration/SENT", "polku.referral.state.duration/ACCEPTED",
			"polku.referral.state.duration/IN_PROGRESS", "polku.referral.send_to_accept.duration/", "polku.referral.send_to_start.duration/"} {
			if !seen[want] {
				t.Errorf("no metric point %s among %v", want, seen)
			}
		}
		for _, verb := range []string{"send", "accept", "start", "complete"} {
			if handoffCounts[verb] != 1 {
				t.Errorf("polku.referral.handoffs{verb=%s} = %d; want 1 (all: %v)", verb, handoffCounts[verb], handoffCounts)
			}
		}
		if got := attr(handoffs["complete"], "polku.referral.state.from") + ">" + attr(handoffs["complete"], "polku.referral.state.to"); got != "IN_PROGRESS>COMPLETED" {
			t.Errorf("complete span states = %s", got)
		}
	})
}

func TestIllegalTransitionNamesAllowedStates(t *testing.T) {
	stores(t, func(t *testing.T, cs, rs store.Store) {
		e := start(t, cs, rs)
		r := e.draft(t, coaching, 0)
		if _, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName()}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			call func() error
			want string
		}{
			{"start a SENT", func() error {
				_, err := e.rc.StartReferral(e.as(t, coach), &referralv1.StartReferralRequest{Name: r.GetName()})
				return err
			}, "RECEIVED, ACCEPTED, NEEDS_REDIRECT, CANCELLED"},
			{"close a SENT", func() error {
				_, err := e.rc.CloseReferral(e.as(t, aino), &referralv1.CloseReferralRequest{Name: r.GetName(), Reason: "x"})
				return err
			}, "RECEIVED, ACCEPTED"},
		}
		for _, tt := range tests {
			err := tt.call()
			wantCode(t, tt.name, err, codes.FailedPrecondition)
			wantReason(t, tt.name, err, "ILLEGAL_TRANSITION")
			if err != nil && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: %v; want it to name %s", tt.name, err, tt.want)
			}
		}
		_, err := e.rc.AcceptReferral(e.as(t, coach), &referralv1.AcceptReferralRequest{Name: r.GetName()})
		wantCode(t, "accept without a responsible person", err, codes.InvalidArgument)
	})
}

func TestBudgetDownAtSendSendsNothing(t *testing.T) {
	stores(t, func(t *testing.T, cs, rs store.Store) {
		e := start(t, cs, rs)
		r := e.draft(t, coaching, 108_000)
		e.bud.mu.Lock()
		e.bud.down = true
		e.bud.mu.Unlock()
		_, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName(), RequestId: "s1"})
		wantCode(t, "send with the budget down", err, codes.Unavailable)
		got, _ := e.rc.GetReferral(e.as(t, aino), &referralv1.GetReferralRequest{Name: r.GetName()})
		if got.GetState() != referralv1.Referral_DRAFT || got.GetPacket() != nil {
			t.Errorf("after failed send state = %v packet = %v; want DRAFT, none", got.GetState(), got.GetPacket())
		}
		inbox, _ := e.rc.ListReferrals(e.as(t, coach), &referralv1.ListReferralsRequest{})
		if len(inbox.GetReferrals()) != 0 {
			t.Errorf("provider inbox after failed send = %d; want 0", len(inbox.GetReferrals()))
		}

		// The commitment is made but its answer is lost: still DRAFT; the retry
		// completes it with the same commitment.
		e.bud.mu.Lock()
		e.bud.down, e.bud.lose = false, true
		e.bud.mu.Unlock()
		_, err = e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName(), RequestId: "s1"})
		wantCode(t, "send with the answer lost", err, codes.Unavailable)
		e.bud.mu.Lock()
		e.bud.lose = false
		e.bud.mu.Unlock()
		sent, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName(), RequestId: "s1"})
		if err != nil || sent.GetState() != referralv1.Referral_SENT {
			t.Fatalf("retried send = %v, %v; want SENT", sent.GetState(), err)
		}
		if n, _ := e.bud.count(); n != 1 {
			t.Errorf("commitments after retries = %d; want 1", n)
		}
	})
}

// A send whose budget answer was lost leaves a commitment the referral does
// not know; if the worker then changes the draft's commitment, the next send
// must make a commitment on the new terms, not pick up the lost one (which
// was for another amount).
func TestSendAfterEditedCommitmentMakesANewCommitment(t *testing.T) {
	stores(t, func(t *testing.T, cs, rs store.Store) {
		e := start(t, cs, rs)
		r := e.draft(t, coaching, 108_000)
		e.bud.mu.Lock()
		e.bud.lose = true
		e.bud.mu.Unlock()
		_, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName()})
		wantCode(t, "send with the answer lost", err, codes.Unavailable)
		e.bud.mu.Lock()
		e.bud.lose = false
		lost := len(e.bud.commits)
		e.bud.mu.Unlock()

		r.Commitment = &referralv1.BudgetCommitment{Budget: e.budget, LineId: "coach", AmountCents: 54_000}
		if _, err := e.rc.UpdateReferral(e.as(t, aino), &referralv1.UpdateReferralRequest{Referral: r,
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"commitment"}}}); err != nil {
			t.Fatalf("UpdateReferral: %v", err)
		}
		sent, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName()})
		if err != nil {
			t.Fatalf("send: %v", err)
		}
		e.bud.mu.Lock()
		defer e.bud.mu.Unlock()
		if len(e.bud.commits) != lost+1 {
			t.Fatalf("commitments = %d, want %d (a new one for the new terms)", len(e.bud.commits), lost+1)
		}
		for id, entry := range e.bud.commits {
			if entry == sent.GetCommitment().GetLedgerEntry() && e.bud.amounts[id] != 54_000 {
				t.Errorf("the referral records %s, a commitment of %d cents; want the 54 000 one", entry, e.bud.amounts[id])
			}
		}
	})
}

func TestDuplicateCreateMakesOneReferral(t *testing.T) {
	stores(t, func(t *testing.T, cs, rs store.Store) {
		e := start(t, cs, rs)
		req := &referralv1.CreateReferralRequest{RequestId: "r-1", Referral: &referralv1.Referral{Client: e.parent,
			SendingUnit: "Perhepalvelut", RecipientOffering: coaching}}
		var names sync.Map
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				got, err := e.rc.CreateReferral(e.as(t, aino), req)
				if err != nil {
					t.Errorf("CreateReferral: %v", err)
					return
				}
				names.Store(got.GetName(), true)
			})
		}
		wg.Wait()
		n := 0
		names.Range(func(any, any) bool { n++; return true })
		if n != 1 {
			t.Errorf("distinct referrals from one request id = %d; want 1", n)
		}
		list, err := e.rc.ListReferrals(e.as(t, aino), &referralv1.ListReferralsRequest{Filter: `client = "` + e.parent + `"`})
		if err != nil || len(list.GetReferrals()) != 1 {
			t.Errorf("ListReferrals = %d, %v; want 1", len(list.GetReferrals()), err)
		}
	})
}

func TestListsAndInboxIsolation(t *testing.T) {
	stores(t, func(t *testing.T, cs, rs store.Store) {
		e := start(t, cs, rs)
		a := e.draft(t, coaching, 0)
		b := e.draft(t, peerGroup, 0)
		for _, r := range []*referralv1.Referral{a, b} {
			if _, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName()}); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name   string
			ctx    context.Context
			filter string
			want   int
		}{
			{"coach inbox", e.as(t, coach), "", 1},
			{"peers inbox", e.as(t, peers), "", 1},
			{"coach cannot widen by filter", e.as(t, coach), `recipient_provider = "providers/vertaiset"`, 0},
			{"aino open", e.as(t, aino), "open = true", 2},
			{"pekka open", e.as(t, pekka), "", 0},
			{"tiina own", e.as(t, e.client), "", 2},
			{"manager region", e.as(t, mikko), "state = SENT", 2},
			{"assistant of tiina alone", e.as(t, sanna(e.client.ClientID)), "", 2},
			{"assistant of two names tiina", e.as(t, sanna(e.client.ClientID, "someone-else")), `client = "` + e.parent + `"`, 2},
		}
		for _, tt := range tests {
			got, err := e.rc.ListReferrals(tt.ctx, &referralv1.ListReferralsRequest{Filter: tt.filter})
			if err != nil || len(got.GetReferrals()) != tt.want {
				t.Errorf("%s: ListReferrals = %d, %v; want %d", tt.name, len(got.GetReferrals()), err, tt.want)
			}
			for _, r := range got.GetReferrals() {
				if tt.ctx != nil && strings.Contains(tt.name, "inbox") && r.GetClient() != "" {
					t.Errorf("%s: provider sees client %q", tt.name, r.GetClient())
				}
			}
		}
		_, err := e.rc.ListReferrals(e.as(t, coach), &referralv1.ListReferralsRequest{Filter: `client = "` + e.parent + `"`})
		wantCode(t, "provider filters by client", err, codes.InvalidArgument)
		_, err = e.rc.ListReferrals(e.as(t, sanna(e.client.ClientID, "someone-else")), &referralv1.ListReferralsRequest{})
		wantCode(t, "assistant of two names no client", err, codes.InvalidArgument)
		_, err = e.rc.ListReferrals(e.as(t, sanna("someone-else")), &referralv1.ListReferralsRequest{Filter: `client = "` + e.parent + `"`})
		wantCode(t, "assistant of another client", err, codes.PermissionDenied)
		_, err = e.rc.ListReferrals(e.as(t, aino), &referralv1.ListReferralsRequest{OrderBy: "create_time"})
		wantCode(t, "unsupported order_by", err, codes.InvalidArgument)
		_, err = e.rc.ListEscalations(e.as(t, mikko), &referralv1.ListEscalationsRequest{Parent: "referrals/-", Filter: "level = 2"})
		wantCode(t, "unsupported escalation filter", err, codes.InvalidArgument)
		_, err = e.rc.GetReferral(e.as(t, peers), &referralv1.GetReferralRequest{Name: a.GetName()})
		wantCode(t, "other provider reads", err, codes.NotFound)
		_, err = e.rc.AcceptReferral(e.as(t, peers), &referralv1.AcceptReferralRequest{Name: a.GetName(),
			ReceivingResponsible: &referralv1.ResponsiblePerson{DisplayName: "x"}})
		wantCode(t, "other provider accepts", err, codes.NotFound)
		_, err = e.rc.GetReferral(e.as(t, pekka), &referralv1.GetReferralRequest{Name: a.GetName()})
		wantCode(t, "worker outside the team reads", err, codes.NotFound)
	})
}

func TestConsentWithdrawalHidesPacket(t *testing.T) {
	stores(t, func(t *testing.T, cs, rs store.Store) {
		e := start(t, cs, rs)
		goals, err := e.cc.CreateConsent(e.as(t, aino), &clientsv1.CreateConsentRequest{Parent: e.parent,
			Consent: &clientsv1.Consent{Category: clientsv1.DataCategory_DATA_CATEGORY_PLAN_GOALS, Recipient: "providers/neurocoach"}})
		if err != nil {
			t.Fatal(err)
		}
		contact, err := e.cc.CreateConsent(e.as(t, aino), &clientsv1.CreateConsentRequest{Parent: e.parent,
			Consent: &clientsv1.Consent{Category: clientsv1.DataCategory_DATA_CATEGORY_CONTACT_DETAILS, Recipient: "providers/neurocoach"}})
		if err != nil {
			t.Fatal(err)
		}
		_ = goals
		r := e.draft(t, coaching, 0)
		if _, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName()}); err != nil {
			t.Fatal(err)
		}
		got, err := e.rc.GetReferral(e.as(t, coach), &referralv1.GetReferralRequest{Name: r.GetName()})
		if err != nil || got.GetPacket().GetContactDetails().GetPhone() != "+358401234567" || len(got.GetPacket().GetDisclosedCategories()) != 2 {
			t.Fatalf("provider packet before withdrawal = %v, %v; want contact and 2 categories", got.GetPacket(), err)
		}
		if _, err := e.cc.WithdrawConsent(e.as(t, aino), &clientsv1.WithdrawConsentRequest{Name: contact.GetName()}); err != nil {
			t.Fatal(err)
		}
		got, err = e.rc.GetReferral(e.as(t, coach), &referralv1.GetReferralRequest{Name: r.GetName()})
		if err != nil || got.GetPacket().GetContactDetails() != nil || len(got.GetPacket().GetDisclosedCategories()) != 1 ||
			len(got.GetPacket().GetWithdrawnCategories()) != 1 {
			t.Errorf("provider packet after withdrawal = %v, %v; want no contact, 1 category, 1 withdrawn", got.GetPacket(), err)
		}
		// The worker still sees what was frozen at send.
		w, _ := e.rc.GetReferral(e.as(t, aino), &referralv1.GetReferralRequest{Name: r.GetName()})
		if len(w.GetPacket().GetDisclosedCategories()) != 2 {
			t.Errorf("worker's view of the frozen packet = %v", w.GetPacket())
		}
	})
}

func TestDeclineRedirectCancelReopen(t *testing.T) {
	stores(t, func(t *testing.T, cs, rs store.Store) {
		e := start(t, cs, rs)
		r := e.draft(t, peerGroup, 5_000)
		if _, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName()}); err != nil {
			t.Fatal(err)
		}
		_, err := e.rc.DeclineReferral(e.as(t, peers), &referralv1.DeclineReferralRequest{Name: r.GetName(),
			Reason: referralv1.DeclineReason_DECLINE_REASON_NO_CAPACITY})
		wantCode(t, "decline without a note", err, codes.InvalidArgument)
		d, err := e.rc.DeclineReferral(e.as(t, peers), &referralv1.DeclineReferralRequest{Name: r.GetName(),
			Reason: referralv1.DeclineReason_DECLINE_REASON_NO_CAPACITY, Note: "group full"})
		if err != nil || d.GetState() != referralv1.Referral_NEEDS_REDIRECT {
			t.Fatalf("decline = %v, %v; want NEEDS_REDIRECT", d.GetState(), err)
		}
		open, _ := e.rc.ListReferrals(e.as(t, aino), &referralv1.ListReferralsRequest{Filter: "state = NEEDS_REDIRECT"})
		if len(open.GetReferrals()) != 1 {
			t.Errorf("aino's NEEDS_REDIRECT list = %d; want 1", len(open.GetReferrals()))
		}
		resp, err := e.rc.RedirectReferral(e.as(t, aino), &referralv1.RedirectReferralRequest{Name: r.GetName(), RecipientOffering: otherPeer})
		if err != nil {
			t.Fatalf("redirect: %v", err)
		}
		if resp.GetReferral().GetState() != referralv1.Referral_DECLINED || resp.GetSuccessor().GetState() != referralv1.Referral_SENT ||
			resp.GetReferral().GetRedirectedTo() != resp.GetSuccessor().GetName() || resp.GetSuccessor().GetRedirectedFrom() != r.GetName() ||
			!resp.GetReferral().GetCommitment().GetReleased() {
			t.Errorf("redirect = %v; want DECLINED (released) -> SENT successor, linked", resp)
		}
		// A retry returns the same pair.
		again, err := e.rc.RedirectReferral(e.as(t, aino), &referralv1.RedirectReferralRequest{Name: r.GetName(), RecipientOffering: otherPeer})
		if err != nil || again.GetSuccessor().GetName() != resp.GetSuccessor().GetName() {
			t.Errorf("redirect retry = %v, %v; want the same successor", again.GetSuccessor().GetName(), err)
		}
		if _, rel := e.bud.count(); rel != 1 {
			t.Errorf("releases = %d; want 1", rel)
		}

		// Cancel by the client, reopen by the worker.
		s := resp.GetSuccessor()
		c, err := e.rc.CancelReferral(e.as(t, e.client), &referralv1.CancelReferralRequest{Name: s.GetName(), Reason: "moved away"})
		if err != nil || c.GetState() != referralv1.Referral_CANCELLED {
			t.Fatalf("client cancel = %v, %v", c.GetState(), err)
		}
		_, err = e.rc.ReopenReferral(e.as(t, e.client), &referralv1.ReopenReferralRequest{Name: s.GetName(), Reason: "x"})
		wantCode(t, "client reopens", err, codes.PermissionDenied)
		ro, err := e.rc.ReopenReferral(e.as(t, aino), &referralv1.ReopenReferralRequest{Name: s.GetName(), Reason: "came back"})
		if err != nil || ro.GetState() != referralv1.Referral_NEEDS_REDIRECT || ro.GetEndReason() != "came back" {
			t.Errorf("reopen = %v, %v; want NEEDS_REDIRECT", ro.GetState(), err)
		}
		_, err = e.rc.ReopenReferral(e.as(t, aino), &referralv1.ReopenReferralRequest{Name: r.GetName(), Reason: "x"})
		wantCode(t, "reopen DECLINED", err, codes.FailedPrecondition)
	})
}

func TestEscalationOnceAcrossReplicas(t *testing.T) {
	stores(t, func(t *testing.T, cs, rs store.Store) {
		e := start(t, cs, rs)
		r := e.draft(t, coaching, 0)
		if _, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName()}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.rc.ReceiveReferral(e.as(t, coach), &referralv1.ReceiveReferralRequest{Name: r.GetName()}); err != nil {
			t.Fatal(err)
		}
		replicas := []interface {
			EscalateDue(context.Context) (int, error)
		}{e.svc, e.newSvc(), e.newSvc()}
		run := func() int {
			var mu sync.Mutex
			total := 0
			var wg sync.WaitGroup
			for _, rep := range replicas {
				wg.Go(func() {
					n, err := rep.EscalateDue(context.Background())
					if err != nil {
						t.Errorf("EscalateDue: %v", err)
					}
					mu.Lock()
					total += n
					mu.Unlock()
				})
			}
			wg.Wait()
			return total
		}
		tests := []struct {
			advance   time.Duration
			want      int
			wantLevel int32
		}{
			{47 * time.Hour, 0, 0},
			{2 * time.Hour, 1, 1}, // past the 48 h response deadline
			{time.Hour, 0, 1},
			{48 * time.Hour, 1, 2}, // two days further
			{72 * time.Hour, 0, 2},
		}
		for i, tt := range tests {
			e.advance(tt.advance)
			if got := run(); got != tt.want {
				t.Errorf("step %d: escalations = %d; want %d", i, got, tt.want)
			}
			got, _ := e.rc.GetReferral(e.as(t, aino), &referralv1.GetReferralRequest{Name: r.GetName()})
			if got.GetEscalationLevel() != tt.wantLevel {
				t.Errorf("step %d: level = %d; want %d", i, got.GetEscalationLevel(), tt.wantLevel)
			}
		}
		list, err := e.rc.ListEscalations(e.as(t, mikko), &referralv1.ListEscalationsRequest{Parent: "referrals/-"})
		if err != nil || len(list.GetEscalations()) != 2 {
			t.Fatalf("manager's escalations = %v, %v; want 2", list.GetEscalations(), err)
		}
		// Leaving the state resolves them and resets the level.
		acc, err := e.rc.AcceptReferral(e.as(t, coach), &referralv1.AcceptReferralRequest{Name: r.GetName(),
			ReceivingResponsible: &referralv1.ResponsiblePerson{DisplayName: "Maria"}})
		if err != nil || acc.GetEscalationLevel() != 0 || acc.GetDeadlineKind() != referralv1.DeadlineKind_DEADLINE_KIND_START {
			t.Fatalf("accept after escalation = %v, %v", acc, err)
		}
		list, _ = e.rc.ListEscalations(e.as(t, aino), &referralv1.ListEscalationsRequest{Parent: r.GetName()})
		for _, es := range list.GetEscalations() {
			if es.GetState() != referralv1.Escalation_RESOLVED {
				t.Errorf("escalation %s = %v; want RESOLVED", es.GetName(), es.GetState())
			}
		}
		if len(list.GetEscalations()) != 2 {
			t.Errorf("referral's escalations = %d; want 2", len(list.GetEscalations()))
		}
		var escSpans int
		for _, s := range e.flush(t) {
			if strings.HasPrefix(s.Name(), "referral.escalate") && attr(s, "polku.referral.escalation.won") == "true" {
				escSpans++
				if len(s.Links()) != 1 {
					t.Errorf("escalation span links = %d; want 1", len(s.Links()))
				}
			}
		}
		if escSpans != 2 {
			t.Errorf("escalation spans = %d; want 2", escSpans)
		}
	})
}

func TestCommitmentReleasedWhenEndingWithoutService(t *testing.T) {
	stores(t, func(t *testing.T, cs, rs store.Store) {
		e := start(t, cs, rs)
		accept := func(name string) {
			if _, err := e.rc.AcceptReferral(e.as(t, coach), &referralv1.AcceptReferralRequest{Name: name,
				ReceivingResponsible: &referralv1.ResponsiblePerson{DisplayName: "Maria"}}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.rc.StartReferral(e.as(t, coach), &referralv1.StartReferralRequest{Name: name}); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name        string
			end         func(name string) (*referralv1.Referral, error)
			wantState   referralv1.Referral_State
			wantRelease bool
		}{
			{"worker cancels a sent referral", func(n string) (*referralv1.Referral, error) {
				return e.rc.CancelReferral(e.as(t, aino), &referralv1.CancelReferralRequest{Name: n, Reason: "no longer needed"})
			}, referralv1.Referral_CANCELLED, true},
			{"held, then completed without delivery", func(n string) (*referralv1.Referral, error) {
				accept(n)
				if _, err := e.rc.HoldReferral(e.as(t, coach), &referralv1.HoldReferralRequest{Name: n, Reason: "coach ill"}); err != nil {
					return nil, err
				}
				_, err := e.rc.CompleteReferral(e.as(t, coach), &referralv1.CompleteReferralRequest{Name: n,
					Outcome: &referralv1.Outcome{Result: referralv1.OutcomeResult_OUTCOME_RESULT_NOT_HELPED}})
				wantCode(t, "complete without a reason", err, codes.InvalidArgument)
				return e.rc.CompleteReferral(e.as(t, coach), &referralv1.CompleteReferralRequest{Name: n,
					Outcome: &referralv1.Outcome{Result: referralv1.OutcomeResult_OUTCOME_RESULT_NOT_HELPED, Reason: "family moved"}})
			}, referralv1.Referral_COMPLETED, true},
			{"completed with delivery", func(n string) (*referralv1.Referral, error) {
				accept(n)
				if _, err := e.rc.HoldReferral(e.as(t, coach), &referralv1.HoldReferralRequest{Name: n, Reason: "summer"}); err != nil {
					return nil, err
				}
				if _, err := e.rc.ResumeReferral(e.as(t, coach), &referralv1.ResumeReferralRequest{Name: n}); err != nil {
					return nil, err
				}
				return e.rc.CompleteReferral(e.as(t, coach), &referralv1.CompleteReferralRequest{Name: n,
					Outcome: &referralv1.Outcome{Result: referralv1.OutcomeResult_OUTCOME_RESULT_HELPED, ServiceDelivered: true}})
			}, referralv1.Referral_COMPLETED, false},
		}
		for _, tt := range tests {
			r := e.draft(t, coaching, 10_000)
			if _, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName()}); err != nil {
				t.Fatal(err)
			}
			_, before := e.bud.count()
			got, err := tt.end(r.GetName())
			if err != nil || got.GetState() != tt.wantState {
				t.Fatalf("%s = %v, %v; want %v", tt.name, got.GetState(), err, tt.wantState)
			}
			_, after := e.bud.count()
			w, _ := e.rc.GetReferral(e.as(t, aino), &referralv1.GetReferralRequest{Name: r.GetName()})
			if (after-before == 1) != tt.wantRelease || w.GetCommitment().GetReleased() != tt.wantRelease {
				t.Errorf("%s: releases %d, released %v; want %v", tt.name, after-before, w.GetCommitment().GetReleased(), tt.wantRelease)
			}
		}
		e.bud.mu.Lock()
		callers := append([]string(nil), e.bud.callers...)
		e.bud.mu.Unlock()
		for _, c := range callers {
			if c != "WORKER" {
				t.Errorf("commit made as %s; want the worker's forwarded token", c)
			}
		}
	})
}

// sanna is an assistant acting for the given clients.
func sanna(clients ...string) auth.Principal {
	return auth.Principal{Subject: "a-sanna", Role: auth.RoleAssistant, Clients: clients}
}
