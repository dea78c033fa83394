package settlement

import (
	"fmt"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/voucher"
)

// State is what Decide reads. A store implements it over one transaction, so
// that the decision and its effects see one consistent state.
type State interface {
	// Voucher returns the voucher, or nil when there is none.
	Voucher(id string) (*voucher.Voucher, error)
	// Choices returns the voucher's choices.
	Choices(voucherID string) ([]*matching.Choice, error)
	// Provider returns the provider, or nil when there is none.
	Provider(agb string) (*matching.Provider, error)
	// Tariff returns the tariff of a product; ok is false when there is none.
	Tariff(product string) (t voucher.Tariff, ok bool, err error)
	// Overlaps reports whether a settled or held claim on the voucher line
	// overlaps the period from–to.
	Overlaps(voucherID, product string, from, to regie.Date) (bool, error)
	// Region returns the region's state, or nil when there is none.
	Region(id string) (*RegionState, error)
}

// Decide applies the claim rules, in a fixed order, to a validated claim on the
// given day. It reads state and changes nothing, but for rolling a scheduled
// policy whose day has come into the region it read (in memory). For an
// accepted or held claim it returns the voucher and region, for the store to
// book with BookClaim.
//
// The order is: voucher known, not revoked/suspended/expired; period within
// validity and not in the future; product indicated; provider assigned for
// the whole period and qualified on its first and last day; unit price within
// the maximum tariff and the provider's own tariff; no overlap with a settled
// or held claim; units within the indicated volume; amount within the line's
// remaining balance; then the region: its year not closed, and its budget
// policy on that day (a scheduled policy whose day has come is rolled in, see
// RegionState.Roll): cap rejects what would take settled + held past the
// budget, hold holds what would take it past the threshold.
func Decide(st State, c Claim, today regie.Date) (Decision, *voucher.Voucher, *RegionState, error) {
	d := Decision{
		ProviderAGB: c.ProviderAGB, ClaimID: c.ClaimID, VoucherID: c.VoucherID, Product: c.Product,
		From: c.From, To: c.To, Units: c.Units, UnitPrice: c.UnitPrice,
		Status: Rejected, Fingerprint: c.Fingerprint(),
	}
	reason, v, err := check(st, c, today)
	if err != nil {
		return Decision{}, nil, nil, err
	}
	if v != nil {
		d.Region = v.Region
	}
	if reason != "" {
		d.Reason = reason
		return d, nil, nil, nil
	}
	r, err := st.Region(v.Region)
	if err != nil {
		return Decision{}, nil, nil, err
	}
	if r == nil {
		return Decision{}, nil, nil, fmt.Errorf("settlement: voucher %s names unknown region %s", v.ID, v.Region)
	}
	// A scheduled policy whose day has come holds from now on (in memory; the
	// store writes the region when it books the claim).
	r.Roll(today)
	amount, _ := c.Amount()
	claimed := r.Settled + r.Held + amount
	switch {
	case r.Closed:
		d.Reason = ReasonBudgetYearClosed
		return d, nil, nil, nil
	case r.Policy.Kind == Cap && claimed > r.Budget:
		d.Reason = ReasonBudgetExhausted
		return d, nil, nil, nil
	case r.Policy.Kind == Hold && claimed > r.Policy.HoldThreshold.Of(r.Budget):
		d.Status = Held
	default:
		d.Status = Accepted
	}
	d.Amount = amount
	return d, v, r, nil
}

func check(st State, c Claim, today regie.Date) (string, *voucher.Voucher, error) {
	v, err := st.Voucher(c.VoucherID)
	if err != nil || v == nil {
		return ReasonVoucherUnknown, nil, err
	}
	switch v.StatusAt(today) {
	case voucher.Revoked:
		return ReasonVoucherRevoked, v, nil
	case voucher.Suspended:
		return ReasonVoucherSuspended, v, nil
	case voucher.Expired:
		return ReasonVoucherExpired, v, nil
	}
	if c.From < v.ValidFrom || c.To > v.ValidTo {
		return ReasonPeriodOutsideValidity, v, nil
	}
	if c.To > today {
		return ReasonPeriodInFuture, v, nil
	}
	line := v.Line(c.Product)
	if line == nil {
		return ReasonProductNotIndicated, v, nil
	}
	choices, err := st.Choices(v.ID)
	if err != nil {
		return "", nil, err
	}
	assigned := false
	for _, ch := range choices {
		if ch.Product == c.Product && ch.ProviderAGB == c.ProviderAGB && ch.Covers(c.From, c.To) {
			assigned = true
			break
		}
	}
	if !assigned {
		return ReasonProviderNotAssigned, v, nil
	}
	pr, err := st.Provider(c.ProviderAGB)
	if err != nil {
		return "", nil, err
	}
	if pr == nil || !pr.QualifiedIn(v.Region, c.From) || !pr.QualifiedIn(v.Region, c.To) {
		return ReasonProviderNotQualified, v, nil
	}
	tariff, ok, err := st.Tariff(c.Product)
	if err != nil {
		return "", nil, err
	}
	if !ok || c.UnitPrice > tariff.MaxPrice {
		return ReasonPriceAboveTariff, v, nil
	}
	if offer := pr.Offer(c.Product); offer == nil || c.UnitPrice > offer.Tariff {
		return ReasonPriceAboveOwnTariff, v, nil
	}
	overlap, err := st.Overlaps(v.ID, c.Product, c.From, c.To)
	if err != nil {
		return "", nil, err
	}
	if overlap {
		return ReasonPeriodOverlap, v, nil
	}
	// The claim on its own, and everything claimed on the line so far, must fit
	// the volume indicated up to the latest day claimed.
	through := max(c.To, line.ClaimedThrough)
	if c.Units > VolumeFor(line.UnitsPerWeek, tariff.Unit, c.From, c.To) ||
		line.UnitsClaimed+c.Units > VolumeFor(line.UnitsPerWeek, tariff.Unit, v.ValidFrom, through) {
		return ReasonUnitsAboveVolume, v, nil
	}
	if amount, _ := c.Amount(); amount > line.Remaining {
		return ReasonInsufficientBalance, v, nil
	}
	return "", v, nil
}

// VolumeFor is the most units one claim may hold for a period: the weekly
// volume for every started week (care within a week may be delivered on any of
// its days) and, for products priced per day, never more days than the period has.
func VolumeFor(perWeek regie.Units, unit string, from, to regie.Date) regie.Units {
	days := int64(from.DaysThrough(to))
	weeks := (days + 6) / 7
	max := regie.Units(int64(perWeek) * weeks)
	if unit == "day" {
		max = min(max, regie.Units(days*regie.UnitScale))
	}
	return max
}
