package service_test

import (
	"testing"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/store"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
	"github.com/polku-hb/polku/services/referral/service"
)

func TestSeedDemoTwice(t *testing.T) {
	stores(t, func(t *testing.T, cs, rs store.Store) {
		e := start(t, cs, rs)
		prov := func(id string) auth.Principal {
			return auth.Principal{Subject: "p-" + id, Role: auth.RoleProvider, ProviderID: id}
		}
		in := service.DemoInput{Client: e.tiina, Worker: e.as(t, aino),
			Coach:          service.DemoOffering{Offering: coaching, Provider: e.as(t, coach)},
			BenefitsAdvice: service.DemoOffering{Offering: benefits, Provider: e.as(t, prov("etuusneuvonta"))},
			PeerGroup:      service.DemoOffering{Offering: peerGroup, Provider: e.as(t, peers)},
			OtherPeerGroup: service.DemoOffering{Offering: otherPeer, Provider: e.as(t, prov("perheet"))},
			Budget:         e.budget, BudgetLine: "coach", CommitCents: 108_000}
		first, err := service.SeedDemo(e.rc, e.svc, in)
		if err != nil {
			t.Fatalf("SeedDemo: %v", err)
		}
		again, err := service.SeedDemo(e.rc, e.svc, in)
		if err != nil || again != first {
			t.Fatalf("SeedDemo again = %+v, %v; want %+v", again, err, first)
		}
		tests := []struct {
			name  string
			want  referralv1.Referral_State
			level int32
		}{
			{first.Coach, referralv1.Referral_IN_PROGRESS, 0},
			{first.BenefitsAdvice, referralv1.Referral_RECEIVED, 2},
			{first.Declined, referralv1.Referral_DECLINED, 0},
			{first.Redirected, referralv1.Referral_SENT, 0},
		}
		for _, tt := range tests {
			got, err := e.rc.GetReferral(e.as(t, aino), &referralv1.GetReferralRequest{Name: tt.name})
			if err != nil || got.GetState() != tt.want || got.GetEscalationLevel() != tt.level {
				t.Errorf("%s = %v level %d, %v; want %v level %d", tt.name, got.GetState(), got.GetEscalationLevel(), err, tt.want, tt.level)
			}
		}
		if n, _ := e.bud.count(); n != 1 {
			t.Errorf("demo commitments = %d; want 1", n)
		}
	})
}
