package service_test

import (
	"testing"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc/codes"

	"github.com/polku-hb/polku/platform/store"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
)

func TestCohortReport(t *testing.T) {
	stores(t, func(tb testing.TB, cs, as, bs store.Store) {
		t := tb.(*testing.T)
		e := start(t, cs, as, bs)
		b := e.activeBudget(t, "r-cohort")
		if _, err := e.bc.SpendFunds(e.as(t, aino), &budgetv1.SpendFundsRequest{Name: b.GetName(), LineId: b.GetLines()[0].GetId(), AmountCents: 50000,
			DeliveryDate: today, RequestId: "sp"}); err != nil {
			t.Fatal(err)
		}
		// Tiina and Olli are personal-budget clients; three more make five. Two comparison clients.
		for i, cohort := range []clientsv1.Cohort{clientsv1.Cohort_COHORT_PERSONAL_BUDGET, clientsv1.Cohort_COHORT_PERSONAL_BUDGET,
			clientsv1.Cohort_COHORT_PERSONAL_BUDGET, clientsv1.Cohort_COHORT_COMPARISON, clientsv1.Cohort_COHORT_COMPARISON} {
			if _, err := e.cc.CreateClient(e.as(t, mikko), &clientsv1.CreateClientRequest{CoordinatingWorker: aino.Subject, Client: &clientsv1.Client{
				GivenName: "C" + string(rune('a'+i)), FamilyName: "X", ContactPreference: clientsv1.ContactPreference_CONTACT_PREFERENCE_VIA_WORKER,
				TargetGroup: clientsv1.TargetGroup_TARGET_GROUP_OTHER, Cohort: cohort}}); err != nil {
				t.Fatal(err)
			}
		}
		req := &budgetv1.GetCohortReportRequest{Name: "regions/pirkanmaa/cohortReport", StartDate: &date.Date{Year: 2026, Month: 1, Day: 1}, EndDate: &date.Date{Year: 2026, Month: 12, Day: 31}}
		for _, who := range []struct {
			name string
			ctx  func() error
		}{
			{"worker", func() error { _, err := e.bc.GetCohortReport(e.as(t, aino), req); return err }},
			{"another region's manager", func() error { _, err := e.bc.GetCohortReport(e.as(t, lapland), req); return err }},
			{"the client", func() error { _, err := e.bc.GetCohortReport(e.as(t, e.client), req); return err }},
		} {
			wantCode(t, who.name, who.ctx(), codes.PermissionDenied)
		}
		rep, err := e.bc.GetCohortReport(e.as(t, mikko), req)
		if err != nil || len(rep.GetCohorts()) != 2 {
			t.Fatalf("report = %v, %v", rep, err)
		}
		pb, cmp := rep.GetCohorts()[0], rep.GetCohorts()[1]
		if pb.GetSuppressed() || pb.GetClientCount() != 5 || pb.GetClientsWithoutBudget() != 4 || pb.GetTotalCostCents() != 50000 ||
			pb.GetMeanCostPerClientCents() != 10000 || pb.GetMedianCostPerClientCents() != 0 || !pb.GetCapacitySuppressed() {
			t.Errorf("personal-budget cohort = %v", pb)
		}
		for _, c := range pb.GetCategoryCosts() {
			if !c.GetSuppressed() || c.GetTotalCostCents() != 0 {
				t.Errorf("a one-client category is shown: %v", c)
			}
		}
		if !cmp.GetSuppressed() || cmp.GetClientCount() != 0 || cmp.GetTotalCostCents() != 0 {
			t.Errorf("two-client comparison cohort not suppressed: %v", cmp)
		}
		_, err = e.bc.GetCohortReport(e.as(t, mikko), &budgetv1.GetCohortReportRequest{Name: "regions/pirkanmaa/cohortReport"})
		wantCode(t, "no period", err, codes.InvalidArgument)
	})
}
