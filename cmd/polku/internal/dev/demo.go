package dev

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/polku-hb/polku/platform/auth"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
	assessmentsvc "github.com/polku-hb/polku/services/assessment/service"
	budgetsvc "github.com/polku-hb/polku/services/budget/service"
	referralsvc "github.com/polku-hb/polku/services/referral/service"
)

// The demo region and its people. Subjects are opaque ids, as an identity
// provider would issue them.
const (
	DemoRegion = "pirkanmaa"
	Aino       = "w-aino"   // coordinating worker, family services
	Pekka      = "w-pekka"  // another worker
	Mikko      = "m-mikko"  // manager
	Sanna      = "u-sanna"  // Tiina's sister, her assistant
	Olli       = "o-olli"   // catalogue operator
	CoachStaff = "p-coach1" // staff of the neuropsychiatric coaching company
)

// Demo is what seeding made: the ids the printed tokens bind to.
type Demo struct {
	Tiina     string            // client id
	Providers map[string]string // demo key ("neurocoach", ...) -> provider id
	Plan      string            // Tiina's plan
	Budget    string            // Tiina's personal budget
}

type demoClient struct {
	key         string // request id suffix: seeding is idempotent
	client      *clientsv1.Client
	coordinator string
}

func demoClients() []demoClient {
	return []demoClient{
		{key: "tiina", coordinator: Aino, client: &clientsv1.Client{
			GivenName: "Tiina", FamilyName: "Virtanen", PersonalIdentityCode: "150391-934P",
			PreferredLanguages: []string{"fi"}, ContactPreference: clientsv1.ContactPreference_CONTACT_PREFERENCE_VIA_WORKER,
			ContactDetails: &clientsv1.ContactDetails{Phone: "+358401234567"},
			TargetGroup:    clientsv1.TargetGroup_TARGET_GROUP_FAMILY_ADULT, Cohort: clientsv1.Cohort_COHORT_PERSONAL_BUDGET,
		}},
		{key: "jari", coordinator: Aino, client: &clientsv1.Client{
			GivenName: "Jari", FamilyName: "Nieminen", PersonalIdentityCode: "070685-912P",
			PreferredLanguages: []string{"fi", "sv"}, ContactPreference: clientsv1.ContactPreference_CONTACT_PREFERENCE_PHONE,
			ContactDetails: &clientsv1.ContactDetails{Phone: "+358501112223"},
			TargetGroup:    clientsv1.TargetGroup_TARGET_GROUP_DISABILITY_SERVICES, Cohort: clientsv1.Cohort_COHORT_COMPARISON,
		}},
		{key: "emma", coordinator: Pekka, client: &clientsv1.Client{
			GivenName: "Emma", FamilyName: "Korhonen", PersonalIdentityCode: "240102A9127",
			PreferredLanguages: []string{"fi", "en"}, ContactPreference: clientsv1.ContactPreference_CONTACT_PREFERENCE_EMAIL,
			ContactDetails: &clientsv1.ContactDetails{Email: "emma.demo@example.fi"},
			TargetGroup:    clientsv1.TargetGroup_TARGET_GROUP_YOUNG_ADULT_AFTERCARE, Cohort: clientsv1.Cohort_COHORT_PERSONAL_BUDGET,
		}},
		{key: "sami", coordinator: Aino, client: &clientsv1.Client{
			GivenName: "Sami", FamilyName: "Mäkinen", PersonalIdentityCode: "020788-956F",
			PreferredLanguages: []string{"fi"}, ContactPreference: clientsv1.ContactPreference_CONTACT_PREFERENCE_LETTER,
			ContactDetails: &clientsv1.ContactDetails{PostalAddress: "Demokatu 1, 33100 Tampere"},
			TargetGroup:    clientsv1.TargetGroup_TARGET_GROUP_CARER, Cohort: clientsv1.Cohort_COHORT_COMPARISON,
		}},
	}
}

// SeedDemo loads the demo region through the real gRPC API. Every call carries a
// fixed request id, so seeding again (every start) changes nothing.
func SeedDemo(ctx context.Context, s *Stack) (Demo, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(s.GRPCAddrs["clients"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return Demo{}, err
	}
	defer conn.Close()
	cc := clientsv1.NewClientsServiceClient(conn)
	as := func(sub string, role auth.Role) (context.Context, error) {
		tok, err := s.Token(auth.Principal{Subject: sub, Role: role, Region: DemoRegion, Unit: "family-services"}, 10*time.Minute)
		if err != nil {
			return nil, err
		}
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok, "x-polku-purpose", "demo data"), nil
	}
	managerCtx, err := as(Mikko, auth.RoleManager)
	if err != nil {
		return Demo{}, err
	}
	var demo Demo
	for _, dc := range demoClients() {
		c, err := cc.CreateClient(managerCtx, &clientsv1.CreateClientRequest{
			Client: dc.client, CoordinatingWorker: dc.coordinator, RequestId: "demo-" + dc.key,
		})
		if err != nil {
			return Demo{}, fmt.Errorf("seed %s: %w", dc.key, err)
		}
		if dc.key == "tiina" {
			demo.Tiina = c.GetName()[len("clients/"):]
		}
	}
	// Tiina's team and consents (scenario step 1): her sister is a close person
	// and her assistant; plan goals may go to providers she is referred to, her
	// contact details not ("go through my worker").
	aino, err := as(Aino, auth.RoleWorker)
	if err != nil {
		return Demo{}, err
	}
	parent := "clients/" + demo.Tiina
	steps := []func() error{
		func() error {
			_, err := cc.CreateTeamMember(aino, &clientsv1.CreateTeamMemberRequest{Parent: parent, RequestId: "demo-tiina-sister",
				TeamMember: &clientsv1.TeamMember{Role: clientsv1.TeamMember_CLOSE_PERSON, DisplayName: "sister"}})
			return err
		},
		func() error {
			_, err := cc.CreateTeamMember(aino, &clientsv1.CreateTeamMemberRequest{Parent: parent, RequestId: "demo-tiina-assistant",
				TeamMember: &clientsv1.TeamMember{Role: clientsv1.TeamMember_ASSISTANT, Subject: Sanna, DisplayName: "sister, personal-budget assistant"}})
			return err
		},
		func() error {
			_, err := cc.CreateConsent(aino, &clientsv1.CreateConsentRequest{Parent: parent, RequestId: "demo-tiina-consent-goals",
				Consent: &clientsv1.Consent{Category: clientsv1.DataCategory_DATA_CATEGORY_PLAN_GOALS, Recipient: "providers/-"}})
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return Demo{}, fmt.Errorf("seed Tiina's team: %w", err)
		}
	}

	// The region's catalogue, then Tiina's assessment and plan priced from it.
	if demo.Providers, err = s.catalogue.SeedDemo(ctx); err != nil {
		return Demo{}, fmt.Errorf("seed catalogue: %w", err)
	}
	catConn, err := grpc.NewClient(s.GRPCAddrs["catalogue"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return Demo{}, err
	}
	defer catConn.Close()
	cat := cataloguev1.NewCatalogueServiceClient(catConn)
	coaching, err := demoOffering(aino, cat, demo.Providers["neurocoach"], "hour")
	if err != nil {
		return Demo{}, err
	}
	culture, err := demoOffering(aino, cat, demo.Providers["museum"], "card")
	if err != nil {
		return Demo{}, err
	}
	asConn, err := grpc.NewClient(s.GRPCAddrs["assessment"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return Demo{}, err
	}
	defer asConn.Close()
	res, err := assessmentsvc.SeedDemo(assessmentv1.NewAssessmentServiceClient(asConn), assessmentsvc.DemoInput{
		Client: demo.Tiina, Worker: aino, Manager: managerCtx, Coaching: coaching, Culture: culture,
	})
	if err != nil {
		return Demo{}, fmt.Errorf("seed assessment: %w", err)
	}
	demo.Plan = res.Plan

	// Tiina's personal budget from the approved plan, with a commitment and
	// spending (scenario steps 5 and 7).
	budConn, err := grpc.NewClient(s.GRPCAddrs["budget"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return Demo{}, err
	}
	defer budConn.Close()
	bres, err := budgetsvc.SeedDemo(budgetv1.NewBudgetServiceClient(budConn), assessmentv1.NewAssessmentServiceClient(asConn),
		budgetsvc.DemoInput{Client: demo.Tiina, Plan: res.Plan, Worker: aino, Manager: managerCtx})
	if err != nil {
		return Demo{}, fmt.Errorf("seed budget: %w", err)
	}
	demo.Budget = bres.Budget

	// Tiina's referrals (scenario step 6): the coach in progress, an unanswered
	// referral to a region unit escalated to Aino and then Mikko (the demo region
	// has no benefits-advice unit in its catalogue, so the region's family-work
	// unit stands in), and a peer group that declines and is redirected.
	offering := func(key string) (referralsvc.DemoOffering, error) {
		resp, err := cat.ListOfferings(aino, &cataloguev1.ListOfferingsRequest{Parent: "providers/" + demo.Providers[key]})
		if err != nil || len(resp.GetOfferings()) == 0 {
			return referralsvc.DemoOffering{}, fmt.Errorf("demo offering of %s: %v", key, err)
		}
		staff, err := s.Token(auth.Principal{Subject: "p-demo-" + key, Role: auth.RoleProvider, ProviderID: demo.Providers[key]}, 10*time.Minute)
		if err != nil {
			return referralsvc.DemoOffering{}, err
		}
		pctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+staff)
		return referralsvc.DemoOffering{Offering: resp.GetOfferings()[0].GetName(), Provider: pctx}, nil
	}
	in := referralsvc.DemoInput{Client: demo.Tiina, Worker: aino}
	for key, dst := range map[string]*referralsvc.DemoOffering{
		"neurocoach": &in.Coach, "family-work": &in.BenefitsAdvice, "peer-association": &in.PeerGroup, "volunteers": &in.OtherPeerGroup,
	} {
		if *dst, err = offering(key); err != nil {
			return Demo{}, err
		}
	}
	refConn, err := grpc.NewClient(s.GRPCAddrs["referral"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return Demo{}, err
	}
	defer refConn.Close()
	if _, err := referralsvc.SeedDemo(referralv1.NewReferralServiceClient(refConn), s.referral, in); err != nil {
		return Demo{}, fmt.Errorf("seed referrals: %w", err)
	}
	return demo, nil
}

// demoOffering finds the published offering of a demo provider that has the
// given price option.
func demoOffering(ctx context.Context, cat cataloguev1.CatalogueServiceClient, providerID, option string) (assessmentsvc.DemoService, error) {
	resp, err := cat.ListOfferings(ctx, &cataloguev1.ListOfferingsRequest{Parent: "providers/" + providerID})
	if err != nil {
		return assessmentsvc.DemoService{}, fmt.Errorf("demo offerings of %s: %w", providerID, err)
	}
	for _, o := range resp.GetOfferings() {
		for _, p := range o.GetPriceOptions() {
			if p.GetId() == option {
				return assessmentsvc.DemoService{Offering: o.GetName(), PriceOptionID: option}, nil
			}
		}
	}
	return assessmentsvc.DemoService{}, fmt.Errorf("demo provider %s has no offering priced %q", providerID, option)
}
