// Package ui is the web UI's HTTP handlers and templates: a backend-for-frontend
// that renders pages from the REST edge's answers with the signed-in user's
// token and keeps nothing but the session cookie.
package ui

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/polku-hb/polku/web/internal/edge"
	"github.com/polku-hb/polku/web/internal/i18n"
	"github.com/polku-hb/polku/web/internal/session"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Person is a demo person offered on the development sign-in page.
type Person struct {
	Key        string // stable form value
	Label      string // shown on the sign-in page (demo people only; not personal data)
	Role       string
	Subject    string
	Region     string
	ClientIDs  []string
	ProviderID string
	// Token mints a fresh token for the person.
	Token func() (string, error)
}

// Options configure the handler.
type Options struct {
	Edge     *edge.Client
	Sessions *session.Store
	// People enables the development sign-in page when non-empty.
	People []Person
	// OIDC enables the production sign-in when non-nil.
	OIDC   *OIDC
	Logger *slog.Logger
	// Paging sets how lists are read from the edge (paging.go).
	Paging Paging
}

type app struct {
	Options
	pages map[string]*template.Template
}

// New returns the UI's handler.
func New(o Options) (http.Handler, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Paging = o.Paging.withDefaults()
	a := &app{Options: o, pages: map[string]*template.Template{}}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" || base == "partials" || base == "paging" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/paging.html", n)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", n, err)
		}
		a.pages[base] = t
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheFor(http.FileServerFS(static))))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.Handle("GET /{$}", a.page(a.home))
	mux.Handle("GET /signin", a.page(a.signinPage))
	mux.Handle("POST /signin/dev", a.page(a.signinDev))
	mux.Handle("POST /signout", a.page(a.signout))
	mux.Handle("POST /lang", a.page(a.setLang))
	if o.OIDC != nil {
		mux.Handle("GET /signin/oidc", a.page(a.oidcStart))
		mux.Handle("GET /signin/callback", a.page(a.oidcCallback))
	}

	worker := []string{"WORKER", "MANAGER"}
	mux.Handle("GET /worker", a.role(a.workerHome, worker...))
	mux.Handle("GET /worker/clients/{id}", a.role(a.clientPage, worker...))
	mux.Handle("POST /worker/clients/{id}/plans", a.role(a.createPlan, "WORKER"))
	mux.Handle("POST /worker/clients/{id}/plans/{plan}/revise", a.role(a.revisePlan, "WORKER"))
	mux.Handle("GET /worker/clients/{id}/plans/{plan}/revisions/{rev}", a.role(a.draftPage, worker...))
	mux.Handle("POST /worker/clients/{id}/plans/{plan}/revisions/{rev}/services", a.role(a.addService, "WORKER"))
	mux.Handle("POST /worker/clients/{id}/plans/{plan}/revisions/{rev}/propose", a.role(a.proposeRevision, "WORKER"))
	mux.Handle("GET /worker/clients/{id}/referrals/new", a.role(a.referralForm, "WORKER"))
	mux.Handle("POST /worker/clients/{id}/referrals", a.role(a.sendReferral, "WORKER"))

	// plans
	mux.Handle("GET /worker/clients/{id}/assessments/new", a.role(a.assessmentNew, "WORKER"))
	mux.Handle("POST /worker/clients/{id}/assessments", a.role(a.createAssessment, "WORKER"))
	mux.Handle("GET /worker/clients/{id}/assessments/{a}", a.role(a.assessmentPage, worker...))
	mux.Handle("POST /worker/clients/{id}/assessments/{a}", a.role(a.saveAssessment, "WORKER"))
	mux.Handle("POST /worker/clients/{id}/assessments/{a}/correct", a.role(a.correctAssessment, "WORKER"))
	mux.Handle("POST /worker/clients/{id}/plans/{plan}/revisions/{rev}/content", a.role(a.saveContent, "WORKER"))
	mux.Handle("POST /worker/clients/{id}/plans/{plan}/revisions/{rev}/services/{sid}", a.role(a.changeService, "WORKER"))
	mux.Handle("POST /worker/clients/{id}/plans/{plan}/revisions/{rev}/services/{sid}/remove", a.role(a.removeService, "WORKER"))
	mux.Handle("POST /worker/clients/{id}/plans/{plan}/revisions/{rev}/agreement", a.role(a.recordAgreement, "WORKER"))
	mux.Handle("POST /worker/clients/{id}/plans/{plan}/revisions/{rev}/activate", a.role(a.activateRevision, "WORKER"))
	mux.Handle("POST /manager/return", a.role(a.returnPlan, "MANAGER"))

	mux.Handle("GET /worker/clients/{id}/measurements/new", a.role(a.measurementForm, "WORKER"))
	mux.Handle("POST /worker/clients/{id}/measurements", a.role(a.createMeasurement, "WORKER"))
	// quotes
	mux.Handle("GET /worker/clients/{id}/quotes", a.role(a.quotesPage, "WORKER"))
	mux.Handle("GET /worker/clients/{id}/quotes/new", a.role(a.quoteForm, "WORKER"))
	mux.Handle("POST /worker/clients/{id}/quotes", a.role(a.createQuote, "WORKER"))
	mux.Handle("POST /worker/clients/{id}/quotes/{verb}", a.role(a.quoteVerb, "WORKER"))
	mux.Handle("POST /worker/clients/{id}/plans/{plan}/revisions/{rev}/quote", a.role(a.addQuoteToDraft, "WORKER"))

	mux.Handle("GET /manager", a.role(a.managerHome, "MANAGER"))
	mux.Handle("POST /manager/approve", a.role(a.approve, "MANAGER"))

	mux.Handle("GET /provider", a.role(a.providerInbox, "PROVIDER"))
	mux.Handle("POST /provider/referrals/{id}/{verb}", a.role(a.providerVerb, "PROVIDER"))
	mux.Handle("GET /provider/register", a.role(a.registerForm, "PROVIDER"))
	mux.Handle("POST /provider/register", a.role(a.registerProvider, "PROVIDER"))
	mux.Handle("GET /provider/catalogue", a.role(a.providerCatalogue, "PROVIDER"))
	mux.Handle("POST /provider/catalogue/capacity", a.role(a.offeringCapacity, "PROVIDER"))
	mux.Handle("POST /provider/catalogue/price", a.role(a.offeringPrice, "PROVIDER"))
	mux.Handle("POST /provider/catalogue/quote", a.role(a.answerQuote, "PROVIDER"))

	// catalogue
	mux.Handle("GET /provider/offerings/new", a.role(a.offeringNew, "PROVIDER"))
	mux.Handle("POST /provider/offerings", a.role(a.offeringCreate, "PROVIDER"))
	mux.Handle("GET /provider/offerings/{id}", a.role(a.offeringPage, "PROVIDER"))
	mux.Handle("POST /provider/offerings/{id}", a.role(a.offeringUpdate, "PROVIDER"))
	mux.Handle("POST /provider/offerings/{id}/{verb}", a.role(a.offeringVerb, "PROVIDER"))
	mux.Handle("GET /provider/credentials", a.role(a.providerCredentials, "PROVIDER"))
	mux.Handle("GET /operator", a.role(a.operatorHome, "OPERATOR"))
	mux.Handle("GET /operator/providers/{id}", a.role(a.operatorProvider, "OPERATOR"))
	mux.Handle("POST /operator/providers/{id}/{verb}", a.role(a.operatorProviderVerb, "OPERATOR"))
	mux.Handle("POST /operator/providers/{id}/credentials", a.role(a.operatorIssueCredential, "OPERATOR"))
	mux.Handle("POST /operator/providers/{id}/credentials/{cred}/revoke", a.role(a.operatorRevokeCredential, "OPERATOR"))
	mux.Handle("GET /operator/settings", a.role(a.operatorSettings, "OPERATOR"))
	mux.Handle("POST /operator/settings", a.role(a.operatorSaveSettings, "OPERATOR"))
	mux.Handle("GET /operator/offerings/{provider}/{id}", a.role(a.operatorOffering, "OPERATOR"))
	mux.Handle("POST /operator/offerings/{provider}/{id}/{verb}", a.role(a.operatorOfferingVerb, "OPERATOR"))
	// budget
	mux.Handle("POST /worker/clients/{id}/budgets", a.role(a.createBudget, worker...))
	mux.Handle("GET /worker/clients/{id}/budgets/{budget}", a.role(a.budgetPage, worker...))
	mux.Handle("POST /worker/clients/{id}/budgets/{budget}", a.role(a.onBudgetPage(a.updateBudget), worker...))
	mux.Handle("POST /worker/clients/{id}/budgets/{budget}/{verb}", a.role(a.onBudgetPage(a.budgetVerb), worker...))
	mux.Handle("GET /provider/claims", a.role(a.claimsPage, "PROVIDER"))
	mux.Handle("POST /provider/claims", a.role(a.createClaim, "PROVIDER"))
	mux.Handle("POST /provider/claims/upload", a.uploadForm(a.role(a.uploadClaims, "PROVIDER")))

	mux.Handle("GET /me", a.role(a.mePage, "CLIENT", "ASSISTANT"))
	mux.Handle("POST /me/consents", a.role(a.grantConsent, "CLIENT", "ASSISTANT"))
	mux.Handle("POST /me/consents/{consent}/withdraw", a.role(a.withdrawConsent, "CLIENT", "ASSISTANT"))
	mux.Handle("POST /me/plans/{plan}/revisions/{rev}/agree", a.role(a.agreeToPlan, "CLIENT"))
	return securityHeaders(mux), nil
}

// request is one request's context for handlers.
type request struct {
	w    http.ResponseWriter
	r    *http.Request
	s    *session.Session
	lang i18n.Lang
	edge *edge.Caller
	// paging is how this request reads lists (Options.Paging).
	paging Paging
}

type handler func(*request) error

// page wraps a handler: loads the session, picks the language, checks CSRF on
// every POST, renders errors.
func (a *app) page(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := a.Sessions.Load(r)
		lang := i18n.FromAcceptLanguage(r.Header.Get("Accept-Language"))
		if s.Lang != "" {
			lang = i18n.Parse(s.Lang)
		}
		rq := &request{w: w, r: r, s: s, lang: lang, paging: a.Paging}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil || !s.CheckCSRF(r.PostFormValue("csrf")) {
				a.fail(rq, http.StatusForbidden, lang.T("err.csrf"))
				return
			}
		}
		if s.SignedIn() {
			rq.edge = a.Edge.As(s.Token, string(lang), purposeOf(s.Role))
		}
		if err := h(rq); err != nil {
			a.fail(rq, statusOf(err), a.explain(lang, err))
		}
	})
}

// role is page for signed-in users of the given roles.
func (a *app) role(h handler, roles ...string) http.Handler {
	return a.page(func(rq *request) error {
		if !rq.s.SignedIn() {
			http.Redirect(rq.w, rq.r, "/signin", http.StatusSeeOther)
			return nil
		}
		for _, r := range roles {
			if rq.s.Role == r {
				return h(rq)
			}
		}
		return errForbidden
	})
}

var errForbidden = errors.New("forbidden")

// purposeOf is what each role's reads are written to the client's access log
// as: the client sees who read their data and why.
func purposeOf(role string) string {
	switch role {
	case "WORKER":
		return "client work (Polku web)"
	case "MANAGER":
		return "approval and supervision (Polku web)"
	case "CLIENT", "ASSISTANT":
		return "own data (Polku web)"
	}
	return "Polku web"
}

func statusOf(err error) int {
	var e *edge.Error
	if errors.As(err, &e) {
		return e.Status
	}
	if errors.Is(err, errForbidden) {
		return http.StatusForbidden
	}
	if errors.Is(err, errBadInput) {
		return http.StatusBadRequest
	}
	if errors.Is(err, errOIDC) {
		return http.StatusUnauthorized
	}
	return http.StatusBadGateway
}

var errBadInput = errors.New("bad input")

// explain turns an error into words for the user. The edge's messages name
// fields and rules only (never personal data), so they may be shown.
func (a *app) explain(l i18n.Lang, err error) string {
	var e *edge.Error
	switch {
	case errors.As(err, &e):
		switch e.Status {
		case http.StatusUnauthorized:
			return l.T("err.signin")
		case http.StatusForbidden:
			return l.T("err.forbidden")
		case http.StatusNotFound:
			return l.T("err.notfound")
		case http.StatusConflict:
			return l.T("err.conflict") + " (" + e.Message + ")"
		}
		msg := l.T("err.rejected") + " " + e.Message
		return msg
	case errors.Is(err, errForbidden):
		return l.T("err.forbidden")
	case errors.Is(err, errOIDC):
		a.Logger.Warn("sign-in failed", "err", err) // names the failed check, never a token
		return l.T("err.oidc")
	case errors.Is(err, errBadInput):
		return l.T("err.input") + " " + strings.TrimPrefix(err.Error(), errBadInput.Error()+": ")
	}
	a.Logger.Error("web request failed", "err", err)
	return l.T("err.unavailable")
}

func (a *app) fail(rq *request, status int, msg string) {
	rq.w.WriteHeader(status)
	a.renderStatus(rq, "error", rq.lang.T("err.title"), map[string]any{"Message": msg})
}

// Page is what every template gets.
type Page struct {
	L     i18n.Lang
	Langs []i18n.Lang
	S     *session.Session
	Title string
	Path  string // the current path, for the language switcher's way back
	Flash string
	Data  any
}

func (a *app) render(rq *request, name, title string, data any) error {
	a.renderStatus(rq, name, title, data)
	return nil
}

func (a *app) renderStatus(rq *request, name, title string, data any) {
	t, ok := a.pages[name]
	if !ok {
		http.Error(rq.w, "no such page", http.StatusInternalServerError)
		return
	}
	p := Page{L: rq.lang, Langs: i18n.Langs, S: rq.s, Title: title, Path: rq.r.URL.RequestURI(), Data: data}
	if k := rq.r.URL.Query().Get("ok"); k != "" && strings.HasPrefix(k, "ok.") {
		p.Flash = rq.lang.T(k)
	}
	// A fresh anonymous session needs its cookie so the CSRF token survives.
	if err := a.Sessions.Save(rq.w, rq.s); err != nil {
		a.Logger.Error("session save", "err", err)
	}
	rq.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := t.Execute(rq.w, p); err != nil {
		a.Logger.Error("template", "page", name, "err", err)
	}
}

// redirect sends the browser on after a POST (post/redirect/get).
func redirect(rq *request, path, ok string) error {
	http.Redirect(rq.w, rq.r, withFlash(path, ok), http.StatusSeeOther)
	return nil
}

// withFlash adds the ok= message key to path's query, before any #fragment.
func withFlash(path, ok string) string {
	if ok == "" {
		return path
	}
	p, frag, hasFrag := strings.Cut(path, "#")
	sep := "?"
	if strings.Contains(p, "?") {
		sep = "&"
	}
	p += sep + "ok=" + url.QueryEscape(ok)
	if hasFrag {
		p += "#" + frag
	}
	return p
}

// localPath keeps a "back" target on this site.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, "\\") {
		return "/"
	}
	return p
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "no-store") // pages carry personal data
		}
		h.ServeHTTP(w, r)
	})
}

func cacheFor(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

func (a *app) home(rq *request) error {
	if !rq.s.SignedIn() {
		http.Redirect(rq.w, rq.r, "/signin", http.StatusSeeOther)
		return nil
	}
	return redirect(rq, homeOf(rq.s.Role), "")
}

func homeOf(role string) string {
	switch role {
	case "WORKER":
		return "/worker"
	case "MANAGER":
		return "/manager"
	case "PROVIDER":
		return "/provider"
	case "CLIENT", "ASSISTANT":
		return "/me"
	case "OPERATOR":
		return "/operator"
	}
	return "/signin"
}

func (a *app) signinPage(rq *request) error {
	return a.render(rq, "signin", rq.lang.T("signin.title"), map[string]any{"People": a.People, "OIDC": a.OIDC != nil})
}

func (a *app) signinDev(rq *request) error {
	key := rq.r.PostFormValue("person")
	for _, p := range a.People {
		if p.Key != key {
			continue
		}
		tok, err := p.Token()
		if err != nil {
			return err
		}
		a.startSession(rq, tok, p.Role, p.Subject, p.Region, p.Label, p.ClientIDs, p.ProviderID, 12*time.Hour)
		return redirect(rq, homeOf(p.Role), "")
	}
	return fmt.Errorf("%w: no such demo person", errBadInput)
}

// startSession replaces the session (and its CSRF token) on sign-in, so a
// token planted before sign-in is worthless after it.
func (a *app) startSession(rq *request, tok, role, sub, region, display string, clients []string, provider string, ttl time.Duration) {
	lang := rq.s.Lang
	*rq.s = session.Session{Token: tok, Role: role, Subject: sub, Region: region, Display: display, ClientIDs: clients,
		ProviderID: provider, Lang: lang, CSRF: session.RandomToken(), Expires: time.Now().Add(ttl)}
	if err := a.Sessions.Save(rq.w, rq.s); err != nil {
		a.Logger.Error("session save", "err", err)
	}
}

// signout drops the token but keeps the chosen language.
func (a *app) signout(rq *request) error {
	if err := a.Sessions.Save(rq.w, a.Sessions.Anonymous(rq.s.Lang)); err != nil {
		return err
	}
	http.Redirect(rq.w, rq.r, "/signin", http.StatusSeeOther)
	return nil
}

func (a *app) setLang(rq *request) error {
	rq.s.Lang = string(i18n.Parse(rq.r.PostFormValue("lang")))
	if err := a.Sessions.Save(rq.w, rq.s); err != nil {
		return err
	}
	http.Redirect(rq.w, rq.r, localPath(rq.r.PostFormValue("back")), http.StatusSeeOther)
	return nil
}
