package app

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/polku-hb/polku/services/clients/internal/client"
)

// formatFilter prints a Filter in the syntax ParseFilter reads.
func formatFilter(f Filter) string {
	var terms []string
	for _, t := range []struct{ k, v string }{{"state", f.State}, {"coordinating_worker", f.Coordinator}, {"cohort", f.Cohort}} {
		if t.v != "" {
			terms = append(terms, t.k+` = "`+t.v+`"`)
		}
	}
	return strings.Join(terms, " AND ")
}

// printable reports whether a value survives formatFilter: ParseFilter trims
// spaces and quotes and splits on " AND ", so such values have no spelling.
func printable(v string) bool {
	return v == strings.Trim(strings.TrimSpace(v), `"`) && !strings.Contains(v, " AND ")
}

// FuzzParseFilter: a ListClients filter either parses to a Filter that prints
// and parses back to itself, or is refused with a violation of field "filter".
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "state = ACTIVE", `state = "CLOSED" AND cohort = COHORT_PERSONAL_BUDGET`,
		"coordinating_worker = w-aino", "state = OPEN", "name = x", "state", " AND ", "state = ACTIVE AND AND"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseFilter(s)
		if err != nil {
			var vs client.Violations
			if !errors.As(err, &vs) || len(vs) == 0 || vs[0].Field != "filter" || vs[0].Rule == "" {
				t.Fatalf("ParseFilter(%q) error %v; want a violation of field filter", s, err)
			}
			return
		}
		if got.State != "" && got.State != string(client.Active) && got.State != string(client.Closed) {
			t.Fatalf("ParseFilter(%q) accepts state %q", s, got.State)
		}
		if !printable(got.Coordinator) || !printable(got.Cohort) {
			return
		}
		again, err := ParseFilter(formatFilter(got))
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("ParseFilter(%q) = %+v, which prints as %q and parses to %+v, %v", s, got, formatFilter(got), again, err)
		}
	})
}

// FuzzApplyMask: an update mask changes exactly the fields it names, to the
// patch's values, and leaves every other field alone; an unknown path is a
// violation of update_mask and changes nothing the caller could store (the
// use case discards the copy on error).
func FuzzApplyMask(f *testing.F) {
	f.Add("given_name,contact_details.phone", "Uusi", "+358401234567")
	f.Add("", "x", "y")
	f.Add("region", "x", "y")
	f.Add("contact_details,contact_details.email,cohort", "a", "b")
	f.Add("pic_hash", "x", "y")
	f.Fuzz(func(t *testing.T, mask, name, phone string) {
		paths := strings.Split(mask, ",")
		if mask == "" {
			paths = nil
		}
		before := client.Client{ID: "c1", GivenName: "Old", FamilyName: "Name", Region: "pirkanmaa", Coordinator: "w-1",
			PICHash: "hash", PICMasked: "010101-****", Cohort: "COHORT_COMPARISON",
			Contact: client.Contact{Phone: "+358501112223", Email: "old@example.fi"}}
		patch := client.Client{ID: "evil", GivenName: name, FamilyName: name, Region: name, Coordinator: name, PICHash: name,
			Cohort: name, TargetGroup: name, Contact: client.Contact{Phone: phone, Email: phone, PostalAddress: phone}}
		c := before
		err := ApplyMask(&c, patch, paths)
		known := len(paths) > 0
		for _, p := range paths {
			known = known && contains(UpdatablePaths, p)
		}
		if !known {
			var vs client.Violations
			if !errors.As(err, &vs) || vs[0].Field != "update_mask" {
				t.Fatalf("ApplyMask(%q) = %v; want a violation of update_mask", paths, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("ApplyMask(%q) = %v; want the update", paths, err)
		}
		// Fields no mask can reach never change.
		if c.ID != before.ID || c.Region != before.Region || c.Coordinator != before.Coordinator || c.PICHash != before.PICHash || c.PICMasked != before.PICMasked {
			t.Fatalf("ApplyMask(%q) changed a field outside the updatable ones: %+v", paths, c)
		}
		named := func(p ...string) bool {
			for _, x := range p {
				if contains(paths, x) {
					return true
				}
			}
			return false
		}
		check := func(field string, got, old, want string, names ...string) {
			if named(names...) && got != want || !named(names...) && got != old {
				t.Errorf("ApplyMask(%q): %s = %q (was %q, patch %q)", paths, field, got, old, want)
			}
		}
		check("given_name", c.GivenName, before.GivenName, patch.GivenName, "given_name")
		check("family_name", c.FamilyName, before.FamilyName, patch.FamilyName, "family_name")
		check("cohort", c.Cohort, before.Cohort, patch.Cohort, "cohort")
		check("phone", c.Contact.Phone, before.Contact.Phone, patch.Contact.Phone, "contact_details", "contact_details.phone")
		check("email", c.Contact.Email, before.Contact.Email, patch.Contact.Email, "contact_details", "contact_details.email")
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
