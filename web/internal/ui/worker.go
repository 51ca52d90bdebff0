package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
	"github.com/polku-hb/polku/web/internal/i18n"
	"github.com/polku-hb/polku/web/internal/session"
)

// workerHome: my clients (searchable), overdue reviews, then open referrals
// with the escalated ones first.
func (a *app) workerHome(rq *request) error {
	ctx := rq.r.Context()
	// Whole: the name search runs here over every client of the worker, and
	// the names label the overdue reviews and referrals below.
	var cl clientsv1.ListClientsResponse
	clientsCapped, err := readAll(ctx, rq, "clients", url.Values{"filter": {"state = ACTIVE"}}, &cl)
	if err != nil {
		return err
	}
	q := strings.TrimSpace(rq.r.URL.Query().Get("q"))
	clients := filterClients(cl.GetClients(), q)
	// Forward: the service orders them most overdue first.
	var od assessmentv1.ListOverdueReviewsResponse
	odPager, err := readPage(rq, "overdue", "h-overdue", rq.lang.T("worker.overdue"), "clients/-/plans:listOverdueReviews", nil, &od)
	if err != nil {
		return err
	}
	refs, refsCapped, err := openReferrals(ctx, rq, rq.s)
	if err != nil {
		return err
	}
	// Past the bound a referral's or review's client may be missing from
	// names; the templates then name the client by id.
	names := clientNames(cl.GetClients())
	rt, err := newRefTable(ctx, rq, refs, names)
	if err != nil {
		return err
	}
	return a.render(rq, "worker", rq.lang.T("worker.title"), map[string]any{
		"Query": q, "Clients": clients, "Overdue": od.GetOverdueReviews(), "Refs": rt, "Names": names,
		"ClientsCapped": cappedNote(rq, clientsCapped), "OverduePager": odPager, "RefsCapped": cappedNote(rq, refsCapped),
	})
}

// filterClients keeps clients whose name contains q (case-insensitive); the
// API has no name search on purpose (names are not indexed), so the worker's
// own list is filtered here.
func filterClients(in []*clientsv1.Client, q string) []*clientsv1.Client {
	if q == "" {
		return in
	}
	q = strings.ToLower(q)
	var out []*clientsv1.Client
	for _, c := range in {
		if strings.Contains(strings.ToLower(c.GetGivenName()+" "+c.GetFamilyName()), q) {
			out = append(out, c)
		}
	}
	return out
}

func clientNames(cs []*clientsv1.Client) map[string]string {
	m := map[string]string{}
	for _, c := range cs {
		m[c.GetName()] = c.GetGivenName() + " " + c.GetFamilyName()
	}
	return m
}

// openReferrals are the caller's open referrals, escalated first, then by due
// time: read whole, since the most urgent may be on any page of the edge's
// answer; capped says the bound cut the list.
func openReferrals(ctx context.Context, rq *request, s *session.Session) (refs []*referralv1.Referral, capped bool, err error) {
	var lr referralv1.ListReferralsResponse
	filter := "open = true"
	if s.Role == "WORKER" {
		filter += ` AND sender = "` + s.Subject + `"`
	}
	if capped, err = readAll(ctx, rq, "referrals", url.Values{"filter": {filter}}, &lr); err != nil {
		return nil, false, err
	}
	refs = lr.GetReferrals()
	sortUrgentFirst(refs)
	return refs, capped, nil
}

// clientView is everything the client page shows.
type clientView struct {
	ID          string
	Client      *clientsv1.Client
	Team        []*clientsv1.TeamMember
	Consents    []*clientsv1.Consent
	Timeline    []*clientsv1.TimelineEvent
	Assessments []*assessmentv1.Assessment
	Chart       *Chart
	Plans       []planView
	Budgets     []*budgetv1.Statement
	Panel       budgetPanel // budgets to open, plans to draw a budget from
	Referrals   []*referralv1.Referral
	Refs        refTable
	// TimelinePager pages the timeline; Capped is the notice when one of the
	// client's other lists (read whole) stopped at the bound.
	TimelinePager pager
	Capped        string
}

type planView struct {
	Plan   *assessmentv1.Plan
	Active *assessmentv1.PlanRevision
	Draft  *assessmentv1.PlanRevision // an open (editable) revision, if any
	ID     string
}

func (a *app) clientPage(rq *request) error {
	ctx := rq.r.Context()
	id := rq.r.PathValue("id")
	v, err := a.loadClient(ctx, rq, id, true)
	if err != nil {
		return err
	}
	return a.render(rq, "client", v.Client.GetGivenName()+" "+v.Client.GetFamilyName(), v)
}

// loadClient reads one client's whole page; worker=false leaves out what
// only the team sees (assessments' internals).
func (a *app) loadClient(ctx context.Context, rq *request, id string, worker bool) (*clientView, error) {
	parent := "clients/" + id
	v := &clientView{ID: id, Client: &clientsv1.Client{}}
	if err := rq.edge.Get(ctx, parent, nil, v.Client); err != nil {
		return nil, err
	}
	var tm clientsv1.ListTeamMembersResponse
	var cs clientsv1.ListConsentsResponse
	var tl clientsv1.ListTimelineEventsResponse
	var pl assessmentv1.ListPlansResponse
	var bl budgetv1.ListBudgetsResponse
	var rl referralv1.ListReferralsResponse
	var ms assessmentv1.ListCapacityMeasurementsResponse
	// The client's own lists are short and each is needed whole (the chart
	// plots every measurement, consents and budgets are looked up); the
	// timeline is a history, paged forward.
	calls := []struct {
		path string
		q    url.Values
		out  paged
	}{
		{parent + "/teamMembers", nil, &tm},
		{parent + "/consents", nil, &cs},
		{parent + "/plans", nil, &pl},
		{parent + "/budgets", nil, &bl},
		{"referrals", url.Values{"filter": {`client = "` + parent + `"`}}, &rl},
		{parent + "/capacityMeasurements", nil, &ms},
	}
	capped := false
	for _, c := range calls {
		cut, err := readAll(ctx, rq, c.path, c.q, c.out)
		if err != nil {
			return nil, err
		}
		capped = capped || cut
	}
	var err error
	if v.TimelinePager, err = readPage(rq, "timeline", "timeline", rq.lang.T("client.timeline"), parent+"/timelineEvents", nil, &tl); err != nil {
		return nil, err
	}
	v.Team, v.Consents, v.Timeline, v.Referrals = tm.GetTeamMembers(), cs.GetConsents(), tl.GetTimelineEvents(), rl.GetReferrals()
	if v.Refs, err = newRefTable(ctx, rq, v.Referrals, nil); err != nil {
		return nil, err
	}
	v.Chart = capacityChart(ms.GetCapacityMeasurements(), rq.lang)
	if worker {
		var as assessmentv1.ListAssessmentsResponse
		cut, err := readAll(ctx, rq, parent+"/assessments", nil, &as)
		if err != nil {
			return nil, err
		}
		v.Assessments, capped = as.GetAssessments(), capped || cut
	}
	for _, p := range pl.GetPlans() {
		pv := planView{Plan: p, ID: lastSegment(p.GetName())}
		if p.GetActiveRevision() != "" {
			pv.Active = &assessmentv1.PlanRevision{}
			if err := rq.edge.Get(ctx, p.GetActiveRevision(), nil, pv.Active); err != nil {
				return nil, err
			}
		}
		if lr := p.GetLatestRevision(); lr != "" && lr != p.GetActiveRevision() {
			rev := &assessmentv1.PlanRevision{}
			if err := rq.edge.Get(ctx, lr, nil, rev); err != nil {
				return nil, err
			}
			if open(rev.GetState()) {
				pv.Draft = rev
			}
		}
		v.Plans = append(v.Plans, pv)
	}
	for _, b := range bl.GetBudgets() {
		if b.GetState() != budgetv1.Budget_ACTIVE && b.GetState() != budgetv1.Budget_APPROVED {
			continue
		}
		st := &budgetv1.Statement{}
		if err := rq.edge.Get(ctx, b.GetName()+"/statement", nil, st); err != nil {
			return nil, err
		}
		v.Budgets = append(v.Budgets, st)
	}
	v.Capped = cappedNote(rq, capped)
	v.Panel = newBudgetPanel(v.Plans, bl.GetBudgets())
	return v, nil
}

func open(s assessmentv1.PlanRevision_State) bool {
	switch s {
	case assessmentv1.PlanRevision_DRAFT, assessmentv1.PlanRevision_RETURNED, assessmentv1.PlanRevision_PROPOSED, assessmentv1.PlanRevision_APPROVED:
		return true
	}
	return false
}

func lastSegment(name string) string { return name[strings.LastIndex(name, "/")+1:] }

func (a *app) createPlan(rq *request) error {
	id := rq.r.PathValue("id")
	title := strings.TrimSpace(rq.r.PostFormValue("display_name"))
	if title == "" {
		return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("plan.title.required"))
	}
	var p assessmentv1.Plan
	if err := rq.edge.Post(rq.r.Context(), "clients/"+id+"/plans", url.Values{"request_id": {rq.r.PostFormValue("request_id")}},
		map[string]any{"display_name": title}, &p); err != nil {
		return err
	}
	return redirect(rq, "/worker/"+p.GetLatestRevision(), "ok.plan.created")
}

func (a *app) revisePlan(rq *request) error {
	id, plan := rq.r.PathValue("id"), rq.r.PathValue("plan")
	reason := strings.TrimSpace(rq.r.PostFormValue("reason"))
	if reason == "" {
		return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("plan.reason.required"))
	}
	var rev assessmentv1.PlanRevision
	if err := rq.edge.Post(rq.r.Context(), "clients/"+id+"/plans/"+plan+":revise", nil,
		map[string]any{"reason": reason, "request_id": rq.r.PostFormValue("request_id")}, &rev); err != nil {
		return err
	}
	return redirect(rq, "/worker/"+rev.GetName(), "ok.plan.revised")
}

// draftPage shows one plan revision with its chosen services and their cost,
// and (while editable) a catalogue search to add more.
func (a *app) draftPage(rq *request) error {
	ctx := rq.r.Context()
	name := revisionName(rq)
	var rev assessmentv1.PlanRevision
	if err := rq.edge.Get(ctx, name, nil, &rev); err != nil {
		return err
	}
	q := strings.TrimSpace(rq.r.URL.Query().Get("q"))
	var found []*cataloguev1.Offering
	var more pager
	if q != "" {
		// Forward: search results, best first, with the query kept in the links.
		var sr cataloguev1.SearchOfferingsResponse
		var err error
		if more, err = readPage(rq, "more", "h-add", rq.lang.T("draft.search"), "providers/-/offerings:search", url.Values{"query": {q}}, &sr); err != nil {
			return err
		}
		for _, r := range sr.GetResults() {
			found = append(found, r.GetOffering())
		}
	}
	return a.renderDraft(rq, http.StatusOK, &rev, q, found, more, "")
}

func revisionName(rq *request) string {
	return "clients/" + rq.r.PathValue("id") + "/plans/" + rq.r.PathValue("plan") + "/revisions/" + rq.r.PathValue("rev")
}

// addService adds one catalogue offering at one of its price options to the
// draft: the repeated field is replaced whole, so the existing services are
// sent back with their ids (which keeps their pinned prices).
func (a *app) addService(rq *request) error {
	ctx := rq.r.Context()
	name := revisionName(rq)
	f := rq.r.PostForm
	qty, freq, err := quantityAndFrequency(rq)
	if err != nil {
		return err
	}
	var rev assessmentv1.PlanRevision
	if err := rq.edge.Get(ctx, name, nil, &rev); err != nil {
		return err
	}
	services := make([]*assessmentv1.ChosenService, 0, len(rev.GetServices())+1)
	for _, s := range rev.GetServices() {
		services = append(services, inputOnly(s))
	}
	services = append(services, &assessmentv1.ChosenService{
		Pricing: &assessmentv1.ChosenService_PinnedPrice_{PinnedPrice: &assessmentv1.ChosenService_PinnedPrice{
			Offering: f.Get("offering"), PriceOptionId: f.Get("price_option"),
		}},
		Quantity: qty, Frequency: freq,
	})
	body := &assessmentv1.PlanRevision{Name: name, Etag: rev.GetEtag(), Services: services}
	if err := rq.edge.Patch(ctx, name, url.Values{"update_mask": {"services"}}, body, nil); err != nil {
		return err
	}
	return redirect(rq, "/worker/"+name, "ok.service.added")
}

// inputOnly drops a chosen service's output-only fields before it is sent back.
func inputOnly(s *assessmentv1.ChosenService) *assessmentv1.ChosenService {
	c := proto.Clone(s).(*assessmentv1.ChosenService)
	c.Title, c.Unit, c.UnitAmountCents, c.CostCents, c.YearlyCostCents = nil, 0, 0, 0, 0
	return c
}

func (a *app) proposeRevision(rq *request) error {
	name := revisionName(rq)
	if err := rq.edge.Post(rq.r.Context(), name+":propose", nil, map[string]any{"request_id": rq.r.PostFormValue("request_id")}, nil); err != nil {
		return err
	}
	return redirect(rq, "/worker/"+name, "ok.plan.proposed")
}

// referralForm offers the client's active budget lines (each is one offering
// with money for it) and any other live offering found by search.
func (a *app) referralForm(rq *request) error {
	ctx := rq.r.Context()
	id := rq.r.PathValue("id")
	v := &clientsv1.Client{}
	if err := rq.edge.Get(ctx, "clients/"+id, nil, v); err != nil {
		return err
	}
	// Whole: the active budget may be on any page.
	var bl budgetv1.ListBudgetsResponse
	capped, err := readAll(ctx, rq, "clients/"+id+"/budgets", nil, &bl)
	if err != nil {
		return err
	}
	type line struct {
		Budget string
		Line   *budgetv1.BudgetLine
	}
	var lines []line
	for _, b := range bl.GetBudgets() {
		if b.GetState() != budgetv1.Budget_ACTIVE {
			continue
		}
		for _, l := range b.GetLines() {
			if l.GetOffering() != "" {
				lines = append(lines, line{Budget: b.GetName(), Line: l})
			}
		}
	}
	return a.render(rq, "referral_new", rq.lang.T("refnew.title"), map[string]any{
		"ClientID": id, "Client": v, "Lines": lines, "RequestID": session.RandomToken(), "Capped": cappedNote(rq, capped),
	})
}

// sendReferral creates the referral (with a budget commitment when a budget
// line was chosen) and sends it in one step from the worker's point of view.
func (a *app) sendReferral(rq *request) error {
	ctx := rq.r.Context()
	id := rq.r.PathValue("id")
	f := rq.r.PostForm
	// choice is "budget|line|offering" from the budget lines list.
	parts := strings.SplitN(f.Get("choice"), "|", 3)
	if len(parts) != 3 || parts[2] == "" {
		return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("refnew.choice.required"))
	}
	cents, err := parseEuros(f.Get("amount"))
	if err != nil {
		return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("refnew.amount.invalid"))
	}
	note := strings.TrimSpace(f.Get("note"))
	unit := strings.TrimSpace(f.Get("sending_unit"))
	if unit == "" {
		return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("refnew.unit.required"))
	}
	ref := map[string]any{
		"client": "clients/" + id, "sending_unit": unit, "recipient_offering": parts[2], "request_note": note,
		"urgency":             f.Get("urgency"),
		"sending_responsible": map[string]any{"subject": rq.s.Subject, "display_name": rq.s.Display},
	}
	if cents > 0 && parts[0] != "" {
		ref["commitment"] = map[string]any{"budget": parts[0], "line_id": parts[1], "amount_cents": strconv.FormatInt(cents, 10)}
	}
	reqID := f.Get("request_id")
	var r referralv1.Referral
	if err := rq.edge.Post(ctx, "referrals", url.Values{"request_id": {reqID}}, ref, &r); err != nil {
		return err
	}
	if r.GetState() == referralv1.Referral_DRAFT {
		if err := rq.edge.Post(ctx, r.GetName()+":send", nil, map[string]any{
			"request_id": reqID + "-send", "acknowledge_no_capacity": f.Get("ack_capacity") == "on",
		}, nil); err != nil {
			return err
		}
	}
	return redirect(rq, "/worker/clients/"+id+"#referrals", "ok.referral.sent")
}

// parseEuros reads "1080", "1080,50", "1 080.5" as cents; empty is 0.
func parseEuros(s string) (int64, error) {
	s = strings.NewReplacer(" ", "", "\u00a0", "", "€", "").Replace(strings.TrimSpace(s))
	if s == "" {
		return 0, nil
	}
	s = strings.Replace(s, ",", ".", 1)
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 || whole == "" {
		return 0, fmt.Errorf("bad amount %q", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w < 0 || w > 100_000_000 {
		return 0, fmt.Errorf("bad amount %q", s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	c, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad amount %q", s)
	}
	return w*100 + c, nil
}

// refTable is the data of the "referrals" partial.
type refTable struct {
	L      i18n.Lang
	Refs   []*referralv1.Referral
	Names  map[string]string // client name by resource name; nil hides the column
	Titles map[string]string // offering title by resource name
}

// newRefTable resolves the offerings' titles (a referral carries only the
// offering's resource name).
func newRefTable(ctx context.Context, rq *request, refs []*referralv1.Referral, names map[string]string) (refTable, error) {
	t := refTable{L: rq.lang, Refs: refs, Names: names, Titles: map[string]string{}}
	for _, r := range refs {
		o := r.GetRecipientOffering()
		if _, ok := t.Titles[o]; ok || o == "" {
			continue
		}
		var off cataloguev1.Offering
		if err := rq.edge.Get(ctx, o, nil, &off); err != nil {
			return t, err
		}
		t.Titles[o] = localized(rq.lang, off.GetTitle())
	}
	return t, nil
}

// sortUrgentFirst orders referrals escalated first (highest level first), then
// by the nearest deadline; those without a deadline last.
func sortUrgentFirst(refs []*referralv1.Referral) {
	sort.SliceStable(refs, func(i, j int) bool {
		a, b := refs[i], refs[j]
		if a.GetEscalationLevel() != b.GetEscalationLevel() {
			return a.GetEscalationLevel() > b.GetEscalationLevel()
		}
		if (a.GetDueTime() == nil) != (b.GetDueTime() == nil) {
			return a.GetDueTime() != nil
		}
		return a.GetDueTime().AsTime().Before(b.GetDueTime().AsTime())
	})
}
