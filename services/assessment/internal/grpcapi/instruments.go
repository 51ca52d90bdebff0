package grpcapi

import (
	"context"
	"sort"
	"strings"

	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	"github.com/polku-hb/polku/services/assessment/internal/assessment"
)

func fromText(t *cataloguev1.LocalizedText) assessment.Text {
	return assessment.Text{Fi: t.GetFi(), Sv: t.GetSv(), En: t.GetEn()}
}

func instrumentToProto(in *assessment.Instrument) *assessmentv1.Instrument {
	out := &assessmentv1.Instrument{Name: "instruments/" + in.ID, DisplayName: toText(in.DisplayName), Instructions: toText(in.Instructions),
		Scale:      &assessmentv1.InstrumentScale{Min: in.Min, Max: in.Max, MinLabel: toText(in.MinLabel), MaxLabel: toText(in.MaxLabel)},
		State:      assessmentv1.Instrument_State(enum(assessmentv1.Instrument_State_value, in.State)),
		CreateTime: ts(in.CreateTime), RetireTime: ts(in.RetireTime)}
	for _, d := range in.Domains {
		out.Domains = append(out.Domains, &assessmentv1.InstrumentDomain{Id: d.ID, Title: toText(d.Title), Question: toText(d.Question)})
	}
	return out
}

func instrumentFromProto(id string, in *assessmentv1.Instrument) *assessment.Instrument {
	out := &assessment.Instrument{ID: id, DisplayName: fromText(in.GetDisplayName()), Instructions: fromText(in.GetInstructions()),
		Min: in.GetScale().GetMin(), Max: in.GetScale().GetMax(), MinLabel: fromText(in.GetScale().GetMinLabel()), MaxLabel: fromText(in.GetScale().GetMaxLabel())}
	for _, d := range in.GetDomains() {
		out.Domains = append(out.Domains, assessment.InstrumentDomain{ID: d.GetId(), Title: fromText(d.GetTitle()), Question: fromText(d.GetQuestion())})
	}
	return out
}

func measurementName(m *assessment.Measurement) string {
	return "clients/" + m.ClientID + "/capacityMeasurements/" + m.ID
}

func measurementToProto(m *assessment.Measurement) *assessmentv1.CapacityMeasurement {
	out := &assessmentv1.CapacityMeasurement{Name: measurementName(m), Instrument: "instruments/" + m.Instrument,
		Phase: assessmentv1.MeasurementPhase(enum(assessmentv1.MeasurementPhase_value, m.Phase)), MeasureDate: toDate(m.MeasureDate),
		SelfCompleted: m.SelfCompleted, Assessment: m.Assessment, RecordedBy: m.RecordedBy, CreateTime: ts(m.CreateTime)}
	keys := make([]string, 0, len(m.Scores))
	for k := range m.Scores {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out.Scores = append(out.Scores, &assessmentv1.DomainScore{DomainId: k, Score: m.Scores[k]})
	}
	return out
}

func changesToProto(ds []assessment.DomainChange) []*assessmentv1.DomainChange {
	var out []*assessmentv1.DomainChange
	for _, d := range ds {
		out = append(out, &assessmentv1.DomainChange{DomainId: d.DomainID, FromScore: d.From, ToScore: d.To, Change: d.Change})
	}
	return out
}

func satisfactionToProto(x *assessment.Satisfaction) *assessmentv1.SatisfactionResponse {
	out := &assessmentv1.SatisfactionResponse{Name: "clients/" + x.ClientID + "/satisfactionResponses/" + x.ID, PlanRevision: x.PlanRevision,
		SurveyVersion: x.SurveyVersion, Comment: x.Comment, AnsweredWithHelp: x.AnsweredWithHelp, RecordedBy: x.RecordedBy, CreateTime: ts(x.CreateTime)}
	for _, a := range x.Answers {
		out.Answers = append(out.Answers, &assessmentv1.SatisfactionAnswer{Item: assessmentv1.SatisfactionItem(enum(assessmentv1.SatisfactionItem_value, a.Item)), Score: a.Score})
	}
	return out
}

func instrumentID(name string) (string, bool) {
	id, ok := strings.CutPrefix(name, "instruments/")
	return id, ok && id != "" && !strings.Contains(id, "/")
}

// CreateInstrument implements the RPC.
func (s *Server) CreateInstrument(ctx context.Context, req *assessmentv1.CreateInstrumentRequest) (*assessmentv1.Instrument, error) {
	in, err := s.app.CreateInstrument(ctx, instrumentFromProto(req.GetInstrumentId(), req.GetInstrument()), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, "instruments/"+req.GetInstrumentId(), err)
	}
	return instrumentToProto(in), nil
}

// GetInstrument implements the RPC.
func (s *Server) GetInstrument(ctx context.Context, req *assessmentv1.GetInstrumentRequest) (*assessmentv1.Instrument, error) {
	id, ok := instrumentID(req.GetName())
	if !ok {
		return nil, badName("name", "instruments/{instrument}")
	}
	in, err := s.app.GetInstrument(ctx, id)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return instrumentToProto(in), nil
}

// ListInstruments implements the RPC.
func (s *Server) ListInstruments(ctx context.Context, req *assessmentv1.ListInstrumentsRequest) (*assessmentv1.ListInstrumentsResponse, error) {
	if err := noListOptions(req.GetFilter(), req.GetOrderBy()); err != nil {
		return nil, err
	}
	list, next, err := s.app.ListInstruments(ctx, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, s.toStatus(ctx, "instruments", err)
	}
	out := &assessmentv1.ListInstrumentsResponse{NextPageToken: next}
	for _, in := range list {
		out.Instruments = append(out.Instruments, instrumentToProto(in))
	}
	return out, nil
}

// RetireInstrument implements the RPC.
func (s *Server) RetireInstrument(ctx context.Context, req *assessmentv1.RetireInstrumentRequest) (*assessmentv1.Instrument, error) {
	id, ok := instrumentID(req.GetName())
	if !ok {
		return nil, badName("name", "instruments/{instrument}")
	}
	in, err := s.app.RetireInstrument(ctx, id, req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return instrumentToProto(in), nil
}

// CreateCapacityMeasurement implements the RPC.
func (s *Server) CreateCapacityMeasurement(ctx context.Context, req *assessmentv1.CreateCapacityMeasurementRequest) (*assessmentv1.CapacityMeasurement, error) {
	c, ok := parse(req.GetParent(), "clients")
	if !ok {
		return nil, badName("parent", "clients/{client}")
	}
	pm := req.GetCapacityMeasurement()
	inst, _ := instrumentID(pm.GetInstrument())
	m := &assessment.Measurement{Instrument: inst, Phase: enumName(pm.GetPhase()), MeasureDate: fromDate(pm.GetMeasureDate()),
		SelfCompleted: pm.GetSelfCompleted(), Assessment: pm.GetAssessment(), Scores: map[string]int32{}}
	var order []string
	for _, sc := range pm.GetScores() {
		order = append(order, sc.GetDomainId())
		m.Scores[sc.GetDomainId()] = sc.GetScore()
	}
	got, err := s.app.CreateMeasurement(ctx, c[0], m, order, req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent()+"/capacityMeasurements", err)
	}
	return measurementToProto(got), nil
}

// GetCapacityMeasurement implements the RPC.
func (s *Server) GetCapacityMeasurement(ctx context.Context, req *assessmentv1.GetCapacityMeasurementRequest) (*assessmentv1.CapacityMeasurement, error) {
	id, ok := parse(req.GetName(), "clients", "capacityMeasurements")
	if !ok {
		return nil, badName("name", "clients/{client}/capacityMeasurements/{capacity_measurement}")
	}
	m, err := s.app.GetMeasurement(ctx, id[0], id[1])
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return measurementToProto(m), nil
}

// ListCapacityMeasurements implements the RPC.
func (s *Server) ListCapacityMeasurements(ctx context.Context, req *assessmentv1.ListCapacityMeasurementsRequest) (*assessmentv1.ListCapacityMeasurementsResponse, error) {
	if err := noListOptions(req.GetFilter(), req.GetOrderBy()); err != nil {
		return nil, err
	}
	c, ok := parse(req.GetParent(), "clients")
	if !ok {
		return nil, badName("parent", "clients/{client}")
	}
	list, next, err := s.app.ListMeasurements(ctx, c[0], req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	out := &assessmentv1.ListCapacityMeasurementsResponse{NextPageToken: next}
	for _, m := range list {
		out.CapacityMeasurements = append(out.CapacityMeasurements, measurementToProto(m))
	}
	return out, nil
}

// ComputeCapacityChange implements the RPC.
func (s *Server) ComputeCapacityChange(ctx context.Context, req *assessmentv1.ComputeCapacityChangeRequest) (*assessmentv1.CapacityChange, error) {
	c, ok := parse(req.GetParent(), "clients")
	if !ok {
		return nil, badName("parent", "clients/{client}")
	}
	inst, ok := instrumentID(req.GetInstrument())
	if !ok {
		return nil, badName("instrument", "instruments/{instrument}")
	}
	ch, err := s.app.ComputeChange(ctx, c[0], inst, enumName(req.GetFromPhase()), enumName(req.GetToPhase()))
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	return &assessmentv1.CapacityChange{Instrument: req.GetInstrument(), FromMeasurement: measurementName(ch.FromM), ToMeasurement: measurementName(ch.ToM),
		FromPhase: assessmentv1.MeasurementPhase(enum(assessmentv1.MeasurementPhase_value, ch.FromPhase)),
		ToPhase:   assessmentv1.MeasurementPhase(enum(assessmentv1.MeasurementPhase_value, ch.ToPhase)),
		Domains:   changesToProto(ch.Domains), MeanChange: ch.Mean}, nil
}

// AggregateCapacityChange implements the RPC.
func (s *Server) AggregateCapacityChange(ctx context.Context, req *assessmentv1.AggregateCapacityChangeRequest) (*assessmentv1.CohortCapacityChange, error) {
	inst, ok := instrumentID(req.GetInstrument())
	if !ok {
		return nil, badName("instrument", "instruments/{instrument}")
	}
	ch, err := s.app.AggregateChange(ctx, req.GetRegion(), enumName(req.GetCohort()), inst, enumName(req.GetFromPhase()), enumName(req.GetToPhase()),
		fromDate(req.GetStartDate()), fromDate(req.GetEndDate()))
	if err != nil {
		return nil, s.toStatus(ctx, "cohort", err)
	}
	return &assessmentv1.CohortCapacityChange{Cohort: req.GetCohort(), ClientCount: int32(ch.Clients), Suppressed: ch.Suppressed,
		Domains: changesToProto(ch.Domains), MeanChange: ch.Mean}, nil
}

// CreateSatisfactionResponse implements the RPC.
func (s *Server) CreateSatisfactionResponse(ctx context.Context, req *assessmentv1.CreateSatisfactionResponseRequest) (*assessmentv1.SatisfactionResponse, error) {
	c, ok := parse(req.GetParent(), "clients")
	if !ok {
		return nil, badName("parent", "clients/{client}")
	}
	r := req.GetSatisfactionResponse()
	in := &assessment.Satisfaction{PlanRevision: r.GetPlanRevision(), SurveyVersion: r.GetSurveyVersion(), Comment: r.GetComment(), AnsweredWithHelp: r.GetAnsweredWithHelp()}
	for _, a := range r.GetAnswers() {
		in.Answers = append(in.Answers, assessment.Answer{Item: enumName(a.GetItem()), Score: a.GetScore()})
	}
	got, err := s.app.CreateSatisfaction(ctx, c[0], in, req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent()+"/satisfactionResponses", err)
	}
	return satisfactionToProto(got), nil
}

// ListSatisfactionResponses implements the RPC.
func (s *Server) ListSatisfactionResponses(ctx context.Context, req *assessmentv1.ListSatisfactionResponsesRequest) (*assessmentv1.ListSatisfactionResponsesResponse, error) {
	if err := noListOptions(req.GetFilter(), req.GetOrderBy()); err != nil {
		return nil, err
	}
	c, ok := parse(req.GetParent(), "clients")
	if !ok {
		return nil, badName("parent", "clients/{client}")
	}
	list, next, err := s.app.ListSatisfaction(ctx, c[0], req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	out := &assessmentv1.ListSatisfactionResponsesResponse{NextPageToken: next}
	for _, x := range list {
		out.SatisfactionResponses = append(out.SatisfactionResponses, satisfactionToProto(x))
	}
	return out, nil
}
