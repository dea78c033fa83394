package regie

import (
	"fmt"
	"math"
	"strconv"

	"github.com/shopspring/decimal"
)

// Cents is an amount of money in euro cents. Inside the service all money is
// Cents; at the edges amounts are decimal strings with at most two decimals.
type Cents int64

// ParseCents parses a decimal amount such as "123.45". More than two decimals,
// a malformed number, or an amount outside the int64 cent range is an error.
func ParseCents(s string) (Cents, error) {
	d, err := decimal.NewFromString(s)
	if err != nil || s == "" {
		return 0, FieldError("", "amount_malformed", "%q is not a decimal amount", s)
	}
	return centsFromDecimal(d, s)
}

func centsFromDecimal(d decimal.Decimal, orig string) (Cents, error) {
	if d.Exponent() < -2 {
		return 0, FieldError("", "amount_precision", "%q has more than two decimals", orig)
	}
	c := d.Shift(2)
	if c.GreaterThan(decimal.NewFromInt(math.MaxInt64)) || c.LessThan(decimal.NewFromInt(math.MinInt64)) {
		return 0, FieldError("", "amount_range", "%q is out of range", orig)
	}
	return Cents(c.IntPart()), nil
}

// Decimal returns c as a decimal number of euros.
func (c Cents) Decimal() decimal.Decimal { return decimal.New(int64(c), -2) }

// String formats c as euros with exactly two decimals: "-12.05".
func (c Cents) String() string {
	sign := ""
	u := uint64(c)
	if c < 0 {
		sign = "-"
		u = uint64(-(c + 1)) + 1 // safe for MinInt64
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

// MarshalJSON writes c as a JSON string, "123.45", as the API promises.
func (c Cents) MarshalJSON() ([]byte, error) { return strconv.AppendQuote(nil, c.String()), nil }

// UnmarshalJSON accepts only a JSON string with at most two decimals; a JSON
// number is refused so that no amount ever passes through a float.
func (c *Cents) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return FieldError("", "amount_malformed", "amounts are JSON strings such as \"12.50\"")
	}
	v, err := ParseCents(s)
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Units is a quantity of care (days, hours, dagdelen) in hundredths, so that
// 1.5 hours is Units(150). Like money it is exact; it is never a float.
type Units int64

// UnitScale is the number of Units in one whole unit.
const UnitScale = 100

// ParseUnits parses a decimal quantity with at most two decimals, e.g. "7" or "1.25".
func ParseUnits(s string) (Units, error) {
	d, err := decimal.NewFromString(s)
	if err != nil || s == "" {
		return 0, FieldError("", "units_malformed", "%q is not a decimal quantity", s)
	}
	if d.Exponent() < -2 {
		return 0, FieldError("", "units_precision", "%q has more than two decimals", s)
	}
	c := d.Shift(2)
	if c.GreaterThan(decimal.NewFromInt(1e15)) || c.IsNegative() {
		return 0, FieldError("", "units_range", "%q is out of range", s)
	}
	return Units(c.IntPart()), nil
}

// String formats u with up to two decimals: "7", "1.5", "0.25".
func (u Units) String() string { return decimal.New(int64(u), -2).String() }

// MarshalJSON writes u as a JSON string, like amounts.
func (u Units) MarshalJSON() ([]byte, error) { return strconv.AppendQuote(nil, u.String()), nil }

// UnmarshalJSON accepts a JSON string ("1.5") with at most two decimals.
func (u *Units) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return FieldError("", "units_malformed", "units are JSON strings such as \"1.5\"")
	}
	v, err := ParseUnits(s)
	if err != nil {
		return err
	}
	*u = v
	return nil
}

// LineAmount is units × unit price, rounded half-up to whole cents once, as the
// settlement rules require. It reports false when the product overflows int64.
func LineAmount(u Units, price Cents) (Cents, bool) {
	if u < 0 || price < 0 {
		return 0, false
	}
	if u != 0 && int64(price) > (math.MaxInt64-UnitScale/2)/int64(u) {
		return 0, false
	}
	return Cents((int64(u)*int64(price) + UnitScale/2) / UnitScale), true
}
