// Package assessment is the assessment service's domain: needs assessments,
// client plans with revisions, their lifecycles, cost computation in integer
// cents and the approval rule. It does no I/O and knows nothing of gRPC or the
// store.
package assessment

import (
	"fmt"
	"time"
	_ "time/tzdata" // Europe/Helsinki decides "today" and overdue reviews on every host
)

// Date is a calendar day (no time zone).
type Date struct {
	Year  int `json:"y,omitempty"`
	Month int `json:"m,omitempty"`
	Day   int `json:"d,omitempty"`
}

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether the date names a real day.
func (d Date) Valid() bool {
	if d.Year < 1900 || d.Year > 9999 || d.Month < 1 || d.Month > 12 || d.Day < 1 {
		return false
	}
	t := d.Time()
	return t.Year() == d.Year && int(t.Month()) == d.Month && t.Day() == d.Day
}

// Time is midnight UTC of the day.
func (d Date) Time() time.Time {
	return time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, time.UTC)
}

// String is the ISO form, 2025-03-01.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// Before reports whether d is earlier than o.
func (d Date) Before(o Date) bool { return d.Time().Before(o.Time()) }

// AddDays moves the date by n days.
func (d Date) AddDays(n int) Date { return DateOf(d.Time().AddDate(0, 0, n)) }

// AddMonths moves the date by n months, clamping to the month's last day
// (2025-01-31 + 1 month = 2025-02-28).
func (d Date) AddMonths(n int) Date {
	first := time.Date(d.Year, time.Month(d.Month)+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	day := min(d.Day, last)
	return Date{first.Year(), int(first.Month()), day}
}

// DaysUntil is the number of days from d to o (negative when o is earlier).
func (d Date) DaysUntil(o Date) int { return int(o.Time().Sub(d.Time()).Hours() / 24) }

// DateOf is the calendar day of t in t's location.
func DateOf(t time.Time) Date { return Date{t.Year(), int(t.Month()), t.Day()} }

// Helsinki is the zone in which "today" and "overdue" are judged.
var helsinki = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		return time.FixedZone("EET", 2*3600)
	}
	return loc
}()

// Today is the day in Europe/Helsinki at now.
func Today(now time.Time) Date { return DateOf(now.In(helsinki)) }
