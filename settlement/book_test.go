package settlement_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/voucher"
)

var bookAt = time.Date(2026, 4, 1, 9, 30, 0, 0, time.FixedZone("CEST", 2*3600))

func wantPostings(t *testing.T, e settlement.Entry, want ...settlement.Posting) {
	t.Helper()
	if !reflect.DeepEqual(e.Postings, want) {
		t.Fatalf("%s postings = %+v\nwant %+v", e.Type, e.Postings, want)
	}
}

func wantUTC(t *testing.T, e settlement.Entry) {
	t.Helper()
	if !e.At.Equal(bookAt) || e.At.Location() != time.UTC {
		t.Fatalf("%s entry at %v, want %v in UTC", e.Type, e.At, bookAt)
	}
}

// heldRecord is a claim of 60.00 (one hour) held in r1.
func heldRecord() *settlement.ClaimRecord {
	d := acceptedDecision("h1", 6000)
	d.Status, d.Units, d.JournalSeq = settlement.Held, 100, 7
	return &settlement.ClaimRecord{Decision: d, State: settlement.StateHeld, HeldSeq: 7}
}

func TestBook_Issue(t *testing.T) {
	v := &voucher.Voucher{ID: "v1", Region: "r1", Lines: []voucher.Line{
		{Product: "H300", MaxAmount: 200000, Remaining: 200000},
		{Product: "F125", MaxAmount: 4500, Remaining: 4500},
	}}
	e := settlement.IssueEntry(v, bookAt)
	wantUTC(t, e)
	if e.Type != settlement.EntryIssue || e.Region != "r1" || e.VoucherID != "v1" || e.Amount != 204500 {
		t.Fatalf("issue entry = %+v", e)
	}
	wantPostings(t, e, settlement.Posting{Account: "voucher:v1:H300", Amount: 200000}, settlement.Posting{Account: "voucher:v1:F125", Amount: 4500})
}

func TestBook_Release(t *testing.T) {
	t.Run("a held claim becomes settled and payable", func(t *testing.T) {
		rec := heldRecord()
		r := &settlement.RegionState{Region: settlement.Region{ID: "r1", Budget: 10000, Policy: settlement.Policy{Kind: settlement.Hold, HoldThreshold: 10000}},
			Settled: 9000, Held: 6000, Paid: 9000, Claims: 3}
		pt := &settlement.ProviderTotals{Claimed: 9000, Paid: 9000}
		e := settlement.BookRelease(rec, r, pt, "funder:zk1", bookAt)
		wantUTC(t, e)
		if e.Type != settlement.EntryRelease || e.ClaimID != "h1" || e.ProviderAGB != "10000001" || e.VoucherID != "v1" ||
			e.Product != "H300" || e.Amount != 6000 || e.By != "funder:zk1" {
			t.Fatalf("release entry = %+v", e)
		}
		wantPostings(t, e,
			settlement.Posting{Account: "region:r1:held", Amount: -6000},
			settlement.Posting{Account: "region:r1:settled", Amount: 6000},
			settlement.Posting{Account: "region:r1:paid", Amount: 6000},
			settlement.Posting{Account: "region:r1:provider:10000001:claimed", Amount: 6000},
			settlement.Posting{Account: "region:r1:provider:10000001:paid", Amount: 6000})
		if r.Held != 0 || r.Settled != 15000 || r.Paid != 15000 || r.Claims != 3 || pt.Claimed != 15000 || pt.Paid != 15000 {
			t.Fatalf("after the release: region %+v, provider %+v", r, pt)
		}
		if rec.State != settlement.StateSettled || rec.Paid != 6000 || rec.HeldSeq != 0 || rec.Decision.Status != settlement.Held {
			t.Fatalf("record after the release: %+v (the decision stays held)", rec)
		}
	})

	t.Run("under prorata the provisional share is paid", func(t *testing.T) {
		rec := heldRecord()
		rec.Amount = 1001
		r := &settlement.RegionState{Region: settlement.Region{ID: "r1", Policy: settlement.Policy{Kind: settlement.ProRata, ProvisionalRate: 8550}}, Held: 1001}
		pt := &settlement.ProviderTotals{}
		e := settlement.BookRelease(rec, r, pt, "f", bookAt)
		if rec.Paid != 856 || r.Paid != 856 || pt.Paid != 856 || pt.Claimed != 1001 || r.Settled != 1001 {
			t.Fatalf("released under prorata: record paid %s, region %+v, provider %+v", rec.Paid, r, pt)
		}
		if e.Postings[2] != (settlement.Posting{Account: "region:r1:paid", Amount: 856}) {
			t.Fatalf("paid posting %+v", e.Postings[2])
		}
	})
}

func TestBook_Reversal(t *testing.T) {
	newVoucher := func(reserved bool) *voucher.Voucher {
		l := voucher.Line{Product: "H300", MaxAmount: 200000, Remaining: 194000, UnitsClaimed: 300, ClaimedThrough: 500}
		if reserved {
			l.Reserved, l.Committed = true, 194000
		}
		return &voucher.Voucher{ID: "v1", Region: "r1", Lines: []voucher.Line{l}}
	}

	t.Run("settled, on a reserved line", func(t *testing.T) {
		d := acceptedDecision("c1", 6000)
		d.Units, d.Payable = 100, 5130
		rec := &settlement.ClaimRecord{Decision: d, State: settlement.StateSettled, Paid: 5130}
		v := newVoucher(true)
		r := &settlement.RegionState{Region: settlement.Region{ID: "r1"}, Settled: 6000, Paid: 5130, Committed: 194000, Claims: 1}
		pt := &settlement.ProviderTotals{Claimed: 6000, Paid: 5130}
		e := settlement.BookReversal(rec, v, r, pt, "dubbel", "provider:10000001", bookAt)
		wantUTC(t, e)
		if e.Type != settlement.EntryReverse || e.ClaimID != "c1" || e.Amount != 6000 || e.Reason != "dubbel" || e.By != "provider:10000001" {
			t.Fatalf("reverse entry = %+v", e)
		}
		wantPostings(t, e,
			settlement.Posting{Account: "voucher:v1:H300", Amount: 6000},
			settlement.Posting{Account: "voucher:v1:H300:committed", Amount: 6000},
			settlement.Posting{Account: "region:r1:committed", Amount: 6000},
			settlement.Posting{Account: "region:r1:settled", Amount: -6000},
			settlement.Posting{Account: "region:r1:paid", Amount: -5130},
			settlement.Posting{Account: "region:r1:provider:10000001:claimed", Amount: -6000},
			settlement.Posting{Account: "region:r1:provider:10000001:paid", Amount: -5130})
		l := v.Line("H300")
		if l.Remaining != 200000 || l.Committed != 200000 || l.UnitsClaimed != 200 || !l.Reserved {
			t.Fatalf("line after the reversal: %+v", l)
		}
		if r.Settled != 0 || r.Paid != 0 || r.Committed != 200000 || r.Claims != 0 || pt.Claimed != 0 || pt.Paid != 0 {
			t.Fatalf("after the reversal: region %+v, provider %+v", r, pt)
		}
		if rec.State != settlement.StateReversed || rec.Paid != 0 || rec.Reversal == nil ||
			rec.Reversal.Reason != "dubbel" || rec.Reversal.By != "provider:10000001" || !rec.Reversal.At.Equal(bookAt) ||
			rec.Decision.Status != settlement.Accepted {
			t.Fatalf("record after the reversal: %+v, reversal %+v", rec, rec.Reversal)
		}
	})

	t.Run("held, on a line no longer reserved", func(t *testing.T) {
		rec := heldRecord()
		v := newVoucher(false)
		r := &settlement.RegionState{Region: settlement.Region{ID: "r1"}, Settled: 9000, Held: 6000, Paid: 9000, Claims: 2}
		pt := &settlement.ProviderTotals{Claimed: 9000, Paid: 9000}
		e := settlement.BookReversal(rec, v, r, pt, "fout", "funder:zk1", bookAt)
		wantPostings(t, e,
			settlement.Posting{Account: "voucher:v1:H300", Amount: 6000},
			settlement.Posting{Account: "region:r1:held", Amount: -6000})
		if l := v.Line("H300"); l.Remaining != 200000 || l.Committed != 0 || l.Reserved {
			t.Fatalf("line after the reversal: %+v", l)
		}
		if r.Held != 0 || r.Settled != 9000 || r.Paid != 9000 || r.Claims != 1 || *pt != (settlement.ProviderTotals{Claimed: 9000, Paid: 9000}) {
			t.Fatalf("after reversing a held claim: region %+v, provider %+v", r, pt)
		}
		if rec.State != settlement.StateReversed || rec.HeldSeq != 0 {
			t.Fatalf("record: %+v", rec)
		}
	})
}

func TestBook_Reserve(t *testing.T) {
	v := &voucher.Voucher{ID: "v1", Region: "r1", Lines: []voucher.Line{{Product: "H300", MaxAmount: 200000, Remaining: 150000}}}
	r := &settlement.RegionState{Region: settlement.Region{ID: "r1"}, Committed: 1000}
	e, ok := settlement.BookReserve(v, "H300", r, bookAt)
	if !ok {
		t.Fatal("BookReserve of an unreserved line: not ok")
	}
	wantUTC(t, e)
	if e.Type != settlement.EntryReserve || e.VoucherID != "v1" || e.Product != "H300" || e.Amount != 150000 {
		t.Fatalf("reserve entry = %+v", e)
	}
	wantPostings(t, e, settlement.Posting{Account: "voucher:v1:H300:committed", Amount: 150000}, settlement.Posting{Account: "region:r1:committed", Amount: 150000})
	if l := v.Line("H300"); !l.Reserved || l.Committed != 150000 || r.Committed != 151000 {
		t.Fatalf("after reserving: line %+v, region committed %s", l, r.Committed)
	}

	t.Run("a reserved line is not reserved twice", func(t *testing.T) {
		before, rBefore := v.Lines[0], *r
		if _, ok := settlement.BookReserve(v, "H300", r, bookAt); ok || v.Lines[0] != before || *r != rBefore {
			t.Fatalf("second BookReserve: ok %v, line %+v, region %+v", ok, v.Lines[0], r)
		}
		if _, ok := settlement.BookReserve(v, "F125", r, bookAt); ok || *r != rBefore {
			t.Fatalf("BookReserve of a product not on the voucher: ok %v", ok)
		}
	})

	t.Run("unreserve releases what is committed", func(t *testing.T) {
		v.Lines[0].Committed = 90000 // claims used part of it
		r.Committed = 91000
		e, ok := settlement.BookUnreserve(v, "H300", r, bookAt)
		if !ok {
			t.Fatal("BookUnreserve of a reserved line: not ok")
		}
		wantUTC(t, e)
		if e.Type != settlement.EntryUnreserve || e.Amount != 90000 || e.VoucherID != "v1" || e.Product != "H300" {
			t.Fatalf("unreserve entry = %+v", e)
		}
		wantPostings(t, e, settlement.Posting{Account: "voucher:v1:H300:committed", Amount: -90000}, settlement.Posting{Account: "region:r1:committed", Amount: -90000})
		if l := v.Line("H300"); l.Reserved || l.Committed != 0 || l.Remaining != 150000 || r.Committed != 1000 {
			t.Fatalf("after unreserving: line %+v, region committed %s", l, r.Committed)
		}
		if _, ok := settlement.BookUnreserve(v, "H300", r, bookAt); ok || r.Committed != 1000 {
			t.Fatalf("second BookUnreserve: ok %v, committed %s", ok, r.Committed)
		}
		if _, ok := settlement.BookUnreserve(v, "F125", r, bookAt); ok {
			t.Fatal("BookUnreserve of a product not on the voucher: ok")
		}
	})
}

func TestBook_Revision(t *testing.T) {
	r := &settlement.RegionState{Region: settlement.Region{ID: "r1", Budget: 100000}, Revision: 3, Settled: 5000}
	eff := regie.Date(0).AddDays(20000)
	for _, step := range []struct {
		budget, delta regie.Cents
		version       int
	}{{250000, 150000, 4}, {50000, -200000, 5}, {50000, 0, 6}} {
		rev, e := settlement.BookRevision(r, step.budget, eff, "herschikking", "funder:zk1", bookAt)
		want := settlement.Revision{Region: "r1", Version: step.version, Budget: step.budget, Delta: step.delta,
			Effective: eff, Reason: "herschikking", By: "funder:zk1", At: bookAt.UTC()}
		if rev != want || rev.At.Location() != time.UTC {
			t.Fatalf("revision = %+v, want %+v", rev, want)
		}
		wantUTC(t, e)
		if e.Type != settlement.EntryRevision || e.Amount != step.delta || e.Reason != "herschikking" || e.By != "funder:zk1" {
			t.Fatalf("revision entry = %+v", e)
		}
		wantPostings(t, e, settlement.Posting{Account: "region:r1:budget", Amount: step.delta})
		if r.Budget != step.budget || r.Revision != step.version || r.Settled != 5000 {
			t.Fatalf("region after the revision: %+v", r)
		}
	}
}

func TestBook_Policy(t *testing.T) {
	r := &settlement.RegionState{Region: settlement.Region{ID: "r1"}}
	p := settlement.Policy{Kind: settlement.Cap, DisputeDays: 7}
	e := settlement.BookPolicy(r, p, "funder:zk1", bookAt)
	p.Kind = settlement.Hold // the entry keeps what was set
	wantUTC(t, e)
	if e.Type != settlement.EntryPolicy || e.By != "funder:zk1" || e.Policy == nil || *e.Policy != (settlement.Policy{Kind: settlement.Cap, DisputeDays: 7}) ||
		len(e.Postings) != 0 || r.Policy.Kind != settlement.Cap {
		t.Fatalf("policy entry %+v (policy %+v), region policy %+v", e, e.Policy, r.Policy)
	}
}

func TestBook_Close(t *testing.T) {
	type prov struct {
		agb           string
		claimed, paid regie.Cents
		final         regie.Cents
	}
	tests := []struct {
		name             string
		budget, settled  regie.Cents
		providers        []prov
		rate             settlement.Rate
		paidAfter        regie.Cents
		sumWithin        regie.Cents // |Σ final − min(budget, settled)|
		wantNoAdjustment []string
	}{
		{name: "overrun, rounded half-up per provider", budget: 10000, settled: 14001,
			providers: []prov{{"A", 7001, 5986, 5000}, {"B", 7000, 5985, 5000}}, rate: 7142, sumWithin: 1},
		{name: "within budget: paid in full", budget: 100000, settled: 14001,
			providers: []prov{{"A", 7001, 5986, 7001}, {"B", 7000, 5985, 7000}}, rate: 10000},
		{name: "exactly the budget", budget: 14001, settled: 14001,
			providers: []prov{{"A", 7001, 7001, 7001}, {"B", 7000, 5985, 7000}}, rate: 10000, wantNoAdjustment: []string{"A"}},
		{name: "halves round up", budget: 5, settled: 10,
			providers: []prov{{"A", 3, 3, 2}, {"B", 7, 7, 4}}, rate: 5000, sumWithin: 1},
		{name: "pay that does not change gets no entry", budget: 5000, settled: 10000,
			providers: []prov{{"A", 6000, 3000, 3000}, {"B", 4000, 2000, 2000}, {"C", 0, 0, 0}}, rate: 5000, wantNoAdjustment: []string{"A", "B", "C"}},
		{name: "nothing settled", budget: 5000, settled: 0,
			providers: []prov{{"A", 0, 0, 0}}, rate: 10000, wantNoAdjustment: []string{"A"}},
		// claimed × budget is far beyond int64 here (≈ 6.3e29).
		{name: "large amounts", budget: 900_000_000_000_000, settled: 1_200_000_000_000_000,
			providers: []prov{{"A", 700_000_000_000_001, 0, 525_000_000_000_001}, {"B", 499_999_999_999_999, 0, 374_999_999_999_999}},
			rate:      7500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &settlement.RegionState{Region: settlement.Region{ID: "r1", Budget: tc.budget, Policy: settlement.Policy{Kind: settlement.ProRata, ProvisionalRate: 8550}},
				Settled: tc.settled}
			totals := map[string]*settlement.ProviderTotals{}
			var agbs []string
			for _, p := range tc.providers {
				totals[p.agb] = &settlement.ProviderTotals{Claimed: p.claimed, Paid: p.paid}
				agbs = append(agbs, p.agb)
				r.Paid += p.paid
			}
			closed, entries := settlement.BookClose(r, totals, agbs, "funder:zk1", bookAt)
			if closed.FinalRate != tc.rate || !r.Closed || r.FinalRate != tc.rate {
				t.Fatalf("final rate %s (region %s, closed %v), want %s", closed.FinalRate, r.FinalRate, r.Closed, tc.rate)
			}
			adjusted := map[string]settlement.Entry{}
			for _, e := range entries[:len(entries)-1] {
				if e.Type != settlement.EntryProRataAdjust {
					t.Fatalf("entry %+v before the close", e)
				}
				adjusted[e.ProviderAGB] = e
			}
			last := entries[len(entries)-1]
			if last.Type != settlement.EntryClose || last.By != "funder:zk1" || len(last.Postings) != 0 {
				t.Fatalf("last entry %+v, want the close", last)
			}
			wantUTC(t, last)
			var finals, paid regie.Cents
			listed := map[string]settlement.Adjustment{}
			for _, a := range closed.Adjustments {
				listed[a.ProviderAGB] = a
			}
			for _, p := range tc.providers {
				finals += p.final
				paid += p.final
				if got := totals[p.agb]; got.Paid != p.final || got.Claimed != p.claimed {
					t.Fatalf("provider %s after the close: %+v, want paid %s", p.agb, got, p.final)
				}
				adj := p.final - p.paid
				e, ok := adjusted[p.agb]
				if adj == 0 {
					if ok {
						t.Fatalf("provider %s: an entry %+v for no change", p.agb, e)
					}
					continue
				}
				if !ok || e.Amount != adj || e.By != "funder:zk1" {
					t.Fatalf("provider %s: entry %+v, want an adjustment of %s", p.agb, e, adj)
				}
				wantUTC(t, e)
				wantPostings(t, e, settlement.Posting{Account: "region:r1:provider:" + p.agb + ":paid", Amount: adj}, settlement.Posting{Account: "region:r1:paid", Amount: adj})
				if want := (settlement.Adjustment{ProviderAGB: p.agb, Claimed: p.claimed, Paid: p.paid, Final: p.final, Amount: adj}); listed[p.agb] != want {
					t.Fatalf("adjustment of %s = %+v, want %+v", p.agb, listed[p.agb], want)
				}
			}
			if len(adjusted) != len(tc.providers)-len(tc.wantNoAdjustment) {
				t.Fatalf("%d adjustment entries for %d providers, %d unchanged", len(adjusted), len(tc.providers), len(tc.wantNoAdjustment))
			}
			if r.Paid != paid {
				t.Fatalf("region paid %s after the close, want %s", r.Paid, paid)
			}
			if d := finals - min(tc.budget, tc.settled); d < -tc.sumWithin || d > tc.sumWithin {
				t.Fatalf("final pays add up to %s, want %s within %s", finals, min(tc.budget, tc.settled), tc.sumWithin)
			}
		})
	}
}
