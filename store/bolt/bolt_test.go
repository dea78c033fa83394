package bolt_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store"
	"github.com/regie-nl/regie/store/bolt"
	"github.com/regie-nl/regie/store/storetest"
	"github.com/regie-nl/regie/voucher"
	bbolt "go.etcd.io/bbolt"
)

func openTemp(t testing.TB) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "data", "regie.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestDB_Conformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

// TestDB_Conformance_BatchOptions runs the concurrency part of the suite with
// tiny batches, so that many transactions interleave.
func TestDB_Conformance_BatchOptions(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := bolt.Open(filepath.Join(t.TempDir(), "regie.db"), bolt.Options{MaxBatchSize: 3, MaxBatchDelay: 100 * time.Microsecond})
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func TestDB_Reopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "regie.db")
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := storetest.NewFixture("a")
	f.Put(t, db)
	d := storetest.SettleAccepted(t, db, f.Claim("c-1", storetest.Day(1)), f.Now)
	if err := db.SetMeta(t.Context(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	got, err := db.Decision(t.Context(), f.Provider.AGB, "c-1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := storetest.DiffDecision(got, d); diff != "" {
		t.Fatalf("decision after reopening: %s", diff)
	}
	if v, _ := db.Meta(t.Context(), "k"); v != "v" {
		t.Fatalf("Meta after reopening = %q", v)
	}
	storetest.CheckLedger(t, db, f.Region.ID, f.Voucher.ID)
	// The journal goes on from where it was.
	if d2 := storetest.SettleAccepted(t, db, f.Claim("c-2", storetest.Day(2)), f.Now); d2.JournalSeq != d.JournalSeq+1 {
		t.Fatalf("journal seq after reopening = %d, want %d", d2.JournalSeq, d.JournalSeq+1)
	}
}

// TestDB_BatchRetry mixes claims that fail inside the shared transaction (their
// voucher names a region that does not exist) with good ones. bbolt then rolls
// the batch back and runs it again without the failing call, so every other
// call's function runs more than once: each good claim must still be decided
// once, debit once and be journalled once, and a failed claim records nothing.
func TestDB_BatchRetry(t *testing.T) {
	db := openTemp(t)
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	f := storetest.NewFixture("a")
	f.Provider.Regions = append(f.Provider.Regions, "gm-nowhere")
	f.Put(t, db)
	orphan := f.NewVoucher("v-orphan")
	orphan.Region = "gm-nowhere"
	if err := db.CreateVoucher(ctx, orphan, "t"); err != nil {
		t.Fatal(err)
	}
	// Accepting a choice commits the line in the voucher's region, which
	// fails here; the choice is stored as accepted instead.
	orphanChoice := f.NewChoice("ch-orphan", orphan.ID, storetest.ProductHour, f.Provider.AGB)
	orphanChoice.Status = matching.Accepted
	if err := db.CreateChoice(ctx, orphanChoice); err != nil {
		t.Fatal(err)
	}

	const good, bad = 48, 16
	var claims []settlement.Claim
	for i := range good + bad {
		if i%4 == 3 {
			claims = append(claims, f.ClaimOn(orphan.ID, fmt.Sprint("bad-", i), storetest.Day(i)))
		} else {
			claims = append(claims, f.Claim(fmt.Sprint("good-", i), storetest.Day(i)))
		}
	}
	errs := make([]error, len(claims))
	decisions := make([]settlement.Decision, len(claims))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range claims {
		wg.Go(func() {
			<-start
			decisions[i], _, errs[i] = db.Settle(ctx, c, f.Now)
		})
	}
	close(start)
	wg.Wait()
	for i, c := range claims {
		if c.VoucherID == orphan.ID {
			if errs[i] == nil {
				t.Errorf("claim %s on a voucher without a region: no error, %+v", c.ClaimID, decisions[i])
			}
			if _, err := db.Decision(ctx, c.ProviderAGB, c.ClaimID); regie.ErrorKind(err) != regie.NotFound {
				t.Errorf("failed claim %s is recorded: %v", c.ClaimID, err)
			}
			continue
		}
		if errs[i] != nil || decisions[i].Status != settlement.Accepted {
			t.Errorf("claim %s: %v %s %s", c.ClaimID, errs[i], decisions[i].Status, decisions[i].Reason)
		}
	}
	if entries := storetest.CheckLedger(t, db, f.Region.ID, f.Voucher.ID); len(entries) != good {
		t.Errorf("%d journal entries, want %d", len(entries), good)
	}
	v, err := db.Voucher(ctx, orphan.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Lines[0].Remaining != v.Lines[0].MaxAmount {
		t.Errorf("the orphan voucher was debited: %+v", v.Lines[0])
	}
}

// TestDB_VerifyTamper changes one byte of one stored journal entry in the
// file, behind the store's back (or removes the entry), and expects
// settlement.Verify (what `regie verify` runs and fails on) to report it and
// name the entry.
func TestDB_VerifyTamper(t *testing.T) {
	keys, err := voucher.GenerateKeyRing()
	if err != nil {
		t.Fatal(err)
	}
	// lastDigit returns a change of the last digit of the first field in an entry.
	lastDigit := func(field string) func(v []byte) ([]byte, error) {
		return func(v []byte) ([]byte, error) {
			i := bytes.Index(v, []byte(field))
			if i < 0 {
				return nil, fmt.Errorf("entry has no %s: %s", field, v)
			}
			changed := append([]byte(nil), v...)
			changed[i+len(field)-2] = '9' // 60.00 → 60.09
			if n := diffBytes(v, changed); n != 1 {
				return nil, fmt.Errorf("changed %d bytes, want 1", n)
			}
			return changed, nil
		}
	}
	voucherAccount := func(f *storetest.Fixture) string {
		return settlement.VoucherAccount(f.Voucher.ID, storetest.ProductHour)
	}
	for _, tc := range []struct {
		name string
		// tamper returns the entry's new content, nil to remove it
		tamper func(v []byte) ([]byte, error)
		// named is how far after the changed entry the one named is
		named uint64
		// account, when set, is an account whose balance no longer adds up
		account func(f *storetest.Fixture) string
	}{
		{name: "the amount of an entry", tamper: lastDigit(`"amount":"60.00"`)},
		{name: "a posting", tamper: lastDigit(`"amount":"-60.00"`), account: voucherAccount},
		{name: "a removed entry", tamper: func([]byte) ([]byte, error) { return nil, nil }, named: 1, account: voucherAccount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "regie.db")
			db, err := bolt.Open(path, bolt.Options{})
			if err != nil {
				t.Fatal(err)
			}
			f := storetest.NewFixture("a")
			f.Put(t, db)
			var seqs []uint64
			for i := range 3 {
				seqs = append(seqs, storetest.SettleAccepted(t, db, f.Claim(fmt.Sprint("c-", i), storetest.Day(i)), f.Now).JournalSeq)
			}
			cp, err := settlement.SignCheckpoint(keys, f.Region.ID, seqs[2], storetest.ReadJournal(t, db, f.Region.ID)[seqs[2]-1].Hash, f.Now)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.PutCheckpoint(t.Context(), cp); err != nil {
				t.Fatal(err)
			}
			storetest.VerifyOK(t, db, keys, f.Region.ID)
			entries := len(storetest.ReadJournal(t, db, f.Region.ID))
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}

			// The middle claim's entry is changed in the file.
			target := seqs[1]
			raw, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			err = raw.Update(func(tx *bbolt.Tx) error {
				jb := tx.Bucket([]byte("journal")).Bucket([]byte(f.Region.ID))
				if jb == nil {
					return errors.New("no journal bucket for the region")
				}
				k := binary.BigEndian.AppendUint64(nil, target)
				changed, err := tc.tamper(jb.Get(k))
				switch {
				case err != nil:
					return err
				case changed == nil:
					entries--
					return jb.Delete(k)
				}
				return jb.Put(k, changed)
			})
			if cerr := raw.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}

			db, err = bolt.Open(path, bolt.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			rep, err := settlement.Verify(t.Context(), db, keys, f.Region.ID)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK {
				t.Fatalf("Verify after changing entry %d: OK %+v", target, rep)
			}
			named := fmt.Sprintf("entry %d of %s", target+tc.named, f.Region.ID)
			found, foundAccount := false, false
			for _, p := range rep.Problems {
				switch {
				case strings.Contains(p, named):
					found = true
				case tc.account != nil && strings.HasPrefix(p, "account "):
					foundAccount = foundAccount || strings.HasPrefix(p, "account "+tc.account(f)+":")
				default:
					t.Errorf("unexpected problem: %s", p)
				}
			}
			if !found {
				t.Fatalf("Verify problems %q name no %q", rep.Problems, named)
			}
			if tc.account != nil && !foundAccount {
				t.Fatalf("Verify problems %q: the balance of %s no longer adds up and is not reported", rep.Problems, tc.account(f))
			}
			if rep.Entries != uint64(entries) || rep.Checkpoints != 1 {
				t.Fatalf("report %+v, want %d entries and 1 checkpoint", rep, entries)
			}
		})
	}
}

func diffBytes(a, b []byte) int {
	n := 0
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			n++
		}
	}
	return n + max(len(a), len(b)) - min(len(a), len(b))
}

// Durability: a child process settles claims concurrently and reports each
// decision on stdout once Settle has returned it; after ackBeforeKill
// acknowledgements it kills itself (SIGKILL on Unix) while other claims are
// still in flight, without closing the store. The parent reopens the file and
// checks that every acknowledged decision is there, and that the ledger is
// whole: balances equal their journal sums, the chain seals, nothing is debited
// twice.
const (
	crashEnv        = "REGIE_CRASH_CHILD"
	crashClaims     = 200
	crashAffordable = 150 // the line affords this many; the rest are rejected
	ackBeforeKill   = 100
	crashWorkers    = 32
)

func crashFixture() *storetest.Fixture {
	f := storetest.NewFixture("crash")
	probe := f.Claim("x", storetest.Day(0))
	amount, _ := probe.Amount()
	f.Voucher.Lines[0].MaxAmount = crashAffordable*amount + amount/2
	f.Voucher.Lines[0].Remaining = f.Voucher.Lines[0].MaxAmount
	return f
}

func crashClaim(f *storetest.Fixture, i int) settlement.Claim {
	return f.Claim(fmt.Sprintf("c-%03d", i), storetest.Day(i))
}

func TestDB_Durability(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(t, path)
		return
	}
	if testing.Short() {
		t.Skip("short")
	}
	path := filepath.Join(t.TempDir(), "regie.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestDB_Durability$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the child did not die: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	if !bytes.Contains(out, []byte("KILL\n")) {
		t.Fatalf("the child failed before killing itself: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	if runtime.GOOS != "windows" && exit.String() != "signal: killed" {
		t.Fatalf("the child ended with %q, want signal: killed", exit.String())
	}

	// Acknowledged decisions: "ACK claim-id status amount seq".
	type ack struct {
		status settlement.Status
		amount regie.Cents
		seq    uint64
	}
	acks := map[string]ack{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var id, status string
		var a ack
		if !strings.HasPrefix(sc.Text(), "ACK ") {
			continue
		}
		if _, err := fmt.Sscanf(sc.Text(), "ACK %s %s %d %d", &id, &status, &a.amount, &a.seq); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		a.status = settlement.Status(status)
		acks[id] = a
	}
	if len(acks) < ackBeforeKill {
		t.Fatalf("%d acknowledgements, want at least %d", len(acks), ackBeforeKill)
	}

	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatalf("reopen after the crash: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	f := crashFixture()
	probe := f.Claim("x", storetest.Day(0))
	amount, _ := probe.Amount()

	accepted, recorded := 0, 0
	for i := range crashClaims {
		c := crashClaim(f, i)
		d, err := db.Decision(ctx, c.ProviderAGB, c.ClaimID)
		a, acked := acks[c.ClaimID]
		if regie.ErrorKind(err) == regie.NotFound {
			if acked {
				t.Errorf("claim %s was acknowledged (%s) but is not recorded", c.ClaimID, a.status)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Decision %s: %v", c.ClaimID, err)
		}
		recorded++
		if d.Status == settlement.Accepted {
			accepted++
		} else if d.Reason != settlement.ReasonInsufficientBalance {
			t.Errorf("claim %s rejected for %q", c.ClaimID, d.Reason)
		}
		if acked && (d.Status != a.status || d.Amount != a.amount || d.JournalSeq != a.seq) {
			t.Errorf("claim %s: recorded %s %s seq %d, acknowledged %s %s seq %d",
				c.ClaimID, d.Status, d.Amount, d.JournalSeq, a.status, a.amount, a.seq)
		}
	}
	t.Logf("%d acknowledged, %d recorded, %d accepted", len(acks), recorded, accepted)
	if accepted > crashAffordable {
		t.Errorf("%d claims accepted, the line affords %d", accepted, crashAffordable)
	}
	entries := storetest.CheckLedger(t, db, f.Region.ID, f.Voucher.ID)
	if len(entries) != accepted {
		t.Errorf("%d journal entries, %d accepted decisions", len(entries), accepted)
	}
	v, err := db.Voucher(ctx, f.Voucher.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.Lines[0].Remaining, v.Lines[0].MaxAmount-regie.Cents(accepted)*amount; got != want {
		t.Errorf("line remaining %s, want %s", got, want)
	}
	fig, err := storetest.Figures(ctx, db, f.Region.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fig.Settled != regie.Cents(accepted)*amount || fig.Claims != int64(accepted) {
		t.Errorf("figures %+v, want %d claims settling %s", fig, accepted, regie.Cents(accepted)*amount)
	}

	// The store goes on: the claims never decided are decided now, and
	// acknowledged ones replay.
	for i := range crashClaims {
		c := crashClaim(f, i)
		d, replay, err := db.Settle(ctx, c, f.Now)
		if err != nil {
			t.Fatalf("Settle %s after the crash: %v", c.ClaimID, err)
		}
		if _, acked := acks[c.ClaimID]; acked && !replay {
			t.Errorf("acknowledged claim %s decided again after the crash", c.ClaimID)
		}
		if d.Status == settlement.Rejected && d.Reason != settlement.ReasonInsufficientBalance {
			t.Errorf("claim %s rejected for %q after the crash", c.ClaimID, d.Reason)
		}
	}
	if entries := storetest.CheckLedger(t, db, f.Region.ID, f.Voucher.ID); len(entries) != crashAffordable {
		t.Errorf("after deciding every claim: %d journal entries, want %d", len(entries), crashAffordable)
	}
}

// crashChild is the child side of TestDB_Durability.
func crashChild(t *testing.T, path string) {
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := crashFixture()
	f.Put(t, db)

	var (
		mu    sync.Mutex
		acked int
		next  atomic.Int64
		wg    sync.WaitGroup
	)
	ctx := context.Background()
	for range crashWorkers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= crashClaims {
					return
				}
				d, _, err := db.Settle(ctx, crashClaim(f, i), f.Now)
				if err != nil {
					fmt.Fprintf(os.Stderr, "Settle: %v\n", err)
					os.Exit(3)
				}
				mu.Lock()
				// One write per line, so that a line is never cut by the kill.
				os.Stdout.WriteString(fmt.Sprintf("ACK %s %s %d %d\n", d.ClaimID, d.Status, d.Amount, d.JournalSeq))
				acked++
				if acked == ackBeforeKill {
					os.Stdout.WriteString("KILL\n")
					p, _ := os.FindProcess(os.Getpid())
					p.Kill() // SIGKILL on Unix: no deferred code, no Close
					time.Sleep(time.Minute)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	fmt.Fprintln(os.Stderr, "all claims decided before the kill")
	os.Exit(4)
}

// BenchmarkDB_Settle settles distinct accepted claims: one caller at a time
// (serial) and many (parallel; 64 goroutines on two cores). Each claim is one
// day on one of many vouchers of one region, the hot account.
func BenchmarkDB_Settle(b *testing.B) {
	for _, mode := range []string{"serial", "parallel"} {
		b.Run(mode, func(b *testing.B) {
			db := openTemp(b)
			b.Cleanup(func() { db.Close() })
			storetest.BenchSettle(b, mode, db, nil)
			cs := db.CommitStats()
			if cs.Batches > 0 {
				b.ReportMetric(float64(cs.Settlements)/float64(cs.Batches), "claims/commit")
				b.ReportMetric(float64(cs.Pages)/float64(cs.Batches), "pages/commit")
				b.ReportMetric(float64(cs.Time.Microseconds())/float64(cs.Batches)/1000, "ms/commit")
			}
		})
	}
}
