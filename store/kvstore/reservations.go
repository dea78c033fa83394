package kvstore

import (
	"context"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/kv"
	"github.com/regie-nl/regie/voucher"
)

// reserveLine commits what remains of the chosen voucher line on the region's
// budget when a provider accepts a choice, in the transaction of the accept.
func reserveLine(tx kv.Tx, c *matching.Choice, at time.Time) error {
	v, err := txState{tx}.Voucher(c.VoucherID)
	if err != nil || v == nil {
		return err
	}
	r, err := readRegion(tx, v.Region)
	if err != nil || r == nil {
		return err // a voucher outside any known region has no budget to commit on
	}
	e, ok := settlement.BookReserve(v, c.Product, r, at)
	if !ok {
		return nil
	}
	return writeLineEntry(tx, v, r, &e)
}

// writeLineEntry appends e and writes the voucher and region it changed.
func writeLineEntry(tx kv.Tx, v *voucher.Voucher, r *settlement.RegionState, e *settlement.Entry) error {
	if err := appendEntry(tx, r, e); err != nil {
		return err
	}
	if err := putJSON(tx.Bucket(bucketVouchers), []byte(v.ID), v); err != nil {
		return err
	}
	return putRegion(tx, r)
}

// EndAssignment implements settlement.Ledger.
func (db *DB) EndAssignment(ctx context.Context, choiceID string, lastDay regie.Date, now time.Time) (*matching.Choice, error) {
	var out matching.Choice
	err := db.kv.Update(func(tx kv.Tx) error {
		cb := tx.Bucket(bucketChoices)
		found, err := getJSON(cb, []byte(choiceID), &out)
		if err != nil {
			return err
		}
		if !found {
			return errChoiceNotFound
		}
		if out.Status != matching.Accepted {
			return regie.Errorf(regie.Conflict, "choice_not_accepted", "only an accepted choice can be ended")
		}
		if lastDay < out.From-1 || (!out.To.IsZero() && lastDay >= out.To) {
			return regie.FieldError("last_day", "last_day_invalid", "the last day must lie from the day before %s up to before %s", out.From, out.To)
		}
		out.To = lastDay
		if err := putJSON(cb, []byte(choiceID), &out); err != nil {
			return err
		}
		others, err := readChoices(tx, bucketChoicesByVoucher, out.VoucherID)
		if err != nil {
			return err
		}
		for _, o := range others {
			if o.ID != out.ID && o.Product == out.Product && o.Status == matching.Accepted && (o.To.IsZero() || o.To > lastDay) {
				return nil // another assignment carries the line on: the commitment stays
			}
		}
		v, err := txState{tx}.Voucher(out.VoucherID)
		if err != nil || v == nil {
			return err
		}
		r, err := mustRegion(tx, v.Region)
		if err != nil {
			return err
		}
		e, ok := settlement.BookUnreserve(v, out.Product, r, now)
		if !ok {
			return nil
		}
		return writeLineEntry(tx, v, r, &e)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
