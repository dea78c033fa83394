package redis_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/redis/redistest"
	"github.com/regie-nl/regie/store/storetest"
	"github.com/regie-nl/regie/voucher"
)

// Bounds of TestDB_RedisDown.
const (
	downPrompt  = 5 * time.Second  // a call while Redis is down fails within this
	downRecover = 10 * time.Second // Ping answers again within this after the restart
)

// within runs fn and fails the test unless it returns within d.
func within[T any](t *testing.T, d time.Duration, what string, fn func() T) T {
	t.Helper()
	done := make(chan T, 1)
	start := time.Now()
	go func() { done <- fn() }()
	select {
	case v := <-done:
		t.Logf("%s returned in %v", what, time.Since(start).Round(time.Millisecond))
		return v
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
		var zero T
		return zero
	}
}

// wantUnavailable fails the test unless err is the store's Unavailable error.
func wantUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s while Redis is down: no error", what)
		return
	}
	if regie.ErrorKind(err) != regie.Unavailable || regie.ErrorCode(err) != "store_unavailable" {
		t.Errorf("%s while Redis is down: %v (kind %s, code %q), want kind %s, code store_unavailable",
			what, err, regie.ErrorKind(err), regie.ErrorCode(err), regie.Unavailable)
	}
}

// TestDB_RedisDown stops the Redis server under an open store (with SIGKILL,
// and gracefully), expects every call to fail promptly as Unavailable, starts
// the server again and expects the same store, not reopened, to serve again
// with nothing changed by the calls that failed.
func TestDB_RedisDown(t *testing.T) {
	for _, tc := range []struct {
		name string
		down func(*redistest.Server) error
	}{
		{"kill", (*redistest.Server).Kill},
		{"stop", (*redistest.Server).Stop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.StartT(t, redistest.Config{AppendOnly: true, AppendFsync: "always"})
			db := open(t, srv.URL())
			t.Cleanup(func() { db.Close() })
			ctx := t.Context()
			f := storetest.NewFixture("down")
			f.Put(t, db)
			d1 := storetest.SettleAccepted(t, db, f.Claim("c-1", storetest.Day(1)), f.Now)
			before := storetest.TakeSnapshot(t, db, f.Voucher.ID)

			if err := tc.down(srv); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			wantUnavailable(t, "Ping", within(t, downPrompt, "Ping", func() error { return db.Ping(ctx) }))
			c2 := f.Claim("c-2", storetest.Day(2))
			wantUnavailable(t, "Settle", within(t, downPrompt, "Settle", func() error {
				_, _, err := db.Settle(ctx, c2, f.Now)
				return err
			}))
			// A retry of a claim this process recorded may be answered from
			// its cache (the decision does not change); else it fails too.
			type settled struct {
				d      settlement.Decision
				replay bool
				err    error
			}
			r := within(t, downPrompt, "Settle of a recorded claim", func() settled {
				d, replay, err := db.Settle(ctx, f.Claim("c-1", storetest.Day(1)), f.Now)
				return settled{d, replay, err}
			})
			if r.err != nil {
				wantUnavailable(t, "Settle of a recorded claim", r.err)
			} else if diff := storetest.DiffDecision(r.d, d1); !r.replay || diff != "" {
				t.Errorf("Settle of a recorded claim while Redis is down: replay %v, %s", r.replay, diff)
			} else {
				t.Log("the retry of a recorded claim was answered from the process's cache")
			}
			wantUnavailable(t, "Decision", within(t, downPrompt, "Decision", func() error {
				_, err := db.Decision(ctx, f.Provider.AGB, "c-1")
				return err
			}))
			// Concurrent claims share the group commit: each fails on its own.
			errs := within(t, downPrompt, "concurrent Settles", func() []error {
				errs := make([]error, 8)
				var wg sync.WaitGroup
				for i := range errs {
					wg.Go(func() {
						_, _, errs[i] = db.Settle(ctx, f.Claim(fmt.Sprint("c-down-", i), storetest.Day(10+i)), f.Now)
					})
				}
				wg.Wait()
				return errs
			})
			for i, err := range errs {
				wantUnavailable(t, fmt.Sprint("concurrent Settle ", i), err)
			}
			t.Logf("calls while down returned within %v", time.Since(start).Round(time.Millisecond))

			if err := srv.Restart(); err != nil {
				t.Fatal(err)
			}
			restarted := time.Now()
			for {
				err := db.Ping(ctx)
				if err == nil {
					break
				}
				if time.Since(restarted) > downRecover {
					t.Fatalf("Ping %v after the restart: %v", downRecover, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Logf("Ping answered %v after the restart", time.Since(restarted).Round(time.Millisecond))

			// Nothing of the failed calls was written.
			if diff := before.Diff(storetest.TakeSnapshot(t, db, f.Voucher.ID)); diff != "" {
				t.Fatalf("the calls that failed changed the store:\n%s", diff)
			}
			for _, id := range []string{"c-2", "c-down-0", "c-down-7"} {
				if _, err := db.Decision(ctx, f.Provider.AGB, id); regie.ErrorKind(err) != regie.NotFound {
					t.Errorf("claim %s, failed while down: Decision = %v, want not found", id, err)
				}
			}

			// The same store serves again: a retry replays, the failed claim is
			// decided now, and the journal goes on.
			got, replay, err := db.Settle(ctx, f.Claim("c-1", storetest.Day(1)), f.Now)
			if err != nil || !replay {
				t.Fatalf("retry of c-1 after the restart: replay %v, %v", replay, err)
			}
			if diff := storetest.DiffDecision(got, d1); diff != "" {
				t.Errorf("retry of c-1 after the restart: %s", diff)
			}
			d2 := storetest.SettleAccepted(t, db, c2, f.Now)
			if d2.JournalSeq != d1.JournalSeq+1 {
				t.Errorf("c-2 after the restart: journal seq %d, want %d", d2.JournalSeq, d1.JournalSeq+1)
			}
			d3 := storetest.SettleAccepted(t, db, f.Claim("c-3", storetest.Day(3)), f.Now)
			if d3.JournalSeq != d2.JournalSeq+1 {
				t.Errorf("c-3 after the restart: journal seq %d, want %d", d3.JournalSeq, d2.JournalSeq+1)
			}
			if entries := storetest.CheckLedger(t, db, f.Region.ID, f.Voucher.ID); len(entries) != 3 {
				t.Errorf("%d claim entries, want 3", len(entries))
			}
			keys, err := voucher.GenerateKeyRing()
			if err != nil {
				t.Fatal(err)
			}
			storetest.VerifyOK(t, db, keys, f.Region.ID)
			if fig, err := storetest.Figures(ctx, db, f.Region.ID); err != nil {
				t.Fatal(err)
			} else if fig.Claims != 3 || fig.Settled != 3*storetest.ProviderPrice {
				t.Errorf("figures %+v, want 3 claims settling %s", fig, 3*storetest.ProviderPrice)
			}
		})
	}
}
