package i18n

import (
	"sort"
	"strings"
	"testing"
	"time"
)

func TestEuros(t *testing.T) {
	for _, tc := range []struct {
		lang  Lang
		cents int64
		want  string
	}{
		{FI, 123450, "1\u00a0234,50\u00a0€"},
		{SV, 123450, "1\u00a0234,50\u00a0€"},
		{EN, 123450, "€1,234.50"},
		{FI, 5, "0,05\u00a0€"},
		{EN, 0, "€0.00"},
		{EN, 100000000, "€1,000,000.00"},
		{FI, 99900, "999,00\u00a0€"},
		{FI, -10800, "−108,00\u00a0€"},
		{EN, -10800, "−€108.00"},
	} {
		if got := tc.lang.Euros(tc.cents); got != tc.want {
			t.Errorf("%s.Euros(%d) = %q, want %q", tc.lang, tc.cents, got, tc.want)
		}
	}
}

func TestDatesAndTimes(t *testing.T) {
	// 12:05 UTC in March is 14:05 in Helsinki (EET, +2); in July +3 (EEST).
	winter := time.Date(2026, 3, 5, 12, 5, 0, 0, time.UTC)
	summer := time.Date(2026, 7, 1, 21, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		lang       Lang
		date, w, s string
	}{
		{FI, "5.3.2026", "5.3.2026 klo 14.05", "2.7.2026 klo 0.30"},
		{SV, "2026-03-05", "2026-03-05 kl. 14:05", "2026-07-02 kl. 00:30"},
		{EN, "5 Mar 2026", "5 Mar 2026, 14:05", "2 Jul 2026, 00:30"},
	} {
		if got := tc.lang.Date(2026, 3, 5); got != tc.date {
			t.Errorf("%s.Date = %q, want %q", tc.lang, got, tc.date)
		}
		if got := tc.lang.Time(winter); got != tc.w {
			t.Errorf("%s.Time(winter) = %q, want %q", tc.lang, got, tc.w)
		}
		if got := tc.lang.Time(summer); got != tc.s {
			t.Errorf("%s.Time(summer) = %q, want %q", tc.lang, got, tc.s)
		}
	}
	if FI.Date(0, 0, 0) != "" || FI.Time(time.Time{}) != "" {
		t.Error("unset dates must render empty")
	}
}

func TestLanguageChoice(t *testing.T) {
	for in, want := range map[string]Lang{
		"sv-FI,sv;q=0.9,fi;q=0.8": SV, "en-GB,en;q=0.9": EN, "de-DE,fi;q=0.5": FI, "": FI, "de": FI, "fi": FI,
	} {
		if got := FromAcceptLanguage(in); got != want {
			t.Errorf("FromAcceptLanguage(%q) = %s, want %s", in, got, want)
		}
	}
	if Parse("SV") != SV || Parse("xx") != FI {
		t.Error("Parse")
	}
}

// Every text exists in all three languages with the same format verbs, so a
// missing translation or a broken %d fails here, not in front of a client.
func TestCataloguesComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range sets {
		for k := range m {
			if seen[k] {
				t.Errorf("%q is defined in two message sets", k)
			}
			seen[k] = true
		}
	}
	for _, m := range append(append([]map[string][3]string{}, sets...), enums) {
		for k, v := range m {
			for i, s := range v {
				if strings.TrimSpace(s) == "" {
					t.Errorf("%q lacks %s", k, Langs[i])
				}
				if verbs(s) != verbs(v[0]) {
					t.Errorf("%q: %s has verbs %q, fi %q", k, Langs[i], verbs(s), verbs(v[0]))
				}
			}
		}
	}
	if FI.T("no.such.key") != "no.such.key" {
		t.Error("a missing key must show itself")
	}
	if got := SV.T("worker.overdue.days", 3); got != "3 dagar försenad" {
		t.Errorf("SV.T with args = %q", got)
	}
}

func verbs(s string) string {
	var out []string
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '%' {
			out = append(out, s[i:i+2])
		}
	}
	sort.Strings(out)
	return strings.Join(out, "")
}
