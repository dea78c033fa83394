package settlement_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/voucher"
)

func mustDate(t *testing.T, s string) regie.Date {
	t.Helper()
	d, err := regie.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// validClaim is 16 hours in February 2026 at 60.00.
func validClaim(t *testing.T) settlement.Claim {
	return settlement.Claim{
		ProviderAGB: "10000001", ClaimID: "feb-2026-1", VoucherID: "v1", Product: "H300",
		From: mustDate(t, "2026-02-01"), To: mustDate(t, "2026-02-28"),
		Units: 1600, UnitPrice: 6000,
	}
}

func TestClaim_Validate(t *testing.T) {
	ok := []struct {
		name   string
		change func(c *settlement.Claim)
	}{
		{"as is", func(*settlement.Claim) {}},
		{"claim id of 64 characters", func(c *settlement.Claim) { c.ClaimID = strings.Repeat("x", 64) }},
		{"voucher id of 64 characters", func(c *settlement.Claim) { c.VoucherID = strings.Repeat("v", 64) }},
		{"product of 32 characters", func(c *settlement.Claim) { c.Product = strings.Repeat("p", 32) }},
		{"one day", func(c *settlement.Claim) { c.To = c.From }},
		{"366 days", func(c *settlement.Claim) { c.To = c.From + 365 }},
		{"0.5 unit at 0.01 (0.005 rounds up)", func(c *settlement.Claim) { c.Units, c.UnitPrice = 50, 1 }},
		{"provider is not checked here", func(c *settlement.Claim) { c.ProviderAGB = "" }},
	}
	for _, tc := range ok {
		t.Run("accepts "+tc.name, func(t *testing.T) {
			c := validClaim(t)
			tc.change(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}

	bad := []struct {
		name   string
		change func(c *settlement.Claim)
		field  string
		code   string
	}{
		{"no claim id", func(c *settlement.Claim) { c.ClaimID = "" }, "claim_id", "claim_id_invalid"},
		{"claim id of 65 characters", func(c *settlement.Claim) { c.ClaimID = strings.Repeat("x", 65) }, "claim_id", "claim_id_invalid"},
		{"claim id with a newline", func(c *settlement.Claim) { c.ClaimID = "a\nb" }, "claim_id", "claim_id_invalid"},
		{"claim id with a carriage return", func(c *settlement.Claim) { c.ClaimID = "a\rb" }, "claim_id", "claim_id_invalid"},
		{"claim id with a NUL", func(c *settlement.Claim) { c.ClaimID = "a\x00b" }, "claim_id", "claim_id_invalid"},
		{"no voucher id", func(c *settlement.Claim) { c.VoucherID = "" }, "voucher_id", "field_required"},
		{"voucher id of 65 characters", func(c *settlement.Claim) { c.VoucherID = strings.Repeat("v", 65) }, "voucher_id", "field_required"},
		{"no product", func(c *settlement.Claim) { c.Product = "" }, "product", "field_required"},
		{"product of 33 characters", func(c *settlement.Claim) { c.Product = strings.Repeat("p", 33) }, "product", "field_required"},
		{"no from", func(c *settlement.Claim) { c.From = 0 }, "from", "field_required"},
		{"no to", func(c *settlement.Claim) { c.To = 0 }, "from", "field_required"},
		{"to before from", func(c *settlement.Claim) { c.To = c.From - 1 }, "to", "period_invalid"},
		{"367 days", func(c *settlement.Claim) { c.To = c.From + 366 }, "to", "period_invalid"},
		{"zero units", func(c *settlement.Claim) { c.Units = 0 }, "units", "units_invalid"},
		{"negative units", func(c *settlement.Claim) { c.Units = -100 }, "units", "units_invalid"},
		{"zero unit price", func(c *settlement.Claim) { c.UnitPrice = 0 }, "unit_price", "unit_price_invalid"},
		{"negative unit price", func(c *settlement.Claim) { c.UnitPrice = -1 }, "unit_price", "unit_price_invalid"},
		{"amount out of range", func(c *settlement.Claim) { c.Units, c.UnitPrice = 1<<40, 1<<40 }, "units", "amount_range"},
		{"amount rounding to zero", func(c *settlement.Claim) { c.Units, c.UnitPrice = 49, 1 }, "units", "amount_zero"},
	}
	for _, tc := range bad {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			c := validClaim(t)
			tc.change(&c)
			err := c.Validate()
			var e *regie.Error
			if !errors.As(err, &e) {
				t.Fatalf("Validate = %v, want a *regie.Error", err)
			}
			if e.Kind != regie.Invalid || e.Code != tc.code || e.Field != tc.field {
				t.Errorf("Validate = %s %s field %q, want invalid %s field %q", e.Kind, e.Code, e.Field, tc.code, tc.field)
			}
		})
	}
}

func TestClaim_Amount(t *testing.T) {
	c := validClaim(t)
	c.Units, c.UnitPrice = 150, 33
	if a, ok := c.Amount(); !ok || a != 50 {
		t.Errorf("1.5 × 0.33 = %s, %v; want 0.50", a, ok)
	}
}

func TestClaim_Fingerprint(t *testing.T) {
	base := validClaim(t)
	fp := base.Fingerprint()
	if len(fp) != 32 || strings.Trim(fp, "0123456789abcdef") != "" {
		t.Errorf("Fingerprint = %q, want 32 hex characters", fp)
	}
	same := validClaim(t)
	if same.Fingerprint() != fp {
		t.Error("the same content has another fingerprint")
	}

	changes := []struct {
		field  string
		change func(c *settlement.Claim)
	}{
		{"ProviderAGB", func(c *settlement.Claim) { c.ProviderAGB = "10000002" }},
		{"ClaimID", func(c *settlement.Claim) { c.ClaimID = "feb-2026-2" }},
		{"VoucherID", func(c *settlement.Claim) { c.VoucherID = "v2" }},
		{"Product", func(c *settlement.Claim) { c.Product = "H531" }},
		{"From", func(c *settlement.Claim) { c.From++ }},
		{"To", func(c *settlement.Claim) { c.To-- }},
		{"Units", func(c *settlement.Claim) { c.Units++ }},
		{"UnitPrice", func(c *settlement.Claim) { c.UnitPrice++ }},
		// Moving text from one field to the next must not collide.
		{"VoucherID/Product boundary", func(c *settlement.Claim) { c.VoucherID, c.Product = "v1H", "300" }},
		{"From/To swapped", func(c *settlement.Claim) { c.From, c.To = c.To, c.From }},
		{"Units/UnitPrice swapped", func(c *settlement.Claim) { c.Units, c.UnitPrice = regie.Units(c.UnitPrice), regie.Cents(c.Units) }},
	}
	seen := map[string]string{fp: "base"}
	for _, tc := range changes {
		t.Run(tc.field, func(t *testing.T) {
			c := validClaim(t)
			tc.change(&c)
			got := c.Fingerprint()
			if prev, ok := seen[got]; ok {
				t.Errorf("changing %s gives the fingerprint of %s", tc.field, prev)
			}
			seen[got] = tc.field
		})
	}
}

func TestVolumeFor(t *testing.T) {
	tests := []struct {
		name     string
		perWeek  regie.Units
		unit     string
		from, to string
		want     regie.Units
	}{
		{"one day of an hour product is one started week", 400, "hour", "2026-02-02", "2026-02-02", 400},
		{"seven days is one week", 400, "hour", "2026-02-02", "2026-02-08", 400},
		{"eight days start a second week", 400, "hour", "2026-02-02", "2026-02-09", 800},
		{"fourteen days", 400, "hour", "2026-02-02", "2026-02-15", 800},
		{"fifteen days", 400, "hour", "2026-02-02", "2026-02-16", 1200},
		{"February 2026 is four weeks", 400, "hour", "2026-02-01", "2026-02-28", 1600},
		{"March 2026 starts five weeks", 400, "hour", "2026-03-01", "2026-03-31", 2000},
		{"a year is 53 started weeks", 150, "hour", "2026-01-01", "2026-12-31", 53 * 150},
		{"dagdelen are not capped by days", 1400, "dagdeel", "2026-02-02", "2026-02-03", 1400},
		{"7 days a week over 3 days is 3 days", 700, "day", "2026-02-02", "2026-02-04", 300},
		{"7 days a week over 7 days", 700, "day", "2026-02-02", "2026-02-08", 700},
		{"7 days a week over 10 days is 10 days", 700, "day", "2026-02-02", "2026-02-11", 1000},
		{"7 days a week over February", 700, "day", "2026-02-01", "2026-02-28", 2800},
		{"3 days a week over 7 days", 300, "day", "2026-02-02", "2026-02-08", 300},
		{"3 days a week over 8 days", 300, "day", "2026-02-02", "2026-02-09", 600},
		{"3 days a week over 1 day is capped at 1 day", 300, "day", "2026-02-02", "2026-02-02", 100},
		{"half a day a week over 1 day", 50, "day", "2026-02-02", "2026-02-02", 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := settlement.VolumeFor(tc.perWeek, tc.unit, mustDate(t, tc.from), mustDate(t, tc.to))
			if got != tc.want {
				t.Errorf("VolumeFor(%s/week, %s, %s..%s) = %s, want %s", tc.perWeek, tc.unit, tc.from, tc.to, got, tc.want)
			}
		})
	}
}

// fakeState is settlement.State over plain values, for the rules of Decide.
type fakeState struct {
	v        *voucher.Voucher
	choices  []*matching.Choice
	provider *matching.Provider
	tariff   *voucher.Tariff
	overlap  bool
	region   *settlement.RegionState
	err      error
}

func (s *fakeState) Region(id string) (*settlement.RegionState, error) {
	if s.region == nil || s.region.ID != id {
		return nil, nil
	}
	cp := *s.region
	return &cp, nil
}

func (s *fakeState) Voucher(id string) (*voucher.Voucher, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.v == nil || s.v.ID != id {
		return nil, nil
	}
	cp := *s.v
	cp.Lines = append([]voucher.Line(nil), s.v.Lines...)
	return &cp, nil
}

func (s *fakeState) Choices(voucherID string) ([]*matching.Choice, error) {
	var out []*matching.Choice
	for _, c := range s.choices {
		if c.VoucherID == voucherID {
			out = append(out, c)
		}
	}
	return out, nil
}

func (s *fakeState) Provider(agb string) (*matching.Provider, error) {
	if s.provider == nil || s.provider.AGB != agb {
		return nil, nil
	}
	return s.provider, nil
}

func (s *fakeState) Tariff(product string) (voucher.Tariff, bool, error) {
	if s.tariff == nil || s.tariff.Product != product {
		return voucher.Tariff{}, false, nil
	}
	return *s.tariff, true, nil
}

func (s *fakeState) Overlaps(voucherID, product string, from, to regie.Date) (bool, error) {
	return s.overlap, nil
}

// goodState accepts validClaim on 2026-03-15.
func goodState(t *testing.T) *fakeState {
	return &fakeState{
		v: &voucher.Voucher{
			ID: "v1", Subject: "cx", Law: voucher.Wmo, Region: "r1",
			Lines:     []voucher.Line{{Product: "H300", UnitsPerWeek: 400, Units: 20857, MaxAmount: 1355705, Remaining: 1355705}},
			ValidFrom: mustDate(t, "2026-01-01"), ValidTo: mustDate(t, "2026-12-31"), State: voucher.Active,
		},
		choices: []*matching.Choice{{
			ID: "ch1", VoucherID: "v1", Product: "H300", ProviderAGB: "10000001", Region: "r1",
			Status: matching.Accepted, From: mustDate(t, "2026-01-01"), To: mustDate(t, "2026-12-31"),
		}},
		provider: &matching.Provider{AGB: "10000001", Qualified: true, Regions: []string{"r1"},
			Offers: []matching.Offer{{Product: "H300", Tariff: 6000}}},
		tariff: &voucher.Tariff{Product: "H300", Law: voucher.Wmo, Unit: "hour", MaxPrice: 6500},
		region: &settlement.RegionState{Region: settlement.Region{ID: "r1", Budget: 10000000}},
	}
}

func TestDecide(t *testing.T) {
	today := mustDate(t, "2026-03-15")

	t.Run("accepts", func(t *testing.T) {
		c := validClaim(t)
		d, v, _, err := settlement.Decide(goodState(t), c, today)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != settlement.Accepted || d.Reason != "" || d.Amount != 96000 || d.Region != "r1" {
			t.Errorf("decision = %+v", d)
		}
		if d.ProviderAGB != c.ProviderAGB || d.ClaimID != c.ClaimID || d.VoucherID != c.VoucherID || d.Product != c.Product ||
			d.From != c.From || d.To != c.To || d.Units != c.Units || d.UnitPrice != c.UnitPrice {
			t.Errorf("decision does not echo the claim: %+v", d)
		}
		if d.Fingerprint != c.Fingerprint() {
			t.Errorf("Fingerprint = %q", d.Fingerprint)
		}
		if v == nil || v.ID != "v1" {
			t.Errorf("voucher = %v, want v1 for the store to debit", v)
		}
	})

	t.Run("accepts the whole remaining balance", func(t *testing.T) {
		st := goodState(t)
		st.v.Lines[0].Remaining = 96000
		if d, _, _, _ := settlement.Decide(st, validClaim(t), today); d.Status != settlement.Accepted {
			t.Errorf("decision = %+v", d)
		}
	})

	t.Run("accepts what still fits the volume claimed so far", func(t *testing.T) {
		st := goodState(t)
		st.v.Lines[0].UnitsClaimed, st.v.Lines[0].ClaimedThrough = 2000, mustDate(t, "2026-01-31")
		if d, _, _, _ := settlement.Decide(st, validClaim(t), today); d.Status != settlement.Accepted {
			t.Errorf("decision = %+v", d)
		}
	})

	t.Run("accepts a period ending today", func(t *testing.T) {
		c := validClaim(t)
		c.From, c.To, c.Units = mustDate(t, "2026-03-09"), today, 400
		if d, _, _, _ := settlement.Decide(goodState(t), c, today); d.Status != settlement.Accepted {
			t.Errorf("decision = %+v", d)
		}
	})

	rejected := []struct {
		name   string
		state  func(st *fakeState)
		claim  func(c *settlement.Claim)
		today  string
		reason string
	}{
		{"unknown voucher", func(st *fakeState) { st.v = nil }, nil, "", settlement.ReasonVoucherUnknown},
		{"other voucher id", nil, func(c *settlement.Claim) { c.VoucherID = "v2" }, "", settlement.ReasonVoucherUnknown},
		{"revoked", func(st *fakeState) { st.v.State = voucher.Revoked }, nil, "", settlement.ReasonVoucherRevoked},
		{"suspended", func(st *fakeState) { st.v.State = voucher.Suspended }, nil, "", settlement.ReasonVoucherSuspended},
		{"expired", nil, nil, "2027-04-01", settlement.ReasonVoucherExpired},
		{"starts before validity", nil, func(c *settlement.Claim) { c.From = mustDate(t, "2025-12-31") }, "", settlement.ReasonPeriodOutsideValidity},
		{"ends after validity", func(st *fakeState) { st.v.ValidTo = mustDate(t, "2026-02-27") }, nil, "", settlement.ReasonPeriodOutsideValidity},
		{"period in the future", nil, func(c *settlement.Claim) { c.To = mustDate(t, "2026-03-16") }, "", settlement.ReasonPeriodInFuture},
		{"product not indicated", nil, func(c *settlement.Claim) { c.Product = "H531" }, "", settlement.ReasonProductNotIndicated},
		{"no choice", func(st *fakeState) { st.choices = nil }, nil, "", settlement.ReasonProviderNotAssigned},
		{"choice only requested", func(st *fakeState) { st.choices[0].Status = matching.Requested }, nil, "", settlement.ReasonProviderNotAssigned},
		{"choice declined", func(st *fakeState) { st.choices[0].Status = matching.Declined }, nil, "", settlement.ReasonProviderNotAssigned},
		{"another provider's choice", func(st *fakeState) { st.choices[0].ProviderAGB = "10000002" }, nil, "", settlement.ReasonProviderNotAssigned},
		{"choice for another product", func(st *fakeState) {
			st.choices[0].Product = "H531"
			st.v.Lines = append(st.v.Lines, voucher.Line{Product: "H531", UnitsPerWeek: 100, Remaining: 100000})
		}, nil, "", settlement.ReasonProviderNotAssigned},
		{"choice starts within the period", func(st *fakeState) { st.choices[0].From = mustDate(t, "2026-02-15") }, nil, "", settlement.ReasonProviderNotAssigned},
		{"choice ends within the period", func(st *fakeState) { st.choices[0].To = mustDate(t, "2026-02-15") }, nil, "", settlement.ReasonProviderNotAssigned},
		{"unknown provider", func(st *fakeState) { st.provider = nil }, nil, "", settlement.ReasonProviderNotQualified},
		{"unqualified provider", func(st *fakeState) { st.provider.Qualified = false }, nil, "", settlement.ReasonProviderNotQualified},
		{"price above the maximum tariff", func(st *fakeState) { st.provider.Offers[0].Tariff = 7000 }, func(c *settlement.Claim) { c.UnitPrice = 6501 }, "", settlement.ReasonPriceAboveTariff},
		{"no tariff", func(st *fakeState) { st.tariff = nil }, nil, "", settlement.ReasonPriceAboveTariff},
		{"price above the provider's tariff", nil, func(c *settlement.Claim) { c.UnitPrice = 6001 }, "", settlement.ReasonPriceAboveOwnTariff},
		{"provider does not offer the product", func(st *fakeState) { st.provider.Offers = nil }, nil, "", settlement.ReasonPriceAboveOwnTariff},
		{"units above the volume", nil, func(c *settlement.Claim) { c.Units = 1601 }, "", settlement.ReasonUnitsAboveVolume},
		// 2026-01-01 through 2026-02-28 is 59 days, 9 started weeks: 36 hours in
		// all. With 20 claimed already, 16 more fit; with 20.01, they do not.
		{"units above the volume claimed so far", func(st *fakeState) {
			st.v.Lines[0].UnitsClaimed, st.v.Lines[0].ClaimedThrough = 2001, mustDate(t, "2026-01-31")
		}, nil, "", settlement.ReasonUnitsAboveVolume},
		// Seven one-day claims in one week may not add up to seven weeks' volume.
		{"daily claims within one week", func(st *fakeState) {
			st.v.Lines[0].UnitsClaimed, st.v.Lines[0].ClaimedThrough = 400, mustDate(t, "2026-01-01")
		}, func(c *settlement.Claim) {
			c.From, c.To, c.Units = mustDate(t, "2026-01-02"), mustDate(t, "2026-01-02"), 400
		}, "", settlement.ReasonUnitsAboveVolume},
		{"overlap", func(st *fakeState) { st.overlap = true }, nil, "", settlement.ReasonPeriodOverlap},
		{"balance too low", func(st *fakeState) { st.v.Lines[0].Remaining = 95999 }, nil, "", settlement.ReasonInsufficientBalance},
		// The order of the rules: the first failing rule is the reason.
		{"suspended before outside validity", func(st *fakeState) { st.v.State = voucher.Suspended },
			func(c *settlement.Claim) { c.From = mustDate(t, "2025-01-01") }, "", settlement.ReasonVoucherSuspended},
		{"not assigned before price", func(st *fakeState) { st.choices = nil }, func(c *settlement.Claim) { c.UnitPrice = 99999 }, "", settlement.ReasonProviderNotAssigned},
		{"price before volume", nil, func(c *settlement.Claim) { c.UnitPrice, c.Units = 99999, 99999 }, "", settlement.ReasonPriceAboveTariff},
		{"overlap before volume", func(st *fakeState) { st.overlap = true }, func(c *settlement.Claim) { c.Units = 1601 }, "", settlement.ReasonPeriodOverlap},
		{"overlap before balance", func(st *fakeState) { st.overlap, st.v.Lines[0].Remaining = true, 0 }, nil, "", settlement.ReasonPeriodOverlap},
	}
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			st := goodState(t)
			if tc.state != nil {
				tc.state(st)
			}
			c := validClaim(t)
			if tc.claim != nil {
				tc.claim(&c)
			}
			day := today
			if tc.today != "" {
				day = mustDate(t, tc.today)
			}
			d, v, _, err := settlement.Decide(st, c, day)
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != settlement.Rejected || d.Reason != tc.reason {
				t.Errorf("decision = %s %q, want rejected %q", d.Status, d.Reason, tc.reason)
			}
			if d.Amount != 0 || v != nil {
				t.Errorf("a rejected claim carries amount %s and voucher %v", d.Amount, v)
			}
			if tc.reason != settlement.ReasonVoucherUnknown && d.Region != "r1" {
				t.Errorf("Region = %q, want the voucher's region", d.Region)
			}
		})
	}

	t.Run("state errors are errors", func(t *testing.T) {
		st := goodState(t)
		st.err = errors.New("disk")
		if _, _, _, err := settlement.Decide(st, validClaim(t), today); err == nil {
			t.Error("Decide hid a state error")
		}
	})
}
