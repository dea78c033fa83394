package regie_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/regie-nl/regie"
)

func TestParseCents(t *testing.T) {
	// Accepted: plain decimals with at most two decimals written. Because
	// ParseCents is built on shopspring/decimal, these are accepted as well:
	// a leading '+', a leading or trailing '.', and exponent notation as long as
	// the result has at most two decimals ("1e3" is 1000.00, "1.5e-1" is 0.15,
	// "1e-2" is 0.01). This test pins that behaviour down.
	valid := []struct {
		in   string
		want regie.Cents
	}{
		{"0", 0},
		{"12", 1200},
		{"12.5", 1250},
		{"12.50", 1250},
		{"0.01", 1},
		{"0.10", 10},
		{"-3.07", -307},
		{"-0", 0},
		{"-0.00", 0},
		{"+5", 500},
		{".5", 50},
		{"12.", 1200},
		{"1e3", 100000},
		{"1E3", 100000},
		{"1.5e-1", 15},
		{"1e-2", 1},
		{"1.00e1", 1000},
		{"92233720368547758.07", math.MaxInt64},
		{"-92233720368547758.08", math.MinInt64},
	}
	for _, tc := range valid {
		t.Run("accepts "+tc.in, func(t *testing.T) {
			got, err := regie.ParseCents(tc.in)
			if err != nil {
				t.Fatalf("ParseCents(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("ParseCents(%q) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}

	invalid := []struct {
		in   string
		code string
	}{
		{"1.234", "amount_precision"},
		{"1.230", "amount_precision"}, // three decimals written, even if the last is zero
		{"0.001", "amount_precision"},
		{"1.2e-2", "amount_precision"},
		{"1e-9999", "amount_precision"},
		{"", "amount_malformed"},
		{"abc", "amount_malformed"},
		{" 12", "amount_malformed"},
		{"12 ", "amount_malformed"},
		{"1,50", "amount_malformed"},
		{"1_000", "amount_malformed"},
		{"0x10", "amount_malformed"},
		{"NaN", "amount_malformed"},
		{"Inf", "amount_malformed"},
		{"€12", "amount_malformed"},
		{"92233720368547758.08", "amount_range"},
		{"-92233720368547758.09", "amount_range"},
		{"1e20", "amount_range"},
		{"1e10000", "amount_range"},
		{"99999999999999999999999999999999999999", "amount_range"},
		// decimal refuses exponents beyond its MaxDecodeExponent (10000).
		{"1e100000", "amount_malformed"},
		{"1e2147483647", "amount_malformed"},
	}
	for _, tc := range invalid {
		t.Run("rejects "+tc.in, func(t *testing.T) {
			got, err := regie.ParseCents(tc.in)
			if err == nil {
				t.Fatalf("ParseCents(%q) = %d, want error %s", tc.in, got, tc.code)
			}
			if code := regie.ErrorCode(err); code != tc.code {
				t.Errorf("ParseCents(%q) code = %q, want %q (%v)", tc.in, code, tc.code, err)
			}
			if kind := regie.ErrorKind(err); kind != regie.Invalid {
				t.Errorf("ParseCents(%q) kind = %q, want invalid", tc.in, kind)
			}
		})
	}
}

func TestCents_String(t *testing.T) {
	tests := []struct {
		c    regie.Cents
		want string
	}{
		{0, "0.00"},
		{1, "0.01"},
		{10, "0.10"},
		{100, "1.00"},
		{1250, "12.50"},
		{123456, "1234.56"},
		{-1, "-0.01"},
		{-5, "-0.05"},
		{-1205, "-12.05"},
		{-100, "-1.00"},
		{math.MaxInt64, "92233720368547758.07"},
		{math.MinInt64, "-92233720368547758.08"},
		{math.MinInt64 + 1, "-92233720368547758.07"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.c.String(); got != tc.want {
				t.Errorf("Cents(%d).String() = %q, want %q", int64(tc.c), got, tc.want)
			}
			back, err := regie.ParseCents(tc.want)
			if err != nil || back != tc.c {
				t.Errorf("ParseCents(%q) = %d, %v; want %d", tc.want, back, err, int64(tc.c))
			}
		})
	}
}

func TestCents_Decimal(t *testing.T) {
	for _, c := range []regie.Cents{0, 1, -307, 1250, math.MaxInt64, math.MinInt64} {
		if got, want := c.Decimal().StringFixed(2), c.String(); got != want {
			t.Errorf("Cents(%d).Decimal() = %s, want %s", int64(c), got, want)
		}
	}
}

func TestCents_JSON(t *testing.T) {
	type doc struct {
		Amount regie.Cents `json:"amount"`
	}
	t.Run("marshals as a string", func(t *testing.T) {
		for c, want := range map[regie.Cents]string{
			1250:          `{"amount":"12.50"}`,
			-307:          `{"amount":"-3.07"}`,
			0:             `{"amount":"0.00"}`,
			math.MinInt64: `{"amount":"-92233720368547758.08"}`,
		} {
			b, err := json.Marshal(doc{Amount: c})
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != want {
				t.Errorf("Marshal(%d) = %s, want %s", int64(c), b, want)
			}
		}
	})
	t.Run("round trip", func(t *testing.T) {
		for _, c := range []regie.Cents{0, 1, -1, 1250, -307, 135570500, math.MaxInt64, math.MinInt64} {
			b, err := json.Marshal(doc{Amount: c})
			if err != nil {
				t.Fatal(err)
			}
			var got doc
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("Unmarshal(%s): %v", b, err)
			}
			if got.Amount != c {
				t.Errorf("round trip of %d gave %d", int64(c), int64(got.Amount))
			}
		}
	})
	t.Run("accepts strings", func(t *testing.T) {
		for in, want := range map[string]regie.Cents{
			`{"amount":"12.5"}`:  1250,
			`{"amount":"12"}`:    1200,
			`{"amount":"-3.07"}`: -307,
		} {
			var got doc
			if err := json.Unmarshal([]byte(in), &got); err != nil {
				t.Fatalf("Unmarshal(%s): %v", in, err)
			}
			if got.Amount != want {
				t.Errorf("Unmarshal(%s) = %d, want %d", in, got.Amount, want)
			}
		}
	})
	t.Run("refuses", func(t *testing.T) {
		for in, code := range map[string]string{
			`{"amount":12.5}`:    "amount_malformed", // a JSON number never passes
			`{"amount":12}`:      "amount_malformed",
			`{"amount":1e3}`:     "amount_malformed",
			`{"amount":true}`:    "amount_malformed",
			`{"amount":null}`:    "amount_malformed",
			`{"amount":"1.234"}`: "amount_precision",
			`{"amount":"abc"}`:   "amount_malformed",
			`{"amount":""}`:      "amount_malformed",
		} {
			var got doc
			err := json.Unmarshal([]byte(in), &got)
			if err == nil {
				t.Errorf("Unmarshal(%s) = %d, want error", in, got.Amount)
				continue
			}
			if c := regie.ErrorCode(err); c != code {
				t.Errorf("Unmarshal(%s): code %q, want %q (%v)", in, c, code, err)
			}
		}
	})
}

func TestParseUnits(t *testing.T) {
	valid := []struct {
		in   string
		want regie.Units
	}{
		{"0", 0},
		{"7", 700},
		{"1.5", 150},
		{"1.25", 125},
		{"0.01", 1},
		{"168", 16800},
		{"10000000000000", 1e15}, // the largest quantity
	}
	for _, tc := range valid {
		t.Run("accepts "+tc.in, func(t *testing.T) {
			got, err := regie.ParseUnits(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("ParseUnits(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
	invalid := []struct {
		in   string
		code string
	}{
		{"", "units_malformed"},
		{"abc", "units_malformed"},
		{"1.5h", "units_malformed"},
		{"1.255", "units_precision"},
		{"1.250", "units_precision"},
		{"-1", "units_range"},
		{"-0.01", "units_range"},
		{"10000000000000.01", "units_range"},
		{"1e20", "units_range"},
	}
	for _, tc := range invalid {
		t.Run("rejects "+tc.in, func(t *testing.T) {
			got, err := regie.ParseUnits(tc.in)
			if err == nil {
				t.Fatalf("ParseUnits(%q) = %d, want error", tc.in, got)
			}
			if code := regie.ErrorCode(err); code != tc.code {
				t.Errorf("ParseUnits(%q) code = %q, want %q", tc.in, code, tc.code)
			}
		})
	}
}

func TestUnits_String(t *testing.T) {
	tests := []struct {
		u    regie.Units
		want string
	}{
		{0, "0"},
		{700, "7"},
		{150, "1.5"},
		{125, "1.25"},
		{25, "0.25"},
		{1, "0.01"},
		{20857, "208.57"},
		{100000, "1000"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.u.String(); got != tc.want {
				t.Errorf("Units(%d).String() = %q, want %q", int64(tc.u), got, tc.want)
			}
			back, err := regie.ParseUnits(tc.want)
			if err != nil || back != tc.u {
				t.Errorf("ParseUnits(%q) = %d, %v", tc.want, back, err)
			}
		})
	}
}

func TestUnits_JSON(t *testing.T) {
	type doc struct {
		Units regie.Units `json:"units"`
	}
	b, err := json.Marshal(doc{Units: 150})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"units":"1.5"}` {
		t.Errorf("Marshal = %s", b)
	}
	var got doc
	if err := json.Unmarshal(b, &got); err != nil || got.Units != 150 {
		t.Errorf("Unmarshal(%s) = %d, %v", b, got.Units, err)
	}
	for _, in := range []string{`{"units":1.5}`, `{"units":"1.555"}`, `{"units":"-1"}`} {
		if err := json.Unmarshal([]byte(in), &got); err == nil {
			t.Errorf("Unmarshal(%s) accepted", in)
		}
	}
}

func TestLineAmount(t *testing.T) {
	tests := []struct {
		name  string
		units regie.Units
		price regie.Cents
		want  regie.Cents
	}{
		{"1.5 × 0.33 = 0.495 rounds up to 0.50", 150, 33, 50},
		{"0.5 × 0.01 = 0.005 rounds up to 0.01", 50, 1, 1},
		{"0.49 × 0.01 = 0.0049 rounds down to 0.00", 49, 1, 0},
		{"0.51 × 0.01 = 0.0051 rounds up to 0.01", 51, 1, 1},
		{"1.49 × 0.01 = 0.0149 rounds down to 0.01", 149, 1, 1},
		{"1.5 × 0.01 = 0.015 rounds up to 0.02", 150, 1, 2},
		{"whole units", 700, 6500, 45500},
		{"208.57 × 65.00", 20857, 6500, 1355705},
		{"zero units", 0, 6500, 0},
		{"zero price", 700, 0, 0},
		{"largest product that fits", 1, math.MaxInt64 - 50, (math.MaxInt64 - 50 + 50) / 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := regie.LineAmount(tc.units, tc.price)
			if !ok {
				t.Fatalf("LineAmount(%d, %d) reported overflow", tc.units, tc.price)
			}
			if got != tc.want {
				t.Errorf("LineAmount(%d, %d) = %s, want %s", tc.units, tc.price, got, tc.want)
			}
		})
	}

	refused := []struct {
		name  string
		units regie.Units
		price regie.Cents
	}{
		{"overflow by one", 1, math.MaxInt64 - 49},
		{"max units × 2", math.MaxInt64, 2},
		{"max price × 1.00", 100, math.MaxInt64},
		{"large × large", 1 << 32, 1 << 32},
		{"negative units", -1, 100},
		{"negative price", 100, -1},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			if got, ok := regie.LineAmount(tc.units, tc.price); ok {
				t.Errorf("LineAmount(%d, %d) = %d, true; want false", tc.units, tc.price, got)
			}
		})
	}
}
