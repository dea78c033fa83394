// Package kv names the ordered, transactional key-value store that the regie
// store logic (package kvstore) runs on. Its shape is bbolt's: named buckets,
// nested buckets, byte keys in byte order, cursors and per-bucket sequences,
// so that the embedded backend (kv/boltkv) is a thin wrapper and the Redis
// backend (kv/rediskv) has one clear contract to meet.
//
// Backends differ in one way callers must respect: an optimistic backend may
// run the function given to Update more than once (when another process
// changed what it read), so that function must assign its results afresh on
// every run and do nothing outside the transaction but through OnCommit.
package kv

// DB is a transactional key-value store.
type DB interface {
	// Update runs fn in a read-write transaction and commits it when fn
	// returns nil; an error from fn rolls it back and is returned. fn may run
	// more than once (see the package comment). Writers in one process are
	// serialised.
	Update(fn func(Tx) error) error
	// View runs fn in a read-only transaction.
	View(fn func(Tx) error) error
	// Close releases the store; transactions after it fail.
	Close() error
}

// Tx is one transaction. Values returned by its reads are valid until it ends.
type Tx interface {
	// DB returns the store the transaction belongs to.
	DB() DB
	// Bucket returns a top-level bucket, or nil when there is none.
	Bucket(name []byte) Bucket
	// CreateBucket creates a top-level bucket; it fails when it exists.
	CreateBucket(name []byte) (Bucket, error)
	// CreateBucketIfNotExists returns a top-level bucket, creating it when needed.
	CreateBucketIfNotExists(name []byte) (Bucket, error)
	// DeleteBucket deletes a top-level bucket with its keys and nested buckets.
	DeleteBucket(name []byte) error
	// OnCommit runs fn after the transaction committed (once, however often
	// the transaction's function ran).
	OnCommit(fn func())
}

// Bucket is a set of keys in byte order, and of nested buckets.
type Bucket interface {
	// Get returns the value of k, or nil when there is none (or k names a
	// nested bucket).
	Get(k []byte) []byte
	Put(k, v []byte) error
	Delete(k []byte) error
	Cursor() Cursor
	// ForEach calls fn for every key in order until fn returns an error,
	// which it returns. Nested buckets are not listed.
	ForEach(fn func(k, v []byte) error) error
	// ForEachBucket calls fn with the name of every nested bucket in order.
	ForEachBucket(fn func(name []byte) error) error
	// NextSequence returns the bucket's next sequence number, starting at 1.
	NextSequence() (uint64, error)
	// Bucket returns a nested bucket, or nil when there is none.
	Bucket(name []byte) Bucket
	CreateBucketIfNotExists(name []byte) (Bucket, error)
}

// Cursor walks a bucket's keys in order. Each method returns the key and
// value it lands on, or nil, nil past either end. Keys of nested buckets are
// skipped.
type Cursor interface {
	First() (k, v []byte)
	Last() (k, v []byte)
	// Seek lands on the first key at or after seek.
	Seek(seek []byte) (k, v []byte)
	Next() (k, v []byte)
	Prev() (k, v []byte)
}

// Warmed is a DB whose writers gain when the records a change will read are
// read first, concurrently with other requests: rediskv's writers then find
// them in its cache instead of waiting on Redis one read at a time.
type Warmed interface {
	// WarmView runs fn in a read-only transaction that fills the writers'
	// cache. Its reads may come from that cache and be stale: use what it
	// reads only as a hint that a writer checks again.
	WarmView(fn func(Tx) error) error
}

// Prefetcher is a Bucket of a Warmed DB that reads many keys in one round
// trip into the writers' cache.
type Prefetcher interface {
	Prefetch(keys [][]byte)
}
