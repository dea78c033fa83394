package voucher_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/bolt"
	"github.com/regie-nl/regie/voucher"
)

const testBSN = "123456782"

// env is a voucher service on a real bolt store in a temporary directory.
type env struct {
	path string
	db   *bolt.DB
	svc  *voucher.Service
	ring *voucher.KeyRing
	ps   *voucher.Pseudonymiser
	now  time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{path: filepath.Join(t.TempDir(), "r.db")}
	db, err := bolt.Open(e.path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	e.ring = newRing(t, newKey(t))
	e.ps = testPseudonymiser(t, 42)
	e.now = time.Date(2026, 1, 10, 9, 30, 15, 123456789, time.UTC)
	e.svc = &voucher.Service{
		Store: db, Regions: db, Assignments: db,
		Keys: e.ring, Pseudonyms: e.ps, Issuer: "https://regie.test",
		Now: func() time.Time { return e.now },
	}
	for _, r := range []settlement.Region{
		{ID: "r1", Name: "Amstelland", Funder: "zk1", Year: 2026, Budget: 1_000_000_00},
		{ID: "r2", Name: "Utrecht", Funder: "zk2", Year: 2026, Budget: 1_000_000_00},
	} {
		if err := db.PutRegion(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, tf := range []voucher.Tariff{
		{Product: "H300", Law: voucher.Wmo, Name: "Begeleiding individueel", Unit: "hour", MaxPrice: 6500},
		{Product: "H531", Law: voucher.Wmo, Name: "Dagbesteding", Unit: "dagdeel", MaxPrice: 5000},
		{Product: "VV04", Law: voucher.Wlz, Name: "Wonen met begeleiding", Unit: "day", MaxPrice: 25000},
		{Product: "JW01", Law: voucher.Jeugdwet, Name: "Jeugdhulp", Unit: "hour", MaxPrice: 9000},
		{Product: "HUGE", Law: voucher.Wmo, Name: "Overflow", Unit: "hour", MaxPrice: 1 << 60},
	} {
		if err := db.PutTariff(ctx, tf); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

var (
	assessorR1 = regie.Principal{Role: regie.RoleAssessor, Subject: "ciz-1", Regions: []string{"r1"}}
	assessorR2 = regie.Principal{Role: regie.RoleAssessor, Subject: "ciz-2", Regions: []string{"r2"}}
	ciz        = regie.Principal{Role: regie.RoleAssessor, Subject: "ciz-0", Regions: []string{regie.AllRegions}}
)

func date(t *testing.T, s string) regie.Date {
	t.Helper()
	d, err := regie.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// indication is 4 hours of begeleiding a week in r1 for the whole of 2026.
func indication(t *testing.T) voucher.Indication {
	return voucher.Indication{
		BSN: testBSN, Law: voucher.Wmo, Region: "r1",
		Lines:     []voucher.IndicationLine{{Product: "H300", UnitsPerWeek: 400}},
		ValidFrom: date(t, "2026-01-01"), ValidTo: date(t, "2026-12-31"),
	}
}

func (e *env) issue(t *testing.T, in voucher.Indication) (*voucher.Voucher, string) {
	t.Helper()
	v, token, err := e.svc.Issue(context.Background(), assessorR1, in)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return v, token
}

func (e *env) pseudonym(t *testing.T, bsn string) string {
	t.Helper()
	p, err := e.ps.Pseudonym(bsn)
	if err != nil {
		t.Fatal(err)
	}
	return p
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

// payload decodes the claims segment of a compact JWS without verifying it.
func payload(t *testing.T, token string) (map[string]any, []byte) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m, raw
}

func TestService_Issue(t *testing.T) {
	ctx := context.Background()

	t.Run("issues a signed voucher", func(t *testing.T) {
		e := newEnv(t)
		v, token, err := e.svc.Issue(ctx, assessorR1, indication(t))
		if err != nil {
			t.Fatalf("Issue: %v", err)
		}
		if !strings.HasPrefix(v.ID, "v") || len(v.ID) != 27 {
			t.Errorf("ID = %q, want v and 26 characters", v.ID)
		}
		if v.Subject != e.pseudonym(t, testBSN) {
			t.Errorf("Subject = %q, want the pseudonym", v.Subject)
		}
		if v.Law != voucher.Wmo || v.Region != "r1" || v.State != voucher.Active {
			t.Errorf("voucher = %+v", v)
		}
		if v.ValidFrom != date(t, "2026-01-01") || v.ValidTo != date(t, "2026-12-31") {
			t.Errorf("validity = %s..%s", v.ValidFrom, v.ValidTo)
		}
		if !v.IssuedAt.Equal(time.Date(2026, 1, 10, 9, 30, 15, 0, time.UTC)) {
			t.Errorf("IssuedAt = %v, want the clock truncated to seconds", v.IssuedAt)
		}
		if v.KeyID != e.ring.ActiveKeyID() {
			t.Errorf("KeyID = %q, want %q", v.KeyID, e.ring.ActiveKeyID())
		}
		// 4 h/week over 365 days: 4 × 365 / 7 = 208.571… → 208.57 h; × 65.00 = 13557.05.
		want := voucher.Line{Product: "H300", UnitsPerWeek: 400, Units: 20857, MaxAmount: 1355705, Remaining: 1355705}
		if len(v.Lines) != 1 || v.Lines[0] != want {
			t.Errorf("lines = %+v, want %+v", v.Lines, want)
		}
		if v.Balance() != 1355705 {
			t.Errorf("Balance = %s", v.Balance())
		}

		stored, err := e.db.Voucher(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		sj, _ := json.Marshal(stored)
		vj, _ := json.Marshal(v)
		if !bytes.Equal(sj, vj) {
			t.Errorf("stored voucher\n%s\nwant\n%s", sj, vj)
		}
		if st, err := e.db.VoucherToken(ctx, v.ID); err != nil || st != token {
			t.Errorf("stored token = %q, %v", st, err)
		}
	})

	t.Run("token", func(t *testing.T) {
		e := newEnv(t)
		v, token := e.issue(t, indication(t))

		var c voucher.Claims
		_, err := e.ring.Parse(voucher.TokenType, token, &c, jwt.WithTimeFunc(func() time.Time { return e.now }))
		if err != nil {
			t.Fatalf("token does not verify with the ring: %v", err)
		}
		h := header(t, token)
		if h["alg"] != "EdDSA" || h["typ"] != voucher.TokenType || h["kid"] != e.ring.ActiveKeyID() {
			t.Errorf("header = %v", h)
		}
		if c.ID != v.ID {
			t.Errorf("jti = %q, want the voucher id %q", c.ID, v.ID)
		}
		if c.Subject != e.pseudonym(t, testBSN) {
			t.Errorf("sub = %q, want the pseudonym", c.Subject)
		}
		if c.Issuer != "https://regie.test" || c.Region != "r1" || c.Law != voucher.Wmo {
			t.Errorf("claims = %+v", c)
		}
		// nbf is the start of the first day, exp the end of the last day, Amsterdam time.
		if want := time.Date(2026, 1, 1, 0, 0, 0, 0, regie.Amsterdam); !c.NotBefore.Equal(want) {
			t.Errorf("nbf = %v, want %v", c.NotBefore.Time, want)
		}
		if want := time.Date(2027, 1, 1, 0, 0, 0, 0, regie.Amsterdam); !c.ExpiresAt.Equal(want) {
			t.Errorf("exp = %v, want %v", c.ExpiresAt.Time, want)
		}
		if want := e.now.Truncate(time.Second); !c.IssuedAt.Equal(want) {
			t.Errorf("iat = %v, want %v", c.IssuedAt.Time, want)
		}
		wantLines := []voucher.TokenLine{{Product: "H300", Units: 20857, MaxAmount: 1355705}}
		if len(c.Lines) != 1 || c.Lines[0] != wantLines[0] {
			t.Errorf("lines = %+v, want %+v", c.Lines, wantLines)
		}

		m, raw := payload(t, token)
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if got := strings.Join(keys, ","); got != "exp,iat,iss,jti,law,lines,nbf,region,sub" {
			t.Errorf("payload carries %s", got)
		}
		if m["nbf"] != float64(1767222000) || m["exp"] != float64(1798758000) {
			t.Errorf("nbf/exp = %v/%v, want 1767222000/1798758000", m["nbf"], m["exp"])
		}
		if !strings.Contains(string(raw), `"units":"208.57"`) || !strings.Contains(string(raw), `"max_amount":"13557.05"`) {
			t.Errorf("payload lines are not decimal strings: %s", raw)
		}
		for _, s := range []string{string(raw), token} {
			if strings.Contains(s, testBSN) {
				t.Errorf("the BSN appears in %s", s)
			}
		}
	})

	t.Run("the BSN is stored nowhere", func(t *testing.T) {
		e := newEnv(t)
		v, _ := e.issue(t, indication(t))
		stored, err := e.db.Voucher(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		sj, _ := json.Marshal(stored)
		if bytes.Contains(sj, []byte(testBSN)) {
			t.Errorf("stored voucher JSON contains the BSN: %s", sj)
		}
		if err := e.db.Close(); err != nil {
			t.Fatal(err)
		}
		file, err := os.ReadFile(e.path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(file, []byte(testBSN)) {
			t.Error("the database file contains the BSN")
		}
		if !bytes.Contains(file, []byte(v.ID)) {
			t.Error("the database file does not contain the voucher (test is not looking at the right file)")
		}
	})

	t.Run("every voucher gets a new id", func(t *testing.T) {
		e := newEnv(t)
		a, _ := e.issue(t, indication(t))
		b, _ := e.issue(t, indication(t))
		if a.ID == b.ID {
			t.Errorf("two vouchers share id %s", a.ID)
		}
		vs, err := e.db.VouchersBySubject(ctx, e.pseudonym(t, testBSN))
		if err != nil || len(vs) != 2 {
			t.Errorf("VouchersBySubject = %d vouchers, %v", len(vs), err)
		}
	})

	t.Run("national assessor", func(t *testing.T) {
		e := newEnv(t)
		in := indication(t)
		in.Region = "r2"
		if _, _, err := e.svc.Issue(ctx, ciz, in); err != nil {
			t.Errorf("Issue by a national assessor: %v", err)
		}
	})

	errorCases := []struct {
		name   string
		p      regie.Principal
		change func(in *voucher.Indication)
		kind   regie.Kind
		code   string
	}{
		{"client may not issue", regie.Principal{Role: regie.RoleClient, Subject: "cx"}, nil, regie.Forbidden, "role_forbidden"},
		{"funder may not issue", regie.Principal{Role: regie.RoleFunder, Subject: "f", Regions: []string{"r1"}}, nil, regie.Forbidden, "role_forbidden"},
		{"provider may not issue", regie.Principal{Role: regie.RoleProvider, Subject: "12345678"}, nil, regie.Forbidden, "role_forbidden"},
		{"admin may not issue", regie.Principal{Role: regie.RoleAdmin, Subject: "root", Regions: []string{regie.AllRegions}}, nil, regie.Forbidden, "role_forbidden"},
		{"role is checked before the BSN", regie.Principal{Role: regie.RoleClient}, func(in *voucher.Indication) { in.BSN = "1" }, regie.Forbidden, "role_forbidden"},
		{"region outside scope", assessorR2, nil, regie.Forbidden, "scope_forbidden"},
		{"assessor without scope", regie.Principal{Role: regie.RoleAssessor, Subject: "x"}, nil, regie.Forbidden, "scope_forbidden"},
		{"bsn fails the 11-proof", assessorR1, func(in *voucher.Indication) { in.BSN = "123456789" }, regie.Invalid, "bsn_invalid"},
		{"bsn too short", assessorR1, func(in *voucher.Indication) { in.BSN = "12345678" }, regie.Invalid, "bsn_invalid"},
		{"bsn missing", assessorR1, func(in *voucher.Indication) { in.BSN = "" }, regie.Invalid, "bsn_invalid"},
		{"bsn zeros", assessorR1, func(in *voucher.Indication) { in.BSN = "000000000" }, regie.Invalid, "bsn_invalid"},
		{"law missing", assessorR1, func(in *voucher.Indication) { in.Law = "" }, regie.Invalid, "law_invalid"},
		{"law unknown", assessorR1, func(in *voucher.Indication) { in.Law = "zvw" }, regie.Invalid, "law_invalid"},
		{"law in capitals", assessorR1, func(in *voucher.Indication) { in.Law = "WMO" }, regie.Invalid, "law_invalid"},
		{"unknown region", ciz, func(in *voucher.Indication) { in.Region = "r9" }, regie.Invalid, "region_unknown"},
		{"empty region", ciz, func(in *voucher.Indication) { in.Region = "" }, regie.Invalid, "region_unknown"},
		{"valid_from missing", assessorR1, func(in *voucher.Indication) { in.ValidFrom = 0 }, regie.Invalid, "validity_invalid"},
		{"valid_to missing", assessorR1, func(in *voucher.Indication) { in.ValidTo = 0 }, regie.Invalid, "validity_invalid"},
		{"valid_to before valid_from", assessorR1, func(in *voucher.Indication) { in.ValidTo = in.ValidFrom - 1 }, regie.Invalid, "validity_invalid"},
		{"validity of 1832 days", assessorR1, func(in *voucher.Indication) { in.ValidTo = in.ValidFrom + 1831 }, regie.Invalid, "validity_invalid"},
		{"no lines", assessorR1, func(in *voucher.Indication) { in.Lines = nil }, regie.Invalid, "lines_invalid"},
		{"21 lines", assessorR1, func(in *voucher.Indication) {
			in.Lines = nil
			for i := 0; i < 21; i++ {
				in.Lines = append(in.Lines, voucher.IndicationLine{Product: "H300", UnitsPerWeek: 100})
			}
		}, regie.Invalid, "lines_invalid"},
		{"unknown product", assessorR1, func(in *voucher.Indication) { in.Lines[0].Product = "H999" }, regie.Invalid, "product_unknown"},
		{"product of another law", assessorR1, func(in *voucher.Indication) { in.Lines[0].Product = "VV04" }, regie.Invalid, "product_law_mismatch"},
		{"jeugdwet product in a wmo indication", assessorR1, func(in *voucher.Indication) {
			in.Lines = append(in.Lines, voucher.IndicationLine{Product: "JW01", UnitsPerWeek: 100})
		}, regie.Invalid, "product_law_mismatch"},
		{"duplicate product", assessorR1, func(in *voucher.Indication) {
			in.Lines = append(in.Lines, voucher.IndicationLine{Product: "H300", UnitsPerWeek: 100})
		}, regie.Invalid, "lines_invalid"},
		{"zero units", assessorR1, func(in *voucher.Indication) { in.Lines[0].UnitsPerWeek = 0 }, regie.Invalid, "units_invalid"},
		{"negative units", assessorR1, func(in *voucher.Indication) { in.Lines[0].UnitsPerWeek = -100 }, regie.Invalid, "units_invalid"},
		{"more hours than a week has", assessorR1, func(in *voucher.Indication) { in.Lines[0].UnitsPerWeek = 16801 }, regie.Invalid, "units_invalid"},
		{"more dagdelen than a week has", assessorR1, func(in *voucher.Indication) {
			in.Lines[0] = voucher.IndicationLine{Product: "H531", UnitsPerWeek: 1401}
		}, regie.Invalid, "units_invalid"},
		{"more days than a week has", assessorR1, func(in *voucher.Indication) {
			in.Law = voucher.Wlz
			in.Lines[0] = voucher.IndicationLine{Product: "VV04", UnitsPerWeek: 701}
		}, regie.Invalid, "units_invalid"},
		{"amount overflows", assessorR1, func(in *voucher.Indication) { in.Lines[0].Product = "HUGE" }, regie.Invalid, "units_invalid"},
	}
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			in := indication(t)
			if tc.change != nil {
				tc.change(&in)
			}
			v, token, err := e.svc.Issue(ctx, tc.p, in)
			wantErr(t, err, tc.kind, tc.code)
			if v != nil || token != "" {
				t.Errorf("Issue returned %v, %q with an error", v, token)
			}
			if in.BSN != "" && strings.Contains(err.Error(), in.BSN) {
				t.Errorf("error %q contains the BSN", err)
			}
			if vs, _ := e.db.VouchersBySubject(ctx, e.pseudonym(t, testBSN)); len(vs) != 0 {
				t.Errorf("a failed Issue stored %d vouchers", len(vs))
			}
		})
	}

	limits := []struct {
		name   string
		change func(in *voucher.Indication)
	}{
		{"validity of one day", func(in *voucher.Indication) { in.ValidTo = in.ValidFrom }},
		{"validity of 1831 days (5 × 366 + 1)", func(in *voucher.Indication) { in.ValidTo = in.ValidFrom + 1830 }},
		{"168 hours a week", func(in *voucher.Indication) { in.Lines[0].UnitsPerWeek = 16800 }},
		{"0.01 hour a week", func(in *voucher.Indication) { in.Lines[0].UnitsPerWeek = 1 }},
		{"14 dagdelen a week", func(in *voucher.Indication) {
			in.Lines[0] = voucher.IndicationLine{Product: "H531", UnitsPerWeek: 1400}
		}},
		{"7 days a week", func(in *voucher.Indication) {
			in.Law = voucher.Wlz
			in.Lines[0] = voucher.IndicationLine{Product: "VV04", UnitsPerWeek: 700}
		}},
	}
	for _, tc := range limits {
		t.Run("accepts "+tc.name, func(t *testing.T) {
			e := newEnv(t)
			in := indication(t)
			tc.change(&in)
			if _, _, err := e.svc.Issue(ctx, assessorR1, in); err != nil {
				t.Errorf("Issue: %v", err)
			}
		})
	}
	t.Run("accepts 20 lines", func(t *testing.T) {
		e := newEnv(t)
		in := indication(t)
		in.Lines = nil
		for i := 0; i < 20; i++ {
			p := "P" + string(rune('A'+i))
			if err := e.db.PutTariff(ctx, voucher.Tariff{Product: p, Law: voucher.Wmo, Unit: "hour", MaxPrice: 100}); err != nil {
				t.Fatal(err)
			}
			in.Lines = append(in.Lines, voucher.IndicationLine{Product: p, UnitsPerWeek: 100})
		}
		v, _, err := e.svc.Issue(ctx, assessorR1, in)
		if err != nil {
			t.Fatalf("Issue: %v", err)
		}
		if len(v.Lines) != 20 {
			t.Errorf("%d lines", len(v.Lines))
		}
	})
}

func TestService_Issue_Pricing(t *testing.T) {
	tests := []struct {
		name     string
		law      voucher.Law
		from, to string
		lines    []voucher.IndicationLine
		want     []voucher.Line
	}{
		{
			name: "4 hours a week for 365 days at 65.00",
			law:  voucher.Wmo, from: "2026-01-01", to: "2026-12-31",
			lines: []voucher.IndicationLine{{Product: "H300", UnitsPerWeek: 400}},
			// 4 × 365 / 7 = 208.5714 → 208.57; 208.57 × 65.00 = 13557.05
			want: []voucher.Line{{Product: "H300", UnitsPerWeek: 400, Units: 20857, MaxAmount: 1355705, Remaining: 1355705}},
		},
		{
			name: "4 hours a week in a leap year",
			law:  voucher.Wmo, from: "2028-01-01", to: "2028-12-31",
			lines: []voucher.IndicationLine{{Product: "H300", UnitsPerWeek: 400}},
			// 4 × 366 / 7 = 209.1428 → 209.14; × 65.00 = 13594.10
			want: []voucher.Line{{Product: "H300", UnitsPerWeek: 400, Units: 20914, MaxAmount: 1359410, Remaining: 1359410}},
		},
		{
			name: "units round half up",
			law:  voucher.Wmo, from: "2026-01-01", to: "2026-01-10",
			lines: []voucher.IndicationLine{{Product: "H300", UnitsPerWeek: 100}},
			// 1 × 10 / 7 = 1.42857 → 1.43; × 65.00 = 92.95
			want: []voucher.Line{{Product: "H300", UnitsPerWeek: 100, Units: 143, MaxAmount: 9295, Remaining: 9295}},
		},
		{
			name: "one day of 1.5 hours a week",
			law:  voucher.Wmo, from: "2026-03-29", to: "2026-03-29",
			lines: []voucher.IndicationLine{{Product: "H300", UnitsPerWeek: 150}},
			// 1.5 / 7 = 0.2142 → 0.21; × 65.00 = 13.65
			want: []voucher.Line{{Product: "H300", UnitsPerWeek: 150, Units: 21, MaxAmount: 1365, Remaining: 1365}},
		},
		{
			name: "wlz 7 days a week for a year",
			law:  voucher.Wlz, from: "2026-01-01", to: "2026-12-31",
			lines: []voucher.IndicationLine{{Product: "VV04", UnitsPerWeek: 700}},
			// 7 × 365 / 7 = 365 days × 250.00 = 91250.00
			want: []voucher.Line{{Product: "VV04", UnitsPerWeek: 700, Units: 36500, MaxAmount: 9125000, Remaining: 9125000}},
		},
		{
			name: "two lines over four weeks",
			law:  voucher.Wmo, from: "2026-02-01", to: "2026-02-28",
			lines: []voucher.IndicationLine{
				{Product: "H300", UnitsPerWeek: 400},
				{Product: "H531", UnitsPerWeek: 250},
			},
			// 4 × 4 = 16 h × 65.00 = 1040.00; 2.5 × 4 = 10 dagdelen × 50.00 = 500.00
			want: []voucher.Line{
				{Product: "H300", UnitsPerWeek: 400, Units: 1600, MaxAmount: 104000, Remaining: 104000},
				{Product: "H531", UnitsPerWeek: 250, Units: 1000, MaxAmount: 50000, Remaining: 50000},
			},
		},
		{
			name: "the largest indication",
			law:  voucher.Wmo, from: "2026-01-01", to: "2031-01-05", // 1831 days
			lines: []voucher.IndicationLine{{Product: "H300", UnitsPerWeek: 16800}},
			// 168 × 1831 / 7 = 43944 h × 65.00 = 2856360.00
			want: []voucher.Line{{Product: "H300", UnitsPerWeek: 16800, Units: 4394400, MaxAmount: 285636000, Remaining: 285636000}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			in := voucher.Indication{
				BSN: testBSN, Law: tc.law, Region: "r1", Lines: tc.lines,
				ValidFrom: date(t, tc.from), ValidTo: date(t, tc.to),
			}
			v, token := e.issue(t, in)
			if len(v.Lines) != len(tc.want) {
				t.Fatalf("lines = %+v", v.Lines)
			}
			var sum regie.Cents
			for i, want := range tc.want {
				if v.Lines[i] != want {
					t.Errorf("line %d = %+v, want %+v", i, v.Lines[i], want)
				}
				sum += want.MaxAmount
			}
			if v.Balance() != sum {
				t.Errorf("Balance = %s, want %s", v.Balance(), sum)
			}
			var c voucher.Claims
			if _, err := e.ring.Parse(voucher.TokenType, token, &c, jwt.WithoutClaimsValidation()); err != nil {
				t.Fatal(err)
			}
			for i, want := range tc.want {
				if i >= len(c.Lines) || c.Lines[i] != (voucher.TokenLine{Product: want.Product, Units: want.Units, MaxAmount: want.MaxAmount}) {
					t.Errorf("token line %d = %+v", i, c.Lines)
				}
			}
		})
	}
}

func TestService_Voucher(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	v, token := e.issue(t, indication(t))
	owner := regie.Principal{Role: regie.RoleClient, Subject: v.Subject}

	// Provider 11110000 has a requested choice on the voucher.
	choice := &matching.Choice{
		ID: "ch1", VoucherID: v.ID, Product: "H300", ProviderAGB: "11110000", Subject: v.Subject,
		Region: "r1", Status: matching.Requested, From: v.ValidFrom, To: v.ValidTo, CreatedAt: e.now,
	}
	if err := e.db.CreateChoice(ctx, choice); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		p    regie.Principal
		ok   bool
	}{
		{"own client", owner, true},
		{"other client", regie.Principal{Role: regie.RoleClient, Subject: e.pseudonym(t, "111222333")}, false},
		{"client with empty subject", regie.Principal{Role: regie.RoleClient}, false},
		{"chosen provider", regie.Principal{Role: regie.RoleProvider, Subject: "11110000"}, true},
		{"other provider", regie.Principal{Role: regie.RoleProvider, Subject: "33330000"}, false},
		{"funder of the region", regie.Principal{Role: regie.RoleFunder, Subject: "f1", Regions: []string{"r1"}}, true},
		{"national funder", regie.Principal{Role: regie.RoleFunder, Subject: "f0", Regions: []string{regie.AllRegions}}, true},
		{"funder of another region", regie.Principal{Role: regie.RoleFunder, Subject: "f2", Regions: []string{"r2"}}, false},
		{"funder without scope", regie.Principal{Role: regie.RoleFunder, Subject: "f3"}, false},
		{"assessor of the region", assessorR1, true},
		{"assessor of another region", assessorR2, false},
		{"auditor of the region", regie.Principal{Role: regie.RoleAuditor, Subject: "a1", Regions: []string{"r1"}}, true},
		{"auditor of another region", regie.Principal{Role: regie.RoleAuditor, Subject: "a2", Regions: []string{"r2"}}, false},
		{"admin", regie.Principal{Role: regie.RoleAdmin, Subject: "root", Regions: []string{regie.AllRegions}}, false},
		{"no role", regie.Principal{Subject: v.Subject, Regions: []string{regie.AllRegions}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.svc.Voucher(ctx, tc.p, v.ID)
			tok, terr := e.svc.Token(ctx, tc.p, v.ID)
			if tc.ok {
				if err != nil || got == nil || got.ID != v.ID {
					t.Fatalf("Voucher = %v, %v", got, err)
				}
				if terr != nil || tok != token {
					t.Errorf("Token = %q, %v", tok, terr)
				}
				return
			}
			wantErr(t, err, regie.Forbidden, "scope_forbidden")
			if got != nil {
				t.Errorf("Voucher returned %v with an error", got)
			}
			wantErr(t, terr, regie.Forbidden, "scope_forbidden")
			if tok != "" {
				t.Errorf("Token returned %q with an error", tok)
			}
		})
	}

	t.Run("provider only while chosen", func(t *testing.T) {
		p := regie.Principal{Role: regie.RoleProvider, Subject: "11110000"}
		if _, err := e.db.DecideChoice(ctx, "ch1", matching.Declined, "full", e.now); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.Voucher(ctx, p, v.ID)
		wantErr(t, err, regie.Forbidden, "scope_forbidden")
	})

	t.Run("unknown voucher", func(t *testing.T) {
		_, err := e.svc.Voucher(ctx, owner, "vdoesnotexist")
		wantErr(t, err, regie.NotFound, "voucher_not_found")
		_, err = e.svc.Token(ctx, owner, "vdoesnotexist")
		wantErr(t, err, regie.NotFound, "voucher_not_found")
	})
}

func TestService_ClientVouchers(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	a, _ := e.issue(t, indication(t))
	e.now = e.now.Add(time.Hour)
	b, _ := e.issue(t, indication(t))
	other := indication(t)
	other.BSN = "111222333"
	e.issue(t, other)

	got, err := e.svc.ClientVouchers(ctx, regie.Principal{Role: regie.RoleClient, Subject: a.Subject})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID {
		t.Errorf("ClientVouchers = %v, want [%s %s] oldest first", got, a.ID, b.ID)
	}
	_, err = e.svc.ClientVouchers(ctx, regie.Principal{Role: regie.RoleFunder, Subject: a.Subject, Regions: []string{"r1"}})
	wantErr(t, err, regie.Forbidden, "role_forbidden")
}

func TestService_SetState(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	v, _ := e.issue(t, indication(t))

	_, err := e.svc.SetState(ctx, regie.Principal{Role: regie.RoleFunder, Subject: "f", Regions: []string{"r1"}}, v.ID, voucher.Suspended)
	wantErr(t, err, regie.Forbidden, "role_forbidden")
	_, err = e.svc.SetState(ctx, assessorR2, v.ID, voucher.Suspended)
	wantErr(t, err, regie.Forbidden, "scope_forbidden")
	_, err = e.svc.SetState(ctx, assessorR1, v.ID, voucher.Expired)
	wantErr(t, err, regie.Invalid, "state_invalid")
	_, err = e.svc.SetState(ctx, assessorR1, v.ID, "")
	wantErr(t, err, regie.Invalid, "state_invalid")
	_, err = e.svc.SetState(ctx, assessorR1, "vnope", voucher.Suspended)
	wantErr(t, err, regie.NotFound, "voucher_not_found")

	for _, st := range []voucher.Status{voucher.Suspended, voucher.Active, voucher.Revoked, voucher.Revoked} {
		got, err := e.svc.SetState(ctx, assessorR1, v.ID, st)
		if err != nil {
			t.Fatalf("SetState(%s): %v", st, err)
		}
		if got.State != st {
			t.Errorf("SetState(%s) returned state %s", st, got.State)
		}
		if stored, _ := e.db.Voucher(ctx, v.ID); stored.State != st {
			t.Errorf("stored state %s, want %s", stored.State, st)
		}
	}
	_, err = e.svc.SetState(ctx, assessorR1, v.ID, voucher.Active)
	wantErr(t, err, regie.Conflict, "voucher_revoked")
}

func TestService_Verify(t *testing.T) {
	ctx := context.Background()
	provider := regie.Principal{Role: regie.RoleProvider, Subject: "11110000"}

	t.Run("roles", func(t *testing.T) {
		e := newEnv(t)
		_, token := e.issue(t, indication(t))
		for _, p := range []regie.Principal{
			provider,
			{Role: regie.RoleClient, Subject: "cz"},
			{Role: regie.RoleFunder, Subject: "f"},
			{Role: regie.RoleAssessor, Subject: "a"},
			{Role: regie.RoleAuditor, Subject: "a"},
		} {
			if _, err := e.svc.Verify(ctx, p, token); err != nil {
				t.Errorf("Verify as %s: %v", p.Role, err)
			}
		}
		_, err := e.svc.Verify(ctx, regie.Principal{Role: regie.RoleAdmin, Subject: "root"}, token)
		wantErr(t, err, regie.Forbidden, "role_forbidden")
	})

	t.Run("valid", func(t *testing.T) {
		e := newEnv(t)
		v, token := e.issue(t, indication(t))
		got, err := e.svc.Verify(ctx, provider, token)
		if err != nil {
			t.Fatal(err)
		}
		if !got.SignatureValid || !got.Known || got.Problem != "" || got.Status != voucher.Active {
			t.Errorf("Verify = %+v", got)
		}
		if got.Balance == nil || *got.Balance != 1355705 {
			t.Errorf("Balance = %v, want 13557.05", got.Balance)
		}
		if got.Claims == nil || got.Claims.ID != v.ID || got.Claims.Subject != v.Subject {
			t.Errorf("Claims = %+v", got.Claims)
		}
	})

	bad := []struct {
		name  string
		token func(t *testing.T, e *env, token string) string
	}{
		{"tampered signature", func(t *testing.T, e *env, token string) string { return flipSignature(t, token) }},
		{"tampered payload", func(t *testing.T, e *env, token string) string {
			parts := strings.Split(token, ".")
			raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
			raw = bytes.Replace(raw, []byte(`"13557.05"`), []byte(`"99999.99"`), 1)
			parts[1] = base64.RawURLEncoding.EncodeToString(raw)
			return strings.Join(parts, ".")
		}},
		{"signed by another ring", func(t *testing.T, e *env, token string) string {
			var c voucher.Claims
			if _, err := e.ring.Parse(voucher.TokenType, token, &c, jwt.WithoutClaimsValidation()); err != nil {
				t.Fatal(err)
			}
			s, err := newRing(t, newKey(t)).Sign(voucher.TokenType, &c)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"another token type", func(t *testing.T, e *env, token string) string {
			var c voucher.Claims
			if _, err := e.ring.Parse(voucher.TokenType, token, &c, jwt.WithoutClaimsValidation()); err != nil {
				t.Fatal(err)
			}
			s, err := e.ring.Sign("at+jwt", &c)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"garbage", func(*testing.T, *env, string) string { return "eyJ.garbage.x" }},
		{"empty", func(*testing.T, *env, string) string { return "" }},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			_, token := e.issue(t, indication(t))
			got, err := e.svc.Verify(ctx, provider, tc.token(t, e, token))
			if err != nil {
				t.Fatalf("Verify: %v (a bad token is an answer, not an error)", err)
			}
			if got.SignatureValid || got.Problem != "signature_invalid" || got.Known || got.Balance != nil || got.Claims != nil {
				t.Errorf("Verify = %+v, want only problem signature_invalid", got)
			}
		})
	}

	t.Run("unknown voucher", func(t *testing.T) {
		e := newEnv(t)
		c := futureClaims("vnotissuedhere")
		token, err := e.ring.Sign(voucher.TokenType, c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.svc.Verify(ctx, provider, token)
		if err != nil {
			t.Fatal(err)
		}
		if !got.SignatureValid || got.Known || got.Problem != "voucher_unknown" || got.Balance != nil || got.Status != "" {
			t.Errorf("Verify = %+v, want signature valid, unknown", got)
		}
	})

	t.Run("live state", func(t *testing.T) {
		e := newEnv(t)
		v, token := e.issue(t, indication(t))
		for _, st := range []voucher.Status{voucher.Suspended, voucher.Active, voucher.Revoked} {
			if _, err := e.svc.SetState(ctx, assessorR1, v.ID, st); err != nil {
				t.Fatal(err)
			}
			got, err := e.svc.Verify(ctx, provider, token)
			if err != nil {
				t.Fatal(err)
			}
			if !got.SignatureValid || !got.Known || got.Status != st {
				t.Errorf("after SetState(%s): Verify = %+v", st, got)
			}
		}
	})

	t.Run("expiry", func(t *testing.T) {
		e := newEnv(t)
		_, token := e.issue(t, indication(t)) // valid through 2026-12-31
		lastDay := time.Date(2026, 12, 31, 0, 0, 0, 0, regie.Amsterdam).AddDate(0, 0, voucher.ClaimWindow)
		tests := []struct {
			at   time.Time
			want voucher.Status
		}{
			{time.Date(2026, 12, 31, 23, 59, 0, 0, regie.Amsterdam), voucher.Active},
			{time.Date(2027, 1, 15, 12, 0, 0, 0, regie.Amsterdam), voucher.Active}, // token exp passed, claim window open
			{lastDay.Add(23*time.Hour + 59*time.Minute), voucher.Active},           // 2027-03-31, last day of the window
			{lastDay.AddDate(0, 0, 1), voucher.Expired},
			{lastDay.AddDate(1, 0, 0), voucher.Expired},
		}
		for _, tc := range tests {
			e.now = tc.at
			got, err := e.svc.Verify(ctx, provider, token)
			if err != nil {
				t.Fatal(err)
			}
			if !got.SignatureValid || got.Status != tc.want {
				t.Errorf("at %v: Verify = %+v, want status %s", tc.at, got, tc.want)
			}
		}
	})
}

func TestService_Tariffs(t *testing.T) {
	e := newEnv(t)
	ts, err := e.svc.Tariffs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !sort.SliceIsSorted(ts, func(i, j int) bool { return ts[i].Product < ts[j].Product }) || len(ts) != 5 {
		t.Errorf("Tariffs = %+v, want 5 ordered by product", ts)
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := voucher.NewID("ch")
		if !strings.HasPrefix(id, "ch") || len(id) != 28 {
			t.Fatalf("NewID = %q", id)
		}
		if strings.Trim(id[2:], "0123456789abcdefghjkmnpqrstvwxyz") != "" {
			t.Fatalf("NewID = %q has characters outside its alphabet", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %s", id)
		}
		seen[id] = true
	}
}

func TestVoucher_StatusAt(t *testing.T) {
	v := &voucher.Voucher{ValidFrom: 20454, ValidTo: 20818, State: voucher.Active}
	tests := []struct {
		state voucher.Status
		today regie.Date
		want  voucher.Status
	}{
		{voucher.Active, 20454, voucher.Active},
		{voucher.Active, 20818 + voucher.ClaimWindow, voucher.Active},
		{voucher.Active, 20818 + voucher.ClaimWindow + 1, voucher.Expired},
		{voucher.Suspended, 20500, voucher.Suspended},
		{voucher.Revoked, 20500, voucher.Revoked},
		{voucher.Revoked, 30000, voucher.Revoked},
	}
	for _, tc := range tests {
		v.State = tc.state
		if got := v.StatusAt(tc.today); got != tc.want {
			t.Errorf("%s on %s: StatusAt = %s, want %s", tc.state, tc.today, got, tc.want)
		}
	}
}

func TestVoucher_LineAndBalance(t *testing.T) {
	v := &voucher.Voucher{Lines: []voucher.Line{
		{Product: "H300", Remaining: 1000},
		{Product: "H531", Remaining: 250},
	}}
	if l := v.Line("H531"); l == nil || l.Remaining != 250 {
		t.Errorf("Line(H531) = %v", l)
	}
	if l := v.Line("VV04"); l != nil {
		t.Errorf("Line(VV04) = %v", l)
	}
	v.Line("H300").Remaining = 400 // Line returns a pointer into the voucher
	if v.Balance() != 650 {
		t.Errorf("Balance = %s", v.Balance())
	}
	if (&voucher.Voucher{}).Balance() != 0 {
		t.Error("empty voucher has a balance")
	}
}

func TestLaw_Valid(t *testing.T) {
	for _, l := range []voucher.Law{voucher.Wlz, voucher.Wmo, voucher.Jeugdwet} {
		if !l.Valid() {
			t.Errorf("%s not Valid", l)
		}
	}
	for _, l := range []voucher.Law{"", "zvw", "WLZ", "jeugdwet"} {
		if l.Valid() {
			t.Errorf("%q Valid", l)
		}
	}
}
