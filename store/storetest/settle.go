package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store"
	"github.com/regie-nl/regie/voucher"
)

// SettleAccepted settles a claim that must be accepted and checks every effect
// a store lets one read: the decision (amount, region, journal seq, the budget
// mark, the time), the debit of exactly the amount on the claimed line and on
// nothing else, the region's settled total and claim count, one new journal
// entry sealed onto the previous head with the settlement's postings, no change
// to any other region, and that Decision returns what Settle returned.
func SettleAccepted(t testing.TB, s store.Store, c settlement.Claim, now time.Time) settlement.Decision {
	t.Helper()
	ctx := t.Context()
	if err := c.Validate(); err != nil {
		t.Fatalf("test claim %s is invalid: %v", c.ClaimID, err)
	}
	amount, _ := c.Amount()
	v0, err := s.Voucher(ctx, c.VoucherID)
	must(t, err, "Voucher")
	region := v0.Region
	before := TakeSnapshot(t, s)
	fig0, j0 := before.Figures[region], before.Journal[region]

	d, replay, err := s.Settle(ctx, c, now)
	if err != nil {
		t.Fatalf("Settle %s: %v", c.ClaimID, err)
	}
	if d.Status != settlement.Accepted || replay {
		t.Fatalf("Settle %s = %s %q (replay %v), want accepted, not a replay", c.ClaimID, d.Status, d.Reason, replay)
	}
	payable := amount
	if fig0.Policy.Kind == settlement.ProRata {
		payable = regie.Cents((int64(amount)*int64(fig0.Policy.ProvisionalRate) + 5000) / 10000)
	}
	used := min(amount, v0.Line(c.Product).Committed) // the commitment this claim turns into settled
	want := settlement.Decision{
		ProviderAGB: c.ProviderAGB, ClaimID: c.ClaimID, VoucherID: c.VoucherID, Product: c.Product,
		From: c.From, To: c.To, Units: c.Units, UnitPrice: c.UnitPrice,
		Status: settlement.Accepted, Amount: amount, Payable: payable, Region: region,
		BeyondBudget: fig0.Settled+fig0.Held+amount > fig0.Budget,
		JournalSeq:   uint64(len(j0) + 1),
		DecidedAt:    now.UTC(), Fingerprint: d.Fingerprint,
	}
	if diff := DiffDecision(d, want); diff != "" {
		t.Fatalf("Settle %s: %s", c.ClaimID, diff)
	}

	// The claimed line goes down by exactly the amount; nothing else on the voucher changes.
	v1, err := s.Voucher(ctx, c.VoucherID)
	must(t, err, "Voucher")
	wantV := *v0
	wantV.Lines = append([]voucher.Line(nil), v0.Lines...)
	wantLine := wantV.Line(c.Product)
	wantLine.Remaining -= amount
	wantLine.Committed -= used
	wantLine.UnitsClaimed += c.Units
	wantLine.ClaimedThrough = max(wantLine.ClaimedThrough, c.To)
	if diff := diffVoucher(v1, &wantV); diff != "" {
		t.Fatalf("voucher after accepting %s (amount %s): %s", c.ClaimID, amount, diff)
	}

	after := TakeSnapshot(t, s)
	wantFig := fig0
	wantFig.Settled += amount
	wantFig.Remaining -= amount
	wantFig.Committed -= used
	wantFig.Free -= amount - used
	wantFig.Paid += payable
	wantFig.Claims++
	if fig := after.Figures[region]; fig != wantFig {
		t.Fatalf("figures after accepting %s (amount %s) = %+v, want %+v", c.ClaimID, amount, fig, wantFig)
	}

	j1 := after.Journal[region]
	if len(j1) != len(j0)+1 {
		t.Fatalf("journal has %d entries after an acceptance, had %d", len(j1), len(j0))
	}
	if len(j0) > 0 && !reflect.DeepEqual(j1[:len(j0)], j0) {
		t.Fatalf("an acceptance changed earlier journal entries")
	}
	e, prev := j1[len(j0)], ""
	if len(j0) > 0 {
		prev = j0[len(j0)-1].Hash
	}
	if err := e.CheckSeal(prev); err != nil {
		t.Fatalf("new journal entry: %v", err)
	}
	wantEntry := settlement.Entry{
		Region: region, Seq: d.JournalSeq, At: now.UTC(), Type: "settle",
		ProviderAGB: c.ProviderAGB, ClaimID: c.ClaimID, VoucherID: c.VoucherID, Product: c.Product, Amount: amount,
		Postings: []settlement.Posting{{Account: settlement.VoucherAccount(c.VoucherID, c.Product), Amount: -amount}},
		PrevHash: prev, Hash: e.Hash,
	}
	if used > 0 {
		wantEntry.Postings = append(wantEntry.Postings,
			settlement.Posting{Account: settlement.VoucherCommittedAccount(c.VoucherID, c.Product), Amount: -used},
			settlement.Posting{Account: settlement.RegionAccount(region, "committed"), Amount: -used})
	}
	wantEntry.Postings = append(wantEntry.Postings,
		settlement.Posting{Account: settlement.RegionAccount(region, "settled"), Amount: amount},
		settlement.Posting{Account: settlement.RegionAccount(region, "paid"), Amount: payable},
		settlement.Posting{Account: settlement.ProviderAccount(region, c.ProviderAGB, "claimed"), Amount: amount},
		settlement.Posting{Account: settlement.ProviderAccount(region, c.ProviderAGB, "paid"), Amount: payable})
	if !e.At.Equal(wantEntry.At) {
		t.Fatalf("journal entry at %v, want %v", e.At, wantEntry.At)
	}
	e.At = wantEntry.At
	if !reflect.DeepEqual(e, wantEntry) {
		t.Fatalf("journal entry %+v\nwant %+v", e, wantEntry)
	}

	// Nothing changes in other regions.
	delete(before.Figures, region)
	delete(after.Figures, region)
	delete(before.Journal, region)
	delete(after.Journal, region)
	if diff := before.Diff(after); diff != "" {
		t.Fatalf("accepting a claim in %s changed other regions:\n%s", region, diff)
	}

	rec, err := s.Decision(ctx, c.ProviderAGB, c.ClaimID)
	must(t, err, "Decision")
	if diff := DiffDecision(rec, d); diff != "" {
		t.Fatalf("Decision differs from what Settle returned: %s", diff)
	}
	return d
}

// SettleRejected settles a claim that must be rejected with reason and checks
// that nothing changed (vouchers, every region's figures and journal), that the
// decision is recorded, and that a retry returns it as a replay.
func SettleRejected(t testing.TB, s store.Store, c settlement.Claim, now time.Time, reason, region string) settlement.Decision {
	t.Helper()
	ctx := t.Context()
	if err := c.Validate(); err != nil {
		t.Fatalf("test claim %s is invalid: %v", c.ClaimID, err)
	}
	var ids []string
	if _, err := s.Voucher(ctx, c.VoucherID); err == nil {
		ids = append(ids, c.VoucherID)
	}
	before := TakeSnapshot(t, s, ids...)
	d, replay, err := s.Settle(ctx, c, now)
	if err != nil {
		t.Fatalf("Settle %s: %v", c.ClaimID, err)
	}
	want := settlement.Decision{
		ProviderAGB: c.ProviderAGB, ClaimID: c.ClaimID, VoucherID: c.VoucherID, Product: c.Product,
		From: c.From, To: c.To, Units: c.Units, UnitPrice: c.UnitPrice,
		Status: settlement.Rejected, Reason: reason, Region: region,
		DecidedAt: now.UTC(), Fingerprint: d.Fingerprint,
	}
	if replay {
		t.Fatalf("Settle %s: a first decision reported as a replay", c.ClaimID)
	}
	if diff := DiffDecision(d, want); diff != "" {
		t.Fatalf("Settle %s: %s", c.ClaimID, diff)
	}
	if diff := before.Diff(TakeSnapshot(t, s, ids...)); diff != "" {
		t.Fatalf("a rejection (%s) changed state:\n%s", reason, diff)
	}
	rec, err := s.Decision(ctx, c.ProviderAGB, c.ClaimID)
	must(t, err, "Decision")
	if diff := DiffDecision(rec, d); diff != "" {
		t.Fatalf("Decision differs from what Settle returned: %s", diff)
	}
	again, replay, err := s.Settle(ctx, c, now.Add(time.Hour))
	must(t, err, "Settle again")
	if !replay {
		t.Fatalf("a retry of rejected claim %s is not a replay", c.ClaimID)
	}
	if diff := DiffDecision(again, d); diff != "" {
		t.Fatalf("a retry of rejected claim %s: %s", c.ClaimID, diff)
	}
	if diff := before.Diff(TakeSnapshot(t, s, ids...)); diff != "" {
		t.Fatalf("a retry of a rejection (%s) changed state:\n%s", reason, diff)
	}
	return d
}

// putOther stores a second qualified provider in the fixture's region.
func putOther(t testing.TB, s store.Store, f *Fixture) *matching.Provider {
	t.Helper()
	p := NewProvider("P-other-"+f.Name, f.Region.ID)
	must(t, s.PutProvider(t.Context(), p), "PutProvider")
	return p
}

// dagdeelChoice creates a choice of agb for the fixture voucher's dagdeel line
// from–to (zero: the whole validity), accepted unless status says otherwise.
func dagdeelChoice(t testing.TB, s store.Store, f *Fixture, agb string, from, to regie.Date, status matching.ChoiceStatus) {
	t.Helper()
	c := f.NewChoice("ch-dd-"+agb, f.Voucher.ID, ProductDagdeel, agb)
	if from != 0 {
		c.From = from
	}
	if to != 0 {
		c.To = to
	}
	switch status {
	case matching.Accepted:
		AcceptChoice(t, s, c)
	case matching.Requested:
		must(t, s.CreateChoice(t.Context(), c), "CreateChoice")
	case matching.Declined:
		must(t, s.CreateChoice(t.Context(), c), "CreateChoice")
		_, err := s.DecideChoice(t.Context(), c.ID, matching.Declined, "team vol", c.CreatedAt.Add(time.Hour))
		must(t, err, "DecideChoice")
	}
}

// dagdeelClaim is a claim of agb for one dagdeel on the fixture voucher.
func dagdeelClaim(f *Fixture, agb, id string, from, to regie.Date) settlement.Claim {
	return settlement.Claim{
		ProviderAGB: agb, ClaimID: id, VoucherID: f.Voucher.ID, Product: ProductDagdeel,
		From: from, To: to, Units: 1 * regie.UnitScale, UnitPrice: MaxPriceDagdeel,
	}
}

func period(c settlement.Claim, from, to regie.Date) settlement.Claim {
	c.From, c.To = from, to
	return c
}

// settleCase is one scenario: adjust the fixture before it is stored
// (prepare), change the store after (setup), then settle claims at now.
type settleCase struct {
	name    string
	reason  string // for a rejection
	prepare func(f *Fixture)
	setup   func(t *testing.T, s store.Store, f *Fixture)
	claims  func(f *Fixture) []settlement.Claim
	now     func(f *Fixture) time.Time
}

func (tc settleCase) run(t *testing.T, o Opener) (store.Store, *Fixture, []settlement.Claim, time.Time) {
	t.Helper()
	s := o.fresh(t)
	f := NewFixture("a")
	if tc.prepare != nil {
		tc.prepare(f)
	}
	f.Put(t, s)
	if tc.setup != nil {
		tc.setup(t, s, f)
	}
	now := f.Now
	if tc.now != nil {
		now = tc.now(f)
	}
	return s, f, tc.claims(f), now
}

func one(c settlement.Claim) []settlement.Claim { return []settlement.Claim{c} }

// setState is a setup that sets the voucher's state.
func setState(st voucher.Status) func(t *testing.T, s store.Store, f *Fixture) {
	return func(t *testing.T, s store.Store, f *Fixture) {
		_, err := s.SetVoucherState(t.Context(), f.Voucher.ID, st)
		must(t, err, "SetVoucherState")
	}
}

// settleFirst is a setup that settles claims that must be accepted.
func settleFirst(claims func(f *Fixture) []settlement.Claim) func(t *testing.T, s store.Store, f *Fixture) {
	return func(t *testing.T, s store.Store, f *Fixture) {
		for _, c := range claims(f) {
			SettleAccepted(t, s, c, f.Now)
		}
	}
}

// expiredAt is the first moment (Amsterdam midnight) at which the fixture's
// vouchers are expired.
var expiredAt = ValidTo.AddDays(voucher.ClaimWindow + 1).Time()

// acceptedTenToTwenty settles one hour over Day(10) through Day(20).
var acceptedTenToTwenty = settleFirst(func(f *Fixture) []settlement.Claim {
	return one(period(f.Claim("c-0", Day(10)), Day(10), Day(20)))
})

func rejectionCases() []settleCase {
	return []settleCase{
		{name: "unknown voucher", reason: settlement.ReasonVoucherUnknown,
			claims: func(f *Fixture) []settlement.Claim { return one(f.ClaimOn("v-missing", "c-1", Day(10))) }},

		{name: "suspended", reason: settlement.ReasonVoucherSuspended, setup: setState(voucher.Suspended),
			claims: func(f *Fixture) []settlement.Claim { return one(f.Claim("c-1", Day(10))) }},
		{name: "suspended and past the claim window", reason: settlement.ReasonVoucherSuspended, setup: setState(voucher.Suspended),
			claims: func(f *Fixture) []settlement.Claim { return one(f.Claim("c-1", Day(10))) },
			now:    func(*Fixture) time.Time { return expiredAt.Add(time.Hour) }},

		{name: "revoked", reason: settlement.ReasonVoucherRevoked, setup: setState(voucher.Revoked),
			claims: func(f *Fixture) []settlement.Claim { return one(f.Claim("c-1", Day(10))) }},
		{name: "revoked and past the claim window", reason: settlement.ReasonVoucherRevoked, setup: setState(voucher.Revoked),
			claims: func(f *Fixture) []settlement.Claim { return one(f.Claim("c-1", Day(10))) },
			now:    func(*Fixture) time.Time { return expiredAt.Add(time.Hour) }},

		{name: "a day past the claim window", reason: settlement.ReasonVoucherExpired,
			claims: func(f *Fixture) []settlement.Claim { return one(f.Claim("c-1", Day(10))) },
			now:    func(*Fixture) time.Time { return expiredAt.Add(12 * time.Hour) }},
		{name: "Amsterdam midnight after the claim window", reason: settlement.ReasonVoucherExpired,
			claims: func(f *Fixture) []settlement.Claim { return one(f.Claim("c-1", ValidTo)) },
			now:    func(*Fixture) time.Time { return expiredAt }},

		{name: "starts before validity", reason: settlement.ReasonPeriodOutsideValidity,
			claims: func(f *Fixture) []settlement.Claim {
				return one(period(f.Claim("c-1", ValidFrom), ValidFrom.AddDays(-1), ValidFrom))
			}},
		{name: "ends after validity", reason: settlement.ReasonPeriodOutsideValidity,
			claims: func(f *Fixture) []settlement.Claim {
				return one(period(f.Claim("c-1", ValidTo), ValidTo, ValidTo.AddDays(1)))
			}},

		{name: "ends tomorrow", reason: settlement.ReasonPeriodInFuture,
			claims: func(f *Fixture) []settlement.Claim { return one(period(f.Claim("c-1", Day(100)), Day(100), Day(101))) },
			now:    func(*Fixture) time.Time { return Noon(Day(100)) }},
		{name: "tomorrow, half an hour before Amsterdam midnight", reason: settlement.ReasonPeriodInFuture,
			claims: func(f *Fixture) []settlement.Claim { return one(f.Claim("c-1", Day(101))) },
			now:    func(*Fixture) time.Time { return Day(101).Time().Add(-30 * time.Minute) }},

		{name: "product not on the voucher", reason: settlement.ReasonProductNotIndicated,
			claims: func(f *Fixture) []settlement.Claim {
				c := f.Claim("c-1", Day(10))
				c.Product, c.UnitPrice = ProductOther, MaxPriceOther
				return one(c)
			}},

		{name: "no choice for the line", reason: settlement.ReasonProviderNotAssigned,
			claims: func(f *Fixture) []settlement.Claim {
				return one(dagdeelClaim(f, f.Provider.AGB, "c-1", Day(10), Day(10)))
			}},
		{name: "another provider's line", reason: settlement.ReasonProviderNotAssigned,
			setup: func(t *testing.T, s store.Store, f *Fixture) { putOther(t, s, f) },
			claims: func(f *Fixture) []settlement.Claim {
				c := f.Claim("c-1", Day(10))
				c.ProviderAGB = "P-other-" + f.Name
				return one(c)
			}},
		{name: "choice requested, not accepted", reason: settlement.ReasonProviderNotAssigned,
			setup: func(t *testing.T, s store.Store, f *Fixture) {
				dagdeelChoice(t, s, f, putOther(t, s, f).AGB, 0, 0, matching.Requested)
			},
			claims: func(f *Fixture) []settlement.Claim {
				return one(dagdeelClaim(f, "P-other-"+f.Name, "c-1", Day(10), Day(10)))
			}},
		{name: "choice declined", reason: settlement.ReasonProviderNotAssigned,
			setup: func(t *testing.T, s store.Store, f *Fixture) {
				dagdeelChoice(t, s, f, putOther(t, s, f).AGB, 0, 0, matching.Declined)
			},
			claims: func(f *Fixture) []settlement.Claim {
				return one(dagdeelClaim(f, "P-other-"+f.Name, "c-1", Day(10), Day(10)))
			}},
		{name: "choice starts on the last day of the period", reason: settlement.ReasonProviderNotAssigned,
			setup: func(t *testing.T, s store.Store, f *Fixture) {
				dagdeelChoice(t, s, f, putOther(t, s, f).AGB, Day(20), 0, matching.Accepted)
			},
			claims: func(f *Fixture) []settlement.Claim {
				return one(dagdeelClaim(f, "P-other-"+f.Name, "c-1", Day(19), Day(20)))
			}},
		{name: "choice ends on the first day of the period", reason: settlement.ReasonProviderNotAssigned,
			setup: func(t *testing.T, s store.Store, f *Fixture) {
				dagdeelChoice(t, s, f, putOther(t, s, f).AGB, 0, Day(30), matching.Accepted)
			},
			claims: func(f *Fixture) []settlement.Claim {
				return one(dagdeelClaim(f, "P-other-"+f.Name, "c-1", Day(30), Day(31)))
			}},

		{name: "provider no longer qualified", reason: settlement.ReasonProviderNotQualified,
			setup: func(t *testing.T, s store.Store, f *Fixture) {
				p := *f.Provider
				p.Qualified = false
				must(t, s.PutProvider(t.Context(), &p), "PutProvider")
			},
			claims: func(f *Fixture) []settlement.Claim { return one(f.Claim("c-1", Day(10))) }},
		// Provider.Regions are "the budget regions in which the provider is
		// qualified"; matching refuses a choice outside them with the same code.
		{name: "qualified in another region only", reason: settlement.ReasonProviderNotQualified,
			setup: func(t *testing.T, s store.Store, f *Fixture) {
				p := *f.Provider
				p.Regions = []string{"gm-elsewhere"}
				must(t, s.PutProvider(t.Context(), &p), "PutProvider")
			},
			claims: func(f *Fixture) []settlement.Claim { return one(f.Claim("c-1", Day(10))) }},
		{name: "no provider record", reason: settlement.ReasonProviderNotQualified,
			setup: func(t *testing.T, s store.Store, f *Fixture) {
				dagdeelChoice(t, s, f, "P-ghost", 0, 0, matching.Accepted)
			},
			claims: func(f *Fixture) []settlement.Claim {
				return one(dagdeelClaim(f, "P-ghost", "c-1", Day(10), Day(10)))
			}},

		{name: "a cent above the maximum tariff", reason: settlement.ReasonPriceAboveTariff,
			// The provider's own tariff is higher still, so only the tariff table refuses.
			prepare: func(f *Fixture) { f.Provider.Offers[0].Tariff = MaxPriceHour + 500 },
			claims: func(f *Fixture) []settlement.Claim {
				c := f.Claim("c-1", Day(10))
				c.UnitPrice = MaxPriceHour + 1
				return one(c)
			}},
		{name: "maximum tariff lowered", reason: settlement.ReasonPriceAboveTariff,
			setup: func(t *testing.T, s store.Store, f *Fixture) {
				tr := f.Tariffs[0]
				tr.MaxPrice = ProviderPrice - 1
				must(t, s.PutTariff(t.Context(), tr), "PutTariff")
			},
			claims: func(f *Fixture) []settlement.Claim { return one(f.Claim("c-1", Day(10))) }},

		{name: "a cent above the provider's tariff", reason: settlement.ReasonPriceAboveOwnTariff,
			claims: func(f *Fixture) []settlement.Claim {
				c := f.Claim("c-1", Day(10))
				c.UnitPrice = ProviderPrice + 1
				return one(c)
			}},
		{name: "provider's tariff lowered", reason: settlement.ReasonPriceAboveOwnTariff,
			setup: func(t *testing.T, s store.Store, f *Fixture) {
				p := *f.Provider
				p.Offers = []matching.Offer{{Product: ProductHour, Tariff: ProviderPrice - 1}}
				must(t, s.PutProvider(t.Context(), &p), "PutProvider")
			},
			claims: func(f *Fixture) []settlement.Claim { return one(f.Claim("c-1", Day(10))) }},
		{name: "product no longer offered", reason: settlement.ReasonPriceAboveOwnTariff,
			setup: func(t *testing.T, s store.Store, f *Fixture) {
				p := *f.Provider
				p.Offers = []matching.Offer{{Product: ProductDagdeel, Tariff: MaxPriceDagdeel}}
				must(t, s.PutProvider(t.Context(), &p), "PutProvider")
			},
			claims: func(f *Fixture) []settlement.Claim { return one(f.Claim("c-1", Day(10))) }},

		{name: "a hundredth above a week's volume on one day", reason: settlement.ReasonUnitsAboveVolume,
			claims: func(f *Fixture) []settlement.Claim {
				c := f.Claim("c-1", Day(10))
				c.Units = HoursPerWeek + 1
				return one(c)
			}},
		{name: "above two weeks' volume over eight days", reason: settlement.ReasonUnitsAboveVolume,
			claims: func(f *Fixture) []settlement.Claim {
				c := period(f.Claim("c-1", Day(0)), Day(0), Day(7))
				c.Units = 2*HoursPerWeek + 1
				return one(c)
			}},
		// The volume holds over many claims: what was claimed so far counts.
		{name: "first week already claimed in full", reason: settlement.ReasonUnitsAboveVolume,
			setup: settleFirst(func(f *Fixture) []settlement.Claim {
				c := f.Claim("c-0", Day(0))
				c.Units, c.UnitPrice = HoursPerWeek, 100
				return one(c)
			}),
			claims: func(f *Fixture) []settlement.Claim {
				c := f.Claim("c-1", Day(6))
				c.Units = 1
				return one(c)
			}},
		{name: "two weeks claimed in full, a claim between them", reason: settlement.ReasonUnitsAboveVolume,
			setup: settleFirst(func(f *Fixture) []settlement.Claim {
				a := f.Claim("c-a", Day(0))
				a.Units, a.UnitPrice = HoursPerWeek, 100
				b := f.Claim("c-b", Day(7))
				b.Units, b.UnitPrice = HoursPerWeek, 100
				return []settlement.Claim{a, b}
			}),
			claims: func(f *Fixture) []settlement.Claim {
				c := f.Claim("c-1", Day(3))
				c.Units = 1
				return one(c)
			}},

		{name: "same period", reason: settlement.ReasonPeriodOverlap, setup: acceptedTenToTwenty,
			claims: func(f *Fixture) []settlement.Claim { return one(period(f.Claim("c-1", Day(10)), Day(10), Day(20))) }},
		{name: "starts on the last day", reason: settlement.ReasonPeriodOverlap, setup: acceptedTenToTwenty,
			claims: func(f *Fixture) []settlement.Claim { return one(period(f.Claim("c-1", Day(20)), Day(20), Day(25))) }},
		{name: "ends on the first day", reason: settlement.ReasonPeriodOverlap, setup: acceptedTenToTwenty,
			claims: func(f *Fixture) []settlement.Claim { return one(period(f.Claim("c-1", Day(5)), Day(5), Day(10))) }},
		{name: "within", reason: settlement.ReasonPeriodOverlap, setup: acceptedTenToTwenty,
			claims: func(f *Fixture) []settlement.Claim { return one(f.Claim("c-1", Day(15))) }},
		{name: "around", reason: settlement.ReasonPeriodOverlap, setup: acceptedTenToTwenty,
			claims: func(f *Fixture) []settlement.Claim { return one(period(f.Claim("c-1", Day(1)), Day(1), Day(30))) }},
		{name: "between two accepted claims, touching the later", reason: settlement.ReasonPeriodOverlap,
			setup: settleFirst(func(f *Fixture) []settlement.Claim {
				return []settlement.Claim{f.Claim("c-a", Day(10)), f.Claim("c-b", Day(20)), f.Claim("c-c", Day(40))}
			}),
			claims: func(f *Fixture) []settlement.Claim { return one(period(f.Claim("c-1", Day(11)), Day(11), Day(20))) }},

		{name: "a cent short", reason: settlement.ReasonInsufficientBalance,
			prepare: func(f *Fixture) { f.Voucher.Lines[0].MaxAmount, f.Voucher.Lines[0].Remaining = 5999, 5999 },
			claims:  func(f *Fixture) []settlement.Claim { return one(f.Claim("c-1", Day(10))) }},
		{name: "a cent short after a settlement", reason: settlement.ReasonInsufficientBalance,
			prepare: func(f *Fixture) { f.Voucher.Lines[0].MaxAmount, f.Voucher.Lines[0].Remaining = 11999, 11999 },
			setup: settleFirst(func(f *Fixture) []settlement.Claim {
				return one(f.Claim("c-0", Day(1)))
			}),
			claims: func(f *Fixture) []settlement.Claim { return one(f.Claim("c-1", Day(2))) }},
	}
}

func acceptanceCases() []settleCase {
	return []settleCase{
		{name: "last second of the claim window",
			claims: func(f *Fixture) []settlement.Claim { return one(f.Claim("c-1", ValidTo)) },
			now:    func(*Fixture) time.Time { return expiredAt.Add(-time.Second) }},
		{name: "first and last day of validity",
			claims: func(f *Fixture) []settlement.Claim {
				return []settlement.Claim{f.Claim("c-1", ValidFrom), f.Claim("c-2", ValidTo)}
			}},
		{name: "today, just after Amsterdam midnight",
			claims: func(f *Fixture) []settlement.Claim { return one(f.Claim("c-1", Day(101))) },
			now:    func(*Fixture) time.Time { return Day(101).Time().Add(30 * time.Minute) }},
		{name: "choice starting later, from its first day",
			setup: func(t *testing.T, s store.Store, f *Fixture) {
				dagdeelChoice(t, s, f, putOther(t, s, f).AGB, Day(20), 0, matching.Accepted)
			},
			claims: func(f *Fixture) []settlement.Claim {
				return one(dagdeelClaim(f, "P-other-"+f.Name, "c-1", Day(20), Day(21)))
			}},
		{name: "choice ending, through its last day",
			setup: func(t *testing.T, s store.Store, f *Fixture) {
				dagdeelChoice(t, s, f, putOther(t, s, f).AGB, 0, Day(30), matching.Accepted)
			},
			claims: func(f *Fixture) []settlement.Claim {
				return one(dagdeelClaim(f, "P-other-"+f.Name, "c-1", Day(29), Day(30)))
			}},
		{name: "at the maximum tariff",
			prepare: func(f *Fixture) { f.Provider.Offers[0].Tariff = MaxPriceHour },
			claims: func(f *Fixture) []settlement.Claim {
				c := f.Claim("c-1", Day(10))
				c.UnitPrice = MaxPriceHour
				return one(c)
			}},
		{name: "exactly the volume",
			claims: func(f *Fixture) []settlement.Claim {
				a := f.Claim("c-1", Day(10))
				a.Units = HoursPerWeek
				b := period(f.Claim("c-2", Day(20)), Day(20), Day(27))
				b.Units = 2 * HoursPerWeek
				return []settlement.Claim{a, b}
			}},
		{name: "the volume of the weeks through the last day claimed",
			claims: func(f *Fixture) []settlement.Claim {
				// A week in full, then three weeks' volume over Day(14)–Day(28):
				// by Day(28) five weeks have started, 50 hours, and 40 are claimed.
				a := f.Claim("c-1", Day(0))
				a.Units, a.UnitPrice = HoursPerWeek, 100
				b := period(f.Claim("c-2", Day(14)), Day(14), Day(28))
				b.Units, b.UnitPrice = 3*HoursPerWeek, 100
				// And the room left before Day(28) may be claimed afterwards.
				c := f.Claim("c-3", Day(8))
				c.Units, c.UnitPrice = HoursPerWeek, 100
				return []settlement.Claim{a, b, c}
			}},
		{name: "adjacent days on both sides", setup: acceptedTenToTwenty,
			claims: func(f *Fixture) []settlement.Claim {
				return []settlement.Claim{f.Claim("c-1", Day(21)), f.Claim("c-2", Day(9)), period(f.Claim("c-3", Day(22)), Day(22), Day(30))}
			}},
		{name: "same days on another line",
			setup: func(t *testing.T, s store.Store, f *Fixture) {
				acceptedTenToTwenty(t, s, f)
				dagdeelChoice(t, s, f, f.Provider.AGB, 0, 0, matching.Accepted)
			},
			claims: func(f *Fixture) []settlement.Claim {
				return one(dagdeelClaim(f, f.Provider.AGB, "c-1", Day(10), Day(20)))
			}},
		{name: "same days on another voucher", setup: func(t *testing.T, s store.Store, f *Fixture) {
			acceptedTenToTwenty(t, s, f)
			f.AddVoucher(t, s, "v-2")
		},
			claims: func(f *Fixture) []settlement.Claim {
				return one(period(f.ClaimOn("v-2", "c-1", Day(10)), Day(10), Day(20)))
			}},
		{name: "a rejected claim does not hold its period",
			setup: func(t *testing.T, s store.Store, f *Fixture) {
				c := f.Claim("c-0", Day(40))
				c.UnitPrice = ProviderPrice + 1
				SettleRejected(t, s, c, f.Now, settlement.ReasonPriceAboveOwnTariff, f.Region.ID)
			},
			claims: func(f *Fixture) []settlement.Claim { return one(f.Claim("c-1", Day(40))) }},
		{name: "balance to exactly zero",
			prepare: func(f *Fixture) { f.Voucher.Lines[0].MaxAmount, f.Voucher.Lines[0].Remaining = 11999, 11999 },
			claims: func(f *Fixture) []settlement.Claim {
				a := f.Claim("c-1", Day(1))
				a.Units = 199 // 1.99 × 60.00 = 119.40
				b := f.Claim("c-2", Day(2))
				b.UnitPrice = 59 // 1 × 0.59, the last 59 cents
				return []settlement.Claim{a, b}
			}},
		{name: "suspended, then active again",
			setup: func(t *testing.T, s store.Store, f *Fixture) {
				setState(voucher.Suspended)(t, s, f)
				setState(voucher.Active)(t, s, f)
			},
			claims: func(f *Fixture) []settlement.Claim { return one(f.Claim("c-1", Day(10))) }},
	}
}

func testSettle(t *testing.T, o Opener) {
	t.Run("reject", func(t *testing.T) {
		for _, tc := range rejectionCases() {
			t.Run(tc.reason+"/"+tc.name, func(t *testing.T) {
				s, f, claims, now := tc.run(t, o)
				for _, c := range claims {
					region := f.Region.ID
					if c.VoucherID != f.Voucher.ID {
						region = ""
					}
					SettleRejected(t, s, c, now, tc.reason, region)
				}
				CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
			})
		}
	})

	t.Run("accept", func(t *testing.T) {
		for _, tc := range acceptanceCases() {
			t.Run(tc.name, func(t *testing.T) {
				s, f, claims, now := tc.run(t, o)
				ids := []string{f.Voucher.ID}
				for _, c := range claims {
					SettleAccepted(t, s, c, now)
					if c.VoucherID != f.Voucher.ID {
						ids = append(ids, c.VoucherID)
					}
				}
				entries := CheckLedger(t, s, f.Region.ID, ids...)
				if len(entries) == 0 {
					t.Fatal("no journal entries after acceptances")
				}
			})
		}
	})

	t.Run("two regions", func(t *testing.T) {
		s := o.fresh(t)
		fa, fb := NewFixture("a"), NewFixture("b")
		fa.Put(t, s)
		fb.Put(t, s)
		for i := range 3 {
			SettleAccepted(t, s, fa.Claim(fmt.Sprint("c-", i), Day(i)), fa.Now)
			SettleAccepted(t, s, fb.Claim(fmt.Sprint("c-", i), Day(i)), fb.Now)
		}
		for _, f := range []*Fixture{fa, fb} {
			if entries := CheckLedger(t, s, f.Region.ID, f.Voucher.ID); len(entries) != 3 {
				t.Errorf("region %s has %d journal entries, want 3", f.Region.ID, len(entries))
			}
		}
	})

	t.Run("rounding half-up once", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		for i, tc := range []struct {
			units regie.Units
			price regie.Cents
			want  regie.Cents
		}{
			{150, 33, 50},       // 1.5 × 0.33 = 0.495
			{225, 11, 25},       // 2.25 × 0.11 = 0.2475
			{101, 5999, 6059},   // 1.01 × 59.99 = 60.5899
			{333, 1, 3},         // 3.33 × 0.01 = 0.0333
			{250, 4999, 12498},  // 2.5 × 49.99 = 124.975
			{399, 6000, 239_40}, // exact
		} {
			c := f.Claim(fmt.Sprint("c-", i), Day(7*i)) // a week each, within the volume
			c.Units, c.UnitPrice = tc.units, tc.price
			d := SettleAccepted(t, s, c, f.Now)
			if d.Amount != tc.want {
				t.Errorf("%s × %s settled %s, want %s", tc.units, tc.price, d.Amount, tc.want)
			}
		}
		v, err := s.Voucher(t.Context(), f.Voucher.ID)
		must(t, err, "Voucher")
		if got, want := v.Lines[0].MaxAmount-v.Lines[0].Remaining, regie.Cents(50+25+6059+3+12498+23940); got != want {
			t.Errorf("line debited %s in all, want %s", got, want)
		}
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
	})

	t.Run("replay", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		c := f.Claim("c-1", Day(10))
		first := SettleAccepted(t, s, c, f.Now)
		snap := TakeSnapshot(t, s, f.Voucher.ID)
		for i, now := range []time.Time{f.Now, f.Now.Add(time.Hour), expiredAt.Add(time.Hour)} {
			d, replay, err := s.Settle(ctx, c, now)
			must(t, err, "Settle")
			if !replay {
				t.Fatalf("retry %d is not a replay", i)
			}
			if diff := DiffDecision(d, first); diff != "" {
				t.Fatalf("retry %d: %s", i, diff)
			}
			if diff := snap.Diff(TakeSnapshot(t, s, f.Voucher.ID)); diff != "" {
				t.Fatalf("retry %d changed state:\n%s", i, diff)
			}
		}
		// Still the same decision after other claims moved the journal on.
		SettleAccepted(t, s, f.Claim("c-2", Day(11)), f.Now)
		d, replay, err := s.Settle(ctx, c, f.Now)
		must(t, err, "Settle")
		if diff := DiffDecision(d, first); !replay || diff != "" {
			t.Fatalf("retry after another claim: replay %v, %s", replay, diff)
		}
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
	})

	t.Run("replay keeps a rejection", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		setState(voucher.Suspended)(t, s, f)
		c := f.Claim("c-1", Day(10))
		first := SettleRejected(t, s, c, f.Now, settlement.ReasonVoucherSuspended, f.Region.ID)
		setState(voucher.Active)(t, s, f)
		snap := TakeSnapshot(t, s, f.Voucher.ID)
		d, replay, err := s.Settle(ctx, c, f.Now)
		must(t, err, "Settle")
		if diff := DiffDecision(d, first); !replay || diff != "" {
			t.Fatalf("retry of a rejected claim after reactivation: replay %v, %s", replay, diff)
		}
		if diff := snap.Diff(TakeSnapshot(t, s, f.Voucher.ID)); diff != "" {
			t.Fatalf("the retry changed state:\n%s", diff)
		}
		// The same care under a new claim id is decided afresh.
		SettleAccepted(t, s, f.Claim("c-2", Day(10)), f.Now)
	})

	t.Run("claim_id_conflict", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		f.AddVoucher(t, s, "v-2")
		dagdeelChoice(t, s, f, f.Provider.AGB, 0, 0, matching.Accepted)
		c := f.Claim("c-1", Day(10))
		first := SettleAccepted(t, s, c, f.Now)
		bad := f.Claim("c-bad", Day(50))
		bad.UnitPrice = MaxPriceHour + 1
		rejected := SettleRejected(t, s, bad, f.Now, settlement.ReasonPriceAboveTariff, f.Region.ID)

		// Each variant alone would be accepted under a fresh id.
		variants := map[string]func(c settlement.Claim) settlement.Claim{
			"voucher": func(c settlement.Claim) settlement.Claim { c.VoucherID = "v-2"; return c },
			"product": func(c settlement.Claim) settlement.Claim {
				c.Product, c.UnitPrice = ProductDagdeel, MaxPriceDagdeel
				return c
			},
			"from":       func(c settlement.Claim) settlement.Claim { c.From--; return c },
			"to":         func(c settlement.Claim) settlement.Claim { c.To++; return c },
			"units":      func(c settlement.Claim) settlement.Claim { c.Units++; return c },
			"unit price": func(c settlement.Claim) settlement.Claim { c.UnitPrice--; return c },
		}
		snap := TakeSnapshot(t, s, f.Voucher.ID, "v-2")
		for name, change := range variants {
			for _, orig := range []struct {
				c settlement.Claim
				d settlement.Decision
			}{{c, first}, {bad, rejected}} {
				changed := change(orig.c)
				if err := changed.Validate(); err != nil {
					t.Fatalf("variant %s is invalid: %v", name, err)
				}
				_, _, err := s.Settle(ctx, changed, f.Now)
				wantErr(t, err, regie.Conflict, "claim_id_conflict")
				if diff := snap.Diff(TakeSnapshot(t, s, f.Voucher.ID, "v-2")); diff != "" {
					t.Fatalf("a conflicting claim (%s) changed state:\n%s", name, diff)
				}
				rec, err := s.Decision(ctx, orig.c.ProviderAGB, orig.c.ClaimID)
				must(t, err, "Decision")
				if diff := DiffDecision(rec, orig.d); diff != "" {
					t.Fatalf("a conflicting claim (%s) changed the recorded decision: %s", name, diff)
				}
			}
		}
		// The original content is still a replay.
		d, replay, err := s.Settle(ctx, c, f.Now)
		must(t, err, "Settle")
		if diff := DiffDecision(d, first); !replay || diff != "" {
			t.Fatalf("retry after conflicts: replay %v, %s", replay, diff)
		}
		// And each variant is accepted under a fresh id: the conflict was the id alone.
		i := 0
		for name, change := range variants {
			if name == "from" || name == "to" || name == "units" || name == "unit price" {
				continue // these overlap c, which is accepted
			}
			changed := change(c)
			changed.ClaimID = fmt.Sprint("c-new-", i)
			i++
			SettleAccepted(t, s, changed, f.Now)
		}
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID, "v-2")
	})

	t.Run("one claim id, two providers", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		other := putOther(t, s, f)
		dagdeelChoice(t, s, f, other.AGB, 0, 0, matching.Accepted)
		ca := f.Claim("c-same", Day(5))
		cb := dagdeelClaim(f, other.AGB, "c-same", Day(5), Day(5))
		da := SettleAccepted(t, s, ca, f.Now)
		db := SettleAccepted(t, s, cb, f.Now)
		for _, x := range []struct {
			c settlement.Claim
			d settlement.Decision
		}{{ca, da}, {cb, db}} {
			rec, err := s.Decision(ctx, x.c.ProviderAGB, "c-same")
			must(t, err, "Decision")
			if diff := DiffDecision(rec, x.d); diff != "" {
				t.Errorf("Decision of %s: %s", x.c.ProviderAGB, diff)
			}
			d, replay, err := s.Settle(ctx, x.c, f.Now)
			must(t, err, "Settle")
			if diff := DiffDecision(d, x.d); !replay || diff != "" {
				t.Errorf("retry of %s: replay %v, %s", x.c.ProviderAGB, replay, diff)
			}
		}
		if entries := CheckLedger(t, s, f.Region.ID, f.Voucher.ID); len(entries) != 2 {
			t.Fatalf("%d journal entries, want 2", len(entries))
		}
	})

	t.Run("unknown claim", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		_, err := s.Decision(ctx, f.Provider.AGB, "c-1")
		wantErr(t, err, regie.NotFound, "claim_not_found")
		SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
		_, err = s.Decision(ctx, "P-other", "c-1")
		wantErr(t, err, regie.NotFound, "claim_not_found")
	})

	t.Run("beyond budget", func(t *testing.T) {
		s := o.fresh(t)
		ctx := t.Context()
		f := NewFixture("a")
		f.Region.Budget = 100_00
		f.Put(t, s)
		price := []regie.Cents{6000, 4000, 1, 6000, 100}
		wantBeyond := []bool{false, false, true, true, false}
		wantSettled := []regie.Cents{6000, 10000, 10001, 16001, 16101}
		for i := range price {
			if i == 4 { // the funder raises the budget
				r := f.Region
				r.Budget = 1_000_00
				must(t, s.PutRegion(ctx, r), "PutRegion")
			}
			c := f.Claim(fmt.Sprint("c-", i), Day(i))
			c.UnitPrice = price[i]
			d := SettleAccepted(t, s, c, f.Now)
			if d.BeyondBudget != wantBeyond[i] {
				t.Errorf("claim %d: BeyondBudget %v, want %v", i, d.BeyondBudget, wantBeyond[i])
			}
			fig, err := Figures(ctx, s, f.Region.ID)
			must(t, err, "Figures")
			if fig.Settled != wantSettled[i] {
				t.Errorf("claim %d: settled %s, want %s", i, fig.Settled, wantSettled[i])
			}
			if i == 3 && fig.Remaining != 100_00-16001 {
				t.Errorf("claim %d: remaining %s, want %s", i, fig.Remaining, regie.Cents(100_00-16001))
			}
		}
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
	})
}
