package redis_test

import (
	"context"
	"os"
	"testing"

	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/kv/rediskv"
	"github.com/regie-nl/regie/store/redis/redistest"
	"github.com/regie-nl/regie/store/storetest"
	"github.com/regie-nl/regie/voucher"
)

// benchServer starts a server for one benchmark, with the persistence named
// by REGIE_BENCH_FSYNC: "always" (default), "everysec" or "none".
func benchServer(b *testing.B) *redistest.Server {
	cfg := redistest.Config{AppendOnly: true, AppendFsync: "always"}
	switch os.Getenv("REGIE_BENCH_FSYNC") {
	case "everysec":
		cfg.AppendFsync = "everysec"
	case "none":
		cfg = redistest.Config{}
	}
	return redistest.StartT(b, cfg)
}

// BenchmarkDB_Settle settles one claim per call, serially and from 64
// goroutines, on a Redis server of its own; the same claims as the bolt
// store's benchmark of the same name.
func BenchmarkDB_Settle(b *testing.B) {
	for _, mode := range []string{"serial", "parallel"} {
		b.Run(mode, func(b *testing.B) {
			srv := benchServer(b)
			db := open(b, srv.URL())
			b.Cleanup(func() { db.Close() })
			f := storetest.NewFixture("bench")
			f.Put(b, db)
			claim := storetest.BenchClaims(b.N, f, func(v *voucher.Voucher, ch *matching.Choice) {
				if err := db.CreateVoucher(b.Context(), v, "t"); err != nil {
					b.Fatal(err)
				}
				storetest.AcceptChoice(b, db, ch)
			})
			settle := func(i int) {
				d, _, err := db.Settle(context.Background(), claim(i), f.Now)
				if err != nil || d.Status != settlement.Accepted {
					b.Errorf("claim %d: %v %s %s", i, err, d.Status, d.Reason)
				}
			}
			commits0, _ := db.KV().(*rediskv.DB).Stats()
			cs0 := db.CommitStats()
			storetest.RunSettles(b, mode, settle)
			commits, conflicts := db.KV().(*rediskv.DB).Stats()
			cs := db.CommitStats()
			if n := cs.Batches - cs0.Batches; n > 0 {
				b.ReportMetric(float64(cs.Settlements-cs0.Settlements)/float64(n), "claims/commit")
			}
			b.ReportMetric(float64(commits-commits0), "scripts")
			b.ReportMetric(float64(conflicts), "conflicts")
		})
	}
}

// BenchmarkDB_SettleBatch settles claims through the bulk path, 1,000 lines
// per SettleBatch call.
func BenchmarkDB_SettleBatch(b *testing.B) {
	db := open(b, benchServer(b).URL())
	b.Cleanup(func() { db.Close() })
	storetest.BenchSettleBatch(b, db)
}
