package kvstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/kv"
	"github.com/regie-nl/regie/voucher"
)

// BenchmarkDB_FiguresJournalSize shows that a region's figures answer in
// time independent of the length of its journal: for each size it writes a
// region's journal of that many claim entries directly (BookClaim on one
// voucher line, spread over the days of the year, 3 products and 500
// providers, counted by the same counters a settlement uses; not timed), and
// then times reading the figures with their outlook as a funder does
// (Service.Figures), the per-provider and per-product drill-downs and the
// daily series. REGIE_BENCH_ENTRIES sets the sizes (default "1000,1000000").
func BenchmarkDB_FiguresJournalSize(b *testing.B) {
	sizes := []int{1000, 1_000_000}
	if v := os.Getenv("REGIE_BENCH_ENTRIES"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("REGIE_BENCH_ENTRIES: %q", v)
			}
			sizes = append(sizes, n)
		}
	}
	funder := regie.Principal{Role: regie.RoleFunder, Subject: "bench", Regions: []string{"r1"}}
	for _, n := range sizes {
		db, info := journalOf(b, n)
		svc := &settlement.Service{Ledger: db, Now: func() time.Time { return time.Date(2026, 10, 15, 12, 0, 0, 0, regie.Amsterdam) }}
		ctx := context.Background()
		b.Logf("%d entries: file %.0f MiB, written in %s", n, float64(info.size)/(1<<20), info.took.Round(time.Millisecond))
		b.Run(fmt.Sprintf("entries=%d/figures", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.Figures(ctx, funder, "r1"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("entries=%d/providers", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.ProviderBreakdown(ctx, funder, "r1"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("entries=%d/products", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.ProductBreakdown(ctx, funder, "r1"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("entries=%d/days", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.Series(ctx, funder, "r1", 0, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
		db.Close()
	}
}

type journalInfo struct {
	size int64
	took time.Duration
}

// journalOf writes a store whose region r1 has a journal of n claim entries.
func journalOf(b *testing.B, n int) (*DB, journalInfo) {
	b.Helper()
	start := time.Now()
	path := filepath.Join(b.TempDir(), "journal.db")
	db, err := openFile(path)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := db.PutRegion(ctx, settlement.Region{ID: "r1", Name: "r1", Year: 2026, Budget: 1_000_000_000_00}); err != nil {
		b.Fatal(err)
	}
	products := []string{"WMO-BEG", "WMO-DB", "VV04"}
	v := &voucher.Voucher{ID: "v1", Region: "r1"}
	for _, p := range products {
		v.Lines = append(v.Lines, voucher.Line{Product: p, Remaining: 1 << 60})
	}
	first := regie.DateOf(time.Date(2026, 1, 1, 12, 0, 0, 0, regie.Amsterdam))
	const chunk = 20_000
	for done := 0; done < n; {
		err := db.kv.Update(func(tx kv.Tx) error {
			r, err := mustRegion(tx, "r1")
			if err != nil {
				return err
			}
			c := newCounters(tx)
			for end := min(done+chunk, n); done < end; done++ {
				d := settlement.Decision{
					ProviderAGB: fmt.Sprintf("%08d", done%500), ClaimID: "c" + strconv.Itoa(done), VoucherID: v.ID,
					Product: products[done%len(products)], Units: 100, Amount: regie.Cents(5000 + done%1000), Status: settlement.Accepted,
				}
				// Spread evenly over the days through 14 October.
				at := first.AddDays(done * 287 / n).Time().Add(10 * time.Hour)
				e := settlement.BookClaim(&d, v, r, &settlement.ProviderTotals{}, at)
				if err := appendEntryTo(tx, c, r, &e); err != nil {
					return err
				}
			}
			if err := c.flush(); err != nil {
				return err
			}
			return putRegion(tx, r)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return db, journalInfo{size: st.Size(), took: time.Since(start)}
}
