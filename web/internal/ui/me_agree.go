package ui

import (
	"fmt"
	"strings"

	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
)

// agreeable is a plan revision waiting for the client's agreement: proposed
// or approved, and nobody has recorded an agreement yet.
func agreeable(rev *assessmentv1.PlanRevision) bool {
	st := rev.GetState()
	return rev != nil && rev.GetAgreement() == nil &&
		(st == assessmentv1.PlanRevision_PROPOSED || st == assessmentv1.PlanRevision_APPROVED)
}

// pendingAgreement is a revision waiting for the client, with where the
// client's agreement is posted.
type pendingAgreement struct {
	Rev    *assessmentv1.PlanRevision
	Action string
}

// pendingAgreements are the client's plan revisions that wait for their
// agreement, for the own page.
func pendingAgreements(v *clientView) []pendingAgreement {
	var out []pendingAgreement
	for _, p := range v.Plans {
		if agreeable(p.Draft) {
			out = append(out, pendingAgreement{Rev: p.Draft,
				Action: "/me/plans/" + p.ID + "/revisions/" + lastSegment(p.Draft.GetName()) + "/agree"})
		}
	}
	return out
}

// agreeToPlan records the client's own agreement to a plan revision, online
// (AGREEMENT_METHOD_CLIENT_ONLINE: the assessment service takes it from the
// client themself only, so the route is for CLIENT). The etag the page showed
// is sent, so the client agrees to exactly the content they read.
func (a *app) agreeToPlan(rq *request) error {
	id, err := ownClient(rq)
	if err != nil {
		return err
	}
	if rq.r.PostFormValue("confirm") != "yes" {
		return fmt.Errorf("%w: %s", errBadInput, rq.lang.T("agree.confirm.required"))
	}
	name := "clients/" + id + "/plans/" + rq.r.PathValue("plan") + "/revisions/" + rq.r.PathValue("rev")
	var rev assessmentv1.PlanRevision
	if err := rq.edge.Post(rq.r.Context(), name+":recordAgreement", nil, map[string]any{
		"method": "AGREEMENT_METHOD_CLIENT_ONLINE", "note": strings.TrimSpace(rq.r.PostFormValue("note")),
		"etag": rq.r.PostFormValue("etag"), "request_id": rq.r.PostFormValue("request_id"),
	}, &rev); err != nil {
		return err
	}
	return redirect(rq, "/me#plan", "ok.agree.recorded")
}
