package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// PrintTable writes the report as plain tables, one per store.
func PrintTable(w io.Writer, rep *Report) error {
	var b strings.Builder
	m := rep.Machine
	fmt.Fprintf(&b, "\nPolku bench  %s  commit %s  %d cores (GOMAXPROCS %d)  %s  load at start %s\n",
		rep.Time.Format("2006-01-02 15:04 UTC"), m.Commit, m.Cores, m.GOMAXPROCS, m.GoVersion, m.Load1)
	fmt.Fprintf(&b, "concurrency %d, %.1f s per scenario, %d sends\n", rep.Plan.Concurrency, rep.Plan.DurationS, rep.Plan.Sends)
	for _, r := range rep.Runs {
		v := r.Volume
		fmt.Fprintf(&b, "\n== %s store: %d clients, %d offerings, %d budgets x %d ledger entries, %d referrals (scale %.3g)\n",
			r.Store, v.Clients, v.Offerings, v.Budgets, v.EntriesPerBudg, v.Referrals, r.Scale)
		for i, s := range r.Seeding {
			fmt.Fprintf(&b, "   seeding step %d: %.1f s (clients %.1f, offerings %.1f, budgets %.1f, referrals %.1f)\n",
				i+1, s.Total, s.Clients, s.Offerings, s.Budgets, s.Referrals)
		}
		resultsTable(&b, r.Results)
		if len(r.Growth) > 0 {
			fmt.Fprintf(&b, "   growth 10%% -> 100%% of the volume:\n")
			for _, g := range r.Growth {
				fmt.Fprintf(&b, "     %-28s p50 %.2f -> %.2f ms, p99 %.2f -> %.2f ms (x%.1f)\n", g.Scenario, g.P50At10, g.P50At100, g.P99At10, g.P99At100, g.Ratio)
			}
		}
		fmt.Fprintf(&b, "   all-in-one server RSS: %.0f MB at start, %.0f MB after the load (peak %.0f MB)\n",
			float64(r.ServerRSS.AtStart.RSSKB)/1024, float64(r.ServerRSS.AtEnd.RSSKB)/1024, float64(r.ServerRSS.AtEnd.PeakKB)/1024)
		if rd := r.Redis; rd != nil {
			fmt.Fprintf(&b, "   Redis: used_memory %.0f MB (rss %.0f MB, AOF %.0f MB); %.0f KB per 1,000 clients\n", rd.UsedMemoryMB, rd.RSSMB, rd.AOFMB, rd.PerThousandClientsKB)
		}
		if r.DBFileMB > 0 {
			fmt.Fprintf(&b, "   embedded file: %.0f MB\n", r.DBFileMB)
		}
		fmt.Fprintf(&b, "   tracing on: %d spans exported, %.1f per send\n", r.Spans, r.SpansPerOp)
		if sp := r.Split; sp != nil {
			fmt.Fprintf(&b, "   split deployment (six processes over the same Redis), the same scenarios:\n")
			resultsTable(&b, sp.Results)
			fmt.Fprintf(&b, "   RSS per process (MB): at start, after the load, peak\n")
			for _, p := range sp.Processes {
				fmt.Fprintf(&b, "     %-12s %6.0f %6.0f %6.0f\n", p.Name, kbMB(p.AtStart.RSSKB), kbMB(p.AtEnd.RSSKB), kbMB(p.AtEnd.PeakKB))
			}
			fmt.Fprintf(&b, "     %-12s %6.0f %6.0f %6.0f\n", "total", kbMB(sp.TotalRSS.AtStart.RSSKB), kbMB(sp.TotalRSS.AtEnd.RSSKB), kbMB(sp.TotalRSS.AtEnd.PeakKB))
		} else if r.Store == "embedded" {
			fmt.Fprintf(&b, "   (no split deployment on the embedded store: one process holds the file's lock)\n")
		}
		if r.Note != "" {
			fmt.Fprintf(&b, "   note: %s\n", r.Note)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func kbMB(kb int64) float64 { return float64(kb) / 1024 }

// resultsTable writes one row per scenario, then the first error of each
// failing one.
func resultsTable(b *strings.Builder, rs []Result) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\treq/s\tp50 ms\tp99 ms\terrors\trequests\tp50 x floor\tp99 x floor\t")
	for _, x := range rs {
		ratio := func(f float64) string {
			if f == 0 {
				return "-"
			}
			return fmt.Sprintf("%.1f", f)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%.2f\t%d\t%d\t%s\t%s\t\n", x.Name, x.RPS, x.P50ms, x.P99ms, x.Errors, x.Requests, ratio(x.FloorRatioP50), ratio(x.FloorRatioP99))
	}
	tw.Flush()
	for _, x := range rs {
		if x.FirstError != "" {
			fmt.Fprintf(b, "   first error of %s: %s\n", x.Name, x.FirstError)
		}
	}
}
