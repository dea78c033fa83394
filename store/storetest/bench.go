package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store"
	"github.com/regie-nl/regie/voucher"
)

// BenchClaims makes enough vouchers of f, each with a choice of f's
// provider (add stores them), for n one-day claims, and returns the claim
// maker: claim i is accepted when claims 0..i−1 were. Every backend's
// benchmarks use it, so their figures compare.
func BenchClaims(n int, f *Fixture, add func(v *voucher.Voucher, ch *matching.Choice)) func(i int) settlement.Claim {
	days := ValidFrom.DaysThrough(ValidTo)
	var ids []string
	for len(ids)*days < n {
		v := f.NewVoucher(fmt.Sprintf("v-bench-%d", len(ids)))
		v.Lines[0].MaxAmount = 1_000_000_00
		v.Lines[0].Remaining = v.Lines[0].MaxAmount
		ch := f.NewChoice("ch-"+v.ID, v.ID, ProductHour, f.Provider.AGB)
		add(v, ch)
		ids = append(ids, v.ID)
	}
	return func(i int) settlement.Claim {
		return f.ClaimOn(ids[i/days], fmt.Sprint("c-", i), ValidFrom.AddDays(i%days))
	}
}

// RunSettles calls settle for claims 0..b.N−1, one at a time ("serial") or
// from 64 goroutines on two cores ("parallel"), and reports claims/s.
func RunSettles(b *testing.B, mode string, settle func(i int)) {
	b.ReportAllocs()
	b.ResetTimer()
	if mode == "serial" {
		for i := range b.N {
			settle(i)
		}
	} else {
		var next atomic.Int64
		b.SetParallelism(32)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				settle(int(next.Add(1) - 1))
			}
		})
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "claims/s")
}

// BenchSettle settles claims of fresh vouchers in s one per call, serially
// or from 64 goroutines (mode, see RunSettles), and reports claims/s. started,
// when not nil, runs after the setup, just before the timed settlements (for
// a backend to take its counters).
func BenchSettle(b *testing.B, mode string, s store.Store, started func()) {
	f := NewFixture("bench")
	f.Put(b, s)
	claim := BenchClaims(b.N, f, func(v *voucher.Voucher, ch *matching.Choice) {
		if err := s.CreateVoucher(b.Context(), v, "t"); err != nil {
			b.Fatal(err)
		}
		AcceptChoice(b, s, ch)
	})
	if started != nil {
		started()
	}
	RunSettles(b, mode, func(i int) {
		d, _, err := s.Settle(context.Background(), claim(i), f.Now)
		if err != nil || d.Status != settlement.Accepted {
			b.Errorf("claim %d: %v %s %s", i, err, d.Status, d.Reason)
		}
	})
}

// BenchSettleBatch settles claims of fresh vouchers in s through the bulk
// path, 1,000 lines per SettleBatch call, and reports lines/s.
func BenchSettleBatch(b *testing.B, s store.Store) {
	const lines = 1000
	f := NewFixture("bench")
	f.Put(b, s)
	claim := BenchClaims(b.N*lines, f, func(v *voucher.Voucher, ch *matching.Choice) {
		if err := s.CreateVoucher(b.Context(), v, "t"); err != nil {
			b.Fatal(err)
		}
		AcceptChoice(b, s, ch)
	})
	b.ReportAllocs()
	b.ResetTimer()
	for n := range b.N {
		batch := make([]settlement.Claim, lines)
		for i := range batch {
			batch[i] = claim(n*lines + i)
		}
		res, err := s.SettleBatch(context.Background(), batch, f.Now)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil || r.Decision.Status != settlement.Accepted {
				b.Fatalf("line %s: %v %s %s", r.Decision.ClaimID, r.Err, r.Decision.Status, r.Decision.Reason)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*lines)/b.Elapsed().Seconds(), "lines/s")
}
