package storetest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store"
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
		fig, err := s.Figures(ctx, r.ID)
		must(t, err, "Figures "+r.ID)
		snap.Figures[r.ID] = fig
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
// region, and have the postings of a settlement of a positive amount. It
// returns the entries.
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
		if e.Type != "settle" || e.Amount <= 0 {
			t.Errorf("journal %s: entry %d is %q of %s, want a settlement of a positive amount", region, e.Seq, e.Type, e.Amount)
			continue
		}
		want := []settlement.Posting{
			{Account: settlement.VoucherAccount(e.VoucherID, e.Product), Amount: -e.Amount},
			{Account: settlement.RegionAccount(region), Amount: e.Amount},
			{Account: settlement.ProviderAccount(e.ProviderAGB), Amount: e.Amount},
		}
		if !reflect.DeepEqual(e.Postings, want) {
			t.Errorf("journal %s: entry %d postings %+v, want %+v", region, e.Seq, e.Postings, want)
		}
	}
	return entries
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

// CheckLedger checks the invariants of settlement that a store lets one read,
// for a region and the given vouchers in it: the journal checks (CheckJournal);
// the region's settled total and claim count are the sum and count of its
// journal entries; every voucher line's remaining balance is its maximum plus
// the sum of its postings and never below zero; every entry is the recorded,
// accepted decision of its claim (same amount, same seq), and no claim is in
// the journal twice. It returns the entries.
func CheckLedger(t testing.TB, s store.Store, region string, voucherIDs ...string) []settlement.Entry {
	t.Helper()
	ctx := t.Context()
	entries := CheckJournal(t, s, region)
	sums := Sums(entries)
	fig, err := s.Figures(ctx, region)
	must(t, err, "Figures")
	if fig.Settled != sums[settlement.RegionAccount(region)] {
		t.Errorf("region %s: settled %s, journal sum %s", region, fig.Settled, sums[settlement.RegionAccount(region)])
	}
	if fig.Claims != int64(len(entries)) {
		t.Errorf("region %s: %d accepted claims, journal has %d entries", region, fig.Claims, len(entries))
	}
	if fig.Remaining != fig.Budget-fig.Settled {
		t.Errorf("region %s: remaining %s, want budget %s − settled %s", region, fig.Remaining, fig.Budget, fig.Settled)
	}
	for _, id := range voucherIDs {
		v, err := s.Voucher(ctx, id)
		must(t, err, "Voucher "+id)
		for _, l := range v.Lines {
			want := l.MaxAmount + sums[settlement.VoucherAccount(id, l.Product)]
			if l.Remaining != want {
				t.Errorf("voucher %s line %s: remaining %s, want max %s + postings = %s", id, l.Product, l.Remaining, l.MaxAmount, want)
			}
			if l.Remaining < 0 {
				t.Errorf("voucher %s line %s: remaining %s is below zero", id, l.Product, l.Remaining)
			}
		}
	}
	seen := map[string]bool{}
	for _, e := range entries {
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
		if d.Status != settlement.Accepted || d.Amount != e.Amount || d.JournalSeq != e.Seq ||
			d.VoucherID != e.VoucherID || d.Product != e.Product || d.Region != region {
			t.Errorf("journal %s entry %d (%s %s) does not match the recorded decision %+v", region, e.Seq, e.ClaimID, e.Amount, d)
		}
	}
	return entries
}
