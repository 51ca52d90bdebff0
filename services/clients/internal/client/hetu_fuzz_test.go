package client

import (
	"strings"
	"testing"
	"time"
)

// FuzzParsePIC: any string either parses to a code that re-validates to itself,
// masks its individual part and admits exactly one check character, or is
// refused with an error that never echoes the input.
func FuzzParsePIC(f *testing.F) {
	for _, s := range []string{"131052-308T", "010594Y9032", "150391-934P", "240102A9127", "010101+0021",
		"131052-308t", "131052-308U", "310252-3080", "131052-0000", "", "1310523-08T", "ääääääääää"} {
		f.Add(s)
	}
	today := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePIC(s, today)
		if err != nil {
			if len(s) >= 6 && strings.Contains(err.Error(), s) {
				t.Errorf("error %q echoes the input", err)
			}
			return
		}
		code := p.String()
		if len(code) != 11 || code != strings.ToUpper(code) || !strings.EqualFold(code, s) {
			t.Fatalf("ParsePIC(%q) = %q; want the input, upper case", s, code)
		}
		again, err := ParsePIC(code, today)
		if err != nil || again != p {
			t.Fatalf("ParsePIC(String()) = %v, %v; want the same code", again, err)
		}
		if p.BirthDate().After(today) || p.BirthDate().Location() != time.UTC {
			t.Errorf("birth date %v is in the future or not UTC", p.BirthDate())
		}
		if m := p.Masked(); m != code[:7]+"****" {
			t.Errorf("Masked() = %q; want the birth part and four stars", m)
		}
		// The check character is the only one that validates this code.
		for _, c := range checkChars {
			if byte(c) == code[10] {
				continue
			}
			if _, err := ParsePIC(code[:10]+string(c), today); err == nil {
				t.Errorf("%s%c also validates: the check character does not protect the code", code[:10], c)
			}
		}
	})
}
