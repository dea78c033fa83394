package rediskv_test

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"github.com/regie-nl/regie/store/kv"
	"github.com/regie-nl/regie/store/kv/kvtest"
	"github.com/regie-nl/regie/store/kv/rediskv"
	"github.com/regie-nl/regie/store/redis/redistest"
)

var names atomic.Int64

// open returns a database named name on srv, on a client of its own (as a
// second regie process would have).
func open(t *testing.T, srv *redistest.Server, name string) *rediskv.DB {
	t.Helper()
	db := rediskv.New(goredis.NewClient(&goredis.Options{Addr: srv.Addr()}), name)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestDB_Contract(t *testing.T) {
	srv := redistest.StartT(t, redistest.Config{})
	kvtest.Run(t, func(t *testing.T) kv.DB {
		return rediskv.New(goredis.NewClient(&goredis.Options{Addr: srv.Addr()}), fmt.Sprint("c", names.Add(1)))
	})
}

// Two processes on one database: a transaction whose reads another process
// overtook runs again on fresh reads; one whose reads still hold commits.
func TestDB_Conflicts(t *testing.T) {
	srv := redistest.StartT(t, redistest.Config{})
	a, b := open(t, srv, "x"), open(t, srv, "x")
	put := func(db *rediskv.DB, k, v string) {
		t.Helper()
		if err := db.Update(func(tx kv.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			return bk.Put([]byte(k), []byte(v))
		}); err != nil {
			t.Fatal(err)
		}
	}
	put(a, "n", "0")
	for _, k := range []string{"a1", "a3", "m1", "m3"} {
		put(a, k, "v")
	}

	t.Run("a read overtaken runs again", func(t *testing.T) {
		runs := 0
		err := a.Update(func(tx kv.Tx) error {
			runs++
			bk := tx.Bucket([]byte("b"))
			n, _ := strconv.Atoi(string(bk.Get([]byte("n"))))
			if runs == 1 {
				put(b, "n", strconv.Itoa(n+10)) // the other process, in between
			}
			return bk.Put([]byte("n"), []byte(strconv.Itoa(n+1)))
		})
		if err != nil {
			t.Fatal(err)
		}
		var got string
		a.View(func(tx kv.Tx) error { got = string(tx.Bucket([]byte("b")).Get([]byte("n"))); return nil })
		if runs != 2 || got != "11" {
			t.Fatalf("ran %d times, n = %s; want 2 runs and n = 11 (both increments)", runs, got)
		}
	})
	walkAndPut := func(insert string) (runs int) {
		t.Helper()
		err := a.Update(func(tx kv.Tx) error {
			runs++
			c := tx.Bucket([]byte("b")).Cursor()
			k, _ := c.Seek([]byte("a2")) // sees a3
			if runs == 1 {
				put(b, insert, "v")
			}
			return tx.Bucket([]byte("b")).Put([]byte("seen-"+insert), k)
		})
		if err != nil {
			t.Fatal(err)
		}
		return runs
	}
	t.Run("a key added where a walk looked is a conflict", func(t *testing.T) {
		if runs := walkAndPut("a2x"); runs != 2 {
			t.Fatalf("ran %d times, want 2: the walk from a2 would now land on a2x", runs)
		}
	})
	t.Run("a key added elsewhere in the bucket is not", func(t *testing.T) {
		if runs := walkAndPut("m2"); runs != 1 {
			t.Fatalf("ran %d times, want 1: m2 is outside what the walk read", runs)
		}
	})
	if _, conflicts := a.Stats(); conflicts != 2 {
		t.Fatalf("Stats counted %d conflicts, want 2", conflicts)
	}
}
