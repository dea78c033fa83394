package redis_test

import (
	"os"
	"testing"

	"github.com/regie-nl/regie/store/kv/rediskv"
	"github.com/regie-nl/regie/store/kvstore"
	"github.com/regie-nl/regie/store/redis/redistest"
	"github.com/regie-nl/regie/store/storetest"
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
			var commits0 int64
			var cs0 kvstore.CommitStats
			storetest.BenchSettle(b, mode, db, func() {
				commits0, _ = db.KV().(*rediskv.DB).Stats()
				cs0 = db.CommitStats()
			})
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
