// Package i18n holds the UI's message catalogues (Finnish first, Swedish,
// English) and the per-locale formatting of euros and dates. It does no I/O.
package i18n

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // the container image may have no zoneinfo
)

// Lang is a supported UI language.
type Lang string

// The UI languages; Finnish is the default (the region's majority language).
const (
	FI Lang = "fi"
	SV Lang = "sv"
	EN Lang = "en"
)

// Langs lists the languages in the order the switcher shows them.
var Langs = []Lang{FI, SV, EN}

// Parse returns the language named by s, or Finnish.
func Parse(s string) Lang {
	switch Lang(strings.ToLower(strings.TrimSpace(s))) {
	case SV:
		return SV
	case EN:
		return EN
	}
	return FI
}

// FromAcceptLanguage picks the first supported language of an Accept-Language
// header, ignoring weights (browsers list them best first), default Finnish.
func FromAcceptLanguage(h string) Lang {
	for _, part := range strings.Split(h, ",") {
		tag := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		base := strings.ToLower(strings.SplitN(tag, "-", 2)[0])
		switch Lang(base) {
		case FI, SV, EN:
			return Lang(base)
		}
	}
	return FI
}

// T returns the message for key in l, falling back to Finnish, then to the key
// itself (so a missing text shows up in review rather than as a blank).
func (l Lang) T(key string, args ...any) string {
	m, ok := catalogue()[l][key]
	if !ok {
		if m, ok = catalogue()[FI][key]; !ok {
			m = key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(m, args...)
	}
	return m
}

// Name is the language's own name, for the switcher.
func (l Lang) Name() string {
	switch l {
	case SV:
		return "svenska"
	case EN:
		return "English"
	}
	return "suomi"
}

const nbsp = "\u00a0"

// Euros formats integer cents: fi and sv "1 234,50 €" (no-break spaces, as
// CLDR has them, so the amount never wraps), en "€1,234.50".
func (l Lang) Euros(cents int64) string {
	neg := cents < 0
	if neg {
		cents = -cents
	}
	whole, frac := cents/100, cents%100
	group, dec := nbsp, ","
	if l == EN {
		group, dec = ",", "."
	}
	digits := fmt.Sprint(whole)
	var b strings.Builder
	for i, r := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteString(group)
		}
		b.WriteRune(r)
	}
	num := fmt.Sprintf("%s%s%02d", b.String(), dec, frac)
	sign := ""
	if neg {
		sign = "−"
	}
	if l == EN {
		return sign + "€" + num
	}
	return sign + num + nbsp + "€"
}

// helsinki is where Polku's users are: stored times are UTC, shown local.
var helsinki = mustZone("Europe/Helsinki")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // embedded tzdata always has it
	}
	return loc
}

var enMonths = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// Date formats a calendar date: fi "5.3.2026", sv "2026-03-05", en "5 Mar 2026".
func (l Lang) Date(year, month, day int) string {
	if year == 0 {
		return ""
	}
	switch l {
	case SV:
		return fmt.Sprintf("%04d-%02d-%02d", year, month, day)
	case EN:
		if month < 1 || month > 12 {
			return fmt.Sprintf("%d-%d-%d", year, month, day)
		}
		return fmt.Sprintf("%d %s %d", day, enMonths[month-1], year)
	}
	return fmt.Sprintf("%d.%d.%d", day, month, year)
}

// Time formats an instant in Helsinki time: fi "5.3.2026 klo 14.05",
// sv "2026-03-05 kl. 14:05", en "5 Mar 2026, 14:05".
func (l Lang) Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(helsinki)
	d := l.Date(t.Year(), int(t.Month()), t.Day())
	switch l {
	case SV:
		return fmt.Sprintf("%s kl. %02d:%02d", d, t.Hour(), t.Minute())
	case EN:
		return fmt.Sprintf("%s, %02d:%02d", d, t.Hour(), t.Minute())
	}
	return fmt.Sprintf("%s klo %d.%02d", d, t.Hour(), t.Minute())
}
