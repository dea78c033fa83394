package matching

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/voucher"
)

// Service runs provider onboarding and qualification, search, the choice
// lifecycle and the waiting list. Every method checks the caller's role and
// scope first.
type Service struct {
	Store    Store
	Vouchers *voucher.Service
	// Index answers searches from memory. Every change made through the
	// service is put in it; without one, Search scans the store.
	Index *Index
	Now   func() time.Time // the clock; time.Now when nil
	// AnswerDays is how long a provider has to accept or decline a choice
	// before it lapses, in days of 24 hours from the choice; 7 when zero.
	AnswerDays int
}

// DefaultAnswerDays is the answer deadline of a choice when AnswerDays is zero.
const DefaultAnswerDays = 7

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) today() regie.Date { return regie.DateOf(s.now()) }

// Query narrows a search. Lat/Lon is the point to search around: the client's
// home or their family's address.
type Query struct {
	Product   string
	Lat, Lon  float64
	RadiusKm  float64 // 25 when zero, at most 500
	Language  string  // an ISO 639 code; optional
	Expertise string  // a code of Expertises; optional
	Identity  string  // a code of Identities; optional
	Setting   string  // a code of Settings; optional
	// Available keeps only providers with an open place.
	Available bool
	// MaxWaitingWeeks, when set, keeps only providers whose waiting time is at
	// most that many weeks.
	MaxWaitingWeeks *int
	Limit           int // 20 when zero, at most 100
	Offset          int // at most MaxOffset
}

// Search limits.
const (
	DefaultRadiusKm = 25
	MaxRadiusKm     = 500
	DefaultLimit    = 20
	MaxLimit        = 100
	MaxOffset       = 1000
)

// Result is one provider found, with its nearest location.
type Result struct {
	Provider   *Provider   `json:"provider"`
	Location   Location    `json:"nearest_location"`
	DistanceKm float64     `json:"distance_km"`
	Tariff     regie.Cents `json:"tariff"`
}

// Page is one page of search results.
type Page struct {
	Providers []Result `json:"providers"`
	Offset    int      `json:"offset"`
	Limit     int      `json:"limit"`
	HasMore   bool     `json:"has_more"`
}

// Search returns the providers qualified today in the voucher's region that
// offer the product within the radius and pass every filter, ranked nearest
// first, then those with an open place, then fewest waiting weeks, then by AGB
// code; one page of them. Only the voucher's client (and funders of its
// region) may search for it. Errors: Invalid "product_not_indicated",
// "search_invalid" (with the field at fault); plus those of
// voucher.Service.Voucher.
func (s *Service) Search(ctx context.Context, p regie.Principal, voucherID string, q Query) (*Page, error) {
	if err := p.Require(regie.RoleClient, regie.RoleFunder); err != nil {
		return nil, err
	}
	v, err := s.Vouchers.Voucher(ctx, p, voucherID)
	if err != nil {
		return nil, err
	}
	if v.Line(q.Product) == nil {
		return nil, regie.FieldError("product", "product_not_indicated", "product %q is not on this voucher", q.Product)
	}
	if err := q.normalise(); err != nil {
		return nil, err
	}
	today := s.today()
	page := &Page{Offset: q.Offset, Limit: q.Limit}
	if s.Index != nil {
		page.Providers, page.HasMore = s.Index.Search(q, v.Region, today)
	} else {
		all, err := s.Store.Providers(ctx)
		if err != nil {
			return nil, err
		}
		page.Providers, page.HasMore = scan(all, q, v.Region, today)
	}
	if page.Providers == nil {
		page.Providers = []Result{}
	}
	return page, nil
}

// normalise applies the defaults and checks the query.
func (q *Query) normalise() error {
	if q.RadiusKm == 0 {
		q.RadiusKm = DefaultRadiusKm
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	bad := func(field, format string, args ...any) error {
		return regie.FieldError(field, "search_invalid", format, args...)
	}
	// Written as !(in range) so that NaN, which compares false, is refused too.
	switch {
	case !(q.Lat >= -90 && q.Lat <= 90):
		return bad("lat", "lat must be a latitude from -90 to 90")
	case !(q.Lon >= -180 && q.Lon <= 180):
		return bad("lon", "lon must be a longitude from -180 to 180")
	case !(q.RadiusKm > 0 && q.RadiusKm <= MaxRadiusKm):
		return bad("radius_km", "radius_km must be more than 0 and at most %d", MaxRadiusKm)
	case q.Limit < 1 || q.Limit > MaxLimit:
		return bad("limit", "limit must be 1–%d", MaxLimit)
	case q.Offset < 0 || q.Offset > MaxOffset:
		return bad("offset", "offset must be 0–%d", MaxOffset)
	case q.MaxWaitingWeeks != nil && (*q.MaxWaitingWeeks < 0 || *q.MaxWaitingWeeks > maxWaitingWeeks):
		return bad("max_waiting_weeks", "max_waiting_weeks must be 0–%d", maxWaitingWeeks)
	}
	q.Language = strings.ToLower(strings.TrimSpace(q.Language))
	q.Expertise = strings.ToLower(strings.TrimSpace(q.Expertise))
	q.Identity = strings.ToLower(strings.TrimSpace(q.Identity))
	q.Setting = strings.ToLower(strings.TrimSpace(q.Setting))
	switch {
	case q.Language != "" && !languageCode.MatchString(q.Language):
		return bad("language", "language must be an ISO 639 code such as nl or pap")
	case q.Expertise != "" && !inVocabulary(Expertises, q.Expertise):
		return bad("expertise", "expertise %q is not in the vocabulary", q.Expertise)
	case q.Identity != "" && !inVocabulary(Identities, q.Identity):
		return bad("identity", "identity %q is not in the vocabulary", q.Identity)
	case q.Setting != "" && !inVocabulary(Settings, q.Setting):
		return bad("setting", "setting %q is not in the vocabulary", q.Setting)
	}
	return nil
}

// match reports whether the provider passes every condition of the query but
// the distance, and returns its offer of the product.
func (q *Query) match(p *Provider, region string, on regie.Date) (*Offer, bool) {
	o := p.Offer(q.Product)
	switch {
	case o == nil, !p.QualifiedIn(region, on),
		q.Available && p.OpenPlaces <= 0,
		q.MaxWaitingWeeks != nil && p.WaitingWeeks > *q.MaxWaitingWeeks,
		q.Language != "" && !containsFold(p.Languages, q.Language),
		q.Expertise != "" && !containsFold(p.Expertise, q.Expertise),
		q.Identity != "" && !containsFold(p.Identity, q.Identity),
		q.Setting != "" && !containsFold(p.Settings, q.Setting):
		return nil, false
	}
	return o, true
}

// scan is Search without an index: every provider is looked at.
func scan(all []*Provider, q Query, region string, on regie.Date) ([]Result, bool) {
	top := topK{k: q.Offset + q.Limit + 1}
	for _, pr := range all {
		offer, ok := q.match(pr, region, on)
		if !ok {
			continue
		}
		i, dist := nearest(pr.Locations, q.Lat, q.Lon)
		if i < 0 || dist > q.RadiusKm {
			continue
		}
		top.offer(Result{Provider: pr, Location: pr.Locations[i], DistanceKm: dist, Tariff: offer.Tariff}, i, false)
	}
	return top.page(q.Offset, q.Limit)
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// nearest returns the index of the location closest to (lat, lon), the first
// of equals, and its distance in km; -1 when there is none.
func nearest(locs []Location, lat, lon float64) (int, float64) {
	best, bestDist := -1, math.Inf(1)
	for i, l := range locs {
		if !indexable(l) {
			continue
		}
		if d := DistanceKm(lat, lon, l.Lat, l.Lon); d < bestDist {
			best, bestDist = i, d
		}
	}
	return best, bestDist
}

const (
	earthRadiusKm = 6371.0
	rad           = math.Pi / 180
)

// DistanceKm is the great-circle (haversine) distance between two points.
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	return haversine(lat1, lon1, math.Cos(lat1*rad), lat2, lon2, math.Cos(lat2*rad))
}

// haversine is DistanceKm with the cosines of both latitudes given, so that
// the index computes them once; the result is the same to the last bit.
func haversine(lat1, lon1, cos1, lat2, lon2, cos2 float64) float64 {
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	sLat, sLon := math.Sin(dLat/2), math.Sin(dLon/2)
	a := sLat*sLat + cos1*cos2*sLon*sLon
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(a)))
}

// ChoiceRequest is a client's choice of a provider for one product line.
type ChoiceRequest struct {
	Product     string     `json:"product"`
	ProviderAGB string     `json:"provider_agb"`
	From        regie.Date `json:"from"` // first day of care; the voucher's first day when zero
}

// Choose records the client's choice of a provider for a product line of their
// voucher. The provider must be qualified today in the voucher's region and
// offer the product. The choice is requested until the provider answers, for
// at most AnswerDays; then it lapses. An open waiting-list entry of the
// voucher for that product and provider is closed as chosen.
// Errors: Forbidden; NotFound "voucher_not_found", "provider_not_found";
// Invalid "product_not_indicated", "provider_not_qualified",
// "product_not_offered", "voucher_not_active", "from_invalid"; Conflict "choice_active".
func (s *Service) Choose(ctx context.Context, p regie.Principal, voucherID string, req ChoiceRequest) (*Choice, error) {
	if err := p.Require(regie.RoleClient); err != nil {
		return nil, err
	}
	v, err := s.Vouchers.Voucher(ctx, p, voucherID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if v.StatusAt(regie.DateOf(now)) != voucher.Active {
		return nil, regie.Errorf(regie.Invalid, "voucher_not_active", "this voucher is %s", v.StatusAt(regie.DateOf(now)))
	}
	if v.Line(req.Product) == nil {
		return nil, regie.FieldError("product", "product_not_indicated", "product %q is not on this voucher", req.Product)
	}
	if req.From.IsZero() {
		req.From = v.ValidFrom
	}
	if req.From < v.ValidFrom || req.From > v.ValidTo {
		return nil, regie.FieldError("from", "from_invalid", "from must lie within the voucher's validity")
	}
	pr, err := s.Store.Provider(ctx, req.ProviderAGB)
	if err != nil {
		return nil, err
	}
	if !pr.QualifiedIn(v.Region, regie.DateOf(now)) {
		return nil, regie.FieldError("provider_agb", "provider_not_qualified", "this provider is not qualified in region %s", v.Region)
	}
	if pr.Offer(req.Product) == nil {
		return nil, regie.FieldError("product", "product_not_offered", "this provider does not offer %s", req.Product)
	}
	created := now.UTC().Truncate(time.Second)
	c := &Choice{
		ID:          voucher.NewID("ch"),
		VoucherID:   v.ID,
		Product:     req.Product,
		ProviderAGB: pr.AGB,
		Subject:     v.Subject,
		Region:      v.Region,
		Status:      Requested,
		From:        req.From,
		To:          v.ValidTo,
		CreatedAt:   created,
		AnswerBy:    created.Add(time.Duration(s.answerDays()) * 24 * time.Hour),
	}
	if err := s.Store.CreateChoice(ctx, c); err != nil {
		return nil, err
	}
	// The client got what it waited for. Closing the entry is a courtesy to
	// the provider's list: if it fails, the choice stands and the entry
	// stays open until the client withdraws it.
	if ws, err := s.Store.WaitingByVoucher(ctx, v.ID); err == nil {
		for _, w := range ws {
			if w.Open() && w.Product == c.Product && w.ProviderAGB == c.ProviderAGB {
				_, _ = s.Store.CloseWaiting(ctx, w.ID, WaitingChosen, created)
			}
		}
	}
	return c, nil
}

func (s *Service) answerDays() int {
	if s.AnswerDays > 0 {
		return s.AnswerDays
	}
	return DefaultAnswerDays
}

// Decide lets the chosen provider accept or decline a requested choice; a
// decline needs a reason. A choice not answered before its AnswerBy has
// lapsed: that is recorded, and the answer refused. To accept, the provider
// must be qualified today in the voucher's region. Errors: Forbidden;
// NotFound "choice_not_found"; Invalid "reason_required",
// "provider_not_qualified"; Conflict "choice_decided", "choice_lapsed".
func (s *Service) Decide(ctx context.Context, p regie.Principal, choiceID string, accept bool, reason string) (*Choice, error) {
	if err := p.Require(regie.RoleProvider); err != nil {
		return nil, err
	}
	c, err := s.Store.Choice(ctx, choiceID)
	if err != nil {
		return nil, err
	}
	if c.ProviderAGB != p.Subject {
		return nil, regie.Errorf(regie.Forbidden, "scope_forbidden", "this choice is addressed to another provider")
	}
	now := s.now()
	if c.Overdue(now) {
		if _, err := s.lapse(ctx, []*Choice{c}); err != nil {
			return nil, err
		}
		return nil, regie.Errorf(regie.Conflict, "choice_lapsed", "this choice lapsed unanswered at %s", c.AnswerBy.Format(time.RFC3339))
	}
	to := Accepted
	if !accept {
		to = Declined
		reason = strings.TrimSpace(reason)
		if reason == "" || utf8.RuneCountInString(reason) > maxReason {
			return nil, regie.FieldError("reason", "reason_required", "a decline needs a reason of at most %d characters", maxReason)
		}
	} else if c.Status == Requested {
		pr, err := s.Store.Provider(ctx, c.ProviderAGB)
		if err != nil {
			return nil, err
		}
		if !pr.QualifiedIn(c.Region, regie.DateOf(now)) {
			return nil, regie.Errorf(regie.Invalid, "provider_not_qualified", "you are not qualified in region %s today", c.Region)
		}
	}
	return s.Store.DecideChoice(ctx, choiceID, to, reason, now.UTC().Truncate(time.Second))
}

// maxReason is the longest reason, in characters, for a decline or rejection.
const maxReason = 500

// lapse records the lapse of every overdue choice in cs and returns cs with
// each such choice as stored now.
func (s *Service) lapse(ctx context.Context, cs []*Choice) ([]*Choice, error) {
	now := s.now()
	for i, c := range cs {
		if !c.Overdue(now) {
			continue
		}
		got, err := s.Store.DecideChoice(ctx, c.ID, Lapsed, "", c.AnswerBy)
		if regie.ErrorCode(err) == "choice_decided" { // answered or lapsed meanwhile
			got, err = s.Store.Choice(ctx, c.ID)
		}
		if err != nil {
			return nil, err
		}
		cs[i] = got
	}
	return cs, nil
}

// Choices lists the choices a caller may see, oldest first: a provider those
// addressed to it, a client those on its vouchers. Choices whose answer
// deadline passed are recorded as lapsed first.
func (s *Service) Choices(ctx context.Context, p regie.Principal) ([]*Choice, error) {
	switch p.Role {
	case regie.RoleProvider:
		cs, err := s.Store.ChoicesByProvider(ctx, p.Subject)
		if err != nil {
			return nil, err
		}
		return s.lapse(ctx, cs)
	case regie.RoleClient:
		vs, err := s.Vouchers.ClientVouchers(ctx, p)
		if err != nil {
			return nil, err
		}
		var out []*Choice
		for _, v := range vs {
			cs, err := s.Store.ChoicesByVoucher(ctx, v.ID)
			if err != nil {
				return nil, err
			}
			out = append(out, cs...)
		}
		return s.lapse(ctx, out)
	}
	return nil, p.Require(regie.RoleProvider, regie.RoleClient)
}
