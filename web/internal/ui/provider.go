package ui

import (
	"fmt"
	"net/url"
	"strings"

	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
	"github.com/polku-hb/polku/web/internal/session"
)

// providerInbox lists the organisation's referrals, open ones first (the REST
// edge limits a PROVIDER caller to its own inbox).
func (a *app) providerInbox(rq *request) error {
	var open, done referralv1.ListReferralsResponse
	if err := rq.edge.Get(rq.r.Context(), "referrals", url.Values{"filter": {"open = true"}}, &open); err != nil {
		return err
	}
	if err := rq.edge.Get(rq.r.Context(), "referrals", url.Values{"filter": {"open = false"}, "page_size": {"20"}}, &done); err != nil {
		return err
	}
	sortUrgentFirst(open.Referrals)
	return a.render(rq, "provider", rq.lang.T("provider.title"), map[string]any{
		"Open": open.GetReferrals(), "Done": done.GetReferrals(), "RequestID": session.RandomToken(),
		"DeclineReasons": declineReasons(),
	})
}

func declineReasons() []string {
	var out []string
	for i := int32(1); ; i++ {
		n, ok := referralv1.DeclineReason_name[i]
		if !ok {
			return out
		}
		out = append(out, n)
	}
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
