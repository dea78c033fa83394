package storetest

import (
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store"
	"github.com/regie-nl/regie/voucher"
)

// Products of the fixture's tariff table. ProductHour and ProductDagdeel are on
// every fixture voucher; ProductOther has a tariff but is on no voucher.
const (
	ProductHour    = "wmo-begeleiding"  // priced per hour, at most 65.00
	ProductDagdeel = "wmo-dagbesteding" // priced per dagdeel, at most 45.00
	ProductOther   = "wmo-huishouden"   // priced per hour, at most 35.00
)

// Prices of the fixture.
const (
	MaxPriceHour    regie.Cents = 6500 // maximum tariff of ProductHour
	MaxPriceDagdeel regie.Cents = 4500 // maximum tariff of ProductDagdeel
	MaxPriceOther   regie.Cents = 3500 // maximum tariff of ProductOther
	ProviderPrice   regie.Cents = 6000 // the fixture provider's own tariff for ProductHour
)

// HoursPerWeek is the indicated volume of ProductHour on fixture vouchers:
// 10 hours a week, so that one hour on every day never exceeds it.
const HoursPerWeek regie.Units = 10 * regie.UnitScale

// Fixture is a small consistent data set: a region with a budget, a tariff
// table, a qualified provider, and a voucher valid through one calendar year
// with an accepted choice of the provider for its hour line. It is built in
// memory by NewFixture, may be adjusted, and is written with Put using only
// store methods, so that it suits every backend.
//
// Fixtures with different names share a store without touching each other's
// region, provider or voucher (the tariff table is common and identical).
type Fixture struct {
	Name string
	// Now is a moment after the last day of validity and within the claim
	// window: every period within validity may be claimed then.
	Now      time.Time
	Region   settlement.Region
	Tariffs  []voucher.Tariff
	Provider *matching.Provider
	Voucher  *voucher.Voucher
	// Choice is Provider's choice of ProductHour on Voucher for the whole
	// validity; Put creates and accepts it and stores the result here.
	Choice *matching.Choice
}

// Validity of every fixture voucher.
var (
	ValidFrom = mustDate("2026-01-01")
	ValidTo   = mustDate("2026-12-31")
)

func mustDate(s string) regie.Date {
	d, err := regie.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// Noon returns noon of d in Europe/Amsterdam, a moment whose civil date is d.
func Noon(d regie.Date) time.Time { return d.Time().Add(12 * time.Hour) }

// NewFixture builds a fixture whose identifiers all derive from name.
func NewFixture(name string) *Fixture {
	f := &Fixture{
		Name: name,
		Now:  Noon(ValidTo.AddDays(15)),
		Region: settlement.Region{
			ID: "gm-" + name, Name: "Gemeente " + name, Funder: "funder-" + name,
			Year: 2026, Budget: 50_000_000_00,
		},
		Tariffs: []voucher.Tariff{
			{Product: ProductHour, Law: voucher.Wmo, Name: "Begeleiding individueel", Unit: "hour", MaxPrice: MaxPriceHour},
			{Product: ProductDagdeel, Law: voucher.Wmo, Name: "Dagbesteding", Unit: "dagdeel", MaxPrice: MaxPriceDagdeel},
			{Product: ProductOther, Law: voucher.Wmo, Name: "Hulp bij het huishouden", Unit: "hour", MaxPrice: MaxPriceOther},
		},
		Provider: NewProvider("P-"+name, "gm-"+name),
	}
	f.Voucher = f.NewVoucher("v-" + name)
	f.Choice = f.NewChoice("ch-"+name, f.Voucher.ID, ProductHour, f.Provider.AGB)
	return f
}

// NewProvider returns a qualified provider in region that offers ProductHour
// at ProviderPrice and ProductDagdeel at the maximum tariff.
func NewProvider(agb, region string) *matching.Provider {
	return &matching.Provider{
		AGB: agb, KvK: "kvk-" + agb, Name: "Zorg " + agb,
		Locations: []matching.Location{{Name: "Hoofdlocatie", City: "Utrecht", Lat: 52.0907, Lon: 5.1214}},
		Offers: []matching.Offer{
			{Product: ProductHour, Tariff: ProviderPrice},
			{Product: ProductDagdeel, Tariff: MaxPriceDagdeel},
		},
		Regions:    []string{region},
		Qualified:  true,
		Languages:  []string{"nl", "en"},
		OpenPlaces: 3,
	}
}

// NewVoucher returns (in memory) a voucher in the fixture's region with the
// fixture's validity and lines for ProductHour (HoursPerWeek) and
// ProductDagdeel (2 dagdelen a week), priced like voucher.Service does.
func (f *Fixture) NewVoucher(id string) *voucher.Voucher {
	v := &voucher.Voucher{
		ID: id, Subject: "subj-" + f.Name, Law: voucher.Wmo, Region: f.Region.ID,
		ValidFrom: ValidFrom, ValidTo: ValidTo,
		IssuedAt: time.Date(2025, 12, 15, 9, 0, 0, 0, time.UTC),
		KeyID:    "k-test", State: voucher.Active,
	}
	days := int64(ValidFrom.DaysThrough(ValidTo))
	for _, l := range []struct {
		product string
		perWeek regie.Units
		price   regie.Cents
	}{{ProductHour, HoursPerWeek, MaxPriceHour}, {ProductDagdeel, 200, MaxPriceDagdeel}} {
		units := regie.Units((2*int64(l.perWeek)*days + 7) / 14)
		amount, _ := regie.LineAmount(units, l.price)
		v.Lines = append(v.Lines, voucher.Line{
			Product: l.product, UnitsPerWeek: l.perWeek, Units: units, MaxAmount: amount, Remaining: amount,
		})
	}
	return v
}

// NewChoice returns (in memory) a requested choice for the whole validity.
func (f *Fixture) NewChoice(id, voucherID, product, agb string) *matching.Choice {
	return &matching.Choice{
		ID: id, VoucherID: voucherID, Product: product, ProviderAGB: agb,
		Subject: "subj-" + f.Name, Region: f.Region.ID, Status: matching.Requested,
		From: ValidFrom, To: ValidTo,
		CreatedAt: time.Date(2025, 12, 16, 10, 0, 0, 0, time.UTC),
	}
}

// Put writes the fixture with store methods: region, tariffs, provider,
// voucher (with token "token-<id>") and the choice, which it then accepts.
func (f *Fixture) Put(t testing.TB, s store.Store) {
	t.Helper()
	ctx := t.Context()
	if err := s.PutRegion(ctx, f.Region); err != nil {
		t.Fatalf("PutRegion: %v", err)
	}
	for _, tr := range f.Tariffs {
		if err := s.PutTariff(ctx, tr); err != nil {
			t.Fatalf("PutTariff: %v", err)
		}
	}
	if err := s.PutProvider(ctx, f.Provider); err != nil {
		t.Fatalf("PutProvider: %v", err)
	}
	if err := s.CreateVoucher(ctx, f.Voucher, "token-"+f.Voucher.ID); err != nil {
		t.Fatalf("CreateVoucher: %v", err)
	}
	f.Choice = AcceptChoice(t, s, f.Choice)
}

// AddVoucher creates one more voucher like the fixture's, with an accepted
// choice of the fixture's provider for ProductHour, and returns it.
func (f *Fixture) AddVoucher(t testing.TB, s store.Store, id string) *voucher.Voucher {
	t.Helper()
	v := f.NewVoucher(id)
	if err := s.CreateVoucher(t.Context(), v, "token-"+id); err != nil {
		t.Fatalf("CreateVoucher %s: %v", id, err)
	}
	AcceptChoice(t, s, f.NewChoice("ch-"+id, id, ProductHour, f.Provider.AGB))
	return v
}

// AcceptChoice creates the choice and accepts it, and returns it as stored.
func AcceptChoice(t testing.TB, s store.Store, c *matching.Choice) *matching.Choice {
	t.Helper()
	if err := s.CreateChoice(t.Context(), c); err != nil {
		t.Fatalf("CreateChoice %s: %v", c.ID, err)
	}
	got, err := s.DecideChoice(t.Context(), c.ID, matching.Accepted, "", c.CreatedAt.Add(time.Hour))
	if err != nil {
		t.Fatalf("DecideChoice %s: %v", c.ID, err)
	}
	return got
}

// Day returns the n-th day of validity (Day(0) is ValidFrom).
func Day(n int) regie.Date { return ValidFrom.AddDays(n) }

// Claim returns a claim that is accepted on a fresh fixture: one hour of
// ProductHour on the given day at the provider's tariff (60.00).
func (f *Fixture) Claim(id string, day regie.Date) settlement.Claim {
	return f.ClaimOn(f.Voucher.ID, id, day)
}

// ClaimOn is Claim on another voucher of the fixture (see AddVoucher).
func (f *Fixture) ClaimOn(voucherID, id string, day regie.Date) settlement.Claim {
	return settlement.Claim{
		ProviderAGB: f.Provider.AGB, ClaimID: id, VoucherID: voucherID, Product: ProductHour,
		From: day, To: day, Units: 1 * regie.UnitScale, UnitPrice: ProviderPrice,
	}
}
