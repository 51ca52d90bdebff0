package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/web/internal/edge"
	"github.com/polku-hb/polku/web/internal/session"
)

// assessmentFields are the parts of an assessment the form edits, as update
// mask paths.
var assessmentFields = []string{"client_words", "needs", "strengths", "summary", "assess_date"}

// blankNeedRows is how many empty need rows the form offers (no JavaScript to
// add rows: save the draft to get more).
const blankNeedRows = 2

// assessmentForm is the data of the plans_assessment page.
type assessmentForm struct {
	ClientID   string
	Client     *clientsv1.Client
	A          *assessmentv1.Assessment
	Mode       string // "new", "draft", "view" or "correct"
	Action     string // where the form posts
	Needs      []*assessmentv1.Need
	Strengths  string // one per line
	Reason     string // a correction's reason, kept on a failed post
	Error      string
	RequestID  string
	Domains    []string
	Priorities []string
	Kinds      []string
}

func (a *app) assessmentNew(rq *request) error {
	today := todayInHelsinki()
	as := &assessmentv1.Assessment{Kind: assessmentv1.Assessment_INITIAL,
		AssessDate: &date.Date{Year: int32(today.Year()), Month: int32(today.Month()), Day: int32(today.Day())}}
	return a.renderAssessment(rq, http.StatusOK, as, "new", "", "")
}

func (a *app) assessmentPage(rq *request) error {
	as := &assessmentv1.Assessment{}
	if err := rq.edge.Get(rq.r.Context(), assessmentName(rq), nil, as); err != nil {
		return err
	}
	// Only workers edit (a manager reading the region's clients sees it as it is).
	mode := "view"
	switch {
	case rq.s.Role != "WORKER":
	case as.GetState() == assessmentv1.Assessment_DRAFT:
		mode = "draft"
	case rq.r.URL.Query().Get("correct") == "1":
		mode = "correct"
	}
	return a.renderAssessment(rq, http.StatusOK, as, mode, "", "")
}

func assessmentName(rq *request) string {
	return "clients/" + rq.r.PathValue("id") + "/assessments/" + rq.r.PathValue("a")
}

// renderAssessment shows the form (or the completed assessment) with as in
// it; after a refused post as is what the worker wrote, so nothing is lost.
func (a *app) renderAssessment(rq *request, status int, as *assessmentv1.Assessment, mode, reason, msg string) error {
	id := rq.r.PathValue("id")
	c := &clientsv1.Client{}
	if err := rq.edge.Get(rq.r.Context(), "clients/"+id, nil, c); err != nil {
		return err
	}
	f := assessmentForm{ClientID: id, Client: c, A: as, Mode: mode, Reason: reason, Error: msg,
		Strengths: strings.Join(as.GetStrengths(), "\n"), RequestID: session.RandomToken(), Needs: as.GetNeeds()}
	switch mode {
	case "new":
		f.Action = "/worker/clients/" + id + "/assessments"
	case "draft":
		f.Action = "/worker/" + as.GetName()
	case "correct":
		f.Action = "/worker/" + as.GetName() + "/correct"
	}
	if mode != "view" {
		for range blankNeedRows {
			f.Needs = append(f.Needs, &assessmentv1.Need{})
		}
	}
	for v := int32(1); v < int32(len(assessmentv1.NeedDomain_name)); v++ {
		f.Domains = append(f.Domains, assessmentv1.NeedDomain(v).String())
	}
	for v := int32(0); v < int32(len(assessmentv1.NeedPriority_name)); v++ {
		f.Priorities = append(f.Priorities, assessmentv1.NeedPriority(v).String())
	}
	for _, k := range []assessmentv1.Assessment_Kind{assessmentv1.Assessment_INITIAL, assessmentv1.Assessment_REVIEW, assessmentv1.Assessment_FINAL} {
		f.Kinds = append(f.Kinds, k.String())
	}
	if status != http.StatusOK {
		rq.w.Header().Set("Content-Type", "text/html; charset=utf-8")
		rq.w.WriteHeader(status)
	}
	return a.render(rq, "plans_assessment", rq.lang.T("plans.asmt.title")+": "+c.GetGivenName()+" "+c.GetFamilyName(), f)
}

// formAssessment reads the form's content fields. Rows whose description is
// empty are left out (that is how a need is removed).
func formAssessment(rq *request) (*assessmentv1.Assessment, error) {
	f := rq.r.PostForm
	as := &assessmentv1.Assessment{
		ClientWords: strings.TrimSpace(f.Get("client_words")),
		Summary:     strings.TrimSpace(f.Get("summary")),
	}
	for _, s := range strings.Split(f.Get("strengths"), "\n") {
		if s = strings.TrimSpace(s); s != "" {
			as.Strengths = append(as.Strengths, s)
		}
	}
	for i := 0; f.Has("need-desc-" + strconv.Itoa(i)); i++ {
		n := strconv.Itoa(i)
		desc := strings.TrimSpace(f.Get("need-desc-" + n))
		domain := assessmentv1.NeedDomain(assessmentv1.NeedDomain_value[f.Get("need-domain-"+n)])
		prio := assessmentv1.NeedPriority(assessmentv1.NeedPriority_value[f.Get("need-priority-"+n)])
		if desc == "" {
			continue
		}
		need := &assessmentv1.Need{Id: f.Get("need-id-" + n), Domain: domain, Description: desc, Priority: prio}
		as.Needs = append(as.Needs, need)
		if domain == assessmentv1.NeedDomain_NEED_DOMAIN_UNSPECIFIED {
			return as, fmt.Errorf("%w: %s", errBadInput, rq.lang.T("plans.asmt.domain.required", i+1))
		}
	}
	d, err := parseDay(f.Get("assess_date"))
	if err != nil || d == nil {
		return as, fmt.Errorf("%w: %s", errBadInput, rq.lang.T("plans.asmt.date.invalid"))
	}
	as.AssessDate = d
	return as, nil
}

// todayInHelsinki is today where the region works (the assessment's day).
func todayInHelsinki() time.Time {
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		return time.Now().UTC()
	}
	return time.Now().In(loc)
}

// parseDay reads an <input type=date> value; empty is nil.
func parseDay(s string) (*date.Date, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return nil, err
	}
	return &date.Date{Year: int32(t.Year()), Month: int32(t.Month()), Day: int32(t.Day())}, nil
}

// refused reports whether err is about what the user wrote (the UI's own
// check or the edge's 400), so the form is shown again with it.
func refused(err error) bool {
	var e *edge.Error
	return errors.Is(err, errBadInput) || (errors.As(err, &e) && e.Status == http.StatusBadRequest)
}

// createAssessment starts a DRAFT with what was written; "complete" also
// completes it in the same step.
func (a *app) createAssessment(rq *request) error {
	ctx := rq.r.Context()
	f := rq.r.PostForm
	as, err := formAssessment(rq)
	kind := assessmentv1.Assessment_Kind(assessmentv1.Assessment_Kind_value[f.Get("kind")])
	as.Kind = kind
	if err == nil && kind == assessmentv1.Assessment_KIND_UNSPECIFIED {
		err = fmt.Errorf("%w: %s", errBadInput, rq.lang.T("plans.asmt.kind.invalid"))
	}
	var created assessmentv1.Assessment
	if err == nil {
		err = rq.edge.Post(ctx, "clients/"+rq.r.PathValue("id")+"/assessments", url.Values{"request_id": {f.Get("request_id")}}, as, &created)
	}
	if refused(err) {
		return a.renderAssessment(rq, http.StatusBadRequest, as, "new", "", a.explain(rq.lang, err))
	} else if err != nil {
		return err
	}
	return a.finishAssessment(rq, &created, "ok.plans.asmt.created")
}

// saveAssessment saves a DRAFT's content (and completes it on "complete").
func (a *app) saveAssessment(rq *request) error {
	name := assessmentName(rq)
	as, err := formAssessment(rq)
	as.Name, as.Etag = name, rq.r.PostFormValue("etag")
	var saved assessmentv1.Assessment
	if err == nil {
		err = rq.edge.Patch(rq.r.Context(), name, url.Values{"update_mask": {strings.Join(assessmentFields, ",")}}, as, &saved)
	}
	if refused(err) {
		as.State = assessmentv1.Assessment_DRAFT
		return a.renderAssessment(rq, http.StatusBadRequest, as, "draft", "", a.explain(rq.lang, err))
	} else if err != nil {
		return err
	}
	return a.finishAssessment(rq, &saved, "ok.plans.asmt.saved")
}

// finishAssessment completes the saved assessment when the worker pressed
// "complete", then goes to its page.
func (a *app) finishAssessment(rq *request, as *assessmentv1.Assessment, ok string) error {
	if rq.r.PostFormValue("complete") != "" {
		body := map[string]any{"etag": as.GetEtag(), "request_id": rq.r.PostFormValue("request_id") + "-complete"}
		if err := rq.edge.Post(rq.r.Context(), as.GetName()+":complete", nil, body, nil); err != nil {
			return err
		}
		ok = "ok.plans.asmt.completed"
	}
	return redirect(rq, "/worker/"+as.GetName(), ok)
}

// correctAssessment makes a new version of a COMPLETED assessment with the
// fields that differ from the current one and the worker's reason.
func (a *app) correctAssessment(rq *request) error {
	ctx := rq.r.Context()
	name := assessmentName(rq)
	reason := strings.TrimSpace(rq.r.PostFormValue("reason"))
	cur := &assessmentv1.Assessment{}
	if err := rq.edge.Get(ctx, name, nil, cur); err != nil {
		return err
	}
	as, err := formAssessment(rq)
	as.Name, as.Etag, as.Kind, as.State, as.Version = name, rq.r.PostFormValue("etag"), cur.GetKind(), cur.GetState(), cur.GetVersion()
	changed := changedFields(cur, as)
	switch {
	case err != nil:
	case reason == "":
		err = fmt.Errorf("%w: %s", errBadInput, rq.lang.T("plans.asmt.reason.required"))
	case len(changed) == 0:
		err = fmt.Errorf("%w: %s", errBadInput, rq.lang.T("plans.asmt.unchanged"))
	default:
		req := &assessmentv1.CorrectAssessmentRequest{Assessment: as, UpdateMask: &fieldmaskpb.FieldMask{Paths: changed},
			Reason: reason, RequestId: rq.r.PostFormValue("request_id")}
		err = rq.edge.Post(ctx, name+":correct", nil, req, nil)
	}
	if refused(err) {
		return a.renderAssessment(rq, http.StatusBadRequest, as, "correct", reason, a.explain(rq.lang, err))
	} else if err != nil {
		return err
	}
	return redirect(rq, "/worker/"+name, "ok.plans.asmt.corrected")
}

// changedFields are the mask paths whose content differs, so the correction
// records exactly what was corrected.
func changedFields(cur, next *assessmentv1.Assessment) []string {
	var out []string
	needs := func(ns []*assessmentv1.Need) *assessmentv1.Assessment { return &assessmentv1.Assessment{Needs: ns} }
	same := map[string]bool{
		"client_words": cur.GetClientWords() == next.GetClientWords(),
		"needs":        proto.Equal(needs(cur.GetNeeds()), needs(next.GetNeeds())),
		"strengths":    strings.Join(cur.GetStrengths(), "\n") == strings.Join(next.GetStrengths(), "\n"),
		"summary":      cur.GetSummary() == next.GetSummary(),
		"assess_date":  proto.Equal(cur.GetAssessDate(), next.GetAssessDate()),
	}
	for _, f := range assessmentFields {
		if !same[f] {
			out = append(out, f)
		}
	}
	return out
}
