package settlement_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/voucher"
)

func acceptedDecision(claimID string, amount int64) settlement.Decision {
	return settlement.Decision{
		ProviderAGB: "10000001", ClaimID: claimID, VoucherID: "v1", Product: "H300",
		Status: settlement.Accepted, Amount: regie.Cents(amount), Region: "r1",
	}
}

// sealedChain returns n entries sealed in order, as a store appends them.
func sealedChain(t *testing.T, n int) []settlement.Entry {
	t.Helper()
	at := time.Date(2026, 3, 15, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	var out []settlement.Entry
	prev := ""
	for i := 0; i < n; i++ {
		d := acceptedDecision("c"+string(rune('a'+i)), int64(1000*(i+1)))
		e := settlement.Entry{
			Region: d.Region, At: at.Add(time.Duration(i) * time.Minute), Type: settlement.EntrySettle,
			ProviderAGB: d.ProviderAGB, ClaimID: d.ClaimID, VoucherID: d.VoucherID, Product: d.Product, Amount: d.Amount,
			Postings: []settlement.Posting{{Account: settlement.VoucherAccount(d.VoucherID, d.Product), Amount: -d.Amount}},
		}
		if err := e.Seal(uint64(i+1), prev); err != nil {
			t.Fatal(err)
		}
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func checkChain(entries []settlement.Entry) error {
	prev := ""
	for _, e := range entries {
		if err := e.CheckSeal(prev); err != nil {
			return err
		}
		prev = e.Hash
	}
	return nil
}

func TestBookClaim(t *testing.T) {
	at := time.Date(2026, 3, 15, 11, 0, 0, 0, time.FixedZone("CET", 3600))
	newState := func(p settlement.Policy) (*voucher.Voucher, *settlement.RegionState) {
		v := &voucher.Voucher{ID: "v1", Region: "r1", Lines: []voucher.Line{
			{Product: "H300", MaxAmount: 200000, Remaining: 200000, Reserved: true, Committed: 50000},
		}}
		r := &settlement.RegionState{Region: settlement.Region{ID: "r1", Budget: 1000000, Policy: p}, Committed: 50000}
		return v, r
	}

	t.Run("accepted under monitor", func(t *testing.T) {
		v, r := newState(settlement.Policy{})
		d := acceptedDecision("c1", 96000)
		pt := &settlement.ProviderTotals{}
		e := settlement.BookClaim(&d, v, r, pt, at)
		if e.Type != settlement.EntrySettle || e.Amount != 96000 || !e.At.Equal(at) || e.At.Location() != time.UTC {
			t.Errorf("entry = %+v", e)
		}
		want := []settlement.Posting{
			{Account: "voucher:v1:H300", Amount: -96000},
			{Account: "voucher:v1:H300:committed", Amount: -50000},
			{Account: "region:r1:committed", Amount: -50000},
			{Account: "region:r1:settled", Amount: 96000},
			{Account: "region:r1:paid", Amount: 96000},
			{Account: "region:r1:provider:10000001:claimed", Amount: 96000},
			{Account: "region:r1:provider:10000001:paid", Amount: 96000},
		}
		if len(e.Postings) != len(want) {
			t.Fatalf("postings = %+v", e.Postings)
		}
		for i := range want {
			if e.Postings[i] != want[i] {
				t.Errorf("posting %d = %+v, want %+v", i, e.Postings[i], want[i])
			}
		}
		l := v.Line("H300")
		if l.Remaining != 104000 || l.Committed != 0 || r.Committed != 0 || r.Settled != 96000 || r.Paid != 96000 ||
			r.Claims != 1 || pt.Claimed != 96000 || pt.Paid != 96000 || d.Payable != 96000 || d.BeyondBudget {
			t.Errorf("after booking: line %+v, region %+v, provider %+v, decision %+v", l, r, pt, d)
		}
	})

	t.Run("prorata pays the provisional share, rounded half-up", func(t *testing.T) {
		v, r := newState(settlement.Policy{Kind: settlement.ProRata, ProvisionalRate: 8550})
		d := acceptedDecision("c1", 1001) // 85.5% of 10.01 is 8.55855 → 8.56
		pt := &settlement.ProviderTotals{}
		settlement.BookClaim(&d, v, r, pt, at)
		if d.Payable != 856 || r.Settled != 1001 || r.Paid != 856 || pt.Paid != 856 {
			t.Errorf("payable %s, settled %s, paid %s", d.Payable, r.Settled, r.Paid)
		}
	})

	t.Run("held is debited, not payable", func(t *testing.T) {
		v, r := newState(settlement.Policy{Kind: settlement.Hold, HoldThreshold: 10000})
		d := acceptedDecision("c1", 96000)
		d.Status = settlement.Held
		pt := &settlement.ProviderTotals{}
		e := settlement.BookClaim(&d, v, r, pt, at)
		if e.Type != settlement.EntryHold || r.Held != 96000 || r.Settled != 0 || r.Paid != 0 || d.Payable != 0 || pt.Claimed != 0 {
			t.Errorf("entry %s, region %+v, payable %s", e.Type, r, d.Payable)
		}
		if v.Line("H300").Remaining != 104000 {
			t.Errorf("remaining %s", v.Line("H300").Remaining)
		}
	})

	t.Run("beyond budget is marked", func(t *testing.T) {
		v, r := newState(settlement.Policy{})
		r.Settled = 950000
		d := acceptedDecision("c1", 96000)
		settlement.BookClaim(&d, v, r, &settlement.ProviderTotals{}, at)
		if !d.BeyondBudget {
			t.Error("settled 1046000 of a 1000000 budget is not marked beyond budget")
		}
	})
}

func TestEntry_Seal(t *testing.T) {
	t.Run("a sealed chain checks", func(t *testing.T) {
		chain := sealedChain(t, 4)
		for i, e := range chain {
			if e.Seq != uint64(i+1) || len(e.Hash) != 64 {
				t.Errorf("entry %d: seq %d hash %q", i, e.Seq, e.Hash)
			}
			if i > 0 && e.PrevHash != chain[i-1].Hash {
				t.Errorf("entry %d prev_hash is not the previous hash", i)
			}
		}
		if chain[0].PrevHash != "" {
			t.Errorf("first prev_hash = %q", chain[0].PrevHash)
		}
		if err := checkChain(chain); err != nil {
			t.Errorf("CheckSeal: %v", err)
		}
	})

	t.Run("sealing is deterministic", func(t *testing.T) {
		a, b := sealedChain(t, 2), sealedChain(t, 2)
		if a[1].Hash != b[1].Hash {
			t.Error("the same entries sealed twice give other hashes")
		}
	})

	t.Run("resealing replaces an old hash", func(t *testing.T) {
		e := sealedChain(t, 1)[0]
		old := e.Hash
		if err := e.Seal(1, ""); err != nil {
			t.Fatal(err)
		}
		if e.Hash != old {
			t.Error("Seal depends on the hash already in the entry")
		}
	})

	t.Run("survives a JSON round trip", func(t *testing.T) {
		chain := sealedChain(t, 3)
		var back []settlement.Entry
		for _, e := range chain {
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			var got settlement.Entry
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			back = append(back, got)
		}
		if err := checkChain(back); err != nil {
			t.Errorf("CheckSeal after JSON: %v", err)
		}
	})

	tamper := []struct {
		name   string
		change func(e *settlement.Entry)
	}{
		{"amount", func(e *settlement.Entry) { e.Amount++ }},
		{"posting amount", func(e *settlement.Entry) { e.Postings[0].Amount = 1 }},
		{"posting account", func(e *settlement.Entry) { e.Postings[0].Account = "voucher:v9:H300" }},
		{"dropped posting", func(e *settlement.Entry) { e.Postings = e.Postings[:0] }},
		{"provider", func(e *settlement.Entry) { e.ProviderAGB = "99999999" }},
		{"claim id", func(e *settlement.Entry) { e.ClaimID = "other" }},
		{"voucher", func(e *settlement.Entry) { e.VoucherID = "v2" }},
		{"product", func(e *settlement.Entry) { e.Product = "H531" }},
		{"type", func(e *settlement.Entry) { e.Type = "reverse" }},
		{"region", func(e *settlement.Entry) { e.Region = "r2" }},
		{"seq", func(e *settlement.Entry) { e.Seq = 7 }},
		{"time", func(e *settlement.Entry) { e.At = e.At.Add(time.Nanosecond) }},
		{"hash", func(e *settlement.Entry) { e.Hash = strings.Repeat("0", 64) }},
	}
	for _, tc := range tamper {
		t.Run("detects a changed "+tc.name, func(t *testing.T) {
			chain := sealedChain(t, 3)
			e := chain[1]
			e.Postings = append([]settlement.Posting(nil), e.Postings...)
			tc.change(&e)
			err := e.CheckSeal(chain[0].Hash)
			if err == nil {
				t.Fatal("CheckSeal accepted a changed entry")
			}
			if !strings.Contains(err.Error(), "does not match its hash") {
				t.Errorf("error = %v", err)
			}
		})
	}

	t.Run("detects a broken chain", func(t *testing.T) {
		chain := sealedChain(t, 3)
		// Someone changes entry 2 and seals it again: it checks on its own,
		// but entry 3 no longer follows it.
		forged := chain[1]
		forged.Amount = 1
		if err := forged.Seal(forged.Seq, forged.PrevHash); err != nil {
			t.Fatal(err)
		}
		if err := forged.CheckSeal(chain[0].Hash); err != nil {
			t.Fatalf("a resealed entry does not check: %v", err)
		}
		err := checkChain([]settlement.Entry{chain[0], forged, chain[2]})
		if err == nil || !strings.Contains(err.Error(), "chain broken") {
			t.Errorf("checkChain = %v, want a broken chain", err)
		}
	})

	t.Run("detects a removed entry", func(t *testing.T) {
		chain := sealedChain(t, 3)
		if err := checkChain([]settlement.Entry{chain[0], chain[2]}); err == nil {
			t.Error("a chain with a gap checks")
		}
	})

	t.Run("detects swapped entries", func(t *testing.T) {
		chain := sealedChain(t, 3)
		if err := checkChain([]settlement.Entry{chain[0], chain[2], chain[1]}); err == nil {
			t.Error("a reordered chain checks")
		}
	})

	t.Run("detects a wrong previous hash", func(t *testing.T) {
		chain := sealedChain(t, 2)
		if err := chain[1].CheckSeal(""); err == nil || !strings.Contains(err.Error(), "chain broken") {
			t.Errorf("CheckSeal = %v", err)
		}
		if err := chain[0].CheckSeal(chain[1].Hash); err == nil {
			t.Error("the first entry checks against another head")
		}
	})
}
