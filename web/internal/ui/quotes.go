package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/web/internal/edge"
	"github.com/polku-hb/polku/web/internal/session"
)

// Quote requests from the worker's side: ask a provider to price a tailored
// service, see the answers, accept or cancel, and price a plan draft's service
// from an accepted quote. The catalogue lets a worker read only the requests
// they made themself, and filters a list by state only, so the client's quotes page
// lists the worker's own requests (`providers/-`) and keeps this client's.

var (
	quoteOfferingRE     = regexp.MustCompile(`^providers/[A-Za-z0-9_-]+/offerings/[A-Za-z0-9_-]+$`)
	quoteNameRE         = regexp.MustCompile(`^providers/[A-Za-z0-9_-]+/quoteRequests/[A-Za-z0-9_-]+$`)
	quoteRevisionRE     = regexp.MustCompile(`^clients/([A-Za-z0-9_-]+)/plans/[A-Za-z0-9_-]+/revisions/[0-9]+$`)
	quoteMunicipalityRE = regexp.MustCompile(`^[0-9]{3}$`)
)

const (
	maxQuoteQuantity = 10000 // the catalogue's limit for a quote's quantity
	maxAnswerDays    = 84    // the catalogue refuses a due time beyond 90 days
	defaultAnswerDay = 7     // the catalogue's own default
)

var quoteZone = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Helsinki") // tzdata is embedded by package i18n
	if err != nil {
		panic(err)
	}
	return loc
}()

// quoteInput is the quote request form, kept to be shown again on an error.
type quoteInput struct {
	Offering, Revision, Need, Quantity, Unit, Start, AnswerBy, Municipality, Language, RequestID string
}

// quoteFormView is what quote_new.html renders.
type quoteFormView struct {
	ClientID string
	Client   *clientsv1.Client
	Offering *cataloguev1.Offering
	Provider *cataloguev1.Provider
	In       quoteInput
	Units    []string
	Langs    []string
	Back     string
	Today    string
	Errors   []string
}

// quoteForm asks for what a quote request needs (the need without personal
// data, an estimated amount, when the answer is needed).
func (a *app) quoteForm(rq *request) error {
	q := rq.r.URL.Query()
	in := quoteInput{Offering: q.Get("offering"), Revision: q.Get("revision"), AnswerBy: quoteDay(defaultAnswerDay),
		RequestID: session.RandomToken()}
	v, err := a.loadQuoteForm(rq, in)
	if err != nil {
		return err
	}
	if ls := v.Client.GetPreferredLanguages(); len(ls) > 0 {
		v.In.Language = ls[0]
	}
	if ps := v.Offering.GetPriceOptions(); len(ps) > 0 {
		v.In.Unit = ps[0].GetUnit().String()
	}
	return a.render(rq, "quote_new", rq.lang.T("quotes.new.title"), v)
}

// loadQuoteForm reads the client (the clients service checks the worker's
// relationship), the offering and its provider.
func (a *app) loadQuoteForm(rq *request, in quoteInput) (*quoteFormView, error) {
	ctx := rq.r.Context()
	id := rq.r.PathValue("id")
	if !quoteOfferingRE.MatchString(in.Offering) {
		return nil, quoteBadInput(rq.lang.T("quotes.offering.invalid"))
	}
	if !quoteRevisionOf(id, in.Revision) {
		in.Revision = ""
	}
	v := &quoteFormView{ClientID: id, Client: &clientsv1.Client{}, Offering: &cataloguev1.Offering{}, Provider: &cataloguev1.Provider{},
		In: in, Units: enumNames(cataloguev1.PriceUnit_name), Langs: []string{"fi", "sv", "en"}, Today: quoteDay(0)}
	if err := rq.edge.Get(ctx, "clients/"+id, nil, v.Client); err != nil {
		return nil, err
	}
	if err := rq.edge.Get(ctx, in.Offering, nil, v.Offering); err != nil {
		return nil, err
	}
	if err := rq.edge.Get(ctx, quoteProviderOf(in.Offering), nil, v.Provider); err != nil {
		return nil, err
	}
	v.Back = "/worker/clients/" + id + "/quotes"
	if in.Revision != "" {
		v.Back = "/worker/" + in.Revision
	}
	return v, nil
}

// createQuote sends the request; a refused form is shown again with what was
// typed and why.
func (a *app) createQuote(rq *request) error {
	f := rq.r.PostForm
	in := quoteInput{Offering: f.Get("offering"), Revision: f.Get("revision"), Need: strings.TrimSpace(f.Get("need")),
		Quantity: strings.TrimSpace(f.Get("quantity")), Unit: f.Get("unit"), Start: f.Get("start"), AnswerBy: f.Get("answer_by"),
		Municipality: strings.TrimSpace(f.Get("municipality")), Language: f.Get("language"), RequestID: f.Get("request_id")}
	v, err := a.loadQuoteForm(rq, in)
	if err != nil {
		return err
	}
	body, problems := quoteRequestBody(rq, v)
	if len(problems) == 0 {
		var qr cataloguev1.QuoteRequest
		err = rq.edge.Post(rq.r.Context(), quoteProviderOf(in.Offering)+"/quoteRequests", url.Values{"request_id": {in.RequestID}}, body, &qr)
		var e *edge.Error
		if err == nil {
			return redirect(rq, "/worker/clients/"+v.ClientID+"/quotes#"+quoteAnchor(qr.GetName()), "ok.quotes.created")
		} else if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
			return err
		}
		problems = []string{a.explain(rq.lang, err)}
	}
	v.Errors = problems
	rq.w.WriteHeader(http.StatusBadRequest)
	return a.render(rq, "quote_new", rq.lang.T("quotes.new.title"), v)
}

// quoteRequestBody checks the form and builds the API's QuoteRequest. The API
// has no quantity or unit for a request, so the estimate goes to the provider
// as the last line of the need description.
func quoteRequestBody(rq *request, v *quoteFormView) (map[string]any, []string) {
	in, l := v.In, rq.lang
	var problems []string
	if in.Need == "" {
		problems = append(problems, l.T("quotes.need.required"))
	}
	qty, err := strconv.Atoi(in.Quantity)
	if err != nil || qty < 1 || qty > maxQuoteQuantity {
		problems = append(problems, l.T("quotes.quantity.invalid", maxQuoteQuantity))
	}
	if _, ok := cataloguev1.PriceUnit_value[in.Unit]; !ok || in.Unit == "PRICE_UNIT_UNSPECIFIED" {
		problems = append(problems, l.T("quotes.unit.invalid"))
	}
	today := quoteDay(0)
	answer, err := time.ParseInLocation("2006-01-02", in.AnswerBy, quoteZone)
	if err != nil || in.AnswerBy <= today || in.AnswerBy > quoteDay(maxAnswerDays) {
		problems = append(problems, l.T("quotes.answer.invalid", maxAnswerDays))
	}
	var start time.Time
	if in.Start != "" {
		if start, err = time.Parse("2006-01-02", in.Start); err != nil || in.Start < today {
			problems = append(problems, l.T("quotes.start.invalid"))
		}
	}
	if in.Municipality != "" && !quoteMunicipalityRE.MatchString(in.Municipality) {
		problems = append(problems, l.T("quotes.municipality.invalid"))
	}
	if len(problems) > 0 {
		return nil, problems
	}
	need := in.Need + "\n\n" + l.T("quotes.estimate.line", qty, l.T("enum."+in.Unit))
	body := map[string]any{
		"offering": in.Offering, "client": "clients/" + v.ClientID, "need_description": need,
		"municipality": in.Municipality, "language": in.Language,
		// The provider answers by the end of that day in Helsinki.
		"response_due_time": answer.Add(24*time.Hour - time.Minute).UTC().Format(time.RFC3339),
	}
	if !start.IsZero() {
		body["desired_start_date"] = map[string]int{"year": start.Year(), "month": int(start.Month()), "day": start.Day()}
	}
	return body, nil
}

// quoteRow is one request on the client's quotes page.
type quoteRow struct {
	Q        *cataloguev1.QuoteRequest
	Anchor   string // the row's id on the page
	Title    string
	Provider string
	InDraft  string // the draft revision that is priced from this quote, if any
}

// quotesPage lists this client's quote requests made by the signed-in worker,
// newest first, with the open plan drafts an accepted quote can be added to.
func (a *app) quotesPage(rq *request) error {
	ctx := rq.r.Context()
	id := rq.r.PathValue("id")
	client := &clientsv1.Client{}
	if err := rq.edge.Get(ctx, "clients/"+id, nil, client); err != nil {
		return err
	}
	qrs, capped, err := workerQuotes(ctx, rq, "clients/"+id)
	if err != nil {
		return err
	}
	drafts, err := quoteDrafts(ctx, rq, id)
	if err != nil {
		return err
	}
	rows, err := quoteRows(ctx, rq, qrs, drafts)
	if err != nil {
		return err
	}
	return a.render(rq, "quotes", rq.lang.T("quotes.title", client.GetGivenName()+" "+client.GetFamilyName()), map[string]any{
		"ClientID": id, "Rows": rows, "Drafts": drafts, "RequestID": session.RandomToken(), "Bound": cappedNote(rq, capped),
	})
}

// workerQuotes reads the signed-in worker's requests for the client, whole
// (up to the bound): the catalogue lists a worker's own requests only.
func workerQuotes(ctx context.Context, rq *request, client string) ([]*cataloguev1.QuoteRequest, bool, error) {
	var all cataloguev1.ListQuoteRequestsResponse
	capped, err := readAll(ctx, rq, "providers/-/quoteRequests", url.Values{"filter": {`client = "` + client + `"`}}, &all)
	if err != nil {
		return nil, false, err
	}
	return all.GetQuoteRequests(), capped, nil
}

// quoteDrafts are the client's plan revisions that services can be added to.
func quoteDrafts(ctx context.Context, rq *request, id string) ([]*assessmentv1.PlanRevision, error) {
	var pl assessmentv1.ListPlansResponse
	// A client has a handful of plans; past the bound the page simply offers fewer drafts.
	if _, err := readAll(ctx, rq, "clients/"+id+"/plans", nil, &pl); err != nil {
		return nil, err
	}
	var out []*assessmentv1.PlanRevision
	for _, p := range pl.GetPlans() {
		lr := p.GetLatestRevision()
		if lr == "" || lr == p.GetActiveRevision() {
			continue
		}
		rev := &assessmentv1.PlanRevision{}
		if err := rq.edge.Get(ctx, lr, nil, rev); err != nil {
			return nil, err
		}
		if quoteDraftEditable(rev) {
			out = append(out, rev)
		}
	}
	return out, nil
}

func quoteDraftEditable(rev *assessmentv1.PlanRevision) bool {
	return rev.GetState() == assessmentv1.PlanRevision_DRAFT || rev.GetState() == assessmentv1.PlanRevision_RETURNED
}

// quoteRows names each request's offering and provider and finds the draft
// already priced from it.
func quoteRows(ctx context.Context, rq *request, qrs []*cataloguev1.QuoteRequest, drafts []*assessmentv1.PlanRevision) ([]quoteRow, error) {
	titles, providers := map[string]string{}, map[string]string{}
	rows := make([]quoteRow, 0, len(qrs))
	for _, q := range qrs {
		row := quoteRow{Q: q, Anchor: quoteAnchor(q.GetName())}
		if o := q.GetOffering(); o != "" {
			if _, ok := titles[o]; !ok {
				var off cataloguev1.Offering
				if err := rq.edge.Get(ctx, o, nil, &off); err != nil {
					return nil, err
				}
				titles[o] = localized(rq.lang, off.GetTitle())
			}
			row.Title = titles[o]
		}
		p := quoteProviderOf(q.GetName())
		if _, ok := providers[p]; !ok {
			var prov cataloguev1.Provider
			if err := rq.edge.Get(ctx, p, nil, &prov); err != nil {
				return nil, err
			}
			providers[p] = prov.GetDisplayName()
		}
		row.Provider = providers[p]
		for _, d := range drafts {
			if draftHasQuote(d, q.GetName()) {
				row.InDraft = d.GetName()
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func draftHasQuote(rev *assessmentv1.PlanRevision, quote string) bool {
	for _, s := range rev.GetServices() {
		if s.GetAcceptedQuote() == quote {
			return true
		}
	}
	return false
}

// quoteVerb accepts a quote or cancels a request, after checking that the
// request is this client's (the catalogue checks that it is the worker's).
func (a *app) quoteVerb(rq *request) error {
	id := rq.r.PathValue("id")
	f := rq.r.PostForm
	name := f.Get("name")
	body := map[string]any{"etag": f.Get("etag"), "request_id": f.Get("request_id")}
	var verb, ok string
	switch rq.r.PathValue("verb") {
	case "accept":
		verb, ok = ":accept", "ok.quotes.accepted"
	case "cancel":
		verb, ok, body["reason"] = ":cancel", "ok.quotes.cancelled", strings.TrimSpace(f.Get("reason"))
	default:
		return quoteBadInput("unknown action")
	}
	if err := quoteOfClient(rq, id, name); err != nil {
		return err
	}
	if err := rq.edge.Post(rq.r.Context(), name+verb, nil, body, nil); err != nil {
		return err
	}
	return redirect(rq, "/worker/clients/"+id+"/quotes#"+quoteAnchor(name), ok)
}

// quoteOfClient reads the request and refuses one of another client.
func quoteOfClient(rq *request, clientID, name string) error {
	if !quoteNameRE.MatchString(name) {
		return quoteBadInput(rq.lang.T("quotes.quote.invalid"))
	}
	var q cataloguev1.QuoteRequest
	if err := rq.edge.Get(rq.r.Context(), name, nil, &q); err != nil {
		return err
	}
	if q.GetClient() != "clients/"+clientID {
		return errForbidden
	}
	return nil
}

// addQuoteToDraft adds a chosen service priced from an accepted quote; the
// assessment service checks the quote is ACCEPTED and this client's, and
// prices it as the quote's quantity x unit price, once.
func (a *app) addQuoteToDraft(rq *request) error {
	ctx := rq.r.Context()
	name := revisionName(rq)
	quote := rq.r.PostFormValue("quote")
	if err := quoteOfClient(rq, rq.r.PathValue("id"), quote); err != nil {
		return err
	}
	var rev assessmentv1.PlanRevision
	if err := rq.edge.Get(ctx, name, nil, &rev); err != nil {
		return err
	}
	if draftHasQuote(&rev, quote) {
		return quoteBadInput(rq.lang.T("quotes.already.added"))
	}
	services := make([]*assessmentv1.ChosenService, 0, len(rev.GetServices())+1)
	for _, s := range rev.GetServices() {
		services = append(services, inputOnly(s))
	}
	services = append(services, &assessmentv1.ChosenService{Pricing: &assessmentv1.ChosenService_AcceptedQuote{AcceptedQuote: quote}})
	body := &assessmentv1.PlanRevision{Name: name, Etag: rev.GetEtag(), Services: services}
	if err := rq.edge.Patch(ctx, name, url.Values{"update_mask": {"services"}}, body, nil); err != nil {
		return err
	}
	return redirect(rq, "/worker/"+name, "ok.quotes.added")
}

func quoteBadInput(msg string) error { return fmt.Errorf("%w: %s", errBadInput, msg) }

// quoteRevisionOf: rev is empty or a plan revision of this client.
func quoteRevisionOf(clientID, rev string) bool {
	if rev == "" {
		return true
	}
	m := quoteRevisionRE.FindStringSubmatch(rev)
	return m != nil && m[1] == clientID
}

// quoteProviderOf is "providers/{p}" of a resource under a provider.
func quoteProviderOf(name string) string {
	parts := strings.SplitN(name, "/", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "/" + parts[1]
}

// quoteAnchor is the page anchor of a quote request (its id).
func quoteAnchor(name string) string { return "q-" + lastSegment(name) }

// quoteDay is the Helsinki calendar day n days from today, as a date input's value.
func quoteDay(n int) string { return time.Now().In(quoteZone).AddDate(0, 0, n).Format("2006-01-02") }
