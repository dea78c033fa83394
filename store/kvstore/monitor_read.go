package kvstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/kv"
)

// Outlook implements settlement.Monitoring.
func (db *DB) Outlook(ctx context.Context, region string, today regie.Date) (settlement.RegionState, settlement.MonitorState, regie.Cents, error) {
	var (
		r  *settlement.RegionState
		st settlement.MonitorState
		u  regie.Cents
	)
	err := db.kv.View(func(tx kv.Tx) error {
		var err error
		if r, err = mustRegion(tx, region); err != nil {
			return err
		}
		if st, err = readMonitor(tx, region); err != nil {
			return err
		}
		from, to, _ := settlement.Window(r.Year, today)
		u, err = uncommittedIn(tx, region, from, to)
		return err
	})
	if err != nil {
		return settlement.RegionState{}, settlement.MonitorState{}, 0, err
	}
	return *r, st, u, nil
}

// keyedTallies reads the region's tallies of a kind, by key.
func (db *DB) keyedTallies(region string, kind byte) ([]settlement.KeyedTally, error) {
	out := []settlement.KeyedTally{}
	err := db.kv.View(func(tx kv.Tx) error {
		if _, err := mustRegion(tx, region); err != nil {
			return err
		}
		prefix := monKey(region, kind, "")
		return eachPrefix(tx.Bucket(bucketMonitor), prefix, func(k, v []byte) error {
			t, err := decodeTally(v)
			if err != nil {
				return err
			}
			out = append(out, settlement.KeyedTally{Key: string(k[len(prefix):]), Tally: t})
			return nil
		})
	})
	return out, err
}

// ProviderTallies implements settlement.Monitoring.
func (db *DB) ProviderTallies(ctx context.Context, region string) ([]settlement.KeyedTally, error) {
	return db.keyedTallies(region, kindProvider)
}

// ProductTallies implements settlement.Monitoring.
func (db *DB) ProductTallies(ctx context.Context, region string) ([]settlement.KeyedTally, error) {
	return db.keyedTallies(region, kindProduct)
}

// Days implements settlement.Monitoring.
func (db *DB) Days(ctx context.Context, region string, from, to regie.Date) (settlement.Tally, []settlement.DayTally, error) {
	var before settlement.Tally
	days := []settlement.DayTally{}
	err := db.kv.View(func(tx kv.Tx) error {
		if _, err := mustRegion(tx, region); err != nil {
			return err
		}
		prefix := monKey(region, kindDay, "")
		return eachPrefix(tx.Bucket(bucketMonitor), prefix, func(k, v []byte) error {
			d := dayOfKey(k)
			if d > to {
				return errStop
			}
			t, err := decodeTally(v)
			if err != nil {
				return err
			}
			if d < from {
				before.Add(t)
			} else {
				days = append(days, settlement.DayTally{Day: d, Tally: t})
			}
			return nil
		})
	})
	if err == errStop {
		err = nil
	}
	return before, days, err
}

// ProviderRegions implements settlement.Monitoring.
func (db *DB) ProviderRegions(ctx context.Context, agb string) ([]settlement.KeyedTally, error) {
	out := []settlement.KeyedTally{}
	err := db.kv.View(func(tx kv.Tx) error {
		var p matching.Provider
		found, err := getJSON(tx.Bucket(bucketProviders), []byte(agb), &p)
		if err != nil {
			return err
		}
		listed := map[string]bool{}
		if found {
			for _, r := range p.Regions {
				listed[r] = true
			}
		}
		tb := tx.Bucket(bucketMonitor)
		return tx.Bucket(bucketRegions).ForEach(func(k, _ []byte) error {
			raw := tb.Get(monKey(string(k), kindProvider, agb))
			if raw == nil {
				if listed[string(k)] {
					out = append(out, settlement.KeyedTally{Key: string(k)})
				}
				return nil
			}
			t, err := decodeTally(raw)
			if err != nil {
				return err
			}
			out = append(out, settlement.KeyedTally{Key: string(k), Tally: t})
			return nil
		})
	})
	return out, err
}

// ProviderClaims implements settlement.Monitoring.
func (db *DB) ProviderClaims(ctx context.Context, agb, region, after string, limit int) ([]settlement.ClaimRecord, error) {
	out := []settlement.ClaimRecord{}
	err := db.kv.View(func(tx kv.Tx) error {
		prefix := key(agb, "")
		cur := tx.Bucket(bucketClaims).Cursor()
		k, raw := cur.Seek(key(agb, after))
		if after != "" && k != nil && bytes.Equal(k, key(agb, after)) {
			k, raw = cur.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, raw = cur.Next() {
			var rec claimRecord
			if err := decode(raw, &rec); err != nil {
				return err
			}
			if region != "" && rec.Region != region {
				continue
			}
			out = append(out, rec.ClaimRecord)
		}
		return nil
	})
	return out, err
}

// Monitor implements settlement.Monitoring.
func (db *DB) Monitor(ctx context.Context, region string) (settlement.MonitorState, error) {
	var st settlement.MonitorState
	err := db.kv.View(func(tx kv.Tx) error {
		if _, err := mustRegion(tx, region); err != nil {
			return err
		}
		var err error
		st, err = readMonitor(tx, region)
		return err
	})
	return st, err
}

// UpdateMonitor implements settlement.Monitoring.
func (db *DB) UpdateMonitor(ctx context.Context, region string, fn func(*settlement.MonitorState) error, by string, now time.Time) (settlement.MonitorState, error) {
	var st settlement.MonitorState
	err := db.kv.Update(func(tx kv.Tx) error {
		r, err := mustRegion(tx, region)
		if err != nil {
			return err
		}
		if st, err = readMonitor(tx, region); err != nil {
			return err
		}
		if err := fn(&st); err != nil {
			return err
		}
		st.SettingsBy, st.SettingsAt = by, now.UTC()
		if err := putJSON(tx.Bucket(bucketMonitor), monKey(region, kindState, ""), &st); err != nil {
			return err
		}
		// New thresholds are evaluated at once: one already reached fires now.
		c := newCounters(tx)
		c.touch(r, now)
		if err := c.flush(); err != nil {
			return err
		}
		st, err = readMonitor(tx, region)
		return err
	})
	return st, err
}

// Alerts implements settlement.Monitoring.
func (db *DB) Alerts(ctx context.Context, region string, after uint64, limit int) ([]settlement.Alert, error) {
	out := []settlement.Alert{}
	err := db.kv.View(func(tx kv.Tx) error {
		if _, err := mustRegion(tx, region); err != nil {
			return err
		}
		prefix := key(region, "")
		cur := tx.Bucket(bucketAlerts).Cursor()
		for k, raw := cur.Seek(append(prefix, seqKey(after+1)...)); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, raw = cur.Next() {
			var a settlement.Alert
			if err := decode(raw, &a); err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

// DueDeliveries implements settlement.Monitoring.
func (db *DB) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]settlement.Delivery, error) {
	var out []settlement.Delivery
	err := db.kv.View(func(tx kv.Tx) error {
		hooks := map[string]*settlement.Webhook{}
		return tx.Bucket(bucketWebhookQueue).ForEach(func(k, raw []byte) error {
			if len(out) >= limit {
				return errStop
			}
			var q queued
			if err := decode(raw, &q); err != nil {
				return err
			}
			if q.NextAt.After(now) {
				return nil
			}
			region := string(k[:len(k)-9])
			var a settlement.Alert
			if _, err := getJSON(tx.Bucket(bucketAlerts), k, &a); err != nil {
				return err
			}
			wh, ok := hooks[region]
			if !ok {
				st, err := readMonitor(tx, region)
				if err != nil {
					return err
				}
				wh = st.Webhook
				hooks[region] = wh
			}
			out = append(out, settlement.Delivery{Alert: a, Webhook: wh, Attempts: q.Attempts, NextAt: q.NextAt})
			return nil
		})
	})
	if err == errStop {
		err = nil
	}
	return out, err
}

// RecordDelivery implements settlement.Monitoring.
func (db *DB) RecordDelivery(ctx context.Context, a settlement.DeliveryAttempt) error {
	return db.kv.Update(func(tx kv.Tx) error {
		qk := append(key(a.Region, ""), seqKey(a.AlertSeq)...)
		qb := tx.Bucket(bucketWebhookQueue)
		if qb.Get(qk) == nil {
			return nil // recorded by another attempt already
		}
		lb := tx.Bucket(bucketWebhookLog)
		n, err := lb.NextSequence()
		if err != nil {
			return err
		}
		if err := putJSON(lb, append(key(a.Region, ""), seqKey(n)...), a); err != nil {
			return err
		}
		if a.Outcome == settlement.OutcomeRetry {
			return putJSON(qb, qk, queued{Attempts: a.Attempt, NextAt: a.NextAt.UTC()})
		}
		return qb.Delete(qk)
	})
}

// Deliveries implements settlement.Monitoring.
func (db *DB) Deliveries(ctx context.Context, region string, limit int) ([]settlement.DeliveryAttempt, error) {
	out := []settlement.DeliveryAttempt{}
	err := db.kv.View(func(tx kv.Tx) error {
		if _, err := mustRegion(tx, region); err != nil {
			return err
		}
		prefix := key(region, "")
		cur := tx.Bucket(bucketWebhookLog).Cursor()
		// The last key of the region: seek past it, then step back.
		k, raw := cur.Seek(append(key(region, ""), bytes.Repeat([]byte{0xff}, 9)...))
		if k == nil {
			k, raw = cur.Last()
		} else {
			k, raw = cur.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, raw = cur.Prev() {
			var a settlement.DeliveryAttempt
			if err := decode(raw, &a); err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

// exportChunk is how many rows an export reads per transaction. A slow client
// then never holds a read transaction open, which would keep bbolt from
// growing its file for writers.
const exportChunk = 1000

// ExportClaims implements settlement.Monitoring: first the settled and held
// claims, through the settle and hold entries of the region's journal (in
// journal order), then the rejected ones, through their index (by decision
// day). Both are read in chunks of short transactions.
func (db *DB) ExportClaims(ctx context.Context, region string, from, to regie.Date, fn func(settlement.ClaimRecord) error) error {
	err := scanJournal(db, ctx, region, from, to, func(tx kv.Tx, e *settlement.Entry, rows *[]settlement.ClaimRecord) error {
		if e.Type != settlement.EntrySettle && e.Type != settlement.EntryHold {
			return nil
		}
		rec, err := readClaim(tx, key(e.ProviderAGB, e.ClaimID))
		if err != nil {
			return err
		}
		*rows = append(*rows, rec.ClaimRecord)
		return nil
	}, fn)
	if err != nil {
		return err
	}
	prefix := key(region, "")
	next := regionDayKey(region, from)
	var end []byte // exclusive
	if !to.IsZero() {
		end = regionDayKey(region, to+1)
	}
	for next != nil {
		var rows []settlement.ClaimRecord
		err := db.kv.View(func(tx kv.Tx) error {
			cur := tx.Bucket(bucketRejectedClaims).Cursor()
			k, claimKey := cur.Seek(next)
			next = nil
			for ; k != nil && bytes.HasPrefix(k, prefix) && (end == nil || bytes.Compare(k, end) < 0); k, claimKey = cur.Next() {
				if len(rows) == exportChunk {
					next = append([]byte(nil), k...)
					return nil
				}
				rec, err := readClaim(tx, claimKey)
				if err != nil {
					return err
				}
				rows = append(rows, rec.ClaimRecord)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := emit(ctx, rows, fn); err != nil {
			return err
		}
	}
	return nil
}

func emit[T any](ctx context.Context, rows []T, fn func(T) error) error {
	for _, r := range rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// scanJournal reads the region's journal entries booked from–to (zero for
// no bound) in chunks, each in its own read transaction: pick turns an entry
// into rows, reading what it needs in the same transaction, and fn gets the
// rows of a chunk after its transaction ended, so that a slow fn holds no
// transaction open. Returns NotFound "region_not_found".
func scanJournal[T any](db *DB, ctx context.Context, region string, from, to regie.Date, pick func(kv.Tx, *settlement.Entry, *[]T) error, fn func(T) error) error {
	next := uint64(1)
	for next != 0 {
		var rows []T
		err := db.kv.View(func(tx kv.Tx) error {
			jb := tx.Bucket(bucketJournal).Bucket([]byte(region))
			if jb == nil {
				_, err := mustRegion(tx, region)
				next = 0 // a region without entries
				return err
			}
			cur := jb.Cursor()
			k, raw := cur.Seek(seqKey(next))
			next = 0
			for scanned := 0; k != nil; k, raw = cur.Next() {
				if scanned++; len(rows) >= exportChunk || scanned > 8*exportChunk {
					next = binary.BigEndian.Uint64(k)
					return nil
				}
				var e settlement.Entry
				if err := decode(raw, &e); err != nil {
					return err
				}
				if d := regie.DateOf(e.At); d < from || (!to.IsZero() && d > to) {
					continue
				}
				if err := pick(tx, &e, &rows); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := emit(ctx, rows, fn); err != nil {
			return err
		}
	}
	return nil
}

// ExportJournal implements settlement.Monitoring.
func (db *DB) ExportJournal(ctx context.Context, region string, from, to regie.Date, fn func(settlement.Entry) error) error {
	return scanJournal(db, ctx, region, from, to, func(_ kv.Tx, e *settlement.Entry, rows *[]settlement.Entry) error {
		*rows = append(*rows, *e)
		return nil
	}, fn)
}
