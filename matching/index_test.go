package matching_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/demo"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/store/bolt"
)

// sliceSource serves providers from memory.
type sliceSource []*matching.Provider

func (s sliceSource) Providers(context.Context) ([]*matching.Provider, error) { return s, nil }

var (
	genFrom = mustParse("2026-01-01")
	genTo   = mustParse("2027-12-31")
	genDay  = mustParse("2026-06-15")
)

func mustParse(s string) regie.Date {
	d, err := regie.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// query is one search of a workload: a query, and the region of its voucher.
type query struct {
	q      matching.Query
	region string
}

// filterPairs are the two filters each workload query carries, in turn.
var filterPairs = []func(q *matching.Query){
	func(q *matching.Query) { q.Language, q.Available = "en", true },
	func(q *matching.Query) { q.Expertise = "dementie"; q.MaxWaitingWeeks = ptr(8) },
	func(q *matching.Query) { q.Identity, q.Setting = "islamitisch", "thuis" },
	func(q *matching.Query) { q.Setting, q.Available = "kleinschalig-wonen", true },
	func(q *matching.Query) { q.Language, q.Expertise = "tr", "ggz" },
}

func ptr[T any](v T) *T { return &v }

// workload returns n searches around the locations of random providers (so
// that they fall where people live), for a product that provider offers, in
// its first region, with a 25 km radius, two filters, and a page of 20.
func workload(ps []*matching.Provider, n int, seed uint64) []query {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]query, 0, n)
	for i := range n {
		p := ps[rng.IntN(len(ps))]
		l := p.Locations[0]
		q := matching.Query{
			Product: p.Offers[rng.IntN(len(p.Offers))].Product,
			Lat:     l.Lat + (rng.Float64()-0.5)*0.05, Lon: l.Lon + (rng.Float64()-0.5)*0.08,
			RadiusKm: 25, Limit: 20,
		}
		filterPairs[i%len(filterPairs)](&q)
		if err := q.Normalise(); err != nil {
			panic(err)
		}
		out = append(out, query{q, p.Regions[0]})
	}
	return out
}

// TestIndex_MatchesScan checks that the index answers exactly as a scan of
// every provider does, on generated providers and random queries: filters,
// radius, regions, days, pages.
func TestIndex_MatchesScan(t *testing.T) {
	ps := demo.Generate(6000, 3, genFrom, genTo)
	x, err := matching.NewIndex(t.Context(), sliceSource(ps))
	if err != nil {
		t.Fatal(err)
	}
	if x.Len() != len(ps) {
		t.Fatalf("Len = %d, want %d", x.Len(), len(ps))
	}
	rng := rand.New(rand.NewPCG(9, 9))
	qs := workload(ps, 600, 5)
	for i, w := range qs {
		q := w.q
		// Vary what the workload keeps fixed.
		switch i % 6 {
		case 1:
			q.RadiusKm = []float64{0.5, 3, 10, 60, 200, 500}[rng.IntN(6)]
		case 2:
			q.Limit, q.Offset = 1+rng.IntN(100), rng.IntN(60)
		case 3:
			q.Language, q.Expertise, q.Identity, q.Setting, q.Available, q.MaxWaitingWeeks = "", "", "", "", false, nil
		case 4:
			q.MaxWaitingWeeks = ptr(rng.IntN(5))
		}
		on := genDay
		if i%7 == 0 {
			on = genTo.AddDays(1) // everyone's qualification has ended
		}
		got, gotMore := x.Search(q, w.region, on)
		want, wantMore := matching.Scan(ps, q, w.region, on)
		if !reflect.DeepEqual(got, want) || gotMore != wantMore {
			t.Fatalf("query %d %+v in %s on %s:\nindex %s (more %v)\nscan  %s (more %v)", i, q, w.region, on, agbs(got), gotMore, agbs(want), wantMore)
		}
		if on > genTo && len(got) != 0 {
			t.Fatalf("query %d found %d providers after every qualification ended", i, len(got))
		}
	}
}

// TestIndex_Put checks replacing and removing providers, and that an older
// version never replaces a newer one.
func TestIndex_Put(t *testing.T) {
	x, err := matching.NewIndex(t.Context(), sliceSource(nil))
	if err != nil {
		t.Fatal(err)
	}
	q := matching.Query{Product: "H300", Lat: homeLat, Lon: homeLon}
	if err := q.Normalise(); err != nil {
		t.Fatal(err)
	}
	find := func() string {
		t.Helper()
		rs, _ := x.Search(q, "r1", genDay)
		return agbs(rs)
	}
	a, b := provider("10000001", 5, 0), provider("10000002", 10, 0)
	a.Version, b.Version = 1, 1
	x.Put(a)
	x.Put(b)
	if got := find(); got != "10000001,10000002" {
		t.Fatalf("found %s", got)
	}
	// Move a beyond b; a second location nearer than both wins for it.
	a2 := provider("10000001", 20, 0)
	a2.Version = 2
	x.Put(a2)
	if got := find(); got != "10000002,10000001" {
		t.Fatalf("after moving: found %s", got)
	}
	a3 := provider("10000001", 20, 0)
	a3.Version = 3
	a3.Locations = append(a3.Locations, matching.Location{City: "Amsterdam", Lat: homeLat + kmNorth(1), Lon: homeLon})
	x.Put(a3)
	if got := find(); got != "10000001,10000002" {
		t.Fatalf("after a second location: found %s", got)
	}
	// A late, older write is ignored.
	x.Put(a2)
	if got := x.Provider("10000001"); got != a3 {
		t.Fatalf("an older version replaced a newer one: %+v", got)
	}
	// Another product, then gone.
	b2 := provider("10000002", 10, 0)
	b2.Version = 2
	b2.Offers = []matching.Offer{{Product: "H531", Tariff: 4000}}
	x.Put(b2)
	if got := find(); got != "10000001" {
		t.Fatalf("after b stopped offering H300: found %s", got)
	}
	x.Remove("10000001")
	if got := find(); got != "" || x.Len() != 1 {
		t.Fatalf("after Remove: found %q, Len %d", got, x.Len())
	}
	if got := x.Listing("r1"); !slices.Equal(got, []string{"10000002"}) {
		t.Fatalf("Listing(r1) = %v", got)
	}
}

// TestIndex_UpdateVisible checks, on 20,000 providers in a bolt store, that a
// change made through the service is in the very next search.
func TestIndex_UpdateVisible(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	ps := demo.Generate(20_000, 11, genFrom, genTo)
	if err := e.db.PutProviders(ctx, ps); err != nil {
		t.Fatal(err)
	}
	// A provider near home in r1, with no place, found by the client.
	near := provider("99000001", 0.5, 4)
	near.Qualifications = []matching.Qualification{{Region: "r1", Periods: []matching.Period{{From: genFrom, To: genTo}}}}
	near.TeamSize, near.Languages, near.Settings = 3, []string{"nl"}, []string{"thuis"}
	if err := e.db.PutProvider(ctx, near); err != nil {
		t.Fatal(err)
	}
	x, err := matching.NewIndex(ctx, e.db)
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Index = x
	q := matching.Query{Product: "H300", Lat: homeLat, Lon: homeLon, Available: true}
	rs, err := search(e.svc, ctx, e.client, e.v.ID, q)
	if err != nil || len(rs) != 0 {
		t.Fatalf("before: %s, %v", agbs(rs), err)
	}
	self := regie.Principal{Role: regie.RoleProvider, Subject: near.AGB}
	if _, err := e.svc.SetAvailability(ctx, self, near.AGB, 2, 0); err != nil {
		t.Fatal(err)
	}
	rs, err = search(e.svc, ctx, e.client, e.v.ID, q)
	if err != nil || agbs(rs) != near.AGB || rs[0].Provider.OpenPlaces != 2 {
		t.Fatalf("after the update: %s, %v", agbs(rs), err)
	}
}

// benchProviders is the benchmark population: 100,000 providers spread over
// the Netherlands.
const benchProviders = 100_000

// BenchmarkIndex_Search measures one search (25 km, two filters, top 20) on
// 100,000 providers and reports the 50th and 99th percentile of its latency.
// Run with -benchtime=Nx for N queries.
func BenchmarkIndex_Search(b *testing.B) {
	ps := demo.Generate(benchProviders, 1, genFrom, genTo)
	x, err := matching.NewIndex(context.Background(), sliceSource(ps))
	if err != nil {
		b.Fatal(err)
	}
	qs := workload(ps, 10_000, 2)
	durations := make([]time.Duration, 0, b.N)
	found := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := qs[i%len(qs)]
		start := time.Now()
		rs, _ := x.Search(w.q, w.region, genDay)
		durations = append(durations, time.Since(start))
		found += len(rs)
	}
	b.StopTimer()
	reportPercentiles(b, durations)
	b.ReportMetric(float64(found)/float64(len(durations)), "results/op")
}

func reportPercentiles(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	at := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
	b.ReportMetric(float64(at(0.50).Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(at(0.99).Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(ds[len(ds)-1].Nanoseconds())/1e3, "max-µs")
}

// populate puts n generated providers in the store, in one transaction.
func populate(tb testing.TB, db *bolt.DB, n int) {
	if err := db.PutProviders(context.Background(), demo.Generate(n, 1, genFrom, genTo)); err != nil {
		tb.Fatal(err)
	}
}

// settle collects garbage until the heap stops shrinking: one runtime.GC
// right after a large write transaction may leave its garbage counted.
func settle() {
	var m runtime.MemStats
	last := uint64(0)
	for range 5 {
		runtime.GC()
		runtime.ReadMemStats(&m)
		if m.HeapAlloc == last {
			return
		}
		last = m.HeapAlloc
	}
}

// BenchmarkIndex_Build measures loading the index from a bolt store with
// 100,000 providers, and reports the memory the loaded index holds
// (providers included) in MB.
func BenchmarkIndex_Build(b *testing.B) {
	ctx := context.Background()
	db, err := bolt.Open(filepath.Join(b.TempDir(), "regie.db"), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	populate(b, db, benchProviders)
	var x *matching.Index
	var heap uint64
	b.ResetTimer()
	for range b.N {
		x = nil
		b.StopTimer()
		settle()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		if x, err = matching.NewIndex(ctx, db); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		settle()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		heap = after.HeapAlloc - before.HeapAlloc
		b.StartTimer()
	}
	b.StopTimer()
	if x.Len() != benchProviders {
		b.Fatalf("index holds %d providers", x.Len())
	}
	b.ReportMetric(float64(heap)/1e6, "MB")
	b.ReportMetric(float64(benchProviders), "providers")
	runtime.KeepAlive(x)
}
