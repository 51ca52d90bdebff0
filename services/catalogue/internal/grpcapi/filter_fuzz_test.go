package grpcapi

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// FuzzParseFilter: a catalogue list filter either parses to terms on allowed
// fields that print and parse back to themselves, or is INVALID_ARGUMENT with
// a field violation of "filter".
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "state = PUBLISHED", `category = "CATEGORY_FAMILY" AND price_capped = true`,
		"service_areas: 837", "stale >= true", "kind = ", "name = x", strings.Repeat("state = A AND ", 40)} {
		f.Add(s)
	}
	allowed := []string{"state", "stale", "category", "price_capped"}
	f.Fuzz(func(t *testing.T, s string) {
		terms, err := parseFilter(s, allowed...)
		if err != nil {
			st := status.Convert(err)
			var field string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
					field = br.GetFieldViolations()[0].GetField()
				}
			}
			if st.Code() != codes.InvalidArgument || field != "filter" {
				t.Fatalf("parseFilter(%q) = %v; want INVALID_ARGUMENT on field filter", s, err)
			}
			return
		}
		if len(s) > 500 {
			t.Fatalf("a %d-character filter is accepted; the limit is 500", len(s))
		}
		var printed []string
		for _, k := range slices.Sorted(maps.Keys(terms)) {
			v := terms[k]
			if !slices.Contains(allowed, k) || v == "" {
				t.Fatalf("parseFilter(%q) = %v: a term outside %v or empty", s, terms, allowed)
			}
			if v != strings.Trim(strings.TrimSpace(v), `"`) || strings.Contains(v, " AND ") {
				return // no spelling survives the trimming; nothing to round-trip
			}
			printed = append(printed, k+` = "`+v+`"`)
		}
		again, err := parseFilter(strings.Join(printed, " AND "), allowed...)
		if err != nil && len(printed) > 0 || err == nil && !maps.Equal(again, terms) {
			// A printed filter can exceed 500 characters only if the input did.
			if len(strings.Join(printed, " AND ")) <= 500 {
				t.Fatalf("parseFilter(%q) = %v, printed %q parses to %v, %v", s, terms, printed, again, err)
			}
		}
	})
}
