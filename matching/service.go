package matching

import (
	"context"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/voucher"
)

// Service searches providers and runs the choice lifecycle. Every method checks
// the caller's role and scope first.
type Service struct {
	Store    Store
	Vouchers *voucher.Service
	Now      func() time.Time // the clock; time.Now when nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Query narrows a search. Lat/Lon is the point to search around: the client's
// home or their family's address.
type Query struct {
	Product   string
	Lat, Lon  float64
	RadiusKm  float64 // 25 when zero
	Language  string  // optional
	Expertise string  // optional
	Limit     int     // 20 when zero, at most 100
}

// Result is one provider found, with its nearest location.
type Result struct {
	Provider   *Provider   `json:"provider"`
	Location   Location    `json:"nearest_location"`
	DistanceKm float64     `json:"distance_km"`
	Tariff     regie.Cents `json:"tariff"`
}

// Search returns qualified providers in the voucher's region that offer the
// product within the radius, nearest first, then fewest waiting weeks, then AGB
// code. Only the voucher's client (and funders of its region) may search for it.
// Errors: Invalid "product_not_indicated", "search_invalid"; plus those of
// voucher.Service.Voucher.
func (s *Service) Search(ctx context.Context, p regie.Principal, voucherID string, q Query) ([]Result, error) {
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
	if q.RadiusKm == 0 {
		q.RadiusKm = 25
	}
	if q.Limit == 0 {
		q.Limit = 20
	}
	// Written as !(in range) so that NaN, which compares false, is refused too.
	if !(q.Lat >= -90 && q.Lat <= 90) || !(q.Lon >= -180 && q.Lon <= 180) || !(q.RadiusKm >= 0 && q.RadiusKm <= 500) || q.Limit < 0 || q.Limit > 100 {
		return nil, regie.FieldError("lat", "search_invalid", "lat/lon must be coordinates, radius_km 0–500, limit 1–100")
	}
	today := regie.DateOf(s.now())
	all, err := s.Store.Providers(ctx)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, pr := range all {
		offer := pr.Offer(q.Product)
		if offer == nil || !pr.QualifiedIn(v.Region, today) {
			continue
		}
		if q.Language != "" && !containsFold(pr.Languages, q.Language) {
			continue
		}
		if q.Expertise != "" && !containsFold(pr.Expertise, q.Expertise) {
			continue
		}
		best, dist := nearest(pr.Locations, q.Lat, q.Lon)
		if dist > q.RadiusKm {
			continue
		}
		out = append(out, Result{Provider: pr, Location: best, DistanceKm: dist, Tariff: offer.Tariff})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.DistanceKm != b.DistanceKm {
			return a.DistanceKm < b.DistanceKm
		}
		if a.Provider.WaitingWeeks != b.Provider.WaitingWeeks {
			return a.Provider.WaitingWeeks < b.Provider.WaitingWeeks
		}
		return a.Provider.AGB < b.Provider.AGB
	})
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	for i := range out {
		out[i].DistanceKm = math.Round(out[i].DistanceKm*10) / 10 // ranked exactly, shown to 100 m
	}
	return out, nil
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// nearest returns the location closest to (lat, lon) and its distance in km.
func nearest(locs []Location, lat, lon float64) (Location, float64) {
	best, bestDist := Location{}, math.Inf(1)
	for _, l := range locs {
		if d := DistanceKm(lat, lon, l.Lat, l.Lon); d < bestDist {
			best, bestDist = l, d
		}
	}
	return best, bestDist
}

// DistanceKm is the great-circle (haversine) distance between two points.
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const earthRadiusKm = 6371.0
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(a)))
}

// ChoiceRequest is a client's choice of a provider for one product line.
type ChoiceRequest struct {
	Product     string     `json:"product"`
	ProviderAGB string     `json:"provider_agb"`
	From        regie.Date `json:"from"` // first day of care; the voucher's first day when zero
}

// Choose records the client's choice of a provider for a product line of their
// voucher. The provider must be qualified in the voucher's region and offer the
// product. Errors: Forbidden; NotFound "voucher_not_found", "provider_not_found";
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
		CreatedAt:   now.UTC().Truncate(time.Second),
	}
	if err := s.Store.CreateChoice(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// Decide lets the chosen provider accept or decline a requested choice; a
// decline needs a reason. Errors: Forbidden; NotFound "choice_not_found";
// Invalid "reason_required"; Conflict "choice_decided".
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
	to := Accepted
	if !accept {
		to = Declined
		reason = strings.TrimSpace(reason)
		if reason == "" || utf8.RuneCountInString(reason) > 500 {
			return nil, regie.FieldError("reason", "reason_required", "a decline needs a reason of at most 500 characters")
		}
	}
	return s.Store.DecideChoice(ctx, choiceID, to, reason, s.now().UTC().Truncate(time.Second))
}

// Choices lists the choices a caller may see: a provider those addressed to it,
// a client those on its vouchers.
func (s *Service) Choices(ctx context.Context, p regie.Principal) ([]*Choice, error) {
	switch p.Role {
	case regie.RoleProvider:
		return s.Store.ChoicesByProvider(ctx, p.Subject)
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
		return out, nil
	}
	return nil, p.Require(regie.RoleProvider, regie.RoleClient)
}
