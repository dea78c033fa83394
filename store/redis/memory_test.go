package redis_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/redis"
	"github.com/regie-nl/regie/store/redis/redistest"
	"github.com/regie-nl/regie/store/storetest"
	"github.com/regie-nl/regie/voucher"
)

// BenchmarkDB_Memory measures the memory Redis needs per active voucher and
// per settled claim, for sizing a deployment (docs/operations.md):
//
//	go test -run '^$' -bench Memory -benchtime 1x ./store/redis/
//
// On a fresh server without persistence it reads INFO memory used_memory
// before and after creating REGIE_BENCH_VOUCHERS vouchers (default 100,000;
// each with its token, its subject index and its "issue" journal entry),
// after an accepted choice on a fifth of them (at most 20,000), and after
// one accepted claim on each of those (the claim record, its indexes, the
// journal entry, the balances and tallies it moves). Identifiers, subjects
// and tokens have their real sizes: ids from voucher.NewID, 33-character
// pseudonyms, and each token signed with Ed25519 like voucher.Service does.
//
// It reports B/voucher, B/choice and B/claim; the work is done once,
// whatever b.N, so use -benchtime 1x.
func BenchmarkDB_Memory(b *testing.B) {
	n := 100_000
	if s := os.Getenv("REGIE_BENCH_VOUCHERS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 10 {
			b.Fatalf("REGIE_BENCH_VOUCHERS=%q: want a number ≥ 10", s)
		}
	}
	k := min(n/5, 20_000) // vouchers that get a choice and a claim

	srv := redistest.StartT(b, redistest.Config{})
	db, err := redis.Open(srv.URL(), redis.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	ctx := context.Background()
	keys, err := voucher.GenerateKeyRing()
	if err != nil {
		b.Fatal(err)
	}

	f := storetest.NewFixture("mem")
	f.Put(b, db)
	m0 := usedMemory(b, srv)

	start := time.Now()
	ids := make([]string, n)
	tokenBytes := 0
	for i := range ids {
		v := f.NewVoucher(voucher.NewID("v"))
		v.Subject = "c" + voucher.NewID("") + voucher.NewID("")[:6] // as long as a pseudonym
		token, err := keys.Sign(voucher.TokenType, tokenClaims(v))
		if err != nil {
			b.Fatal(err)
		}
		tokenBytes += len(token)
		if err := db.CreateVoucher(ctx, v, token); err != nil {
			b.Fatalf("CreateVoucher %d: %v", i, err)
		}
		ids[i] = v.ID
	}
	created := time.Since(start)
	m1 := usedMemory(b, srv)

	for _, id := range ids[:k] {
		storetest.AcceptChoice(b, db, f.NewChoice(voucher.NewID("ch"), id, storetest.ProductHour, f.Provider.AGB))
	}
	m2 := usedMemory(b, srv)

	// Claims are settled by 64 callers, as the API does under load (group
	// commit); memory does not depend on how they are grouped.
	start = time.Now()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		failure error
	)
	next := make(chan int)
	for range 64 {
		wg.Go(func() {
			for i := range next {
				c := f.ClaimOn(ids[i], fmt.Sprintf("2026-01-%07d", i), storetest.Day(i%300))
				d, _, err := db.Settle(ctx, c, f.Now)
				if err == nil && d.Status != settlement.Accepted {
					err = fmt.Errorf("claim %s: %s (%s)", c.ClaimID, d.Status, d.Reason)
				}
				if err != nil {
					mu.Lock()
					failure = err
					mu.Unlock()
				}
			}
		})
	}
	for i := range k {
		next <- i
	}
	close(next)
	wg.Wait()
	if failure != nil {
		b.Fatal(failure)
	}
	settled := time.Since(start)
	m3 := usedMemory(b, srv)
	b.StopTimer()

	b.Logf("used_memory: %d after the fixture, %d after %d vouchers (%v), %d after %d choices, %d after %d claims (%v)",
		m0, m1, n, created.Round(time.Millisecond), m2, k, m3, k, settled.Round(time.Millisecond))
	b.Logf("mean token %d B", tokenBytes/n)
	logKeys(b, srv)
	b.ReportMetric(float64(m1-m0)/float64(n), "B/voucher")
	b.ReportMetric(float64(m2-m1)/float64(k), "B/choice")
	b.ReportMetric(float64(m3-m2)/float64(k), "B/claim")
	b.ReportMetric(float64(m3)/(1<<20), "used-MiB")
}

// tokenClaims are the claims voucher.Service signs into a voucher's token.
func tokenClaims(v *voucher.Voucher) *voucher.Claims {
	c := &voucher.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: "regie", Subject: v.Subject, ID: v.ID,
			IssuedAt:  jwt.NewNumericDate(v.IssuedAt.Truncate(time.Second)),
			NotBefore: jwt.NewNumericDate(v.ValidFrom.Time()),
			ExpiresAt: jwt.NewNumericDate(v.ValidTo.AddDays(1).Time()),
		},
		Region: v.Region, Law: v.Law,
	}
	for _, l := range v.Lines {
		c.Lines = append(c.Lines, voucher.TokenLine{Product: l.Product, Units: l.Units, MaxAmount: l.MaxAmount})
	}
	return c
}

// usedMemory returns used_memory of INFO memory.
func usedMemory(b *testing.B, srv *redistest.Server) int64 {
	b.Helper()
	out, err := srv.Do("INFO", "memory")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatalf("used_memory: %v", err)
			}
			return n
		}
	}
	b.Fatalf("no used_memory in INFO memory:\n%s", out)
	return 0
}

// logKeys logs the largest keys with their MEMORY USAGE, to show where the
// memory goes.
func logKeys(b *testing.B, srv *redistest.Server) {
	b.Helper()
	c, _, err := redis.Client(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	names, err := c.Keys(ctx, "*").Result()
	if err != nil {
		b.Fatal(err)
	}
	type sized struct {
		name  string
		bytes int64
		n     int64
	}
	var all []sized
	for _, name := range names {
		bytes, err := c.MemoryUsage(ctx, name, 0).Result()
		if err != nil {
			b.Fatal(err)
		}
		typ, _ := c.Type(ctx, name).Result()
		var n int64
		switch typ {
		case "hash":
			n, _ = c.HLen(ctx, name).Result()
		case "zset":
			n, _ = c.ZCard(ctx, name).Result()
		}
		all = append(all, sized{strings.ReplaceAll(name, "\x1f", "/"), bytes, n})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].bytes > all[j].bytes })
	var lines []string
	for _, s := range all[:min(len(all), 24)] {
		lines = append(lines, fmt.Sprintf("%12d B %8d entries  %s", s.bytes, s.n, s.name))
	}
	b.Logf("%d keys; the largest (MEMORY USAGE, SAMPLES 0):\n%s", len(all), strings.Join(lines, "\n"))
}
