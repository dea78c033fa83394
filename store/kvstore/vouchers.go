package kvstore

import (
	"bytes"
	"context"
	"slices"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/kv"
	"github.com/regie-nl/regie/voucher"
)

var errVoucherNotFound = regie.Errorf(regie.NotFound, "voucher_not_found", "no such voucher")

// CreateVoucher implements voucher.Store.
func (db *DB) CreateVoucher(ctx context.Context, v *voucher.Voucher, token string) error {
	return db.kv.Update(func(tx kv.Tx) error {
		b := tx.Bucket(bucketVouchers)
		if b.Get([]byte(v.ID)) != nil {
			return regie.Errorf(regie.Conflict, "voucher_exists", "voucher %s exists", v.ID)
		}
		// Issuing is journalled in the voucher's region, so that every line's
		// balance is the sum of its postings. (voucher.Service issues only in
		// known regions; a voucher without one has no journal to be in.)
		r, err := readRegion(tx, v.Region)
		if err != nil {
			return err
		}
		if r != nil {
			e := settlement.IssueEntry(v, v.IssuedAt)
			if err := appendEntry(tx, r, &e); err != nil {
				return err
			}
			if err := putRegion(tx, r); err != nil {
				return err
			}
		}
		if err := putJSON(b, []byte(v.ID), v); err != nil {
			return err
		}
		if err := tx.Bucket(bucketVoucherTokens).Put([]byte(v.ID), []byte(token)); err != nil {
			return err
		}
		return tx.Bucket(bucketVouchersBySubject).Put(key(v.Subject, v.ID), nil)
	})
}

// Voucher implements voucher.Store.
func (db *DB) Voucher(ctx context.Context, id string) (*voucher.Voucher, error) {
	var v voucher.Voucher
	err := db.kv.View(func(tx kv.Tx) error {
		found, err := getJSON(tx.Bucket(bucketVouchers), []byte(id), &v)
		if err == nil && !found {
			return errVoucherNotFound
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// VoucherToken implements voucher.Store.
func (db *DB) VoucherToken(ctx context.Context, id string) (string, error) {
	var token string
	err := db.kv.View(func(tx kv.Tx) error {
		raw := tx.Bucket(bucketVoucherTokens).Get([]byte(id))
		if raw == nil {
			return errVoucherNotFound
		}
		token = string(raw)
		return nil
	})
	return token, err
}

// VouchersBySubject implements voucher.Store.
func (db *DB) VouchersBySubject(ctx context.Context, subject string) ([]*voucher.Voucher, error) {
	var out []*voucher.Voucher
	err := db.kv.View(func(tx kv.Tx) error {
		vb := tx.Bucket(bucketVouchers)
		prefix := key(subject, "")
		c := tx.Bucket(bucketVouchersBySubject).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			var v voucher.Voucher
			if _, err := getJSON(vb, k[len(prefix):], &v); err != nil {
				return err
			}
			out = append(out, &v)
		}
		return nil
	})
	slices.SortStableFunc(out, func(a, b *voucher.Voucher) int { return a.IssuedAt.Compare(b.IssuedAt) })
	return out, err
}

// SetVoucherState implements voucher.Store.
func (db *DB) SetVoucherState(ctx context.Context, id string, s voucher.Status) (*voucher.Voucher, error) {
	var v voucher.Voucher
	err := db.kv.Update(func(tx kv.Tx) error {
		b := tx.Bucket(bucketVouchers)
		found, err := getJSON(b, []byte(id), &v)
		if err != nil {
			return err
		}
		if !found {
			return errVoucherNotFound
		}
		if v.State == voucher.Revoked && s != voucher.Revoked {
			return regie.Errorf(regie.Conflict, "voucher_revoked", "a revoked voucher stays revoked")
		}
		v.State = s
		return putJSON(b, []byte(id), &v)
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// PutTariff implements voucher.Store.
func (db *DB) PutTariff(ctx context.Context, t voucher.Tariff) error {
	return db.kv.Update(func(tx kv.Tx) error {
		return putJSON(tx.Bucket(bucketTariffs), []byte(t.Product), t)
	})
}

// Tariffs implements voucher.Store.
func (db *DB) Tariffs(ctx context.Context) ([]voucher.Tariff, error) {
	var out []voucher.Tariff
	err := db.kv.View(func(tx kv.Tx) error {
		b := tx.Bucket(bucketTariffs)
		return b.ForEach(func(k, _ []byte) error {
			var t voucher.Tariff
			if _, err := getJSON(b, k, &t); err != nil {
				return err
			}
			out = append(out, t)
			return nil
		})
	})
	return out, err
}
