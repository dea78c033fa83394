package regie_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/regie-nl/regie"
)

func mustDate(t *testing.T, s string) regie.Date {
	t.Helper()
	d, err := regie.ParseDate(s)
	if err != nil {
		t.Fatalf("ParseDate(%q): %v", s, err)
	}
	return d
}

func TestParseDate(t *testing.T) {
	valid := []struct {
		in   string
		days int32 // since 1970-01-01
	}{
		{"2000-01-01", 10957},
		{"2024-02-29", 19782},
		{"2026-01-01", 20454},
		{"2026-03-29", 20541},
		{"2999-12-31", 376199},
	}
	for _, tc := range valid {
		t.Run("accepts "+tc.in, func(t *testing.T) {
			d, err := regie.ParseDate(tc.in)
			if err != nil {
				t.Fatalf("ParseDate(%q): %v", tc.in, err)
			}
			if int32(d) != tc.days {
				t.Errorf("ParseDate(%q) = %d, want %d", tc.in, int32(d), tc.days)
			}
			if d.String() != tc.in {
				t.Errorf("String() = %q, want %q", d.String(), tc.in)
			}
		})
	}
	invalid := []struct {
		in   string
		code string
	}{
		{"2026-02-30", "date_malformed"},
		{"2025-02-29", "date_malformed"},
		{"2026-13-01", "date_malformed"},
		{"2026-00-10", "date_malformed"},
		{"2026-04-31", "date_malformed"},
		{"2026-1-5", "date_malformed"},
		{"2026-01-5", "date_malformed"},
		{"26-01-05", "date_malformed"},
		{"05-01-2026", "date_malformed"},
		{"2026/01/05", "date_malformed"},
		{"2026-01-05T00:00:00Z", "date_malformed"},
		{" 2026-01-05", "date_malformed"},
		{"", "date_malformed"},
		{"1999-12-31", "date_range"},
		{"1970-01-01", "date_range"}, // would be the zero Date
		{"1899-12-31", "date_range"},
		{"3000-01-01", "date_range"},
	}
	for _, tc := range invalid {
		t.Run("rejects "+tc.in, func(t *testing.T) {
			d, err := regie.ParseDate(tc.in)
			if err == nil {
				t.Fatalf("ParseDate(%q) = %s, want error", tc.in, d)
			}
			if code := regie.ErrorCode(err); code != tc.code {
				t.Errorf("ParseDate(%q) code = %q, want %q", tc.in, code, tc.code)
			}
		})
	}
}

func TestDate_JSON(t *testing.T) {
	type doc struct {
		From regie.Date `json:"from"`
	}
	t.Run("round trip", func(t *testing.T) {
		d := mustDate(t, "2026-03-29")
		b, err := json.Marshal(doc{From: d})
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != `{"from":"2026-03-29"}` {
			t.Errorf("Marshal = %s", b)
		}
		var got doc
		if err := json.Unmarshal(b, &got); err != nil || got.From != d {
			t.Errorf("Unmarshal(%s) = %v, %v", b, got.From, err)
		}
	})
	t.Run("zero is null", func(t *testing.T) {
		b, err := json.Marshal(doc{})
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != `{"from":null}` {
			t.Errorf("Marshal(zero) = %s", b)
		}
		got := doc{From: 5}
		if err := json.Unmarshal([]byte(`{"from":null}`), &got); err != nil || !got.From.IsZero() {
			t.Errorf("Unmarshal(null) = %v, %v", got.From, err)
		}
	})
	t.Run("refuses", func(t *testing.T) {
		for _, in := range []string{
			`{"from":"2026-02-30"}`,
			`{"from":"2026-1-5"}`,
			`{"from":20541}`,
			`{"from":"29-03-2026"}`,
			`{"from":""}`,
		} {
			var got doc
			if err := json.Unmarshal([]byte(in), &got); err == nil {
				t.Errorf("Unmarshal(%s) = %s, want error", in, got.From)
			} else if k := regie.ErrorKind(err); k != regie.Invalid {
				t.Errorf("Unmarshal(%s): kind %q, want invalid", in, k)
			}
		}
	})
}

func TestDate_DaysThrough(t *testing.T) {
	tests := []struct {
		from, to string
		want     int
	}{
		{"2026-01-01", "2026-01-01", 1},
		{"2026-01-01", "2026-01-07", 7},
		{"2026-01-01", "2026-12-31", 365},
		{"2024-01-01", "2024-12-31", 366},
		{"2026-02-01", "2026-02-28", 28},
		{"2026-03-28", "2026-03-30", 3}, // across the switch to summer time
		{"2026-10-24", "2026-10-26", 3}, // across the switch to winter time
		{"2026-01-02", "2026-01-01", 0},
	}
	for _, tc := range tests {
		t.Run(tc.from+".."+tc.to, func(t *testing.T) {
			if got := mustDate(t, tc.from).DaysThrough(mustDate(t, tc.to)); got != tc.want {
				t.Errorf("DaysThrough = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestDate_AddDays(t *testing.T) {
	d := mustDate(t, "2026-12-31")
	if got := d.AddDays(1).String(); got != "2027-01-01" {
		t.Errorf("AddDays(1) = %s", got)
	}
	if got := d.AddDays(-365).String(); got != "2025-12-31" {
		t.Errorf("AddDays(-365) = %s", got)
	}
	if got := mustDate(t, "2024-02-28").AddDays(1).String(); got != "2024-02-29" {
		t.Errorf("AddDays over leap day = %s", got)
	}
}

func TestDateOf(t *testing.T) {
	tests := []struct {
		utc  string
		want string
	}{
		// Winter time (CET, UTC+1).
		{"2026-01-15T22:59:59Z", "2026-01-15"},
		{"2026-01-15T23:00:00Z", "2026-01-16"},
		{"2026-03-28T22:59:59Z", "2026-03-28"},
		{"2026-03-28T23:00:00Z", "2026-03-29"},
		{"2026-03-28T23:30:00Z", "2026-03-29"},
		// Summer time (CEST, UTC+2), after 2026-03-29T01:00Z.
		{"2026-03-29T21:59:59Z", "2026-03-29"},
		{"2026-03-29T22:00:00Z", "2026-03-30"},
		{"2026-07-01T21:59:59Z", "2026-07-01"},
		{"2026-07-01T22:00:00Z", "2026-07-02"},
		{"2026-10-24T21:59:59Z", "2026-10-24"},
		{"2026-10-24T22:00:00Z", "2026-10-25"},
		// Back to winter time after 2026-10-25T01:00Z.
		{"2026-10-25T22:59:59Z", "2026-10-25"},
		{"2026-10-25T23:00:00Z", "2026-10-26"},
		{"2026-12-31T23:00:00Z", "2027-01-01"},
	}
	for _, tc := range tests {
		t.Run(tc.utc, func(t *testing.T) {
			ts, err := time.Parse(time.RFC3339, tc.utc)
			if err != nil {
				t.Fatal(err)
			}
			if got := regie.DateOf(ts).String(); got != tc.want {
				t.Errorf("DateOf(%s) = %s, want %s", tc.utc, got, tc.want)
			}
			// The zone of the input does not matter, only the instant.
			if got := regie.DateOf(ts.In(time.FixedZone("X", -11*3600))).String(); got != tc.want {
				t.Errorf("DateOf(%s in UTC-11) = %s, want %s", tc.utc, got, tc.want)
			}
		})
	}
}

func TestDate_Time(t *testing.T) {
	tests := []struct {
		date string
		utc  string
	}{
		{"2026-01-16", "2026-01-15T23:00:00Z"},
		{"2026-03-29", "2026-03-28T23:00:00Z"}, // still winter time at midnight
		{"2026-03-30", "2026-03-29T22:00:00Z"},
		{"2026-10-25", "2026-10-24T22:00:00Z"}, // still summer time at midnight
		{"2026-10-26", "2026-10-25T23:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.date, func(t *testing.T) {
			d := mustDate(t, tc.date)
			got := d.Time()
			if s := got.UTC().Format(time.RFC3339); s != tc.utc {
				t.Errorf("Time() = %s, want %s", s, tc.utc)
			}
			if got.Location() != regie.Amsterdam {
				t.Errorf("Time() location = %v", got.Location())
			}
			if back := regie.DateOf(got); back != d {
				t.Errorf("DateOf(Time()) = %s, want %s", back, d)
			}
			if back := regie.DateOf(got.Add(-time.Nanosecond)); back != d-1 {
				t.Errorf("DateOf(Time()-1ns) = %s, want %s", back, d-1)
			}
		})
	}
	t.Run("every day of two years round trips", func(t *testing.T) {
		start := mustDate(t, "2025-01-01")
		for d := start; d < start+730; d++ {
			if back := regie.DateOf(d.Time()); back != d {
				t.Fatalf("DateOf(%s.Time()) = %s", d, back)
			}
			if back := regie.DateOf(d.AddDays(1).Time().Add(-time.Second)); back != d {
				t.Fatalf("last second of %s is on %s", d, back)
			}
		}
	})
}

func TestDate_IsZero(t *testing.T) {
	var d regie.Date
	if !d.IsZero() {
		t.Error("zero Date is not IsZero")
	}
	if mustDate(t, "2026-01-01").IsZero() {
		t.Error("2026-01-01 IsZero")
	}
}
