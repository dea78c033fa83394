package kvstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"sync"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/kv"
	"github.com/regie-nl/regie/voucher"
)

// claimRecord is a recorded claim with the fingerprint of its content.
type claimRecord struct {
	settlement.ClaimRecord
	FP string `json:"fp"`
}

func readClaim(tx kv.Tx, claimKey []byte) (*claimRecord, error) {
	var rec claimRecord
	found, err := getJSON(tx.Bucket(bucketClaims), claimKey, &rec)
	if err == nil && !found {
		err = regie.Errorf(regie.NotFound, "claim_not_found", "no such claim")
	}
	if err != nil {
		return nil, err
	}
	rec.Decision.Fingerprint = rec.FP
	return &rec, nil
}

// lookupPrior reads a claim recorded under the same key, if any.
func lookupPrior(tx kv.Tx, claimKey []byte) (*claimRecord, error) {
	var rec claimRecord
	found, err := getJSON(tx.Bucket(bucketClaims), claimKey, &rec)
	if err != nil || !found {
		return nil, err
	}
	return &rec, nil
}

// answerPrior answers a claim whose id was used before: the recorded decision
// when the content is the same, a conflict when it is not.
func answerPrior(c settlement.Claim, prior *claimRecord, fp string) (settlement.Decision, bool, error) {
	if prior.FP != fp {
		return settlement.Decision{}, false, regie.Errorf(regie.Conflict, "claim_id_conflict",
			"claim id %q was used before for a claim with other content", c.ClaimID)
	}
	d := prior.Decision
	d.Fingerprint = fp
	return d, true, nil
}

// Settle implements settlement.Ledger. Concurrent calls share transactions
// through the committer (group commit). The function may run more than once
// when a batch is retried, so it assigns its results afresh on every run, and
// it returns no error for a business outcome: an error makes the whole batch
// run again, one by one.
func (db *DB) Settle(ctx context.Context, c settlement.Claim, now time.Time) (settlement.Decision, bool, error) {
	fp := c.Fingerprint()
	claimKey := key(c.ProviderAGB, c.ClaimID)
	var prior *claimRecord
	// A retry is answered from a read transaction: no write, no fsync. (A
	// warming view's "none" may be stale; the writer looks again.)
	view, warming := db.kv.View, db.warm != nil
	if warming {
		view = db.warm.WarmView
	}
	err := view(func(tx kv.Tx) error {
		var err error
		prior, err = lookupPrior(tx, claimKey)
		if err == nil && prior == nil && warming {
			warm(newWriteTx(tx), c)
		}
		return err
	})
	if err != nil {
		return settlement.Decision{}, false, err
	}
	if prior != nil {
		return answerPrior(c, prior, fp)
	}
	var d settlement.Decision
	err = db.commit.do(func(w *writeTx) error {
		var err error
		d, prior, err = settleTx(w, c, fp, claimKey, now)
		return err
	})
	if err != nil {
		return settlement.Decision{}, false, err
	}
	if prior != nil {
		return answerPrior(c, prior, fp)
	}
	return d, false, nil
}

// SettleBatch implements settlement.Ledger: the lines are settled in order in
// transactions of up to batchChunk lines, one fsync each.
func (db *DB) SettleBatch(ctx context.Context, cs []settlement.Claim, now time.Time) ([]settlement.LineResult, error) {
	const batchChunk = 2000
	out := make([]settlement.LineResult, len(cs))
	for start := 0; start < len(cs); start += batchChunk {
		end := min(start+batchChunk, len(cs))
		if db.warm != nil {
			db.warmLines(cs[start:end])
		}
		err := db.kv.Update(func(tx kv.Tx) error {
			w := newWriteTx(tx)
			for i := start; i < end; i++ {
				c := cs[i]
				fp := c.Fingerprint()
				d, prior, err := settleTx(w, c, fp, key(c.ProviderAGB, c.ClaimID), now)
				if err != nil {
					return err
				}
				if prior != nil {
					d, replay, err := answerPrior(c, prior, fp)
					out[i] = settlement.LineResult{Decision: d, Replay: replay, Err: err}
					continue
				}
				out[i] = settlement.LineResult{Decision: d}
			}
			return w.flush()
		})
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil && end < len(cs) {
			return nil, err
		}
	}
	return out, nil
}

// warm reads in a view what settling c will read (see kv.Warmed): the
// records Decide reads, and the double-billing walk. Only the voucher (for
// its region) and the choices are decoded, each once per w however many
// lines name them; the rest is read raw. Errors are dropped: the writer
// meets them again.
func warm(w *writeTx, c settlement.Claim) {
	v, err := w.Voucher(c.VoucherID)
	if err != nil || v == nil {
		return
	}
	w.Choices(c.VoucherID)
	w.tx.Bucket(bucketProviders).Get([]byte(c.ProviderAGB))
	w.tx.Bucket(bucketTariffs).Get([]byte(c.Product))
	w.tx.Bucket(bucketRegions).Get([]byte(v.Region))
	w.Overlaps(c.VoucherID, c.Product, c.From, c.To)
}

// warmLines warms the lines of a batch: the claims and vouchers in one
// read each, then the rest from several goroutines, so that their reads
// overlap.
func (db *DB) warmLines(cs []settlement.Claim) {
	db.warm.WarmView(func(tx kv.Tx) error {
		claims, vouchers := make([][]byte, len(cs)), make([][]byte, 0, 16)
		seen := map[string]bool{}
		for i, c := range cs {
			claims[i] = key(c.ProviderAGB, c.ClaimID)
			if !seen[c.VoucherID] {
				seen[c.VoucherID] = true
				vouchers = append(vouchers, []byte(c.VoucherID))
			}
		}
		if p, ok := tx.Bucket(bucketClaims).(kv.Prefetcher); ok {
			p.Prefetch(claims)
		}
		if p, ok := tx.Bucket(bucketVouchers).(kv.Prefetcher); ok {
			p.Prefetch(vouchers)
		}
		return nil
	})
	const readers = 8
	var wg sync.WaitGroup
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db.warm.WarmView(func(tx kv.Tx) error {
				w := newWriteTx(tx)
				for i := r; i < len(cs); i += readers {
					warm(w, cs[i])
				}
				return nil
			})
		}()
	}
	wg.Wait()
}

// DrySettle implements settlement.Ledger: the decision and its booking are
// computed in a read transaction, on copies, and discarded.
func (db *DB) DrySettle(ctx context.Context, c settlement.Claim, now time.Time) (settlement.Decision, bool, error) {
	fp := c.Fingerprint()
	var (
		d     settlement.Decision
		prior *claimRecord
	)
	err := db.kv.View(func(tx kv.Tx) error {
		var err error
		if prior, err = lookupPrior(tx, key(c.ProviderAGB, c.ClaimID)); err != nil || prior != nil {
			return err
		}
		var (
			v *voucher.Voucher
			r *settlement.RegionState
		)
		if d, v, r, err = settlement.Decide(newWriteTx(tx), c, regie.DateOf(now)); err != nil {
			return err
		}
		d.DecidedAt = now.UTC()
		if d.Status != settlement.Rejected {
			settlement.BookClaim(&d, v, r, &settlement.ProviderTotals{}, now)
		}
		return nil
	})
	if err != nil {
		return settlement.Decision{}, false, err
	}
	if prior != nil {
		return answerPrior(c, prior, fp)
	}
	return d, false, nil
}

// settleTx decides and books one claim in tx. When the claim id was used
// before it changes nothing and returns the prior record.
func settleTx(w *writeTx, c settlement.Claim, fp string, claimKey []byte, now time.Time) (settlement.Decision, *claimRecord, error) {
	tx := w.tx
	if prior, err := lookupPrior(tx, claimKey); err != nil || prior != nil {
		return settlement.Decision{}, prior, err
	}
	d, v, r, err := settlement.Decide(w, c, regie.DateOf(now))
	if err != nil {
		return settlement.Decision{}, nil, err
	}
	d.DecidedAt = now.UTC()
	d.Fingerprint = fp
	rec := claimRecord{ClaimRecord: settlement.ClaimRecord{State: settlement.StateRejected}, FP: fp}
	if d.Status == settlement.Rejected {
		// A rejected claim on a voucher that exists is on its statement too.
		if v, err := w.Voucher(c.VoucherID); err != nil {
			return settlement.Decision{}, nil, err
		} else if v != nil {
			if err := tx.Bucket(bucketClaimsByVoucher).Put(key(d.VoucherID, d.ProviderAGB, d.ClaimID), nil); err != nil {
				return settlement.Decision{}, nil, err
			}
		}
	} else {
		if err := bookClaim(w, &d, v, r, claimKey, now); err != nil {
			return settlement.Decision{}, nil, err
		}
		rec.State, rec.Paid = settlement.StateSettled, d.Payable
		if d.Status == settlement.Held {
			rec.State, rec.HeldSeq = settlement.StateHeld, d.JournalSeq
		}
	}
	rec.Decision = d
	if d.Status == settlement.Rejected && d.Region != "" {
		// A rejected claim is in no journal: the region's exports find it here.
		if err := indexRejected(tx, d.Region, regie.DateOf(now), claimKey); err != nil {
			return settlement.Decision{}, nil, err
		}
	}
	return d, nil, putJSON(tx.Bucket(bucketClaims), claimKey, &rec)
}

// bookClaim books an accepted or held claim: the voucher, region and
// provider totals change in w (written at its flush), the entry, the claim's
// indexes and its period are written now.
func bookClaim(w *writeTx, d *settlement.Decision, v *voucher.Voucher, r *settlement.RegionState, claimKey []byte, now time.Time) error {
	tx := w.tx
	pt, err := w.Totals(r.ID, d.ProviderAGB)
	if err != nil {
		return err
	}
	e := settlement.BookClaim(d, v, r, pt, now)
	if err := appendEntryTo(tx, w.counters, r, &e); err != nil {
		return err
	}
	d.JournalSeq = e.Seq
	w.changed(v, r, r.ID, d.ProviderAGB)
	if d.Status == settlement.Held {
		if err := tx.Bucket(bucketHeld).Put(append(key(r.ID, ""), seqKey(e.Seq)...), claimKey); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketClaimsByVoucher).Put(key(d.VoucherID, d.ProviderAGB, d.ClaimID), nil); err != nil {
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
type txState struct{ tx kv.Tx }

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

func (s txState) Region(id string) (*settlement.RegionState, error) { return readRegion(s.tx, id) }

// Overlaps finds the settled or held claim on the line that starts last on or
// before to. Recorded periods never overlap each other, so if that one ends
// before from, none overlaps.
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
