package dev

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc"

	"github.com/polku-hb/polku/platform/auth"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
)

// Money comes back when a referral ends without service through a verb of
// someone who may not move budget money themselves: the provider completing
// with no service delivered, and the client cancelling. The referral service
// releases the commitment with its own SERVICE identity, which the real budget
// service must accept for a commitment made for a referral.
func TestCommitmentReleasedByProviderAndClientVerbs(t *testing.T) {
	s, _, _ := startStack(t)
	ctx := context.Background()
	demo, err := SeedDemo(ctx, s)
	if err != nil {
		t.Fatalf("SeedDemo: %v", err)
	}
	coachID := demo.Providers["neurocoach"]
	as := func(p auth.Principal) context.Context { return callAs(t, s, ctx, p, "case work") }
	conn := func(name string) *grpc.ClientConn { return dialService(t, s, name) }
	rc := referralv1.NewReferralServiceClient(conn("referral"))
	bc := budgetv1.NewBudgetServiceClient(conn("budget"))
	cat := cataloguev1.NewCatalogueServiceClient(conn("catalogue"))
	aino := auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion, Unit: "family-services"}
	coach := auth.Principal{Subject: CoachStaff, Role: auth.RoleProvider, ProviderID: coachID}
	tiina := auth.Principal{Subject: "u-tiina", Role: auth.RoleClient, ClientID: demo.Tiina}

	offs, err := cat.ListOfferings(as(aino), &cataloguev1.ListOfferingsRequest{Parent: "providers/" + coachID})
	if err != nil || len(offs.GetOfferings()) == 0 {
		t.Fatalf("coach offerings = %v, %v", offs, err)
	}
	offering := offs.GetOfferings()[0].GetName()
	line := func() *budgetv1.BudgetLine {
		b, err := bc.GetBudget(as(aino), &budgetv1.GetBudgetRequest{Name: demo.Budget})
		if err != nil {
			t.Fatalf("GetBudget: %v", err)
		}
		for _, l := range b.GetLines() {
			if strings.HasPrefix(l.GetOffering(), "providers/"+coachID+"/") {
				return l
			}
		}
		t.Fatalf("no coach line in %v", b.GetLines())
		return nil
	}

	for _, tc := range []struct {
		name string
		end  func(name string) error
	}{
		{"provider completes without service", func(name string) error {
			if _, err := rc.AcceptReferral(as(coach), &referralv1.AcceptReferralRequest{Name: name,
				ReceivingResponsible: &referralv1.ResponsiblePerson{DisplayName: "Maria"}}); err != nil {
				return err
			}
			if _, err := rc.StartReferral(as(coach), &referralv1.StartReferralRequest{Name: name}); err != nil {
				return err
			}
			_, err := rc.CompleteReferral(as(coach), &referralv1.CompleteReferralRequest{Name: name,
				Outcome: &referralv1.Outcome{Result: referralv1.OutcomeResult_OUTCOME_RESULT_NOT_HELPED, Reason: "client moved away"}})
			return err
		}},
		{"client cancels", func(name string) error {
			_, err := rc.CancelReferral(as(tiina), &referralv1.CancelReferralRequest{Name: name, Reason: "I found help elsewhere"})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := line().GetCommittedCents()
			draft, err := rc.CreateReferral(as(aino), &referralv1.CreateReferralRequest{Referral: &referralv1.Referral{
				Client: "clients/" + demo.Tiina, SendingUnit: "Perhepalvelut", RecipientOffering: offering,
				Urgency: referralv1.Urgency_URGENCY_ROUTINE, SendingResponsible: &referralv1.ResponsiblePerson{DisplayName: "Aino"},
				Commitment: &referralv1.BudgetCommitment{Budget: demo.Budget, LineId: line().GetId(), AmountCents: 3_000}}})
			if err != nil {
				t.Fatalf("CreateReferral: %v", err)
			}
			if _, err := rc.SendReferral(as(aino), &referralv1.SendReferralRequest{Name: draft.GetName(), AcknowledgeNoCapacity: true}); err != nil {
				t.Fatalf("SendReferral: %v", err)
			}
			if got := line().GetCommittedCents(); got != before+3_000 {
				t.Fatalf("committed after send = %d, want %d", got, before+3_000)
			}
			if err := tc.end(draft.GetName()); err != nil {
				t.Fatalf("ending the referral: %v", err)
			}
			if got := line().GetCommittedCents(); got != before {
				t.Errorf("committed after the end = %d, want %d (released)", got, before)
			}
			got, err := rc.GetReferral(as(aino), &referralv1.GetReferralRequest{Name: draft.GetName()})
			if err != nil || !got.GetCommitment().GetReleased() {
				t.Errorf("referral commitment = %v, %v; want released", got.GetCommitment(), err)
			}
		})
	}
}
