package demo

import (
	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/voucher"
)

// Product codes of the demo tariff table.
const (
	VV04   = "VV04"    // Wlz zorgprofiel, per day
	VV05   = "VV05"    // Wlz zorgprofiel, per day
	VV06   = "VV06"    // Wlz zorgprofiel, per day
	VG05   = "VG05"    // Wlz zorgprofiel, per day
	LG05   = "LG05"    // Wlz zorgprofiel, per day
	WmoBeg = "WMO-BEG" // Wmo begeleiding individueel, per hour
	WmoDB  = "WMO-DB"  // Wmo dagbesteding, per dagdeel
	WmoHH  = "WMO-HH"  // Wmo huishoudelijke ondersteuning, per hour
)

// tariffs is the demo tariff table. Wlz prices are plausible NZa maximum
// tariffs for 2026 (zorgprofiel with verblijf, per day); Wmo prices are what a
// large municipality might pay per unit. They are demo figures, not the
// published ones.
var tariffs = []voucher.Tariff{
	{Product: VV04, Law: voucher.Wlz, Unit: "day", MaxPrice: 203_15,
		Name: "Zorgprofiel VV04: beschut wonen met intensieve begeleiding en uitgebreide verzorging"},
	{Product: VV05, Law: voucher.Wlz, Unit: "day", MaxPrice: 268_40,
		Name: "Zorgprofiel VV05: beschermd wonen met intensieve dementiezorg"},
	{Product: VV06, Law: voucher.Wlz, Unit: "day", MaxPrice: 255_90,
		Name: "Zorgprofiel VV06: beschermd wonen met intensieve verzorging en verpleging"},
	{Product: VG05, Law: voucher.Wlz, Unit: "day", MaxPrice: 276_85,
		Name: "Zorgprofiel VG05: wonen met zeer intensieve begeleiding en uitgebreide verzorging"},
	{Product: LG05, Law: voucher.Wlz, Unit: "day", MaxPrice: 281_30,
		Name: "Zorgprofiel LG05: wonen met intensieve begeleiding en intensieve verzorging"},
	{Product: WmoBeg, Law: voucher.Wmo, Unit: "hour", MaxPrice: 68_40,
		Name: "Begeleiding individueel"},
	{Product: WmoDB, Law: voucher.Wmo, Unit: "dagdeel", MaxPrice: 47_20,
		Name: "Dagbesteding"},
	{Product: WmoHH, Law: voucher.Wmo, Unit: "hour", MaxPrice: 36_90,
		Name: "Huishoudelijke ondersteuning"},
}

// Tariffs returns the demo tariff table.
func Tariffs() []voucher.Tariff { return append([]voucher.Tariff(nil), tariffs...) }

// maxPrice returns the maximum tariff of product; it panics on an unknown
// product, which would be a mistake in this package's tables.
func maxPrice(product string) regie.Cents {
	for _, t := range tariffs {
		if t.Product == product {
			return t.MaxPrice
		}
	}
	panic("demo: no tariff for " + product)
}
