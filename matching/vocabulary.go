package matching

import (
	"regexp"
	"slices"
)

// Term is one word of a vocabulary: a stable code and a Dutch label.
type Term struct {
	Code  string `json:"code"`
	Label string `json:"label"`
}

// Expertises are what a provider may list as expertise: the conditions and
// groups it is good at caring for.
var Expertises = []Term{
	{"dementie", "Dementie"},
	{"korsakov", "Korsakov"},
	{"parkinson", "Parkinson"},
	{"palliatief", "Palliatieve zorg, laatste levensfase"},
	{"autisme", "Autisme"},
	{"lvb", "Licht verstandelijke beperking"},
	{"verstandelijke-beperking", "Verstandelijke beperking"},
	{"lichamelijke-beperking", "Lichamelijke beperking"},
	{"zintuiglijke-beperking", "Zintuiglijke beperking"},
	{"nah", "Niet-aangeboren hersenletsel"},
	{"ggz", "Psychische kwetsbaarheid (ggz)"},
	{"verslaving", "Verslaving"},
	{"jeugd", "Kinderen en jongeren"},
}

// Identities are the religious, cultural and other identities a provider may
// list, because clients choose on the atmosphere and identity of a place.
var Identities = []Term{
	{"christelijk", "Christelijk"},
	{"katholiek", "Katholiek"},
	{"protestants", "Protestants"},
	{"reformatorisch", "Reformatorisch"},
	{"islamitisch", "Islamitisch"},
	{"joods", "Joods"},
	{"hindoestaans", "Hindoestaans"},
	{"boeddhistisch", "Boeddhistisch"},
	{"antroposofisch", "Antroposofisch"},
	{"humanistisch", "Humanistisch"},
	{"lhbti+-vriendelijk", "Lhbti+-vriendelijk"},
	{"turks", "Turkse cultuur"},
	{"marokkaans", "Marokkaanse cultuur"},
	{"surinaams", "Surinaamse cultuur"},
	{"antilliaans", "Antilliaanse cultuur"},
	{"moluks", "Molukse cultuur"},
	{"chinees", "Chinese cultuur"},
	{"fries", "Friese cultuur"},
}

// Settings are where care is given.
var Settings = []Term{
	{"thuis", "Thuis"},
	{"kleinschalig-wonen", "Kleinschalig wonen"},
	{"dagbesteding", "Dagbesteding"},
}

func inVocabulary(terms []Term, code string) bool {
	return slices.ContainsFunc(terms, func(t Term) bool { return t.Code == code })
}

// languageCode is an ISO 639-1 or 639-2/3 code in lower case.
var languageCode = regexp.MustCompile(`^[a-z]{2,3}$`)

// Vocabulary is every list a client or provider chooses from, for forms.
type Vocabulary struct {
	Criteria  []CriterionInfo `json:"criteria"`
	Expertise []Term          `json:"expertise"`
	Identity  []Term          `json:"identity"`
	Settings  []Term          `json:"settings"`
}

// Vocabularies returns the catalogue of criteria and the vocabularies.
func Vocabularies() Vocabulary {
	return Vocabulary{Criteria: Catalogue, Expertise: Expertises, Identity: Identities, Settings: Settings}
}
