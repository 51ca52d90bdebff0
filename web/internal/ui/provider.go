package ui

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
	"github.com/polku-hb/polku/web/internal/session"
)

// providerInbox lists the organisation's referrals, open ones first (the REST
// edge limits a PROVIDER caller to its own inbox). The open ones are read
// whole, to sort the most urgent first across the inbox; the handled ones
// are a history, paged forward.
func (a *app) providerInbox(rq *request) error {
	var open, done referralv1.ListReferralsResponse
	capped, err := readAll(rq.r.Context(), rq, "referrals", url.Values{"filter": {"open = true"}}, &open)
	if err != nil {
		return err
	}
	donePager, err := readPage(rq, "done", "h-done", rq.lang.T("provider.done"), "referrals", url.Values{"filter": {"open = false"}}, &done)
	if err != nil {
		return err
	}
	sortUrgentFirst(open.Referrals)
	return a.render(rq, "provider", rq.lang.T("provider.title"), map[string]any{
		"Open": open.GetReferrals(), "Done": done.GetReferrals(), "RequestID": session.RandomToken(),
		"OpenCapped": cappedNote(rq, capped), "DonePager": donePager,
		"DeclineReasons": enumNames(referralv1.DeclineReason_name),
	})
}

// providerVerb is accept / decline / start / complete on one referral.
func (a *app) providerVerb(rq *request) error {
	f := rq.r.PostForm
	name := "referrals/" + rq.r.PathValue("id")
	body := map[string]any{"request_id": f.Get("request_id"), "etag": f.Get("etag")}
	var ok string
	switch verb := rq.r.PathValue("verb"); verb {
	case "accept":
		who := strings.TrimSpace(f.Get("responsible"))
		if who == "" {
			return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("provider.responsible.required"))
		}
		body["receiving_responsible"] = map[string]any{"display_name": who, "subject": rq.s.Subject}
		ok = "ok.referral.accepted"
	case "decline":
		note := strings.TrimSpace(f.Get("note"))
		if note == "" || f.Get("reason") == "" {
			return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("provider.decline.required"))
		}
		body["reason"], body["note"] = f.Get("reason"), note
		ok = "ok.referral.declined"
	case "start":
		ok = "ok.referral.started"
	case "complete":
		outcome := map[string]any{"result": f.Get("result"), "service_delivered": f.Get("delivered") == "on",
			"note": strings.TrimSpace(f.Get("note")), "reason": strings.TrimSpace(f.Get("reason"))}
		body["outcome"] = outcome
		ok = "ok.referral.completed"
	default:
		return fmt.Errorf("%w: unknown action", errBadInput)
	}
	if err := rq.edge.Post(rq.r.Context(), name+":"+rq.r.PathValue("verb"), nil, body, nil); err != nil {
		return err
	}
	return redirect(rq, "/provider", ok)
}

// providerCatalogue: the organisation's offerings (state, capacity, prices)
// and the quote requests waiting for an answer.
func (a *app) providerCatalogue(rq *request) error {
	ctx := rq.r.Context()
	parent := "providers/" + rq.s.ProviderID
	// Both whole: they are the organisation's work list, and after a change
	// the page comes back here and must still show the one changed.
	var offs cataloguev1.ListOfferingsResponse
	offsCapped, err := readAll(ctx, rq, parent+"/offerings", nil, &offs)
	if err != nil {
		return err
	}
	var qrs cataloguev1.ListQuoteRequestsResponse
	qrsCapped, err := readAll(ctx, rq, parent+"/quoteRequests", nil, &qrs)
	if err != nil {
		return err
	}
	titles := map[string]string{}
	for _, o := range offs.GetOfferings() {
		titles[o.GetName()] = localized(rq.lang, o.GetTitle())
	}
	return a.render(rq, "provider_catalogue", rq.lang.T("pcat.title"), map[string]any{
		"Offerings": offs.GetOfferings(), "Quotes": qrs.GetQuoteRequests(), "Titles": titles, "RequestID": session.RandomToken(),
		"OfferingsCapped": cappedNote(rq, offsCapped), "QuotesCapped": cappedNote(rq, qrsCapped),
		"Capacities": []string{"CAPACITY_YES", "CAPACITY_WAITLIST", "CAPACITY_NO"},
		"Units":      enumNames(cataloguev1.PriceUnit_name),
	})
}

// enumNames lists an API enum's names in number order, without UNSPECIFIED.
func enumNames(m map[int32]string) []string {
	var out []string
	for i := int32(1); ; i++ {
		n, ok := m[i]
		if !ok {
			return out
		}
		out = append(out, n)
	}
}

// ownName checks that a resource name belongs to the signed-in provider
// before anything is sent (the edge checks it again).
func ownName(rq *request, name, kind string) error {
	parts := strings.Split(name, "/")
	if len(parts) != 4 || parts[0] != "providers" || parts[1] != rq.s.ProviderID || parts[2] != kind {
		return errForbidden
	}
	return nil
}

// offeringCapacity changes an offering's capacity (applies at once, no review).
func (a *app) offeringCapacity(rq *request) error {
	f := rq.r.PostForm
	name := f.Get("name")
	if err := ownName(rq, name, "offerings"); err != nil {
		return err
	}
	if _, ok := cataloguev1.Capacity_value[f.Get("capacity")]; !ok {
		return fmt.Errorf("%w: capacity", errBadInput)
	}
	etag := f.Get("etag")
	if etag == "" { // the catalogue's list answers carry no etags
		var off cataloguev1.Offering
		if err := rq.edge.Get(rq.r.Context(), name, nil, &off); err != nil {
			return err
		}
		etag = off.GetEtag()
	}
	body := map[string]any{"name": name, "etag": etag, "capacity": f.Get("capacity")}
	if err := rq.edge.Patch(rq.r.Context(), name, url.Values{"update_mask": {"capacity"}}, body, nil); err != nil {
		return err
	}
	return redirect(rq, "/provider/catalogue", "ok.capacity")
}

// offeringPrice changes one price option's amount; the edit of a published
// offering goes to the catalogue operator's review before it applies.
func (a *app) offeringPrice(rq *request) error {
	ctx := rq.r.Context()
	f := rq.r.PostForm
	name := f.Get("name")
	if err := ownName(rq, name, "offerings"); err != nil {
		return err
	}
	cents, err := parseEuros(f.Get("amount"))
	if err != nil || strings.TrimSpace(f.Get("amount")) == "" {
		return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("refnew.amount.invalid"))
	}
	var off cataloguev1.Offering
	if err := rq.edge.Get(ctx, name, nil, &off); err != nil {
		return err
	}
	found := false
	for _, p := range off.GetPriceOptions() {
		if p.GetId() == f.Get("option") {
			p.AmountCents, found = cents, true
		}
	}
	if !found {
		return fmt.Errorf("%w: price option", errBadInput)
	}
	body := &cataloguev1.Offering{Name: name, Etag: off.GetEtag(), PriceOptions: off.GetPriceOptions()}
	if err := rq.edge.Patch(ctx, name, url.Values{"update_mask": {"price_options"}}, body, nil); err != nil {
		return err
	}
	return redirect(rq, "/provider/catalogue", "ok.price")
}

// answerQuote submits a quote for a request, or declines it with a reason.
func (a *app) answerQuote(rq *request) error {
	f := rq.r.PostForm
	name := f.Get("name")
	if err := ownName(rq, name, "quoteRequests"); err != nil {
		return err
	}
	body := map[string]any{"etag": f.Get("etag"), "request_id": f.Get("request_id")}
	verb, ok := ":submitQuote", "ok.quote.sent"
	if f.Get("decline") != "" {
		reason := strings.TrimSpace(f.Get("reason"))
		if reason == "" {
			return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("pcat.reason.required"))
		}
		verb, ok, body["reason"] = ":decline", "ok.quote.declined", reason
	} else {
		qty, err := strconv.Atoi(f.Get("quantity"))
		cents, err2 := parseEuros(f.Get("unit_amount"))
		valid, err3 := time.Parse("2006-01-02", f.Get("valid_until"))
		if err != nil || err2 != nil || err3 != nil || qty < 1 || strings.TrimSpace(f.Get("description")) == "" {
			return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("pcat.quote.invalid"))
		}
		body["quote"] = map[string]any{
			"description": strings.TrimSpace(f.Get("description")), "unit": f.Get("unit"), "quantity": qty,
			"unit_amount_cents": strconv.FormatInt(cents, 10),
			"valid_until":       map[string]int{"year": valid.Year(), "month": int(valid.Month()), "day": valid.Day()},
		}
	}
	if err := rq.edge.Post(rq.r.Context(), name+verb, nil, body, nil); err != nil {
		return err
	}
	return redirect(rq, "/provider/catalogue", ok)
}

// registerForm lets a provider's staff register an organisation; it starts
// waiting for the region's verification.
func (a *app) registerForm(rq *request) error {
	return a.render(rq, "provider_register", rq.lang.T("preg.title"), map[string]any{
		"Kinds": enumNames(cataloguev1.ProviderKind_name), "RequestID": session.RandomToken(),
	})
}

func (a *app) registerProvider(rq *request) error {
	f := rq.r.PostForm
	name := strings.TrimSpace(f.Get("display_name"))
	if _, ok := cataloguev1.ProviderKind_value[f.Get("kind")]; !ok || name == "" {
		return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("preg.required"))
	}
	body := map[string]any{"display_name": name, "kind": f.Get("kind"), "business_id": strings.TrimSpace(f.Get("business_id")),
		"unregistered_group": f.Get("unregistered_group") == "on",
		"service_areas":      splitList(f.Get("service_areas")), "languages": splitList(f.Get("languages"))}
	var p cataloguev1.Provider
	if err := rq.edge.Post(rq.r.Context(), "providers", url.Values{"request_id": {f.Get("request_id")}}, body, &p); err != nil {
		return err
	}
	return a.render(rq, "provider_register", rq.lang.T("preg.title"), map[string]any{"Registered": &p})
}

// splitList reads "837, 536" or "fi sv" as a list.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' })
}
