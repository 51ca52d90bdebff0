package ui

import (
	"net/url"
	"strconv"
	"time"

	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
)

// managerHome: escalated referrals of the region, then the cohort report
// (personal budget vs comparison) for a period as a table and a bar chart.
func (a *app) managerHome(rq *request) error {
	ctx := rq.r.Context()
	var esc referralv1.ListReferralsResponse
	if err := rq.edge.Get(ctx, "referrals", url.Values{"filter": {"open = true AND escalation_level >= 1"}}, &esc); err != nil {
		return err
	}
	year := time.Now().UTC().Year()
	if y, err := strconv.Atoi(rq.r.URL.Query().Get("year")); err == nil && y > 2000 && y < 2100 {
		year = y
	}
	var rep budgetv1.CohortReport
	q := url.Values{
		"start_date.year": {strconv.Itoa(year)}, "start_date.month": {"1"}, "start_date.day": {"1"},
		"end_date.year": {strconv.Itoa(year)}, "end_date.month": {"12"}, "end_date.day": {"31"},
	}
	if err := rq.edge.Get(ctx, "regions/"+rq.s.Region+"/cohortReport", q, &rep); err != nil {
		return err
	}
	var max int64
	for _, c := range rep.GetCohorts() {
		max = maxOf(max, c.GetMeanCostPerClientCents())
	}
	var bars []Bar
	for _, c := range rep.GetCohorts() {
		if !c.GetSuppressed() {
			bars = append(bars, Bar{Label: c.GetCohort().String(), Value: c.GetMeanCostPerClientCents(), Percent: percent(c.GetMeanCostPerClientCents(), max)})
		}
	}
	return a.render(rq, "manager", rq.lang.T("manager.title"), map[string]any{
		"Escalated": esc.GetReferrals(), "Report": &rep, "Bars": bars, "Year": year,
	})
}

func maxOf(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
