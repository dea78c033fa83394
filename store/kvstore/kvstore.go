// Package kvstore implements every regie store interface over an ordered,
// transactional key-value store (package kv): the embedded bbolt file
// (store/bolt) and Redis or Redis Cluster (store/redis) run this same code,
// so that both stores behave alike by construction and pass one conformance
// suite (store/storetest).
//
// Settlements from concurrent callers are grouped into shared transactions
// by a committer (group commit): one durable commit covers many claims, while
// each claim stays atomic and sees the effects of those before it.
package kvstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/regie-nl/regie/store/kv"
)

// Bucket names. Keys that combine parts separate them with a NUL byte, which
// no identifier may contain.
var (
	bucketMeta              = []byte("meta")
	bucketVouchers          = []byte("vouchers")            // id → voucher JSON
	bucketVoucherTokens     = []byte("voucher_tokens")      // id → compact JWS
	bucketVouchersBySubject = []byte("vouchers_by_subject") // subject 0 id → ""
	bucketTariffs           = []byte("tariffs")             // product → tariff JSON
	bucketProviders         = []byte("providers")           // agb → provider JSON
	bucketChoices           = []byte("choices")             // id → choice JSON
	bucketChoicesByVoucher  = []byte("choices_by_voucher")  // voucher 0 choice → ""
	bucketChoicesByProvider = []byte("choices_by_provider") // agb 0 choice → ""
	bucketRegions           = []byte("regions")             // id → region record JSON
	bucketClaims            = []byte("claims")              // agb 0 claim id → decision JSON
	bucketClaimPeriods      = []byte("claim_periods")       // voucher 0 product 0 from → to
	bucketClaimsByVoucher   = []byte("claims_by_voucher")   // voucher 0 agb 0 claim id → ""
	bucketHeld              = []byte("held")                // region 0 seq → agb 0 claim id (the held queue)
	bucketDisputes          = []byte("disputes")            // region 0 agb 0 claim id → "" (open disputes)
	bucketRegionProviders   = []byte("region_providers")    // region 0 agb → provider totals JSON
	bucketRevisions         = []byte("revisions")           // region 0 version → revision JSON
	bucketCheckpoints       = []byte("checkpoints")         // region 0 seq → checkpoint JSON
	bucketJournal           = []byte("journal")             // region → bucket of seq → entry JSON
)

var allBuckets = [][]byte{
	bucketMeta, bucketVouchers, bucketVoucherTokens, bucketVouchersBySubject, bucketTariffs,
	bucketProviders, bucketChoices, bucketChoicesByVoucher, bucketChoicesByProvider,
	bucketRegions, bucketClaims, bucketClaimPeriods, bucketClaimsByVoucher, bucketHeld, bucketDisputes,
	bucketRegionProviders, bucketRevisions, bucketCheckpoints, bucketJournal,
}

// Options tune the store. The zero value is right for `regie serve`.
type Options struct {
	// MaxBatchSize is how many settlements one transaction may group; 0 means 1024.
	MaxBatchSize int
	// MaxBatchDelay is how long a batch that is not full waits for more
	// settlements; 0 means not at all (the batch is whatever queued during
	// the previous commit, which is what group commit needs under load).
	MaxBatchDelay time.Duration
}

// DB is the regie store over a kv.DB. It is safe for concurrent use.
type DB struct {
	kv     kv.DB
	commit *committer // group commit of settlements
	warm   kv.Warmed  // kv, when it gains from warming
}

// Open creates the buckets the store needs in db (when they are missing) and
// returns the store over it. Closing the store closes db.
func Open(db kv.DB, opts Options) (*DB, error) {
	if opts.MaxBatchSize <= 0 {
		opts.MaxBatchSize = 1024
	}
	err := db.Update(func(tx kv.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: create buckets: %w", err)
	}
	if err := migrateMonitoring(db); err != nil {
		return nil, fmt.Errorf("store: monitoring tallies: %w", err)
	}
	w, _ := db.(kv.Warmed)
	return &DB{kv: db, commit: newCommitter(db, opts.MaxBatchSize, opts.MaxBatchDelay), warm: w}, nil
}

// KV returns the key-value store underneath, for backend-specific tests.
func (db *DB) KV() kv.DB { return db.kv }

// CommitStats returns totals over the group commits of settlements so far.
func (db *DB) CommitStats() CommitStats {
	c := db.commit
	return CommitStats{Batches: c.batches.Load(), Settlements: c.settlements.Load(), Pages: c.pages.Load(), Time: time.Duration(c.nanos.Load())}
}

// Close commits what is queued and closes the file.
func (db *DB) Close() error {
	db.commit.close()
	allWatchers.Delete(db.kv)
	return db.kv.Close()
}

// Ping reports whether the store answers: the backend's own check when it
// has one (Redis: PING), else a read of one key.
func (db *DB) Ping(ctx context.Context) error {
	if p, ok := db.kv.(interface{ Ping(context.Context) error }); ok {
		return p.Ping(ctx)
	}
	return db.kv.View(func(tx kv.Tx) error {
		tx.Bucket(bucketMeta).Get([]byte("ping"))
		return nil
	})
}

// Meta returns an operator value, or "" when it is not set.
func (db *DB) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := db.kv.View(func(tx kv.Tx) error {
		v = string(tx.Bucket(bucketMeta).Get([]byte(key)))
		return nil
	})
	return v, err
}

// SetMeta sets an operator value.
func (db *DB) SetMeta(ctx context.Context, key, value string) error {
	return db.kv.Update(func(tx kv.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte(key), []byte(value))
	})
}

// key joins parts with NUL bytes.
func key(parts ...string) []byte {
	n := len(parts) - 1
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

// getJSON decodes the value at k into v; found is false when there is none.
func getJSON(b kv.Bucket, k []byte, v any) (found bool, err error) {
	raw := b.Get(k)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("store: decode %q: %w", k, err)
	}
	return true, nil
}

func putJSON(b kv.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode: %w", err)
	}
	return b.Put(k, raw)
}

func decode(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("store: decode: %w", err)
	}
	return nil
}

// errStop ends an iteration early without being an error.
var errStop = errors.New("stop")

// eachPrefix calls fn for every key with the prefix, in key order, until fn
// returns an error, which it returns.
func eachPrefix(b kv.Bucket, prefix []byte, fn func(k, v []byte) error) error {
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}
