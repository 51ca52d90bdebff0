package ui

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/web/internal/session"
)

// catalogueIDRE is what a resource id from a URL path may be before it is put into
// an edge path (no slashes, dots or escapes).
var catalogueIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// cataloguePathID is the path value key as a resource id, or a bad-input error.
func cataloguePathID(rq *request, key string) (string, error) {
	id := rq.r.PathValue(key)
	if !catalogueIDRE.MatchString(id) {
		return "", fmt.Errorf("%w: id", errBadInput)
	}
	return id, nil
}

// ownProvider is "providers/{p}" of the signed-in provider staff; a PROVIDER
// sign-in not bound to a provider has no offerings to manage.
func ownProvider(rq *request) (string, error) {
	if !catalogueIDRE.MatchString(rq.s.ProviderID) {
		return "", errForbidden
	}
	return "providers/" + rq.s.ProviderID, nil
}

// ownOffering is the signed-in provider's offering named in the path: the
// provider id comes from the session, never from the form.
func ownOffering(rq *request) (string, error) {
	p, err := ownProvider(rq)
	if err != nil {
		return "", err
	}
	id, err := cataloguePathID(rq, "id")
	if err != nil {
		return "", err
	}
	return p + "/offerings/" + id, nil
}

// offeringFormData is what the offering form's template needs besides the form.
func offeringFormData(f offeringForm, o *cataloguev1.Offering, action, errMsg string) map[string]any {
	return map[string]any{
		"Form": f, "Offering": o, "Action": action, "Err": errMsg, "RequestID": session.RandomToken(),
		"Categories": enumNames(cataloguev1.Category_name), "Modes": enumNames(cataloguev1.DeliveryMode_name),
		"Groups": enumNames(clientsv1.TargetGroup_name), "Capacities": []string{"CAPACITY_YES", "CAPACITY_WAITLIST", "CAPACITY_NO"},
		"Bands": enumNames(cataloguev1.WaitingBand_name), "Units": enumNames(cataloguev1.PriceUnit_name), "Notes": noteFields,
	}
}

// offeringNew is the empty form for a new offering (saved as a draft).
func (a *app) offeringNew(rq *request) error {
	if _, err := ownProvider(rq); err != nil {
		return err
	}
	return a.render(rq, "catalogue_offering", rq.lang.T("catalogue.new.title"),
		offeringFormData(newOfferingForm(), nil, "/provider/offerings", ""))
}

// formAgain shows a refused form again with what was typed and why.
func (a *app) formAgain(rq *request, f offeringForm, o *cataloguev1.Offering, action, title string, err error) error {
	rq.w.WriteHeader(statusOf(err))
	return a.render(rq, "catalogue_offering", title, offeringFormData(f, o, action, a.explain(rq.lang, err)))
}

// offeringCreate saves a new offering as a DRAFT of the signed-in provider.
func (a *app) offeringCreate(rq *request) error {
	parent, err := ownProvider(rq)
	if err != nil {
		return err
	}
	f := readOfferingForm(rq.r.PostForm)
	title := rq.lang.T("catalogue.new.title")
	o, err := f.offering(rq.lang)
	if err != nil {
		return a.formAgain(rq, f, nil, "/provider/offerings", title, err)
	}
	var made cataloguev1.Offering
	q := url.Values{"request_id": {rq.r.PostFormValue("request_id")}}
	if err := rq.edge.Post(rq.r.Context(), parent+"/offerings", q, o, &made); err != nil {
		return a.formAgain(rq, f, nil, "/provider/offerings", title, err)
	}
	return redirect(rq, "/provider/offerings/"+lastSegment(made.GetName()), "ok.catalogue.created")
}

// offeringPage shows one of the provider's offerings: its state, the
// operator's note, the actions its state allows and the edit form.
func (a *app) offeringPage(rq *request) error {
	name, err := ownOffering(rq)
	if err != nil {
		return err
	}
	var o cataloguev1.Offering
	if err := rq.edge.Get(rq.r.Context(), name, nil, &o); err != nil {
		return err
	}
	return a.render(rq, "catalogue_offering", localized(rq.lang, o.GetTitle()),
		offeringFormData(offeringFormOf(&o), &o, "/provider/offerings/"+lastSegment(name), ""))
}

// offeringUpdate sends only the fields that changed (see offeringChangedPaths).
func (a *app) offeringUpdate(rq *request) error {
	ctx := rq.r.Context()
	name, err := ownOffering(rq)
	if err != nil {
		return err
	}
	var cur cataloguev1.Offering
	if err := rq.edge.Get(ctx, name, nil, &cur); err != nil {
		return err
	}
	f := readOfferingForm(rq.r.PostForm)
	action, title := "/provider/offerings/"+lastSegment(name), localized(rq.lang, cur.GetTitle())
	o, err := f.offering(rq.lang)
	if err != nil {
		return a.formAgain(rq, f, &cur, action, title, err)
	}
	keepLabels(cur.GetPriceOptions(), o.GetPriceOptions())
	paths := offeringChangedPaths(&cur, o)
	if len(paths) == 0 {
		return redirect(rq, action, "ok.catalogue.unchanged")
	}
	// The etag of the page the provider edited: a change made meanwhile is
	// refused rather than overwritten.
	o.Name, o.Etag = name, rq.r.PostFormValue("etag")
	var got cataloguev1.Offering
	if err := rq.edge.Patch(ctx, name, url.Values{"update_mask": {strings.Join(paths, ",")}}, o, &got); err != nil {
		return a.formAgain(rq, f, &cur, action, title, err)
	}
	ok := "ok.catalogue.saved"
	if got.GetState() == cataloguev1.Offering_PENDING_REVIEW && cur.GetState() == cataloguev1.Offering_PUBLISHED {
		ok = "ok.catalogue.to.review"
	}
	return redirect(rq, action, ok)
}

// offeringVerb is submit / withdraw / confirm / delete on one offering.
func (a *app) offeringVerb(rq *request) error {
	ctx := rq.r.Context()
	name, err := ownOffering(rq)
	if err != nil {
		return err
	}
	f := rq.r.PostForm
	body := map[string]any{"etag": f.Get("etag"), "request_id": f.Get("request_id")}
	verb := rq.r.PathValue("verb")
	switch verb {
	case "delete":
		if err := rq.edge.Delete(ctx, name, url.Values{"etag": {f.Get("etag")}}); err != nil {
			return err
		}
		return redirect(rq, "/provider/catalogue", "ok.catalogue.deleted")
	case "withdraw":
		body["reason"] = strings.TrimSpace(f.Get("reason"))
	case "confirm":
		delete(body, "etag") // confirming has no etag: it changes no content
	case "submit":
	default:
		return fmt.Errorf("%w: unknown action", errBadInput)
	}
	if err := rq.edge.Post(ctx, name+":"+verb, nil, body, nil); err != nil {
		return err
	}
	return redirect(rq, "/provider/offerings/"+lastSegment(name), "ok.catalogue."+verb)
}

// providerCredentials lists the API credentials the region has issued to
// the signed-in provider (never with secrets: only the operator issues and
// revokes them).
func (a *app) providerCredentials(rq *request) error {
	parent, err := ownProvider(rq)
	if err != nil {
		return err
	}
	var creds cataloguev1.ListProviderCredentialsResponse
	capped, err := readAll(rq.r.Context(), rq, parent+"/credentials", nil, &creds)
	if err != nil {
		return err
	}
	return a.render(rq, "catalogue_credentials", rq.lang.T("catalogue.creds.title"),
		map[string]any{"Credentials": creds.GetProviderCredentials(), "Bound": cappedNote(rq, capped)})
}
