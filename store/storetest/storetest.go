// Package storetest is the conformance suite that every store backend passes:
// the documented contract of each method of store.Store, the settlement rules
// as a store applies them (one subtest per rejection reason, acceptance,
// idempotency, the budget mark), and the ledger invariants under concurrency.
//
// A backend runs it from its own tests:
//
//	func TestDB_Conformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			db, err := bolt.Open(filepath.Join(t.TempDir(), "regie.db"), bolt.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return db
//		})
//	}
//
// The exported fixture (Fixture) and checks (CheckLedger, CheckJournal,
// TakeSnapshot) serve backend-specific tests such as crash recovery and
// benchmarks.
package storetest

import (
	"testing"

	"github.com/regie-nl/regie/store"
)

// Opener returns a fresh, empty store. The suite closes it via t.Cleanup.
type Opener func(t *testing.T) store.Store

// Run runs the whole conformance suite. Every subtest opens its own store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	o := Opener(open)
	t.Run("Meta", func(t *testing.T) { testMeta(t, o) })
	t.Run("Vouchers", func(t *testing.T) { testVouchers(t, o) })
	t.Run("Tariffs", func(t *testing.T) { testTariffs(t, o) })
	t.Run("Providers", func(t *testing.T) { testProviders(t, o) })
	t.Run("Choices", func(t *testing.T) { testChoices(t, o) })
	t.Run("Regions", func(t *testing.T) { testRegions(t, o) })
	t.Run("Settle", func(t *testing.T) { testSettle(t, o) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, o) })
	t.Run("Policies", func(t *testing.T) { testPolicies(t, o) })
	t.Run("Reservations", func(t *testing.T) { testReservations(t, o) })
	t.Run("Switch", func(t *testing.T) { testSwitch(t, o) })
	t.Run("Corrections", func(t *testing.T) { testCorrections(t, o) })
	t.Run("Disputes", func(t *testing.T) { testDisputes(t, o) })
	t.Run("DrySettle", func(t *testing.T) { testDrySettle(t, o) })
	t.Run("SettleBatch", func(t *testing.T) { testSettleBatch(t, o) })
	t.Run("Verify", func(t *testing.T) { testVerify(t, o) })
	t.Run("Random", func(t *testing.T) { testRandom(t, o) })
	t.Run("Monitoring", func(t *testing.T) { RunMonitoring(t, open) })
}

// fresh opens a store for one test and closes it when the test ends.
func (o Opener) fresh(t *testing.T) store.Store {
	t.Helper()
	s := o(t)
	if s == nil {
		t.Fatal("open returned a nil store")
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// withFixture opens a store and puts a fixture named name in it.
func (o Opener) withFixture(t *testing.T, name string) (store.Store, *Fixture) {
	t.Helper()
	s := o.fresh(t)
	f := NewFixture(name)
	f.Put(t, s)
	return s, f
}

func testMeta(t *testing.T, o Opener) {
	s := o.fresh(t)
	ctx := t.Context()
	t.Run("Ping", func(t *testing.T) {
		must(t, s.Ping(ctx), "Ping")
	})
	t.Run("unset is empty", func(t *testing.T) {
		v, err := s.Meta(ctx, "demo_loaded")
		must(t, err, "Meta")
		if v != "" {
			t.Fatalf("Meta of an unset key = %q, want \"\"", v)
		}
	})
	t.Run("set, overwrite, independent keys", func(t *testing.T) {
		must(t, s.SetMeta(ctx, "a", "1"), "SetMeta")
		must(t, s.SetMeta(ctx, "b", "two"), "SetMeta")
		must(t, s.SetMeta(ctx, "a", "3"), "SetMeta")
		for k, want := range map[string]string{"a": "3", "b": "two", "c": ""} {
			got, err := s.Meta(ctx, k)
			must(t, err, "Meta")
			if got != want {
				t.Errorf("Meta(%q) = %q, want %q", k, got, want)
			}
		}
	})
}
