package app

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/polku-hb/polku/services/referral/internal/referral"
)

// formatFilter prints a Filter in the syntax ParseFilter reads.
func formatFilter(f Filter) string {
	var terms []string
	add := func(k, v string) {
		if v != "" {
			terms = append(terms, k+` = "`+v+`"`)
		}
	}
	add("client", f.Client)
	add("sender", f.Sender)
	add("recipient_provider", f.Provider)
	add("state", f.State)
	if f.OpenOnly {
		terms = append(terms, "open = true")
	}
	if f.MinLevel != 0 {
		terms = append(terms, "escalation_level >= "+strconv.Itoa(f.MinLevel))
	}
	return strings.Join(terms, " AND ")
}

// printable: ParseFilter trims spaces and quotes, splits on " AND " and reads
// ">=" anywhere in a term, so such values have no spelling in a filter.
func printable(v string) bool {
	return v == strings.Trim(strings.TrimSpace(v), `"`) && !strings.Contains(v, " AND ") && !strings.Contains(v, ">=") &&
		!strings.HasPrefix(v, "clients/") && !strings.HasPrefix(v, "providers/")
}

// FuzzParseFilter: a ListReferrals filter either parses to a Filter that
// prints and parses back to itself, or is refused with a violation of field
// "filter".
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", `client = "clients/c1" AND state = SENT`, "open = true AND escalation_level >= 2",
		"escalation_level >= x", "recipient_provider = providers/p1", "sender = w-1", "escalation_level = 2", "foo = bar", ">="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseFilter(s)
		if err != nil {
			var vs referral.Violations
			if !errors.As(err, &vs) || len(vs) == 0 || vs[0].Field != "filter" {
				t.Fatalf("ParseFilter(%q) error %v; want a violation of field filter", s, err)
			}
			return
		}
		for _, v := range []string{got.Client, got.Sender, got.Provider, got.State} {
			if !printable(v) {
				return
			}
		}
		again, err := ParseFilter(formatFilter(got))
		if err != nil || again != got {
			t.Fatalf("ParseFilter(%q) = %+v, which prints as %q and parses to %+v, %v", s, got, formatFilter(got), again, err)
		}
	})
}
