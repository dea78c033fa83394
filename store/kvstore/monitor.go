package kvstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/kv"
)

// Monitoring buckets (docs/monitoring.md). Every journal entry is added to the
// tallies of its region in the transaction that appends it (counters), so
// that no figure needs a scan of the journal. A region's tallies and its
// monitor state share one bucket, under the region's prefix, so that the
// few records a transaction changes lie on few pages.
var (
	bucketMonitor        = []byte("monitor")         // region 0 'd' date(4) → day tally; 'p' product, 'v' agb → tally; 's' → monitor state JSON
	bucketAlerts         = []byte("alerts")          // region 0 seq → alert JSON
	bucketWebhookQueue   = []byte("webhook_queue")   // region 0 alert seq → queued delivery JSON
	bucketWebhookLog     = []byte("webhook_log")     // region 0 log seq → delivery attempt JSON
	bucketRejectedClaims = []byte("rejected_claims") // region 0 date(4) seq(8) → agb 0 claim id (rejected claims with a region, by decision day)
)

// Kinds of record in bucketMonitor.
const (
	kindDay      = 'd'
	kindProduct  = 'p'
	kindProvider = 'v'
	kindState    = 's'
)

// monKey is the key of a region's record of a kind in bucketMonitor.
func monKey(region string, kind byte, rest string) []byte {
	k := append(key(region, ""), kind)
	return append(k, rest...)
}

var monitorBuckets = [][]byte{bucketMonitor, bucketAlerts, bucketWebhookQueue, bucketWebhookLog, bucketRejectedClaims}

func init() { allBuckets = append(allBuckets, monitorBuckets...) }

// tallySize is the encoded size of a tally: a version byte and seven int64.
const tallySize = 1 + 7*8

func encodeTally(t settlement.Tally) []byte {
	b := make([]byte, 1, tallySize)
	b[0] = 1
	for _, v := range []int64{int64(t.Budget), int64(t.Settled), int64(t.Held), int64(t.Committed), int64(t.Paid), t.Claims, int64(t.Uncommitted)} {
		b = binary.BigEndian.AppendUint64(b, uint64(v))
	}
	return b
}

func decodeTally(b []byte) (settlement.Tally, error) {
	if len(b) != tallySize || b[0] != 1 {
		return settlement.Tally{}, fmt.Errorf("store: tally of %d bytes, version %v", len(b), b[:min(1, len(b))])
	}
	v := func(i int) int64 { return int64(binary.BigEndian.Uint64(b[1+8*i:])) }
	return settlement.Tally{
		Budget: regie.Cents(v(0)), Settled: regie.Cents(v(1)), Held: regie.Cents(v(2)), Committed: regie.Cents(v(3)),
		Paid: regie.Cents(v(4)), Claims: v(5), Uncommitted: regie.Cents(v(6)),
	}, nil
}

// uncommittedOf reads only the Uncommitted field of an encoded tally.
func uncommittedOf(b []byte) (regie.Cents, error) {
	if len(b) != tallySize || b[0] != 1 {
		return 0, fmt.Errorf("store: tally of %d bytes", len(b))
	}
	return regie.Cents(binary.BigEndian.Uint64(b[1+8*6:])), nil
}

func dayKey(region string, d regie.Date) []byte {
	return append(monKey(region, kindDay, ""), dateBytes(d)...)
}

// regionDayKey is the start of a region's day in the rejected claims index.
func regionDayKey(region string, d regie.Date) []byte {
	return append(key(region, ""), dateBytes(d)...)
}

func dayOfKey(k []byte) regie.Date {
	return regie.Date(int32(binary.BigEndian.Uint32(k[len(k)-4:]) ^ 0x80000000))
}

// counters is one transaction's view of the monitoring tallies: each tally is
// read once, changed in memory by every entry the transaction appends, and
// written once at flush, which then evaluates the alerts of every region the
// transaction touched. Like writeTx, nothing outlives the transaction.
type counters struct {
	tx      kv.Tx
	tallies map[string]*tallyRec
	order   []*tallyRec // write order, for determinism
	regions map[string]*touched
}

type tallyRec struct {
	bucket []byte
	key    []byte
	t      settlement.Tally
}

type touched struct {
	r  *settlement.RegionState
	at time.Time
}

func newCounters(tx kv.Tx) *counters {
	return &counters{tx: tx, tallies: map[string]*tallyRec{}, regions: map[string]*touched{}}
}

// tally returns the tally at bucket/k, read on first use.
func (c *counters) tally(bucket, k []byte) (*tallyRec, error) {
	mk := string(bucket) + "\x00" + string(k)
	if rec, ok := c.tallies[mk]; ok {
		return rec, nil
	}
	rec := &tallyRec{bucket: bucket, key: k}
	if raw := c.tx.Bucket(bucket).Get(k); raw != nil {
		t, err := decodeTally(raw)
		if err != nil {
			return nil, err
		}
		rec.t = t
	}
	c.tallies[mk] = rec
	c.order = append(c.order, rec)
	return rec, nil
}

// add counts a sealed entry of r: its tally goes to r's day, product and
// provider, and r is evaluated for alerts at flush. Issuing a voucher changes
// no figure and touches nothing.
func (c *counters) add(r *settlement.RegionState, e *settlement.Entry) error {
	if e.Type == settlement.EntryIssue {
		return nil
	}
	c.touch(r, e.At)
	t := settlement.TallyOf(e)
	if t.IsZero() {
		return nil
	}
	if err := c.addTo(bucketMonitor, dayKey(r.ID, regie.DateOf(e.At)), t); err != nil {
		return err
	}
	if e.Product != "" {
		if err := c.addTo(bucketMonitor, monKey(r.ID, kindProduct, e.Product), t.ForProduct()); err != nil {
			return err
		}
	}
	if pt := t.ForProvider(); e.ProviderAGB != "" && !pt.IsZero() {
		return c.addTo(bucketMonitor, monKey(r.ID, kindProvider, e.ProviderAGB), pt)
	}
	return nil
}

func (c *counters) addTo(bucket, k []byte, t settlement.Tally) error {
	rec, err := c.tally(bucket, k)
	if err != nil {
		return err
	}
	rec.t.Add(t)
	return nil
}

// touch marks r for alert evaluation at flush, as of at (the latest wins).
func (c *counters) touch(r *settlement.RegionState, at time.Time) {
	if t, ok := c.regions[r.ID]; ok {
		t.r = r
		if at.After(t.at) {
			t.at = at
		}
		return
	}
	c.regions[r.ID] = &touched{r: r, at: at}
}

// flush writes the changed tallies, then evaluates the alerts of every
// touched region against its final figures, records the alerts (and queues
// them for the region's webhook), and arranges that watchers hear of the
// change once the transaction commits.
func (c *counters) flush() error {
	for _, rec := range c.order {
		if err := c.tx.Bucket(rec.bucket).Put(rec.key, encodeTally(rec.t)); err != nil {
			return err
		}
	}
	c.order = c.order[:0]
	clear(c.tallies)
	if len(c.regions) == 0 {
		return nil
	}
	ids := make([]string, 0, len(c.regions))
	for id := range c.regions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	h := watchersOf(c.tx.DB())
	for _, id := range ids {
		t := c.regions[id]
		alerts, last, err := evaluate(c.tx, t.r, t.at)
		if err != nil {
			return err
		}
		if h != nil && h.active() {
			ch := settlement.Change{Region: id, Alerts: alerts, LastAlert: last}
			c.tx.OnCommit(func() { h.emit(ch) })
		}
	}
	clear(c.regions)
	return nil
}

// evaluate computes r's outlook as of at from the tallies in tx, evaluates the
// alert thresholds, records the alerts and writes the monitor state when it
// changed. It returns the number of alerts recorded and the seq of the last.
func evaluate(tx kv.Tx, r *settlement.RegionState, at time.Time) (int, uint64, error) {
	mb := tx.Bucket(bucketMonitor)
	stateKey := monKey(r.ID, kindState, "")
	old := mb.Get(stateKey)
	var st settlement.MonitorState
	if old != nil {
		if err := decode(old, &st); err != nil {
			return 0, 0, err
		}
	}
	today := regie.DateOf(at)
	from, to, _ := settlement.Window(r.Year, today)
	u, err := uncommittedIn(tx, r.ID, from, to)
	if err != nil {
		return 0, 0, err
	}
	alerts := st.Evaluate(r, settlement.Project(r, u, st.CrossedOn, today), at)
	for i := range alerts {
		st.AlertSeq++
		alerts[i].Seq = st.AlertSeq
		k := append(key(r.ID, ""), seqKey(st.AlertSeq)...)
		if err := putJSON(tx.Bucket(bucketAlerts), k, alerts[i]); err != nil {
			return 0, 0, err
		}
		if st.Webhook != nil && st.Webhook.URL != "" {
			// Due at once: the sender's clock decides retries, not the step's.
			if err := putJSON(tx.Bucket(bucketWebhookQueue), k, queued{}); err != nil {
				return 0, 0, err
			}
		}
	}
	raw, err := json.Marshal(&st)
	if err != nil {
		return 0, 0, fmt.Errorf("store: encode: %w", err)
	}
	if !bytes.Equal(raw, old) {
		if err := mb.Put(stateKey, raw); err != nil {
			return 0, 0, err
		}
	}
	return len(alerts), st.AlertSeq, nil
}

// queued is an alert waiting for its webhook.
type queued struct {
	Attempts int       `json:"attempts"`
	NextAt   time.Time `json:"next_at,omitzero"` // zero: due at once
}

// uncommittedIn sums Uncommitted of the region's day tallies from–to.
func uncommittedIn(tx kv.Tx, region string, from, to regie.Date) (regie.Cents, error) {
	if to < from {
		return 0, nil
	}
	var sum regie.Cents
	end := dayKey(region, to)
	cur := tx.Bucket(bucketMonitor).Cursor()
	for k, v := cur.Seek(dayKey(region, from)); k != nil && bytes.Compare(k, end) <= 0; k, v = cur.Next() {
		u, err := uncommittedOf(v)
		if err != nil {
			return 0, err
		}
		sum += u
	}
	return sum, nil
}

func readMonitor(tx kv.Tx, region string) (settlement.MonitorState, error) {
	var st settlement.MonitorState
	_, err := getJSON(tx.Bucket(bucketMonitor), monKey(region, kindState, ""), &st)
	return st, err
}

// watchers are the callbacks of one store that hear of its commits.
type watchers struct {
	mu   sync.RWMutex
	next int
	fns  map[int]func(settlement.Change)
}

// allWatchers maps each open bbolt file to its watchers, so that code that
// has only a transaction (tx.DB()) can find them.
var allWatchers sync.Map // kv.DB → *watchers

func watchersOf(b kv.DB) *watchers {
	if h, ok := allWatchers.Load(b); ok {
		return h.(*watchers)
	}
	return nil
}

func (h *watchers) active() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.fns) > 0
}

func (h *watchers) emit(ch settlement.Change) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, fn := range h.fns {
		fn(ch)
	}
}

// Watch implements settlement.Monitoring: fn runs after every commit that
// changed a region (one call per region and commit), on the committing
// goroutine.
func (db *DB) Watch(fn func(settlement.Change)) (stop func()) {
	v, _ := allWatchers.LoadOrStore(db.kv, &watchers{fns: map[int]func(settlement.Change){}})
	h := v.(*watchers)
	h.mu.Lock()
	id := h.next
	h.next++
	h.fns[id] = fn
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		delete(h.fns, id)
		h.mu.Unlock()
	}
}

// indexRejected adds a rejected claim to its region's index by decision day,
// for exports: accepted and held claims are found through the region's
// journal, rejected ones (which change no money) only here. The bucket's
// sequence numbers the claims, so that within a region and day new keys come
// last and a transaction appends to one page per region.
func indexRejected(tx kv.Tx, region string, day regie.Date, claimKey []byte) error {
	b := tx.Bucket(bucketRejectedClaims)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	return b.Put(append(regionDayKey(region, day), seqKey(seq)...), claimKey)
}

// migrateMonitoring builds the tallies and the rejected claims index of a file
// written before monitoring existed, once: it folds every region's journal
// with settlement.TallyOf and indexes every rejected claim with a region.
func migrateMonitoring(b kv.DB) error {
	const done = "monitoring_v1"
	return b.Update(func(tx kv.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta.Get([]byte(done)) != nil {
			return nil
		}
		journals := tx.Bucket(bucketJournal).ForEachBucket(func([]byte) error { return errStop })
		ck, _ := tx.Bucket(bucketClaims).Cursor().First()
		if journals == errStop || ck != nil {
			for _, name := range [][]byte{bucketMonitor, bucketRejectedClaims} {
				if err := tx.DeleteBucket(name); err != nil {
					return err
				}
				if _, err := tx.CreateBucket(name); err != nil {
					return err
				}
			}
			c := newCounters(tx)
			err := tx.Bucket(bucketJournal).ForEachBucket(func(region []byte) error {
				r, err := mustRegion(tx, string(region))
				if err != nil {
					return err
				}
				return tx.Bucket(bucketJournal).Bucket(region).ForEach(func(_, raw []byte) error {
					var e settlement.Entry
					if err := decode(raw, &e); err != nil {
						return err
					}
					return c.add(r, &e)
				})
			})
			if err != nil {
				return err
			}
			clear(c.regions) // alerts start from the next change
			if err := c.flush(); err != nil {
				return err
			}
			err = tx.Bucket(bucketClaims).ForEach(func(k, raw []byte) error {
				var rec claimRecord
				if err := decode(raw, &rec); err != nil {
					return err
				}
				if rec.Region == "" || rec.Status != settlement.Rejected {
					return nil
				}
				return indexRejected(tx, rec.Region, regie.DateOf(rec.DecidedAt), append([]byte(nil), k...))
			})
			if err != nil {
				return err
			}
		}
		return meta.Put([]byte(done), []byte(time.Now().UTC().Format(time.RFC3339)))
	})
}
