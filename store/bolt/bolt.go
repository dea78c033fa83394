// Package bolt is the embedded store: every regie store interface (package
// kvstore) on one go.etcd.io/bbolt file, durable on commit (fsync), so that
// `regie serve` runs with nothing else installed.
package bolt

import (
	"github.com/regie-nl/regie/store/kv/boltkv"
	"github.com/regie-nl/regie/store/kvstore"
)

// DB is the store; see package kvstore for its methods.
type DB = kvstore.DB

// Options tune the store's group commit; the zero value suits `regie serve`.
type Options = kvstore.Options

// CommitStats are totals over the store's group commits of settlements.
type CommitStats = kvstore.CommitStats

// Open opens or creates the store file at path, creating its directory.
func Open(path string, opts Options) (*DB, error) {
	b, err := boltkv.Open(path)
	if err != nil {
		return nil, err
	}
	db, err := kvstore.Open(b, opts)
	if err != nil {
		b.Close()
		return nil, err
	}
	return db, nil
}
