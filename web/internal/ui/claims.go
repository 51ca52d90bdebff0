package ui

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	"github.com/polku-hb/polku/web/internal/edge"
	"github.com/polku-hb/polku/web/internal/i18n"
	"github.com/polku-hb/polku/web/internal/session"
)

func init() {
	// euroInput pre-fills a euro field in the form parseEuros reads back.
	funcs["euroInput"] = func(l i18n.Lang, cents int64) string {
		return strings.Replace(fmt.Sprintf("%d.%02d", cents/100, cents%100), ".", decimalSep(l), 1)
	}
}

// maxClaimsCSV keeps an upload within the gateway's 1 MiB body once it is
// base64-encoded into the JSON request (4/3 of the file, plus the fields).
const maxClaimsCSV = 700 << 10

// claimsView is the provider's claims page: the commitments to invoice
// against, the claims made, and the outcome of the last send or upload.
type claimsView struct {
	Open      []*budgetv1.ProviderCommitment
	Closed    []*budgetv1.ProviderCommitment
	Claims    []*budgetv1.Claim
	Form      claimForm // a refused claim's values, kept for correction
	Error     string    // why the last claim or upload was refused
	Upload    *budgetv1.UploadClaimsResponse
	Validated bool // the upload was only checked
	Today     string
	RequestID string
	Bound     string // the commitments list stopped at the bound
	More      pager  // the claims sent, a page at a time
}

// claimForm is one claim as typed: kept as text so a refused form comes
// back exactly as it was sent.
type claimForm struct {
	Referral, Invoice, Date, Quantity, Price string
}

func (a *app) claimsPage(rq *request) error {
	return a.renderClaims(rq, &claimsView{}, http.StatusOK)
}

// renderClaims loads the provider's commitments and claims around v.
func (a *app) renderClaims(rq *request, v *claimsView, status int) error {
	ctx := rq.r.Context()
	parent := "providers/" + rq.s.ProviderID
	// Whole: every open commitment can be invoiced.
	var cm budgetv1.ListProviderCommitmentsResponse
	capped, err := readAll(ctx, rq, parent+"/commitments", nil, &cm)
	if err != nil {
		return err
	}
	v.Bound = cappedNote(rq, capped)
	for _, c := range cm.GetProviderCommitments() {
		if c.GetState() == budgetv1.ProviderCommitment_OPEN {
			v.Open = append(v.Open, c)
		} else {
			v.Closed = append(v.Closed, c)
		}
	}
	// The claims sent are a history: paged forward.
	var cl budgetv1.ListClaimsResponse
	if v.More, err = readPage(rq, "claims", "h-clist", rq.lang.T("claims.list"), parent+"/claims", nil, &cl); err != nil {
		return err
	}
	v.Claims = cl.GetClaims()
	v.Today = time.Now().In(claimsZone).Format("2006-01-02")
	v.RequestID = session.RandomToken()
	rq.w.WriteHeader(status)
	return a.render(rq, "provider_claims", rq.lang.T("claims.title"), v)
}

var claimsZone = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		return time.UTC
	}
	return loc
}()

// createClaim sends one invoice against a commitment. A refusal (bad
// amount, duplicate invoice number, more than is left, ...) comes back on
// the same page with the edge's reason and the form as it was typed.
func (a *app) createClaim(rq *request) error {
	f := rq.r.PostForm
	form := claimForm{Referral: f.Get("referral"), Invoice: strings.TrimSpace(f.Get("invoice_number")),
		Date: f.Get("delivery_date"), Quantity: strings.TrimSpace(f.Get("quantity")), Price: strings.TrimSpace(f.Get("unit_price"))}
	refuse := func(msg string, status int) error {
		return a.renderClaims(rq, &claimsView{Form: form, Error: msg}, status)
	}
	if !strings.HasPrefix(form.Referral, "referrals/") {
		return fmt.Errorf("%w: referral", errBadInput)
	}
	claim, problem := claimBody(rq.lang, form, f.Get("unit"))
	if problem != "" {
		return refuse(problem, http.StatusBadRequest)
	}
	err := rq.edge.Post(rq.r.Context(), "providers/"+rq.s.ProviderID+"/claims", url.Values{"request_id": {f.Get("request_id")}}, claim, nil)
	var e *edge.Error
	if errors.As(err, &e) && e.Status != http.StatusUnauthorized && e.Status != http.StatusForbidden {
		return refuse(refusal(rq.lang, e), e.Status)
	}
	if err != nil {
		return err
	}
	return redirect(rq, "/provider/claims", "ok.claims.sent")
}

// claimBody checks the form's fields the edge cannot name in the user's
// words (a euro amount, a date, a count) and builds the Claim.
func claimBody(l i18n.Lang, form claimForm, unit string) (map[string]any, string) {
	var problems []string
	if form.Invoice == "" {
		problems = append(problems, l.T("claims.invoice.required"))
	}
	d, err := time.Parse("2006-01-02", form.Date)
	if err != nil {
		problems = append(problems, l.T("claims.date.invalid"))
	}
	qty, err := strconv.Atoi(form.Quantity)
	if err != nil || qty < 1 || qty > 10000 {
		problems = append(problems, l.T("claims.quantity.invalid"))
	}
	cents, err := parseEuros(form.Price)
	if err != nil || cents <= 0 {
		problems = append(problems, l.T("claims.price.invalid"))
	}
	if len(problems) > 0 {
		return nil, l.T("err.input") + " " + strings.Join(problems, " ")
	}
	return map[string]any{
		"referral": form.Referral, "invoice_number": form.Invoice, "unit": unit, "quantity": qty,
		"unit_price_cents": strconv.FormatInt(cents, 10),
		"delivery_date":    map[string]int{"year": d.Year(), "month": int(d.Month()), "day": d.Day()},
	}, ""
}

// refusal says why the budget service refused a claim or a file: the
// reason in plain words when it is a known one, and the edge's message,
// which names the field and rule.
func refusal(l i18n.Lang, e *edge.Error) string {
	key := "claims.reason.CLAIM_REFUSAL_REASON_" + e.Reason
	if e.Reason == "" || l.T(key) == key {
		return l.T("err.rejected") + " " + e.Message
	}
	return l.T(key) + " (" + e.Message + ")"
}

// uploadClaims sends a CSV file of claims; the page then shows each row's
// outcome.
func (a *app) uploadClaims(rq *request) error {
	file, _, err := rq.r.FormFile("csv")
	if err != nil {
		return a.renderClaims(rq, &claimsView{Error: rq.lang.T("claims.file.required")}, http.StatusBadRequest)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxClaimsCSV+1))
	if err != nil {
		return err
	}
	if len(data) > maxClaimsCSV {
		return a.renderClaims(rq, &claimsView{Error: rq.lang.T("claims.file.toolarge", maxClaimsCSV>>10)}, http.StatusRequestEntityTooLarge)
	}
	validate := rq.r.PostFormValue("validate_only") == "on"
	body := map[string]any{"csv_data": data, "validate_only": validate, "request_id": rq.r.PostFormValue("request_id")}
	var res budgetv1.UploadClaimsResponse
	err = rq.edge.Post(rq.r.Context(), "providers/"+rq.s.ProviderID+"/claims:upload", nil, body, &res)
	var e *edge.Error
	if errors.As(err, &e) && e.Status == http.StatusBadRequest {
		return a.renderClaims(rq, &claimsView{Error: refusal(rq.lang, e)}, e.Status)
	}
	if err != nil {
		return err
	}
	return a.renderClaims(rq, &claimsView{Upload: &res, Validated: validate}, http.StatusOK)
}

// uploadForm parses a multipart upload before the page's CSRF check (which
// reads only url-encoded bodies), with a limit sized for one CSV file. A
// body over the limit gets the error page in the user's language; a form
// that is not multipart goes on to be refused for its missing file.
func (a *app) uploadForm(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxClaimsCSV+64<<10)
		if err := r.ParseMultipartForm(maxClaimsCSV + 64<<10); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			s := a.Sessions.Load(r)
			lang := i18n.FromAcceptLanguage(r.Header.Get("Accept-Language"))
			if s.Lang != "" {
				lang = i18n.Parse(s.Lang)
			}
			a.fail(&request{w: w, r: r, s: s, lang: lang}, http.StatusRequestEntityTooLarge, lang.T("claims.file.toolarge", maxClaimsCSV>>10))
			return
		}
		next.ServeHTTP(w, r)
	})
}
