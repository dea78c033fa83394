// Package boltkv is kv.DB over one go.etcd.io/bbolt file: durable on commit
// (fsync), one writer at a time, readers on consistent snapshots.
package boltkv

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/regie-nl/regie/store/kv"
	bbolt "go.etcd.io/bbolt"
)

// DB is a bbolt file as a kv.DB.
type DB struct{ b *bbolt.DB }

// Open opens or creates the file at path, creating its directory.
func Open(path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("bolt: data directory: %w", err)
	}
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 2 * time.Second, FreelistType: bbolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	return &DB{b: b}, nil
}

// Update runs fn in one bbolt read-write transaction; fn runs once.
func (db *DB) Update(fn func(kv.Tx) error) error {
	return db.b.Update(func(tx *bbolt.Tx) error { return fn(txn{tx, db}) })
}

func (db *DB) View(fn func(kv.Tx) error) error {
	return db.b.View(func(tx *bbolt.Tx) error { return fn(txn{tx, db}) })
}

func (db *DB) Close() error { return db.b.Close() }

// WrittenPages is how many pages commits have written so far.
func (db *DB) WrittenPages() int64 {
	st := db.b.Stats()
	return st.TxStats.GetWrite()
}

// Bolt returns the bbolt file, for tests that inspect it.
func (db *DB) Bolt() *bbolt.DB { return db.b }

type txn struct {
	tx *bbolt.Tx
	db *DB
}

func (t txn) DB() kv.DB          { return t.db }
func (t txn) OnCommit(fn func()) { t.tx.OnCommit(fn) }
func (t txn) Bucket(name []byte) kv.Bucket {
	return wrap(t.tx.Bucket(name))
}
func (t txn) CreateBucket(name []byte) (kv.Bucket, error) {
	b, err := t.tx.CreateBucket(name)
	return wrap(b), err
}
func (t txn) CreateBucketIfNotExists(name []byte) (kv.Bucket, error) {
	b, err := t.tx.CreateBucketIfNotExists(name)
	return wrap(b), err
}
func (t txn) DeleteBucket(name []byte) error { return t.tx.DeleteBucket(name) }

// wrap returns nil (not a non-nil interface holding nil) for a missing bucket.
func wrap(b *bbolt.Bucket) kv.Bucket {
	if b == nil {
		return nil
	}
	return bucket{b}
}

type bucket struct{ b *bbolt.Bucket }

func (b bucket) Get(k []byte) []byte                       { return b.b.Get(k) }
func (b bucket) Put(k, v []byte) error                     { return b.b.Put(k, v) }
func (b bucket) Delete(k []byte) error                     { return b.b.Delete(k) }
func (b bucket) NextSequence() (uint64, error)             { return b.b.NextSequence() }
func (b bucket) Bucket(name []byte) kv.Bucket              { return wrap(b.b.Bucket(name)) }
func (b bucket) Cursor() kv.Cursor                         { return cursor{b.b.Cursor()} }
func (b bucket) ForEachBucket(fn func([]byte) error) error { return b.b.ForEachBucket(fn) }
func (b bucket) CreateBucketIfNotExists(name []byte) (kv.Bucket, error) {
	nb, err := b.b.CreateBucketIfNotExists(name)
	return wrap(nb), err
}

// ForEach skips nested buckets, as kv.Bucket says.
func (b bucket) ForEach(fn func(k, v []byte) error) error {
	return b.b.ForEach(func(k, v []byte) error {
		if v == nil {
			return nil
		}
		return fn(k, v)
	})
}

// cursor skips the keys of nested buckets (bbolt yields them with a nil value).
type cursor struct{ c *bbolt.Cursor }

func (c cursor) skip(k, v []byte, step func() ([]byte, []byte)) ([]byte, []byte) {
	for k != nil && v == nil {
		k, v = step()
	}
	return k, v
}
func (c cursor) First() ([]byte, []byte) { k, v := c.c.First(); return c.skip(k, v, c.c.Next) }
func (c cursor) Last() ([]byte, []byte)  { k, v := c.c.Last(); return c.skip(k, v, c.c.Prev) }
func (c cursor) Seek(s []byte) ([]byte, []byte) {
	k, v := c.c.Seek(s)
	return c.skip(k, v, c.c.Next)
}
func (c cursor) Next() ([]byte, []byte) { k, v := c.c.Next(); return c.skip(k, v, c.c.Next) }
func (c cursor) Prev() ([]byte, []byte) { k, v := c.c.Prev(); return c.skip(k, v, c.c.Prev) }
