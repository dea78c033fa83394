package matching_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/bolt"
	"github.com/regie-nl/regie/voucher"
)

// Dam square, Amsterdam: the point searched around.
const homeLat, homeLon = 52.3731, 4.8926

// kmNorth is the latitude offset of a point km kilometres north of home.
func kmNorth(km float64) float64 { return km / (6371.0 * math.Pi / 180) }

type env struct {
	db       *bolt.DB
	vouchers *voucher.Service
	svc      *matching.Service
	now      time.Time
	v        *voucher.Voucher // H300 and H531 in r1, 2026
	client   regie.Principal
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "r.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ring, err := voucher.GenerateKeyRing()
	if err != nil {
		t.Fatal(err)
	}
	ps, err := voucher.NewPseudonymiser(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, now: time.Date(2026, 2, 1, 10, 0, 0, 500, time.UTC)}
	clock := func() time.Time { return e.now }
	e.vouchers = &voucher.Service{Store: db, Regions: db, Assignments: db, Keys: ring, Pseudonyms: ps, Issuer: "test", Now: clock}
	e.svc = &matching.Service{Store: db, Vouchers: e.vouchers, Now: clock}
	for _, r := range []string{"r1", "r2"} {
		if err := db.PutRegion(ctx, settlement.Region{ID: r, Name: r, Year: 2026, Budget: 1e9}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tf := range []voucher.Tariff{
		{Product: "H300", Law: voucher.Wmo, Unit: "hour", MaxPrice: 6500},
		{Product: "H531", Law: voucher.Wmo, Unit: "dagdeel", MaxPrice: 5000},
	} {
		if err := db.PutTariff(ctx, tf); err != nil {
			t.Fatal(err)
		}
	}
	e.v, _, err = e.vouchers.Issue(ctx, regie.Principal{Role: regie.RoleAssessor, Subject: "a", Regions: []string{"r1"}}, voucher.Indication{
		BSN: "123456782", Law: voucher.Wmo, Region: "r1",
		Lines:     []voucher.IndicationLine{{Product: "H300", UnitsPerWeek: 400}, {Product: "H531", UnitsPerWeek: 200}},
		ValidFrom: mustDate(t, "2026-01-01"), ValidTo: mustDate(t, "2026-12-31"),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.client = regie.Principal{Role: regie.RoleClient, Subject: e.v.Subject}
	return e
}

func mustDate(t *testing.T, s string) regie.Date {
	t.Helper()
	d, err := regie.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// put stores providers as an import does, and puts them in the index when
// the service has one.
func (e *env) put(t *testing.T, ps ...*matching.Provider) {
	t.Helper()
	for _, p := range ps {
		if err := e.db.PutProvider(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		if e.svc.Index != nil {
			e.svc.Index.Put(p)
		}
	}
}

// withIndex gives the service an index loaded from the store.
func (e *env) withIndex(t *testing.T) *env {
	t.Helper()
	x, err := matching.NewIndex(context.Background(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Index = x
	return e
}

// searchModes runs a test once with a scanning service and once with an index.
func searchModes(t *testing.T, test func(t *testing.T, newEnv func(t *testing.T) *env)) {
	t.Run("scan", func(t *testing.T) { test(t, newEnv) })
	t.Run("index", func(t *testing.T) { test(t, func(t *testing.T) *env { return newEnv(t).withIndex(t) }) })
}

// provider is a qualified provider in r1 offering H300 at 60.00, km north of home.
func provider(agb string, km float64, waiting int) *matching.Provider {
	return &matching.Provider{
		AGB: agb, Name: "Zorg " + agb, Qualified: true, Regions: []string{"r1"},
		Locations:    []matching.Location{{City: "Amsterdam", Lat: homeLat + kmNorth(km), Lon: homeLon}},
		Offers:       []matching.Offer{{Product: "H300", Tariff: 6000}},
		WaitingWeeks: waiting,
	}
}

// search is Service.Search returning the results of the page.
func search(svc *matching.Service, ctx context.Context, p regie.Principal, id string, q matching.Query) ([]matching.Result, error) {
	page, err := svc.Search(ctx, p, id, q)
	if err != nil {
		return nil, err
	}
	return page.Providers, nil
}

func agbs(rs []matching.Result) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Provider.AGB)
	}
	return strings.Join(s, ",")
}

func wantErr(t *testing.T, err error, kind regie.Kind, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s %s", kind, code)
	}
	if regie.ErrorKind(err) != kind || regie.ErrorCode(err) != code {
		t.Fatalf("got %v (kind %s), want %s %s", err, regie.ErrorKind(err), kind, code)
	}
}

func TestDistanceKm(t *testing.T) {
	const (
		utrechtLat, utrechtLon = 52.0894, 5.1100 // Utrecht Centraal
	)
	d := matching.DistanceKm(homeLat, homeLon, utrechtLat, utrechtLon)
	if d < 34 || d > 36 {
		t.Errorf("Amsterdam–Utrecht = %.2f km, want about 35", d)
	}
	if back := matching.DistanceKm(utrechtLat, utrechtLon, homeLat, homeLon); math.Abs(back-d) > 1e-9 {
		t.Errorf("distance is not symmetric: %v vs %v", d, back)
	}
	if z := matching.DistanceKm(homeLat, homeLon, homeLat, homeLon); z != 0 {
		t.Errorf("distance to itself = %v", z)
	}
	if got := matching.DistanceKm(homeLat, homeLon, homeLat+kmNorth(10), homeLon); math.Abs(got-10) > 1e-6 {
		t.Errorf("10 km north = %v", got)
	}
	// Dam square to the Vrijthof, Maastricht: about 178 km as the crow flies.
	if got := matching.DistanceKm(homeLat, homeLon, 50.8514, 5.6910); got < 176 || got > 180 {
		t.Errorf("Amsterdam–Maastricht = %.1f km", got)
	}
	// Antipodes: half the circumference, and no NaN from rounding.
	if got := matching.DistanceKm(0, 0, 0, 180); math.IsNaN(got) || math.Abs(got-math.Pi*6371) > 1e-6 {
		t.Errorf("antipodes = %v", got)
	}
}

func TestService_Search(t *testing.T) {
	searchModes(t, testSearch)
}

func testSearch(t *testing.T, newEnv func(t *testing.T) *env) {
	ctx := context.Background()

	t.Run("ranking: distance, then waiting weeks, then AGB", func(t *testing.T) {
		e := newEnv(t)
		e.put(t,
			provider("10000004", 10, 3),
			provider("10000001", 5, 10),
			provider("10000003", 10, 3),
			provider("10000002", 10, 0),
			provider("10000005", 2, 50),
		)
		rs, err := search(e.svc, ctx, e.client, e.v.ID, matching.Query{Product: "H300", Lat: homeLat, Lon: homeLon})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := agbs(rs), "10000005,10000001,10000002,10000003,10000004"; got != want {
			t.Errorf("order = %s, want %s", got, want)
		}
		if rs[0].DistanceKm != 2 || rs[1].DistanceKm != 5 || rs[2].DistanceKm != 10 {
			t.Errorf("distances = %v %v %v", rs[0].DistanceKm, rs[1].DistanceKm, rs[2].DistanceKm)
		}
		if rs[0].Tariff != 6000 || rs[0].Location.City != "Amsterdam" {
			t.Errorf("result = %+v", rs[0])
		}
	})

	t.Run("distance is ranked exactly and shown to 0.1 km", func(t *testing.T) {
		// 5.01 km ranks before 5.04 km although it waits longer; both show 5.0 km.
		e := newEnv(t)
		e.put(t, provider("10000001", 5.01, 8), provider("10000002", 5.04, 1))
		rs, err := search(e.svc, ctx, e.client, e.v.ID, matching.Query{Product: "H300", Lat: homeLat, Lon: homeLon})
		if err != nil {
			t.Fatal(err)
		}
		if got := agbs(rs); got != "10000001,10000002" {
			t.Errorf("order = %s", got)
		}
		for _, r := range rs {
			if r.DistanceKm != 5 {
				t.Errorf("%s at %v km, want 5.0 (rounded to 0.1)", r.Provider.AGB, r.DistanceKm)
			}
		}
	})

	t.Run("nearest location", func(t *testing.T) {
		e := newEnv(t)
		p := provider("10000001", 20, 0)
		p.Locations = append(p.Locations, matching.Location{Name: "near", City: "Amsterdam", Lat: homeLat + kmNorth(1.26), Lon: homeLon})
		e.put(t, p)
		rs, err := search(e.svc, ctx, e.client, e.v.ID, matching.Query{Product: "H300", Lat: homeLat, Lon: homeLon})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 || rs[0].Location.Name != "near" || rs[0].DistanceKm != 1.3 {
			t.Errorf("results = %+v", rs)
		}
	})

	t.Run("exclusions", func(t *testing.T) {
		e := newEnv(t)
		unqualified := provider("20000001", 1, 0)
		unqualified.Qualified = false
		otherRegion := provider("20000002", 1, 0)
		otherRegion.Regions = []string{"r2"}
		noRegion := provider("20000003", 1, 0)
		noRegion.Regions = nil
		otherProduct := provider("20000004", 1, 0)
		otherProduct.Offers = []matching.Offer{{Product: "H531", Tariff: 4000}}
		noLocation := provider("20000005", 1, 0)
		noLocation.Locations = nil
		e.put(t, unqualified, otherRegion, noRegion, otherProduct, noLocation,
			provider("10000001", 1, 0), provider("20000006", 30, 0))
		rs, err := search(e.svc, ctx, e.client, e.v.ID, matching.Query{Product: "H300", Lat: homeLat, Lon: homeLon})
		if err != nil {
			t.Fatal(err)
		}
		if got := agbs(rs); got != "10000001" {
			t.Errorf("found %s, want only 10000001", got)
		}
		rs, err = search(e.svc, ctx, e.client, e.v.ID, matching.Query{Product: "H531", Lat: homeLat, Lon: homeLon})
		if err != nil {
			t.Fatal(err)
		}
		if got := agbs(rs); got != "20000004" {
			t.Errorf("H531: found %s, want 20000004", got)
		}
	})

	t.Run("radius", func(t *testing.T) {
		e := newEnv(t)
		e.put(t, provider("10000001", 24.9, 0), provider("10000002", 25.1, 0), provider("10000003", 39, 0), provider("10000004", 41, 0))
		tests := []struct {
			radius float64
			want   string
		}{
			{0, "10000001"}, // 25 km by default
			{25, "10000001"},
			{40, "10000001,10000002,10000003"},
			{500, "10000001,10000002,10000003,10000004"},
			{5, ""},
		}
		for _, tc := range tests {
			rs, err := search(e.svc, ctx, e.client, e.v.ID, matching.Query{Product: "H300", Lat: homeLat, Lon: homeLon, RadiusKm: tc.radius})
			if err != nil {
				t.Fatal(err)
			}
			if got := agbs(rs); got != tc.want {
				t.Errorf("radius %v: found %s, want %s", tc.radius, got, tc.want)
			}
		}
	})

	t.Run("filters", func(t *testing.T) {
		e := newEnv(t)
		a := provider("10000001", 1, 0)
		a.Languages, a.Expertise = []string{"nl", "en"}, []string{"Dementie", "NAH"}
		b := provider("10000002", 2, 0)
		b.Languages, b.Expertise = []string{"nl", "tr", "ar"}, []string{"GGZ"}
		c := provider("10000003", 3, 0)
		e.put(t, a, b, c)
		tests := []struct {
			language, expertise string
			want                string
		}{
			{"", "", "10000001,10000002,10000003"},
			{"nl", "", "10000001,10000002"},
			{"NL", "", "10000001,10000002"},
			{"Tr", "", "10000002"},
			{"fr", "", ""},
			{"", "dementie", "10000001"},
			{"", "DEMENTIE", "10000001"},
			{"", "ggz", "10000002"},
			{"en", "ggz", ""},
			{"nl", "nah", "10000001"},
		}
		for _, tc := range tests {
			rs, err := search(e.svc, ctx, e.client, e.v.ID, matching.Query{Product: "H300", Lat: homeLat, Lon: homeLon, Language: tc.language, Expertise: tc.expertise})
			if err != nil {
				t.Fatal(err)
			}
			if got := agbs(rs); got != tc.want {
				t.Errorf("language %q expertise %q: found %s, want %s", tc.language, tc.expertise, got, tc.want)
			}
		}
	})

	t.Run("limit", func(t *testing.T) {
		e := newEnv(t)
		for i := 0; i < 25; i++ {
			e.put(t, provider("1000"+string(rune('A'+i))+"000", float64(i)/2, 0))
		}
		tests := []struct{ limit, want int }{{0, 20}, {1, 1}, {2, 2}, {24, 24}, {100, 25}}
		for _, tc := range tests {
			rs, err := search(e.svc, ctx, e.client, e.v.ID, matching.Query{Product: "H300", Lat: homeLat, Lon: homeLon, Limit: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != tc.want {
				t.Errorf("limit %d: %d results, want %d", tc.limit, len(rs), tc.want)
			}
			if len(rs) > 1 && rs[0].Provider.AGB != "1000A000" {
				t.Errorf("limit %d keeps %s first, want the nearest", tc.limit, rs[0].Provider.AGB)
			}
		}
	})

	t.Run("invalid queries", func(t *testing.T) {
		e := newEnv(t)
		for _, q := range []matching.Query{
			{Lat: 91, Lon: 0},
			{Lat: -91, Lon: 0},
			{Lat: 0, Lon: 181},
			{Lat: 0, Lon: -181},
			{Lat: homeLat, Lon: homeLon, RadiusKm: -1},
			{Lat: homeLat, Lon: homeLon, RadiusKm: 501},
			{Lat: homeLat, Lon: homeLon, Limit: -1},
			{Lat: homeLat, Lon: homeLon, Limit: 101},
		} {
			q.Product = "H300"
			_, err := search(e.svc, ctx, e.client, e.v.ID, q)
			if regie.ErrorCode(err) != "search_invalid" || regie.ErrorKind(err) != regie.Invalid {
				t.Errorf("Search(%+v) = %v, want search_invalid", q, err)
			}
		}
		_, err := search(e.svc, ctx, e.client, e.v.ID, matching.Query{Product: "VV04", Lat: homeLat, Lon: homeLon})
		wantErr(t, err, regie.Invalid, "product_not_indicated")
		_, err = search(e.svc, ctx, e.client, e.v.ID, matching.Query{Lat: homeLat, Lon: homeLon})
		wantErr(t, err, regie.Invalid, "product_not_indicated")
		_, err = search(e.svc, ctx, e.client, "vnope", matching.Query{Product: "H300", Lat: homeLat, Lon: homeLon})
		wantErr(t, err, regie.NotFound, "voucher_not_found")
	})

	// The range checks in Search are written as "x < lo || x > hi", which is
	// false for NaN, so NaN passes them. The web layer parses lat, lon and
	// radius_km with strconv.ParseFloat, which accepts "NaN".
	t.Run("NaN is refused", func(t *testing.T) {
		e := newEnv(t)
		e.put(t, provider("10000001", 1, 0), provider("10000002", 300, 0))
		nan := math.NaN()
		for name, q := range map[string]matching.Query{
			"lat":       {Lat: nan, Lon: homeLon},
			"lon":       {Lat: homeLat, Lon: nan},
			"radius_km": {Lat: homeLat, Lon: homeLon, RadiusKm: nan},
		} {
			q.Product = "H300"
			rs, err := search(e.svc, ctx, e.client, e.v.ID, q)
			if regie.ErrorCode(err) != "search_invalid" {
				t.Errorf("%s NaN: Search = %d results (%s), %v; want search_invalid", name, len(rs), agbs(rs), err)
			}
		}
	})

	t.Run("who may search", func(t *testing.T) {
		e := newEnv(t)
		e.put(t, provider("10000001", 1, 0))
		tests := []struct {
			name string
			p    regie.Principal
			kind regie.Kind
			code string
		}{
			{"own client", e.client, "", ""},
			{"funder of the region", regie.Principal{Role: regie.RoleFunder, Subject: "f", Regions: []string{"r1"}}, "", ""},
			{"other client", regie.Principal{Role: regie.RoleClient, Subject: "cother"}, regie.Forbidden, "scope_forbidden"},
			{"funder of another region", regie.Principal{Role: regie.RoleFunder, Subject: "f", Regions: []string{"r2"}}, regie.Forbidden, "scope_forbidden"},
			{"provider", regie.Principal{Role: regie.RoleProvider, Subject: "10000001"}, regie.Forbidden, "role_forbidden"},
			{"assessor", regie.Principal{Role: regie.RoleAssessor, Subject: "a", Regions: []string{"r1"}}, regie.Forbidden, "role_forbidden"},
			{"auditor", regie.Principal{Role: regie.RoleAuditor, Subject: "a", Regions: []string{"r1"}}, regie.Forbidden, "role_forbidden"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				rs, err := search(e.svc, ctx, tc.p, e.v.ID, matching.Query{Product: "H300", Lat: homeLat, Lon: homeLon})
				if tc.code == "" {
					if err != nil || len(rs) != 1 {
						t.Errorf("Search = %v, %v", rs, err)
					}
					return
				}
				wantErr(t, err, tc.kind, tc.code)
			})
		}
	})

	t.Run("ranking among equals: open place, then waiting weeks, then AGB", func(t *testing.T) {
		e := newEnv(t)
		full := provider("10000001", 3, 0)
		open := provider("10000002", 3, 9)
		open.OpenPlaces = 1
		open2 := provider("10000003", 3, 2)
		open2.OpenPlaces = 4
		e.put(t, full, open, open2, provider("10000004", 3, 0))
		rs, err := search(e.svc, ctx, e.client, e.v.ID, matching.Query{Product: "H300", Lat: homeLat, Lon: homeLon})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := agbs(rs), "10000003,10000002,10000001,10000004"; got != want {
			t.Errorf("order = %s, want %s", got, want)
		}
	})

	t.Run("identity, setting and availability", func(t *testing.T) {
		e := newEnv(t)
		a := provider("10000001", 1, 0)
		a.Identity, a.Settings, a.OpenPlaces = []string{"christelijk"}, []string{"kleinschalig-wonen"}, 2
		b := provider("10000002", 2, 6)
		b.Identity, b.Settings = []string{"islamitisch", "turks"}, []string{"thuis", "dagbesteding"}
		c := provider("10000003", 3, 12)
		c.Settings = []string{"thuis"}
		e.put(t, a, b, c)
		tests := []struct {
			name string
			q    matching.Query
			want string
		}{
			{"identity", matching.Query{Identity: "islamitisch"}, "10000002"},
			{"identity, any case", matching.Query{Identity: "Christelijk"}, "10000001"},
			{"setting", matching.Query{Setting: "thuis"}, "10000002,10000003"},
			{"setting and identity", matching.Query{Setting: "thuis", Identity: "turks"}, "10000002"},
			{"available", matching.Query{Available: true}, "10000001"},
			{"waiting at most 6 weeks", matching.Query{MaxWaitingWeeks: ptr(6)}, "10000001,10000002"},
			{"waiting 0 weeks", matching.Query{MaxWaitingWeeks: ptr(0)}, "10000001"},
			{"waiting at most 520 weeks", matching.Query{MaxWaitingWeeks: ptr(520)}, "10000001,10000002,10000003"},
			{"no one", matching.Query{Setting: "dagbesteding", Available: true}, ""},
		}
		for _, tc := range tests {
			q := tc.q
			q.Product, q.Lat, q.Lon = "H300", homeLat, homeLon
			rs, err := search(e.svc, ctx, e.client, e.v.ID, q)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if got := agbs(rs); got != tc.want {
				t.Errorf("%s: found %s, want %s", tc.name, got, tc.want)
			}
		}
	})

	t.Run("pages", func(t *testing.T) {
		e := newEnv(t)
		for i := range 7 {
			e.put(t, provider(fmt.Sprintf("1000000%d", i+1), float64(i+1), 0))
		}
		tests := []struct {
			limit, offset int
			want          string
			more          bool
		}{
			{3, 0, "10000001,10000002,10000003", true},
			{3, 3, "10000004,10000005,10000006", true},
			{3, 6, "10000007", false},
			{3, 4, "10000005,10000006,10000007", false},
			{7, 0, "10000001,10000002,10000003,10000004,10000005,10000006,10000007", false},
			{6, 0, "10000001,10000002,10000003,10000004,10000005,10000006", true},
			{5, 7, "", false},
			{5, 1000, "", false},
		}
		for _, tc := range tests {
			page, err := e.svc.Search(ctx, e.client, e.v.ID, matching.Query{Product: "H300", Lat: homeLat, Lon: homeLon, Limit: tc.limit, Offset: tc.offset})
			if err != nil {
				t.Fatal(err)
			}
			if got := agbs(page.Providers); got != tc.want || page.HasMore != tc.more || page.Limit != tc.limit || page.Offset != tc.offset {
				t.Errorf("limit %d offset %d: %s more=%v (page %d/%d), want %s more=%v", tc.limit, tc.offset, got, page.HasMore, page.Offset, page.Limit, tc.want, tc.more)
			}
			if page.Providers == nil {
				t.Errorf("limit %d offset %d: nil providers, want an empty list", tc.limit, tc.offset)
			}
		}
	})

	t.Run("qualification is judged on the day of the search", func(t *testing.T) {
		e := newEnv(t)
		ends := provider("10000001", 1, 0)
		ends.Qualified = false
		ends.Qualifications = []matching.Qualification{{Region: "r1", Periods: []matching.Period{{From: mustDate(t, "2026-01-01"), To: mustDate(t, "2026-02-10")}}}}
		starts := provider("10000002", 2, 0)
		starts.Qualifications = []matching.Qualification{
			{Region: "r1", Periods: []matching.Period{{From: mustDate(t, "2026-01-01"), To: mustDate(t, "2026-01-31")}, {From: mustDate(t, "2026-02-05"), To: mustDate(t, "2026-12-31")}}},
		}
		pending := provider("10000003", 3, 0)
		pending.Qualifications = []matching.Qualification{{Region: "r1"}} // has a record: Qualified alone does not count
		e.put(t, ends, starts, pending)
		for _, tc := range []struct{ day, want string }{
			{"2026-01-31", "10000001,10000002"},
			{"2026-02-01", "10000001"}, // the gap
			{"2026-02-05", "10000001,10000002"},
			{"2026-02-10", "10000001,10000002"},
			{"2026-02-11", "10000002"}, // ends expired: suspended without anyone doing anything
		} {
			e.now = mustDate(t, tc.day).Time().Add(12 * time.Hour)
			rs, err := search(e.svc, ctx, e.client, e.v.ID, matching.Query{Product: "H300", Lat: homeLat, Lon: homeLon})
			if err != nil {
				t.Fatal(err)
			}
			if got := agbs(rs); got != tc.want {
				t.Errorf("on %s: found %s, want %s", tc.day, got, tc.want)
			}
		}
	})

	t.Run("invalid filters", func(t *testing.T) {
		e := newEnv(t)
		for _, tc := range []struct {
			q     matching.Query
			field string
		}{
			{matching.Query{Offset: -1}, "offset"},
			{matching.Query{Offset: 1001}, "offset"},
			{matching.Query{MaxWaitingWeeks: ptr(-1)}, "max_waiting_weeks"},
			{matching.Query{MaxWaitingWeeks: ptr(521)}, "max_waiting_weeks"},
			{matching.Query{Language: "dutch"}, "language"},
			{matching.Query{Language: "n1"}, "language"},
			{matching.Query{Expertise: "demen"}, "expertise"}, // whole codes only
			{matching.Query{Identity: "gelovig"}, "identity"},
			{matching.Query{Setting: "instelling"}, "setting"},
		} {
			q := tc.q
			q.Product, q.Lat, q.Lon = "H300", homeLat, homeLon
			_, err := e.svc.Search(ctx, e.client, e.v.ID, q)
			var appErr *regie.Error
			if !errors.As(err, &appErr) || appErr.Code != "search_invalid" || appErr.Field != tc.field {
				t.Errorf("Search(%+v) = %v, want search_invalid on %s", tc.q, err, tc.field)
			}
		}
	})
}

func TestService_Choose(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) *env {
		e := newEnv(t)
		unqualified := provider("20000001", 1, 0)
		unqualified.Qualified = false
		otherRegion := provider("20000002", 1, 0)
		otherRegion.Regions = []string{"r2"}
		e.put(t, provider("10000001", 1, 0), provider("10000002", 1, 0), unqualified, otherRegion)
		return e
	}

	t.Run("records a requested choice", func(t *testing.T) {
		e := setup(t)
		c, err := e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000001"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(c.ID, "ch") || c.VoucherID != e.v.ID || c.Product != "H300" || c.ProviderAGB != "10000001" ||
			c.Subject != e.v.Subject || c.Region != "r1" || c.Status != matching.Requested {
			t.Errorf("choice = %+v", c)
		}
		if c.From != e.v.ValidFrom || c.To != e.v.ValidTo {
			t.Errorf("period = %s..%s, want the voucher's validity", c.From, c.To)
		}
		if !c.CreatedAt.Equal(e.now.Truncate(time.Second)) || !c.DecidedAt.IsZero() {
			t.Errorf("CreatedAt = %v, DecidedAt = %v", c.CreatedAt, c.DecidedAt)
		}
		stored, err := e.db.Choice(ctx, c.ID)
		if err != nil || stored.Status != matching.Requested || stored.VoucherID != e.v.ID || stored.ProviderAGB != "10000001" {
			t.Errorf("stored = %+v, %v", stored, err)
		}
		// The chosen provider may now see the voucher.
		if _, err := e.vouchers.Voucher(ctx, regie.Principal{Role: regie.RoleProvider, Subject: "10000001"}, e.v.ID); err != nil {
			t.Errorf("chosen provider cannot see the voucher: %v", err)
		}
	})

	// Choice.Subject is documented as "the client's pseudonym, for scope
	// checks", but it is tagged json:"-" and the bolt store persists choices as
	// JSON, so every choice read back from the store has an empty Subject.
	t.Run("a stored choice keeps the client's pseudonym", func(t *testing.T) {
		e := setup(t)
		c, err := e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000001"})
		if err != nil {
			t.Fatal(err)
		}
		if c.Subject != e.v.Subject {
			t.Errorf("returned choice Subject = %q, want the voucher's subject", c.Subject)
		}
		stored, err := e.db.Choice(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Subject != e.v.Subject {
			t.Errorf("stored choice Subject = %q, want %q: the scope-check field is lost on storage", stored.Subject, e.v.Subject)
		}
		byVoucher, err := e.db.ChoicesByVoucher(ctx, e.v.ID)
		if err != nil || len(byVoucher) != 1 {
			t.Fatalf("ChoicesByVoucher = %v, %v", byVoucher, err)
		}
		if byVoucher[0].Subject != e.v.Subject {
			t.Errorf("ChoicesByVoucher Subject = %q, want %q", byVoucher[0].Subject, e.v.Subject)
		}
	})

	t.Run("from a later date", func(t *testing.T) {
		for _, from := range []string{"2026-03-01", "2026-12-31"} {
			e := setup(t)
			c, err := e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000001", From: mustDate(t, from)})
			if err != nil {
				t.Fatalf("from %s: %v", from, err)
			}
			if c.From != mustDate(t, from) || c.To != e.v.ValidTo {
				t.Errorf("period = %s..%s, want %s..%s", c.From, c.To, from, e.v.ValidTo)
			}
		}
	})

	errorCases := []struct {
		name string
		p    func(e *env) regie.Principal
		req  matching.ChoiceRequest
		id   string
		kind regie.Kind
		code string
	}{
		{"provider may not choose", func(*env) regie.Principal { return regie.Principal{Role: regie.RoleProvider, Subject: "10000001"} },
			matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000001"}, "", regie.Forbidden, "role_forbidden"},
		{"funder may not choose", func(*env) regie.Principal {
			return regie.Principal{Role: regie.RoleFunder, Subject: "f", Regions: []string{"r1"}}
		}, matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000001"}, "", regie.Forbidden, "role_forbidden"},
		{"other client", func(*env) regie.Principal { return regie.Principal{Role: regie.RoleClient, Subject: "cother"} },
			matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000001"}, "", regie.Forbidden, "scope_forbidden"},
		{"unknown voucher", nil, matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000001"}, "vnope", regie.NotFound, "voucher_not_found"},
		{"unknown provider", nil, matching.ChoiceRequest{Product: "H300", ProviderAGB: "99999999"}, "", regie.NotFound, "provider_not_found"},
		{"unqualified provider", nil, matching.ChoiceRequest{Product: "H300", ProviderAGB: "20000001"}, "", regie.Invalid, "provider_not_qualified"},
		{"provider of another region", nil, matching.ChoiceRequest{Product: "H300", ProviderAGB: "20000002"}, "", regie.Invalid, "provider_not_qualified"},
		{"product not offered", nil, matching.ChoiceRequest{Product: "H531", ProviderAGB: "10000001"}, "", regie.Invalid, "product_not_offered"},
		{"product not indicated", nil, matching.ChoiceRequest{Product: "VV04", ProviderAGB: "10000001"}, "", regie.Invalid, "product_not_indicated"},
		{"from before validity", nil, matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000001", From: 20453}, "", regie.Invalid, "from_invalid"},
		{"from after validity", nil, matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000001", From: 20819}, "", regie.Invalid, "from_invalid"},
	}
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			p := e.client
			if tc.p != nil {
				p = tc.p(e)
			}
			id := e.v.ID
			if tc.id != "" {
				id = tc.id
			}
			c, err := e.svc.Choose(ctx, p, id, tc.req)
			wantErr(t, err, tc.kind, tc.code)
			if c != nil {
				t.Errorf("Choose returned %+v with an error", c)
			}
			if cs, _ := e.db.ChoicesByVoucher(ctx, e.v.ID); len(cs) != 0 {
				t.Errorf("a failed Choose stored %d choices", len(cs))
			}
		})
	}

	t.Run("voucher not active", func(t *testing.T) {
		e := setup(t)
		assessor := regie.Principal{Role: regie.RoleAssessor, Subject: "a", Regions: []string{"r1"}}
		if _, err := e.vouchers.SetState(ctx, assessor, e.v.ID, voucher.Suspended); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000001"})
		wantErr(t, err, regie.Invalid, "voucher_not_active")

		e = setup(t)
		e.now = time.Date(2027, 4, 1, 12, 0, 0, 0, regie.Amsterdam) // past 2026-12-31 + 90 days
		_, err = e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000001"})
		wantErr(t, err, regie.Invalid, "voucher_not_active")
	})

	t.Run("one active choice per product", func(t *testing.T) {
		e := setup(t)
		first, err := e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000001"})
		if err != nil {
			t.Fatal(err)
		}
		// While requested, no second choice for the product, with any provider.
		for _, agb := range []string{"10000001", "10000002"} {
			_, err = e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H300", ProviderAGB: agb})
			wantErr(t, err, regie.Conflict, "choice_active")
		}
		// Another product of the voucher is free.
		other := provider("10000003", 1, 0)
		other.Offers = []matching.Offer{{Product: "H531", Tariff: 4000}}
		e.put(t, other)
		if _, err := e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H531", ProviderAGB: "10000003"}); err != nil {
			t.Errorf("choice for another product: %v", err)
		}
		// After a decline the client may choose again.
		if _, err := e.svc.Decide(ctx, regie.Principal{Role: regie.RoleProvider, Subject: "10000001"}, first.ID, false, "vol"); err != nil {
			t.Fatal(err)
		}
		second, err := e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000002"})
		if err != nil {
			t.Fatalf("choice after a decline: %v", err)
		}
		// After an accept, again no second choice.
		if _, err := e.svc.Decide(ctx, regie.Principal{Role: regie.RoleProvider, Subject: "10000002"}, second.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000001"})
		wantErr(t, err, regie.Conflict, "choice_active")
	})
}

func TestService_Decide(t *testing.T) {
	ctx := context.Background()
	chosen := regie.Principal{Role: regie.RoleProvider, Subject: "10000001"}
	setup := func(t *testing.T) (*env, *matching.Choice) {
		e := newEnv(t)
		e.put(t, provider("10000001", 1, 0), provider("10000002", 1, 0))
		c, err := e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000001"})
		if err != nil {
			t.Fatal(err)
		}
		e.now = e.now.Add(26 * time.Hour)
		return e, c
	}

	t.Run("accept", func(t *testing.T) {
		e, c := setup(t)
		got, err := e.svc.Decide(ctx, chosen, c.ID, true, "")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != matching.Accepted || got.Reason != "" || !got.DecidedAt.Equal(e.now.Truncate(time.Second)) {
			t.Errorf("decided = %+v", got)
		}
		if !got.Covers(mustDate(t, "2026-01-01"), mustDate(t, "2026-12-31")) {
			t.Error("an accepted choice does not cover its period")
		}
		stored, _ := e.db.Choice(ctx, c.ID)
		if stored.Status != matching.Accepted {
			t.Errorf("stored status %s", stored.Status)
		}
	})

	t.Run("decline with a reason", func(t *testing.T) {
		e, c := setup(t)
		got, err := e.svc.Decide(ctx, chosen, c.ID, false, "  team is vol  ")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != matching.Declined || got.Reason != "team is vol" {
			t.Errorf("decided = %+v", got)
		}
		// A declined choice no longer lets the provider see the voucher.
		_, err = e.vouchers.Voucher(ctx, chosen, e.v.ID)
		wantErr(t, err, regie.Forbidden, "scope_forbidden")
	})

	t.Run("a reason of 500 characters", func(t *testing.T) {
		e, c := setup(t)
		if _, err := e.svc.Decide(ctx, chosen, c.ID, false, strings.Repeat("x", 500)); err != nil {
			t.Errorf("Decide: %v", err)
		}
	})

	errorCases := []struct {
		name   string
		p      regie.Principal
		id     string
		accept bool
		reason string
		kind   regie.Kind
		code   string
	}{
		{"client may not decide", regie.Principal{Role: regie.RoleClient, Subject: "10000001"}, "", true, "", regie.Forbidden, "role_forbidden"},
		{"funder may not decide", regie.Principal{Role: regie.RoleFunder, Subject: "10000001", Regions: []string{"r1"}}, "", true, "", regie.Forbidden, "role_forbidden"},
		{"other provider", regie.Principal{Role: regie.RoleProvider, Subject: "10000002"}, "", true, "", regie.Forbidden, "scope_forbidden"},
		{"unknown choice", chosen, "chnope", true, "", regie.NotFound, "choice_not_found"},
		{"decline without reason", chosen, "", false, "", regie.Invalid, "reason_required"},
		{"decline with blank reason", chosen, "", false, " \t\n ", regie.Invalid, "reason_required"},
		{"decline with a reason of 501 characters", chosen, "", false, strings.Repeat("x", 501), regie.Invalid, "reason_required"},
	}
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			e, c := setup(t)
			id := c.ID
			if tc.id != "" {
				id = tc.id
			}
			got, err := e.svc.Decide(ctx, tc.p, id, tc.accept, tc.reason)
			wantErr(t, err, tc.kind, tc.code)
			if got != nil {
				t.Errorf("Decide returned %+v with an error", got)
			}
			if stored, _ := e.db.Choice(ctx, c.ID); stored.Status != matching.Requested {
				t.Errorf("a failed Decide left status %s", stored.Status)
			}
		})
	}

	t.Run("decided once", func(t *testing.T) {
		for _, first := range []bool{true, false} {
			e, c := setup(t)
			if _, err := e.svc.Decide(ctx, chosen, c.ID, first, "reason"); err != nil {
				t.Fatal(err)
			}
			for _, again := range []bool{true, false} {
				_, err := e.svc.Decide(ctx, chosen, c.ID, again, "reason")
				wantErr(t, err, regie.Conflict, "choice_decided")
			}
			stored, _ := e.db.Choice(ctx, c.ID)
			if want := map[bool]matching.ChoiceStatus{true: matching.Accepted, false: matching.Declined}[first]; stored.Status != want {
				t.Errorf("status %s, want %s", stored.Status, want)
			}
		}
	})
}

func TestService_Choices(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.put(t, provider("10000001", 1, 0))
	c, err := e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000001"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Choices(ctx, regie.Principal{Role: regie.RoleProvider, Subject: "10000001"})
	if err != nil || len(got) != 1 || got[0].ID != c.ID {
		t.Errorf("provider Choices = %v, %v", got, err)
	}
	got, err = e.svc.Choices(ctx, regie.Principal{Role: regie.RoleProvider, Subject: "10000002"})
	if err != nil || len(got) != 0 {
		t.Errorf("other provider Choices = %v, %v", got, err)
	}
	got, err = e.svc.Choices(ctx, e.client)
	if err != nil || len(got) != 1 || got[0].ID != c.ID {
		t.Errorf("client Choices = %v, %v", got, err)
	}
	got, err = e.svc.Choices(ctx, regie.Principal{Role: regie.RoleClient, Subject: "cother"})
	if err != nil || len(got) != 0 {
		t.Errorf("other client Choices = %v, %v", got, err)
	}
	_, err = e.svc.Choices(ctx, regie.Principal{Role: regie.RoleFunder, Subject: "f", Regions: []string{"r1"}})
	wantErr(t, err, regie.Forbidden, "role_forbidden")
}

func TestChoice_Covers(t *testing.T) {
	const (
		jan1  regie.Date = 20454 // 2026-01-01
		mar1  regie.Date = 20513 // 2026-03-01
		dec31 regie.Date = 20818 // 2026-12-31
	)
	tests := []struct {
		name     string
		status   matching.ChoiceStatus
		from, to regie.Date
		pFrom    regie.Date
		pTo      regie.Date
		want     bool
	}{
		{"accepted, inside", matching.Accepted, mar1, dec31, mar1 + 10, mar1 + 40, true},
		{"accepted, exactly the period", matching.Accepted, mar1, dec31, mar1, dec31, true},
		{"accepted, starts before the choice", matching.Accepted, mar1, dec31, mar1 - 1, mar1 + 10, false},
		{"accepted, ends after the choice", matching.Accepted, mar1, dec31, dec31 - 10, dec31 + 1, false},
		{"accepted, wholly before", matching.Accepted, mar1, dec31, jan1, jan1 + 30, false},
		{"accepted, open-ended", matching.Accepted, mar1, 0, mar1, dec31 + 1000, true},
		{"accepted, open-ended, before start", matching.Accepted, mar1, 0, jan1, mar1, false},
		{"requested", matching.Requested, mar1, dec31, mar1, mar1, false},
		{"declined", matching.Declined, mar1, dec31, mar1, mar1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &matching.Choice{Status: tc.status, From: tc.from, To: tc.to}
			if got := c.Covers(tc.pFrom, tc.pTo); got != tc.want {
				t.Errorf("Covers(%s, %s) on %s..%s = %v, want %v", tc.pFrom, tc.pTo, tc.from, tc.to, got, tc.want)
			}
		})
	}
}

func TestProvider_Offer(t *testing.T) {
	p := &matching.Provider{Offers: []matching.Offer{{Product: "H300", Tariff: 6000}, {Product: "H531", Tariff: 4000}}}
	if o := p.Offer("H531"); o == nil || o.Tariff != 4000 {
		t.Errorf("Offer(H531) = %v", o)
	}
	if o := p.Offer("VV04"); o != nil {
		t.Errorf("Offer(VV04) = %v", o)
	}
	if o := p.Offer("h300"); o != nil {
		t.Errorf("Offer is case-insensitive: %v", o)
	}
}
