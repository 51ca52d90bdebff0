// Package store keeps the assessment service's records in the platform store
// port.
//
// Layout (namespace "assessment", Shards shards). Everything of one client lives
// in the client's shard (store.ShardOf(client id, Shards)), so every change is
// one atomic batch together with its event:
//
//	plan/<client>/<plan>                 a plan (JSON of assessment.Plan)
//	rev/<client>/<plan>/<n>              revision n of a plan
//	asmt/<client>/<assessment>           an assessment, latest version
//	asmtv/<client>/<assessment>/<v>      completed version v (immutable snapshot)
//	req/<client>/<method>/<request id>   idempotency: the resource a request made
//	meas/<client>/<measurement>          a capacity measurement (immutable)
//	sat/<client>/<response>              a satisfaction response (immutable)
//	inst/<instrument>                    an instrument, in the shard of "instrument/<id>"
//
// Indexes:
//
//	plans:<client>              the client's plans (sort key: create time)
//	revs:<client>/<plan>        a plan's revisions (sort key: zero-padded number)
//	asmts:<client>              the client's assessments (sort key: create time)
//	due:<region>                OPEN plans with an active revision, by next review date
//	due:<region>:<worker>       the same for one responsible worker
//	meas:<client>               the client's capacity measurements (create time)
//	sats:<client>               the client's satisfaction responses (create time)
//	instruments                 instruments (sort key: id), per shard, merged
//
// The due indexes are per shard and merged at read time (store.AllShards).
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/assessment/internal/assessment"
)

// Namespace and shard count of the assessment service; the count never changes
// once data exists.
const (
	Namespace = "assessment"
	Shards    = 16
)

// Errors of the repository.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("concurrent modification")
)

// Repo is the assessment repository.
type Repo struct{ st store.Store }

// New wraps a store namespace.
func New(st store.Store) *Repo { return &Repo{st: st} }

// ShardOf is the shard of a client id.
func ShardOf(clientID string) int { return store.ShardOf(clientID, Shards) }

// TimeKey formats a time as a sortable index key.
func TimeKey(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

func planKey(c, p string) string           { return "plan/" + c + "/" + p }
func revKey(c, p string, n int) string     { return "rev/" + c + "/" + p + "/" + strconv.Itoa(n) }
func asmtKey(c, a string) string           { return "asmt/" + c + "/" + a }
func asmtVerKey(c, a string, v int) string { return "asmtv/" + c + "/" + a + "/" + strconv.Itoa(v) }
func reqKey(c, method, id string) string   { return "req/" + c + "/" + method + "/" + id }
func revSort(n int) string                 { return fmt.Sprintf("%08d", n) }

// DueIndex is the overdue-review index of a region, or of one worker in it.
func DueIndex(region, worker string) string {
	if worker == "" {
		return "due:" + region
	}
	return "due:" + region + ":" + worker
}

func (r *Repo) get(ctx context.Context, clientID, key string, into any) (int64, error) {
	doc, err := r.st.Get(ctx, ShardOf(clientID), key)
	if errors.Is(err, store.ErrNotFound) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(doc.Value, into); err != nil {
		return 0, fmt.Errorf("decode %s: %w", strings.SplitN(key, "/", 2)[0], err)
	}
	return doc.Version, nil
}

// Plan reads a plan and its version.
func (r *Repo) Plan(ctx context.Context, clientID, planID string) (*assessment.Plan, int64, error) {
	var p assessment.Plan
	v, err := r.get(ctx, clientID, planKey(clientID, planID), &p)
	if err != nil {
		return nil, 0, err
	}
	return &p, v, nil
}

// Revision reads a plan revision and its version.
func (r *Repo) Revision(ctx context.Context, clientID, planID string, n int) (*assessment.Revision, int64, error) {
	var x assessment.Revision
	v, err := r.get(ctx, clientID, revKey(clientID, planID, n), &x)
	if err != nil {
		return nil, 0, err
	}
	return &x, v, nil
}

// Assessment reads an assessment's latest version and its document version.
func (r *Repo) Assessment(ctx context.Context, clientID, id string) (*assessment.Assessment, int64, error) {
	var a assessment.Assessment
	v, err := r.get(ctx, clientID, asmtKey(clientID, id), &a)
	if err != nil {
		return nil, 0, err
	}
	return &a, v, nil
}

// AssessmentVersion reads a completed version of an assessment.
func (r *Repo) AssessmentVersion(ctx context.Context, clientID, id string, version int) (*assessment.Assessment, error) {
	var a assessment.Assessment
	if _, err := r.get(ctx, clientID, asmtVerKey(clientID, id, version), &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// RequestResult returns what an earlier request with this id made.
func (r *Repo) RequestResult(ctx context.Context, clientID, method, requestID string) (string, bool, error) {
	doc, err := r.st.Get(ctx, ShardOf(clientID), reqKey(clientID, method, requestID))
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return string(doc.Value), true, nil
}

// Write collects the changes of one client made atomically.
type Write struct {
	client string
	b      store.Batch
}

// NewWrite starts a batch for a client.
func NewWrite(clientID string) *Write { return &Write{client: clientID} }

func (w *Write) put(key string, v any, version int64) {
	if version == 0 {
		w.b.Create(key, mustJSON(v))
	} else {
		w.b.Put(key, mustJSON(v), version)
	}
}

// Plan writes a plan (version 0 creates it), keeping its indexes in step with
// before (nil for a new plan).
func (w *Write) Plan(before, after *assessment.Plan, version int64) *Write {
	w.put(planKey(w.client, after.ID), after, version)
	if before == nil {
		w.b.IndexAdd("plans:"+w.client, TimeKey(after.CreateTime), after.ID)
	}
	for _, e := range dueEntries(before) {
		w.b.IndexRemove(e[0], e[1], e[2])
	}
	for _, e := range dueEntries(after) {
		w.b.IndexAdd(e[0], e[1], e[2])
	}
	return w
}

func dueEntries(p *assessment.Plan) [][3]string {
	if p == nil || p.State != assessment.PlanOpen || p.ActiveRevision == 0 || p.NextReviewDate.IsZero() {
		return nil
	}
	id, date := p.ClientID+"/"+p.ID, p.NextReviewDate.String()
	return [][3]string{{DueIndex(p.Region, ""), date, id}, {DueIndex(p.Region, p.ResponsibleWorker), date, id}}
}

// Revision writes a revision (version 0 creates it).
func (w *Write) Revision(x *assessment.Revision, version int64) *Write {
	w.put(revKey(w.client, x.PlanID, x.Number), x, version)
	if version == 0 {
		w.b.IndexAdd("revs:"+w.client+"/"+x.PlanID, revSort(x.Number), strconv.Itoa(x.Number))
	}
	return w
}

// Assessment writes an assessment's latest version (version 0 creates it).
func (w *Write) Assessment(a *assessment.Assessment, version int64) *Write {
	w.put(asmtKey(w.client, a.ID), a, version)
	if version == 0 {
		w.b.IndexAdd("asmts:"+w.client, TimeKey(a.CreateTime), a.ID)
	}
	return w
}

// AssessmentSnapshot stores a completed version for reading later.
func (w *Write) AssessmentSnapshot(a *assessment.Assessment) *Write {
	w.b.Create(asmtVerKey(w.client, a.ID, a.Version), mustJSON(a))
	return w
}

// Request records what a request made (skipped when requestID is empty).
func (w *Write) Request(method, requestID, result string) *Write {
	if requestID != "" {
		w.b.Create(reqKey(w.client, method, requestID), []byte(result))
	}
	return w
}

// Emit appends events.
func (w *Write) Emit(evs ...events.Envelope) *Write {
	for _, e := range evs {
		w.b.Emit(e.Marshal())
	}
	return w
}

// Commit applies the write atomically; a stale version or a concurrent twin
// request is ErrConflict.
func (r *Repo) Commit(ctx context.Context, w *Write) error {
	err := r.st.Commit(ctx, ShardOf(w.client), &w.b)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) {
		return ErrConflict
	}
	return err
}

// Page is one page of an index.
type Page struct {
	Entries []store.IndexEntry
	// More is true when the page was full (there may be a next page).
	More bool
}

func (r *Repo) scan(ctx context.Context, shard int, index string, after store.IndexEntry, limit int, reverse bool) (Page, error) {
	es, err := r.st.Scan(ctx, shard, index, store.IndexQuery{After: after, Limit: limit, Reverse: reverse})
	if err != nil {
		return Page{}, err
	}
	return Page{Entries: es, More: len(es) == limit}, nil
}

// PlanIDs pages the client's plans, newest first.
func (r *Repo) PlanIDs(ctx context.Context, clientID string, after store.IndexEntry, limit int) (Page, error) {
	return r.scan(ctx, ShardOf(clientID), "plans:"+clientID, after, limit, true)
}

// RevisionNumbers pages a plan's revisions, newest first.
func (r *Repo) RevisionNumbers(ctx context.Context, clientID, planID string, after store.IndexEntry, limit int) (Page, error) {
	return r.scan(ctx, ShardOf(clientID), "revs:"+clientID+"/"+planID, after, limit, true)
}

// AssessmentIDs pages the client's assessments, newest first.
func (r *Repo) AssessmentIDs(ctx context.Context, clientID string, after store.IndexEntry, limit int) (Page, error) {
	return r.scan(ctx, ShardOf(clientID), "asmts:"+clientID, after, limit, true)
}

// Due pages a due index over all shards, earliest review date first.
func (r *Repo) Due(ctx context.Context, index string, after store.IndexEntry, limit int) (Page, error) {
	return r.scan(ctx, store.AllShards, index, after, limit, false)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode: %v", err)) // plain structs of strings, numbers and times cannot fail
	}
	return b
}

// InstrumentScope is the shard scope of an instrument (it belongs to no client).
func InstrumentScope(id string) string { return "instrument/" + id }

// Instrument reads an instrument.
func (r *Repo) Instrument(ctx context.Context, id string) (*assessment.Instrument, int64, error) {
	var in assessment.Instrument
	v, err := r.get(ctx, InstrumentScope(id), "inst/"+id, &in)
	if err != nil {
		return nil, 0, err
	}
	return &in, v, nil
}

// Instrument writes an instrument (version 0 creates it); the Write must be
// made with NewWrite(InstrumentScope(id)).
func (w *Write) Instrument(in *assessment.Instrument, version int64) *Write {
	w.put("inst/"+in.ID, in, version)
	if version == 0 {
		w.b.IndexAdd("instruments", in.ID, in.ID)
	}
	return w
}

// InstrumentIDs pages instruments over all shards by id.
func (r *Repo) InstrumentIDs(ctx context.Context, after store.IndexEntry, limit int) (Page, error) {
	return r.scan(ctx, store.AllShards, "instruments", after, limit, false)
}

// Measurement reads a capacity measurement.
func (r *Repo) Measurement(ctx context.Context, clientID, id string) (*assessment.Measurement, error) {
	var m assessment.Measurement
	if _, err := r.get(ctx, clientID, "meas/"+clientID+"/"+id, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// Measurement creates a capacity measurement.
func (w *Write) Measurement(m *assessment.Measurement) *Write {
	w.put("meas/"+w.client+"/"+m.ID, m, 0)
	w.b.IndexAdd("meas:"+w.client, TimeKey(m.CreateTime), m.ID)
	return w
}

// MeasurementIDs pages a client's measurements, newest first.
func (r *Repo) MeasurementIDs(ctx context.Context, clientID string, after store.IndexEntry, limit int) (Page, error) {
	return r.scan(ctx, ShardOf(clientID), "meas:"+clientID, after, limit, true)
}

// Satisfaction reads a satisfaction response.
func (r *Repo) Satisfaction(ctx context.Context, clientID, id string) (*assessment.Satisfaction, error) {
	var s assessment.Satisfaction
	if _, err := r.get(ctx, clientID, "sat/"+clientID+"/"+id, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Satisfaction creates a satisfaction response.
func (w *Write) Satisfaction(s *assessment.Satisfaction) *Write {
	w.put("sat/"+w.client+"/"+s.ID, s, 0)
	w.b.IndexAdd("sats:"+w.client, TimeKey(s.CreateTime), s.ID)
	return w
}

// SatisfactionIDs pages a client's satisfaction responses, newest first.
func (r *Repo) SatisfactionIDs(ctx context.Context, clientID string, after store.IndexEntry, limit int) (Page, error) {
	return r.scan(ctx, ShardOf(clientID), "sats:"+clientID, after, limit, true)
}
