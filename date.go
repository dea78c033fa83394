package regie

import (
	"strconv"
	"time"
)

// Amsterdam is the time zone in which dates of care are civil dates.
var Amsterdam = mustLoadLocation("Europe/Amsterdam")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		// The binary embeds time/tzdata (see cmd/regie), so this only fails in a
		// broken build.
		panic(err)
	}
	return loc
}

// Date is a civil date (YYYY-MM-DD) counted in days since 1970-01-01. Dates of
// care have no time of day and no zone; comparing and subtracting them is exact.
type Date int32

// ParseDate parses "YYYY-MM-DD" and rejects anything else, including impossible
// dates such as 2026-02-30.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, FieldError("", "date_malformed", "%q is not a date YYYY-MM-DD", s)
	}
	// Care is not older than 2000; this also keeps the zero Date unreachable.
	if t.Year() < 2000 || t.Year() > 2999 {
		return 0, FieldError("", "date_range", "%q is out of range", s)
	}
	return DateOf(t), nil
}

// DateOf returns the civil date of t as seen in Europe/Amsterdam.
func DateOf(t time.Time) Date {
	y, m, d := t.In(Amsterdam).Date()
	return Date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Time returns midnight at the start of d in Europe/Amsterdam.
func (d Date) Time() time.Time {
	u := time.Unix(int64(d)*86400, 0).UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, Amsterdam)
}

// AddDays returns the date n days after d.
func (d Date) AddDays(n int) Date { return d + Date(n) }

// DaysThrough returns the number of days from d through end, both included.
func (d Date) DaysThrough(end Date) int { return int(end-d) + 1 }

// IsZero reports whether d is the zero Date (1970-01-01, never a date of care).
func (d Date) IsZero() bool { return d == 0 }

func (d Date) String() string {
	return time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly)
}

// MarshalJSON writes d as "YYYY-MM-DD", or null for the zero date.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return strconv.AppendQuote(nil, d.String()), nil
}

// UnmarshalJSON reads "YYYY-MM-DD" or null.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = 0
		return nil
	}
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return FieldError("", "date_malformed", "dates are JSON strings YYYY-MM-DD")
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
