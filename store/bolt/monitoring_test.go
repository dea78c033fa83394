package bolt_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/bolt"
	"github.com/regie-nl/regie/store/storetest"
	bbolt "go.etcd.io/bbolt"
)

// A file written before monitoring existed has no tallies and no claim index:
// Open builds them once from the journal and the recorded claims.
func TestDB_MonitoringMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "regie.db")
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := storetest.NewFixture("old")
	f.Put(t, db)
	for d := 1; d <= 6; d++ {
		if _, _, err := db.Settle(t.Context(), f.Claim(fmt.Sprintf("c%d", d), storetest.Day(d)), storetest.Noon(storetest.Day(d+1))); err != nil {
			t.Fatal(err)
		}
	}
	// A rejected claim (its day lies ahead), which only the index finds.
	if d, _, err := db.Settle(t.Context(), f.Claim("early", storetest.Day(100)), storetest.Noon(storetest.Day(9))); err != nil || d.Status != settlement.Rejected {
		t.Fatal(d.Status, err)
	}
	if _, err := db.Reverse(t.Context(), f.Provider.AGB, "c3", "fout", "x", storetest.Noon(storetest.Day(9))); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// Take the file back to before monitoring.
	raw, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = raw.Update(func(tx *bbolt.Tx) error {
		for _, name := range []string{"monitor", "rejected_claims", "alerts"} {
			if err := tx.DeleteBucket([]byte(name)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Delete([]byte("monitoring_v1"))
	})
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}

	db, err = bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t.Run("the tallies are rebuilt from the journal", func(t *testing.T) {
		days := storetest.CheckTallies(t, db, f.Region.ID)
		if len(days) < 7 {
			t.Errorf("%d days rebuilt, want at least 7", len(days))
		}
	})
	t.Run("the rejected claims are indexed by region", func(t *testing.T) {
		var ids []string
		err := db.ExportClaims(t.Context(), f.Region.ID, 0, 0, func(r settlement.ClaimRecord) error { ids = append(ids, r.ClaimID); return nil })
		if err != nil || len(ids) != 7 || ids[6] != "early" {
			t.Fatalf("ExportClaims: %v, %v; want c1…c6 and early", ids, err)
		}
	})
}
