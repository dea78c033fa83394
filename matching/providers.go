package matching

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/voucher"
)

// ProviderInput is a provider's profile as it registers or updates it. The
// service decides everything else: version, times and qualification.
type ProviderInput struct {
	AGB           string     `json:"agb"`
	KvK           string     `json:"kvk"`
	Name          string     `json:"name"`
	Description   string     `json:"description"`
	Locations     []Location `json:"locations"`
	Offers        []Offer    `json:"offers"`
	Regions       []string   `json:"regions"`
	Languages     []string   `json:"languages"`
	Expertise     []string   `json:"expertise"`
	Identity      []string   `json:"identity"`
	Settings      []string   `json:"settings"`
	TeamSize      int        `json:"team_size"`
	Professionals []string   `json:"professionals"`
	OpenPlaces    int        `json:"open_places"`
	WaitingWeeks  int        `json:"waiting_weeks"`
}

// Limits on a profile.
const (
	maxName          = 120
	maxDescription   = 2000
	maxLocations     = 20
	maxOffers        = 20
	maxRegions       = 40
	maxTags          = 20
	maxProfessionals = 50
	maxFirstName     = 40
	maxTeamSize      = 10_000
	maxOpenPlaces    = 10_000
	maxWaitingWeeks  = 520
	maxReference     = 200
	// Locations must lie in and around the Netherlands (a margin for care
	// across the border), which catches swapped or mistyped coordinates.
	minLat, maxLat = 50.0, 54.0
	minLon, maxLon = 2.5, 7.5
)

var (
	eightDigits = regexp.MustCompile(`^[0-9]{8}$`)
	postcode    = regexp.MustCompile(`^([1-9][0-9]{3}) ?([A-Za-z]{2})$`)
)

// CheckAGB checks the form of an AGB code: 8 digits, not all zero. The code
// has no public check digit; that it is registered is for the funder to
// confirm (criterion "agb").
func CheckAGB(agb string) error {
	if !eightDigits.MatchString(agb) || agb == "00000000" {
		return regie.FieldError("agb", "agb_invalid", "an AGB code is 8 digits")
	}
	return nil
}

// CheckKvK checks the form of a KvK number: 8 digits, not all zero. KvK
// numbers no longer follow the 11-proof; registration is for the funder to
// confirm (criterion "kvk").
func CheckKvK(kvk string) error {
	if !eightDigits.MatchString(kvk) || kvk == "00000000" {
		return regie.FieldError("kvk", "kvk_invalid", "a KvK number is 8 digits")
	}
	return nil
}

func checkCapacity(open, waiting int) error {
	if open < 0 || open > maxOpenPlaces {
		return regie.FieldError("open_places", "capacity_invalid", "open_places must be 0–%d", maxOpenPlaces)
	}
	if waiting < 0 || waiting > maxWaitingWeeks {
		return regie.FieldError("waiting_weeks", "capacity_invalid", "waiting_weeks must be 0–%d", maxWaitingWeeks)
	}
	return nil
}

// checkProfile checks and normalises a profile (all but AGB and KvK).
func (s *Service) checkProfile(ctx context.Context, in *ProviderInput) error {
	in.Name = strings.TrimSpace(in.Name)
	if n := utf8.RuneCountInString(in.Name); n == 0 || n > maxName {
		return regie.FieldError("name", "name_invalid", "a name of 1–%d characters is required", maxName)
	}
	in.Description = strings.TrimSpace(in.Description)
	if utf8.RuneCountInString(in.Description) > maxDescription {
		return regie.FieldError("description", "description_invalid", "the description has at most %d characters", maxDescription)
	}
	if len(in.Locations) == 0 || len(in.Locations) > maxLocations {
		return regie.FieldError("locations", "location_invalid", "1–%d locations are required", maxLocations)
	}
	for i := range in.Locations {
		if err := checkLocation(&in.Locations[i], i); err != nil {
			return err
		}
	}
	if err := s.checkOffers(ctx, in.Offers); err != nil {
		return err
	}
	if err := s.checkRegions(ctx, in.Regions); err != nil {
		return err
	}
	var err error
	if in.Languages, err = checkLanguages(in.Languages); err != nil {
		return err
	}
	if in.Expertise, err = checkTerms("expertise", "expertise_unknown", Expertises, in.Expertise, false); err != nil {
		return err
	}
	if in.Identity, err = checkTerms("identity", "identity_unknown", Identities, in.Identity, false); err != nil {
		return err
	}
	if in.Settings, err = checkTerms("settings", "setting_unknown", Settings, in.Settings, true); err != nil {
		return err
	}
	if in.TeamSize < 1 || in.TeamSize > maxTeamSize {
		return regie.FieldError("team_size", "team_size_invalid", "team_size must be 1–%d", maxTeamSize)
	}
	if in.Professionals, err = checkProfessionals(in.Professionals); err != nil {
		return err
	}
	return checkCapacity(in.OpenPlaces, in.WaitingWeeks)
}

func checkLocation(l *Location, i int) error {
	field := func(name string) string { return fmt.Sprintf("locations[%d].%s", i, name) }
	l.Name, l.Address, l.City = strings.TrimSpace(l.Name), strings.TrimSpace(l.Address), strings.TrimSpace(l.City)
	switch {
	case utf8.RuneCountInString(l.Name) > maxName:
		return regie.FieldError(field("name"), "location_invalid", "a location name has at most %d characters", maxName)
	case utf8.RuneCountInString(l.Address) > maxName:
		return regie.FieldError(field("address"), "location_invalid", "an address has at most %d characters", maxName)
	case l.City == "" || utf8.RuneCountInString(l.City) > 80:
		return regie.FieldError(field("city"), "location_invalid", "a city of 1–80 characters is required")
	case !(l.Lat >= minLat && l.Lat <= maxLat) || !(l.Lon >= minLon && l.Lon <= maxLon):
		return regie.FieldError(field("lat"), "location_invalid", "lat/lon must lie in the Netherlands (lat %.1f–%.1f, lon %.1f–%.1f)", minLat, maxLat, minLon, maxLon)
	}
	if l.Postcode != "" {
		m := postcode.FindStringSubmatch(strings.TrimSpace(l.Postcode))
		if m == nil {
			return regie.FieldError(field("postcode"), "location_invalid", "a postcode looks like 3511 AB")
		}
		l.Postcode = m[1] + " " + strings.ToUpper(m[2])
	}
	return nil
}

func (s *Service) checkOffers(ctx context.Context, offers []Offer) error {
	if len(offers) == 0 || len(offers) > maxOffers {
		return regie.FieldError("offers", "offer_invalid", "1–%d offers are required", maxOffers)
	}
	tariffs, err := s.Vouchers.Tariffs(ctx)
	if err != nil {
		return err
	}
	for i, o := range offers {
		field := fmt.Sprintf("offers[%d]", i)
		if slices.ContainsFunc(offers[:i], func(x Offer) bool { return x.Product == o.Product }) {
			return regie.FieldError(field+".product", "offer_invalid", "product %q is offered twice", o.Product)
		}
		j := slices.IndexFunc(tariffs, func(t voucher.Tariff) bool { return t.Product == o.Product })
		if j < 0 {
			return regie.FieldError(field+".product", "product_unknown", "product %q is not in the tariff table", o.Product)
		}
		if o.Tariff <= 0 {
			return regie.FieldError(field+".tariff", "offer_invalid", "the tariff must be more than 0")
		}
		if o.Tariff > tariffs[j].MaxPrice {
			return regie.FieldError(field+".tariff", "tariff_above_maximum", "the tariff for %s is at most %s", o.Product, tariffs[j].MaxPrice)
		}
	}
	return nil
}

func (s *Service) checkRegions(ctx context.Context, regions []string) error {
	if len(regions) == 0 || len(regions) > maxRegions {
		return regie.FieldError("regions", "regions_invalid", "1–%d regions are required", maxRegions)
	}
	for i, r := range regions {
		if slices.Contains(regions[:i], r) {
			return regie.FieldError(fmt.Sprintf("regions[%d]", i), "regions_invalid", "region %q is listed twice", r)
		}
		if err := s.requireRegion(ctx, r); err != nil {
			return regie.FieldError(fmt.Sprintf("regions[%d]", i), "region_unknown", "no region %q", r)
		}
	}
	return nil
}

// requireRegion returns NotFound "region_not_found" unless the region exists.
func (s *Service) requireRegion(ctx context.Context, id string) error {
	ok, err := s.Vouchers.Regions.HasRegion(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		return regie.Errorf(regie.NotFound, "region_not_found", "no region %q", id)
	}
	return nil
}

func checkLanguages(langs []string) ([]string, error) {
	if len(langs) == 0 || len(langs) > maxTags {
		return nil, regie.FieldError("languages", "language_invalid", "1–%d languages are required", maxTags)
	}
	out := make([]string, 0, len(langs))
	for i, l := range langs {
		l = strings.ToLower(strings.TrimSpace(l))
		if !languageCode.MatchString(l) {
			return nil, regie.FieldError(fmt.Sprintf("languages[%d]", i), "language_invalid", "%q is not an ISO 639 code such as nl or pap", langs[i])
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out, nil
}

// checkTerms checks codes against a vocabulary, lower-cases them and drops doubles.
func checkTerms(field, code string, vocab []Term, terms []string, required bool) ([]string, error) {
	if len(terms) > maxTags || (required && len(terms) == 0) {
		min := 0
		if required {
			min = 1
		}
		return nil, regie.FieldError(field, code, "%d–%d %s codes are required", min, maxTags, field)
	}
	out := make([]string, 0, len(terms))
	for i, t := range terms {
		t = strings.ToLower(strings.TrimSpace(t))
		if !inVocabulary(vocab, t) {
			return nil, regie.FieldError(fmt.Sprintf("%s[%d]", field, i), code, "%q is not in the %s vocabulary", terms[i], field)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func checkProfessionals(names []string) ([]string, error) {
	if len(names) > maxProfessionals {
		return nil, regie.FieldError("professionals", "professional_invalid", "at most %d first names", maxProfessionals)
	}
	var out []string
	for i, n := range names {
		n = strings.TrimSpace(n)
		ok := n != "" && utf8.RuneCountInString(n) <= maxFirstName
		for _, r := range n {
			if !unicode.IsLetter(r) && r != ' ' && r != '-' && r != '\'' && r != '.' {
				ok = false
			}
		}
		if !ok {
			return nil, regie.FieldError(fmt.Sprintf("professionals[%d]", i), "professional_invalid", "a first name of 1–%d letters", maxFirstName)
		}
		out = append(out, n)
	}
	return out, nil
}

// apply copies a checked profile onto a provider.
func (in *ProviderInput) apply(p *Provider) {
	p.Name, p.Description = in.Name, in.Description
	p.Locations, p.Offers, p.Regions = in.Locations, in.Offers, in.Regions
	p.Languages, p.Expertise, p.Identity, p.Settings = in.Languages, in.Expertise, in.Identity, in.Settings
	p.TeamSize, p.Professionals = in.TeamSize, in.Professionals
	p.OpenPlaces, p.WaitingWeeks = in.OpenPlaces, in.WaitingWeeks
}

// requireSelf allows only the provider with the AGB code itself.
func requireSelf(p regie.Principal, agb string) error {
	if err := p.Require(regie.RoleProvider); err != nil {
		return err
	}
	if p.Subject != agb {
		return regie.Errorf(regie.Forbidden, "scope_forbidden", "a provider may change only its own record")
	}
	return nil
}

// Register lets a provider register itself. The caller must be the provider
// role with the AGB code in the body as its subject: the sign-in (for example
// eHerkenning linked to the AGB register) vouches for the code, and no one
// registers another. The new provider is qualified nowhere yet: it lists
// regions, and each funder judges its evidence (SubmitEvidence,
// ReviewEvidence). Errors: Forbidden "role_forbidden", "scope_forbidden";
// Invalid "agb_invalid", "kvk_invalid", "name_invalid",
// "description_invalid", "location_invalid", "offer_invalid",
// "product_unknown", "tariff_above_maximum", "regions_invalid",
// "region_unknown", "language_invalid", "expertise_unknown",
// "identity_unknown", "setting_unknown", "team_size_invalid",
// "professional_invalid", "capacity_invalid"; Conflict "provider_exists".
func (s *Service) Register(ctx context.Context, p regie.Principal, in ProviderInput) (*Provider, error) {
	if err := p.Require(regie.RoleProvider); err != nil {
		return nil, err
	}
	if err := CheckAGB(in.AGB); err != nil {
		return nil, err
	}
	if err := requireSelf(p, in.AGB); err != nil {
		return nil, regie.Errorf(regie.Forbidden, "scope_forbidden", "a provider may register only its own AGB code")
	}
	if err := CheckKvK(in.KvK); err != nil {
		return nil, err
	}
	if err := s.checkProfile(ctx, &in); err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Second)
	pr := &Provider{AGB: in.AGB, KvK: in.KvK, RegisteredAt: now, UpdatedAt: now}
	in.apply(pr)
	// No evidence yet: pending in every region it lists.
	Evaluate(pr, nil, DefaultCriteria, regie.DateOf(now), false)
	if err := s.Store.CreateProvider(ctx, pr); err != nil {
		return nil, err
	}
	s.indexPut(pr)
	return pr, nil
}

// UpdateProfile replaces the provider's profile. AGB and KvK stay as
// registered (a provider imported without a KvK number may set it once). Qualification is judged again: a region no longer listed ends
// its qualification yesterday; a change of team size that changes the set of
// criteria applies from the end of the current period. When open places go
// from 0 to more, the waiting list is notified. Errors: those of Register but
// Conflict; NotFound "provider_not_found"; Invalid "agb_mismatch",
// "kvk_immutable".
func (s *Service) UpdateProfile(ctx context.Context, p regie.Principal, agb string, in ProviderInput) (*Provider, error) {
	if err := requireSelf(p, agb); err != nil {
		return nil, err
	}
	if in.AGB != "" && in.AGB != agb {
		return nil, regie.FieldError("agb", "agb_mismatch", "the AGB code in the body differs from the one in the path")
	}
	if in.KvK != "" {
		if err := CheckKvK(in.KvK); err != nil {
			return nil, err
		}
	}
	if err := s.checkProfile(ctx, &in); err != nil {
		return nil, err
	}
	now := s.now()
	return s.update(ctx, agb, func(d *Dossier) error {
		if in.KvK != "" && d.Provider.KvK != "" && in.KvK != d.Provider.KvK {
			return regie.FieldError("kvk", "kvk_immutable", "the KvK number cannot change; register anew for another legal entity")
		}
		if d.Provider.KvK == "" { // imported without one
			d.Provider.KvK = in.KvK
		}
		in.apply(d.Provider)
		return evaluate(d, regie.DateOf(now), false)
	})
}

// SetAvailability sets the provider's open places and waiting time. When open
// places go from 0 to more, every client on its waiting list is notified.
// Errors: Forbidden; NotFound "provider_not_found"; Invalid "capacity_invalid".
func (s *Service) SetAvailability(ctx context.Context, p regie.Principal, agb string, openPlaces, waitingWeeks int) (*Provider, error) {
	if err := requireSelf(p, agb); err != nil {
		return nil, err
	}
	if err := checkCapacity(openPlaces, waitingWeeks); err != nil {
		return nil, err
	}
	return s.update(ctx, agb, func(d *Dossier) error {
		d.Provider.OpenPlaces, d.Provider.WaitingWeeks = openPlaces, waitingWeeks
		return nil
	})
}

// update runs fn on the provider's dossier in one store transaction, stamps
// the change, and puts the result in the index. A provider imported without
// qualification records is adopted first (Adopt), so that no change through
// the service turns its flags into a standing it did not have: a region it
// adds is pending like any other.
func (s *Service) update(ctx context.Context, agb string, fn func(d *Dossier) error) (*Provider, error) {
	now := s.now().UTC().Truncate(time.Second)
	pr, err := s.Store.UpdateProvider(ctx, agb, now, func(d *Dossier) error {
		Adopt(d.Provider)
		if err := fn(d); err != nil {
			return err
		}
		d.Provider.UpdatedAt = now
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.indexPut(pr)
	return pr, nil
}

func (s *Service) indexPut(pr *Provider) {
	if s.Index != nil {
		s.Index.Put(pr)
	}
}

// evaluate reads the criteria of every region the provider lists or was
// qualified in, and re-judges its qualification (Evaluate).
func evaluate(d *Dossier, today regie.Date, cut bool) error {
	crits := make(map[string]Criteria)
	regions := slices.Clone(d.Provider.Regions)
	for _, q := range d.Provider.Qualifications {
		regions = append(regions, q.Region)
	}
	for _, r := range regions {
		if _, ok := crits[r]; ok {
			continue
		}
		c, err := d.Criteria(r)
		if err != nil {
			return err
		}
		if c == nil {
			crits[r] = DefaultCriteria(r)
		} else {
			crits[r] = *c
		}
	}
	Evaluate(d.Provider, d.Evidence, func(r string) Criteria { return crits[r] }, today, cut)
	return nil
}

// Provider returns a provider's profile and qualification to any signed-in
// caller: who is qualified where is public, like a contract register. The
// evidence is not part of it (see Evidence). Errors: NotFound "provider_not_found".
func (s *Service) Provider(ctx context.Context, p regie.Principal, agb string) (*Provider, error) {
	if !p.Role.Valid() {
		return nil, p.Require(regie.RoleClient, regie.RoleProvider, regie.RoleFunder, regie.RoleAssessor, regie.RoleAuditor, regie.RoleAdmin)
	}
	pr, err := s.Store.Provider(ctx, agb)
	if err != nil {
		return nil, err
	}
	if len(pr.Qualifications) > 0 {
		today := s.today()
		pr.Qualified = slices.ContainsFunc(pr.Qualifications, func(q Qualification) bool { return q.Covers(today) })
	}
	return pr, nil
}

// ProviderStatus is a provider's qualification today, region by region.
type ProviderStatus struct {
	AGB string     `json:"agb"`
	On  regie.Date `json:"on"`
	// Searchable is true when the provider is qualified in at least one
	// region today, so that clients there can find and choose it.
	Searchable bool       `json:"searchable"`
	Regions    []Standing `json:"regions"`
}

// Status describes the provider's qualification today in each region it
// lists or was qualified in: what is required, what is missing, until when
// it is qualified, and warnings ahead of expiry. The provider sees every
// region; a funder only those in its scope. Errors: Forbidden; NotFound
// "provider_not_found".
func (s *Service) Status(ctx context.Context, p regie.Principal, agb string) (*ProviderStatus, error) {
	if err := p.Require(regie.RoleProvider, regie.RoleFunder); err != nil {
		return nil, err
	}
	if p.Role == regie.RoleProvider && p.Subject != agb {
		return nil, regie.Errorf(regie.Forbidden, "scope_forbidden", "a provider sees only its own status")
	}
	pr, err := s.Store.Provider(ctx, agb)
	if err != nil {
		return nil, err
	}
	evidence, err := s.Store.EvidenceOf(ctx, agb)
	if err != nil {
		return nil, err
	}
	today := s.today()
	out := &ProviderStatus{AGB: agb, On: today, Regions: []Standing{}}
	regions := slices.Clone(pr.Regions)
	for _, q := range pr.Qualifications {
		if !slices.Contains(regions, q.Region) {
			regions = append(regions, q.Region)
		}
	}
	slices.Sort(regions)
	for _, r := range regions {
		if pr.QualifiedIn(r, today) {
			out.Searchable = true
		}
		if p.Role == regie.RoleFunder && !p.InRegion(r) {
			continue
		}
		crit, err := s.criteria(ctx, r)
		if err != nil {
			return nil, err
		}
		out.Regions = append(out.Regions, StandingIn(pr, r, crit, evidence, today))
	}
	if p.Role == regie.RoleFunder && len(out.Regions) == 0 {
		return nil, regie.Errorf(regie.Forbidden, "scope_forbidden", "this provider works in none of your regions")
	}
	return out, nil
}

func (s *Service) criteria(ctx context.Context, region string) (Criteria, error) {
	c, err := s.Store.CriteriaOf(ctx, region)
	if err != nil || c == nil {
		return DefaultCriteria(region), err
	}
	return *c, nil
}

// EvidenceInput is a provider's record of one piece of evidence.
type EvidenceInput struct {
	Region     string     `json:"region"`
	Criterion  Criterion  `json:"criterion"`
	Reference  string     `json:"reference"`
	ValidUntil regie.Date `json:"valid_until"`
}

// SubmitEvidence records evidence for a criterion in a region the provider
// lists, for the funder to review. Nothing changes in the provider's
// qualification until the funder approves it. Errors: Forbidden; NotFound
// "provider_not_found"; Invalid "criterion_unknown", "reference_invalid",
// "valid_until_invalid", "region_not_listed".
func (s *Service) SubmitEvidence(ctx context.Context, p regie.Principal, agb string, in EvidenceInput) (*Evidence, error) {
	if err := requireSelf(p, agb); err != nil {
		return nil, err
	}
	if !in.Criterion.Valid() {
		return nil, regie.FieldError("criterion", "criterion_unknown", "criterion %q is not in the catalogue", in.Criterion)
	}
	in.Reference = strings.TrimSpace(in.Reference)
	if n := utf8.RuneCountInString(in.Reference); n == 0 || n > maxReference {
		return nil, regie.FieldError("reference", "reference_invalid", "a reference of 1–%d characters is required", maxReference)
	}
	now := s.now()
	today := regie.DateOf(now)
	if in.ValidUntil < today || in.ValidUntil > today.AddDays(10*366) {
		return nil, regie.FieldError("valid_until", "valid_until_invalid", "valid_until must be a date from today to ten years ahead")
	}
	var ev *Evidence
	_, err := s.update(ctx, agb, func(d *Dossier) error {
		if !slices.Contains(d.Provider.Regions, in.Region) {
			return regie.FieldError("region", "region_not_listed", "list region %q in your profile first", in.Region)
		}
		ev = &Evidence{
			ID: voucher.NewID("ev"), ProviderAGB: agb, Region: in.Region, Criterion: in.Criterion,
			Reference: in.Reference, ValidUntil: in.ValidUntil, Status: Submitted,
			SubmittedAt: now.UTC().Truncate(time.Second),
		}
		d.Evidence = append(d.Evidence, ev)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ev, nil
}

// Evidence lists a provider's evidence, oldest first: all of it to the
// provider itself, the items of its regions to a funder. Errors: Forbidden;
// NotFound "provider_not_found".
func (s *Service) Evidence(ctx context.Context, p regie.Principal, agb string) ([]*Evidence, error) {
	if err := p.Require(regie.RoleProvider, regie.RoleFunder); err != nil {
		return nil, err
	}
	if p.Role == regie.RoleProvider && p.Subject != agb {
		return nil, regie.Errorf(regie.Forbidden, "scope_forbidden", "a provider sees only its own evidence")
	}
	if _, err := s.Store.Provider(ctx, agb); err != nil {
		return nil, err
	}
	all, err := s.Store.EvidenceOf(ctx, agb)
	if err != nil {
		return nil, err
	}
	out := make([]*Evidence, 0, len(all))
	for _, e := range all {
		if p.Role == regie.RoleProvider || p.InRegion(e.Region) {
			out = append(out, e)
		}
	}
	return out, nil
}

// ReviewEvidence lets a funder of the item's region approve or reject it. A
// rejection needs a reason; rejecting an approved item withdraws the approval,
// which ends the provider's current qualification in the region yesterday
// unless other approved evidence still covers the criterion. Expired evidence
// cannot be approved. Errors: Forbidden "role_forbidden", "scope_forbidden";
// NotFound "provider_not_found", "evidence_not_found"; Invalid
// "reason_required"; Conflict "evidence_reviewed" (already approved, or
// rejected), "evidence_expired".
func (s *Service) ReviewEvidence(ctx context.Context, p regie.Principal, agb, id string, approve bool, reason string) (*Evidence, error) {
	if err := p.Require(regie.RoleFunder); err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if !approve && (reason == "" || utf8.RuneCountInString(reason) > maxReason) {
		return nil, regie.FieldError("reason", "reason_required", "a rejection needs a reason of at most %d characters", maxReason)
	}
	now := s.now()
	today := regie.DateOf(now)
	var ev *Evidence
	_, err := s.update(ctx, agb, func(d *Dossier) error {
		i := slices.IndexFunc(d.Evidence, func(e *Evidence) bool { return e.ID == id })
		if i < 0 {
			return regie.Errorf(regie.NotFound, "evidence_not_found", "provider %s has no evidence %s", agb, id)
		}
		e := d.Evidence[i]
		if err := p.RequireRegion(e.Region); err != nil {
			return err
		}
		cut := false
		switch {
		case approve && e.Status != Submitted, !approve && e.Status == Rejected:
			return regie.Errorf(regie.Conflict, "evidence_reviewed", "this evidence is %s already", e.Status)
		case approve && e.ValidUntil < today:
			return regie.Errorf(regie.Conflict, "evidence_expired", "this evidence expired on %s", e.ValidUntil)
		case approve:
			e.Status, e.Reason = Approved, ""
		default:
			cut = e.Status == Approved
			e.Status, e.Reason = Rejected, reason
		}
		e.ReviewedAt, e.ReviewedBy = now.UTC().Truncate(time.Second), p.Subject
		ev = e
		return evaluate(d, today, cut)
	})
	if err != nil {
		return nil, err
	}
	return ev, nil
}

// RegionEvidence lists the evidence submitted for a region with the given
// status ("submitted" when empty, "all" for every status), oldest first:
// a funder's work list. Errors: Forbidden; NotFound "region_not_found";
// Invalid "status_invalid".
func (s *Service) RegionEvidence(ctx context.Context, p regie.Principal, region, status string) ([]*Evidence, error) {
	if err := p.Require(regie.RoleFunder); err != nil {
		return nil, err
	}
	if err := p.RequireRegion(region); err != nil {
		return nil, err
	}
	if status == "" {
		status = string(Submitted)
	}
	switch EvidenceStatus(status) {
	case Submitted, Approved, Rejected, "all":
	default:
		return nil, regie.FieldError("status", "status_invalid", "status is submitted, approved, rejected or all")
	}
	if err := s.requireRegion(ctx, region); err != nil {
		return nil, err
	}
	all, err := s.Store.EvidenceInRegion(ctx, region)
	if err != nil {
		return nil, err
	}
	out := make([]*Evidence, 0, len(all))
	for _, e := range all {
		if status == "all" || string(e.Status) == status {
			out = append(out, e)
		}
	}
	return out, nil
}

// Criteria returns the criteria of a region to any signed-in caller: those
// its funder set, or DefaultCriteria. Errors: NotFound "region_not_found".
func (s *Service) Criteria(ctx context.Context, p regie.Principal, region string) (*Criteria, error) {
	if !p.Role.Valid() {
		return nil, p.Require(regie.RoleClient, regie.RoleProvider, regie.RoleFunder, regie.RoleAssessor, regie.RoleAuditor, regie.RoleAdmin)
	}
	if err := s.requireRegion(ctx, region); err != nil {
		return nil, err
	}
	c, err := s.criteria(ctx, region)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// CriteriaInput is what a funder sets for its region.
type CriteriaInput struct {
	Required          []Criterion `json:"required"`
	SmallScale        []Criterion `json:"small_scale"`
	SmallScaleMaxTeam int         `json:"small_scale_max_team"`
	WarnDays          int         `json:"warn_days"` // 30 when zero
}

// SetCriteria sets the criteria of a region, then judges every provider that
// lists the region (or was qualified in it) again and returns how many. The
// small-scale set must be part of the full set. New criteria never end a
// current qualification early: they apply from the end of each provider's
// current period. Errors: Forbidden; NotFound "region_not_found"; Invalid
// "criterion_unknown", "criteria_invalid".
func (s *Service) SetCriteria(ctx context.Context, p regie.Principal, region string, in CriteriaInput) (*Criteria, int, error) {
	if err := p.Require(regie.RoleFunder); err != nil {
		return nil, 0, err
	}
	if err := p.RequireRegion(region); err != nil {
		return nil, 0, err
	}
	if err := s.requireRegion(ctx, region); err != nil {
		return nil, 0, err
	}
	required, err := checkCriteria("required", in.Required)
	if err != nil {
		return nil, 0, err
	}
	small, err := checkCriteria("small_scale", in.SmallScale)
	if err != nil {
		return nil, 0, err
	}
	switch {
	case len(required) == 0:
		return nil, 0, regie.FieldError("required", "criteria_invalid", "require at least one criterion")
	case slices.ContainsFunc(small, func(c Criterion) bool { return !slices.Contains(required, c) }):
		return nil, 0, regie.FieldError("small_scale", "criteria_invalid", "the small-scale set must be part of the required set")
	case in.SmallScaleMaxTeam < 0 || in.SmallScaleMaxTeam > 1000:
		return nil, 0, regie.FieldError("small_scale_max_team", "criteria_invalid", "small_scale_max_team must be 0–1000")
	case in.SmallScaleMaxTeam > 0 && len(small) == 0:
		return nil, 0, regie.FieldError("small_scale", "criteria_invalid", "a small-scale set is needed when small_scale_max_team is set")
	case in.WarnDays < 0 || in.WarnDays > 365:
		return nil, 0, regie.FieldError("warn_days", "criteria_invalid", "warn_days must be 1–365")
	}
	if in.WarnDays == 0 {
		in.WarnDays = 30
	}
	now := s.now()
	c := &Criteria{
		Region: region, Required: required, SmallScale: small, SmallScaleMaxTeam: in.SmallScaleMaxTeam,
		WarnDays: in.WarnDays, UpdatedAt: now.UTC().Truncate(time.Second), UpdatedBy: p.Subject,
	}
	if c.SmallScale == nil {
		c.SmallScale = []Criterion{}
	}
	if err := s.Store.PutCriteria(ctx, c); err != nil {
		return nil, 0, err
	}
	agbs, err := s.listing(ctx, region)
	if err != nil {
		return nil, 0, err
	}
	today := regie.DateOf(now)
	for _, agb := range agbs {
		if _, err := s.update(ctx, agb, func(d *Dossier) error { return evaluate(d, today, false) }); err != nil {
			return nil, 0, err
		}
	}
	return c, len(agbs), nil
}

// checkCriteria checks a set of criteria and puts it in catalogue order.
func checkCriteria(field string, cs []Criterion) ([]Criterion, error) {
	out := make([]Criterion, 0, len(cs))
	for i, c := range cs {
		if !c.Valid() {
			return nil, regie.FieldError(fmt.Sprintf("%s[%d]", field, i), "criterion_unknown", "criterion %q is not in the catalogue", c)
		}
		if slices.Contains(out, c) {
			return nil, regie.FieldError(fmt.Sprintf("%s[%d]", field, i), "criteria_invalid", "criterion %q is listed twice", c)
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Criterion) int { return criterionRank(a) - criterionRank(b) })
	return out, nil
}

// listing returns the providers that list region or were qualified in it.
func (s *Service) listing(ctx context.Context, region string) ([]string, error) {
	if s.Index != nil {
		return s.Index.Listing(region), nil
	}
	all, err := s.Store.Providers(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range all {
		if slices.Contains(p.Regions, region) || slices.ContainsFunc(p.Qualifications, func(q Qualification) bool { return q.Region == region }) {
			out = append(out, p.AGB)
		}
	}
	return out, nil
}
