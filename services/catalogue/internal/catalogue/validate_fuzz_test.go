package catalogue

import (
	"fmt"
	"testing"
)

// FuzzValidBusinessID: a valid business ID is seven digits, a hyphen and the
// one check digit that validates those seven digits; no input panics.
func FuzzValidBusinessID(f *testing.F) {
	for _, s := range []string{"3221308-6", "2345671-3", "0211675-2", "0204819-8", "2011512-0", "1234567-1",
		"1234567-8", "0000000-0", "123456-7", "12345678", "１２３４５６７-８", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidBusinessID(s) {
			return
		}
		if len(s) != 9 || s[7] != '-' {
			t.Fatalf("ValidBusinessID(%q) = true; want the form 1234567-8", s)
		}
		valid := 0
		for d := range 10 {
			if ValidBusinessID(fmt.Sprintf("%s-%d", s[:7], d)) {
				valid++
			}
		}
		if valid != 1 {
			t.Errorf("%d check digits validate %s-?; want exactly one", valid, s[:7])
		}
	})
}
