package service_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/store"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/services/assessment/service"
)

const kyky = "instruments/" + service.DemoInstrumentID

func (e *env) instrument(t *testing.T) {
	t.Helper()
	if _, err := e.ac.CreateInstrument(e.as(t, mikko), &assessmentv1.CreateInstrumentRequest{InstrumentId: service.DemoInstrumentID, Instrument: service.DemoInstrument()}); err != nil {
		t.Fatalf("CreateInstrument: %v", err)
	}
}

func (e *env) measure(t *testing.T, who auth.Principal, parent string, phase assessmentv1.MeasurementPhase, vals ...int32) (*assessmentv1.CapacityMeasurement, error) {
	t.Helper()
	var scores []*assessmentv1.DomainScore
	for i, d := range service.DemoInstrument().GetDomains()[:len(vals)] {
		scores = append(scores, &assessmentv1.DomainScore{DomainId: d.GetId(), Score: vals[i]})
	}
	return e.ac.CreateCapacityMeasurement(e.as(t, who), &assessmentv1.CreateCapacityMeasurementRequest{Parent: parent,
		CapacityMeasurement: &assessmentv1.CapacityMeasurement{Instrument: kyky, Phase: phase, Scores: scores, MeasureDate: d(2026, 2, 1)}})
}

func TestInstrumentsAndCapacityChange(t *testing.T) {
	stores(t, func(t *testing.T, cs, st store.Store) {
		e := start(t, cs, st)
		_, err := e.ac.CreateInstrument(e.as(t, aino), &assessmentv1.CreateInstrumentRequest{InstrumentId: "x-1", Instrument: service.DemoInstrument()})
		wantCode(t, "worker creates an instrument", err, codes.PermissionDenied)
		e.instrument(t)
		_, err = e.ac.CreateInstrument(e.as(t, mikko), &assessmentv1.CreateInstrumentRequest{InstrumentId: service.DemoInstrumentID, Instrument: service.DemoInstrument()})
		wantCode(t, "instrument id taken", err, codes.AlreadyExists)
		got, err := e.ac.GetInstrument(e.as(t, e.client), &assessmentv1.GetInstrumentRequest{Name: kyky})
		if err != nil || len(got.GetDomains()) != 9 || got.GetScale().GetMax() != 10 || got.GetState() != assessmentv1.Instrument_ACTIVE {
			t.Fatalf("GetInstrument = %v, %v; want 9 domains on 0-10, ACTIVE", got, err)
		}

		B, I := assessmentv1.MeasurementPhase_MEASUREMENT_PHASE_BASELINE, assessmentv1.MeasurementPhase_MEASUREMENT_PHASE_INTERIM
		if _, err := e.measure(t, aino, e.parent, B, 6, 4, 8, 3); err != nil {
			t.Fatalf("baseline: %v", err)
		}
		m, err := e.measure(t, e.client, e.parent, I, 6, 6, 8, 5)
		if err != nil || !m.GetSelfCompleted() || m.GetRecordedBy() != "u-tiina" {
			t.Fatalf("interim by the client = %v, %v; want self-completed", m, err)
		}
		tests := []struct {
			name string
			who  auth.Principal
			vals []int32
			want codes.Code
		}{
			{"out of scale", aino, []int32{11}, codes.InvalidArgument},
			{"provider", coach, []int32{5}, codes.PermissionDenied},
			{"other worker", pekka, []int32{5}, codes.PermissionDenied},
		}
		for _, tt := range tests {
			_, err := e.measure(t, tt.who, e.parent, I, tt.vals...)
			wantCode(t, tt.name, err, tt.want)
		}
		ch, err := e.ac.ComputeCapacityChange(e.as(t, aino), &assessmentv1.ComputeCapacityChangeRequest{Parent: e.parent, Instrument: kyky})
		if err != nil {
			t.Fatalf("ComputeCapacityChange: %v", err)
		}
		wantChange := map[string]float64{"health": 0, "daily-life": 2, "mobility": 0, "mood": 2}
		if len(ch.GetDomains()) != 4 || ch.GetMeanChange() != 1 || ch.GetToPhase() != I {
			t.Errorf("change = %v; want 4 domains, mean 1, to INTERIM", ch)
		}
		for _, dc := range ch.GetDomains() {
			if dc.GetChange() != wantChange[dc.GetDomainId()] {
				t.Errorf("change of %s = %v; want %v", dc.GetDomainId(), dc.GetChange(), wantChange[dc.GetDomainId()])
			}
		}
		_, err = e.ac.ComputeCapacityChange(e.as(t, aino), &assessmentv1.ComputeCapacityChangeRequest{Parent: e.parent, Instrument: kyky,
			ToPhase: assessmentv1.MeasurementPhase_MEASUREMENT_PHASE_FINAL})
		wantCode(t, "change to a phase not measured", err, codes.FailedPrecondition)
		_, err = e.ac.ComputeCapacityChange(e.as(t, coach), &assessmentv1.ComputeCapacityChangeRequest{Parent: e.parent, Instrument: kyky})
		wantCode(t, "provider reads change", err, codes.PermissionDenied)
		if _, err := e.ac.RetireInstrument(e.as(t, mikko), &assessmentv1.RetireInstrumentRequest{Name: kyky}); err != nil {
			t.Fatal(err)
		}
		_, err = e.measure(t, aino, e.parent, I, 5)
		wantCode(t, "measure with a retired instrument", err, codes.InvalidArgument)
	})
}

func TestCohortAggregateSuppressesSmallGroups(t *testing.T) {
	stores(t, func(t *testing.T, cs, st store.Store) {
		e := start(t, cs, st)
		e.instrument(t)
		B, I := assessmentv1.MeasurementPhase_MEASUREMENT_PHASE_BASELINE, assessmentv1.MeasurementPhase_MEASUREMENT_PHASE_INTERIM
		parents := []string{e.parent}
		for range 4 {
			c, err := e.cc.CreateClient(e.as(t, mikko), &clientsv1.CreateClientRequest{CoordinatingWorker: aino.Subject, Client: &clientsv1.Client{
				GivenName: "Demo", FamilyName: "Client", Cohort: clientsv1.Cohort_COHORT_PERSONAL_BUDGET}})
			if err != nil {
				t.Fatal(err)
			}
			parents = append(parents, c.GetName())
		}
		agg := func(who auth.Principal, region string) (*assessmentv1.CohortCapacityChange, error) {
			return e.ac.AggregateCapacityChange(e.as(t, who), &assessmentv1.AggregateCapacityChangeRequest{Region: region,
				Cohort: clientsv1.Cohort_COHORT_PERSONAL_BUDGET, Instrument: kyky})
		}
		for i, p := range parents {
			if _, err := e.measure(t, aino, p, B, 4, int32(i)); err != nil {
				t.Fatal(err)
			}
			if _, err := e.measure(t, aino, p, I, 6, int32(i)); err != nil {
				t.Fatal(err)
			}
			got, err := agg(mikko, "pirkanmaa")
			if err != nil {
				t.Fatalf("AggregateCapacityChange: %v", err)
			}
			if n := i + 1; got.GetClientCount() != int32(n) || got.GetSuppressed() != (n < 5) || (n < 5 && len(got.GetDomains()) != 0) {
				t.Errorf("with %d clients: %v; want suppressed below 5 with no figures", n, got)
			}
		}
		got, _ := agg(mikko, "pirkanmaa")
		if len(got.GetDomains()) != 2 || got.GetDomains()[0].GetChange() != 2 || got.GetDomains()[1].GetChange() != 0 || got.GetMeanChange() != 1 {
			t.Errorf("aggregate = %v; want health +2, daily-life 0, mean 1", got)
		}
		_, err := agg(aino, "pirkanmaa")
		wantCode(t, "worker aggregates", err, codes.PermissionDenied)
		_, err = agg(lapland, "pirkanmaa")
		wantCode(t, "manager of another region", err, codes.PermissionDenied)
	})
}

func TestSatisfactionResponses(t *testing.T) {
	stores(t, func(t *testing.T, cs, st store.Store) {
		e := start(t, cs, st)
		_, rev := e.draft(t, aino, 1)
		resp := func(revision string, score int32) *assessmentv1.SatisfactionResponse {
			return &assessmentv1.SatisfactionResponse{PlanRevision: revision, Comment: "the coach gets us",
				Answers: []*assessmentv1.SatisfactionAnswer{{Item: assessmentv1.SatisfactionItem_SATISFACTION_ITEM_HEARD, Score: score},
					{Item: assessmentv1.SatisfactionItem_SATISFACTION_ITEM_OVERALL, Score: 4}}}
		}
		tests := []struct {
			name string
			who  auth.Principal
			give *assessmentv1.SatisfactionResponse
			want codes.Code
		}{
			{"the client", e.client, resp(rev.GetName(), 5), codes.OK},
			{"the assistant", e.sanna, resp(rev.GetName(), 4), codes.OK},
			{"score out of range", e.client, resp(rev.GetName(), 6), codes.InvalidArgument},
			{"another client's plan", e.client, resp("clients/x/plans/y/revisions/1", 5), codes.InvalidArgument},
			{"provider", coach, resp(rev.GetName(), 5), codes.PermissionDenied},
		}
		for _, tt := range tests {
			_, err := e.ac.CreateSatisfactionResponse(e.as(t, tt.who), &assessmentv1.CreateSatisfactionResponseRequest{Parent: e.parent, SatisfactionResponse: tt.give})
			wantCode(t, tt.name, err, tt.want)
		}
		list, err := e.ac.ListSatisfactionResponses(e.as(t, aino), &assessmentv1.ListSatisfactionResponsesRequest{Parent: e.parent})
		if err != nil || len(list.GetSatisfactionResponses()) != 2 || list.GetSatisfactionResponses()[0].GetSurveyVersion() != "polku-satisfaction-1" {
			t.Errorf("ListSatisfactionResponses = %v, %v; want 2 of polku-satisfaction-1", list, err)
		}
	})
}

func TestSeedDemoIsIdempotent(t *testing.T) {
	stores(t, func(t *testing.T, cs, st store.Store) {
		e := start(t, cs, st)
		in := service.DemoInput{Client: e.tiina, Worker: e.as(t, aino), Manager: e.as(t, mikko),
			Coaching: service.DemoService{Offering: coaching, PriceOptionID: "session"},
			Culture:  service.DemoService{Offering: museumCard, PriceOptionID: "card"},
			Today:    time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		first, err := service.SeedDemo(e.ac, in)
		if err != nil {
			t.Fatalf("SeedDemo: %v", err)
		}
		second, err := service.SeedDemo(e.ac, in)
		if err != nil || second != first {
			t.Fatalf("second SeedDemo = %v, %v; want %v", second, err, first)
		}
		plan, err := e.ac.GetPlan(e.as(t, e.client), &assessmentv1.GetPlanRequest{Name: first.Plan})
		if err != nil || plan.GetActiveRevision() == "" {
			t.Fatalf("demo plan = %v, %v; want an active revision", plan, err)
		}
		rev, _ := e.ac.GetPlanRevision(e.as(t, e.client), &assessmentv1.GetPlanRevisionRequest{Name: plan.GetActiveRevision()})
		if len(rev.GetServices()) != 2 || rev.GetApproval() == nil || rev.GetAgreement() == nil {
			t.Errorf("demo revision = %v; want two services, approved and agreed", rev)
		}
		ms, _ := e.ac.ListCapacityMeasurements(e.as(t, e.client), &assessmentv1.ListCapacityMeasurementsRequest{Parent: e.parent})
		as, _ := e.ac.ListAssessments(e.as(t, e.client), &assessmentv1.ListAssessmentsRequest{Parent: e.parent})
		if len(ms.GetCapacityMeasurements()) != 2 || len(as.GetAssessments()) != 1 || as.GetAssessments()[0].GetState() != assessmentv1.Assessment_COMPLETED {
			t.Errorf("demo has %d measurements and %v; want baseline + interim and one completed assessment", len(ms.GetCapacityMeasurements()), as)
		}
	})
}
