package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store"
	"github.com/regie-nl/regie/voucher"
)

// withRegion opens a store with fixture "a" whose region has the given budget
// and policy.
func (o Opener) withRegion(t *testing.T, budget regie.Cents, p settlement.Policy) (store.Store, *Fixture) {
	t.Helper()
	s := o.fresh(t)
	f := NewFixture("a")
	f.Region.Budget, f.Region.Policy = budget, p
	f.Put(t, s)
	return s, f
}

// figures reads a region's figures and checks the two derived ones.
func figures(t testing.TB, s store.Store, region string) settlement.Figures {
	t.Helper()
	fig, err := Figures(t.Context(), s, region)
	must(t, err, "Figures "+region)
	if fig.Remaining != fig.Budget-fig.Settled-fig.Held || fig.Free != fig.Budget-fig.Settled-fig.Held-fig.Committed {
		t.Fatalf("figures of %s: remaining %s, free %s do not follow from budget %s, settled %s, held %s, committed %s",
			region, fig.Remaining, fig.Free, fig.Budget, fig.Settled, fig.Held, fig.Committed)
	}
	return fig
}

// claimRecord reads a recorded claim.
func claimRecord(t testing.TB, s store.Store, agb, id string) settlement.ClaimRecord {
	t.Helper()
	rec, err := s.Claim(t.Context(), agb, id)
	must(t, err, "Claim "+id)
	return rec
}

// line reads one line of a voucher.
func line(t testing.TB, s store.Store, voucherID, product string) voucher.Line {
	t.Helper()
	v, err := s.Voucher(t.Context(), voucherID)
	must(t, err, "Voucher "+voucherID)
	l := v.Line(product)
	if l == nil {
		t.Fatalf("voucher %s has no line %s", voucherID, product)
	}
	return *l
}

// newEntries returns the entries that follow the journal before, after
// checking that before is still its unchanged beginning.
func newEntries(t testing.TB, s store.Store, region string, before []settlement.Entry) []settlement.Entry {
	t.Helper()
	after := CheckJournal(t, s, region)
	if len(after) < len(before) || !reflect.DeepEqual(after[:len(before)], before) {
		t.Fatalf("journal %s: earlier entries changed (%d entries, then %d)", region, len(before), len(after))
	}
	return after[len(before):]
}

// sameEntry compares an entry with the one wanted, ignoring the seal, the
// sequence number and the time, which are checked by the caller.
func sameEntry(t testing.TB, got, want settlement.Entry) {
	t.Helper()
	if !got.At.Equal(want.At) {
		t.Fatalf("entry %d at %v, want %v", got.Seq, got.At, want.At)
	}
	want.Region = got.Region
	want.Seq, want.At, want.PrevHash, want.Hash = got.Seq, got.At, got.PrevHash, got.Hash
	if len(want.Postings) == 0 && len(got.Postings) == 0 {
		want.Postings = got.Postings
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("journal entry %+v\nwant %+v", got, want)
	}
}

// SettleHeld settles a claim that must be held under the hold policy and
// checks its effects: a held decision (debited, not payable), the voucher
// line debited like an acceptance and its commitment used, the region's held
// figure up by the amount and nothing paid, one hold entry with its postings,
// a claim record in state held with its place in the held queue, and that a
// retry replays the decision.
func SettleHeld(t testing.TB, s store.Store, c settlement.Claim, now time.Time) settlement.Decision {
	t.Helper()
	ctx := t.Context()
	if err := c.Validate(); err != nil {
		t.Fatalf("test claim %s is invalid: %v", c.ClaimID, err)
	}
	amount, _ := c.Amount()
	v0, err := s.Voucher(ctx, c.VoucherID)
	must(t, err, "Voucher")
	region := v0.Region
	fig0 := figures(t, s, region)
	j0 := CheckJournal(t, s, region)

	d, replay, err := s.Settle(ctx, c, now)
	if err != nil {
		t.Fatalf("Settle %s: %v", c.ClaimID, err)
	}
	used := min(amount, v0.Line(c.Product).Committed)
	want := settlement.Decision{
		ProviderAGB: c.ProviderAGB, ClaimID: c.ClaimID, VoucherID: c.VoucherID, Product: c.Product,
		From: c.From, To: c.To, Units: c.Units, UnitPrice: c.UnitPrice,
		Status: settlement.Held, Amount: amount, Payable: 0, Region: region,
		BeyondBudget: fig0.Settled+fig0.Held+amount > fig0.Budget,
		JournalSeq:   uint64(len(j0) + 1),
		DecidedAt:    now.UTC(), Fingerprint: d.Fingerprint,
	}
	if replay {
		t.Fatalf("Settle %s: a first decision reported as a replay", c.ClaimID)
	}
	if diff := DiffDecision(d, want); diff != "" {
		t.Fatalf("Settle %s (want held): %s", c.ClaimID, diff)
	}

	l := line(t, s, c.VoucherID, c.Product)
	l0 := *v0.Line(c.Product)
	l0.Remaining -= amount
	l0.Committed -= used
	l0.UnitsClaimed += c.Units
	l0.ClaimedThrough = max(l0.ClaimedThrough, c.To)
	if l != l0 {
		t.Fatalf("line after holding %s: %+v, want %+v", c.ClaimID, l, l0)
	}
	wantFig := fig0
	wantFig.Held += amount
	wantFig.Remaining -= amount
	wantFig.Committed -= used
	wantFig.Free -= amount - used
	wantFig.Claims++
	if fig := figures(t, s, region); fig != wantFig {
		t.Fatalf("figures after holding %s = %+v, want %+v", c.ClaimID, fig, wantFig)
	}

	added := newEntries(t, s, region, j0)
	if len(added) != 1 {
		t.Fatalf("holding %s added %d journal entries, want 1", c.ClaimID, len(added))
	}
	wantEntry := settlement.Entry{
		At: now.UTC(), Type: settlement.EntryHold, ProviderAGB: c.ProviderAGB, ClaimID: c.ClaimID,
		VoucherID: c.VoucherID, Product: c.Product, Amount: amount,
		Postings: []settlement.Posting{{Account: settlement.VoucherAccount(c.VoucherID, c.Product), Amount: -amount}},
	}
	if used > 0 {
		wantEntry.Postings = append(wantEntry.Postings,
			settlement.Posting{Account: settlement.VoucherCommittedAccount(c.VoucherID, c.Product), Amount: -used},
			settlement.Posting{Account: settlement.RegionAccount(region, "committed"), Amount: -used})
	}
	wantEntry.Postings = append(wantEntry.Postings, settlement.Posting{Account: settlement.RegionAccount(region, "held"), Amount: amount})
	sameEntry(t, added[0], wantEntry)
	if added[0].Seq != d.JournalSeq {
		t.Fatalf("hold entry has seq %d, the decision %d", added[0].Seq, d.JournalSeq)
	}

	rec := claimRecord(t, s, c.ProviderAGB, c.ClaimID)
	if rec.State != settlement.StateHeld || rec.Paid != 0 || rec.HeldSeq != d.JournalSeq || rec.Dispute != nil || rec.Reversal != nil {
		t.Fatalf("claim record of held %s: %+v", c.ClaimID, rec)
	}
	if diff := DiffDecision(rec.Decision, d); diff != "" {
		t.Fatalf("claim record of held %s: %s", c.ClaimID, diff)
	}
	again, replay, err := s.Settle(ctx, c, now.Add(time.Minute))
	must(t, err, "Settle again")
	if diff := DiffDecision(again, d); !replay || diff != "" {
		t.Fatalf("retry of held %s: replay %v, %s", c.ClaimID, replay, diff)
	}
	return d
}

// reverseChecked reverses a settled or held claim and checks every effect:
// the claim record (reversed, nothing paid, the reversal noted with its seq),
// the voucher line (amount and units back, and its commitment while it is
// reserved), the region's figures (settled or held, paid, committed, claims),
// one reverse entry with its postings, that the recorded decision is still
// the original one, and that a retry of the claim id replays it.
func reverseChecked(t testing.TB, s store.Store, agb, claimID, reason, by string, now time.Time) settlement.ClaimRecord {
	t.Helper()
	rec := reversalChecked(t, s, agb, claimID, by, now, func() (settlement.ClaimRecord, error) {
		return s.Reverse(t.Context(), agb, claimID, reason, by, now)
	})
	if rec.Reversal.Reason != reason {
		t.Fatalf("reversal of %s has reason %q, want %q", claimID, rec.Reversal.Reason, reason)
	}
	return rec
}

// reversalChecked runs reverse, which must reverse the claim (Reverse, or
// ResolveDispute upholding a dispute), and checks its effects (see reverseChecked).
func reversalChecked(t testing.TB, s store.Store, agb, claimID, by string, now time.Time, reverse func() (settlement.ClaimRecord, error)) settlement.ClaimRecord {
	t.Helper()
	ctx := t.Context()
	rec0 := claimRecord(t, s, agb, claimID)
	if rec0.State != settlement.StateSettled && rec0.State != settlement.StateHeld {
		t.Fatalf("reverseChecked: claim %s is %s", claimID, rec0.State)
	}
	region, a := rec0.Region, rec0.Amount
	l0 := line(t, s, rec0.VoucherID, rec0.Product)
	fig0 := figures(t, s, region)
	j0 := CheckJournal(t, s, region)

	rec, err := reverse()
	must(t, err, "reversal of "+claimID)

	wantPostings := []settlement.Posting{{Account: settlement.VoucherAccount(rec0.VoucherID, rec0.Product), Amount: a}}
	wantLine := l0
	wantLine.Remaining += a
	wantLine.UnitsClaimed -= rec0.Units
	wantFig := fig0
	wantFig.Claims--
	wantFig.Remaining += a
	wantFig.Free += a
	if l0.Reserved {
		wantLine.Committed += a
		wantFig.Committed += a
		wantFig.Free -= a
		wantPostings = append(wantPostings,
			settlement.Posting{Account: settlement.VoucherCommittedAccount(rec0.VoucherID, rec0.Product), Amount: a},
			settlement.Posting{Account: settlement.RegionAccount(region, "committed"), Amount: a})
	}
	if rec0.State == settlement.StateHeld {
		wantFig.Held -= a
		wantPostings = append(wantPostings, settlement.Posting{Account: settlement.RegionAccount(region, "held"), Amount: -a})
	} else {
		wantFig.Settled -= a
		wantFig.Paid -= rec0.Paid
		wantPostings = append(wantPostings,
			settlement.Posting{Account: settlement.RegionAccount(region, "settled"), Amount: -a},
			settlement.Posting{Account: settlement.RegionAccount(region, "paid"), Amount: -rec0.Paid},
			settlement.Posting{Account: settlement.ProviderAccount(region, agb, "claimed"), Amount: -a},
			settlement.Posting{Account: settlement.ProviderAccount(region, agb, "paid"), Amount: -rec0.Paid})
	}

	added := newEntries(t, s, region, j0)
	if len(added) != 1 {
		t.Fatalf("reversing %s added %d journal entries, want 1", claimID, len(added))
	}
	sameEntry(t, added[0], settlement.Entry{
		At: now.UTC(), Type: settlement.EntryReverse, ProviderAGB: agb, ClaimID: claimID,
		VoucherID: rec0.VoucherID, Product: rec0.Product, Amount: a, Reason: added[0].Reason, By: by,
		Postings: wantPostings,
	})
	if added[0].Reason == "" || rec.Reversal == nil || rec.Reversal.Reason != added[0].Reason {
		t.Fatalf("reverse entry of %s has reason %q, the claim's reversal %+v", claimID, added[0].Reason, rec.Reversal)
	}
	if l := line(t, s, rec0.VoucherID, rec0.Product); l != wantLine {
		t.Fatalf("line after reversing %s: %+v, want %+v", claimID, l, wantLine)
	}
	if fig := figures(t, s, region); fig != wantFig {
		t.Fatalf("figures after reversing %s = %+v, want %+v", claimID, fig, wantFig)
	}
	if rec.State != settlement.StateReversed || rec.Paid != 0 || rec.HeldSeq != 0 || rec.Reversal == nil ||
		rec.Reversal.By != by || rec.Reversal.JournalSeq != added[0].Seq || !rec.Reversal.At.Equal(now) {
		t.Fatalf("Reverse %s returned %+v (reversal %+v)", claimID, rec, rec.Reversal)
	}
	stored := claimRecord(t, s, agb, claimID)
	if stored.State != settlement.StateReversed || stored.Reversal == nil || stored.Reversal.JournalSeq != added[0].Seq {
		t.Fatalf("claim %s after its reversal: %+v", claimID, stored)
	}
	if diff := DiffDecision(stored.Decision, rec0.Decision); diff != "" {
		t.Fatalf("the reversal of %s changed its decision: %s", claimID, diff)
	}
	d, err := s.Decision(ctx, agb, claimID)
	must(t, err, "Decision")
	if diff := DiffDecision(d, rec0.Decision); diff != "" {
		t.Fatalf("Decision of reversed %s: %s", claimID, diff)
	}
	snap := TakeSnapshot(t, s, rec0.VoucherID)
	again, replay, err := s.Settle(ctx, claimOf(rec0.Decision), now)
	must(t, err, "Settle the reversed claim again")
	if diff := DiffDecision(again, rec0.Decision); !replay || diff != "" {
		t.Fatalf("retry of reversed %s: replay %v, %s", claimID, replay, diff)
	}
	if diff := snap.Diff(TakeSnapshot(t, s, rec0.VoucherID)); diff != "" {
		t.Fatalf("retry of reversed %s changed state:\n%s", claimID, diff)
	}
	return rec
}

// claimOf is the claim a decision answered.
func claimOf(d settlement.Decision) settlement.Claim {
	return settlement.Claim{
		ProviderAGB: d.ProviderAGB, ClaimID: d.ClaimID, VoucherID: d.VoucherID, Product: d.Product,
		From: d.From, To: d.To, Units: d.Units, UnitPrice: d.UnitPrice,
	}
}
