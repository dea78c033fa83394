// Package kvtest is the contract every kv.DB backend passes: buckets,
// byte-ordered keys, cursors that see a transaction's own writes, sequences,
// rollback on error, and nested buckets. The store logic (kvstore) relies on
// each of these; the conformance suite of the stores exercises them only
// through it.
package kvtest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/regie-nl/regie/store/kv"
)

// Run runs the contract against fresh databases made by open.
func Run(t *testing.T, open func(t *testing.T) kv.DB) {
	fresh := func(t *testing.T) kv.DB {
		db := open(t)
		t.Cleanup(func() { db.Close() })
		must(t, db.Update(func(tx kv.Tx) error {
			_, err := tx.CreateBucketIfNotExists([]byte("b"))
			return err
		}))
		return db
	}
	t.Run("put get delete", func(t *testing.T) {
		db := fresh(t)
		must(t, db.Update(func(tx kv.Tx) error {
			b := tx.Bucket([]byte("b"))
			must(t, b.Put([]byte("k\x001"), []byte("one")))
			if got := b.Get([]byte("k\x001")); string(got) != "one" {
				t.Errorf("Get of an own write = %q", got)
			}
			must(t, b.Put([]byte("k\x002"), []byte("two")))
			must(t, b.Delete([]byte("k\x002")))
			if got := b.Get([]byte("k\x002")); got != nil {
				t.Errorf("Get of an own delete = %q", got)
			}
			return nil
		}))
		must(t, db.View(func(tx kv.Tx) error {
			b := tx.Bucket([]byte("b"))
			if got := b.Get([]byte("k\x001")); string(got) != "one" {
				t.Errorf("Get after commit = %q", got)
			}
			if got := b.Get([]byte("k\x002")); got != nil {
				t.Errorf("Get of a deleted key = %q", got)
			}
			if tx.Bucket([]byte("missing")) != nil {
				t.Error("Bucket of a missing bucket is not nil")
			}
			return nil
		}))
	})
	t.Run("an error rolls back", func(t *testing.T) {
		db := fresh(t)
		boom := errors.New("boom")
		err := db.Update(func(tx kv.Tx) error {
			must(t, tx.Bucket([]byte("b")).Put([]byte("x"), []byte("1")))
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Update = %v, want the function's error", err)
		}
		must(t, db.View(func(tx kv.Tx) error {
			if got := tx.Bucket([]byte("b")).Get([]byte("x")); got != nil {
				t.Errorf("a rolled back write is visible: %q", got)
			}
			return nil
		}))
	})
	t.Run("cursor order with own writes", func(t *testing.T) {
		db := fresh(t)
		// Stored: 0..9 (two digits, so byte order is number order), then a
		// transaction deletes the odd ones, adds 05a and 99, and walks.
		must(t, db.Update(func(tx kv.Tx) error {
			for i := range 10 {
				must(t, tx.Bucket([]byte("b")).Put(fmt.Appendf(nil, "%02d", i), fmt.Appendf(nil, "v%d", i)))
			}
			return nil
		}))
		want := []string{"00", "02", "04", "05a", "06", "08", "99"}
		must(t, db.Update(func(tx kv.Tx) error {
			b := tx.Bucket([]byte("b"))
			for i := 1; i < 10; i += 2 {
				must(t, b.Delete(fmt.Appendf(nil, "%02d", i)))
			}
			must(t, b.Put([]byte("05a"), []byte("new")))
			must(t, b.Put([]byte("99"), []byte("last")))
			must(t, b.Put([]byte("04"), []byte("changed")))
			checkWalk(t, b, want)
			c := b.Cursor()
			if k, v := c.Seek([]byte("05")); string(k) != "05a" || string(v) != "new" {
				t.Errorf("Seek(05) = %q %q, want 05a new", k, v)
			}
			if k, v := c.Prev(); string(k) != "04" || string(v) != "changed" {
				t.Errorf("Prev after Seek = %q %q, want 04 changed", k, v)
			}
			if k, _ := c.Seek([]byte("999")); k != nil {
				t.Errorf("Seek past the end = %q", k)
			}
			if k, _ := c.Last(); string(k) != "99" {
				t.Errorf("Last = %q", k)
			}
			if k, _ := c.Prev(); string(k) != "08" {
				t.Errorf("Prev from the last = %q", k)
			}
			return nil
		}))
		must(t, db.View(func(tx kv.Tx) error {
			checkWalk(t, tx.Bucket([]byte("b")), want)
			return nil
		}))
	})
	t.Run("long walks", func(t *testing.T) {
		db := fresh(t)
		const n = 1000
		must(t, db.Update(func(tx kv.Tx) error {
			for i := range n {
				must(t, tx.Bucket([]byte("b")).Put(fmt.Appendf(nil, "%04d", i), []byte("v")))
			}
			return nil
		}))
		must(t, db.View(func(tx kv.Tx) error {
			var keys []string
			must(t, tx.Bucket([]byte("b")).ForEach(func(k, _ []byte) error {
				keys = append(keys, string(k))
				return nil
			}))
			if len(keys) != n || keys[0] != "0000" || keys[n-1] != fmt.Sprintf("%04d", n-1) {
				t.Fatalf("ForEach saw %d keys, %v … %v", len(keys), keys[:1], keys[len(keys)-1:])
			}
			c, i := tx.Bucket([]byte("b")).Cursor(), n-1
			for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
				if string(k) != fmt.Sprintf("%04d", i) {
					t.Fatalf("backwards walk at %d: %q", i, k)
				}
				i--
			}
			if i != -1 {
				t.Fatalf("backwards walk stopped at %d", i)
			}
			return nil
		}))
	})
	t.Run("sequences", func(t *testing.T) {
		db := fresh(t)
		for want := uint64(1); want <= 3; want++ {
			must(t, db.Update(func(tx kv.Tx) error {
				got, err := tx.Bucket([]byte("b")).NextSequence()
				if err == nil && got != want {
					t.Errorf("NextSequence = %d, want %d", got, want)
				}
				return err
			}))
		}
	})
	t.Run("nested buckets", func(t *testing.T) {
		db := fresh(t)
		must(t, db.Update(func(tx kv.Tx) error {
			for _, name := range []string{"r2", "r1"} {
				nb, err := tx.Bucket([]byte("b")).CreateBucketIfNotExists([]byte(name))
				must(t, err)
				must(t, nb.Put([]byte("k"), []byte(name)))
			}
			return tx.Bucket([]byte("b")).Put([]byte("plain"), []byte("p"))
		}))
		must(t, db.View(func(tx kv.Tx) error {
			b := tx.Bucket([]byte("b"))
			var names []string
			must(t, b.ForEachBucket(func(name []byte) error {
				names = append(names, string(name))
				return nil
			}))
			if fmt.Sprint(names) != "[r1 r2]" {
				t.Errorf("ForEachBucket = %v, want [r1 r2]", names)
			}
			checkWalk(t, b, []string{"plain"}) // nested buckets are not keys
			if got := b.Bucket([]byte("r1")).Get([]byte("k")); string(got) != "r1" {
				t.Errorf("nested Get = %q", got)
			}
			if b.Bucket([]byte("r3")) != nil {
				t.Error("a missing nested bucket is not nil")
			}
			return nil
		}))
	})
	t.Run("delete bucket", func(t *testing.T) {
		db := fresh(t)
		must(t, db.Update(func(tx kv.Tx) error {
			b, err := tx.CreateBucket([]byte("gone"))
			must(t, err)
			return b.Put([]byte("k"), []byte("v"))
		}))
		must(t, db.Update(func(tx kv.Tx) error {
			must(t, tx.DeleteBucket([]byte("gone")))
			b, err := tx.CreateBucket([]byte("gone"))
			must(t, err)
			if got := b.Get([]byte("k")); got != nil {
				t.Errorf("a recreated bucket still has %q", got)
			}
			return nil
		}))
		must(t, db.View(func(tx kv.Tx) error {
			checkWalk(t, tx.Bucket([]byte("gone")), nil)
			return nil
		}))
	})
	t.Run("OnCommit runs once after commit", func(t *testing.T) {
		db := fresh(t)
		ran := 0
		must(t, db.Update(func(tx kv.Tx) error {
			tx.OnCommit(func() { ran++ })
			return tx.Bucket([]byte("b")).Put([]byte("k"), []byte("v"))
		}))
		if ran != 1 {
			t.Fatalf("OnCommit ran %d times", ran)
		}
	})
}

func checkWalk(t *testing.T, b kv.Bucket, want []string) {
	t.Helper()
	var got []string
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil {
			t.Errorf("key %q has a nil value", k)
		}
		got = append(got, string(k))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("walk = %v, want %v", got, want)
	}
	var back []string
	for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
		back = append([]string{string(k)}, back...)
	}
	if !bytes.Equal([]byte(fmt.Sprint(back)), []byte(fmt.Sprint(want))) {
		t.Errorf("walk backwards = %v, want %v", back, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
