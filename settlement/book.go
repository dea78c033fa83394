package settlement

import (
	"math/big"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/voucher"
)

// The Book functions are the one description of what each change of money
// does. A store reads the records involved inside its transaction, calls the
// function, which changes them in memory and returns the journal entry, and
// then writes the records and the sealed entry in the same transaction. The
// postings of every entry move the stored balances by exactly the amounts the
// function changed them by.

// ProviderTotals are what one provider claimed and is paid in one region.
type ProviderTotals struct {
	Claimed regie.Cents `json:"claimed"`
	Paid    regie.Cents `json:"paid"`
}

// IssueEntry gives every line of a new voucher its maximum amount.
func IssueEntry(v *voucher.Voucher, at time.Time) Entry {
	e := Entry{Region: v.Region, At: at.UTC(), Type: EntryIssue, VoucherID: v.ID}
	for _, l := range v.Lines {
		e.Amount += l.MaxAmount
		e.Postings = append(e.Postings, Posting{VoucherAccount(v.ID, l.Product), l.MaxAmount})
	}
	return e
}

// payable is what the provider is paid now for a settled amount.
func payable(p Policy, amount regie.Cents) regie.Cents {
	if p.Kind == ProRata {
		return p.ProvisionalRate.Of(amount)
	}
	return amount
}

// BookClaim books an accepted or held decision: the voucher line pays the
// amount, the line's commitment (if any) turns into settled or held, and an
// accepted claim becomes payable. It sets d.Payable and d.BeyondBudget.
func BookClaim(d *Decision, v *voucher.Voucher, r *RegionState, pt *ProviderTotals, at time.Time) Entry {
	line := v.Line(d.Product)
	a := d.Amount
	line.Remaining -= a
	line.UnitsClaimed += d.Units
	line.ClaimedThrough = max(line.ClaimedThrough, d.To)
	e := Entry{
		Region: r.ID, At: at.UTC(), Type: EntrySettle, ProviderAGB: d.ProviderAGB, ClaimID: d.ClaimID,
		VoucherID: d.VoucherID, Product: d.Product, Amount: a,
		Postings: []Posting{{VoucherAccount(v.ID, d.Product), -a}},
	}
	if c := min(a, line.Committed); c > 0 {
		line.Committed -= c
		r.Committed -= c
		e.Postings = append(e.Postings,
			Posting{VoucherCommittedAccount(v.ID, d.Product), -c}, Posting{RegionAccount(r.ID, "committed"), -c})
	}
	r.Claims++
	if d.Status == Held {
		e.Type = EntryHold
		r.Held += a
		e.Postings = append(e.Postings, Posting{RegionAccount(r.ID, "held"), a})
	} else {
		d.Payable = payable(r.Policy, a)
		e.Postings = append(e.Postings, settle(r, pt, d.ProviderAGB, a, d.Payable)...)
	}
	d.BeyondBudget = r.Settled+r.Held > r.Budget
	return e
}

// settle adds a settled amount and what is paid for it to the region's and
// the provider's figures, and returns the postings.
func settle(r *RegionState, pt *ProviderTotals, agb string, amount, paid regie.Cents) []Posting {
	r.Settled += amount
	r.Paid += paid
	pt.Claimed += amount
	pt.Paid += paid
	return []Posting{
		{RegionAccount(r.ID, "settled"), amount}, {RegionAccount(r.ID, "paid"), paid},
		{ProviderAccount(r.ID, agb, "claimed"), amount}, {ProviderAccount(r.ID, agb, "paid"), paid},
	}
}

// BookRelease turns a held claim into a settled, payable one.
func BookRelease(rec *ClaimRecord, r *RegionState, pt *ProviderTotals, by string, at time.Time) Entry {
	a := rec.Amount
	r.Held -= a
	rec.State, rec.Paid, rec.HeldSeq = StateSettled, payable(r.Policy, a), 0
	e := Entry{
		Region: r.ID, At: at.UTC(), Type: EntryRelease, ProviderAGB: rec.ProviderAGB, ClaimID: rec.ClaimID,
		VoucherID: rec.VoucherID, Product: rec.Product, Amount: a, By: by,
		Postings: []Posting{{RegionAccount(r.ID, "held"), -a}},
	}
	e.Postings = append(e.Postings, settle(r, pt, rec.ProviderAGB, a, rec.Paid)...)
	return e
}

// BookReversal undoes a settled or held claim: the voucher line gets the
// amount and units back (and its commitment, while the line is reserved), and
// the region's and provider's figures go down by what the claim had added.
func BookReversal(rec *ClaimRecord, v *voucher.Voucher, r *RegionState, pt *ProviderTotals, reason, by string, at time.Time) Entry {
	a := rec.Amount
	line := v.Line(rec.Product)
	line.Remaining += a
	line.UnitsClaimed -= rec.Units
	e := Entry{
		Region: r.ID, At: at.UTC(), Type: EntryReverse, ProviderAGB: rec.ProviderAGB, ClaimID: rec.ClaimID,
		VoucherID: rec.VoucherID, Product: rec.Product, Amount: a, Reason: reason, By: by,
		Postings: []Posting{{VoucherAccount(v.ID, rec.Product), a}},
	}
	if line.Reserved {
		line.Committed += a
		r.Committed += a
		e.Postings = append(e.Postings,
			Posting{VoucherCommittedAccount(v.ID, rec.Product), a}, Posting{RegionAccount(r.ID, "committed"), a})
	}
	if rec.State == StateHeld {
		r.Held -= a
		e.Postings = append(e.Postings, Posting{RegionAccount(r.ID, "held"), -a})
	} else {
		e.Postings = append(e.Postings, settle(r, pt, rec.ProviderAGB, -a, -rec.Paid)...)
	}
	r.Claims--
	rec.State, rec.Paid, rec.HeldSeq = StateReversed, 0, 0
	rec.Reversal = &Reversal{Reason: reason, By: by, At: at.UTC()}
	return e
}

// BookReserve commits what remains of a voucher line on the region's budget.
// ok is false when the line is committed already (a second assignment of the
// same line, after a switch, takes over the commitment).
func BookReserve(v *voucher.Voucher, product string, r *RegionState, at time.Time) (e Entry, ok bool) {
	line := v.Line(product)
	if line == nil || line.Reserved {
		return Entry{}, false
	}
	line.Reserved, line.Committed = true, line.Remaining
	r.Committed += line.Remaining
	return Entry{
		Region: r.ID, At: at.UTC(), Type: EntryReserve, VoucherID: v.ID, Product: product, Amount: line.Remaining,
		Postings: []Posting{
			{VoucherCommittedAccount(v.ID, product), line.Remaining}, {RegionAccount(r.ID, "committed"), line.Remaining},
		},
	}, true
}

// BookUnreserve releases a voucher line's commitment when its assignment ends.
func BookUnreserve(v *voucher.Voucher, product string, r *RegionState, at time.Time) (e Entry, ok bool) {
	line := v.Line(product)
	if line == nil || !line.Reserved {
		return Entry{}, false
	}
	x := line.Committed
	line.Reserved, line.Committed = false, 0
	r.Committed -= x
	return Entry{
		Region: r.ID, At: at.UTC(), Type: EntryUnreserve, VoucherID: v.ID, Product: product, Amount: x,
		Postings: []Posting{
			{VoucherCommittedAccount(v.ID, product), -x}, {RegionAccount(r.ID, "committed"), -x},
		},
	}, true
}

// BookRevision sets a new budget as the region's next version.
func BookRevision(r *RegionState, budget regie.Cents, effective regie.Date, reason, by string, at time.Time) (Revision, Entry) {
	delta := budget - r.Budget
	r.Budget = budget
	r.Revision++
	rev := Revision{Region: r.ID, Version: r.Revision, Budget: budget, Delta: delta, Effective: effective, Reason: reason, By: by, At: at.UTC()}
	return rev, Entry{
		Region: r.ID, At: at.UTC(), Type: EntryRevision, Amount: delta, Reason: reason, By: by,
		Postings: []Posting{{RegionAccount(r.ID, "budget"), delta}},
	}
}

// BookPolicy records a change of the region's budget policy. A policy whose
// Effective day lies after the day of at is scheduled (it replaces an earlier
// schedule) and the current one holds until then; otherwise it holds at once
// and a schedule stays as it was. The entry carries the policy with its day.
func BookPolicy(r *RegionState, p Policy, by string, at time.Time) Entry {
	r.Roll(regie.DateOf(at))
	if p.Effective > regie.DateOf(at) {
		r.Scheduled = p
	} else {
		r.Policy = p
	}
	return Entry{Region: r.ID, At: at.UTC(), Type: EntryPolicy, By: by, Policy: &p}
}

// mulDivHalfUp is a × b / c rounded half-up, for non-negative a, b and
// positive c, computed without overflow.
func mulDivHalfUp(a, b, c regie.Cents) regie.Cents {
	n := new(big.Int).Mul(big.NewInt(int64(a)), big.NewInt(int64(b)))
	n.Mul(n, big.NewInt(2)).Add(n, big.NewInt(int64(c)))
	n.Quo(n, big.NewInt(2*int64(c)))
	return regie.Cents(n.Int64())
}

// BookClose runs the prorata year-end close over the region's providers: the
// final rate is min(1, budget / settled); each provider's final pay is its
// claimed amount × budget / settled, rounded half-up to cents, and the entry
// posts the difference with what it was paid provisionally. Providers whose
// pay does not change get no entry. The last entry closes the region.
func BookClose(r *RegionState, providers map[string]*ProviderTotals, agbs []string, by string, at time.Time) (Closed, []Entry) {
	out := Closed{FinalRate: 100 * RateScale}
	if r.Settled > r.Budget && r.Settled > 0 {
		out.FinalRate = Rate(int64(r.Budget) * 100 * RateScale / int64(r.Settled))
	}
	var entries []Entry
	for _, agb := range agbs {
		pt := providers[agb]
		final := pt.Claimed
		if r.Settled > r.Budget {
			final = mulDivHalfUp(pt.Claimed, r.Budget, r.Settled)
		}
		adj := final - pt.Paid
		out.Adjustments = append(out.Adjustments, Adjustment{ProviderAGB: agb, Claimed: pt.Claimed, Paid: pt.Paid, Final: final, Amount: adj})
		if adj == 0 {
			continue
		}
		pt.Paid += adj
		r.Paid += adj
		entries = append(entries, Entry{
			Region: r.ID, At: at.UTC(), Type: EntryProRataAdjust, ProviderAGB: agb, Amount: adj, By: by,
			Postings: []Posting{{ProviderAccount(r.ID, agb, "paid"), adj}, {RegionAccount(r.ID, "paid"), adj}},
		})
	}
	r.Closed, r.FinalRate = true, out.FinalRate
	entries = append(entries, Entry{Region: r.ID, At: at.UTC(), Type: EntryClose, By: by})
	return out, entries
}
