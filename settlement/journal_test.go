package settlement_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
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
		e := settlement.SettleEntry(acceptedDecision("c"+string(rune('a'+i)), int64(1000*(i+1))), at.Add(time.Duration(i)*time.Minute))
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

func TestSettleEntry(t *testing.T) {
	at := time.Date(2026, 3, 15, 11, 0, 0, 0, time.FixedZone("CET", 3600))
	e := settlement.SettleEntry(acceptedDecision("c1", 96000), at)
	if e.Region != "r1" || e.Type != "settle" || e.ProviderAGB != "10000001" || e.ClaimID != "c1" ||
		e.VoucherID != "v1" || e.Product != "H300" || e.Amount != 96000 {
		t.Errorf("entry = %+v", e)
	}
	if e.At.Location() != time.UTC || !e.At.Equal(at) {
		t.Errorf("At = %v, want %v in UTC", e.At, at)
	}
	want := []settlement.Posting{
		{Account: "voucher:v1:H300", Amount: -96000},
		{Account: "region:r1:settled", Amount: 96000},
		{Account: "provider:10000001:payable", Amount: 96000},
	}
	if len(e.Postings) != len(want) {
		t.Fatalf("postings = %+v", e.Postings)
	}
	for i := range want {
		if e.Postings[i] != want[i] {
			t.Errorf("posting %d = %+v, want %+v", i, e.Postings[i], want[i])
		}
	}
	if settlement.VoucherAccount("v1", "H300") != want[0].Account ||
		settlement.RegionAccount("r1") != want[1].Account ||
		settlement.ProviderAccount("10000001") != want[2].Account {
		t.Error("account names differ from the postings")
	}
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
		{"posting amount", func(e *settlement.Entry) { e.Postings[2].Amount = 1 }},
		{"posting account", func(e *settlement.Entry) { e.Postings[2].Account = "provider:99999999:payable" }},
		{"dropped posting", func(e *settlement.Entry) { e.Postings = e.Postings[:2] }},
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
