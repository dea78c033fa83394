package storetest

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
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
