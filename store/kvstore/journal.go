package kvstore

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/kv"
	"github.com/regie-nl/regie/voucher"
)

// Journal implements settlement.Ledger.
func (db *DB) Journal(ctx context.Context, region string, fn func(settlement.Entry) error) error {
	return db.kv.View(func(tx kv.Tx) error {
		jb := tx.Bucket(bucketJournal).Bucket([]byte(region))
		if jb == nil {
			return errRegionNotFound(region)
		}
		return jb.ForEach(func(k, raw []byte) error {
			var e settlement.Entry
			if err := decode(raw, &e); err != nil {
				return fmt.Errorf("journal %s entry %d: %w", region, binary.BigEndian.Uint64(k), err)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			return fn(e)
		})
	})
}

// Balances implements settlement.Ledger: the region's counters, the lines of
// its vouchers, and its providers' totals, as stored.
func (db *DB) Balances(ctx context.Context, region string, fn func(account string, balance regie.Cents) error) error {
	return db.kv.View(func(tx kv.Tx) error {
		r, err := mustRegion(tx, region)
		if err != nil {
			return err
		}
		for _, f := range []struct {
			name  string
			value regie.Cents
		}{{"budget", r.Budget}, {"settled", r.Settled}, {"held", r.Held}, {"committed", r.Committed}, {"paid", r.Paid}} {
			if err := fn(settlement.RegionAccount(region, f.name), f.value); err != nil {
				return err
			}
		}
		err = tx.Bucket(bucketVouchers).ForEach(func(k, raw []byte) error {
			var v voucher.Voucher
			if err := decode(raw, &v); err != nil {
				return err
			}
			if v.Region != region {
				return nil
			}
			for _, l := range v.Lines {
				if err := fn(settlement.VoucherAccount(v.ID, l.Product), l.Remaining); err != nil {
					return err
				}
				if err := fn(settlement.VoucherCommittedAccount(v.ID, l.Product), l.Committed); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		prefix := key(region, "")
		return eachPrefix(tx.Bucket(bucketRegionProviders), prefix, func(k, raw []byte) error {
			var pt settlement.ProviderTotals
			if err := decode(raw, &pt); err != nil {
				return err
			}
			agb := string(k[len(prefix):])
			if err := fn(settlement.ProviderAccount(region, agb, "claimed"), pt.Claimed); err != nil {
				return err
			}
			return fn(settlement.ProviderAccount(region, agb, "paid"), pt.Paid)
		})
	})
}

// PutCheckpoint implements settlement.Ledger.
func (db *DB) PutCheckpoint(ctx context.Context, cp settlement.Checkpoint) error {
	return db.kv.Update(func(tx kv.Tx) error {
		r, err := mustRegion(tx, cp.Region)
		if err != nil {
			return err
		}
		if err := putJSON(tx.Bucket(bucketCheckpoints), append(key(cp.Region, ""), seqKey(cp.Seq)...), cp); err != nil {
			return err
		}
		r.CheckpointSeq = max(r.CheckpointSeq, cp.Seq)
		return putRegion(tx, r)
	})
}

// Checkpoints implements settlement.Ledger.
func (db *DB) Checkpoints(ctx context.Context, region string, fn func(settlement.Checkpoint) error) error {
	return db.kv.View(func(tx kv.Tx) error {
		return eachPrefix(tx.Bucket(bucketCheckpoints), key(region, ""), func(_, raw []byte) error {
			var cp settlement.Checkpoint
			if err := decode(raw, &cp); err != nil {
				return err
			}
			return fn(cp)
		})
	})
}
