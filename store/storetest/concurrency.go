package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store"
)

// result is what one concurrent Settle call returned.
type result struct {
	d      settlement.Decision
	replay bool
	err    error
}

// settleAll settles the claims concurrently, one goroutine each, released
// together, and returns the results in the order of claims.
func settleAll(t *testing.T, s store.Store, f *Fixture, claims []settlement.Claim) []result {
	t.Helper()
	ctx := t.Context()
	out := make([]result, len(claims))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range claims {
		if err := c.Validate(); err != nil {
			t.Fatalf("test claim %s is invalid: %v", c.ClaimID, err)
		}
		wg.Go(func() {
			<-start
			d, replay, err := s.Settle(ctx, c, f.Now)
			out[i] = result{d, replay, err}
		})
	}
	close(start)
	wg.Wait()
	return out
}

func testConcurrency(t *testing.T, o Opener) {
	t.Run("balance affords 37 of 64 claims", func(t *testing.T) {
		const goroutines, affordable = 64, 37
		s := o.fresh(t)
		f := NewFixture("a")
		probe := f.Claim("x", Day(0))
		amount, _ := probe.Amount()
		// Less than one more claim is left over, so that the last cent counts.
		line := &f.Voucher.Lines[0]
		line.MaxAmount = affordable*amount + amount - 1
		line.Remaining = line.MaxAmount
		f.Put(t, s)
		fig0, err := Figures(t.Context(), s, f.Region.ID)
		must(t, err, "Figures")
		// The journal holds the budget, the issue and the reservation already;
		// the claims take the next seq numbers.
		base := uint64(len(ReadJournal(t, s, f.Region.ID)))

		claims := make([]settlement.Claim, goroutines)
		for i := range claims {
			claims[i] = f.Claim(fmt.Sprintf("c-%02d", i), Day(i))
		}
		results := settleAll(t, s, f, claims)

		accepted, seqs := 0, map[uint64]bool{}
		for i, r := range results {
			switch {
			case r.err != nil:
				t.Errorf("claim %d: %v", i, r.err)
			case r.replay:
				t.Errorf("claim %d: a first decision reported as a replay", i)
			case r.d.Status == settlement.Accepted:
				accepted++
				if r.d.Amount != amount {
					t.Errorf("claim %d settled %s, want %s", i, r.d.Amount, amount)
				}
				if seqs[r.d.JournalSeq] || r.d.JournalSeq <= base || r.d.JournalSeq > base+affordable {
					t.Errorf("claim %d has journal seq %d (duplicate or out of %d..%d)", i, r.d.JournalSeq, base+1, base+affordable)
				}
				seqs[r.d.JournalSeq] = true
			case r.d.Reason != settlement.ReasonInsufficientBalance:
				t.Errorf("claim %d rejected for %q, want %q", i, r.d.Reason, settlement.ReasonInsufficientBalance)
			}
			if r.err == nil {
				rec, err := s.Decision(t.Context(), f.Provider.AGB, claims[i].ClaimID)
				must(t, err, "Decision")
				if diff := DiffDecision(rec, r.d); diff != "" {
					t.Errorf("claim %d: recorded decision differs from the answer: %s", i, diff)
				}
			}
		}
		if accepted != affordable {
			t.Errorf("%d claims accepted, want exactly %d", accepted, affordable)
		}
		v, err := s.Voucher(t.Context(), f.Voucher.ID)
		must(t, err, "Voucher")
		if got, want := v.Line(ProductHour).Remaining, amount-1; got != want {
			t.Errorf("line remaining %s, want %s", got, want)
		}
		fig, err := Figures(t.Context(), s, f.Region.ID)
		must(t, err, "Figures")
		if got, want := fig.Settled-fig0.Settled, regie.Cents(affordable)*amount; got != want {
			t.Errorf("region settled %s more, want %s", got, want)
		}
		if entries := CheckLedger(t, s, f.Region.ID, f.Voucher.ID); len(entries) != affordable {
			t.Errorf("journal has %d entries, want %d", len(entries), affordable)
		}
	})

	t.Run("retries of one claim debit once", func(t *testing.T) {
		const goroutines = 16
		s, f := o.withFixture(t, "a")
		c := f.Claim("c-retry", Day(7))
		claims := make([]settlement.Claim, goroutines)
		for i := range claims {
			claims[i] = c
		}
		results := settleAll(t, s, f, claims)
		firsts := 0
		for i, r := range results {
			if r.err != nil {
				t.Fatalf("call %d: %v", i, r.err)
			}
			if r.d.Status != settlement.Accepted {
				t.Fatalf("call %d: %s %s", i, r.d.Status, r.d.Reason)
			}
			if !r.replay {
				firsts++
			}
			if diff := DiffDecision(r.d, results[0].d); diff != "" {
				t.Errorf("call %d answered another decision than call 0: %s", i, diff)
			}
		}
		if firsts != 1 {
			t.Errorf("%d calls were not replays, want exactly 1", firsts)
		}
		v, err := s.Voucher(t.Context(), f.Voucher.ID)
		must(t, err, "Voucher")
		l := v.Line(ProductHour)
		if amount, _ := c.Amount(); l.MaxAmount-l.Remaining != amount {
			t.Errorf("line debited %s, want %s once", l.MaxAmount-l.Remaining, amount)
		}
		if entries := CheckLedger(t, s, f.Region.ID, f.Voucher.ID); len(entries) != 1 {
			t.Errorf("journal has %d entries, want 1", len(entries))
		}
	})

	t.Run("one claim id, two contents", func(t *testing.T) {
		const each = 8
		s, f := o.withFixture(t, "a")
		a := f.Claim("c-dup", Day(7))
		b := a
		b.Units = 2 * regie.UnitScale
		var claims []settlement.Claim
		for range each {
			claims = append(claims, a, b)
		}
		results := settleAll(t, s, f, claims)
		var winner *settlement.Claim
		firsts, conflicts := 0, map[regie.Units]int{}
		for i, r := range results {
			switch {
			case r.err != nil:
				wantErr(t, r.err, regie.Conflict, "claim_id_conflict")
				conflicts[claims[i].Units]++
			case r.d.Status != settlement.Accepted:
				t.Fatalf("call %d: %s %s", i, r.d.Status, r.d.Reason)
			default:
				if !r.replay {
					firsts++
				}
				if winner == nil {
					winner = &claims[i]
				}
				if claims[i].Units != winner.Units || r.d.Units != winner.Units {
					t.Fatalf("both contents were accepted under one claim id")
				}
			}
		}
		if winner == nil {
			t.Fatal("neither content was accepted")
		}
		if firsts != 1 || len(conflicts) != 1 || conflicts[winner.Units] != 0 {
			t.Errorf("%d first decisions and conflicts %v, want 1 first decision and only the other content in conflict", firsts, conflicts)
		}
		for _, n := range conflicts {
			if n != each {
				t.Errorf("%d conflicts, want %d", n, each)
			}
		}
		rec, err := s.Decision(t.Context(), f.Provider.AGB, "c-dup")
		must(t, err, "Decision")
		if rec.Units != winner.Units {
			t.Errorf("recorded decision has units %s, want the winner's %s", rec.Units, winner.Units)
		}
		v, err := s.Voucher(t.Context(), f.Voucher.ID)
		must(t, err, "Voucher")
		l := v.Line(ProductHour)
		if amount, _ := winner.Amount(); l.MaxAmount-l.Remaining != amount {
			t.Errorf("line debited %s, want %s once", l.MaxAmount-l.Remaining, amount)
		}
		if entries := CheckLedger(t, s, f.Region.ID, f.Voucher.ID); len(entries) != 1 {
			t.Errorf("journal has %d entries, want 1", len(entries))
		}
	})

	t.Run("one day claimed under 16 ids", func(t *testing.T) {
		const goroutines = 16
		s, f := o.withFixture(t, "a")
		claims := make([]settlement.Claim, goroutines)
		for i := range claims {
			claims[i] = f.Claim(fmt.Sprint("c-", i), Day(3))
			if i%2 == 1 { // half of them over a longer period that contains the day
				claims[i] = period(claims[i], Day(1), Day(5))
			}
		}
		accepted := 0
		for i, r := range settleAll(t, s, f, claims) {
			switch {
			case r.err != nil:
				t.Errorf("claim %d: %v", i, r.err)
			case r.d.Status == settlement.Accepted:
				accepted++
			case r.d.Reason != settlement.ReasonPeriodOverlap:
				t.Errorf("claim %d rejected for %q, want %q", i, r.d.Reason, settlement.ReasonPeriodOverlap)
			}
		}
		if accepted != 1 {
			t.Errorf("%d claims for one day accepted, want exactly 1", accepted)
		}
		if entries := CheckLedger(t, s, f.Region.ID, f.Voucher.ID); len(entries) != 1 {
			t.Errorf("journal has %d entries, want 1", len(entries))
		}
	})

	t.Run("volume of one week, claimed concurrently", func(t *testing.T) {
		// Seven claims of 2 hours in the first week, which holds 10: whatever
		// the order, exactly five fit.
		const each = 2 * regie.UnitScale
		s, f := o.withFixture(t, "a")
		claims := make([]settlement.Claim, 7)
		for i := range claims {
			claims[i] = f.Claim(fmt.Sprint("c-", i), Day(i))
			claims[i].Units = each
		}
		accepted := 0
		for i, r := range settleAll(t, s, f, claims) {
			switch {
			case r.err != nil:
				t.Errorf("claim %d: %v", i, r.err)
			case r.d.Status == settlement.Accepted:
				accepted++
			case r.d.Reason != settlement.ReasonUnitsAboveVolume:
				t.Errorf("claim %d rejected for %q, want %q", i, r.d.Reason, settlement.ReasonUnitsAboveVolume)
			}
		}
		if want := int(HoursPerWeek / each); accepted != want {
			t.Errorf("%d claims accepted, want exactly %d", accepted, want)
		}
		v, err := s.Voucher(t.Context(), f.Voucher.ID)
		must(t, err, "Voucher")
		if got := v.Line(ProductHour).UnitsClaimed; got != regie.Units(accepted)*each {
			t.Errorf("units claimed %s, want %s", got, regie.Units(accepted)*each)
		}
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
	})

	t.Run("two regions, many vouchers", func(t *testing.T) {
		const vouchers, days = 4, 8
		s := o.fresh(t)
		fa, fb := NewFixture("a"), NewFixture("b")
		fa.Put(t, s)
		fb.Put(t, s)
		var claims []settlement.Claim
		ids := map[*Fixture][]string{}
		for _, f := range []*Fixture{fa, fb} {
			ids[f] = []string{f.Voucher.ID}
			for n := range vouchers - 1 {
				ids[f] = append(ids[f], f.AddVoucher(t, s, fmt.Sprintf("v-%s-%d", f.Name, n)).ID)
			}
			for _, id := range ids[f] {
				for d := range days {
					claims = append(claims, f.ClaimOn(id, fmt.Sprintf("c-%s-%d", id, d), Day(d)))
				}
			}
		}
		for i, r := range settleAll(t, s, fa, claims) {
			if r.err != nil || r.d.Status != settlement.Accepted {
				t.Errorf("claim %d: %v %s %s", i, r.err, r.d.Status, r.d.Reason)
			}
		}
		for _, f := range []*Fixture{fa, fb} {
			if entries := CheckLedger(t, s, f.Region.ID, ids[f]...); len(entries) != vouchers*days {
				t.Errorf("region %s: %d journal entries, want %d", f.Region.ID, len(entries), vouchers*days)
			}
		}
	})
}
