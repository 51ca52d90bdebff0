package ui

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	"github.com/polku-hb/polku/web/internal/session"
)

// operatorHome is the catalogue operator's queue: registrations waiting for
// verification, offerings waiting for review (new ones and edits of published
// ones, price changes included), and every provider for the way in to one.
func (a *app) operatorHome(rq *request) error {
	ctx := rq.r.Context()
	// Whole lists: the operator works through every waiting item, and the
	// providers list names the offerings' providers.
	var pending, all cataloguev1.ListProvidersResponse
	capped, err := readAll(ctx, rq, "providers", url.Values{"filter": {"state = PENDING_VERIFICATION"}}, &pending)
	if err != nil {
		return err
	}
	cut, err := readAll(ctx, rq, "providers", nil, &all)
	if err != nil {
		return err
	}
	capped = capped || cut
	// The review queue, then what needs a look although nobody asked: live
	// offerings not confirmed for too long, and prices above a region's cap.
	lists := map[string]string{"Review": "state = PENDING_REVIEW", "Stale": "stale = true", "Capped": "price_capped = true"}
	data := map[string]any{"Pending": pending.GetProviders(), "Providers": all.GetProviders(), "RequestID": session.RandomToken(),
		"Flagged": []string{"Stale", "Capped"}}
	for key, filter := range lists {
		var offs cataloguev1.ListOfferingsResponse
		cut, err := readAll(ctx, rq, "providers/-/offerings", url.Values{"filter": {filter}}, &offs)
		if err != nil {
			return err
		}
		capped = capped || cut
		data[key] = reviewRows(offs.GetOfferings(), all.GetProviders())
	}
	data["Bound"] = cappedNote(rq, capped)
	return a.render(rq, "catalogue_operator", rq.lang.T("catalogue.op.title"), data)
}

// reviewRow is an offering in the review queue with its provider's name.
type reviewRow struct {
	O                    *cataloguev1.Offering
	ProviderID, Provider string
}

func reviewRows(offs []*cataloguev1.Offering, provs []*cataloguev1.Provider) []reviewRow {
	names := map[string]string{}
	for _, p := range provs {
		names[p.GetName()] = p.GetDisplayName()
	}
	rows := make([]reviewRow, 0, len(offs))
	for _, o := range offs {
		p := providerOfName(o.GetName())
		rows = append(rows, reviewRow{O: o, ProviderID: lastSegment(p), Provider: names[p]})
	}
	return rows
}

// providerOfName is "providers/{p}" of an offering's name.
func providerOfName(name string) string {
	parts := strings.SplitN(name, "/", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "/" + parts[1]
}

// operatorProvider is one provider for the operator: its data and state with
// verify / reject / suspend, its offerings, its API credentials and its
// change log.
func (a *app) operatorProvider(rq *request) error {
	id, err := cataloguePathID(rq, "id")
	if err != nil {
		return err
	}
	return a.renderOperatorProvider(rq, "providers/"+id, nil)
}

// renderOperatorProvider renders the provider page; issued is a credential
// just created, whose secret is shown this once.
func (a *app) renderOperatorProvider(rq *request, name string, issued *cataloguev1.ProviderCredential) error {
	ctx := rq.r.Context()
	var p cataloguev1.Provider
	if err := rq.edge.Get(ctx, name, nil, &p); err != nil {
		return err
	}
	var offs cataloguev1.ListOfferingsResponse
	capped, err := readAll(ctx, rq, name+"/offerings", nil, &offs)
	if err != nil {
		return err
	}
	var creds cataloguev1.ListProviderCredentialsResponse
	cut, err := readAll(ctx, rq, name+"/credentials", nil, &creds)
	if err != nil {
		return err
	}
	// The change log is a history, newest first: paged forward.
	var log cataloguev1.ListChangeLogEntriesResponse
	logPager, err := readPage(rq, "log", "h-log", rq.lang.T("catalogue.op.log"), name+"/changeLogEntries", nil, &log)
	if err != nil {
		return err
	}
	titles := map[string]string{} // the change log names offerings by resource name
	for _, o := range offs.GetOfferings() {
		titles[o.GetName()] = localized(rq.lang, o.GetTitle())
	}
	return a.render(rq, "catalogue_operator_provider", p.GetDisplayName(), map[string]any{
		"Provider": &p, "Offerings": offs.GetOfferings(), "Credentials": creds.GetProviderCredentials(), "Titles": titles,
		"Log": log.GetChangeLogEntries(), "LogPager": logPager, "Bound": cappedNote(rq, capped || cut), "Issued": issued, "RequestID": session.RandomToken(),
	})
}

// operatorProviderVerb is verify / reject / suspend of a provider; reject
// and suspend need a reason, which the provider is shown.
func (a *app) operatorProviderVerb(rq *request) error {
	id, err := cataloguePathID(rq, "id")
	if err != nil {
		return err
	}
	f := rq.r.PostForm
	name := "providers/" + id
	body := map[string]any{"etag": f.Get("etag"), "request_id": f.Get("request_id")}
	verb := rq.r.PathValue("verb")
	switch verb {
	case "verify":
	case "reject", "suspend":
		reason := strings.TrimSpace(f.Get("reason"))
		if reason == "" {
			return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("catalogue.err.reason"))
		}
		body["reason"] = reason
	default:
		return fmt.Errorf("%w: unknown action", errBadInput)
	}
	if err := rq.edge.Post(rq.r.Context(), name+":"+verb, nil, body, nil); err != nil {
		return err
	}
	return redirect(rq, localPath(catalogueBack(f.Get("back"), "/operator/providers/"+id)), "ok.catalogue.provider."+verb)
}

// catalogueBack is the form's way back when it names one, else def.
func catalogueBack(back, def string) string {
	if back == "" {
		return def
	}
	return back
}

// operatorIssueCredential issues an API credential for the provider's own
// system and shows its secret on the page this once: it is not stored here,
// not logged and not put in any URL.
func (a *app) operatorIssueCredential(rq *request) error {
	id, err := cataloguePathID(rq, "id")
	if err != nil {
		return err
	}
	label := strings.TrimSpace(rq.r.PostFormValue("display_name"))
	if label == "" {
		return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("catalogue.err.credential"))
	}
	body := map[string]any{"display_name": label}
	if d := strings.TrimSpace(rq.r.PostFormValue("expires")); d != "" {
		day, err := time.ParseInLocation("2006-01-02", d, catalogueZone)
		if err != nil {
			return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("catalogue.err.expires"))
		}
		// It works to the end of that day, Helsinki time.
		body["expire_time"] = day.AddDate(0, 0, 1).Add(-time.Second).UTC().Format(time.RFC3339)
	}
	name := "providers/" + id
	var c cataloguev1.ProviderCredential
	q := url.Values{"request_id": {rq.r.PostFormValue("request_id")}}
	if err := rq.edge.Post(rq.r.Context(), name+"/credentials", q, body, &c); err != nil {
		return err
	}
	return a.renderOperatorProvider(rq, name, &c)
}

// operatorRevokeCredential revokes one credential: new token exchanges stop
// at once.
func (a *app) operatorRevokeCredential(rq *request) error {
	id, err := cataloguePathID(rq, "id")
	if err != nil {
		return err
	}
	cred, err := cataloguePathID(rq, "cred")
	if err != nil {
		return err
	}
	body := map[string]any{"reason": strings.TrimSpace(rq.r.PostFormValue("reason")), "request_id": rq.r.PostFormValue("request_id")}
	if err := rq.edge.Post(rq.r.Context(), "providers/"+id+"/credentials/"+cred+":revoke", nil, body, nil); err != nil {
		return err
	}
	return redirect(rq, "/operator/providers/"+id, "ok.catalogue.credential.revoked")
}

// operatorOffering is one offering under review: the working copy the
// provider submitted next to the prices in force, with publish and reject.
func (a *app) operatorOffering(rq *request) error {
	ctx := rq.r.Context()
	name, err := operatorOfferingName(rq)
	if err != nil {
		return err
	}
	var o cataloguev1.Offering
	if err := rq.edge.Get(ctx, name, nil, &o); err != nil {
		return err
	}
	var p cataloguev1.Provider
	if err := rq.edge.Get(ctx, providerOfName(name), nil, &p); err != nil {
		return err
	}
	var inForce cataloguev1.PriceVersion
	if v := o.GetCurrentPriceVersion(); v != "" {
		if err := rq.edge.Get(ctx, v, nil, &inForce); err != nil {
			return err
		}
	}
	return a.render(rq, "catalogue_operator_offering", localized(rq.lang, o.GetTitle()), map[string]any{
		"Offering": &o, "Provider": &p, "InForce": inForce.GetPriceOptions(), "RequestID": session.RandomToken(),
	})
}

func operatorOfferingName(rq *request) (string, error) {
	p, err := cataloguePathID(rq, "provider")
	if err != nil {
		return "", err
	}
	o, err := cataloguePathID(rq, "id")
	if err != nil {
		return "", err
	}
	return "providers/" + p + "/offerings/" + o, nil
}

// operatorOfferingVerb publishes or rejects (with what to fix) an offering
// in review, or withdraws a published one.
func (a *app) operatorOfferingVerb(rq *request) error {
	name, err := operatorOfferingName(rq)
	if err != nil {
		return err
	}
	f := rq.r.PostForm
	// The etag of the reviewed page: what is published is exactly what was read.
	body := map[string]any{"etag": f.Get("etag"), "request_id": f.Get("request_id")}
	verb := rq.r.PathValue("verb")
	switch verb {
	case "publish":
	case "reject":
		reason := strings.TrimSpace(f.Get("reason"))
		if reason == "" {
			return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("catalogue.err.reason"))
		}
		body["reason"] = reason
	case "withdraw":
		body["reason"] = strings.TrimSpace(f.Get("reason"))
	default:
		return fmt.Errorf("%w: unknown action", errBadInput)
	}
	if err := rq.edge.Post(rq.r.Context(), name+":"+verb, nil, body, nil); err != nil {
		return err
	}
	return redirect(rq, "/operator", "ok.catalogue.offering."+verb)
}

// catalogueZone is where a date typed in the UI is a day.
var catalogueZone = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		panic(err) // i18n embeds the zone database
	}
	return loc
}()

// capRow is one price cap as the settings form shows it.
type capRow struct{ Category, Unit, Max string }

// operatorSettings shows a region's catalogue settings: how long an offering
// stays fresh without confirmation and the price caps per category and unit.
// The region is the operator's own, or the one asked for.
func (a *app) operatorSettings(rq *request) error {
	region := strings.TrimSpace(rq.r.URL.Query().Get("region"))
	if region == "" {
		region = rq.s.Region
	}
	data := map[string]any{"Region": region, "Categories": enumNames(cataloguev1.Category_name), "Units": enumNames(cataloguev1.PriceUnit_name)}
	if region == "" {
		return a.render(rq, "catalogue_operator_settings", rq.lang.T("catalogue.set.title"), data)
	}
	if !catalogueIDRE.MatchString(region) {
		return fmt.Errorf("%w: region", errBadInput)
	}
	var st cataloguev1.CatalogueSettings
	if err := rq.edge.Get(rq.r.Context(), "regions/"+region+"/catalogueSettings", nil, &st); err != nil {
		return err
	}
	var rows []capRow
	for _, c := range st.GetPriceCaps() {
		rows = append(rows, capRow{Category: c.GetCategory().String(), Unit: c.GetUnit().String(), Max: euroField(c.GetMaxAmountCents())})
	}
	data["Settings"], data["Caps"] = &st, append(rows, capRow{}, capRow{})
	data["Days"] = int(st.GetFreshnessPeriod().AsDuration().Hours() / 24)
	return a.render(rq, "catalogue_operator_settings", rq.lang.T("catalogue.set.title"), data)
}

// operatorSaveSettings saves the freshness period and the price caps; a cap
// row without an amount is left out (that is how a cap is removed).
func (a *app) operatorSaveSettings(rq *request) error {
	f := rq.r.PostForm
	region := f.Get("region")
	if !catalogueIDRE.MatchString(region) {
		return fmt.Errorf("%w: region", errBadInput)
	}
	days, err := strconv.Atoi(strings.TrimSpace(f.Get("days")))
	if err != nil || days < 1 || days > 5*365 {
		return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("catalogue.err.days"))
	}
	var caps []map[string]any
	cats, units, maxes := f["cap_category"], f["cap_unit"], f["cap_max"]
	for i := range maxes {
		if strings.TrimSpace(maxes[i]) == "" {
			continue
		}
		cents, err := parseEuros(maxes[i])
		if err != nil || i >= len(cats) || i >= len(units) || cataloguev1.Category_value[cats[i]] == 0 || cataloguev1.PriceUnit_value[units[i]] == 0 {
			return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("catalogue.err.cap", i+1))
		}
		caps = append(caps, map[string]any{"category": cats[i], "unit": units[i], "max_amount_cents": strconv.FormatInt(cents, 10)})
	}
	name := "regions/" + region + "/catalogueSettings"
	body := map[string]any{"name": name, "etag": f.Get("etag"), "freshness_period": strconv.Itoa(days*24*3600) + "s", "price_caps": caps}
	if err := rq.edge.Patch(rq.r.Context(), name, url.Values{"update_mask": {"freshness_period,price_caps"}}, body, nil); err != nil {
		return err
	}
	return redirect(rq, "/operator/settings?region="+url.QueryEscape(region), "ok.catalogue.settings")
}
