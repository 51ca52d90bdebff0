package service

import (
	"context"
	"fmt"
	"time"

	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
)

// DemoOffering is a demo recipient: the offering and a context carrying a
// PROVIDER token of its provider.
type DemoOffering struct {
	Offering string // providers/{provider}/offerings/{offering}
	Provider context.Context
}

// DemoInput is what SeedDemo needs. Contexts carry bearer tokens in their
// outgoing gRPC metadata.
type DemoInput struct {
	// Client is Tiina's client id; Worker is her coordinating worker (Aino).
	Client string
	Worker context.Context
	// Coach (accepted, in progress, paid from the budget when Budget is set),
	// BenefitsAdvice (received, then left: escalated to level 2), PeerGroup
	// (declines: group full) and OtherPeerGroup (the redirect's recipient).
	Coach, BenefitsAdvice, PeerGroup, OtherPeerGroup DemoOffering
	// Budget (`clients/{client}/budgets/{budget}`), BudgetLine and
	// CommitCents: the coach's commitment; none when Budget is empty.
	Budget, BudgetLine string
	CommitCents        int64
	// Now anchors the demo (zero: now).
	Now time.Time
}

// DemoResult names the referrals SeedDemo made.
type DemoResult struct {
	Coach, BenefitsAdvice, Declined, Redirected string
}

// SeedDemo loads Tiina's referrals through the real gRPC API (rc must reach
// s): one to the coach, ACCEPTED and IN_PROGRESS with the 1,080 € commitment;
// one to benefits advice RECEIVED ten days ago and never answered, escalated
// to the worker and then the manager; one to a peer group DECLINED (group
// full) and redirected to another association. Every call carries a fixed
// request id and finished steps are skipped, so seeding again changes nothing.
// It moves s's clock back for the escalated referral's sending and restores
// it: run it before serving traffic. Run after the clients demo (Tiina exists,
// Aino in her team) and, for the commitment, the budget demo.
func SeedDemo(rc referralv1.ReferralServiceClient, s *Service, in DemoInput) (DemoResult, error) {
	now := in.Now
	if now.IsZero() {
		now = time.Now().UTC()
	}
	parent := "clients/" + in.Client
	w := in.Worker
	create := func(key string, o DemoOffering, note string, c *referralv1.BudgetCommitment) (*referralv1.Referral, error) {
		r, err := rc.CreateReferral(w, &referralv1.CreateReferralRequest{RequestId: "demo-tiina-" + key, Referral: &referralv1.Referral{
			Client: parent, SendingUnit: "Perhepalvelut, Tampere", RecipientOffering: o.Offering, RequestNote: note,
			Urgency: referralv1.Urgency_URGENCY_ROUTINE, Commitment: c,
			SendingResponsible: &referralv1.ResponsiblePerson{DisplayName: "Aino (omatyöntekijä)"}}})
		if err != nil {
			return nil, fmt.Errorf("demo referral %s: %w", key, err)
		}
		if r.GetState() == referralv1.Referral_DRAFT {
			if r, err = rc.SendReferral(w, &referralv1.SendReferralRequest{Name: r.GetName(), RequestId: "demo-send-" + key,
				AcknowledgeNoCapacity: true}); err != nil {
				return nil, fmt.Errorf("demo send %s: %w", key, err)
			}
		}
		return r, nil
	}
	var out DemoResult

	// 1. The coach: accepted by a named person, started.
	var commit *referralv1.BudgetCommitment
	if in.Budget != "" {
		commit = &referralv1.BudgetCommitment{Budget: in.Budget, LineId: in.BudgetLine, AmountCents: in.CommitCents}
	}
	r, err := create("coach", in.Coach, "Neuropsychiatric coaching, 12 sessions as quoted.", commit)
	if err != nil {
		return out, err
	}
	out.Coach = r.GetName()
	if r.GetState() == referralv1.Referral_SENT || r.GetState() == referralv1.Referral_RECEIVED {
		if r, err = rc.AcceptReferral(in.Coach.Provider, &referralv1.AcceptReferralRequest{Name: r.GetName(), RequestId: "demo-accept-coach",
			ReceivingResponsible: &referralv1.ResponsiblePerson{DisplayName: "Maria (valmentaja)"}}); err != nil {
			return out, fmt.Errorf("demo accept coach: %w", err)
		}
	}
	if r.GetState() == referralv1.Referral_ACCEPTED {
		if _, err = rc.StartReferral(in.Coach.Provider, &referralv1.StartReferralRequest{Name: r.GetName(), RequestId: "demo-start-coach"}); err != nil {
			return out, fmt.Errorf("demo start coach: %w", err)
		}
	}

	// 2. Benefits advice: sent and received ten days ago, then silence.
	s.SetClock(func() time.Time { return now.AddDate(0, 0, -10) })
	r, err = create("benefits", in.BenefitsAdvice, "The benefit decision has been pending for months; please check its status.", nil)
	if err == nil && r.GetState() == referralv1.Referral_SENT {
		_, err = rc.ReceiveReferral(in.BenefitsAdvice.Provider, &referralv1.ReceiveReferralRequest{Name: r.GetName(), RequestId: "demo-receive-benefits"})
	}
	s.SetClock(func() time.Time { return time.Now().UTC() })
	if err != nil {
		return out, fmt.Errorf("demo benefits advice: %w", err)
	}
	out.BenefitsAdvice = r.GetName()
	for range 2 { // level 1, then level 2
		if _, err := s.EscalateDue(context.WithoutCancel(w)); err != nil {
			return out, fmt.Errorf("demo escalation: %w", err)
		}
	}

	// 3. The peer group declines; Aino redirects to another association.
	r, err = create("peers", in.PeerGroup, "Peer group for parents of children with ADHD.", nil)
	if err != nil {
		return out, err
	}
	out.Declined = r.GetName()
	if r.GetState() == referralv1.Referral_SENT {
		if _, err = rc.DeclineReferral(in.PeerGroup.Provider, &referralv1.DeclineReferralRequest{Name: r.GetName(), RequestId: "demo-decline-peers",
			Reason: referralv1.DeclineReason_DECLINE_REASON_NO_CAPACITY, Note: "The spring group is full."}); err != nil {
			return out, fmt.Errorf("demo decline: %w", err)
		}
	}
	red, err := rc.RedirectReferral(w, &referralv1.RedirectReferralRequest{Name: r.GetName(), RecipientOffering: in.OtherPeerGroup.Offering,
		RequestId: "demo-redirect-peers", AcknowledgeNoCapacity: true})
	if err != nil {
		return out, fmt.Errorf("demo redirect: %w", err)
	}
	out.Redirected = red.GetSuccessor().GetName()
	return out, nil
}
