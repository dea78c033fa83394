package storetest

import (
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store"
)

// checkCommitted checks that the region's committed figure is the sum of what
// the lines of its vouchers (all of them, given) have committed, and that a
// reserved line commits exactly what remains of it.
func checkCommitted(t testing.TB, s store.Store, region string, voucherIDs ...string) {
	t.Helper()
	var sum regie.Cents
	for _, id := range voucherIDs {
		v, err := s.Voucher(t.Context(), id)
		must(t, err, "Voucher "+id)
		for _, l := range v.Lines {
			sum += l.Committed
			if (l.Reserved && l.Committed != l.Remaining) || (!l.Reserved && l.Committed != 0) {
				t.Fatalf("voucher %s line %s: reserved %v, committed %s, remaining %s", id, l.Product, l.Reserved, l.Committed, l.Remaining)
			}
		}
	}
	if fig := figures(t, s, region); fig.Committed != sum {
		t.Fatalf("region %s commits %s, its voucher lines %s", region, fig.Committed, sum)
	}
}

// reserveEntry is the entry of a reservation of a line's remaining amount.
func reserveEntry(region, voucherID, product string, amount regie.Cents, at time.Time) settlement.Entry {
	return settlement.Entry{
		At: at.UTC(), Type: settlement.EntryReserve, VoucherID: voucherID, Product: product, Amount: amount,
		Postings: []settlement.Posting{
			{Account: settlement.VoucherCommittedAccount(voucherID, product), Amount: amount},
			{Account: settlement.RegionAccount(region, "committed"), Amount: amount},
		},
	}
}

func testReservations(t *testing.T, o Opener) {
	t.Run("accepting a choice commits the line", func(t *testing.T) {
		s := o.fresh(t)
		f := NewFixture("a")
		f.Put(t, s)
		region := f.Region.ID
		hour := f.Voucher.Line(ProductHour).MaxAmount
		entries := CheckJournal(t, s, region)
		if len(entries) != 3 || entries[0].Type != settlement.EntryRevision || entries[1].Type != settlement.EntryIssue {
			t.Fatalf("journal of a fixture: %+v, want the budget, the issue, the reservation", entries)
		}
		var issued []settlement.Posting
		for _, l := range f.Voucher.Lines {
			issued = append(issued, settlement.Posting{Account: settlement.VoucherAccount(f.Voucher.ID, l.Product), Amount: l.MaxAmount})
		}
		sameEntry(t, entries[1], settlement.Entry{At: f.Voucher.IssuedAt.UTC(), Type: settlement.EntryIssue, VoucherID: f.Voucher.ID,
			Amount: hour + f.Voucher.Line(ProductDagdeel).MaxAmount, Postings: issued})
		sameEntry(t, entries[2], reserveEntry(region, f.Voucher.ID, ProductHour, hour, f.Choice.DecidedAt))
		l := line(t, s, f.Voucher.ID, ProductHour)
		if !l.Reserved || l.Committed != hour || l.Remaining != hour {
			t.Fatalf("hour line after the accept: %+v", l)
		}
		if l := line(t, s, f.Voucher.ID, ProductDagdeel); l.Reserved || l.Committed != 0 {
			t.Fatalf("dagdeel line without a choice: %+v", l)
		}
		if fig := figures(t, s, region); fig.Committed != hour || fig.Free != f.Region.Budget-hour {
			t.Fatalf("figures = %+v, want %s committed", fig, hour)
		}

		// A requested or declined choice commits nothing; an accepted one does.
		other := putOther(t, s, f)
		unchanged(t, s, "a declined choice", func() {
			dagdeelChoice(t, s, f, other.AGB, 0, 0, matching.Declined)
		}, f.Voucher.ID)
		j0 := CheckJournal(t, s, region)
		c := f.NewChoice("ch-dd-2", f.Voucher.ID, ProductDagdeel, other.AGB)
		unchanged(t, s, "a requested choice", func() {
			must(t, s.CreateChoice(t.Context(), c), "CreateChoice")
		}, f.Voucher.ID)
		at := c.CreatedAt.Add(2 * time.Hour)
		_, err := s.DecideChoice(t.Context(), c.ID, matching.Accepted, "", at)
		must(t, err, "DecideChoice")
		dd := f.Voucher.Line(ProductDagdeel).MaxAmount
		added := newEntries(t, s, region, j0)
		if len(added) != 1 {
			t.Fatalf("an accept added %d entries, want 1", len(added))
		}
		sameEntry(t, added[0], reserveEntry(region, f.Voucher.ID, ProductDagdeel, dd, at))
		if fig := figures(t, s, region); fig.Committed != hour+dd {
			t.Fatalf("committed %s, want %s", fig.Committed, hour+dd)
		}
		checkCommitted(t, s, region, f.Voucher.ID)
		CheckLedger(t, s, region, f.Voucher.ID)
	})

	t.Run("a claim turns commitment into settled", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		region := f.Region.ID
		free := figures(t, s, region).Free
		SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
		SettleAccepted(t, s, period(priced(f.Claim("c-2", Day(2)), 1000, ProviderPrice), Day(2), Day(8)), f.Now)
		fig := figures(t, s, region)
		if fig.Free != free || fig.Committed != f.Voucher.Line(ProductHour).MaxAmount-660_00 {
			t.Fatalf("figures = %+v, want free unchanged (%s) and 660.00 less committed", fig, free)
		}
		checkCommitted(t, s, region, f.Voucher.ID)
		CheckLedger(t, s, region, f.Voucher.ID)
	})

	t.Run("ending an assignment releases what was not used", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		region := f.Region.ID
		SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
		SettleAccepted(t, s, f.Claim("c-2", Day(2)), f.Now)
		fig0 := figures(t, s, region)
		j0 := CheckJournal(t, s, region)
		l0 := line(t, s, f.Voucher.ID, ProductHour)
		at := f.Now.Add(time.Hour)
		ch, err := s.EndAssignment(ctx, f.Choice.ID, Day(30), at)
		must(t, err, "EndAssignment")
		want := *f.Choice
		want.To = Day(30)
		if diff := diffChoice(ch, &want); diff != "" {
			t.Fatalf("EndAssignment returned %s", diff)
		}
		stored, err := s.Choice(ctx, f.Choice.ID)
		must(t, err, "Choice")
		if diff := diffChoice(stored, &want); diff != "" {
			t.Fatalf("choice after EndAssignment: %s", diff)
		}
		x := l0.Committed
		added := newEntries(t, s, region, j0)
		if len(added) != 1 {
			t.Fatalf("EndAssignment added %d entries, want 1", len(added))
		}
		sameEntry(t, added[0], settlement.Entry{
			At: at.UTC(), Type: settlement.EntryUnreserve, VoucherID: f.Voucher.ID, Product: ProductHour, Amount: x,
			Postings: []settlement.Posting{
				{Account: settlement.VoucherCommittedAccount(f.Voucher.ID, ProductHour), Amount: -x},
				{Account: settlement.RegionAccount(region, "committed"), Amount: -x},
			},
		})
		wantLine := l0
		wantLine.Reserved, wantLine.Committed = false, 0
		if l := line(t, s, f.Voucher.ID, ProductHour); l != wantLine {
			t.Fatalf("line after EndAssignment: %+v, want %+v", l, wantLine)
		}
		wantFig := fig0
		wantFig.Committed -= x
		wantFig.Free += x
		if fig := figures(t, s, region); fig != wantFig {
			t.Fatalf("figures after EndAssignment = %+v, want %+v", fig, wantFig)
		}

		// The provider may claim through the last day, and no longer after it;
		// a claim no longer touches the released commitment.
		SettleRejected(t, s, f.Claim("c-31", Day(31)), f.Now, settlement.ReasonProviderNotAssigned, region)
		SettleAccepted(t, s, f.Claim("c-30", Day(30)), f.Now)
		// A reversal gives the line its amount back, not a commitment.
		reverseChecked(t, s, f.Provider.AGB, "c-1", "verkeerde dag", "provider:"+f.Provider.AGB, f.Now)
		checkCommitted(t, s, region, f.Voucher.ID)

		// Ending it earlier still changes the choice only: nothing is committed.
		unchanged(t, s, "ending an ended assignment earlier", func() {
			ch, err := s.EndAssignment(ctx, f.Choice.ID, Day(20), at)
			must(t, err, "EndAssignment")
			if ch.To != Day(20) {
				t.Fatalf("choice ends %s, want %s", ch.To, Day(20))
			}
		}, f.Voucher.ID)
		CheckLedger(t, s, region, f.Voucher.ID)
	})

	t.Run("ending before the first day releases everything", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		_, err := s.EndAssignment(t.Context(), f.Choice.ID, ValidFrom-1, f.Now)
		must(t, err, "EndAssignment")
		if fig := figures(t, s, f.Region.ID); fig.Committed != 0 || fig.Free != f.Region.Budget {
			t.Fatalf("figures = %+v, want nothing committed", fig)
		}
		SettleRejected(t, s, f.Claim("c-1", ValidFrom), f.Now, settlement.ReasonProviderNotAssigned, f.Region.ID)
		checkCommitted(t, s, f.Region.ID, f.Voucher.ID)
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
	})

	t.Run("errors change nothing", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		other := putOther(t, s, f)
		dagdeelChoice(t, s, f, other.AGB, 0, 0, matching.Declined)
		requested := f.NewChoice("ch-requested", f.Voucher.ID, ProductDagdeel, f.Provider.AGB)
		must(t, s.CreateChoice(ctx, requested), "CreateChoice")
		unchanged(t, s, "refused EndAssignment calls", func() {
			for _, lastDay := range []regie.Date{ValidTo, ValidTo + 1, ValidFrom - 2, ValidFrom - 40} {
				_, err := s.EndAssignment(ctx, f.Choice.ID, lastDay, f.Now)
				wantErr(t, err, regie.Invalid, "last_day_invalid")
			}
			_, err := s.EndAssignment(ctx, requested.ID, Day(10), f.Now)
			wantErr(t, err, regie.Conflict, "choice_not_accepted")
			_, err = s.EndAssignment(ctx, "ch-dd-"+other.AGB, Day(10), f.Now)
			wantErr(t, err, regie.Conflict, "choice_not_accepted")
			_, err = s.EndAssignment(ctx, "ch-missing", Day(10), f.Now)
			wantErr(t, err, regie.NotFound, "choice_not_found")
		}, f.Voucher.ID)
		ch, err := s.Choice(ctx, f.Choice.ID)
		must(t, err, "Choice")
		if ch.To != ValidTo {
			t.Fatalf("choice ends %s after refused calls, want %s", ch.To, ValidTo)
		}
	})

	t.Run("a reversal while reserved restores the commitment", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		region := f.Region.ID
		fig0 := figures(t, s, region)
		SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
		SettleAccepted(t, s, f.Claim("c-2", Day(2)), f.Now)
		reverseChecked(t, s, f.Provider.AGB, "c-1", "niet geleverd", "provider:"+f.Provider.AGB, f.Now)
		fig := figures(t, s, region)
		if fig.Free != fig0.Free || fig.Committed != fig0.Committed-60_00 || fig.Settled != 60_00 {
			t.Fatalf("figures = %+v, want free %s and one claim's commitment used", fig, fig0.Free)
		}
		checkCommitted(t, s, region, f.Voucher.ID)
		CheckLedger(t, s, region, f.Voucher.ID)
	})

	t.Run("free is exact over many vouchers", func(t *testing.T) {
		s, f := o.withRegion(t, 10_000_00, settlement.Policy{Kind: settlement.Hold, HoldThreshold: 100_00})
		region := f.Region.ID
		other := putOther(t, s, f)
		ids := []string{f.Voucher.ID}
		for i, agb := range []string{f.Provider.AGB, other.AGB, other.AGB} {
			ids = append(ids, addVoucherOf(t, s, f, "v-"+string(rune('b'+i)), agb).ID)
		}
		dagdeelChoice(t, s, f, other.AGB, 0, Day(100), matching.Accepted)
		SettleAccepted(t, s, period(priced(f.Claim("c-1", Day(0)), 1000, ProviderPrice), Day(0), Day(6)), f.Now)
		SettleAccepted(t, s, priced(dagdeelClaim(f, other.AGB, "d-1", Day(3), Day(3)), 101, MaxPriceDagdeel), f.Now)
		SettleAccepted(t, s, priced(claimBy(f, other.AGB, "v-c", "o-1", Day(5)), 333, 33_33), f.Now)
		_, err := s.EndAssignment(t.Context(), "ch-v-d", Day(50), f.Now)
		must(t, err, "EndAssignment")
		SettleAccepted(t, s, priced(claimBy(f, other.AGB, "v-d", "o-2", Day(50)), 777, 59_99), f.Now)
		_, err = s.ReviseBudget(t.Context(), region, 1_000_00, Day(60), "krimp", funder, f.Now)
		must(t, err, "ReviseBudget")
		SettleHeld(t, s, priced(f.ClaimOn("v-b", "h-1", Day(9)), 123, 45_67), f.Now)
		reverseChecked(t, s, other.AGB, "o-1", "fout tarief", "provider:"+other.AGB, f.Now)
		checkCommitted(t, s, region, ids...)
		CheckLedger(t, s, region, ids...)
	})
}

// testSwitch: a client switches provider from a date. Until the new provider
// accepts, the old assignment runs on; once it accepts, the old one ends the
// day before, its later claims are rejected, the new provider's accepted, and
// the line's commitment carries over without a second reservation.
func testSwitch(t *testing.T, o Opener) {
	ctx := t.Context()
	s := o.fresh(t)
	f := NewFixture("a")
	f.Put(t, s)
	other := *f.Provider
	other.AGB, other.Name = f.Provider.AGB[:len(f.Provider.AGB)-1]+"9", "Ander"
	must(t, s.PutProvider(ctx, &other), "PutProvider")
	SettleAccepted(t, s, f.Claim("old-1", Day(1)), f.Now)
	committed := func() regie.Cents {
		r, err := s.Region(ctx, f.Region.ID)
		must(t, err, "Region")
		return r.Committed
	}
	before := committed()

	sw := f.NewChoice("ch-switch", f.Voucher.ID, ProductHour, other.AGB)
	sw.From = Day(100)
	must(t, s.CreateChoice(ctx, sw), "CreateChoice (switch)")
	// Requested only: the old provider may still claim after the switch date.
	SettleAccepted(t, s, f.Claim("old-100", Day(100)), f.Now)

	early := f.NewChoice("ch-early", f.Voucher.ID, ProductHour, other.AGB)
	early.From = f.Choice.From
	wantErr(t, s.CreateChoice(ctx, early), regie.Conflict, "choice_active")

	// One request at a time: a second switch waits for the answer to the first.
	sw2 := f.NewChoice("ch-switch-2", f.Voucher.ID, ProductHour, other.AGB)
	sw2.From = Day(101)
	wantErr(t, s.CreateChoice(ctx, sw2), regie.Conflict, "choice_active") // one request at a time
	_, err := s.DecideChoice(ctx, sw.ID, matching.Accepted, "", f.Now)
	must(t, err, "DecideChoice (switch)")

	old, err := s.Choice(ctx, f.Choice.ID)
	must(t, err, "Choice")
	if old.To != Day(99) || old.Status != matching.Accepted {
		t.Fatalf("old assignment after the switch: status %s to %s, want accepted to %s", old.Status, old.To, Day(99))
	}
	SettleRejected(t, s, f.Claim("old-101", Day(101)), f.Now, settlement.ReasonProviderNotAssigned, f.Region.ID)
	SettleAccepted(t, s, claimBy(f, other.AGB, f.Voucher.ID, "new-102", Day(102)), f.Now)
	// The line stayed committed through the switch: only the claims moved
	// commitment to settled.
	if got, want := committed(), before-2*lineAmount(f); got != want {
		t.Fatalf("committed after the switch: %s, want %s", got, want)
	}
	CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
}

// lineAmount is what one fixture claim of one day costs.
func lineAmount(f *Fixture) regie.Cents {
	c := f.Claim("x", Day(1))
	a, _ := c.Amount()
	return a
}
