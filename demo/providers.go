package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/voucher"
)

// DemoProviderAGB is the AGB code of Zorghuis De Linde in Utrecht, the provider
// the demo provider user logs in as. It offers VV04, VV05, WMO-BEG and WMO-DB.
const DemoProviderAGB = "98214036"

// ClientHome is where the demo client lives: the centre of Utrecht.
var ClientHome = matching.Location{Name: "Thuis", City: "Utrecht", Lat: 52.0907, Lon: 5.1214}

// Providers returns the demo providers ordered by AGB code: a hand-written set
// around Utrecht, so that the demo client finds several providers of every
// product nearby, and about 190 more generated with a fixed seed all over the
// country. Every call returns the same data.
func Providers() []*matching.Provider {
	out := utrechtProviders()
	used := make(map[string]bool)
	for _, p := range out {
		used[p.AGB] = true
		used["kvk:"+p.KvK] = true
		used["name:"+p.Name] = true
	}
	g := &generator{rng: rand.New(rand.NewPCG(20260101, 0x7265676965)), used: used}
	for _, r := range zorgkantoorRegions {
		out = append(out, g.region(r)...)
	}
	for _, p := range out {
		addMunicipality(p)
	}
	slices.SortFunc(out, func(a, b *matching.Provider) int { return strings.Compare(a.AGB, b.AGB) })
	return out
}

// Generate returns n providers spread over the Netherlands, for benchmarks
// and load tests: each zorgkantoor region gets its share by population, its
// largest town about 40% of it, and every provider lies some kilometres around
// its town. They are made like the demo's generated providers, from seed, so
// the same arguments give the same providers. Every provider is qualified in
// the regions it lists from `from` through `to` (in Qualifications), except
// one in 41, which is pending. n is at most 500,000.
func Generate(n int, seed uint64, from, to regie.Date) []*matching.Provider {
	n = min(max(n, 0), 500_000)
	g := &generator{rng: rand.New(rand.NewPCG(seed, 0x62756c6b)), used: make(map[string]bool), bulk: true}
	total := 0
	for _, r := range zorgkantoorRegions {
		total += r.Population
	}
	out := make([]*matching.Provider, 0, n)
	for i, r := range zorgkantoorRegions {
		share := n * r.Population / total
		if i == len(zorgkantoorRegions)-1 {
			share = n - len(out)
		}
		ps := placesIn(r.ID)
		for range share {
			at := 0
			if !g.chance(40) {
				at = g.rng.IntN(len(ps))
			}
			p := g.provider(r, ps, at)
			addMunicipality(p)
			for _, region := range p.Regions {
				q := matching.Qualification{Region: region}
				if p.Qualified {
					q.Periods = []matching.Period{{From: from, To: to}}
				}
				p.Qualifications = append(p.Qualifications, q)
			}
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *matching.Provider) int { return strings.Compare(a.AGB, b.AGB) })
	return out
}

// FunderCriteria are the qualification criteria the demo funders set: the
// zorgkantoor Utrecht asks the whole catalogue, and of teams up to 12 people
// the small-scale set, with warnings 45 days ahead. Every other region has
// matching.DefaultCriteria.
func FunderCriteria() []matching.Criteria {
	return []matching.Criteria{{
		Region: "utrecht",
		Required: []matching.Criterion{
			matching.CriterionWtza, matching.CriterionVOG, matching.CriterionLiability, matching.CriterionComplaints,
			matching.CriterionPrivacy, matching.CriterionQuality, matching.CriterionAGB, matching.CriterionKvK,
		},
		SmallScale: []matching.Criterion{
			matching.CriterionWtza, matching.CriterionVOG, matching.CriterionComplaints, matching.CriterionQuality,
			matching.CriterionAGB, matching.CriterionKvK,
		},
		SmallScaleMaxTeam: 12,
		WarnDays:          45,
		UpdatedBy:         FunderSubject,
	}}
}

func criteriaOf(region string) matching.Criteria {
	for _, c := range FunderCriteria() {
		if c.Region == region {
			return c
		}
	}
	return matching.DefaultCriteria(region)
}

// reference is the document a piece of demo evidence refers to.
var reference = map[matching.Criterion]string{
	matching.CriterionWtza:       "Wtza-melding Landelijk Register Zorgaanbieders",
	matching.CriterionVOG:        "VOG RP, Justis",
	matching.CriterionLiability:  "Polis aansprakelijkheid EUR 2,5 mln",
	matching.CriterionComplaints: "Klachtenregeling en aansluiting geschilleninstantie",
	matching.CriterionPrivacy:    "Privacyverklaring",
	matching.CriterionQuality:    "Kwaliteitskader kleinschalige zorg",
	matching.CriterionAGB:        "AGB-register Vektis",
	matching.CriterionKvK:        "Uittreksel Handelsregister",
}

// Qualify gives the providers evidence for every criterion their funders ask
// in every region they list, approved in December of the year before and
// valid through the end of the next year, and judges them on January 1
// (matching.Evaluate). The providers marked qualified were so before: they
// come from the funders' contract registers with a standing since January 1,
// five years back, which their evidence now continues, so that care from
// those years stays payable (loadgen claims up to four years back). A
// provider marked unqualified has its Wtza registration and VOG still waiting
// for review. It returns the evidence.
func Qualify(ps []*matching.Provider, year int) []*matching.Evidence {
	civil := func(y int, m time.Month, d int) regie.Date {
		return regie.Date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
	}
	since, jan1, endOfNext := civil(year-5, 1, 1), civil(year, 1, 1), civil(year+1, 12, 31)
	submitted := time.Date(year-1, 12, 1, 9, 0, 0, 0, time.UTC)
	reviewed := time.Date(year-1, 12, 15, 14, 0, 0, 0, time.UTC)
	var out []*matching.Evidence
	for _, p := range ps {
		var evidence []*matching.Evidence
		p.Qualifications = nil
		for _, r := range p.Regions {
			if p.Qualified {
				p.Qualifications = append(p.Qualifications, matching.Qualification{Region: r, Periods: []matching.Period{{From: since}}})
			}
			crit := criteriaOf(r)
			set, _ := crit.For(p.TeamSize)
			for _, c := range set {
				e := &matching.Evidence{
					ID: fmt.Sprintf("ev-%s-%s-%s", p.AGB, r, c), ProviderAGB: p.AGB, Region: r, Criterion: c,
					Reference: reference[c], ValidUntil: endOfNext,
					Status: matching.Approved, SubmittedAt: submitted, ReviewedAt: reviewed, ReviewedBy: "demo-funder-" + r,
				}
				if r == "utrecht" {
					e.ReviewedBy = FunderSubject
				}
				if !p.Qualified && (c == matching.CriterionWtza || c == matching.CriterionVOG) {
					e.Status, e.ReviewedAt, e.ReviewedBy = matching.Submitted, time.Time{}, ""
				}
				evidence = append(evidence, e)
			}
		}
		matching.Evaluate(p, evidence, criteriaOf, jan1, false)
		out = append(out, evidence...)
	}
	return out
}

// addMunicipality qualifies a provider that offers Wmo care in one of the G4
// cities in that municipality's Wmo region too.
func addMunicipality(p *matching.Provider) {
	gm, ok := municipalityOf[p.Locations[0].City]
	if !ok {
		return
	}
	for _, o := range p.Offers {
		if lawOf(o.Product) == voucher.Wmo {
			p.Regions = append(p.Regions, gm)
			return
		}
	}
}

func lawOf(product string) voucher.Law {
	for _, t := range tariffs {
		if t.Product == product {
			return t.Law
		}
	}
	return ""
}

// offersAt returns offers of the products at pct percent of their maximum
// tariff, rounded down to whole cents, so never above the maximum.
func offersAt(pct int64, products ...string) []matching.Offer {
	out := make([]matching.Offer, 0, len(products))
	for _, p := range products {
		out = append(out, matching.Offer{Product: p, Tariff: regie.Cents(int64(maxPrice(p)) * pct / 100)})
	}
	return out
}

func loc(name, city string, lat, lon float64) []matching.Location {
	return []matching.Location{{Name: name, City: city, Lat: lat, Lon: lon}}
}

// utrechtProviders are written out by hand: every product has at least three
// qualified providers in region utrecht within 25 km of the city centre.
func utrechtProviders() []*matching.Provider {
	u := []string{"utrecht"}
	return []*matching.Provider{
		{
			AGB: DemoProviderAGB, KvK: "71846203", Name: "Zorghuis De Linde",
			Description: "Kleinschalig wonen in Lombok voor twaalf ouderen, veel met dementie. Eigen kamer, samen koken en een vast team. Overdag dagbesteding in de huiskamer, ook voor buurtbewoners, en begeleiding aan huis.",
			Locations:   loc("De Linde, Lombok", "Utrecht", 52.0935, 5.1030),
			Offers:      offersAt(96, VV04, VV05, WmoBeg, WmoDB),
			Regions:     u, Qualified: true,
			Languages: []string{"nl", "en", "tr"}, Expertise: []string{"dementie"}, Identity: []string{"lhbti+-vriendelijk"},
			Settings: []string{"kleinschalig-wonen", "dagbesteding", "thuis"},
			TeamSize: 16, OpenPlaces: 2, WaitingWeeks: 3, Professionals: []string{"Marloes", "Ahmet", "Joke", "Sven"},
		},
		{
			AGB: "98117420", KvK: "68530917", Name: "Zorgboerderij De Kromme Rijn",
			Description: "Zorgboerderij aan de Kromme Rijn met koeien, kippen en een grote moestuin. Dagbesteding en begeleiding voor mensen met een licht verstandelijke beperking, autisme of hersenletsel; zes bewoners wonen op het erf.",
			Locations:   loc("Boerderij", "Bunnik", 52.0667, 5.1972),
			Offers:      offersAt(92, VG05, WmoBeg, WmoDB),
			Regions:     u, Qualified: true,
			Languages: []string{"nl"}, Expertise: []string{"lvb", "autisme", "nah"},
			Settings: []string{"dagbesteding", "kleinschalig-wonen"},
			TeamSize: 9, OpenPlaces: 4, WaitingWeeks: 2,
		},
		{
			AGB: "98305581", KvK: "74120386", Name: "Thuiszorg Hart van Utrecht",
			Description: "Thuiszorg en huishoudelijke hulp in Kanaleneiland en omgeving, door een klein team dat Turks, Arabisch en Tamazight spreekt. Zorg met respect voor geloof en gewoonten.",
			Locations:   loc("Kantoor Kanaleneiland", "Utrecht", 52.0710, 5.0960),
			Offers:      offersAt(95, VV04, WmoBeg, WmoHH),
			Regions:     u, Qualified: true,
			Languages: []string{"nl", "tr", "ar", "ber"}, Expertise: []string{"dementie"}, Identity: []string{"islamitisch", "turks", "marokkaans"},
			Settings: []string{"thuis"},
			TeamSize: 14, OpenPlaces: 6, WaitingWeeks: 1, Professionals: []string{"Ayşe", "Fatima", "Youssef"},
		},
		{
			AGB: "98162297", KvK: "59217743", Name: "Kleinschalig wonen Het Zonnehof",
			Description: "Christelijke woonvorm in een villa in Zeist voor achttien ouderen die veel zorg nodig hebben, ook bij dementie. Dagopening, zang en een eigen tuin.",
			Locations:   loc("Het Zonnehof", "Zeist", 52.0894, 5.2331),
			Offers:      offersAt(100, VV04, VV05, VV06),
			Regions:     u, Qualified: true,
			Languages: []string{"nl"}, Expertise: []string{"dementie", "palliatief"}, Identity: []string{"christelijk"},
			Settings: []string{"kleinschalig-wonen"},
			TeamSize: 24, OpenPlaces: 1, WaitingWeeks: 12,
		},
		{
			AGB: "98273014", KvK: "80431265", Name: "Begeleiding Sanne Verhoef",
			Description: "Zelfstandig agogisch begeleider (zzp) in Nieuwegein en omgeving. Structuur in huis, administratie en dagritme, voor mensen met autisme of psychische kwetsbaarheid.",
			Locations:   loc("", "Nieuwegein", 52.0292, 5.0808),
			Offers:      offersAt(90, WmoBeg),
			Regions:     u, Qualified: true,
			Languages: []string{"nl", "en"}, Expertise: []string{"autisme", "ggz"},
			Settings: []string{"thuis"},
			TeamSize: 1, OpenPlaces: 2, WaitingWeeks: 0, Professionals: []string{"Sanne"},
		},
		{
			AGB: "98188652", KvK: "66390128", Name: "Dagbesteding De Werkplaats",
			Description: "Dagbesteding in Overvecht met een houtwerkplaats, fietsenmakerij en kookgroep. Voor mensen met hersenletsel, een psychische kwetsbaarheid of een licht verstandelijke beperking.",
			Locations:   loc("De Werkplaats", "Utrecht", 52.1160, 5.1130),
			Offers:      offersAt(94, WmoBeg, WmoDB),
			Regions:     u, Qualified: true,
			Languages: []string{"nl", "ar"}, Expertise: []string{"nah", "ggz", "lvb"},
			Settings: []string{"dagbesteding"},
			TeamSize: 7, OpenPlaces: 8, WaitingWeeks: 1,
		},
		{
			AGB: "98241109", KvK: "77015249", Name: "Woonzorg Lichtpunt",
			Description: "Woonvorm in Houten voor jonge mensen met een lichamelijke beperking of niet-aangeboren hersenletsel. Eigen appartement, zorg dag en nacht dichtbij en dagbesteding in huis.",
			Locations:   loc("Lichtpunt", "Houten", 52.0283, 5.1681),
			Offers:      offersAt(97, VG05, LG05, WmoDB),
			Regions:     u, Qualified: true,
			Languages: []string{"nl", "en"}, Expertise: []string{"nah", "lichamelijke-beperking"},
			Settings: []string{"kleinschalig-wonen", "dagbesteding"},
			TeamSize: 20, OpenPlaces: 1, WaitingWeeks: 16,
		},
		{
			AGB: "98290437", KvK: "81742630", Name: "Schoon & Fijn Huishoudelijke Hulp",
			Description: "Huishoudelijke ondersteuning in IJsselstein en Nieuwegein met vaste hulpen, die ook een oogje in het zeil houden.",
			Locations:   loc("", "IJsselstein", 52.0203, 5.0433),
			Offers:      offersAt(88, WmoHH),
			Regions:     u, Qualified: true,
			Languages: []string{"nl", "pl"}, Expertise: nil,
			Settings: []string{"thuis"},
			TeamSize: 11, OpenPlaces: 9, WaitingWeeks: 0,
		},
		{
			AGB: "98135768", KvK: "62984517", Name: "Hofje Oudwijk",
			Description: "Hofje met tien kamers in Oudwijk voor ouderen met dementie of in hun laatste levensfase. Rustig, dichtbij het centrum en met ruimte voor familie.",
			Locations:   loc("Hofje Oudwijk", "Utrecht", 52.0875, 5.1340),
			Offers:      offersAt(99, VV05, VV06),
			Regions:     u, Qualified: true,
			Languages: []string{"nl", "en"}, Expertise: []string{"dementie", "palliatief"}, Identity: []string{"lhbti+-vriendelijk"},
			Settings: []string{"kleinschalig-wonen"},
			TeamSize: 15, OpenPlaces: 0, WaitingWeeks: 20,
		},
		{
			AGB: "98226915", KvK: "70358841", Name: "Woongroep Ons Huis",
			Description: "Christelijke woongroep in De Bilt voor acht volwassenen met een verstandelijke of lichamelijke beperking. Samen eten, werken in de buurt en een vast team.",
			Locations:   loc("Ons Huis", "De Bilt", 52.1100, 5.1806),
			Offers:      offersAt(93, VG05, LG05),
			Regions:     u, Qualified: true,
			Languages: []string{"nl"}, Expertise: []string{"lvb", "autisme"}, Identity: []string{"christelijk"},
			Settings: []string{"kleinschalig-wonen"},
			TeamSize: 12, OpenPlaces: 1, WaitingWeeks: 26,
		},
		{
			AGB: "98157043", KvK: "75603192", Name: "Zorg Mi Kas",
			Description: "Begeleiding en huishoudelijke hulp aan huis door een Antilliaans-Surinaams team uit Utrecht. Wij spreken Papiaments en Sranantongo.",
			Locations:   loc("", "Utrecht", 52.0990, 5.0560),
			Offers:      offersAt(91, WmoBeg, WmoHH),
			Regions:     u, Qualified: true,
			Languages: []string{"nl", "pap", "srn", "en"}, Expertise: []string{"ggz"}, Identity: []string{"antilliaans", "surinaams"},
			Settings: []string{"thuis"},
			TeamSize: 6, OpenPlaces: 3, WaitingWeeks: 1, Professionals: []string{"Shirley", "Rignald", "Germaine"},
		},
		{
			AGB: "98208871", KvK: "64271508", Name: "Thuiszorg Vecht en Plassen",
			Description: "Kleine thuiszorgorganisatie in Maarssen en Breukelen: volledig pakket thuis, verpleging en huishoudelijke hulp, met vaste gezichten aan huis.",
			Locations:   loc("Kantoor", "Maarssen", 52.1350, 5.0417),
			Offers:      offersAt(95, VV04, VV06, WmoHH),
			Regions:     u, Qualified: true,
			Languages: []string{"nl"}, Expertise: []string{"palliatief", "dementie"},
			Settings: []string{"thuis"},
			TeamSize: 19, OpenPlaces: 4, WaitingWeeks: 2,
		},
		{
			AGB: "98319264", KvK: "83095714", Name: "Wooninitiatief De Brug",
			Description: "Ouderinitiatief in Woerden: zes jongvolwassenen met hersenletsel of een lichamelijke beperking wonen samen, met begeleiding dag en nacht.",
			Locations:   loc("De Brug", "Woerden", 52.0850, 4.8833),
			Offers:      offersAt(98, LG05, WmoBeg),
			Regions:     u, Qualified: true,
			Languages: []string{"nl"}, Expertise: []string{"nah", "lichamelijke-beperking"},
			Settings: []string{"kleinschalig-wonen"},
			TeamSize: 10, OpenPlaces: 0, WaitingWeeks: 30,
		},
		{
			AGB: "98170582", KvK: "85216439", Name: "Kleinschalige zorg De Nieuwe Dageraad",
			Description: "Nieuwe kleinschalige woonvorm in Odijk, geopend dit jaar. De Wtza-melding en de VOG zijn nog in behandeling; daarom nog niet gekwalificeerd.",
			Locations:   loc("De Nieuwe Dageraad", "Odijk", 52.0533, 5.2353),
			Offers:      offersAt(90, VV05, WmoDB),
			Regions:     u, Qualified: false,
			Languages: []string{"nl"}, Expertise: []string{"dementie"},
			Settings: []string{"kleinschalig-wonen", "dagbesteding"},
			TeamSize: 8, OpenPlaces: 6, WaitingWeeks: 0,
		},
	}
}

// kind is the sort of small-scale provider the generator makes.
type kind int

const (
	wonenOuderen     kind = iota // kleinschalig wonen for the elderly (VV)
	wonenBeperking               // woongroep for people with a disability (VG, LG)
	zorgboerderij                // care farm: dagbesteding, sometimes wonen
	thuiszorg                    // home care
	zzp                          // a self-employed professional
	dagbestedingKind             // day activities
)

var kindWeights = []int{22, 12, 14, 20, 18, 14}

// culture gives names to providers whose team speaks a language besides Dutch.
type culture struct {
	first, last []string
	// houses are names for a house or organisation in that language.
	houses []string
	// identity is an identity code the culture often comes with, if any.
	identity string
}

var cultures = map[string]culture{
	"nl": {
		first: []string{"Anouk", "Sanne", "Marieke", "Ilse", "Joost", "Daan", "Lotte", "Kees", "Gerda", "Esther", "Wim", "Petra", "Bas", "Femke", "Ingrid", "Martijn", "Linda", "Ruud", "Yvonne", "Hanneke"},
		last:  []string{"de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkman", "van Dam", "Verhoeven"},
	},
	"fy": {
		first:  []string{"Tjitske", "Wietske", "Sietse", "Jelle", "Froukje", "Hylke", "Sjoukje", "Durk"},
		last:   []string{"Dijkstra", "Hoekstra", "Postma", "Bouma", "Wiersma", "Terpstra", "Hellinga", "Zijlstra"},
		houses: []string{"Thús", "De Mienskip", "It Sinnehûs", "De Terp"},
	},
	"tr": {
		first:    []string{"Ayşe", "Mehmet", "Emine", "Hatice", "Mustafa", "Elif", "Zeynep", "Hasan"},
		last:     []string{"Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Öztürk", "Aydın", "Arslan"},
		houses:   []string{"Huzur", "Sevgi", "Şefkat", "Yuva"},
		identity: "islamitisch",
	},
	"ar": {
		first:    []string{"Fatima", "Youssef", "Khadija", "Mohamed", "Naima", "Samira", "Karim", "Hanan"},
		last:     []string{"El Amrani", "Bouzid", "El Idrissi", "Benali", "Azzouzi", "Ouali", "El Khatib", "Bakkali"},
		houses:   []string{"Rahma", "Dar Salam", "Al Amal", "Baraka"},
		identity: "islamitisch",
	},
	"pap": {
		first:  []string{"Shirley", "Jurgen", "Giselle", "Ruthmilda", "Rignald", "Sharline"},
		last:   []string{"Martina", "Isenia", "Statia", "Rosaria", "Doran", "Girigorie"},
		houses: []string{"Mi Kas", "Bon Bida", "Kas di Amor"},
	},
	"srn": {
		first:    []string{"Priya", "Ravi", "Sharda", "Anand", "Germaine", "Ricardo"},
		last:     []string{"Ramdin", "Jagesar", "Sewnath", "Biharie", "Pinas", "Wijngaarde"},
		houses:   []string{"Shanti", "Seva", "Switi Oso"},
		identity: "hindoestaans",
	},
	"pl": {
		first:  []string{"Agnieszka", "Katarzyna", "Marta", "Piotr", "Joanna", "Tomasz"},
		last:   []string{"Nowak", "Wójcik", "Mazur", "Krawczyk", "Kaczmarek", "Zając"},
		houses: []string{"Pomocna Dłoń", "Dom Spokoju"},
	},
}

var (
	houseNames = []string{"Het Anker", "De Lindehof", "De Notenboom", "Het Zonnehuis", "De Kastanje", "De Vredehof", "De Waterlelie", "Het Baken", "De Meidoorn", "De Vlinder", "Het Koetshuis", "De Pastorie", "De Oude Bakkerij", "De Boterbloem", "Het Wilgenhuis", "De Morgenster", "Het Lindehuis", "De Regenboog", "Het Bolwerk", "De Hoge Hoed", "Het Slot", "De Tuinkamer", "De Zeshoek", "Welgelegen", "De Oude School", "Het Weeshuis", "De Vijverhof", "Het Park"}
	farmNames  = []string{"De Eikenhof", "De Hoeve", "'t Erf", "De Boomgaard", "Het Klaverblad", "De Wilgenhoeve", "De Zonnehoeve", "De Kleine Weide", "De Vlasakker", "Het Hooiland", "De Appelgaard", "De Zwaluw", "De Kievit", "De Beukenhorst", "De Hazelaar", "De Ooievaar", "De Wei", "De Marke", "Het Veenhuis", "De Es"}
	homeCare   = []string{"Om de Hoek", "Dichtbij", "Met Aandacht", "Van Hier", "Samen Thuis", "Zorgzaam", "In de Buurt", "Vertrouwd", "Aan Huis", "Hand in Hand"}
	christian  = []string{"Elim", "Bethanië", "De Schuilplaats", "Het Mosterdzaadje", "Rehoboth", "Salem"}
)

var wonenPrefixes = map[kind][]string{
	wonenOuderen:     {"Kleinschalig wonen", "Woonzorghuis", "Zorgvilla", "Hofje", "Zorghuis"},
	wonenBeperking:   {"Woongroep", "Wooninitiatief", "Woonzorg", "Woonhuis"},
	dagbestedingKind: {"Dagbesteding", "Atelier", "Ontmoetingscentrum", "Werkplaats"},
}

var expertisePool = map[kind][]string{
	wonenOuderen:     {"dementie", "dementie", "palliatief", "parkinson", "korsakov"},
	wonenBeperking:   {"lvb", "autisme", "nah", "lichamelijke-beperking"},
	zorgboerderij:    {"lvb", "autisme", "dementie", "nah", "ggz"},
	thuiszorg:        {"dementie", "palliatief", "ggz", "nah"},
	zzp:              {"autisme", "ggz", "lvb", "nah", "dementie"},
	dagbestedingKind: {"dementie", "nah", "ggz", "lvb", "autisme"},
}

// generator makes providers from a seeded source; used holds the AGB codes,
// KvK numbers ("kvk:…") and names ("name:…") already taken.
type generator struct {
	rng  *rand.Rand
	used map[string]bool
	n    int // providers made so far
	// bulk is set by Generate: names may repeat, and locations scatter a
	// few kilometres around their town instead of one.
	bulk bool
}

func (g *generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }
func (g *generator) chance(pct int) bool       { return g.rng.IntN(100) < pct }
func (g *generator) between(lo, hi int) int    { return lo + g.rng.IntN(hi-lo+1) }

// region makes the providers of one zorgkantoor region: three plus one for
// every 170,000 inhabitants, and six more around Utrecht.
func (g *generator) region(r regionRow) []*matching.Provider {
	n := 3 + r.Population/170
	if r.ID == "utrecht" {
		n += 6
	}
	ps := placesIn(r.ID)
	offset := g.rng.IntN(len(ps))
	out := make([]*matching.Provider, 0, n)
	for i := range n {
		out = append(out, g.provider(r, ps, (offset+i)%len(ps)))
	}
	return out
}

func (g *generator) provider(r regionRow, ps []place, at int) *matching.Provider {
	g.n++
	k := kind(g.weighted(kindWeights))
	pl := ps[at]

	lang := "nl"
	if len(r.Languages) > 0 && g.chance(30) {
		lang = g.pick(r.Languages)
	}
	languages := []string{"nl"}
	if lang != "nl" {
		languages = append(languages, lang)
	}
	if other := g.pick(append([]string{"en"}, r.Languages...)); !slices.Contains(languages, other) && g.chance(25) {
		languages = append(languages, other)
	}
	if lang == "ar" && g.chance(50) {
		languages = append(languages, "ber")
	}

	expertise := []string{g.pick(expertisePool[k])}
	if second := g.pick(expertisePool[k]); second != expertise[0] && g.chance(50) {
		expertise = append(expertise, second)
	}
	var identity []string
	cult, hasCulture := cultures[lang]
	switch {
	case hasCulture && cult.identity != "" && g.chance(60):
		identity = append(identity, cult.identity)
	case lang == "nl" && g.chance(12):
		identity = append(identity, "christelijk")
	case g.chance(8):
		identity = append(identity, "lhbti+-vriendelijk")
	}

	p := &matching.Provider{
		AGB:       g.unique("", func() string { return fmt.Sprintf("98%06d", g.rng.IntN(1_000_000)) }),
		KvK:       g.unique("kvk:", func() string { return fmt.Sprintf("%08d", 50_000_000+g.rng.IntN(40_000_000)) }),
		Regions:   []string{r.ID},
		Qualified: g.n%41 != 0, // a handful are not (yet) qualified
		Languages: languages,
		Expertise: expertise,
		Identity:  identity,
	}
	if g.bulk {
		p.Name = g.name(k, lang, identity, pl.City)
	} else {
		p.Name = g.unique("name:", func() string { return g.name(k, lang, identity, pl.City) })
	}
	p.Offers = g.offers(k)
	p.Settings = settingsOf(k, p.Offers)
	p.TeamSize, p.OpenPlaces, p.WaitingWeeks = g.capacity(k)
	names := cultures["nl"].first
	if hasCulture {
		names = cult.first
	}
	for range min(p.TeamSize, g.between(1, 4)) {
		if name := g.pick(names); !slices.Contains(p.Professionals, name) {
			p.Professionals = append(p.Professionals, name)
		}
	}
	p.Locations = []matching.Location{g.near(pl, "Hoofdlocatie")}
	if (k == wonenOuderen || k == thuiszorg || k == dagbestedingKind) && len(ps) > 1 && g.chance(15) {
		second := ps[(at+1+g.rng.IntN(len(ps)-1))%len(ps)]
		if second.City != pl.City {
			p.Locations = append(p.Locations, g.near(second, "Locatie "+second.City))
		}
	}
	p.Description = describe(k, p, pl.City)
	return p
}

func (g *generator) weighted(weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	x := g.rng.IntN(total)
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// unique draws values until one is not yet used under the prefix.
func (g *generator) unique(prefix string, draw func() string) string {
	for {
		v := draw()
		if !g.used[prefix+v] {
			g.used[prefix+v] = true
			return v
		}
	}
}

func (g *generator) name(k kind, lang string, identity []string, city string) string {
	cult, ok := cultures[lang]
	if !ok {
		cult = cultures["nl"]
	}
	house, cultural := g.pick(houseNames), false
	if len(cult.houses) > 0 && g.chance(60) {
		house, cultural = g.pick(cult.houses), true
	} else if slices.Contains(identity, "christelijk") && g.chance(60) {
		house = g.pick(christian)
	}
	var name string
	switch k {
	case wonenOuderen, wonenBeperking, dagbestedingKind:
		name = g.pick(wonenPrefixes[k]) + " " + house
	case zorgboerderij:
		name = "Zorgboerderij " + g.pick(farmNames)
	case thuiszorg:
		if cultural {
			name = "Thuiszorg " + house
		} else {
			name = "Thuiszorg " + g.pick(homeCare) + " " + city
		}
	case zzp:
		person := g.pick(cult.first) + " " + g.pick(cult.last)
		switch g.rng.IntN(4) {
		case 0:
			name = person + " Zorg & Begeleiding"
		case 1:
			name = "Begeleiding " + person
		case 2:
			name = person + ", zzp-verpleegkundige"
		default:
			name = "Zorg door " + strings.Fields(person)[0] + " (" + city + ")"
		}
	}
	if g.used["name:"+name] {
		name += " " + city
	}
	return name
}

func (g *generator) offers(k kind) []matching.Offer {
	var products []string
	add := func(p string, pct int) {
		if g.chance(pct) {
			products = append(products, p)
		}
	}
	switch k {
	case wonenOuderen:
		for len(products) == 0 {
			add(VV04, 50)
			add(VV05, 60)
			add(VV06, 45)
		}
		add(WmoDB, 30)
	case wonenBeperking:
		for len(products) == 0 {
			add(VG05, 65)
			add(LG05, 50)
		}
		add(WmoBeg, 25)
		add(WmoDB, 35)
	case zorgboerderij:
		add(VG05, 20)
		add(WmoBeg, 40)
		products = append(products, WmoDB)
	case thuiszorg:
		add(VV04, 25)
		add(VV06, 15)
		add(WmoBeg, 60)
		products = append(products, WmoHH)
	case zzp:
		products = append(products, WmoBeg)
		add(WmoHH, 25)
	case dagbestedingKind:
		add(WmoBeg, 50)
		products = append(products, WmoDB)
	}
	// Keep the order of the tariff table.
	slices.SortFunc(products, func(a, b string) int { return tariffIndex(a) - tariffIndex(b) })
	out := make([]matching.Offer, 0, len(products))
	for _, p := range products {
		pct := int64(100)
		if !g.chance(30) { // most ask a little less than the maximum
			pct = int64(g.between(85, 99))
		}
		out = append(out, matching.Offer{Product: p, Tariff: regie.Cents(int64(maxPrice(p)) * pct / 100)})
	}
	return out
}

func tariffIndex(product string) int {
	return slices.IndexFunc(tariffs, func(t voucher.Tariff) bool { return t.Product == product })
}

func settingsOf(k kind, offers []matching.Offer) []string {
	has := func(p string) bool {
		return slices.ContainsFunc(offers, func(o matching.Offer) bool { return o.Product == p })
	}
	var s []string
	switch k {
	case wonenOuderen, wonenBeperking:
		s = []string{"kleinschalig-wonen"}
		if has(WmoDB) {
			s = append(s, "dagbesteding")
		}
	case zorgboerderij:
		s = []string{"dagbesteding"}
		if has(VG05) {
			s = append(s, "kleinschalig-wonen")
		}
	case thuiszorg, zzp:
		s = []string{"thuis"}
	case dagbestedingKind:
		s = []string{"dagbesteding"}
		if has(WmoBeg) {
			s = append(s, "thuis")
		}
	}
	return s
}

func (g *generator) capacity(k kind) (team, open, waiting int) {
	switch k {
	case wonenOuderen:
		return g.between(10, 30), g.between(0, 3), g.between(2, 26)
	case wonenBeperking:
		return g.between(8, 24), g.between(0, 2), g.between(4, 40)
	case zorgboerderij:
		return g.between(3, 12), g.between(0, 8), g.between(0, 8)
	case thuiszorg:
		return g.between(4, 25), g.between(0, 10), g.between(0, 4)
	case zzp:
		return 1, g.between(0, 3), g.between(0, 6)
	default:
		return g.between(3, 15), g.between(0, 10), g.between(0, 6)
	}
}

// near returns a location within about a kilometre of the place, so that
// providers in one town do not sit on one point of the map.
func (g *generator) near(pl place, name string) matching.Location {
	round := func(x float64) float64 { return math.Round(x*10_000) / 10_000 }
	if g.bulk {
		// About 5 km (one standard deviation) around the town, kept on land
		// roughly: within the country's bounding box.
		return matching.Location{
			Name: name,
			City: pl.City,
			Lat:  round(min(max(pl.Lat+g.rng.NormFloat64()*0.045, 50.76), 53.55)),
			Lon:  round(min(max(pl.Lon+g.rng.NormFloat64()*0.075, 3.36), 7.22)),
		}
	}
	return matching.Location{
		Name: name,
		City: pl.City,
		Lat:  round(pl.Lat + (g.rng.Float64()-0.5)*0.014),
		Lon:  round(pl.Lon + (g.rng.Float64()-0.5)*0.022),
	}
}

// focus is what a provider's first expertise tag says about whom it cares for,
// as in "ouderen met dementie" or "mensen met autisme".
var focus = map[string]string{
	"dementie":               "met dementie",
	"autisme":                "met autisme",
	"lvb":                    "met een licht verstandelijke beperking",
	"nah":                    "met niet-aangeboren hersenletsel",
	"ggz":                    "met een psychische kwetsbaarheid",
	"korsakov":               "met korsakov",
	"parkinson":              "met parkinson",
	"lichamelijke-beperking": "met een lichamelijke beperking",
}

// forWhom returns " <group> met …" for the provider's first expertise tag, or
// "<group>, ook in de laatste levensfase" for palliative care.
func forWhom(group string, expertise []string) string {
	if expertise[0] == "palliatief" {
		if group == "voor mensen" {
			return ", ook in de laatste levensfase"
		}
		return " " + group + ", ook in de laatste levensfase"
	}
	return " " + group + " " + focus[expertise[0]]
}

var identityLine = map[string]string{
	"christelijk":        " Christelijke identiteit.",
	"islamitisch":        " Islamitische identiteit en halal keuken.",
	"hindoestaans":       " Hindoestaanse cultuur en keuken.",
	"lhbti+-vriendelijk": " Lhbti+-vriendelijk: iedereen is welkom zoals hij of zij is.",
}

var languageName = map[string]string{
	"en": "Engels", "tr": "Turks", "ar": "Arabisch", "ber": "Tamazight", "pap": "Papiaments",
	"fy": "Fries", "pl": "Pools", "de": "Duits", "srn": "Sranantongo",
}

// describe writes a short Dutch description from the provider's traits.
func describe(k kind, p *matching.Provider, city string) string {
	people := forWhom("voor mensen", p.Expertise)
	var b strings.Builder
	switch k {
	case wonenOuderen:
		fmt.Fprintf(&b, "Huiselijke woonvorm in %s voor%s. Eigen kamer, samen eten en een vast team.", city, forWhom(strconv.Itoa(6+p.TeamSize/2)+" ouderen", p.Expertise))
	case wonenBeperking:
		fmt.Fprintf(&b, "Woongroep in %s voor%s, met begeleiding dag en nacht.", city, forWhom(strconv.Itoa(4+p.TeamSize/3)+" volwassenen", p.Expertise))
	case zorgboerderij:
		fmt.Fprintf(&b, "Zorgboerderij bij %s met dieren, moestuin en werk buiten,%s. Kleine groepen, vaste begeleiders.", city, people)
	case thuiszorg:
		fmt.Fprintf(&b, "Kleine thuiszorgorganisatie in %s: vaste gezichten aan huis%s.", city, people)
	case zzp:
		fmt.Fprintf(&b, "Zelfstandig zorgverlener (zzp) in %s en omgeving%s. Eén vast aanspreekpunt.", city, people)
	case dagbestedingKind:
		fmt.Fprintf(&b, "Dagbesteding in %s%s: creatief bezig zijn, koken, tuinieren en er samen op uit.", city, people)
	}
	for _, e := range p.Identity {
		b.WriteString(identityLine[e])
	}
	var spoken []string
	for _, l := range p.Languages {
		if n, ok := languageName[l]; ok {
			spoken = append(spoken, n)
		}
	}
	if len(spoken) > 0 {
		b.WriteString(" Wij spreken ook " + joinDutch(spoken) + ".")
	}
	if !p.Qualified {
		b.WriteString(" De kwalificatie is nog in behandeling.")
	}
	return b.String()
}

// joinDutch joins words as "a, b en c".
func joinDutch(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " en " + words[len(words)-1]
}
