package storetest

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store"
	"github.com/regie-nl/regie/voucher"
)

// wantErr fails the test unless err is an application error of kind and code.
func wantErr(t testing.TB, err error, kind regie.Kind, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s %q", kind, code)
	}
	if regie.ErrorKind(err) != kind || regie.ErrorCode(err) != code {
		t.Fatalf("got error %v (kind %s, code %q), want kind %s, code %q",
			err, regie.ErrorKind(err), regie.ErrorCode(err), kind, code)
	}
}

// must fails the test on a non-nil error.
func must(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// DiffDecision describes how two decisions differ, or returns "" when they
// are the same (times compared with Equal).
func DiffDecision(got, want settlement.Decision) string {
	var diffs []string
	if !got.DecidedAt.Equal(want.DecidedAt) {
		diffs = append(diffs, fmt.Sprintf("DecidedAt %v, want %v", got.DecidedAt, want.DecidedAt))
	}
	got.DecidedAt = want.DecidedAt
	if got != want {
		diffs = append(diffs, fmt.Sprintf("got %+v\nwant %+v", got, want))
	}
	return strings.Join(diffs, "; ")
}

// Snapshot is everything a settlement may change that a store lets one read:
// the lines and state of some vouchers, the figures and journal of every region.
type Snapshot struct {
	Lines   map[string]any // voucher id → lines and state
	Figures map[string]settlement.Figures
	Journal map[string][]settlement.Entry
}

// TakeSnapshot reads a Snapshot of the given vouchers and of every region.
func TakeSnapshot(t testing.TB, s store.Store, voucherIDs ...string) Snapshot {
	t.Helper()
	ctx := t.Context()
	snap := Snapshot{Lines: map[string]any{}, Figures: map[string]settlement.Figures{}, Journal: map[string][]settlement.Entry{}}
	for _, id := range voucherIDs {
		v, err := s.Voucher(ctx, id)
		must(t, err, "Voucher "+id)
		snap.Lines[id] = []any{v.State, v.Lines}
	}
	regions, err := s.Regions(ctx)
	must(t, err, "Regions")
	for _, r := range regions {
		st, err := s.Region(ctx, r.ID)
		must(t, err, "Region "+r.ID)
		snap.Figures[r.ID] = st.Figures()
		snap.Journal[r.ID] = ReadJournal(t, s, r.ID)
	}
	return snap
}

// Diff describes how b differs from a, or returns "".
func (a Snapshot) Diff(b Snapshot) string {
	var diffs []string
	for id, l := range a.Lines {
		if !reflect.DeepEqual(l, b.Lines[id]) {
			diffs = append(diffs, fmt.Sprintf("voucher %s: %+v, then %+v", id, l, b.Lines[id]))
		}
	}
	if !reflect.DeepEqual(a.Figures, b.Figures) {
		diffs = append(diffs, fmt.Sprintf("figures: %+v, then %+v", a.Figures, b.Figures))
	}
	for r, ja := range a.Journal {
		jb := b.Journal[r]
		if len(ja) != len(jb) || (len(ja) > 0 && ja[len(ja)-1].Hash != jb[len(jb)-1].Hash) {
			diffs = append(diffs, fmt.Sprintf("journal %s: %d entries, then %d", r, len(ja), len(jb)))
		}
	}
	if len(a.Journal) != len(b.Journal) {
		diffs = append(diffs, fmt.Sprintf("journals of %d regions, then %d", len(a.Journal), len(b.Journal)))
	}
	return strings.Join(diffs, "\n")
}

// ReadJournal returns every journal entry of a region, in order.
func ReadJournal(t testing.TB, s store.Store, region string) []settlement.Entry {
	t.Helper()
	var out []settlement.Entry
	err := s.Journal(t.Context(), region, func(e settlement.Entry) error {
		out = append(out, e)
		return nil
	})
	must(t, err, "Journal "+region)
	return out
}

// CheckJournal reads a region's journal and checks that its entries are
// numbered 1..n, each sealed onto the one before (CheckSeal), belong to the
// region, and that every claim entry (settle, hold) debits its voucher line by
// its positive amount. It returns all entries.
func CheckJournal(t testing.TB, s store.Store, region string) []settlement.Entry {
	t.Helper()
	entries := ReadJournal(t, s, region)
	prev := ""
	for i, e := range entries {
		if e.Seq != uint64(i+1) {
			t.Fatalf("journal %s: entry %d has seq %d, want %d", region, i, e.Seq, i+1)
		}
		if err := e.CheckSeal(prev); err != nil {
			t.Fatalf("journal %s: %v", region, err)
		}
		prev = e.Hash
		if e.Region != region {
			t.Errorf("journal %s: entry %d names region %q", region, e.Seq, e.Region)
		}
		if e.Type != settlement.EntrySettle && e.Type != settlement.EntryHold {
			continue
		}
		if e.Amount <= 0 || len(e.Postings) == 0 ||
			e.Postings[0] != (settlement.Posting{Account: settlement.VoucherAccount(e.VoucherID, e.Product), Amount: -e.Amount}) {
			t.Errorf("journal %s: entry %d (%s of %s) does not debit its voucher line: %+v", region, e.Seq, e.Type, e.Amount, e.Postings)
		}
	}
	return entries
}

// ClaimEntries returns the settle and hold entries among entries.
func ClaimEntries(entries []settlement.Entry) []settlement.Entry {
	var out []settlement.Entry
	for _, e := range entries {
		if e.Type == settlement.EntrySettle || e.Type == settlement.EntryHold {
			out = append(out, e)
		}
	}
	return out
}

// Sums adds up the postings of entries per account.
func Sums(entries []settlement.Entry) map[string]regie.Cents {
	sums := map[string]regie.Cents{}
	for _, e := range entries {
		for _, p := range e.Postings {
			sums[p.Account] += p.Amount
		}
	}
	return sums
}

// CheckLedger checks the invariants of DESIGN.md that a store lets one read,
// for a region and the given vouchers in it: the journal checks
// (CheckJournal); settlement.Verify finds every stored balance equal to the
// sum of its postings; the claim count is claims less reversals; no voucher
// line is below zero or has more committed than remaining; settled and held
// are not negative; under cap, settled + held stay within the budget; every
// claim entry is the recorded decision of its claim (same status, amount and
// seq), and no claim is debited twice. It returns the claim entries.
func CheckLedger(t testing.TB, s store.Store, region string, voucherIDs ...string) []settlement.Entry {
	t.Helper()
	ctx := t.Context()
	entries := CheckJournal(t, s, region)
	keys, err := voucher.GenerateKeyRing()
	must(t, err, "GenerateKeyRing")
	rep, err := settlement.Verify(ctx, s, keys, region)
	must(t, err, "Verify")
	for _, p := range rep.Problems {
		if !strings.HasPrefix(p, "checkpoint") { // checkpoints are signed by the server's keys, not these
			t.Errorf("verify %s: %s", region, p)
		}
	}
	r, err := s.Region(ctx, region)
	must(t, err, "Region")
	claims, reversals := 0, 0
	for _, e := range entries {
		switch e.Type {
		case settlement.EntrySettle, settlement.EntryHold:
			claims++
		case settlement.EntryReverse:
			reversals++
		}
	}
	if r.Claims != int64(claims-reversals) {
		t.Errorf("region %s: %d claims, journal has %d claims less %d reversals", region, r.Claims, claims, reversals)
	}
	if r.Settled < 0 || r.Held < 0 || r.Committed < 0 {
		t.Errorf("region %s: settled %s, held %s, committed %s: none may be negative", region, r.Settled, r.Held, r.Committed)
	}
	if r.Policy.Kind == settlement.Cap && r.Settled+r.Held > r.Budget {
		t.Errorf("region %s under cap: settled %s + held %s exceed the budget %s", region, r.Settled, r.Held, r.Budget)
	}
	for _, id := range voucherIDs {
		v, err := s.Voucher(ctx, id)
		must(t, err, "Voucher "+id)
		for _, l := range v.Lines {
			if l.Remaining < 0 || l.Committed < 0 || l.Committed > l.Remaining {
				t.Errorf("voucher %s line %s: remaining %s, committed %s", id, l.Product, l.Remaining, l.Committed)
			}
		}
	}
	claimEntries := ClaimEntries(entries)
	seen := map[string]bool{}
	for _, e := range claimEntries {
		k := e.ProviderAGB + "\x00" + e.ClaimID
		if seen[k] {
			t.Errorf("journal %s: claim %s of %s debited twice", region, e.ClaimID, e.ProviderAGB)
		}
		seen[k] = true
		d, err := s.Decision(ctx, e.ProviderAGB, e.ClaimID)
		if err != nil {
			t.Errorf("journal %s entry %d: Decision: %v", region, e.Seq, err)
			continue
		}
		want := settlement.Accepted
		if e.Type == settlement.EntryHold {
			want = settlement.Held
		}
		if d.Status != want || d.Amount != e.Amount || d.JournalSeq != e.Seq ||
			d.VoucherID != e.VoucherID || d.Product != e.Product || d.Region != region {
			t.Errorf("journal %s entry %d (%s %s) does not match the recorded decision %+v", region, e.Seq, e.ClaimID, e.Amount, d)
		}
	}
	return claimEntries
}

// Figures reads a region's figures through Ledger.Region.
func Figures(ctx context.Context, s store.Store, region string) (settlement.Figures, error) {
	r, err := s.Region(ctx, region)
	return r.Figures(), err
}
