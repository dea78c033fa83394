package kvstore

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/kv"
	"github.com/regie-nl/regie/voucher"
)

// BenchmarkDB_MillionVouchers measures what the issue asks of a full-country
// store: a file with 1,000,000 vouchers (each with its issue entry in a
// region journal) opens quickly and serves reads with little memory. It writes
// the file once (not timed), then reports the time to Open and the resident
// memory the open store adds after 10,000 random voucher reads.
func BenchmarkDB_MillionVouchers(b *testing.B) {
	const n = 1_000_000
	path := filepath.Join(b.TempDir(), "million.db")
	db, err := openFile(path)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	regions := make([]string, 31)
	for i := range regions {
		regions[i] = fmt.Sprintf("r%02d", i)
		if err := db.PutRegion(ctx, settlement.Region{ID: regions[i], Name: regions[i], Year: 2026, Budget: 1_000_000_000_00}); err != nil {
			b.Fatal(err)
		}
	}
	issued := time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)
	from, to := regie.DateOf(issued), regie.DateOf(issued).AddDays(364)
	for start := 0; start < n; start += 10000 {
		err := db.kv.Update(func(tx kv.Tx) error {
			for i := start; i < start+10000; i++ {
				v := &voucher.Voucher{
					ID: fmt.Sprintf("v%026d", i), Subject: fmt.Sprintf("c%032d", i), Law: voucher.Wmo,
					Region: regions[i%len(regions)], ValidFrom: from, ValidTo: to, IssuedAt: issued, KeyID: "k", State: voucher.Active,
					Lines: []voucher.Line{{Product: "WMO-BEG", UnitsPerWeek: 400, Units: 20857, MaxAmount: 1426619, Remaining: 1426619}},
				}
				r, err := mustRegion(tx, v.Region)
				if err != nil {
					return err
				}
				e := settlement.IssueEntry(v, issued)
				if err := appendEntry(tx, r, &e); err != nil {
					return err
				}
				if err := putRegion(tx, r); err != nil {
					return err
				}
				if err := putJSON(tx.Bucket(bucketVouchers), []byte(v.ID), v); err != nil {
					return err
				}
				if err := tx.Bucket(bucketVoucherTokens).Put([]byte(v.ID), []byte(strings.Repeat("t", 420))); err != nil {
					return err
				}
				if err := tx.Bucket(bucketVouchersBySubject).Put(key(v.Subject, v.ID), nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	info, _ := os.Stat(path)
	runtime.GC()
	debug.FreeOSMemory()
	before := residentKiB(b)

	b.ResetTimer()
	start := time.Now()
	db, err = openFile(path)
	if err != nil {
		b.Fatal(err)
	}
	opened := time.Since(start)
	for range 10000 {
		if _, err := db.Voucher(ctx, fmt.Sprintf("v%026d", rand.IntN(n))); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.GC()
	after := residentKiB(b)
	db.Close()
	b.ReportMetric(float64(opened.Milliseconds()), "open-ms")
	b.ReportMetric(float64(after-before)/1024, "added-RSS-MiB")
	b.ReportMetric(float64(info.Size())/(1<<20), "file-MiB")
}

// residentKiB reads VmRSS of this process.
func residentKiB(b *testing.B) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kib, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kib
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
