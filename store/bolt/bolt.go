// Package bolt is the embedded store: every regie store interface on one
// go.etcd.io/bbolt file, durable on commit (fsync), so that `regie serve`
// runs with nothing else installed.
//
// Settlements from concurrent callers are grouped into shared transactions
// with db.Batch (group commit): one fsync covers many claims, while each claim
// stays atomic and sees the effects of those before it.
package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bbolt "go.etcd.io/bbolt"
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
	bucketPayables          = []byte("payables")            // agb → int64 cents
	bucketJournal           = []byte("journal")             // region → bucket of seq → entry JSON
)

var allBuckets = [][]byte{
	bucketMeta, bucketVouchers, bucketVoucherTokens, bucketVouchersBySubject, bucketTariffs,
	bucketProviders, bucketChoices, bucketChoicesByVoucher, bucketChoicesByProvider,
	bucketRegions, bucketClaims, bucketClaimPeriods, bucketPayables, bucketJournal,
}

// Options tune the store. The zero value is right for `regie serve`.
type Options struct {
	// MaxBatchSize is how many settlements one transaction may group; 0 means 256.
	// The default of bbolt (1000) with 64 callers makes every batch wait out
	// MaxBatchDelay; matching it to the expected concurrency avoids that.
	MaxBatchSize int
	// MaxBatchDelay is how long a batch waits for more callers; 0 means 2 ms.
	MaxBatchDelay time.Duration
}

// DB is the bbolt store. It is safe for concurrent use.
type DB struct {
	bolt *bbolt.DB
}

// Open opens or creates the store file at path, creating its directory.
func Open(path string, opts Options) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("bolt: data directory: %w", err)
	}
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 2 * time.Second, FreelistType: bbolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	b.MaxBatchSize, b.MaxBatchDelay = 256, 2*time.Millisecond
	if opts.MaxBatchSize > 0 {
		b.MaxBatchSize = opts.MaxBatchSize
	}
	if opts.MaxBatchDelay > 0 {
		b.MaxBatchDelay = opts.MaxBatchDelay
	}
	err = b.Update(func(tx *bbolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("bolt: create buckets: %w", err)
	}
	return &DB{bolt: b}, nil
}

// Close closes the file; pending batches are committed first.
func (db *DB) Close() error { return db.bolt.Close() }

// Ping reports whether the file is open and readable.
func (db *DB) Ping(ctx context.Context) error {
	return db.bolt.View(func(tx *bbolt.Tx) error { return nil })
}

// Meta returns an operator value, or "" when it is not set.
func (db *DB) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		v = string(tx.Bucket(bucketMeta).Get([]byte(key)))
		return nil
	})
	return v, err
}

// SetMeta sets an operator value.
func (db *DB) SetMeta(ctx context.Context, key, value string) error {
	return db.bolt.Update(func(tx *bbolt.Tx) error {
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
func getJSON(b *bbolt.Bucket, k []byte, v any) (found bool, err error) {
	raw := b.Get(k)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("bolt: decode %q: %w", k, err)
	}
	return true, nil
}

func putJSON(b *bbolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("bolt: encode: %w", err)
	}
	return b.Put(k, raw)
}
