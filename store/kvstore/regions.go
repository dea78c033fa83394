package kvstore

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/kv"
)

func errRegionNotFound(id string) error {
	return regie.Errorf(regie.NotFound, "region_not_found", "no region %q", id)
}

// readRegion returns the region's state, or nil when there is none.
func readRegion(tx kv.Tx, id string) (*settlement.RegionState, error) {
	var r settlement.RegionState
	found, err := getJSON(tx.Bucket(bucketRegions), []byte(id), &r)
	if err != nil || !found {
		return nil, err
	}
	return &r, nil
}

// mustRegion returns the region's state or NotFound "region_not_found".
func mustRegion(tx kv.Tx, id string) (*settlement.RegionState, error) {
	r, err := readRegion(tx, id)
	if err == nil && r == nil {
		err = errRegionNotFound(id)
	}
	return r, err
}

func putRegion(tx kv.Tx, r *settlement.RegionState) error {
	return putJSON(tx.Bucket(bucketRegions), []byte(r.ID), r)
}

// appendEntry seals e as the next entry of r's journal, stores it, moves r's
// journal head and counts it in the region's monitoring tallies (evaluating
// its alerts), all in tx; the caller writes r.
func appendEntry(tx kv.Tx, r *settlement.RegionState, e *settlement.Entry) error {
	c := newCounters(tx)
	if err := appendEntryTo(tx, c, r, e); err != nil {
		return err
	}
	return c.flush()
}

// appendEntryTo is appendEntry for a transaction that appends many entries:
// the tallies change in c, which the caller flushes once at the end.
func appendEntryTo(tx kv.Tx, c *counters, r *settlement.RegionState, e *settlement.Entry) error {
	if err := e.Seal(r.JournalSeq+1, r.JournalHead); err != nil {
		return err
	}
	jb, err := tx.Bucket(bucketJournal).CreateBucketIfNotExists([]byte(r.ID))
	if err != nil {
		return err
	}
	if err := putJSON(jb, seqKey(e.Seq), e); err != nil {
		return err
	}
	r.JournalSeq, r.JournalHead = e.Seq, e.Hash
	return c.add(r, e)
}

func putRevision(tx kv.Tx, rev settlement.Revision) error {
	return putJSON(tx.Bucket(bucketRevisions), append(key(rev.Region, ""), binary.BigEndian.AppendUint32(nil, uint32(rev.Version))...), rev)
}

// PutRegion implements settlement.Ledger.
func (db *DB) PutRegion(ctx context.Context, in settlement.Region) error {
	now := time.Now()
	return db.kv.Update(func(tx kv.Tx) error {
		r, err := readRegion(tx, in.ID)
		if err != nil {
			return err
		}
		if r == nil {
			r = &settlement.RegionState{Region: in}
			r.Budget = 0 // the first revision sets it, so that it is journalled
		}
		r.Name, r.Funder, r.Year = in.Name, in.Funder, in.Year
		r.Roll(regie.DateOf(now))
		if in.Policy != r.Policy {
			e := settlement.BookPolicy(r, in.Policy, "system", now)
			if err := appendEntry(tx, r, &e); err != nil {
				return err
			}
		}
		if in.Budget != r.Budget || r.Revision == 0 {
			rev, e := settlement.BookRevision(r, in.Budget, regie.DateOf(now), "budget set by the operator", "system", now)
			if err := appendEntry(tx, r, &e); err != nil {
				return err
			}
			if err := putRevision(tx, rev); err != nil {
				return err
			}
		}
		return putRegion(tx, r)
	})
}

// Regions implements settlement.Ledger.
func (db *DB) Regions(ctx context.Context) ([]settlement.Region, error) {
	var out []settlement.Region
	err := db.kv.View(func(tx kv.Tx) error {
		b := tx.Bucket(bucketRegions)
		return b.ForEach(func(k, _ []byte) error {
			var r settlement.RegionState
			if _, err := getJSON(b, k, &r); err != nil {
				return err
			}
			out = append(out, r.Region)
			return nil
		})
	})
	return out, err
}

// HasRegion implements settlement.Ledger and voucher.Regions.
func (db *DB) HasRegion(ctx context.Context, id string) (bool, error) {
	var ok bool
	err := db.kv.View(func(tx kv.Tx) error {
		ok = tx.Bucket(bucketRegions).Get([]byte(id)) != nil
		return nil
	})
	return ok, err
}

// Region implements settlement.Ledger.
func (db *DB) Region(ctx context.Context, id string) (settlement.RegionState, error) {
	var r *settlement.RegionState
	err := db.kv.View(func(tx kv.Tx) error {
		var err error
		r, err = mustRegion(tx, id)
		return err
	})
	if err != nil {
		return settlement.RegionState{}, err
	}
	return *r, nil
}

// ReviseBudget implements settlement.Ledger.
func (db *DB) ReviseBudget(ctx context.Context, region string, budget regie.Cents, effective regie.Date, reason, by string, now time.Time) (settlement.Revision, error) {
	var rev settlement.Revision
	err := db.kv.Update(func(tx kv.Tx) error {
		r, err := mustRegion(tx, region)
		if err != nil {
			return err
		}
		if r.Closed {
			return errYearClosed // the final rate was computed on the budget as it was
		}
		var e settlement.Entry
		rev, e = settlement.BookRevision(r, budget, effective, reason, by, now)
		if err := appendEntry(tx, r, &e); err != nil {
			return err
		}
		if err := putRevision(tx, rev); err != nil {
			return err
		}
		return putRegion(tx, r)
	})
	return rev, err
}

// Revisions implements settlement.Ledger.
func (db *DB) Revisions(ctx context.Context, region string) ([]settlement.Revision, error) {
	var out []settlement.Revision
	err := db.kv.View(func(tx kv.Tx) error {
		if _, err := mustRegion(tx, region); err != nil {
			return err
		}
		return eachPrefix(tx.Bucket(bucketRevisions), key(region, ""), func(_, v []byte) error {
			var rev settlement.Revision
			if err := decode(v, &rev); err != nil {
				return err
			}
			out = append(out, rev)
			return nil
		})
	})
	return out, err
}

// SetPolicy implements settlement.Ledger.
func (db *DB) SetPolicy(ctx context.Context, region string, p settlement.Policy, by string, now time.Time) (settlement.Figures, error) {
	var fig settlement.Figures
	err := db.kv.Update(func(tx kv.Tx) error {
		r, err := mustRegion(tx, region)
		if err != nil {
			return err
		}
		if r.Closed {
			return errYearClosed
		}
		e := settlement.BookPolicy(r, p, by, now)
		if err := appendEntry(tx, r, &e); err != nil {
			return err
		}
		fig = r.Figures()
		return putRegion(tx, r)
	})
	return fig, err
}

var errYearClosed = regie.Errorf(regie.Conflict, "budget_year_closed", "the region's budget year is closed")

// ReleaseHeld implements settlement.Ledger.
func (db *DB) ReleaseHeld(ctx context.Context, region string, upTo regie.Cents, by string, now time.Time) (settlement.Released, error) {
	var out settlement.Released
	err := db.kv.Update(func(tx kv.Tx) error {
		out = settlement.Released{}
		w := newWriteTx(tx)
		r, err := w.mustRegion(region)
		if err != nil {
			return err
		}
		if r.Closed {
			return errYearClosed
		}
		r.Roll(regie.DateOf(now)) // the policy of the day decides what a release pays
		hb := tx.Bucket(bucketHeld)
		var done [][]byte
		err = eachPrefix(hb, key(region, ""), func(k, claimKey []byte) error {
			rec, err := readClaim(tx, claimKey)
			if err != nil {
				return err
			}
			if out.Amount+rec.Amount > upTo {
				return errStop
			}
			pt, err := w.Totals(region, rec.ProviderAGB)
			if err != nil {
				return err
			}
			e := settlement.BookRelease(&rec.ClaimRecord, r, pt, by, now)
			if err := w.appendTo(r, &e); err != nil {
				return err
			}
			w.changedTotals(region, rec.ProviderAGB)
			if err := putJSON(tx.Bucket(bucketClaims), claimKey, rec); err != nil {
				return err
			}
			done = append(done, append([]byte(nil), k...))
			out.Claims++
			out.Amount += rec.Amount
			return nil
		})
		if err != nil && err != errStop {
			return err
		}
		for _, k := range done {
			if err := hb.Delete(k); err != nil {
				return err
			}
		}
		out.Figures = r.Figures()
		w.dirty[r] = true // rolled to the policy of the day, even when nothing was released
		return w.flush()
	})
	return out, err
}

// CloseYear implements settlement.Ledger.
func (db *DB) CloseYear(ctx context.Context, region, by string, now time.Time) (settlement.Closed, error) {
	var out settlement.Closed
	err := db.kv.Update(func(tx kv.Tx) error {
		w := newWriteTx(tx)
		r, err := w.mustRegion(region)
		if err != nil {
			return err
		}
		if r.Closed {
			return errYearClosed
		}
		r.Roll(regie.DateOf(now))
		if r.Policy.Kind != settlement.ProRata {
			return regie.Errorf(regie.Conflict, "policy_not_prorata", "only a region under the prorata policy has a year-end close")
		}
		if r.Held != 0 {
			return regie.Errorf(regie.Conflict, "held_claims_open", "release or reverse the %s of held claims before the close", r.Held)
		}
		totals := map[string]*settlement.ProviderTotals{}
		var agbs []string
		prefix := key(region, "")
		err = eachPrefix(tx.Bucket(bucketRegionProviders), prefix, func(k, _ []byte) error {
			agb := string(k[len(prefix):])
			pt, err := w.Totals(region, agb)
			if err != nil {
				return err
			}
			totals[agb] = pt
			w.changedTotals(region, agb)
			agbs = append(agbs, agb)
			return nil
		})
		if err != nil {
			return err
		}
		var entries []settlement.Entry
		out, entries = settlement.BookClose(r, totals, agbs, by, now)
		for i := range entries {
			if err := w.appendTo(r, &entries[i]); err != nil {
				return err
			}
		}
		out.Figures = r.Figures()
		return w.flush()
	})
	return out, err
}
