package kvstore

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/kv"
)

// Decision implements settlement.Ledger.
func (db *DB) Decision(ctx context.Context, providerAGB, claimID string) (settlement.Decision, error) {
	rec, err := db.Claim(ctx, providerAGB, claimID)
	return rec.Decision, err
}

// Claim implements settlement.Ledger.
func (db *DB) Claim(ctx context.Context, providerAGB, claimID string) (settlement.ClaimRecord, error) {
	var rec *claimRecord
	err := db.kv.View(func(tx kv.Tx) error {
		var err error
		rec, err = readClaim(tx, key(providerAGB, claimID))
		return err
	})
	if err != nil {
		return settlement.ClaimRecord{}, err
	}
	return rec.ClaimRecord, nil
}

// VoucherClaims implements settlement.Ledger.
func (db *DB) VoucherClaims(ctx context.Context, voucherID string) ([]settlement.ClaimRecord, error) {
	out, err := db.indexedClaims(bucketClaimsByVoucher, voucherID)
	sortClaims(out)
	return out, err
}

// indexedClaims reads the claims an index bucket lists under owner: keys
// owner 0 agb 0 claim id.
func (db *DB) indexedClaims(index []byte, owner string) ([]settlement.ClaimRecord, error) {
	var out []settlement.ClaimRecord
	err := db.kv.View(func(tx kv.Tx) error {
		prefix := key(owner, "")
		return eachPrefix(tx.Bucket(index), prefix, func(k, _ []byte) error {
			rec, err := readClaim(tx, k[len(prefix):])
			if err != nil {
				return err
			}
			out = append(out, rec.ClaimRecord)
			return nil
		})
	})
	return out, err
}

func sortClaims(recs []settlement.ClaimRecord) {
	slices.SortStableFunc(recs, func(a, b settlement.ClaimRecord) int {
		if c := a.DecidedAt.Compare(b.DecidedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.JournalSeq, b.JournalSeq)
	})
}

// Reverse implements settlement.Ledger.
func (db *DB) Reverse(ctx context.Context, providerAGB, claimID, reason, by string, now time.Time) (settlement.ClaimRecord, error) {
	var out settlement.ClaimRecord
	err := db.kv.Update(func(tx kv.Tx) error {
		claimKey := key(providerAGB, claimID)
		rec, err := readClaim(tx, claimKey)
		if err != nil {
			return err
		}
		if err := reverseTx(tx, rec, claimKey, reason, by, now); err != nil {
			return err
		}
		if rec.Dispute != nil && rec.Dispute.Status == settlement.DisputeOpen {
			// The provider gave in: the dispute is settled by the reversal.
			rec.Dispute.Status, rec.Dispute.Resolution, rec.Dispute.ResolvedBy, rec.Dispute.ResolvedAt =
				settlement.DisputeUpheld, "reversed by the provider: "+reason, by, now.UTC()
			if err := tx.Bucket(bucketDisputes).Delete(key(rec.Region, providerAGB, claimID)); err != nil {
				return err
			}
		}
		out = rec.ClaimRecord
		return putJSON(tx.Bucket(bucketClaims), claimKey, rec)
	})
	return out, err
}

// reverseTx books the reversal of rec and frees its period and held place;
// the caller writes rec.
func reverseTx(tx kv.Tx, rec *claimRecord, claimKey []byte, reason, by string, now time.Time) error {
	if rec.State != settlement.StateSettled && rec.State != settlement.StateHeld {
		return regie.Errorf(regie.Conflict, "claim_not_reversible", "a %s claim cannot be reversed", rec.State)
	}
	w := newWriteTx(tx)
	r, err := w.mustRegion(rec.Region)
	if err != nil {
		return err
	}
	if r.Closed {
		return errYearClosed
	}
	v, err := w.Voucher(rec.VoucherID)
	if err != nil {
		return err
	}
	pt, err := w.Totals(r.ID, rec.ProviderAGB)
	if err != nil {
		return err
	}
	heldSeq := rec.HeldSeq
	e := settlement.BookReversal(&rec.ClaimRecord, v, r, pt, reason, by, now)
	if err := w.appendTo(r, &e); err != nil {
		return err
	}
	w.changed(v, r, r.ID, rec.ProviderAGB)
	rec.Reversal.JournalSeq = e.Seq
	if heldSeq != 0 {
		if err := tx.Bucket(bucketHeld).Delete(append(key(r.ID, ""), seqKey(heldSeq)...)); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketClaimPeriods).Delete(periodKey(rec.VoucherID, rec.Product, rec.From)); err != nil {
		return err
	}
	return w.flush()
}

// OpenDispute implements settlement.Ledger.
func (db *DB) OpenDispute(ctx context.Context, providerAGB, claimID, reason string, now time.Time) (settlement.ClaimRecord, error) {
	var out settlement.ClaimRecord
	err := db.kv.Update(func(tx kv.Tx) error {
		claimKey := key(providerAGB, claimID)
		rec, err := readClaim(tx, claimKey)
		if err != nil {
			return err
		}
		if (rec.State != settlement.StateSettled && rec.State != settlement.StateHeld) || rec.Dispute != nil {
			return regie.Errorf(regie.Conflict, "claim_not_disputable", "only a settled or held claim can be disputed, once")
		}
		r, err := mustRegion(tx, rec.Region)
		if err != nil {
			return err
		}
		r.Roll(regie.DateOf(now))
		if now.After(rec.DecidedAt.AddDate(0, 0, r.Policy.Disputable())) {
			return regie.Errorf(regie.Conflict, "dispute_window_closed", "claims can be disputed within %d days", r.Policy.Disputable())
		}
		rec.Dispute = &settlement.Dispute{Status: settlement.DisputeOpen, Reason: reason, OpenedAt: now.UTC()}
		if err := tx.Bucket(bucketDisputes).Put(key(rec.Region, providerAGB, claimID), nil); err != nil {
			return err
		}
		out = rec.ClaimRecord
		return putJSON(tx.Bucket(bucketClaims), claimKey, rec)
	})
	return out, err
}

// ResolveDispute implements settlement.Ledger.
func (db *DB) ResolveDispute(ctx context.Context, providerAGB, claimID string, uphold bool, resolution, by string, now time.Time) (settlement.ClaimRecord, error) {
	var out settlement.ClaimRecord
	err := db.kv.Update(func(tx kv.Tx) error {
		claimKey := key(providerAGB, claimID)
		rec, err := readClaim(tx, claimKey)
		if err != nil {
			return err
		}
		if rec.Dispute == nil || rec.Dispute.Status != settlement.DisputeOpen {
			return regie.Errorf(regie.Conflict, "dispute_not_open", "this claim has no open dispute")
		}
		status := settlement.DisputeDismissed
		if uphold {
			status = settlement.DisputeUpheld
			if err := reverseTx(tx, rec, claimKey, "dispute upheld: "+resolution, by, now); err != nil {
				return err
			}
		}
		rec.Dispute.Status, rec.Dispute.Resolution, rec.Dispute.ResolvedBy, rec.Dispute.ResolvedAt = status, resolution, by, now.UTC()
		if err := tx.Bucket(bucketDisputes).Delete(key(rec.Region, providerAGB, claimID)); err != nil {
			return err
		}
		out = rec.ClaimRecord
		return putJSON(tx.Bucket(bucketClaims), claimKey, rec)
	})
	return out, err
}

// Disputes implements settlement.Ledger.
func (db *DB) Disputes(ctx context.Context, region string) ([]settlement.ClaimRecord, error) {
	out, err := db.indexedClaims(bucketDisputes, region)
	slices.SortStableFunc(out, func(a, b settlement.ClaimRecord) int { return a.Dispute.OpenedAt.Compare(b.Dispute.OpenedAt) })
	return out, err
}
