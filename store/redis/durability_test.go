package redis_test

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/redis"
	"github.com/regie-nl/regie/store/redis/redistest"
	"github.com/regie-nl/regie/store/storetest"
	"github.com/regie-nl/regie/voucher"
)

// Durability on Redis: with the append-only file fsynced on every write
// (appendfsync always), a decision that Settle returned is on disk. Workers
// settle claims until the server is killed with SIGKILL under them; after a
// restart a new store on the same database finds every acknowledged decision
// as it was answered, the ledger whole, and goes on settling.
const (
	durWorkers  = 16
	durDays     = 365             // a worker settles at most one claim a day of the fixture's year
	durRunFor   = time.Second     // the workers run this long before the kill
	durMaxAcks  = durWorkers * 60 // or until this many are acknowledged, whichever is first
	durDeadline = 20 * time.Second
)

// durClaim is worker w's claim on day i: accepted at the provider's tariff,
// except every seventh, whose price is above it (rejected), so that rejections
// must survive too.
func durClaim(f *storetest.Fixture, voucherID string, w, i int) settlement.Claim {
	c := f.ClaimOn(voucherID, fmt.Sprintf("w%02d-c%03d", w, i), storetest.Day(i))
	if i%7 == 6 {
		c.UnitPrice = storetest.ProviderPrice + 1
	}
	return c
}

// durWorker is what one worker did before the kill.
type durWorker struct {
	voucherID string
	acked     []settlement.Decision // in the order Settle returned them
	failedAt  int                   // the claim whose Settle failed; durDays when none did
	err       error                 // that failure
	returned  time.Time             // when the worker stopped
}

func TestDB_Durability(t *testing.T) {
	srv := redistest.StartT(t, redistest.Config{AppendOnly: true, AppendFsync: "always"})
	url := srv.URL() + "?name=dur"
	db, err := redis.Open(url, redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			db.Close()
		}
	})
	ctx := t.Context()
	f := storetest.NewFixture("dur")
	f.Put(t, db)
	workers := make([]*durWorker, durWorkers)
	for w := range workers {
		id := f.Voucher.ID
		if w > 0 {
			id = f.AddVoucher(t, db, fmt.Sprintf("v-dur-%02d", w)).ID
		}
		workers[w] = &durWorker{voucherID: id, failedAt: durDays}
	}

	var (
		acks    atomic.Int64
		running atomic.Int64
		wg      sync.WaitGroup
	)
	start := time.Now()
	for w, wk := range workers {
		running.Add(1)
		wg.Go(func() {
			defer running.Add(-1)
			defer func() { wk.returned = time.Now() }()
			for i := range durDays {
				c := durClaim(f, wk.voucherID, w, i)
				d, replay, err := db.Settle(ctx, c, f.Now)
				if err != nil {
					wk.failedAt, wk.err = i, err
					return
				}
				if replay {
					wk.failedAt, wk.err = i, fmt.Errorf("fresh claim %s answered as a replay", c.ClaimID)
					return
				}
				wk.acked = append(wk.acked, d)
				acks.Add(1)
			}
		})
	}

	// Kill the server under the workers.
	for time.Since(start) < durRunFor && acks.Load() < durMaxAcks && running.Load() == durWorkers {
		time.Sleep(5 * time.Millisecond)
	}
	ackedBeforeKill, runningAtKill := acks.Load(), running.Load()
	cs := db.CommitStats()
	killStart := time.Now()
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(durDeadline):
		t.Fatalf("%d workers still in Settle %v after the kill", running.Load(), durDeadline)
	}
	t.Logf("killed after %v: %d claims acknowledged (%d group commits), %d workers running; all stopped %v after the kill",
		killedAt.Sub(start).Round(time.Millisecond), ackedBeforeKill, cs.Batches, runningAtKill, time.Since(killedAt).Round(time.Millisecond))
	var stopped []time.Duration
	for _, wk := range workers {
		stopped = append(stopped, wk.returned.Sub(killStart).Round(10*time.Millisecond))
	}
	slices.Sort(stopped)
	t.Logf("the workers stopped after the kill after %v", stopped)
	if ackedBeforeKill == 0 {
		t.Fatal("no claim was acknowledged before the kill: the test proves nothing")
	}
	if runningAtKill == 0 {
		t.Fatal("every worker had finished before the kill: nothing was in flight")
	}

	t.Run("errors after the kill", func(t *testing.T) {
		for w, wk := range workers {
			switch {
			case wk.err == nil:
				t.Errorf("worker %d: settled all %d claims, though the server was killed", w, durDays)
			case regie.ErrorKind(wk.err) != regie.Unavailable:
				t.Errorf("worker %d: claim %d failed with %v (kind %s), want kind %s",
					w, wk.failedAt, wk.err, regie.ErrorKind(wk.err), regie.Unavailable)
			case wk.returned.Before(killStart):
				t.Errorf("worker %d: claim %d failed before the kill: %v", w, wk.failedAt, wk.err)
			}
		}
	})

	if err := db.Close(); err != nil {
		t.Errorf("Close of the store whose server was killed: %v", err)
	}
	closed = true
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	db2, err := redis.Open(url, redis.Options{})
	if err != nil {
		t.Fatalf("open after the restart: %v", err)
	}
	t.Cleanup(func() { db2.Close() })

	// What is recorded now: every acknowledged decision, perhaps the claim in
	// flight at the kill, nothing after it.
	var acceptedTotal int
	inFlight := map[string]bool{} // claims in flight at the kill that were recorded
	t.Run("acknowledged decisions are recorded", func(t *testing.T) {
		for w, wk := range workers {
			for _, want := range wk.acked {
				got, err := db2.Decision(ctx, f.Provider.AGB, want.ClaimID)
				if err != nil {
					t.Errorf("worker %d: acknowledged claim %s (%s): %v", w, want.ClaimID, want.Status, err)
					continue
				}
				if diff := storetest.DiffDecision(got, want); diff != "" {
					t.Errorf("worker %d: claim %s recorded otherwise than acknowledged: %s", w, want.ClaimID, diff)
				}
			}
			if wk.failedAt >= durDays {
				continue
			}
			c := durClaim(f, wk.voucherID, w, wk.failedAt)
			switch got, err := db2.Decision(ctx, f.Provider.AGB, c.ClaimID); {
			case regie.ErrorKind(err) == regie.NotFound:
			case err != nil:
				t.Errorf("worker %d: Decision of the claim in flight %s: %v", w, c.ClaimID, err)
			default:
				inFlight[c.ClaimID] = true
				if got.Fingerprint != c.Fingerprint() || (got.Status == settlement.Accepted && got.JournalSeq == 0) {
					t.Errorf("worker %d: the claim in flight %s is recorded as %+v", w, c.ClaimID, got)
				}
			}
			if next := wk.failedAt + 1; next < durDays {
				c := durClaim(f, wk.voucherID, w, next)
				if _, err := db2.Decision(ctx, f.Provider.AGB, c.ClaimID); regie.ErrorKind(err) != regie.NotFound {
					t.Errorf("worker %d: claim %s, never sent, Decision = %v; want not found", w, c.ClaimID, err)
				}
			}
		}
		t.Logf("%d of %d claims in flight at the kill were recorded", len(inFlight), durWorkers)
	})

	t.Run("ledger", func(t *testing.T) {
		ids := make([]string, len(workers))
		accepted := map[string]int{} // voucher → accepted claims recorded
		for w, wk := range workers {
			ids[w] = wk.voucherID
			for _, d := range wk.acked {
				if d.Status == settlement.Accepted {
					accepted[wk.voucherID]++
				}
			}
			if wk.failedAt < durDays {
				c := durClaim(f, wk.voucherID, w, wk.failedAt)
				if inFlight[c.ClaimID] {
					if d, err := db2.Decision(ctx, f.Provider.AGB, c.ClaimID); err == nil && d.Status == settlement.Accepted {
						accepted[wk.voucherID]++
					}
				}
			}
		}
		for _, n := range accepted {
			acceptedTotal += n
		}
		entries := storetest.CheckLedger(t, db2, f.Region.ID, ids...)
		if len(entries) != acceptedTotal {
			t.Errorf("%d claim entries in the journal, %d accepted decisions recorded", len(entries), acceptedTotal)
		}
		for _, e := range entries {
			if e.Amount != storetest.ProviderPrice {
				t.Errorf("entry %d (%s) of %s", e.Seq, e.ClaimID, e.Amount)
			}
		}
		for _, id := range ids {
			v, err := db2.Voucher(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			l := v.Line(storetest.ProductHour)
			if want := l.MaxAmount - regie.Cents(accepted[id])*storetest.ProviderPrice; l.Remaining != want {
				t.Errorf("voucher %s: remaining %s, want %s (%d accepted)", id, l.Remaining, want, accepted[id])
			}
		}
		fig, err := storetest.Figures(ctx, db2, f.Region.ID)
		if err != nil {
			t.Fatal(err)
		}
		if fig.Settled != regie.Cents(acceptedTotal)*storetest.ProviderPrice || fig.Claims != int64(acceptedTotal) {
			t.Errorf("figures: %d claims settling %s, want %d settling %s",
				fig.Claims, fig.Settled, acceptedTotal, regie.Cents(acceptedTotal)*storetest.ProviderPrice)
		}
		keys, err := voucher.GenerateKeyRing()
		if err != nil {
			t.Fatal(err)
		}
		storetest.VerifyOK(t, db2, keys, f.Region.ID)
	})

	t.Run("settling goes on", func(t *testing.T) {
		// Every acknowledged claim replays; the claim in flight and the next
		// ones are decided now, from where the journal was.
		var wg sync.WaitGroup
		for w, wk := range workers {
			wg.Go(func() {
				for _, want := range wk.acked {
					c := durClaim(f, wk.voucherID, w, indexOf(t, want.ClaimID))
					got, replay, err := db2.Settle(ctx, c, f.Now)
					if err != nil || !replay {
						t.Errorf("retry of acknowledged claim %s: replay %v, %v", c.ClaimID, replay, err)
						continue
					}
					if diff := storetest.DiffDecision(got, want); diff != "" {
						t.Errorf("retry of claim %s: %s", c.ClaimID, diff)
					}
				}
			})
		}
		wg.Wait()

		keys, err := voucher.GenerateKeyRing()
		if err != nil {
			t.Fatal(err)
		}
		head := func() (uint64, string) {
			r, err := db2.Region(ctx, f.Region.ID)
			if err != nil {
				t.Fatal(err)
			}
			j := storetest.ReadJournal(t, db2, f.Region.ID)
			if uint64(len(j)) != r.JournalSeq {
				t.Fatalf("region head %d, journal of %d entries", r.JournalSeq, len(j))
			}
			if len(j) == 0 {
				return 0, ""
			}
			return r.JournalSeq, j[len(j)-1].Hash
		}
		for w, wk := range workers {
			from := wk.failedAt
			if from >= durDays {
				continue
			}
			for i := from; i < min(from+3, durDays); i++ {
				c := durClaim(f, wk.voucherID, w, i)
				seq0, _ := head()
				d, replay, err := db2.Settle(ctx, c, f.Now)
				if err != nil {
					t.Fatalf("Settle %s after the restart: %v", c.ClaimID, err)
				}
				if replay != inFlight[c.ClaimID] {
					t.Errorf("Settle %s after the restart: replay %v, recorded before %v", c.ClaimID, replay, inFlight[c.ClaimID])
				}
				wantStatus := settlement.Accepted
				if c.UnitPrice > storetest.ProviderPrice {
					wantStatus = settlement.Rejected
				}
				if d.Status != wantStatus {
					t.Errorf("Settle %s after the restart: %s %q, want %s", c.ClaimID, d.Status, d.Reason, wantStatus)
				}
				if !replay && d.Status == settlement.Accepted && d.JournalSeq != seq0+1 {
					t.Errorf("Settle %s after the restart: journal seq %d, want %d", c.ClaimID, d.JournalSeq, seq0+1)
				}
			}
		}
		seq, hash := head()
		cp, err := settlement.SignCheckpoint(keys, f.Region.ID, seq, hash, f.Now)
		if err != nil {
			t.Fatal(err)
		}
		if err := db2.PutCheckpoint(ctx, cp); err != nil {
			t.Fatal(err)
		}
		d := storetest.SettleAccepted(t, db2, f.ClaimOn(workers[0].voucherID, "after-checkpoint", storetest.ValidTo), f.Now)
		if d.JournalSeq != seq+1 {
			t.Errorf("claim after the checkpoint has seq %d, want %d", d.JournalSeq, seq+1)
		}
		ids := make([]string, len(workers))
		for w, wk := range workers {
			ids[w] = wk.voucherID
		}
		storetest.CheckLedger(t, db2, f.Region.ID, ids...)
		if rep := storetest.VerifyOK(t, db2, keys, f.Region.ID); rep.Checkpoints != 1 {
			t.Errorf("Verify counted %d checkpoints, want 1", rep.Checkpoints)
		}
	})
}

// indexOf returns the day index of a claim id made by durClaim.
func indexOf(t testing.TB, claimID string) int {
	var w, i int
	if _, err := fmt.Sscanf(claimID, "w%02d-c%03d", &w, &i); err != nil {
		t.Fatalf("claim id %q: %v", claimID, err)
	}
	return i
}
