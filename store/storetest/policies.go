package storetest

import (
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store"
	"github.com/regie-nl/regie/voucher"
)

// addVoucherOf creates one more fixture voucher with an accepted choice of
// agb (a provider in the fixture's region) for its hour line.
func addVoucherOf(t testing.TB, s store.Store, f *Fixture, id, agb string) *voucher.Voucher {
	t.Helper()
	v := f.NewVoucher(id)
	must(t, s.CreateVoucher(t.Context(), v, "token-"+id), "CreateVoucher "+id)
	AcceptChoice(t, s, f.NewChoice("ch-"+id, id, ProductHour, agb))
	return v
}

// claimBy is a fixture claim of one hour on voucherID by provider agb.
func claimBy(f *Fixture, agb, voucherID, id string, day regie.Date) settlement.Claim {
	c := f.ClaimOn(voucherID, id, day)
	c.ProviderAGB = agb
	return c
}

// priced sets a claim's units and unit price.
func priced(c settlement.Claim, units regie.Units, price regie.Cents) settlement.Claim {
	c.Units, c.UnitPrice = units, price
	return c
}

// unchanged runs fn and fails when it changed the snapshot of the vouchers.
func unchanged(t testing.TB, s store.Store, what string, fn func(), voucherIDs ...string) {
	t.Helper()
	before := TakeSnapshot(t, s, voucherIDs...)
	fn()
	if diff := before.Diff(TakeSnapshot(t, s, voucherIDs...)); diff != "" {
		t.Fatalf("%s changed state:\n%s", what, diff)
	}
}

const funder = "funder:zk-a"

func testPolicies(t *testing.T, o Opener) {
	t.Run("monitor settles beyond the budget and marks it", func(t *testing.T) {
		s, f := o.withRegion(t, 100_00, settlement.Policy{})
		d1 := SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
		d2 := SettleAccepted(t, s, f.Claim("c-2", Day(2)), f.Now)
		if d1.BeyondBudget || !d2.BeyondBudget || d2.Payable != d2.Amount {
			t.Fatalf("beyond budget: %v, %v (payable %s of %s), want false, true and paid in full", d1.BeyondBudget, d2.BeyondBudget, d2.Payable, d2.Amount)
		}
		if fig := figures(t, s, f.Region.ID); fig.Settled != 120_00 || fig.Remaining != -20_00 || fig.Paid != 120_00 {
			t.Fatalf("figures = %+v, want 120.00 settled and paid, remaining -20.00", fig)
		}
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
	})

	t.Run("set policy is journalled", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
		fig0 := figures(t, s, f.Region.ID)
		j0 := CheckJournal(t, s, f.Region.ID)
		p := settlement.Policy{Kind: settlement.Hold, HoldThreshold: 90_00, DisputeDays: 7}
		fig, err := s.SetPolicy(ctx, f.Region.ID, p, funder, f.Now)
		must(t, err, "SetPolicy")
		want := fig0
		want.Policy = p
		if fig != want {
			t.Fatalf("SetPolicy returned %+v, want %+v", fig, want)
		}
		if got := figures(t, s, f.Region.ID); got != want {
			t.Fatalf("figures after SetPolicy = %+v, want %+v", got, want)
		}
		added := newEntries(t, s, f.Region.ID, j0)
		if len(added) != 1 {
			t.Fatalf("SetPolicy added %d journal entries, want 1", len(added))
		}
		sameEntry(t, added[0], settlement.Entry{At: f.Now.UTC(), Type: settlement.EntryPolicy, By: funder, Policy: &p})
		r, err := s.Region(ctx, f.Region.ID)
		must(t, err, "Region")
		if r.Policy != p {
			t.Fatalf("region policy %+v, want %+v", r.Policy, p)
		}
		_, err = s.SetPolicy(ctx, "gm-missing", p, funder, f.Now)
		wantErr(t, err, regie.NotFound, "region_not_found")
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
	})

	t.Run("hold", func(t *testing.T) { testHold(t, o) })
	t.Run("cap", func(t *testing.T) { testCap(t, o) })
	t.Run("prorata", func(t *testing.T) { testProRata(t, o) })
	t.Run("revisions", func(t *testing.T) { testRevisions(t, o) })
}

// releaseChecked releases held claims up to upTo and checks that exactly the
// claims named were released, in that order, with their effects.
func releaseChecked(t *testing.T, s store.Store, f *Fixture, upTo regie.Cents, now time.Time, want ...string) settlement.Released {
	t.Helper()
	region := f.Region.ID
	fig0 := figures(t, s, region)
	j0 := CheckJournal(t, s, region)
	recs := map[string]settlement.ClaimRecord{}
	var amount regie.Cents
	for _, id := range want {
		rec := claimRecord(t, s, f.Provider.AGB, id)
		if rec.State != settlement.StateHeld {
			t.Fatalf("releaseChecked: %s is %s, not held", id, rec.State)
		}
		recs[id] = rec
		amount += rec.Amount
	}
	rel, err := s.ReleaseHeld(t.Context(), region, upTo, funder, now)
	must(t, err, "ReleaseHeld")
	wantFig := fig0
	wantFig.Held -= amount
	wantFig.Settled += amount
	wantFig.Paid += amount
	if rel.Claims != len(want) || rel.Amount != amount || rel.Figures != wantFig {
		t.Fatalf("ReleaseHeld(%s) = %+v, want %d claims of %s and figures %+v", upTo, rel, len(want), amount, wantFig)
	}
	if fig := figures(t, s, region); fig != wantFig {
		t.Fatalf("figures after a release = %+v, want %+v", fig, wantFig)
	}
	added := newEntries(t, s, region, j0)
	if len(added) != len(want) {
		t.Fatalf("release added %d journal entries, want %d", len(added), len(want))
	}
	for i, id := range want {
		rec := recs[id]
		a := rec.Amount
		sameEntry(t, added[i], settlement.Entry{
			At: now.UTC(), Type: settlement.EntryRelease, ProviderAGB: rec.ProviderAGB, ClaimID: id,
			VoucherID: rec.VoucherID, Product: rec.Product, Amount: a, By: funder,
			Postings: []settlement.Posting{
				{Account: settlement.RegionAccount(region, "held"), Amount: -a},
				{Account: settlement.RegionAccount(region, "settled"), Amount: a},
				{Account: settlement.RegionAccount(region, "paid"), Amount: a},
				{Account: settlement.ProviderAccount(region, rec.ProviderAGB, "claimed"), Amount: a},
				{Account: settlement.ProviderAccount(region, rec.ProviderAGB, "paid"), Amount: a},
			},
		})
		after := claimRecord(t, s, rec.ProviderAGB, id)
		if after.State != settlement.StateSettled || after.Paid != a || after.HeldSeq != 0 {
			t.Fatalf("claim %s after its release: %+v", id, after)
		}
		// The provider's answer stays what it was: held.
		if diff := DiffDecision(after.Decision, rec.Decision); diff != "" {
			t.Fatalf("the release of %s changed its decision: %s", id, diff)
		}
		d, replay, err := s.Settle(t.Context(), claimOf(rec.Decision), now)
		must(t, err, "Settle a released claim again")
		if diff := DiffDecision(d, rec.Decision); !replay || diff != "" {
			t.Fatalf("retry of released %s: replay %v, %s", id, replay, diff)
		}
	}
	return rel
}

func testHold(t *testing.T, o Opener) {
	t.Run("beyond the threshold, held; released oldest first while they fit", func(t *testing.T) {
		s, f := o.withRegion(t, 150_00, settlement.Policy{Kind: settlement.Hold, HoldThreshold: 100_00})
		ctx := t.Context()
		SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
		SettleAccepted(t, s, f.Claim("c-2", Day(2)), f.Now) // 120.00 of 150.00
		// Ids sort opposite to the order of holding, so that id order is never
		// taken for age.
		SettleHeld(t, s, f.Claim("h-z", Day(3)), f.Now)
		SettleHeld(t, s, f.Claim("h-m", Day(4)), f.Now.Add(time.Minute))
		SettleHeld(t, s, priced(f.Claim("h-a", Day(5)), 50, ProviderPrice), f.Now.Add(2*time.Minute)) // 30.00
		fig := figures(t, s, f.Region.ID)
		if fig.Settled != 120_00 || fig.Held != 150_00 || fig.Paid != 120_00 || fig.Claims != 5 {
			t.Fatalf("figures = %+v, want 120.00 settled and paid, 150.00 held, 5 claims", fig)
		}
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID)

		later := f.Now.Add(time.Hour)
		releaseChecked(t, s, f, 100_00, later, "h-z") // h-m would take it to 120.00
		// h-m (60.00) does not fit in 59.99; h-a (30.00) would, but release stops at the first that does not.
		unchanged(t, s, "a release where the oldest does not fit", func() {
			rel, err := s.ReleaseHeld(ctx, f.Region.ID, 59_99, funder, later)
			must(t, err, "ReleaseHeld")
			if rel.Claims != 0 || rel.Amount != 0 || rel.Figures != figures(t, s, f.Region.ID) {
				t.Fatalf("ReleaseHeld(59.99) = %+v, want nothing released", rel)
			}
		}, f.Voucher.ID)
		releaseChecked(t, s, f, 90_00, later, "h-m", "h-a") // exactly
		unchanged(t, s, "a release with nothing held", func() {
			rel, err := s.ReleaseHeld(ctx, f.Region.ID, 1_000_00, funder, later)
			must(t, err, "ReleaseHeld")
			if rel.Claims != 0 || rel.Amount != 0 {
				t.Fatalf("ReleaseHeld with an empty queue = %+v", rel)
			}
		}, f.Voucher.ID)
		if fig := figures(t, s, f.Region.ID); fig.Settled != 270_00 || fig.Held != 0 || fig.Paid != 270_00 || fig.Claims != 5 {
			t.Fatalf("figures after releasing everything = %+v", fig)
		}
		_, err := s.ReleaseHeld(ctx, "gm-missing", 100, funder, later)
		wantErr(t, err, regie.NotFound, "region_not_found")

		// Still beyond the threshold: the next claim is held too, until the
		// funder raises the budget.
		SettleHeld(t, s, f.Claim("c-3", Day(6)), later)
		_, err = s.ReviseBudget(ctx, f.Region.ID, 1_000_00, Day(300), "herschikking", funder, later)
		must(t, err, "ReviseBudget")
		SettleAccepted(t, s, f.Claim("c-4", Day(7)), later)
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
	})

	t.Run("threshold below the budget", func(t *testing.T) {
		s, f := o.withRegion(t, 200_00, settlement.Policy{Kind: settlement.Hold, HoldThreshold: 50_00}) // 100.00
		SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
		SettleAccepted(t, s, priced(f.Claim("c-2", Day(2)), 100, 40_00), f.Now) // exactly 100.00
		d := SettleHeld(t, s, priced(f.Claim("c-3", Day(3)), 100, 1), f.Now)
		if d.BeyondBudget {
			t.Fatalf("100.01 of a 200.00 budget is marked beyond budget")
		}
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
	})

	t.Run("threshold above the budget", func(t *testing.T) {
		s, f := o.withRegion(t, 100_00, settlement.Policy{Kind: settlement.Hold, HoldThreshold: 150_00}) // 150.00
		SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
		if d := SettleAccepted(t, s, f.Claim("c-2", Day(2)), f.Now); !d.BeyondBudget {
			t.Fatalf("120.00 of a 100.00 budget is not marked beyond budget")
		}
		if d := SettleHeld(t, s, f.Claim("c-3", Day(3)), f.Now); !d.BeyondBudget {
			t.Fatalf("a held claim beyond the budget is not marked")
		}
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
	})
}

func testCap(t *testing.T, o Opener) {
	t.Run("rejects beyond the budget and changes nothing", func(t *testing.T) {
		s, f := o.withRegion(t, 150_00, settlement.Policy{Kind: settlement.Cap})
		ctx := t.Context()
		region := f.Region.ID
		SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
		SettleAccepted(t, s, f.Claim("c-2", Day(2)), f.Now)
		SettleRejected(t, s, f.Claim("c-3", Day(3)), f.Now, settlement.ReasonBudgetExhausted, region)
		// The claim rules come first: an overlap is an overlap, also when the budget is out.
		SettleRejected(t, s, f.Claim("c-ov", Day(1)), f.Now, settlement.ReasonPeriodOverlap, region)
		d := SettleAccepted(t, s, priced(f.Claim("c-4", Day(4)), 50, ProviderPrice), f.Now) // 30.00: exactly the budget
		if d.BeyondBudget {
			t.Fatalf("a claim that reaches the budget exactly is marked beyond it")
		}
		SettleRejected(t, s, priced(f.Claim("c-5", Day(5)), 100, 1), f.Now, settlement.ReasonBudgetExhausted, region)
		if fig := figures(t, s, region); fig.Settled != fig.Budget || fig.Remaining != 0 {
			t.Fatalf("figures = %+v, want settled = budget", fig)
		}
		// A revision makes room again.
		_, err := s.ReviseBudget(ctx, region, 210_00, Day(200), "ophoging", funder, f.Now)
		must(t, err, "ReviseBudget")
		SettleAccepted(t, s, f.Claim("c-6", Day(6)), f.Now)
		SettleRejected(t, s, priced(f.Claim("c-7", Day(7)), 100, 1), f.Now, settlement.ReasonBudgetExhausted, region)
		// A rejected claim retried after a later increase is still the rejection.
		_, err = s.ReviseBudget(ctx, region, 1_000_00, Day(201), "ophoging", funder, f.Now)
		must(t, err, "ReviseBudget")
		again, replay, err := s.Settle(ctx, f.Claim("c-3", Day(3)), f.Now)
		must(t, err, "Settle")
		if !replay || again.Status != settlement.Rejected || again.Reason != settlement.ReasonBudgetExhausted {
			t.Fatalf("retry of c-3 after an increase: %s %s (replay %v)", again.Status, again.Reason, replay)
		}
		fig := figures(t, s, region)
		if fig.Settled+fig.Held > 210_00 {
			t.Fatalf("settled %s + held %s beyond what the cap allowed", fig.Settled, fig.Held)
		}
		CheckLedger(t, s, region, f.Voucher.ID)
	})

	t.Run("held claims count against the cap", func(t *testing.T) {
		s, f := o.withRegion(t, 150_00, settlement.Policy{Kind: settlement.Hold, HoldThreshold: 50_00}) // hold beyond 75.00
		SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
		SettleHeld(t, s, f.Claim("c-2", Day(2)), f.Now) // 60.00 settled, 60.00 held
		_, err := s.SetPolicy(t.Context(), f.Region.ID, settlement.Policy{Kind: settlement.Cap}, funder, f.Now)
		must(t, err, "SetPolicy")
		// 30.01 more would fit next to what is settled, not next to what is held as well.
		SettleRejected(t, s, priced(f.Claim("c-3", Day(3)), 100, 30_01), f.Now, settlement.ReasonBudgetExhausted, f.Region.ID)
		SettleAccepted(t, s, priced(f.Claim("c-4", Day(4)), 100, 30_00), f.Now)
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
	})
}

// proRataCase is a region under prorata at 85.50% with claims of two
// providers: the fixture provider (A) on the fixture voucher and another (B)
// on voucher v-2. A claims 60.00 and 10.01, B 40.00 and 30.00: 140.01 in all.
func proRataCase(t *testing.T, o Opener, budget regie.Cents) (store.Store, *Fixture, string) {
	t.Helper()
	s, f := o.withRegion(t, budget, settlement.Policy{Kind: settlement.ProRata, ProvisionalRate: 85_50})
	other := putOther(t, s, f)
	addVoucherOf(t, s, f, "v-2", other.AGB)
	payables := []regie.Cents{
		SettleAccepted(t, s, f.Claim("a-1", Day(1)), f.Now).Payable,                                                 // 60.00 → 51.30
		SettleAccepted(t, s, priced(f.Claim("a-2", Day(2)), 100, 10_01), f.Now).Payable,                             // 10.01 → 8.55855 → 8.56
		SettleAccepted(t, s, priced(claimBy(f, other.AGB, "v-2", "b-1", Day(1)), 100, 40_00), f.Now).Payable,        // 34.20
		SettleAccepted(t, s, priced(claimBy(f, other.AGB, "v-2", "b-2", Day(2)), 50, ProviderPrice), f.Now).Payable, // 30.00 → 25.65
	}
	if want := []regie.Cents{51_30, 8_56, 34_20, 25_65}; !reflect.DeepEqual(payables, want) {
		t.Fatalf("provisional payables %v, want %v", payables, want)
	}
	if fig := figures(t, s, f.Region.ID); fig.Settled != 140_01 || fig.Paid != 119_71 {
		t.Fatalf("figures = %+v, want 140.01 settled, 119.71 paid", fig)
	}
	return s, f, other.AGB
}

// closeChecked runs CloseYear and checks the adjustments and entries against
// the wanted final pay per provider (claimed and paid before are read from
// the provider accounts in the journal).
func closeChecked(t *testing.T, s store.Store, f *Fixture, wantRate settlement.Rate, wantFinal map[string]regie.Cents) settlement.Closed {
	t.Helper()
	region := f.Region.ID
	fig0 := figures(t, s, region)
	j0 := CheckJournal(t, s, region)
	sums := Sums(j0)
	closed, err := s.CloseYear(t.Context(), region, funder, f.Now)
	must(t, err, "CloseYear")
	if closed.FinalRate != wantRate {
		t.Fatalf("final rate %s, want %s", closed.FinalRate, wantRate)
	}
	var wantEntries []settlement.Entry
	var finals regie.Cents
	listed := map[string]settlement.Adjustment{}
	for _, a := range closed.Adjustments {
		listed[a.ProviderAGB] = a
	}
	for _, agb := range slices.Sorted(maps.Keys(wantFinal)) {
		final := wantFinal[agb]
		finals += final
		claimed := sums[settlement.ProviderAccount(region, agb, "claimed")]
		paid := sums[settlement.ProviderAccount(region, agb, "paid")]
		if adj := final - paid; adj != 0 {
			wantEntries = append(wantEntries, settlement.Entry{
				At: f.Now.UTC(), Type: settlement.EntryProRataAdjust, ProviderAGB: agb, Amount: adj, By: funder,
				Postings: []settlement.Posting{
					{Account: settlement.ProviderAccount(region, agb, "paid"), Amount: adj},
					{Account: settlement.RegionAccount(region, "paid"), Amount: adj},
				},
			})
			want := settlement.Adjustment{ProviderAGB: agb, Claimed: claimed, Paid: paid, Final: final, Amount: adj}
			if listed[agb] != want {
				t.Fatalf("adjustment of %s = %+v, want %+v", agb, listed[agb], want)
			}
		}
	}
	for _, a := range closed.Adjustments {
		if a.Amount != a.Final-a.Paid || a.Final != wantFinal[a.ProviderAGB] {
			t.Fatalf("adjustment %+v does not match the final pay %s", a, wantFinal[a.ProviderAGB])
		}
	}
	wantEntries = append(wantEntries, settlement.Entry{At: f.Now.UTC(), Type: settlement.EntryClose, By: funder})
	added := newEntries(t, s, region, j0)
	if len(added) != len(wantEntries) {
		t.Fatalf("CloseYear added %d entries, want %d (one per provider whose pay changes, then the close)", len(added), len(wantEntries))
	}
	byProvider := map[string]settlement.Entry{}
	for i, e := range added[:len(added)-1] {
		if e.Type != settlement.EntryProRataAdjust {
			t.Fatalf("entry %d of the close is %s", i, e.Type)
		}
		byProvider[e.ProviderAGB] = e
	}
	for _, w := range wantEntries[:len(wantEntries)-1] {
		sameEntry(t, byProvider[w.ProviderAGB], w)
	}
	sameEntry(t, added[len(added)-1], wantEntries[len(wantEntries)-1])

	want := fig0
	want.Closed, want.FinalRate, want.Paid = true, wantRate, finals
	if closed.Figures != want {
		t.Fatalf("CloseYear figures %+v, want %+v", closed.Figures, want)
	}
	if fig := figures(t, s, region); fig != want {
		t.Fatalf("figures after the close = %+v, want %+v", fig, want)
	}
	return closed
}

func testProRata(t *testing.T, o Opener) {
	t.Run("overrun: final rate, one adjustment per provider, then closed", func(t *testing.T) {
		s, f, other := proRataCase(t, o, 100_00)
		ctx := t.Context()
		region := f.Region.ID
		// 100.00 / 140.01: A's 70.01 → 50.0036 → 50.00, B's 70.00 → 49.9964 → 50.00.
		closed := closeChecked(t, s, f, 71_42, map[string]regie.Cents{f.Provider.AGB: 50_00, other: 50_00})
		var sum regie.Cents
		for _, a := range closed.Adjustments {
			sum += a.Final
		}
		if d := sum - 100_00; d < -2 || d > 2 {
			t.Fatalf("final pays add up to %s, want the budget 100.00 within 2 cents", sum)
		}
		CheckLedger(t, s, region, f.Voucher.ID, "v-2")

		// Closed: claims are rejected, and the policy, the claims and the year stay as they are.
		SettleRejected(t, s, f.Claim("a-3", Day(3)), f.Now, settlement.ReasonBudgetYearClosed, region)
		unchanged(t, s, "changes to a closed year", func() {
			_, err := s.SetPolicy(ctx, region, settlement.Policy{}, funder, f.Now)
			wantErr(t, err, regie.Conflict, "budget_year_closed")
			_, err = s.Reverse(ctx, f.Provider.AGB, "a-1", "fout", "provider:"+f.Provider.AGB, f.Now)
			wantErr(t, err, regie.Conflict, "budget_year_closed")
			_, err = s.CloseYear(ctx, region, funder, f.Now)
			wantErr(t, err, regie.Conflict, "budget_year_closed")
		}, f.Voucher.ID, "v-2")
		if rec := claimRecord(t, s, f.Provider.AGB, "a-1"); rec.State != settlement.StateSettled {
			t.Fatalf("a-1 after a refused reversal: %s", rec.State)
		}
		CheckLedger(t, s, region, f.Voucher.ID, "v-2")
	})

	t.Run("within budget: everyone paid in full", func(t *testing.T) {
		s, f, other := proRataCase(t, o, 1_000_00)
		closeChecked(t, s, f, 100_00, map[string]regie.Cents{f.Provider.AGB: 70_01, other: 70_00})
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID, "v-2")
	})

	t.Run("no entry for a provider whose pay does not change", func(t *testing.T) {
		// At 50.00% provisional and a budget of half of what is claimed, the
		// provisional pay is the final pay: only the close is journalled.
		s, f := o.withRegion(t, 50_00, settlement.Policy{Kind: settlement.ProRata, ProvisionalRate: 50_00})
		other := putOther(t, s, f)
		addVoucherOf(t, s, f, "v-2", other.AGB)
		SettleAccepted(t, s, f.Claim("a-1", Day(1)), f.Now)
		SettleAccepted(t, s, priced(claimBy(f, other.AGB, "v-2", "b-1", Day(1)), 100, 40_00), f.Now)
		closeChecked(t, s, f, 50_00, map[string]regie.Cents{f.Provider.AGB: 30_00, other.AGB: 20_00})
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID, "v-2")
	})

	t.Run("a reversal takes back the provisional pay", func(t *testing.T) {
		s, f, other := proRataCase(t, o, 100_00)
		reverseChecked(t, s, other, "b-2", "dubbel gedeclareerd", "provider:"+other, f.Now)
		// 100.00 / 110.01: A's 70.01 → 63.6397 → 63.64, B's 40.00 → 36.3603 → 36.36.
		closeChecked(t, s, f, 90_90, map[string]regie.Cents{f.Provider.AGB: 63_64, other: 36_36})
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID, "v-2")
	})

	t.Run("a closed year's money does not move", func(t *testing.T) {
		// Claims held under hold stay held when the funder switches to
		// prorata. The close refuses while they are held: it would fix the
		// final rate on money it never saw. Once they are released, the close
		// runs, and afterwards no release or revision moves money.
		s, f := o.withRegion(t, 100_00, settlement.Policy{Kind: settlement.Hold, HoldThreshold: 100_00})
		ctx := t.Context()
		SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
		SettleHeld(t, s, f.Claim("h-1", Day(2)), f.Now)
		_, err := s.SetPolicy(ctx, f.Region.ID, settlement.Policy{Kind: settlement.ProRata, ProvisionalRate: 80_00}, funder, f.Now)
		must(t, err, "SetPolicy")
		unchanged(t, s, "CloseYear with a held claim", func() {
			_, err := s.CloseYear(ctx, f.Region.ID, funder, f.Now)
			wantErr(t, err, regie.Conflict, "held_claims_open")
		}, f.Voucher.ID)
		if rel, err := s.ReleaseHeld(ctx, f.Region.ID, 1_000_00, funder, f.Now); err != nil || rel.Claims != 1 {
			t.Fatalf("ReleaseHeld = %+v, %v; want the one held claim released", rel, err)
		}
		_, err = s.CloseYear(ctx, f.Region.ID, funder, f.Now)
		must(t, err, "CloseYear")
		unchanged(t, s, "ReleaseHeld and ReviseBudget after the year-end close", func() {
			_, err := s.ReleaseHeld(ctx, f.Region.ID, 1_000_00, funder, f.Now)
			wantErr(t, err, regie.Conflict, "budget_year_closed")
			_, err = s.ReviseBudget(ctx, f.Region.ID, 500_00, Day(300), "te laat", funder, f.Now)
			wantErr(t, err, regie.Conflict, "budget_year_closed")
		}, f.Voucher.ID)
	})

	t.Run("close under another policy", func(t *testing.T) {
		for _, p := range []settlement.Policy{{}, {Kind: settlement.Monitor}, {Kind: settlement.Hold, HoldThreshold: 100_00}, {Kind: settlement.Cap}} {
			t.Run(string(p.Kind), func(t *testing.T) {
				s, f := o.withRegion(t, 1_000_00, p)
				SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
				unchanged(t, s, "CloseYear under "+string(p.Kind), func() {
					_, err := s.CloseYear(t.Context(), f.Region.ID, funder, f.Now)
					wantErr(t, err, regie.Conflict, "policy_not_prorata")
				}, f.Voucher.ID)
				SettleAccepted(t, s, f.Claim("c-2", Day(2)), f.Now)
			})
		}
	})
}

func testRevisions(t *testing.T, o Opener) {
	s, f := o.withFixture(t, "a")
	ctx := t.Context()
	region := f.Region.ID
	SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
	var want []settlement.Revision
	revs, err := s.Revisions(ctx, region)
	must(t, err, "Revisions")
	if len(revs) != 1 || revs[0].Version != 1 || revs[0].Budget != f.Region.Budget {
		t.Fatalf("Revisions of the fixture = %+v, want version 1 of %s", revs, f.Region.Budget)
	}
	want = append(want, revs[0])
	for i, step := range []struct {
		budget    regie.Cents
		effective regie.Date
		reason    string
	}{
		{60_000_000_00, Day(100), "VWS-verhoging"},
		{40_000_000_00, Day(200), "herschikking naar gemeente b"},
		{40_000_000_00, Day(201), "bevestigd, ongewijzigd"},
	} {
		now := f.Now.Add(time.Duration(i) * time.Hour)
		fig0 := figures(t, s, region)
		j0 := CheckJournal(t, s, region)
		rev, err := s.ReviseBudget(ctx, region, step.budget, step.effective, step.reason, funder, now)
		must(t, err, "ReviseBudget")
		delta := step.budget - fig0.Budget
		wantRev := settlement.Revision{Region: region, Version: fig0.Revision + 1, Budget: step.budget, Delta: delta,
			Effective: step.effective, Reason: step.reason, By: funder, At: rev.At}
		if rev != wantRev || !rev.At.Equal(now) {
			t.Fatalf("ReviseBudget = %+v, want %+v at %v", rev, wantRev, now)
		}
		want = append(want, rev)
		added := newEntries(t, s, region, j0)
		if len(added) != 1 {
			t.Fatalf("a revision added %d journal entries, want 1", len(added))
		}
		sameEntry(t, added[0], settlement.Entry{
			At: now.UTC(), Type: settlement.EntryRevision, Amount: delta, Reason: step.reason, By: funder,
			Postings: []settlement.Posting{{Account: settlement.RegionAccount(region, "budget"), Amount: delta}},
		})
		wantFig := fig0
		wantFig.Budget, wantFig.Revision = step.budget, fig0.Revision+1
		wantFig.Remaining += delta
		wantFig.Free += delta
		if fig := figures(t, s, region); fig != wantFig {
			t.Fatalf("figures after revision %d = %+v, want %+v", rev.Version, fig, wantFig)
		}
	}
	revs, err = s.Revisions(ctx, region)
	must(t, err, "Revisions")
	if len(revs) != len(want) {
		t.Fatalf("Revisions = %+v, want %d", revs, len(want))
	}
	for i := range want {
		got, w := revs[i], want[i]
		if !got.At.Equal(w.At) {
			t.Fatalf("revision %d at %v, want %v", i, got.At, w.At)
		}
		got.At = w.At
		if got != w || got.Version != i+1 {
			t.Fatalf("revision %d = %+v, want %+v", i, got, w)
		}
	}
	unchanged(t, s, "a revision of an unknown region", func() {
		_, err := s.ReviseBudget(ctx, "gm-missing", 1, Day(1), "x", funder, f.Now)
		wantErr(t, err, regie.NotFound, "region_not_found")
	}, f.Voucher.ID)
	CheckLedger(t, s, region, f.Voucher.ID)
}
