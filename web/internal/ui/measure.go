package ui

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	"github.com/polku-hb/polku/web/internal/session"
)

// activeInstrument is the region's instrument in use (the first ACTIVE one),
// looked for in the whole list. A region has a handful of instruments: should
// the bound ever cut the list before the active one, the "no instrument in
// use" answer below says so.
func activeInstrument(rq *request) (*assessmentv1.Instrument, error) {
	var il assessmentv1.ListInstrumentsResponse
	if _, err := readAll(rq.r.Context(), rq, "instruments", nil, &il); err != nil {
		return nil, err
	}
	for _, in := range il.GetInstruments() {
		if in.GetState() == assessmentv1.Instrument_ACTIVE {
			return in, nil
		}
	}
	return nil, fmt.Errorf("%w: no capacity instrument in use", errBadInput)
}

// measurementForm asks the instrument's questions, one score per domain.
func (a *app) measurementForm(rq *request) error {
	in, err := activeInstrument(rq)
	if err != nil {
		return err
	}
	return a.render(rq, "measure", rq.lang.T("measure.title"), map[string]any{
		"ClientID": rq.r.PathValue("id"), "Instrument": in, "Today": time.Now().UTC().Format("2006-01-02"),
		"RequestID": session.RandomToken(),
	})
}

// createMeasurement records the client's capacity rating with the worker
// (a worker's recording is not self-completed).
func (a *app) createMeasurement(rq *request) error {
	id := rq.r.PathValue("id")
	f := rq.r.PostForm
	in, err := activeInstrument(rq)
	if err != nil {
		return err
	}
	day, err := time.Parse("2006-01-02", f.Get("date"))
	if err != nil {
		return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("measure.date.invalid"))
	}
	if _, ok := assessmentv1.MeasurementPhase_value[f.Get("phase")]; !ok {
		return fmt.Errorf("%w: phase", errBadInput)
	}
	var scores []map[string]any
	for _, d := range in.GetDomains() {
		v := f.Get("score-" + d.GetId())
		if v == "" {
			continue // an unanswered domain is left out
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < int(in.GetScale().GetMin()) || n > int(in.GetScale().GetMax()) {
			return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("measure.score.invalid", in.GetScale().GetMin(), in.GetScale().GetMax()))
		}
		scores = append(scores, map[string]any{"domain_id": d.GetId(), "score": n})
	}
	body := map[string]any{
		"instrument": in.GetName(), "phase": f.Get("phase"), "scores": scores,
		"measure_date": map[string]int{"year": day.Year(), "month": int(day.Month()), "day": day.Day()},
	}
	if err := rq.edge.Post(rq.r.Context(), "clients/"+id+"/capacityMeasurements", url.Values{"request_id": {f.Get("request_id")}}, body, nil); err != nil {
		return err
	}
	return redirect(rq, "/worker/clients/"+id+"#assessments", "ok.measured")
}
