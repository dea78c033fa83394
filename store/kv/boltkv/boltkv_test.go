package boltkv_test

import (
	"path/filepath"
	"testing"

	"github.com/regie-nl/regie/store/kv"
	"github.com/regie-nl/regie/store/kv/boltkv"
	"github.com/regie-nl/regie/store/kv/kvtest"
)

func TestDB_Contract(t *testing.T) {
	kvtest.Run(t, func(t *testing.T) kv.DB {
		db, err := boltkv.Open(filepath.Join(t.TempDir(), "kv.db"))
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}
