package demo_test

import (
	"context"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/demo"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/store"
	"github.com/regie-nl/regie/store/bolt"
	"github.com/regie-nl/regie/voucher"
)

const year = 2026

// utrechtLat, utrechtLon is the centre of Utrecht, where the demo client lives.
const utrechtLat, utrechtLon = 52.0907, 5.1214

func openStore(t *testing.T) store.Store {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "regie.db"), bolt.Options{})
	if err != nil {
		t.Fatalf("bolt.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newVouchers(t *testing.T, st store.Store) *voucher.Service {
	t.Helper()
	keys, err := voucher.GenerateKeyRing()
	if err != nil {
		t.Fatal(err)
	}
	pseudonyms, err := voucher.NewPseudonymiser([]byte("demo-test-pseudonym-key-32-bytes"))
	if err != nil {
		t.Fatal(err)
	}
	return &voucher.Service{Store: st, Regions: st, Assignments: st, Keys: keys, Pseudonyms: pseudonyms, Issuer: "https://regie.test"}
}

// counts is what a second Load must not change.
type counts struct{ regions, tariffs, providers, vouchers int }

func countAll(t *testing.T, ctx context.Context, st store.Store, subject string) counts {
	t.Helper()
	regions, err := st.Regions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tariffs, err := st.Tariffs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	providers, err := st.Providers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := st.VouchersBySubject(ctx, subject)
	if err != nil {
		t.Fatal(err)
	}
	return counts{len(regions), len(tariffs), len(providers), len(vs)}
}

func load(t *testing.T) (context.Context, store.Store, *voucher.Service) {
	t.Helper()
	ctx := context.Background()
	st := openStore(t)
	vouchers := newVouchers(t, st)
	loaded, err := demo.Load(ctx, st, vouchers, year)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !loaded {
		t.Fatal("first Load returned loaded=false")
	}
	return ctx, st, vouchers
}

func TestLoad(t *testing.T) {
	ctx, st, vouchers := load(t)
	subject, err := vouchers.Pseudonyms.Pseudonym(demo.ClientBSN)
	if err != nil {
		t.Fatal(err)
	}
	first := countAll(t, ctx, st, subject)
	if first.regions != 35 || first.tariffs != 8 || first.vouchers != 2 {
		t.Errorf("after Load: %+v, want 35 regions, 8 tariffs, 2 vouchers", first)
	}
	if first.providers < 180 || first.providers > 220 {
		t.Errorf("after Load: %d providers, want about 200", first.providers)
	}
	if v, err := st.Meta(ctx, demo.MetaKey); err != nil || v == "" {
		t.Errorf("meta %s = %q, %v; want it set", demo.MetaKey, v, err)
	}

	loaded, err := demo.Load(ctx, st, vouchers, year)
	if err != nil {
		t.Fatalf("second Load: %v", err)
	}
	if loaded {
		t.Error("second Load returned loaded=true")
	}
	if second := countAll(t, ctx, st, subject); second != first {
		t.Errorf("second Load changed the counts: %+v, was %+v", second, first)
	}
}

func TestLoadVouchers(t *testing.T) {
	ctx, st, vouchers := load(t)
	client := regie.Principal{Role: regie.RoleClient, Subject: mustPseudonym(t, vouchers)}
	vs, err := vouchers.ClientVouchers(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	from, _ := regie.ParseDate("2026-01-01")
	to, _ := regie.ParseDate("2026-12-31")
	want := map[voucher.Law]map[string]regie.Units{
		voucher.Wmo: {demo.WmoBeg: 400, demo.WmoDB: 200},
		voucher.Wlz: {demo.VV05: 700},
	}
	if len(vs) != len(want) {
		t.Fatalf("client has %d vouchers, want %d", len(vs), len(want))
	}
	for _, v := range vs {
		lines, ok := want[v.Law]
		if !ok {
			t.Errorf("unexpected %s voucher", v.Law)
			continue
		}
		delete(want, v.Law)
		if v.Region != "utrecht" || v.ValidFrom != from || v.ValidTo != to || v.State != voucher.Active {
			t.Errorf("%s voucher: region %s, %s–%s, %s", v.Law, v.Region, v.ValidFrom, v.ValidTo, v.State)
		}
		if len(v.Lines) != len(lines) {
			t.Errorf("%s voucher has %d lines, want %d", v.Law, len(v.Lines), len(lines))
		}
		for product, perWeek := range lines {
			l := v.Line(product)
			if l == nil || l.UnitsPerWeek != perWeek || l.MaxAmount <= 0 || l.Remaining != l.MaxAmount {
				t.Errorf("%s voucher line %s = %+v, want %s a week", v.Law, product, l, perWeek)
			}
		}
		token, err := st.VoucherToken(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		check, err := vouchers.Verify(ctx, client, token)
		if err != nil || !check.SignatureValid || !check.Known {
			t.Errorf("%s voucher does not verify: %+v, %v", v.Law, check, err)
		}
	}
}

func mustPseudonym(t *testing.T, vouchers *voucher.Service) string {
	t.Helper()
	s, err := vouchers.Pseudonyms.Pseudonym(demo.ClientBSN)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLoadRegions(t *testing.T) {
	ctx, st, _ := load(t)
	regions, err := st.Regions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slug := regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`)
	funders := []string{"Zilveren Kruis", "CZ", "VGZ", "Menzis", "DSW", "Zorg en Zekerheid", "Salland", "De Friesland"}
	var zorgkantoren int
	var wlz regie.Cents
	for _, r := range regions {
		if r.Year != year || r.Budget <= 0 || r.Name == "" || r.Funder == "" {
			t.Errorf("region %+v incomplete", r)
		}
		if strings.HasPrefix(r.ID, "gm") {
			continue
		}
		zorgkantoren++
		wlz += r.Budget
		if !slug.MatchString(r.ID) {
			t.Errorf("region id %q is not a lowercase slug", r.ID)
		}
		if !slices.Contains(funders, r.Funder) {
			t.Errorf("region %s: funder %q is no zorgkantoor", r.ID, r.Funder)
		}
	}
	if zorgkantoren != 31 {
		t.Errorf("%d zorgkantoor regions, want 31", zorgkantoren)
	}
	if wlz < 25_000_000_000_00 || wlz > 35_000_000_000_00 {
		t.Errorf("national Wlz budget %s, want about 30 billion", wlz)
	}
	for _, id := range []string{"utrecht", "amsterdam", "zuid-limburg", "gm0363"} {
		if ok, err := st.HasRegion(ctx, id); err != nil || !ok {
			t.Errorf("region %s missing (%v)", id, err)
		}
	}
}

func TestLoadProviders(t *testing.T) {
	ctx, st, _ := load(t)
	tariffs, err := st.Tariffs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	maxPrice := make(map[string]regie.Cents)
	for _, tr := range tariffs {
		maxPrice[tr.Product] = tr.MaxPrice
	}
	providers, err := st.Providers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eight := regexp.MustCompile(`^[0-9]{8}$`)
	kvks := make(map[string]bool)
	unqualified := 0
	for _, p := range providers {
		if !eight.MatchString(p.AGB) || !eight.MatchString(p.KvK) {
			t.Errorf("provider %s: AGB %q or KvK %q is not 8 digits", p.Name, p.AGB, p.KvK)
		}
		if kvks[p.KvK] {
			t.Errorf("KvK %s used twice", p.KvK)
		}
		kvks[p.KvK] = true
		if !p.Qualified {
			unqualified++
		}
		if p.Name == "" || p.Description == "" || len(p.Locations) == 0 || len(p.Offers) == 0 ||
			len(p.Regions) == 0 || len(p.Languages) == 0 || len(p.Settings) == 0 || p.TeamSize < 1 {
			t.Errorf("provider %s %q incomplete: %+v", p.AGB, p.Name, p)
		}
		for _, o := range p.Offers {
			limit, ok := maxPrice[o.Product]
			if !ok {
				t.Errorf("provider %s offers unknown product %s", p.AGB, o.Product)
			} else if o.Tariff <= 0 || o.Tariff > limit {
				t.Errorf("provider %s offers %s at %s, maximum %s", p.AGB, o.Product, o.Tariff, limit)
			}
		}
		for _, r := range p.Regions {
			if ok, err := st.HasRegion(ctx, r); err != nil || !ok {
				t.Errorf("provider %s: region %q does not exist (%v)", p.AGB, r, err)
			}
		}
		for _, l := range p.Locations {
			if l.City == "" || l.Lat < 50.7 || l.Lat > 53.6 || l.Lon < 3.3 || l.Lon > 7.3 {
				t.Errorf("provider %s: location %+v is not in the Netherlands", p.AGB, l)
			}
		}
	}
	if unqualified < 2 || unqualified > 10 {
		t.Errorf("%d unqualified providers, want a handful", unqualified)
	}

	// The demo client in Utrecht finds at least three providers of every
	// product within 25 km, as a search in region utrecht would.
	for _, tr := range tariffs {
		var near []string
		for _, p := range providers {
			if !p.Qualified || p.Offer(tr.Product) == nil || !slices.Contains(p.Regions, "utrecht") {
				continue
			}
			for _, l := range p.Locations {
				if matching.DistanceKm(utrechtLat, utrechtLon, l.Lat, l.Lon) <= 25 {
					near = append(near, p.Name)
					break
				}
			}
		}
		if len(near) < 3 {
			t.Errorf("%s: %d qualified providers within 25 km of Utrecht (%v), want at least 3", tr.Product, len(near), near)
		}
	}
}

func TestUsers(t *testing.T) {
	ctx, st, _ := load(t)
	users := demo.Users()
	roles := map[regie.Role]bool{}
	for _, u := range users {
		roles[u.Role] = true
		if !u.Role.Valid() || u.Label == "" {
			t.Errorf("user %+v invalid", u)
		}
		if u.Role == regie.RoleClient {
			if err := voucher.CheckBSN(u.BSN); err != nil {
				t.Errorf("client %q: BSN fails the 11-proof: %v", u.Label, err)
			}
		} else if u.BSN != "" || u.Subject == "" {
			t.Errorf("user %+v: only a client has a BSN, every other user a subject", u)
		}
		switch u.Role {
		case regie.RoleAssessor:
			if u.Subject != "ciz-demo" || !slices.Equal(u.Regions, []string{"*"}) {
				t.Errorf("assessor %+v", u)
			}
		case regie.RoleFunder, regie.RoleAuditor:
			if !slices.Equal(u.Regions, []string{"utrecht"}) {
				t.Errorf("%s %+v: want region utrecht", u.Role, u)
			}
		case regie.RoleProvider:
			p, err := st.Provider(ctx, u.Subject)
			if err != nil {
				t.Fatalf("provider user %s: %v", u.Subject, err)
			}
			laws := map[voucher.Law]bool{}
			for _, o := range p.Offers {
				tr := lawOf(t, ctx, st, o.Product)
				laws[tr] = true
			}
			if !p.Qualified || !slices.Contains(p.Regions, "utrecht") || p.Locations[0].City != "Utrecht" ||
				!laws[voucher.Wmo] || !laws[voucher.Wlz] {
				t.Errorf("provider user %s: %q must be a qualified Utrecht provider with Wmo and Wlz offers", u.Subject, p.Name)
			}
			for _, product := range []string{demo.VV05, demo.WmoBeg, demo.WmoDB} {
				if p.Offer(product) == nil {
					t.Errorf("provider user %s does not offer %s, which the demo client's vouchers hold", u.Subject, product)
				}
			}
		}
	}
	for _, r := range []regie.Role{regie.RoleAssessor, regie.RoleClient, regie.RoleProvider, regie.RoleFunder, regie.RoleAuditor, regie.RoleAdmin} {
		if !roles[r] {
			t.Errorf("no demo user with role %s", r)
		}
	}
}

func lawOf(t *testing.T, ctx context.Context, st store.Store, product string) voucher.Law {
	t.Helper()
	tariffs, err := st.Tariffs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range tariffs {
		if tr.Product == product {
			return tr.Law
		}
	}
	t.Fatalf("no tariff for %s", product)
	return ""
}

// TestProvidersDeterministic checks that two stores get the same providers.
func TestProvidersDeterministic(t *testing.T) {
	ctx, st1, _ := load(t)
	_, st2, _ := load(t)
	a, err := st1.Providers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st2.Providers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("two loads produced different providers")
	}
	if !reflect.DeepEqual(demo.Providers(), demo.Providers()) {
		t.Error("Providers is not deterministic")
	}
}

func TestLoadRejectsBadYear(t *testing.T) {
	st := openStore(t)
	if _, err := demo.Load(context.Background(), st, newVouchers(t, st), 26); err == nil {
		t.Error("Load accepted year 26")
	}
}
