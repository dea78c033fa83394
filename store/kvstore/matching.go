package kvstore

import (
	"bytes"
	"context"
	"slices"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/store/kv"
)

var errChoiceNotFound = regie.Errorf(regie.NotFound, "choice_not_found", "no such choice")

// PutProvider implements matching.Store.
func (db *DB) PutProvider(ctx context.Context, p *matching.Provider) error {
	return db.kv.Update(func(tx kv.Tx) error { return replaceProvider(tx, p) })
}

// Provider implements matching.Store.
func (db *DB) Provider(ctx context.Context, agb string) (*matching.Provider, error) {
	var p *matching.Provider
	err := db.kv.View(func(tx kv.Tx) error {
		var err error
		p, err = readProvider(tx, agb)
		if err == nil && p == nil {
			return regie.Errorf(regie.NotFound, "provider_not_found", "no provider with AGB code %s", agb)
		}
		return err
	})
	return p, err
}

func readProvider(tx kv.Tx, agb string) (*matching.Provider, error) {
	var p matching.Provider
	found, err := getJSON(tx.Bucket(bucketProviders), []byte(agb), &p)
	if err != nil || !found {
		return nil, err
	}
	return &p, nil
}

// Providers implements matching.Store.
func (db *DB) Providers(ctx context.Context) ([]*matching.Provider, error) {
	var out []*matching.Provider
	err := db.kv.View(func(tx kv.Tx) error {
		b := tx.Bucket(bucketProviders)
		return b.ForEach(func(k, v []byte) error {
			p, err := decodeProvider(k, v)
			if err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	})
	return out, err
}

// CreateChoice implements matching.Store.
func (db *DB) CreateChoice(ctx context.Context, c *matching.Choice) error {
	return db.kv.Update(func(tx kv.Tx) error {
		if tx.Bucket(bucketChoices).Get([]byte(c.ID)) != nil {
			return regie.Errorf(regie.Conflict, "choice_exists", "choice %s exists", c.ID)
		}
		existing, err := readChoices(tx, bucketChoicesByVoucher, c.VoucherID)
		if err != nil {
			return err
		}
		for _, e := range existing {
			if e.Product == c.Product && e.Status == matching.Requested && !e.AnswerBy.IsZero() && e.AnswerBy.Before(c.CreatedAt) {
				// Overdue: it lapsed at its deadline, which is recorded now.
				e.Status, e.DecidedAt = matching.Lapsed, e.AnswerBy
				if err := putJSON(tx.Bucket(bucketChoices), []byte(e.ID), e); err != nil {
					return err
				}
				continue
			}
			if e.Product != c.Product {
				continue
			}
			// An accepted assignment does not block a switch that starts after
			// it began: the old one ends when the new provider accepts.
			if e.Status == matching.Requested || (e.Status == matching.Accepted && c.From <= e.From && (e.To.IsZero() || e.To >= c.From)) {
				return regie.Errorf(regie.Conflict, "choice_active", "product %s of this voucher already has a %s choice", c.Product, e.Status)
			}
		}
		if err := putJSON(tx.Bucket(bucketChoices), []byte(c.ID), c); err != nil {
			return err
		}
		if err := tx.Bucket(bucketChoicesByVoucher).Put(key(c.VoucherID, c.ID), nil); err != nil {
			return err
		}
		return tx.Bucket(bucketChoicesByProvider).Put(key(c.ProviderAGB, c.ID), nil)
	})
}

// Choice implements matching.Store.
func (db *DB) Choice(ctx context.Context, id string) (*matching.Choice, error) {
	var c matching.Choice
	err := db.kv.View(func(tx kv.Tx) error {
		found, err := getJSON(tx.Bucket(bucketChoices), []byte(id), &c)
		if err == nil && !found {
			return errChoiceNotFound
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// DecideChoice implements matching.Store.
func (db *DB) DecideChoice(ctx context.Context, id string, to matching.ChoiceStatus, reason string, at time.Time) (*matching.Choice, error) {
	var c matching.Choice
	err := db.kv.Update(func(tx kv.Tx) error {
		b := tx.Bucket(bucketChoices)
		found, err := getJSON(b, []byte(id), &c)
		if err != nil {
			return err
		}
		if !found {
			return errChoiceNotFound
		}
		if c.Status != matching.Requested {
			return regie.Errorf(regie.Conflict, "choice_decided", "this choice is already %s", c.Status)
		}
		c.Status, c.Reason, c.DecidedAt = to, reason, at
		if to == matching.Accepted {
			// A switch: the assignment it replaces ends the day before.
			if err := endEarlierAssignments(tx, &c); err != nil {
				return err
			}
			// The assignment commits the voucher line on the regional budget in
			// the same transaction (settlement: reservations); after a switch
			// the line is committed already and the commitment carries on.
			if err := reserveLine(tx, &c, at); err != nil {
				return err
			}
		}
		return putJSON(b, []byte(id), &c)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ChoicesByVoucher implements matching.Store.
func (db *DB) ChoicesByVoucher(ctx context.Context, voucherID string) ([]*matching.Choice, error) {
	var out []*matching.Choice
	err := db.kv.View(func(tx kv.Tx) error {
		var err error
		out, err = readChoices(tx, bucketChoicesByVoucher, voucherID)
		return err
	})
	return out, err
}

// ChoicesByProvider implements matching.Store.
func (db *DB) ChoicesByProvider(ctx context.Context, agb string) ([]*matching.Choice, error) {
	var out []*matching.Choice
	err := db.kv.View(func(tx kv.Tx) error {
		var err error
		out, err = readChoices(tx, bucketChoicesByProvider, agb)
		return err
	})
	return out, err
}

// ProviderChosen implements matching.Store and voucher.Assignments.
func (db *DB) ProviderChosen(ctx context.Context, voucherID, agb string) (bool, error) {
	cs, err := db.ChoicesByVoucher(ctx, voucherID)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(cs, func(c *matching.Choice) bool {
		return c.ProviderAGB == agb && (c.Status == matching.Requested || c.Status == matching.Accepted)
	}), nil
}

// readChoices reads the choices listed in an index bucket under owner, oldest first.
func readChoices(tx kv.Tx, index []byte, owner string) ([]*matching.Choice, error) {
	var out []*matching.Choice
	cb := tx.Bucket(bucketChoices)
	prefix := key(owner, "")
	c := tx.Bucket(index).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		var ch matching.Choice
		if _, err := getJSON(cb, k[len(prefix):], &ch); err != nil {
			return nil, err
		}
		out = append(out, &ch)
	}
	slices.SortStableFunc(out, func(a, b *matching.Choice) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// endEarlierAssignments ends, on the day before c starts, every accepted
// choice of the same voucher line that would still run then.
func endEarlierAssignments(tx kv.Tx, c *matching.Choice) error {
	others, err := readChoices(tx, bucketChoicesByVoucher, c.VoucherID)
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.ID == c.ID || o.Product != c.Product || o.Status != matching.Accepted || o.From >= c.From {
			continue
		}
		if o.To.IsZero() || o.To >= c.From {
			o.To = c.From - 1
			if err := putJSON(tx.Bucket(bucketChoices), []byte(o.ID), o); err != nil {
				return err
			}
		}
	}
	return nil
}
