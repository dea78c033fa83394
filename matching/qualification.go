package matching

import (
	"slices"
	"time"

	"github.com/regie-nl/regie"
)

// Criterion is one requirement from the qualification catalogue.
type Criterion string

// The catalogue from which a funder chooses its criteria.
const (
	CriterionWtza       Criterion = "wtza"       // Wtza registration (meldplicht) or permit
	CriterionVOG        Criterion = "vog"        // VOG RP: certificate of conduct for the legal entity
	CriterionLiability  Criterion = "liability"  // liability insurance of at least EUR 2.5 million
	CriterionComplaints Criterion = "complaints" // a complaints procedure (klachtenregeling)
	CriterionPrivacy    Criterion = "privacy"    // a privacy policy
	CriterionQuality    Criterion = "quality"    // a recognised quality mark, or the small-scale quality framework
	CriterionAGB        Criterion = "agb"        // AGB code registered with Vektis
	CriterionKvK        Criterion = "kvk"        // KvK registration
)

// CriterionInfo describes a criterion of the catalogue.
type CriterionInfo struct {
	Code  Criterion `json:"code"`
	Label string    `json:"label"`
}

// Catalogue is every criterion a funder may require, in a fixed order.
var Catalogue = []CriterionInfo{
	{CriterionWtza, "Wtza-registratie (meldplicht) of -vergunning"},
	{CriterionVOG, "VOG rechtspersonen (VOG RP)"},
	{CriterionLiability, "Aansprakelijkheidsverzekering van ten minste EUR 2,5 miljoen"},
	{CriterionComplaints, "Klachtenregeling"},
	{CriterionPrivacy, "Privacybeleid"},
	{CriterionQuality, "Erkend keurmerk of het Kwaliteitskader kleinschalige zorg"},
	{CriterionAGB, "AGB-code (Vektis)"},
	{CriterionKvK, "Inschrijving Kamer van Koophandel"},
}

// Valid reports whether c is in the catalogue.
func (c Criterion) Valid() bool {
	return slices.ContainsFunc(Catalogue, func(i CriterionInfo) bool { return i.Code == c })
}

func criterionRank(c Criterion) int {
	return slices.IndexFunc(Catalogue, func(i CriterionInfo) bool { return i.Code == c })
}

// Criteria are what a funder requires of providers in one region: the full
// set, and a lighter set for small-scale providers (a team of at most
// SmallScaleMaxTeam people).
type Criteria struct {
	Region     string      `json:"region"`
	Required   []Criterion `json:"required"`
	SmallScale []Criterion `json:"small_scale"`
	// SmallScaleMaxTeam is the largest team size to which SmallScale applies;
	// 0 means every provider meets Required.
	SmallScaleMaxTeam int `json:"small_scale_max_team"`
	// WarnDays is how many days ahead of an expiry the provider is warned.
	WarnDays int `json:"warn_days"`
	// Default is true for criteria the funder has not set (DefaultCriteria).
	Default   bool      `json:"default,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	UpdatedBy string    `json:"updated_by,omitempty"`
}

// DefaultCriteria are the criteria of a region whose funder has set none: the
// whole catalogue, and for teams of up to 10 people the small-scale set (no
// privacy policy and no liability insurance of EUR 2.5 million, which cost a
// small provider more than they protect).
func DefaultCriteria(region string) Criteria {
	return Criteria{
		Region: region,
		Required: []Criterion{
			CriterionWtza, CriterionVOG, CriterionLiability, CriterionComplaints,
			CriterionPrivacy, CriterionQuality, CriterionAGB, CriterionKvK,
		},
		SmallScale:        []Criterion{CriterionWtza, CriterionVOG, CriterionComplaints, CriterionQuality, CriterionAGB, CriterionKvK},
		SmallScaleMaxTeam: 10,
		WarnDays:          30,
		Default:           true,
	}
}

// For returns the set that applies to a provider with the given team size,
// and whether it is the small-scale set.
func (c *Criteria) For(teamSize int) (set []Criterion, smallScale bool) {
	if c.SmallScaleMaxTeam > 0 && teamSize <= c.SmallScaleMaxTeam {
		return c.SmallScale, true
	}
	return c.Required, false
}

// EvidenceStatus is where an evidence item is in its review.
type EvidenceStatus string

const (
	Submitted EvidenceStatus = "submitted" // waiting for the funder
	Approved  EvidenceStatus = "approved"  // the funder accepted it
	Rejected  EvidenceStatus = "rejected"  // the funder refused it or withdrew its approval, with a reason
)

// Evidence is a provider's proof that it meets one criterion in one region:
// metadata only (a reference to a document the funder can check, and how long
// it is valid), never the document itself.
type Evidence struct {
	ID          string         `json:"id"`
	ProviderAGB string         `json:"provider_agb"`
	Region      string         `json:"region"`
	Criterion   Criterion      `json:"criterion"`
	Reference   string         `json:"reference"`
	ValidUntil  regie.Date     `json:"valid_until"`
	Status      EvidenceStatus `json:"status"`
	Reason      string         `json:"reason,omitempty"`
	SubmittedAt time.Time      `json:"submitted_at"`
	ReviewedAt  time.Time      `json:"reviewed_at,omitzero"`
	ReviewedBy  string         `json:"reviewed_by,omitempty"`
}

// ValidOn reports whether the item is approved and still valid on day d.
func (e *Evidence) ValidOn(d regie.Date) bool { return e.Status == Approved && d <= e.ValidUntil }

// Period is a run of days, both included. A zero From means since always, a
// zero To without end: the form of a standing imported without evidence
// (see Adopt).
type Period struct {
	From regie.Date `json:"from"`
	To   regie.Date `json:"to"`
}

// Covers reports whether day d is in the period.
func (p Period) Covers(d regie.Date) bool { return p.From <= d && (p.To.IsZero() || d <= p.To) }

// Qualification is a provider's standing in one region: the periods in which
// it was, is, or (until its evidence expires) will be qualified there.
// Periods are in order and never overlap.
type Qualification struct {
	Region  string   `json:"region"`
	Periods []Period `json:"periods,omitempty"`
}

// Covers reports whether the provider is qualified on day d.
func (q *Qualification) Covers(d regie.Date) bool {
	for _, p := range q.Periods {
		if p.Covers(d) {
			return true
		}
	}
	return false
}

// Adopt turns the standing of a provider imported without qualification
// records (Qualified and Regions, see Provider.QualifiedIn) into records, so
// that the service can judge it from then on without changing what it was:
// qualified without end in every region it lists when Qualified is set,
// pending otherwise. Evidence approved later bounds the period by its expiry;
// a withdrawn approval ends it. A provider with records is left as it is.
func Adopt(p *Provider) {
	if len(p.Qualifications) > 0 || !p.Qualified {
		return
	}
	for _, r := range p.Regions {
		p.Qualifications = append(p.Qualifications, Qualification{Region: r, Periods: []Period{{}}})
	}
}

// assess judges a set of criteria against the evidence for a region on day d:
// the criteria without approved evidence valid on d, and the last day on
// which all the others stay valid (their earliest expiry).
func assess(set []Criterion, evidence []*Evidence, region string, d regie.Date) (missing []Criterion, until regie.Date) {
	for _, c := range set {
		var best regie.Date
		for _, e := range evidence {
			if e.Region == region && e.Criterion == c && e.ValidOn(d) && e.ValidUntil > best {
				best = e.ValidUntil
			}
		}
		if best.IsZero() {
			missing = append(missing, c)
			continue
		}
		if until.IsZero() || best < until {
			until = best
		}
	}
	return missing, until
}

// Evaluate judges the provider's qualification on day today in every region
// it lists or was qualified in, and records the result in p.Qualifications
// and p.Qualified. criteria returns the criteria of a region.
//
// A provider is qualified in a region on a day when every criterion of the
// set that applies to it (Criteria.For its team size) has approved evidence
// valid on that day. When it is so today, its current period runs from today
// (or on from a period that reached yesterday) to the earliest expiry of that
// evidence, so that it ends by itself. Past periods are never changed: claims
// for care given then stay payable.
//
// A current period is cut short (ended yesterday) only when cut is true —
// the funder withdrew an approval — or the provider no longer lists the
// region. A change of criteria or team size does not cut it: the provider
// stays qualified to the end of the period, and the new set applies from
// then on (the provider is warned ahead, see Standing).
func Evaluate(p *Provider, evidence []*Evidence, criteria func(region string) Criteria, today regie.Date, cut bool) {
	regions := slices.Clone(p.Regions)
	for _, q := range p.Qualifications {
		if !slices.Contains(regions, q.Region) {
			regions = append(regions, q.Region)
		}
	}
	slices.Sort(regions)
	out := make([]Qualification, 0, len(regions))
	qualified := false
	for _, r := range regions {
		var q Qualification
		if i := slices.IndexFunc(p.Qualifications, func(q Qualification) bool { return q.Region == r }); i >= 0 {
			q = Qualification{Region: r, Periods: slices.Clone(p.Qualifications[i].Periods)}
		} else {
			q = Qualification{Region: r}
		}
		listed := slices.Contains(p.Regions, r)
		now := false
		var until regie.Date
		if listed {
			crit := criteria(r)
			set, _ := crit.For(p.TeamSize)
			var missing []Criterion
			missing, until = assess(set, evidence, r, today)
			now = len(set) > 0 && len(missing) == 0
		}
		n := len(q.Periods)
		var last Period
		if n > 0 {
			last = q.Periods[n-1]
		}
		current := n > 0 && last.From <= today && (last.To.IsZero() || last.To >= today.AddDays(-1))
		switch {
		case now && current:
			q.Periods[n-1].To = until
		case now:
			q.Periods = append(q.Periods, Period{From: today, To: until})
		case current && (cut || !listed) && last.Covers(today):
			q.Periods[n-1].To = today.AddDays(-1)
			if last.From > today.AddDays(-1) {
				q.Periods = q.Periods[:n-1]
			}
		}
		if !listed && len(q.Periods) == 0 {
			continue // never qualified in a region it no longer lists: forget it
		}
		if q.Covers(today) {
			qualified = true
		}
		out = append(out, q)
	}
	p.Qualifications = out
	p.Qualified = qualified
}

// Standing is what a provider's qualification in one region looks like on a
// given day, for the provider and the funder.
type Standing struct {
	Region string `json:"region"`
	// Status is "qualified", "pending" (never qualified yet), "suspended"
	// (qualified before, not now: evidence expired or an approval was
	// withdrawn) or "withdrawn" (the provider no longer lists the region).
	Status     string      `json:"status"`
	SmallScale bool        `json:"small_scale"`
	Required   []Criterion `json:"required"`
	// Missing are required criteria without approved evidence valid today.
	Missing []Criterion `json:"missing"`
	// QualifiedUntil is the last day of the current period, when qualified
	// (null for a standing imported without end).
	QualifiedUntil regie.Date `json:"qualified_until"`
	Periods        []Period   `json:"periods"`
	// Warnings name the evidence that expires within the funder's WarnDays.
	Warnings []Warning `json:"warnings"`
}

// Warning says that the evidence for a criterion runs out soon.
type Warning struct {
	Criterion  Criterion  `json:"criterion"`
	EvidenceID string     `json:"evidence_id"`
	ValidUntil regie.Date `json:"valid_until"`
	DaysLeft   int        `json:"days_left"`
}

// Standing statuses.
const (
	StandingQualified = "qualified"
	StandingPending   = "pending"
	StandingSuspended = "suspended"
	StandingWithdrawn = "withdrawn"
)

// StandingIn describes the provider's qualification in region on day today,
// from its record and the current criteria and evidence.
func StandingIn(p *Provider, region string, crit Criteria, evidence []*Evidence, today regie.Date) Standing {
	s := Standing{Region: region, Missing: []Criterion{}, Periods: []Period{}, Warnings: []Warning{}}
	var q *Qualification
	for i := range p.Qualifications {
		if p.Qualifications[i].Region == region {
			q = &p.Qualifications[i]
		}
	}
	if q != nil {
		s.Periods = append(s.Periods, q.Periods...)
	}
	set, small := crit.For(p.TeamSize)
	s.Required, s.SmallScale = slices.Clone(set), small
	if s.Required == nil {
		s.Required = []Criterion{}
	}
	if missing, _ := assess(set, evidence, region, today); missing != nil {
		s.Missing = missing
	}
	listed := slices.Contains(p.Regions, region)
	switch {
	case !listed:
		s.Status = StandingWithdrawn
	case p.QualifiedIn(region, today):
		s.Status = StandingQualified
		for _, per := range s.Periods {
			if per.Covers(today) {
				s.QualifiedUntil = per.To
			}
		}
	case len(s.Periods) > 0:
		s.Status = StandingSuspended
	default:
		s.Status = StandingPending
	}
	if !listed {
		return s
	}
	// Warn about every criterion of the set whose best valid evidence runs
	// out within WarnDays.
	for _, c := range set {
		var best *Evidence
		for _, e := range evidence {
			if e.Region == region && e.Criterion == c && e.ValidOn(today) && (best == nil || e.ValidUntil > best.ValidUntil) {
				best = e
			}
		}
		if best == nil {
			continue
		}
		if left := int(best.ValidUntil - today); left < crit.WarnDays {
			s.Warnings = append(s.Warnings, Warning{Criterion: c, EvidenceID: best.ID, ValidUntil: best.ValidUntil, DaysLeft: left})
		}
	}
	slices.SortFunc(s.Warnings, func(a, b Warning) int {
		if a.ValidUntil != b.ValidUntil {
			return int(a.ValidUntil - b.ValidUntil)
		}
		return criterionRank(a.Criterion) - criterionRank(b.Criterion)
	})
	return s
}
