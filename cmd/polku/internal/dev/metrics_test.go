package dev

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrapeResult is one parsed GET /metrics.
type scrapeResult struct {
	body     string
	families map[string]*dto.MetricFamily
}

func scrape(t *testing.T, url string) scrapeResult {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d, %v", url, resp.StatusCode, err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return scrapeResult{body: string(body), families: fams}
}

// series are the points of one family whose labels include all of match.
func (r scrapeResult) series(family string, match map[string]string) []*dto.Metric {
	var out []*dto.Metric
	f := r.families[family]
	if f == nil {
		return nil
	}
	for _, m := range f.GetMetric() {
		if hasLabels(m, match) {
			out = append(out, m)
		}
	}
	return out
}

func hasLabels(m *dto.Metric, match map[string]string) bool {
	for k, v := range match {
		found := false
		for _, l := range m.GetLabel() {
			found = found || l.GetName() == k && l.GetValue() == v
		}
		if !found {
			return false
		}
	}
	return true
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// names are the series names a PromQL query can select: the family names, and
// for histograms their _bucket, _sum and _count series.
func (r scrapeResult) names() map[string]*dto.MetricFamily {
	out := map[string]*dto.MetricFamily{}
	for name, f := range r.families {
		out[name] = f
		if f.GetType() == dto.MetricType_HISTOGRAM {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				out[name+suffix] = f
			}
		}
	}
	return out
}

// rpcServerDuration finds the gRPC server latency histogram otelgrpc exports
// (its name depends on the semantic-convention version it follows).
func (r scrapeResult) rpcServerDuration(t *testing.T) string {
	t.Helper()
	for name, f := range r.families {
		if strings.HasPrefix(name, "rpc_server_") && strings.Contains(name, "duration") && f.GetType() == dto.MetricType_HISTOGRAM {
			return name
		}
	}
	t.Fatalf("no rpc_server_*duration* histogram among %v", keys(r.families))
	return ""
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// The all-in-one with metrics on runs the demo seeding, which sends, accepts,
// declines and escalates referrals; one scrape then shows the referral counters
// and histograms with provider_kind, every service's gRPC server latency under its
// own service_name, and no identifier of a person or a referral anywhere.
func TestMetricsEndpointShowsReferralFlowPerService(t *testing.T) {
	s, _, _ := startStack(t, Options{MetricsAddr: "127.0.0.1:0"})
	if s.MetricsURL == "" {
		t.Fatal("MetricsURL is empty with MetricsAddr set")
	}
	demo, err := SeedDemo(context.Background(), s)
	if err != nil {
		t.Fatalf("SeedDemo: %v", err)
	}
	r := scrape(t, s.MetricsURL)
	ref := map[string]string{"service_name": "polku-referral"}

	// Referral state changes by verb: the demo sends three referrals and redirects
	// one (a fourth send), the coach accepts one, the peer group declines one.
	byVerb := map[string]float64{}
	for _, m := range r.series("polku_referral_handoffs_total", ref) {
		kind := label(m, "provider_kind")
		if !strings.HasPrefix(kind, "PROVIDER_KIND_") || kind == "PROVIDER_KIND_UNSPECIFIED" {
			t.Errorf("handoff series %v: provider_kind %q; want the offering's kind", m.GetLabel(), kind)
		}
		byVerb[label(m, "verb")] += m.GetCounter().GetValue()
	}
	for verb, min := range map[string]float64{"send": 3, "accept": 1, "decline": 1} {
		if byVerb[verb] < min {
			t.Errorf("polku_referral_handoffs_total{verb=%q} = %v; want at least %v (all: %v)", verb, byVerb[verb], min, byVerb)
		}
	}
	if byVerb["accept"] > byVerb["send"] || byVerb["decline"] > byVerb["send"] {
		t.Errorf("more accepts or declines than sends: %v", byVerb)
	}

	// Escalations: the unanswered referral escalated to level 1 (and 2).
	var esc float64
	for _, m := range r.series("polku_referral_escalations_total", ref) {
		if l := label(m, "level"); l != "1" && l != "2" {
			t.Errorf("escalation level %q; want 1 or 2", l)
		}
		esc += m.GetCounter().GetValue()
	}
	if esc < 1 {
		t.Errorf("polku_referral_escalations_total = %v; want at least 1", esc)
	}

	// Time to accept: one accepted referral, by provider kind, a sane duration.
	acc := r.series("polku_referral_send_to_accept_duration_seconds", ref)
	if len(acc) != 1 {
		t.Fatalf("send_to_accept series = %d; want 1 (one provider kind accepted)", len(acc))
	}
	h := acc[0].GetHistogram()
	if h.GetSampleCount() != 1 || h.GetSampleSum() < 0 || h.GetSampleSum() > 3600 || label(acc[0], "provider_kind") == "" {
		t.Errorf("send_to_accept = count %d sum %vs kind %q; want one sample of 0..3600 s with a provider kind",
			h.GetSampleCount(), h.GetSampleSum(), label(acc[0], "provider_kind"))
	}
	if len(r.series("polku_referral_state_duration_seconds", ref)) == 0 {
		t.Error("no polku_referral_state_duration_seconds series")
	}

	// gRPC server latency of every service, each under its own service_name.
	rpc := r.rpcServerDuration(t)
	for _, svc := range []string{"polku-clients", "polku-assessment", "polku-budget", "polku-catalogue", "polku-referral"} {
		var n uint64
		for _, m := range r.series(rpc, map[string]string{"service_name": svc}) {
			n += m.GetHistogram().GetSampleCount()
		}
		if n == 0 {
			t.Errorf("%s{service_name=%q}: no calls recorded", rpc, svc)
		}
	}

	// No identifiers of people or referrals in metrics.
	for _, id := range []string{demo.Tiina, demo.Budget, demo.Plan} {
		if id = strings.TrimSpace(id[strings.LastIndex(id, "/")+1:]); id != "" && strings.Contains(r.body, id) {
			t.Errorf("the scrape contains the identifier %q", id)
		}
	}
	for _, word := range []string{"Tiina", "Aino", "010594Y"} {
		if strings.Contains(r.body, word) {
			t.Errorf("the scrape contains %q", word)
		}
	}

	checkDashboard(t, r)
}

// The Grafana dashboard may only query series the services really export: every
// metric its PromQL selects, and every label it matches or groups by, is checked
// against the scrape above.
func checkDashboard(t *testing.T, r scrapeResult) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "deploy", "grafana", "referral-flow.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("referral-flow.json: %v", err)
	}
	names := r.names()
	exprs := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs++
			used, err := promqlSelectors(tg.Expr)
			if err != nil {
				t.Errorf("panel %q: %v", p.Title, err)
				continue
			}
			if len(used) == 0 {
				t.Errorf("panel %q: %q selects no metric", p.Title, tg.Expr)
			}
			for metric, labels := range used {
				f := names[metric]
				if f == nil {
					t.Errorf("panel %q queries %s, which no service exports", p.Title, metric)
					continue
				}
				have := map[string]bool{}
				if f.GetType() == dto.MetricType_HISTOGRAM {
					have["le"] = true
				}
				for _, m := range f.GetMetric() {
					for _, l := range m.GetLabel() {
						have[l.GetName()] = true
					}
				}
				for _, l := range labels {
					if !have[l] {
						t.Errorf("panel %q uses label %s on %s, which has only %v", p.Title, l, metric, keys(have))
					}
				}
			}
		}
	}
	// Template variables read their values with label_values(metric, label).
	for _, v := range dash.Templating.List {
		q, _ := v.Query.(string)
		m := labelValuesRe.FindStringSubmatch(q)
		if m == nil {
			continue
		}
		f := names[m[1]]
		if f == nil || len(r.series(f.GetName(), nil)) == 0 || !slices.ContainsFunc(f.GetMetric(), func(s *dto.Metric) bool { return label(s, m[2]) != "" }) {
			t.Errorf("variable %s: %s has no label %s in the scrape", v.Name, m[1], m[2])
		}
	}
	if exprs < 6 {
		t.Errorf("dashboard has %d queries; want the referral rates, time to accept and gRPC panels", exprs)
	}
}

var (
	// A selector: metric name, then its matchers in braces.
	selectorRe = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}`)
	matcherRe  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)`)
	groupingRe = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	rangeRe    = regexp.MustCompile(`\[[^\]]*\]`)
	stringRe   = regexp.MustCompile(`"[^"]*"`)
	identRe    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	// labelValuesRe is a Grafana variable query.
	labelValuesRe = regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$`)
	// promqlWords are the functions and keywords the dashboard may use.
	promqlWords = []string{"sum", "rate", "increase", "histogram_quantile", "by", "without", "clamp_min", "or", "and", "vector", "max", "min", "avg"}
)

// promqlSelectors returns the metrics expr selects, each with the label names
// its matchers and the surrounding groupings use. The dashboard writes every
// selector as name{...}; a bare identifier that is not a known function or
// keyword is an error, so a metric cannot slip past the check unbraced.
func promqlSelectors(expr string) (map[string][]string, error) {
	out := map[string][]string{}
	var grouping []string
	for _, g := range groupingRe.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(g[1], ",") {
			if l = strings.TrimSpace(l); l != "" {
				grouping = append(grouping, l)
			}
		}
	}
	for _, m := range selectorRe.FindAllStringSubmatch(expr, -1) {
		var labels []string
		for _, mm := range matcherRe.FindAllStringSubmatch(stringRe.ReplaceAllString(m[2], `""`), -1) {
			labels = append(labels, mm[1])
		}
		out[m[1]] = append(append(out[m[1]], labels...), grouping...)
	}
	rest := selectorRe.ReplaceAllString(expr, " ")
	rest = groupingRe.ReplaceAllString(rest, " ")
	rest = rangeRe.ReplaceAllString(rest, " ")
	rest = stringRe.ReplaceAllString(rest, " ")
	for _, w := range identRe.FindAllString(rest, -1) {
		if !slices.Contains(promqlWords, w) {
			return nil, &promqlError{expr: expr, word: w}
		}
	}
	return out, nil
}

type promqlError struct{ expr, word string }

func (e *promqlError) Error() string {
	return "in " + e.expr + ": " + e.word + " is neither a known PromQL function nor a selector written name{...}"
}

func TestPromqlSelectors(t *testing.T) {
	for _, tc := range []struct {
		expr    string
		want    map[string][]string
		wantErr bool
	}{
		{`sum by (provider_kind) (rate(a_total{verb="send"}[5m])) * 60`, map[string][]string{"a_total": {"verb", "provider_kind"}}, false},
		{`histogram_quantile(0.9, sum by (le, s) (rate(h_bucket{x=~"a|b", y!="{z}"}[$__rate_interval])))`, map[string][]string{"h_bucket": {"x", "y", "le", "s"}}, false},
		{`a{} / clamp_min(b{c="d"}, 0.000001)`, map[string][]string{"a": nil, "b": {"c"}}, false},
		{`sum(rate(bare_total[5m]))`, nil, true},
	} {
		got, err := promqlSelectors(tc.expr)
		if (err != nil) != tc.wantErr {
			t.Errorf("promqlSelectors(%q) error = %v; want error %v", tc.expr, err, tc.wantErr)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("promqlSelectors(%q) = %v; want %v", tc.expr, got, tc.want)
		}
		for m, labels := range tc.want {
			if l, ok := got[m]; !ok || !slices.Equal(l, labels) {
				t.Errorf("promqlSelectors(%q)[%s] = %v; want %v", tc.expr, m, l, labels)
			}
		}
	}
}
