package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/bolt"
	"github.com/regie-nl/regie/store/storetest"
	"github.com/regie-nl/regie/voucher"
	bbolt "go.etcd.io/bbolt"
)

// TestVerify is the accountant's check end to end: a store with claims and a
// signed checkpoint verifies with only the public keys; after one byte of one
// stored journal entry changes, verify fails and names that entry.
func TestVerify(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "regie.db")
	keys, err := voucher.GenerateKeyRing()
	if err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := storetest.NewFixture("a")
	f.Put(t, db)
	for i := range 3 {
		storetest.SettleAccepted(t, db, f.Claim("c-"+string(rune('1'+i)), storetest.Day(i+1)), f.Now)
	}
	svc := &settlement.Service{Ledger: db, Keys: keys, Now: func() time.Time { return f.Now }}
	if n, err := svc.Checkpoint(ctx); err != nil || n == 0 {
		t.Fatalf("Checkpoint = %d, %v", n, err)
	}
	head, err := db.Region(ctx, f.Region.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(keys.JWKS())
	jwksFile := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(jwksFile, jwks, 0o600); err != nil {
		t.Fatal(err)
	}

	verify := func() (string, error) {
		out, err := os.CreateTemp(dir, "out")
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		ring, err := verifyKeys(jwksFile, "", "")
		if err != nil {
			t.Fatal(err)
		}
		st, err := bolt.Open(path, bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		verr := verifyRegions(ctx, out, st, ring, "")
		b, _ := os.ReadFile(out.Name())
		return string(b), verr
	}

	report, err := verify()
	if err != nil || !strings.Contains(report, "0 failed") {
		t.Fatalf("clean store: %v\n%s", err, report)
	}

	// Change one digit of the amount of the last entry (a settlement), in place.
	raw, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = raw.Update(func(tx *bbolt.Tx) error {
		jb := tx.Bucket([]byte("journal")).Bucket([]byte(f.Region.ID))
		k, v := jb.Cursor().Last()
		i := bytes.Index(v, []byte(`"amount":"`)) + len(`"amount":"`)
		changed := append([]byte(nil), v...)
		changed[i] = '9'
		if changed[i] == v[i] {
			changed[i] = '8'
		}
		return jb.Put(append([]byte(nil), k...), changed)
	})
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}

	report, err = verify()
	if err == nil {
		t.Fatalf("verify passed a changed entry:\n%s", report)
	}
	want := "entry " + strconv.FormatUint(head.JournalSeq, 10) + " of " + f.Region.ID
	if !strings.Contains(report, want) || !strings.Contains(report, "FAILED") {
		t.Errorf("report does not name %q:\n%s", want, report)
	}

	// Without --jwks and without key files, verify refuses rather than
	// creating keys that would call every checkpoint forged.
	if _, err := verifyKeys("", filepath.Join(dir, "nothing"), ""); err == nil {
		t.Error("verify made up keys")
	}
}
