package demo

import (
	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
)

// regionRow is one budget region of the demo data set.
type regionRow struct {
	ID     string // lowercase slug, or "gm" and the CBS code for a municipality
	Name   string
	Funder string // the concessionaire (zorgkantoor) or the municipality
	// Population is the approximate number of inhabitants, in thousands.
	Population int
	// BudgetMln is the yearly budget (contracteerruimte) in millions of euros.
	BudgetMln int64
	// Languages are languages other than Dutch that providers in the region
	// often speak, used when generating providers.
	Languages []string
}

// zorgkantoorRegions are the 31 Wlz zorgkantoor regions. Budgets scale the
// national Wlz contracteerruimte (about EUR 30 billion) by population, a little
// higher where the population is older (Zeeland, Zuid-Limburg, 't Gooi,
// Drenthe) and lower where it is younger (Flevoland, Amsterdam, Utrecht).
// They are demo figures, not the published ones.
var zorgkantoorRegions = []regionRow{
	{"groningen", "Groningen", "Menzis", 595, 1010, []string{"de", "ar"}},
	{"friesland", "Friesland", "De Friesland", 660, 1175, []string{"fy"}},
	{"drenthe", "Drenthe", "Zilveren Kruis", 500, 925, []string{"de"}},
	{"zwolle", "Zwolle", "Zilveren Kruis", 480, 795, []string{"tr"}},
	{"twente", "Twente", "Menzis", 640, 1055, []string{"de", "tr"}},
	{"midden-ijssel", "Midden-IJssel", "Salland", 225, 370, []string{"tr"}},
	{"apeldoorn-zutphen", "Apeldoorn, Zutphen e.o.", "Zilveren Kruis", 430, 710, []string{"tr"}},
	{"arnhem", "Arnhem", "Menzis", 1020, 1685, []string{"tr", "ar", "de"}},
	{"nijmegen", "Nijmegen", "VGZ", 600, 990, []string{"tr", "ar", "de"}},
	{"flevoland", "Flevoland", "Zilveren Kruis", 400, 530, []string{"srn", "pap", "ar"}},
	{"t-gooi", "'t Gooi", "Zilveren Kruis", 260, 495, []string{"en"}},
	{"utrecht", "Utrecht", "Zilveren Kruis", 1050, 1560, []string{"tr", "ar", "en", "pap"}},
	{"amersfoort", "Amersfoort", "Zilveren Kruis", 500, 825, []string{"tr", "ar"}},
	{"noord-holland-noord", "Noord-Holland Noord", "VGZ", 670, 1105, []string{"pl"}},
	{"kennemerland", "Kennemerland", "VGZ", 545, 900, []string{"en", "tr"}},
	{"zaanstreek-waterland", "Zaanstreek/Waterland", "Zilveren Kruis", 340, 560, []string{"tr", "ar"}},
	{"amsterdam", "Amsterdam", "Zilveren Kruis", 1080, 1515, []string{"en", "tr", "ar", "srn", "pap"}},
	{"zuid-holland-noord", "Zuid-Holland Noord", "Zorg en Zekerheid", 570, 940, []string{"ar", "en"}},
	{"haaglanden", "Haaglanden", "CZ", 850, 1335, []string{"en", "tr", "ar", "srn", "pap"}},
	{"delft-westland-oostland", "Delft Westland Oostland", "DSW", 380, 630, []string{"pl", "en"}},
	{"midden-holland", "Midden-Holland", "Zilveren Kruis", 270, 445, []string{"ar", "tr"}},
	{"rotterdam", "Rotterdam", "Zilveren Kruis", 1250, 1960, []string{"tr", "ar", "pap", "srn", "pl"}},
	{"waardenland", "Waardenland", "CZ", 470, 775, []string{"pl", "tr"}},
	{"zuid-hollandse-eilanden", "Zuid-Hollandse Eilanden", "CZ", 250, 445, []string{"pl"}},
	{"zeeland", "Zeeland", "CZ", 390, 740, []string{"pl"}},
	{"west-brabant", "West-Brabant", "CZ", 720, 1190, []string{"pl", "tr"}},
	{"midden-brabant", "Midden-Brabant", "CZ", 480, 795, []string{"tr", "ar"}},
	{"noordoost-brabant", "Noordoost-Brabant", "VGZ", 680, 1125, []string{"pl", "tr"}},
	{"zuidoost-brabant", "Zuidoost-Brabant", "VGZ", 790, 1305, []string{"en", "tr", "ar"}},
	{"noord-en-midden-limburg", "Noord- en Midden-Limburg", "VGZ", 520, 930, []string{"pl", "de"}},
	{"zuid-limburg", "Zuid-Limburg", "CZ", 590, 1170, []string{"de", "en"}},
}

// municipalities are the four largest municipalities (the G4) as Wmo budget
// regions, with a plausible yearly Wmo budget. Providers in these cities that
// offer a Wmo product are qualified in the municipality as well as in the
// zorgkantoor region.
var municipalities = []regionRow{
	{"gm0363", "Amsterdam (Wmo)", "Gemeente Amsterdam", 935, 310, nil},
	{"gm0599", "Rotterdam (Wmo)", "Gemeente Rotterdam", 670, 230, nil},
	{"gm0518", "Den Haag (Wmo)", "Gemeente Den Haag", 565, 185, nil},
	{"gm0344", "Utrecht (Wmo)", "Gemeente Utrecht", 375, 115, nil},
}

// Regions returns the demo budget regions for one year: the 31 zorgkantoor
// regions followed by the four G4 municipalities.
func Regions(year int) []settlement.Region {
	rows := append(append([]regionRow(nil), zorgkantoorRegions...), municipalities...)
	out := make([]settlement.Region, 0, len(rows))
	for _, r := range rows {
		out = append(out, settlement.Region{
			ID:     r.ID,
			Name:   r.Name,
			Funder: r.Funder,
			Year:   year,
			Budget: regie.Cents(r.BudgetMln * 1_000_000 * 100),
		})
	}
	return out
}

// regionByID returns the zorgkantoor region with the given id.
func regionByID(id string) (regionRow, bool) {
	for _, r := range zorgkantoorRegions {
		if r.ID == id {
			return r, true
		}
	}
	return regionRow{}, false
}
