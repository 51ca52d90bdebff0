package service_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/polku-hb/polku/platform/store"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
)

func (e *env) consent(t *testing.T, cat clientsv1.DataCategory, recipient string) *clientsv1.Consent {
	t.Helper()
	c, err := e.cc.CreateConsent(e.as(t, aino), &clientsv1.CreateConsentRequest{Parent: e.parent,
		Consent: &clientsv1.Consent{Category: cat, Recipient: recipient}})
	if err != nil {
		t.Fatalf("CreateConsent %v: %v", cat, err)
	}
	return c
}

// The packet carries the consented categories read from their owners at send
// (plan goals and the latest completed assessment's summary from assessment,
// budget totals from budget); unconsented ones stay empty; a withdrawal hides
// the part on later provider reads.
func TestPacketFilledFromOwners(t *testing.T) {
	stores(t, func(t *testing.T, cs, rs store.Store) {
		e := start(t, cs, rs)
		goals := e.consent(t, clientsv1.DataCategory_DATA_CATEGORY_PLAN_GOALS, "providers/neurocoach")
		e.consent(t, clientsv1.DataCategory_DATA_CATEGORY_ASSESSMENT_SUMMARY, "providers/neurocoach")
		e.consent(t, clientsv1.DataCategory_DATA_CATEGORY_BUDGET_SUMMARY, "providers/neurocoach")
		r := e.draft(t, coaching, 12_000)
		if _, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName()}); err != nil {
			t.Fatal(err)
		}
		got, err := e.rc.GetReferral(e.as(t, coach), &referralv1.GetReferralRequest{Name: r.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		pk := got.GetPacket()
		if g := pk.GetPlanGoals(); len(g) != 2 || g[0] != "Arki sujuu ilman jatkuvaa kiirettä" {
			t.Errorf("plan goals = %q; want the ACTIVE revision's 2 goals", g)
		}
		if pk.GetAssessmentSummary() != "Arjen rakenne tarvitsee tukea" {
			t.Errorf("assessment summary = %q; want the latest COMPLETED one", pk.GetAssessmentSummary())
		}
		if b := pk.GetBudgetSummary(); !strings.Contains(b, "allocated 5000.00 EUR") || !strings.Contains(b, "available 3500.00 EUR") {
			t.Errorf("budget summary = %q; want the statement's totals", b)
		}
		if pk.GetContactDetails() != nil {
			t.Errorf("contact details disclosed without consent: %v", pk.GetContactDetails())
		}

		if _, err := e.cc.WithdrawConsent(e.as(t, aino), &clientsv1.WithdrawConsentRequest{Name: goals.GetName()}); err != nil {
			t.Fatal(err)
		}
		got, err = e.rc.GetReferral(e.as(t, coach), &referralv1.GetReferralRequest{Name: r.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		pk = got.GetPacket()
		if len(pk.GetPlanGoals()) != 0 || pk.GetAssessmentSummary() == "" || pk.GetBudgetSummary() == "" ||
			len(pk.GetWithdrawnCategories()) != 1 || pk.GetWithdrawnCategories()[0] != clientsv1.DataCategory_DATA_CATEGORY_PLAN_GOALS {
			t.Errorf("packet after withdrawing PLAN_GOALS = %v; want goals hidden, the rest kept", pk)
		}
		// The worker still sees what was frozen at send.
		w, _ := e.rc.GetReferral(e.as(t, aino), &referralv1.GetReferralRequest{Name: r.GetName()})
		if len(w.GetPacket().GetPlanGoals()) != 2 {
			t.Errorf("worker's view of the frozen packet = %v", w.GetPacket())
		}
	})
}

// Only consented categories are read: with no consent the assessment service
// is not asked, so its being down does not matter.
func TestPacketOnlyConsentedCategoriesRead(t *testing.T) {
	stores(t, func(t *testing.T, cs, rs store.Store) {
		e := start(t, cs, rs)
		e.asm.mu.Lock()
		e.asm.down = true
		e.asm.mu.Unlock()
		r := e.draft(t, coaching, 0)
		s, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName()})
		if err != nil {
			t.Fatalf("send without consents while assessment is down: %v", err)
		}
		pk := s.GetPacket()
		if len(pk.GetPlanGoals()) != 0 || pk.GetAssessmentSummary() != "" || pk.GetBudgetSummary() != "" || pk.GetContactDetails() != nil {
			t.Errorf("packet without consents = %v; want no consented parts", pk)
		}
	})
}

// A failed read of a consented category fails the send UNAVAILABLE with
// nothing half-sent: the referral stays DRAFT and no commitment is made; a
// retry once the owner is back sends it.
func TestPacketReadFailureFailsSend(t *testing.T) {
	stores(t, func(t *testing.T, cs, rs store.Store) {
		e := start(t, cs, rs)
		e.consent(t, clientsv1.DataCategory_DATA_CATEGORY_PLAN_GOALS, "providers/neurocoach")
		e.asm.mu.Lock()
		e.asm.down = true
		e.asm.mu.Unlock()
		r := e.draft(t, coaching, 12_000)
		_, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName()})
		wantCode(t, "send while assessment is down", err, codes.Unavailable)
		got, _ := e.rc.GetReferral(e.as(t, aino), &referralv1.GetReferralRequest{Name: r.GetName()})
		if got.GetState() != referralv1.Referral_DRAFT || got.GetPacket() != nil {
			t.Errorf("after failed send: state %v, packet %v; want DRAFT, none", got.GetState(), got.GetPacket())
		}
		if c, _ := e.bud.count(); c != 0 {
			t.Errorf("commitments after failed send = %d; want 0", c)
		}
		e.asm.mu.Lock()
		e.asm.down = false
		e.asm.mu.Unlock()
		s, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName()})
		if err != nil || s.GetState() != referralv1.Referral_SENT || len(s.GetPacket().GetPlanGoals()) != 2 {
			t.Fatalf("retry = %v, %v; want SENT with goals", s.GetState(), err)
		}

		// Budget down with BUDGET_SUMMARY consented: the same.
		e.consent(t, clientsv1.DataCategory_DATA_CATEGORY_BUDGET_SUMMARY, "providers/vertaiset")
		e.bud.mu.Lock()
		e.bud.down = true
		e.bud.mu.Unlock()
		r2 := e.draft(t, peerGroup, 0)
		_, err = e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r2.GetName()})
		wantCode(t, "send while budget is down", err, codes.Unavailable)
		got, _ = e.rc.GetReferral(e.as(t, aino), &referralv1.GetReferralRequest{Name: r2.GetName()})
		if got.GetState() != referralv1.Referral_DRAFT {
			t.Errorf("after failed send: state %v; want DRAFT", got.GetState())
		}
	})
}
