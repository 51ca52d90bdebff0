package ui

import (
	"fmt"
	"net/url"
	"slices"

	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/web/internal/session"
)

// mePage is the client's (or their assistant's) own page in plain language:
// plan and goals, budget in words and bars, referrals with who holds each and
// what happens next, who has read the data, and consent choices.
func (a *app) mePage(rq *request) error {
	ctx := rq.r.Context()
	id, err := ownClient(rq)
	if err != nil {
		return err
	}
	v, err := a.loadClient(ctx, rq, id, false)
	if err != nil {
		return err
	}
	// Forward: the access log is a history, newest first, and grows with
	// every read of the client's data.
	var al clientsv1.ListAccessLogEntriesResponse
	alPager, err := readPage(rq, "access", "access", rq.lang.T("me.access"), "clients/"+id+"/accessLogEntries", nil, &al)
	if err != nil {
		return err
	}
	return a.render(rq, "me", rq.lang.T("me.title"), map[string]any{
		"V": v, "Access": al.GetAccessLogEntries(), "AccessPager": alPager, "Clients": rq.s.ClientIDs, "RequestID": session.RandomToken(),
		"Categories": enumNames(clientsv1.DataCategory_name), "Granted": granted(v.Consents), "Pending": pendingAgreements(v),
	})
}

// ownClient is the client the page is about: the client themself, or for an
// assistant the one chosen (?client=) among those who delegated to them.
func ownClient(rq *request) (string, error) {
	ids := rq.s.ClientIDs
	if len(ids) == 0 {
		return "", errForbidden
	}
	if c := rq.r.FormValue("client"); c != "" {
		if !slices.Contains(ids, c) {
			return "", errForbidden
		}
		return c, nil
	}
	return ids[0], nil
}

// granted maps each category given to every provider the client is referred
// to ("providers/-") to its active consent's name.
func granted(cs []*clientsv1.Consent) map[string]string {
	m := map[string]string{}
	for _, c := range cs {
		if c.GetRecipient() == "providers/-" && c.GetState() == clientsv1.Consent_GRANTED {
			m[c.GetCategory().String()] = c.GetName()
		}
	}
	return m
}

func (a *app) grantConsent(rq *request) error {
	id, err := ownClient(rq)
	if err != nil {
		return err
	}
	cat := rq.r.PostFormValue("category")
	if _, ok := clientsv1.DataCategory_value[cat]; !ok {
		return fmt.Errorf("%w: category", errBadInput)
	}
	if err := rq.edge.Post(rq.r.Context(), "clients/"+id+"/consents", url.Values{"request_id": {rq.r.PostFormValue("request_id")}},
		map[string]any{"category": cat, "recipient": "providers/-"}, nil); err != nil {
		return err
	}
	return redirect(rq, "/me?client="+url.QueryEscape(id)+"#consents", "ok.consent.granted")
}

func (a *app) withdrawConsent(rq *request) error {
	id, err := ownClient(rq)
	if err != nil {
		return err
	}
	name := "clients/" + id + "/consents/" + rq.r.PathValue("consent")
	if err := rq.edge.Post(rq.r.Context(), name+":withdraw", nil, map[string]any{"request_id": rq.r.PostFormValue("request_id")}, nil); err != nil {
		return err
	}
	return redirect(rq, "/me?client="+url.QueryEscape(id)+"#consents", "ok.consent.withdrawn")
}
