package app

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/polku-hb/polku/platform/store"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/services/assessment/internal/assessment"
	repo "github.com/polku-hb/polku/services/assessment/internal/store"
)

// CreateInstrument stores a new ACTIVE instrument (MANAGER or OPERATOR).
func (s *Service) CreateInstrument(ctx context.Context, in *assessment.Instrument, requestID string) (*assessment.Instrument, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, ErrUnauthenticated
	}
	if !p.Is(auth.RoleManager, auth.RoleOperator) {
		return nil, ErrPermission
	}
	if err := errors.Join(assessment.ValidateInstrument(in), checkRequestID(requestID)); err != nil {
		return nil, firstViolations(err)
	}
	scope := repo.InstrumentScope(in.ID)
	if requestID != "" {
		if _, ok, err := s.repo.RequestResult(ctx, scope, "CreateInstrument", requestID); err != nil {
			return nil, err
		} else if ok {
			got, _, err := s.repo.Instrument(ctx, in.ID)
			return got, notFound(err)
		}
	}
	now := s.now()
	in.State, in.CreateTime, in.RetireTime = assessment.InstrumentActive, now, time.Time{}
	name := "instruments/" + in.ID
	w := repo.NewWrite(scope).Instrument(in, 0).Request("CreateInstrument", requestID, in.ID).
		Emit(s.event(ctx, p, "instrument.created", "", name, map[string]string{"instrument": name}))
	if err := s.repo.Commit(ctx, w); err != nil {
		if errors.Is(err, repo.ErrConflict) {
			return nil, ErrExists
		}
		return nil, err
	}
	return in, nil
}

// GetInstrument reads an instrument (any signed-in caller: definitions hold no
// personal data).
func (s *Service) GetInstrument(ctx context.Context, id string) (*assessment.Instrument, error) {
	if _, ok := auth.FromContext(ctx); !ok {
		return nil, ErrUnauthenticated
	}
	in, _, err := s.repo.Instrument(ctx, id)
	return in, notFound(err)
}

// ListInstruments pages instruments by id.
func (s *Service) ListInstruments(ctx context.Context, size int32, token string) ([]*assessment.Instrument, string, error) {
	if _, ok := auth.FromContext(ctx); !ok {
		return nil, "", ErrUnauthenticated
	}
	n, after, query, err := page(size, token, "instruments")
	if err != nil {
		return nil, "", err
	}
	pg, err := s.repo.InstrumentIDs(ctx, after, n)
	if err != nil {
		return nil, "", err
	}
	var out []*assessment.Instrument
	for _, e := range pg.Entries {
		in, _, err := s.repo.Instrument(ctx, e.ID)
		if err != nil {
			return nil, "", notFound(err)
		}
		out = append(out, in)
	}
	return out, nextToken(pg, query), nil
}

// RetireInstrument stops new measurements with an instrument.
func (s *Service) RetireInstrument(ctx context.Context, id, requestID string) (*assessment.Instrument, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, ErrUnauthenticated
	}
	if !p.Is(auth.RoleManager, auth.RoleOperator) {
		return nil, ErrPermission
	}
	in, v, err := s.repo.Instrument(ctx, id)
	if err != nil {
		return nil, notFound(err)
	}
	if in.State == assessment.InstrumentRetired {
		if requestID != "" {
			if _, ok, _ := s.repo.RequestResult(ctx, repo.InstrumentScope(id), "RetireInstrument", requestID); ok {
				return in, nil
			}
		}
		return nil, &assessment.TransitionError{Kind: "instrument", From: in.State, Allowed: []string{}}
	}
	in.State, in.RetireTime = assessment.InstrumentRetired, s.now()
	name := "instruments/" + id
	w := repo.NewWrite(repo.InstrumentScope(id)).Instrument(in, v).Request("RetireInstrument", requestID, id).
		Emit(s.event(ctx, p, "instrument.retired", "", name, map[string]string{"instrument": name}))
	if err := s.repo.Commit(ctx, w); err != nil {
		return nil, notFound(err)
	}
	return in, nil
}

// CreateMeasurement records a client's answers (team workers, region managers,
// the client themself or their assistant).
func (s *Service) CreateMeasurement(ctx context.Context, clientID string, m *assessment.Measurement, order []string, requestID string) (*assessment.Measurement, error) {
	p, err := s.authorize(ctx, clientID, report)
	if err != nil {
		return nil, err
	}
	if err := checkRequestID(requestID); err != nil {
		return nil, err
	}
	if requestID != "" {
		if id, ok, err := s.repo.RequestResult(ctx, clientID, "CreateCapacityMeasurement", requestID); err != nil {
			return nil, err
		} else if ok {
			return s.repo.Measurement(ctx, clientID, id)
		}
	}
	inst, _, err := s.repo.Instrument(ctx, m.Instrument)
	if errors.Is(err, repo.ErrNotFound) {
		return nil, assessment.Violations{{Field: "capacity_measurement.instrument", Rule: "must be an existing instrument"}}
	}
	if err != nil {
		return nil, err
	}
	if inst.State != assessment.InstrumentActive {
		return nil, assessment.Violations{{Field: "capacity_measurement.instrument", Rule: "is retired; use an ACTIVE instrument"}}
	}
	m.ClientID = clientID
	if err := assessment.ValidateMeasurement(m, inst, order); err != nil {
		return nil, err
	}
	m.ID, m.RecordedBy, m.CreateTime = newID(), p.Subject, s.now()
	if p.Role == auth.RoleClient {
		m.SelfCompleted = true
	}
	name := "clients/" + clientID + "/capacityMeasurements/" + m.ID
	w := repo.NewWrite(clientID).Measurement(m).Request("CreateCapacityMeasurement", requestID, m.ID).
		Emit(s.event(ctx, p, "capacity_measurement.recorded", clientID, name, map[string]string{
			"capacity_measurement": name, "instrument": "instruments/" + m.Instrument, "phase": m.Phase}))
	if err := s.repo.Commit(ctx, w); err != nil {
		return nil, notFound(err)
	}
	return m, nil
}

// GetMeasurement reads a measurement.
func (s *Service) GetMeasurement(ctx context.Context, clientID, id string) (*assessment.Measurement, error) {
	if _, err := s.authorize(ctx, clientID, read); err != nil {
		return nil, err
	}
	m, err := s.repo.Measurement(ctx, clientID, id)
	return m, notFound(err)
}

// ListMeasurements pages a client's measurements, newest first.
func (s *Service) ListMeasurements(ctx context.Context, clientID string, size int32, token string) ([]*assessment.Measurement, string, error) {
	if _, err := s.authorize(ctx, clientID, read); err != nil {
		return nil, "", err
	}
	n, after, query, err := page(size, token, "meas:"+clientID)
	if err != nil {
		return nil, "", err
	}
	pg, err := s.repo.MeasurementIDs(ctx, clientID, after, n)
	if err != nil {
		return nil, "", err
	}
	var out []*assessment.Measurement
	for _, e := range pg.Entries {
		m, err := s.repo.Measurement(ctx, clientID, e.ID)
		if err != nil {
			return nil, "", notFound(err)
		}
		out = append(out, m)
	}
	return out, nextToken(pg, query), nil
}

func (s *Service) allMeasurements(ctx context.Context, clientID string) ([]*assessment.Measurement, error) {
	var out []*assessment.Measurement
	var pg repo.Page
	var err error
	for first := true; first || pg.More; first = false {
		after := lastEntry(pg)
		if pg, err = s.repo.MeasurementIDs(ctx, clientID, after, 500); err != nil {
			return nil, err
		}
		for _, e := range pg.Entries {
			m, err := s.repo.Measurement(ctx, clientID, e.ID)
			if err != nil {
				return nil, notFound(err)
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// CapacityChange is the change of one client between two phases.
type CapacityChange struct {
	FromM, ToM         *assessment.Measurement
	FromPhase, ToPhase string
	Domains            []assessment.DomainChange
	Mean               float64
}

// pickPhases applies the defaults: from BASELINE; to FINAL when there is one,
// else INTERIM.
func pickPhases(ms []*assessment.Measurement, inst, from, to string) (*assessment.Measurement, *assessment.Measurement, string, string) {
	if from == "" {
		from = assessment.PhaseBaseline
	}
	if to == "" {
		to = assessment.PhaseFinal
		if assessment.Latest(ms, inst, to) == nil {
			to = assessment.PhaseInterim
		}
	}
	return assessment.Latest(ms, inst, from), assessment.Latest(ms, inst, to), from, to
}

// ErrNoMeasurements: one of the phases has no measurement.
var ErrNoMeasurements = errors.New("the client has no measurement of one of the phases with this instrument")

// ComputeChange is a client's per-domain change between two phases.
func (s *Service) ComputeChange(ctx context.Context, clientID, instrumentID, from, to string) (CapacityChange, error) {
	if _, err := s.authorize(ctx, clientID, read); err != nil {
		return CapacityChange{}, err
	}
	if from != "" && from == to {
		return CapacityChange{}, assessment.Violations{{Field: "to_phase", Rule: "must differ from from_phase"}}
	}
	inst, _, err := s.repo.Instrument(ctx, instrumentID)
	if err != nil {
		return CapacityChange{}, notFound(err)
	}
	ms, err := s.allMeasurements(ctx, clientID)
	if err != nil {
		return CapacityChange{}, err
	}
	fm, tm, from, to := pickPhases(ms, instrumentID, from, to)
	if fm == nil || tm == nil {
		return CapacityChange{}, ErrNoMeasurements
	}
	ds, mean := assessment.Change(inst, fm, tm)
	return CapacityChange{FromM: fm, ToM: tm, FromPhase: from, ToPhase: to, Domains: ds, Mean: mean}, nil
}

// CohortChange is a cohort's aggregate change.
type CohortChange struct {
	Clients    int
	Suppressed bool
	Domains    []assessment.DomainChange
	Mean       float64
}

// AggregateChange averages the change of a region's cohort (MANAGER of that
// region). Clients count when both phases were measured and the later
// measurement's date is within [start, end] (when given). Groups smaller than
// assessment.MinCohort are suppressed.
func (s *Service) AggregateChange(ctx context.Context, region, cohort, instrumentID, from, to string, start, end assessment.Date) (CohortChange, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return CohortChange{}, ErrUnauthenticated
	}
	if p.Role != auth.RoleManager || p.Region == "" || p.Region != region {
		return CohortChange{}, ErrPermission
	}
	var vs assessment.Violations
	if !strings.HasPrefix(cohort, "COHORT_") {
		vs.Add("cohort", "is required")
	}
	if from != "" && from == to {
		vs.Add("to_phase", "must differ from from_phase")
	}
	if err := vs.Err(); err != nil {
		return CohortChange{}, err
	}
	inst, _, err := s.repo.Instrument(ctx, instrumentID)
	if err != nil {
		return CohortChange{}, notFound(err)
	}
	ids, err := s.clients.InCohort(ctx, cohort)
	if err != nil {
		return CohortChange{}, err
	}
	var per [][]assessment.DomainChange
	for _, id := range ids {
		ms, err := s.allMeasurements(ctx, id)
		if err != nil {
			return CohortChange{}, err
		}
		fm, tm, _, _ := pickPhases(ms, instrumentID, from, to)
		if fm == nil || tm == nil || (!start.IsZero() && tm.MeasureDate.Before(start)) || (!end.IsZero() && end.Before(tm.MeasureDate)) {
			continue
		}
		ds, _ := assessment.Change(inst, fm, tm)
		per = append(per, ds)
	}
	out := CohortChange{Clients: len(per)}
	if len(per) < assessment.MinCohort {
		out.Suppressed = true
		return out, nil
	}
	out.Domains, out.Mean = assessment.Aggregate(inst, per)
	return out, nil
}

// CreateSatisfaction stores a survey response for a plan revision of the client.
func (s *Service) CreateSatisfaction(ctx context.Context, clientID string, in *assessment.Satisfaction, requestID string) (*assessment.Satisfaction, error) {
	p, err := s.authorize(ctx, clientID, report)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(assessment.ValidateSatisfaction(in), checkRequestID(requestID)); err != nil {
		return nil, firstViolations(err)
	}
	if requestID != "" {
		if id, ok, err := s.repo.RequestResult(ctx, clientID, "CreateSatisfactionResponse", requestID); err != nil {
			return nil, err
		} else if ok {
			return s.repo.Satisfaction(ctx, clientID, id)
		}
	}
	if !revisionOf(in.PlanRevision, clientID, func(planID string, n int) bool {
		_, _, err := s.repo.Revision(ctx, clientID, planID, n)
		return err == nil
	}) {
		return nil, assessment.Violations{{Field: "satisfaction_response.plan_revision", Rule: "must be a plan revision of this client"}}
	}
	in.ClientID, in.ID, in.RecordedBy, in.CreateTime, in.SurveyVersion = clientID, newID(), p.Subject, s.now(), assessment.SurveyVersion
	name := "clients/" + clientID + "/satisfactionResponses/" + in.ID
	w := repo.NewWrite(clientID).Satisfaction(in).Request("CreateSatisfactionResponse", requestID, in.ID).
		Emit(s.event(ctx, p, "satisfaction_response.recorded", clientID, name, map[string]string{
			"satisfaction_response": name, "plan_revision": in.PlanRevision}))
	if err := s.repo.Commit(ctx, w); err != nil {
		return nil, notFound(err)
	}
	return in, nil
}

// ListSatisfaction pages a client's responses, newest first.
func (s *Service) ListSatisfaction(ctx context.Context, clientID string, size int32, token string) ([]*assessment.Satisfaction, string, error) {
	if _, err := s.authorize(ctx, clientID, read); err != nil {
		return nil, "", err
	}
	n, after, query, err := page(size, token, "sats:"+clientID)
	if err != nil {
		return nil, "", err
	}
	pg, err := s.repo.SatisfactionIDs(ctx, clientID, after, n)
	if err != nil {
		return nil, "", err
	}
	var out []*assessment.Satisfaction
	for _, e := range pg.Entries {
		x, err := s.repo.Satisfaction(ctx, clientID, e.ID)
		if err != nil {
			return nil, "", notFound(err)
		}
		out = append(out, x)
	}
	return out, nextToken(pg, query), nil
}

func revisionOf(name, clientID string, exists func(planID string, n int) bool) bool {
	parts := strings.Split(name, "/")
	if len(parts) != 6 || parts[0] != "clients" || parts[1] != clientID || parts[2] != "plans" || parts[4] != "revisions" {
		return false
	}
	n := 0
	for _, c := range parts[5] {
		if c < '0' || c > '9' || n > 1e6 {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n > 0 && exists(parts[3], n)
}

func lastEntry(pg repo.Page) store.IndexEntry {
	if len(pg.Entries) == 0 {
		return store.IndexEntry{}
	}
	return pg.Entries[len(pg.Entries)-1]
}
