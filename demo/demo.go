// Package demo loads the demo data set for `regie serve --demo` into a store:
//
//   - 35 budget regions for one year: the 31 Wlz zorgkantoor regions (ids such
//     as "utrecht", "amsterdam", "zuid-limburg") with their concessionaire and a
//     contracteerruimte that scales about EUR 30 billion by population, and the
//     four largest municipalities as Wmo regions: gm0363 Amsterdam, gm0599
//     Rotterdam, gm0518 Den Haag and gm0344 Utrecht;
//   - a tariff table of five Wlz zorgprofielen per day (VV04, VV05, VV06, VG05,
//     LG05) and three Wmo products (WMO-BEG per hour, WMO-DB per dagdeel,
//     WMO-HH per hour);
//   - about 200 small-scale providers in real Dutch towns with fictitious AGB
//     codes (98……) and KvK numbers, listing the zorgkantoor region of their
//     town (and the G4 municipality, when they offer Wmo care there). Each has
//     approved evidence for the criteria its funders ask (FunderCriteria: the
//     zorgkantoor Utrecht sets its own, the others keep the defaults), valid
//     through the end of the next year, and is qualified since five years
//     back (see Qualify); a handful still wait for the review of their Wtza
//     registration and VOG. Fourteen around Utrecht are written out by hand,
//     the rest are generated with a fixed seed, so every run loads the same
//     data;
//   - two vouchers for the demo client in region utrecht, valid for the year:
//     Wmo (WMO-BEG 4 hours and WMO-DB 2 dagdelen a week) and Wlz (VV05, 7 days
//     a week), issued by the demo CIZ assessor.
//
// Users lists the demo logins, one per role. All names, numbers and budgets
// are made up; places and coordinates are real.
package demo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/store"
	"github.com/regie-nl/regie/voucher"
)

// MetaKey is the store meta key that Load sets, last, once the data set is in.
const MetaKey = "demo_loaded"

// Load writes the demo data set into st once: a second call finds the meta key
// "demo_loaded" set and changes nothing, returning loaded=false.
//
// Regions, tariffs and providers are put (create or replace), so a Load that
// failed half-way can simply be run again; the demo vouchers are issued only
// if the demo client has no voucher of that law for the year yet.
func Load(ctx context.Context, st store.Store, vouchers *voucher.Service, year int) (loaded bool, err error) {
	if year < 2000 || year > 2999 {
		return false, fmt.Errorf("demo: year %d out of range", year)
	}
	if vouchers == nil || vouchers.Pseudonyms == nil {
		return false, errors.New("demo: a voucher service with a pseudonymiser is needed")
	}
	done, err := st.Meta(ctx, MetaKey)
	if err != nil {
		return false, fmt.Errorf("demo: read meta: %w", err)
	}
	if done != "" {
		return false, nil
	}
	for _, r := range Regions(year) {
		if err := st.PutRegion(ctx, r); err != nil {
			return false, fmt.Errorf("demo: region %s: %w", r.ID, err)
		}
	}
	for _, t := range Tariffs() {
		if err := st.PutTariff(ctx, t); err != nil {
			return false, fmt.Errorf("demo: tariff %s: %w", t.Product, err)
		}
	}
	for _, c := range FunderCriteria() {
		c.UpdatedAt = time.Date(year-1, 11, 1, 9, 0, 0, 0, time.UTC)
		if err := st.PutCriteria(ctx, &c); err != nil {
			return false, fmt.Errorf("demo: criteria of %s: %w", c.Region, err)
		}
	}
	providers := Providers()
	evidence := Qualify(providers, year)
	if err := st.PutProviders(ctx, providers); err != nil {
		return false, fmt.Errorf("demo: providers: %w", err)
	}
	if err := st.PutEvidence(ctx, evidence); err != nil {
		return false, fmt.Errorf("demo: evidence: %w", err)
	}
	if err := issueVouchers(ctx, st, vouchers, year); err != nil {
		return false, err
	}
	if err := st.SetMeta(ctx, MetaKey, strconv.Itoa(year)); err != nil {
		return false, fmt.Errorf("demo: set meta: %w", err)
	}
	return true, nil
}

// Indications returns the two indications of the demo client for one year.
func Indications(year int) ([]voucher.Indication, error) {
	from, err := regie.ParseDate(fmt.Sprintf("%04d-01-01", year))
	if err != nil {
		return nil, err
	}
	to, err := regie.ParseDate(fmt.Sprintf("%04d-12-31", year))
	if err != nil {
		return nil, err
	}
	return []voucher.Indication{
		{
			BSN: ClientBSN, Law: voucher.Wmo, Region: "utrecht", ValidFrom: from, ValidTo: to,
			Lines: []voucher.IndicationLine{
				{Product: WmoBeg, UnitsPerWeek: 4 * regie.UnitScale},
				{Product: WmoDB, UnitsPerWeek: 2 * regie.UnitScale},
			},
		},
		{
			BSN: ClientBSN, Law: voucher.Wlz, Region: "utrecht", ValidFrom: from, ValidTo: to,
			Lines: []voucher.IndicationLine{
				{Product: VV05, UnitsPerWeek: 7 * regie.UnitScale},
			},
		},
	}, nil
}

// issueVouchers issues the demo client's vouchers through the voucher service,
// skipping any the client already has (same law, region and validity).
func issueVouchers(ctx context.Context, st store.Store, vouchers *voucher.Service, year int) error {
	subject, err := vouchers.Pseudonyms.Pseudonym(ClientBSN)
	if err != nil {
		return fmt.Errorf("demo: client pseudonym: %w", err)
	}
	have, err := st.VouchersBySubject(ctx, subject)
	if err != nil {
		return fmt.Errorf("demo: client vouchers: %w", err)
	}
	indications, err := Indications(year)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	for _, in := range indications {
		exists := slices.ContainsFunc(have, func(v *voucher.Voucher) bool {
			return v.Law == in.Law && v.Region == in.Region && v.ValidFrom == in.ValidFrom && v.ValidTo == in.ValidTo
		})
		if exists {
			continue
		}
		if _, _, err := vouchers.Issue(ctx, assessor, in); err != nil {
			return fmt.Errorf("demo: issue %s voucher: %w", in.Law, err)
		}
	}
	return nil
}
