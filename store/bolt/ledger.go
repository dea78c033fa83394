package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/voucher"
	bbolt "go.etcd.io/bbolt"
)

// regionRecord is a region with its live counters and the head of its journal.
type regionRecord struct {
	settlement.Region
	Settled     regie.Cents `json:"settled"`
	Claims      int64       `json:"claims"`
	JournalSeq  uint64      `json:"journal_seq"`
	JournalHead string      `json:"journal_head"`
}

// claimRecord is a recorded decision with the fingerprint of its claim.
type claimRecord struct {
	settlement.Decision
	FP string `json:"fp"`
}

// PutRegion implements settlement.Ledger.
func (db *DB) PutRegion(ctx context.Context, r settlement.Region) error {
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketRegions)
		var rec regionRecord
		if _, err := getJSON(b, []byte(r.ID), &rec); err != nil {
			return err
		}
		rec.Region = r
		if _, err := tx.Bucket(bucketJournal).CreateBucketIfNotExists([]byte(r.ID)); err != nil {
			return err
		}
		return putJSON(b, []byte(r.ID), &rec)
	})
}

// Regions implements settlement.Ledger.
func (db *DB) Regions(ctx context.Context) ([]settlement.Region, error) {
	var out []settlement.Region
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketRegions)
		return b.ForEach(func(k, _ []byte) error {
			var rec regionRecord
			if _, err := getJSON(b, k, &rec); err != nil {
				return err
			}
			out = append(out, rec.Region)
			return nil
		})
	})
	return out, err
}

// HasRegion implements settlement.Ledger and voucher.Regions.
func (db *DB) HasRegion(ctx context.Context, id string) (bool, error) {
	var ok bool
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		ok = tx.Bucket(bucketRegions).Get([]byte(id)) != nil
		return nil
	})
	return ok, err
}

// Figures implements settlement.Ledger.
func (db *DB) Figures(ctx context.Context, region string) (settlement.Figures, error) {
	var rec regionRecord
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		found, err := getJSON(tx.Bucket(bucketRegions), []byte(region), &rec)
		if err == nil && !found {
			return regie.Errorf(regie.NotFound, "region_not_found", "no region %q", region)
		}
		return err
	})
	if err != nil {
		return settlement.Figures{}, err
	}
	return settlement.Figures{
		Region: rec.ID, Name: rec.Name, Year: rec.Year, Budget: rec.Budget,
		Settled: rec.Settled, Remaining: rec.Budget - rec.Settled, Claims: rec.Claims,
	}, nil
}

// Settle implements settlement.Ledger. Concurrent calls share transactions
// through db.Batch; the function below may run more than once when a batch
// is retried, so it assigns its results afresh on every run.
func (db *DB) Settle(ctx context.Context, c settlement.Claim, now time.Time) (settlement.Decision, bool, error) {
	fp := c.Fingerprint()
	claimKey := key(c.ProviderAGB, c.ClaimID)
	var (
		prior claimRecord
		seen  bool
	)
	// A retry is answered from a read transaction: no write, no fsync.
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		seen, err = getJSON(tx.Bucket(bucketClaims), claimKey, &prior)
		return err
	})
	if err != nil {
		return settlement.Decision{}, false, err
	}
	if seen {
		return answerPrior(c, prior, fp)
	}
	var d settlement.Decision
	err = db.bolt.Batch(func(tx *bbolt.Tx) error {
		var err error
		// A concurrent call with the same id may have won; not an error
		// return, which would make bbolt rerun the whole batch.
		if seen, err = getJSON(tx.Bucket(bucketClaims), claimKey, &prior); err != nil || seen {
			return err
		}
		var v *voucher.Voucher
		d, v, err = settlement.Decide(txState{tx}, c, regie.DateOf(now))
		if err != nil {
			return err
		}
		d.DecidedAt = now.UTC()
		if d.Status == settlement.Accepted {
			if err := applySettlement(tx, &d, v, now); err != nil {
				return err
			}
		}
		return putJSON(tx.Bucket(bucketClaims), claimKey, claimRecord{Decision: d, FP: fp})
	})
	if err != nil {
		return settlement.Decision{}, false, err
	}
	if seen {
		return answerPrior(c, prior, fp)
	}
	d.Fingerprint = fp
	return d, false, nil
}

// answerPrior answers a claim whose id was used before: the recorded decision
// when the content is the same, a conflict when it is not.
func answerPrior(c settlement.Claim, prior claimRecord, fp string) (settlement.Decision, bool, error) {
	if prior.FP != fp {
		return settlement.Decision{}, false, regie.Errorf(regie.Conflict, "claim_id_conflict",
			"claim id %q was used before for a claim with other content", c.ClaimID)
	}
	prior.Decision.Fingerprint = fp
	return prior.Decision, true, nil
}

// applySettlement debits the voucher line, adds to the region's settled total
// and the provider's payable balance, records the period against double
// billing and appends the sealed journal entry, all in tx.
func applySettlement(tx *bbolt.Tx, d *settlement.Decision, v *voucher.Voucher, now time.Time) error {
	settlement.ApplyToLine(v, *d)
	if err := putJSON(tx.Bucket(bucketVouchers), []byte(v.ID), v); err != nil {
		return err
	}

	rb := tx.Bucket(bucketRegions)
	var rec regionRecord
	found, err := getJSON(rb, []byte(v.Region), &rec)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("bolt: voucher %s names unknown region %s", v.ID, v.Region)
	}
	rec.Settled += d.Amount
	rec.Claims++
	d.BeyondBudget = rec.Settled > rec.Budget

	entry := settlement.SettleEntry(*d, now)
	if err := entry.Seal(rec.JournalSeq+1, rec.JournalHead); err != nil {
		return err
	}
	jb, err := tx.Bucket(bucketJournal).CreateBucketIfNotExists([]byte(v.Region))
	if err != nil {
		return err
	}
	if err := putJSON(jb, seqKey(entry.Seq), entry); err != nil {
		return err
	}
	rec.JournalSeq, rec.JournalHead = entry.Seq, entry.Hash
	d.JournalSeq = entry.Seq
	if err := putJSON(rb, []byte(v.Region), &rec); err != nil {
		return err
	}

	pb := tx.Bucket(bucketPayables)
	payable := int64(0)
	if raw := pb.Get([]byte(d.ProviderAGB)); raw != nil {
		payable = int64(binary.BigEndian.Uint64(raw))
	}
	if err := pb.Put([]byte(d.ProviderAGB), binary.BigEndian.AppendUint64(nil, uint64(payable+int64(d.Amount)))); err != nil {
		return err
	}
	return tx.Bucket(bucketClaimPeriods).Put(periodKey(d.VoucherID, d.Product, d.From), dateBytes(d.To))
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// dateBytes encodes a date so that byte order is date order.
func dateBytes(d regie.Date) []byte { return binary.BigEndian.AppendUint32(nil, uint32(d)^0x80000000) }

func periodKey(voucherID, product string, from regie.Date) []byte {
	return append(key(voucherID, product, ""), dateBytes(from)...)
}

// txState is settlement.State over one bbolt transaction.
type txState struct{ tx *bbolt.Tx }

func (s txState) Voucher(id string) (*voucher.Voucher, error) {
	var v voucher.Voucher
	found, err := getJSON(s.tx.Bucket(bucketVouchers), []byte(id), &v)
	if err != nil || !found {
		return nil, err
	}
	return &v, nil
}

func (s txState) Choices(voucherID string) ([]*matching.Choice, error) {
	return readChoices(s.tx, bucketChoicesByVoucher, voucherID)
}

func (s txState) Provider(agb string) (*matching.Provider, error) { return readProvider(s.tx, agb) }

func (s txState) Tariff(product string) (voucher.Tariff, bool, error) {
	var t voucher.Tariff
	found, err := getJSON(s.tx.Bucket(bucketTariffs), []byte(product), &t)
	return t, found, err
}

// Overlaps finds the accepted claim on the line that starts last on or before
// to. Accepted periods never overlap each other, so if that one ends before
// from, none overlaps.
func (s txState) Overlaps(voucherID, product string, from, to regie.Date) (bool, error) {
	prefix := key(voucherID, product, "")
	c := s.tx.Bucket(bucketClaimPeriods).Cursor()
	k, v := c.Seek(periodKey(voucherID, product, to+1))
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return false, nil
	}
	return bytes.Compare(v, dateBytes(from)) >= 0, nil
}

// Decision implements settlement.Ledger.
func (db *DB) Decision(ctx context.Context, providerAGB, claimID string) (settlement.Decision, error) {
	var rec claimRecord
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		found, err := getJSON(tx.Bucket(bucketClaims), key(providerAGB, claimID), &rec)
		if err == nil && !found {
			return regie.Errorf(regie.NotFound, "claim_not_found", "no claim %q", claimID)
		}
		return err
	})
	rec.Decision.Fingerprint = rec.FP
	return rec.Decision, err
}

// Journal implements settlement.Ledger.
func (db *DB) Journal(ctx context.Context, region string, fn func(settlement.Entry) error) error {
	return db.bolt.View(func(tx *bbolt.Tx) error {
		jb := tx.Bucket(bucketJournal).Bucket([]byte(region))
		if jb == nil {
			return regie.Errorf(regie.NotFound, "region_not_found", "no region %q", region)
		}
		return jb.ForEach(func(k, raw []byte) error {
			var e settlement.Entry
			if err := json.Unmarshal(raw, &e); err != nil {
				return fmt.Errorf("bolt: journal %s entry %d: %w", region, binary.BigEndian.Uint64(k), err)
			}
			return fn(e)
		})
	})
}
