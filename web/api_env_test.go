package web_test

// Shared fixture of the API tests: a real bolt store, real services wired as
// cmd/regie/serve.go wires them, a fixed clock, and helpers to call the API
// through Fiber's app.Test.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/bolt"
	"github.com/regie-nl/regie/store/storetest"
	"github.com/regie-nl/regie/voucher"
	"github.com/regie-nl/regie/web"
)

// The fixed clock of every service and the server. Vouchers in the tests are
// valid 2026-01-01..2026-12-31, so "today" is well inside their validity.
var apiNow = time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)

// BSNs that pass the 11-proof, and one that does not.
const (
	bsnClient  = "111222333" // 9+8+7+12+10+8+9+6-3 = 66 = 6×11
	bsnClient2 = "123456782" // 9+16+21+24+25+24+21+16-2 = 154 = 14×11
	bsnBad     = "123456789" // 147, not a multiple of 11
)

// Providers of the fixture (AGB codes).
const (
	agbNear        = "11111111" // qualified in r1, Amsterdam, VV04 200.00 and WMO-BEG 68.40
	agbFar         = "22222222" // qualified in r1, Haarlem, VV04 195.00
	agbUnqualified = "33333333" // in r1 but not qualified
	agbOtherRegion = "44444444" // qualified in r2 only
	agbNoVV04      = "55555555" // qualified in r1, offers WMO-BEG only
)

var allAGBs = []string{agbNear, agbFar, agbUnqualified, agbOtherRegion, agbNoVV04}

// Region budgets of the fixture.
const (
	budgetR1 = "1000000.00"
	budgetR2 = "500000.00"
)

// syncBuffer is a log sink the server goroutine and the test may share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type apiEnv struct {
	db       *bolt.DB
	dbPath   string
	keys     *voucher.KeyRing
	ps       *voucher.Pseudonymiser
	vouchers *voucher.Service
	srv      *web.Server
	logs     *syncBuffer
}

// newAPIEnv opens a fresh store, seeds regions, tariffs and providers through
// the store, and builds the server. opts may change the web.Config before New.
func newAPIEnv(t *testing.T, opts ...func(*web.Config)) *apiEnv {
	t.Helper()
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "r.db")
	db, err := bolt.Open(dbPath, bolt.Options{})
	if err != nil {
		t.Fatalf("bolt.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := voucher.GenerateKeyRing()
	if err != nil {
		t.Fatalf("GenerateKeyRing: %v", err)
	}
	ps, err := voucher.NewPseudonymiser([]byte("0123456789abcdef0123456789abcdef-test"))
	if err != nil {
		t.Fatalf("NewPseudonymiser: %v", err)
	}
	clock := func() time.Time { return apiNow }

	for _, r := range []settlement.Region{
		{ID: "r1", Name: "Regio Een", Funder: "Zorgkantoor Een", Year: 2026, Budget: mustCents(t, budgetR1)},
		{ID: "r2", Name: "Regio Twee", Funder: "Zorgkantoor Twee", Year: 2026, Budget: mustCents(t, budgetR2)},
	} {
		if err := db.PutRegion(ctx, r); err != nil {
			t.Fatalf("PutRegion: %v", err)
		}
	}
	for _, tr := range []voucher.Tariff{
		{Product: "VV04", Law: voucher.Wlz, Name: "Zorgprofiel VV04", Unit: "day", MaxPrice: 203_15},
		{Product: "WMO-BEG", Law: voucher.Wmo, Name: "Begeleiding individueel", Unit: "hour", MaxPrice: 68_40},
	} {
		if err := db.PutTariff(ctx, tr); err != nil {
			t.Fatalf("PutTariff: %v", err)
		}
	}
	amsterdam := matching.Location{Name: "Centrum", City: "Amsterdam", Lat: 52.3700, Lon: 4.8900}
	haarlem := matching.Location{Name: "Centrum", City: "Haarlem", Lat: 52.3874, Lon: 4.6462}
	for _, p := range []*matching.Provider{
		{AGB: agbNear, KvK: "10000001", Name: "Dichtbij Zorg", Regions: []string{"r1"}, Qualified: true,
			Locations: []matching.Location{amsterdam},
			Offers:    []matching.Offer{{Product: "VV04", Tariff: 200_00}, {Product: "WMO-BEG", Tariff: 68_40}}},
		{AGB: agbFar, KvK: "10000002", Name: "Verderop Zorg", Regions: []string{"r1"}, Qualified: true,
			Locations: []matching.Location{haarlem},
			Offers:    []matching.Offer{{Product: "VV04", Tariff: 195_00}}},
		{AGB: agbUnqualified, KvK: "10000003", Name: "Nog Niet Zorg", Regions: []string{"r1"}, Qualified: false,
			Locations: []matching.Location{amsterdam},
			Offers:    []matching.Offer{{Product: "VV04", Tariff: 150_00}}},
		{AGB: agbOtherRegion, KvK: "10000004", Name: "Elders Zorg", Regions: []string{"r2"}, Qualified: true,
			Locations: []matching.Location{amsterdam},
			Offers:    []matching.Offer{{Product: "VV04", Tariff: 150_00}}},
		{AGB: agbNoVV04, KvK: "10000005", Name: "Alleen Begeleiding", Regions: []string{"r1"}, Qualified: true,
			Locations: []matching.Location{amsterdam},
			Offers:    []matching.Offer{{Product: "WMO-BEG", Tariff: 60_00}}},
	} {
		if err := db.PutProvider(ctx, p); err != nil {
			t.Fatalf("PutProvider: %v", err)
		}
	}

	vouchers := &voucher.Service{Store: db, Regions: db, Assignments: db, Keys: keys, Pseudonyms: ps, Issuer: "regie-test", Now: clock}
	logs := &syncBuffer{}
	cfg := web.Config{
		Vouchers:   vouchers,
		Matching:   &matching.Service{Store: db, Vouchers: vouchers, Now: clock},
		Settlement: &settlement.Service{Ledger: db, Now: clock},
		Keys:       keys,
		Ready:      db.Ping,
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:        clock,
	}
	for _, o := range opts {
		o(&cfg)
	}
	return &apiEnv{db: db, dbPath: dbPath, keys: keys, ps: ps, vouchers: vouchers, srv: web.New(cfg), logs: logs}
}

func mustCents(t *testing.T, s string) regie.Cents {
	t.Helper()
	c, err := regie.ParseCents(s)
	if err != nil {
		t.Fatalf("ParseCents(%q): %v", s, err)
	}
	return c
}

func (e *apiEnv) pseudonym(t *testing.T, bsn string) string {
	t.Helper()
	p, err := e.ps.Pseudonym(bsn)
	if err != nil {
		t.Fatalf("Pseudonym: %v", err)
	}
	return p
}

// token mints an access token for a principal. authenticate checks exp against
// the wall clock (not Config.Now), so tokens are minted at time.Now().
func (e *apiEnv) token(t *testing.T, role regie.Role, subject string, regions ...string) string {
	t.Helper()
	tok, err := web.IssueAccessToken(e.keys, regie.Principal{Role: role, Subject: subject, Regions: regions}, time.Hour, time.Now())
	if err != nil {
		t.Fatalf("IssueAccessToken(%s, %s): %v", role, subject, err)
	}
	return tok
}

// actors holds one access token per actor of the fixture.
type actors struct {
	assessor, assessorR2           string
	client, client2                string
	provider, provider2            string
	funder, funderR2, funderAll    string
	auditor, admin, providerOther3 string
}

func (e *apiEnv) actors(t *testing.T) actors {
	return actors{
		assessor:       e.token(t, regie.RoleAssessor, "assessor-r1", "r1"),
		assessorR2:     e.token(t, regie.RoleAssessor, "assessor-r2", "r2"),
		client:         e.token(t, regie.RoleClient, e.pseudonym(t, bsnClient)),
		client2:        e.token(t, regie.RoleClient, e.pseudonym(t, bsnClient2)),
		provider:       e.token(t, regie.RoleProvider, agbNear),
		provider2:      e.token(t, regie.RoleProvider, agbFar),
		providerOther3: e.token(t, regie.RoleProvider, agbNoVV04),
		funder:         e.token(t, regie.RoleFunder, "funder-r1", "r1"),
		funderR2:       e.token(t, regie.RoleFunder, "funder-r2", "r2"),
		funderAll:      e.token(t, regie.RoleFunder, "funder-all", regie.AllRegions),
		auditor:        e.token(t, regie.RoleAuditor, "auditor-r1", "r1"),
		admin:          e.token(t, regie.RoleAdmin, "admin-1"),
	}
}

// apiResp is one answer of the API.
type apiResp struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any // the decoded JSON object, when the answer is one
}

// do calls the API. body is nil (no body), a string or []byte (sent as is), or
// any other value (marshalled); a body is sent as application/json.
func (e *apiEnv) do(t *testing.T, method, path, token string, body any) apiResp {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatalf("marshal body: %v", err)
		}
	}
	ct := ""
	if body != nil {
		ct = "application/json"
	}
	return e.doRaw(t, method, path, token, ct, raw)
}

// doRaw calls the API with an exact content type ("" for none) and body.
func (e *apiEnv) doRaw(t *testing.T, method, path, token, contentType string, raw []byte) apiResp {
	t.Helper()
	var rd io.Reader = http.NoBody
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.send(t, req)
}

func (e *apiEnv) send(t *testing.T, req *http.Request) apiResp {
	t.Helper()
	r, err := e.trySend(req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// trySend is send for goroutines other than the test's: it reports an error
// instead of failing the test.
func (e *apiEnv) trySend(req *http.Request) (apiResp, error) {
	res, err := e.srv.App().Test(req, -1)
	if err != nil {
		return apiResp{}, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return apiResp{}, fmt.Errorf("%s %s: read body: %w", req.Method, req.URL, err)
	}
	r := apiResp{status: res.StatusCode, header: res.Header, raw: b}
	if ct := res.Header.Get("Content-Type"); strings.Contains(ct, "json") && len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &r.body); err != nil {
			return apiResp{}, fmt.Errorf("%s %s: decode %s: %w", req.Method, req.URL, b, err)
		}
	}
	return r, nil
}

// want fails the test unless the answer has the status.
func (r apiResp) want(t *testing.T, status int) apiResp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, clip(r.raw))
	}
	return r
}

// str returns a string field of the body, following dotted keys.
func (r apiResp) str(t *testing.T, path string) string {
	t.Helper()
	v := lookup(t, r.body, path)
	s, ok := v.(string)
	if !ok {
		t.Fatalf("field %s = %#v, want a string; body %s", path, v, r.raw)
	}
	return s
}

func lookup(t *testing.T, m map[string]any, path string) any {
	t.Helper()
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("field %s: %#v is not an object", path, cur)
		}
		cur = obj[k]
	}
	return cur
}

// list returns an array field of the body as objects.
func (r apiResp) list(t *testing.T, field string) []map[string]any {
	t.Helper()
	arr, ok := r.body[field].([]any)
	if !ok {
		t.Fatalf("field %s = %#v, want an array; body %s", field, r.body[field], r.raw)
	}
	out := make([]map[string]any, 0, len(arr))
	for _, x := range arr {
		obj, ok := x.(map[string]any)
		if !ok {
			t.Fatalf("field %s holds %#v, want objects", field, x)
		}
		out = append(out, obj)
	}
	return out
}

// wantProblem checks an RFC 9457 problem answer with the status and code.
func (r apiResp) wantProblem(t *testing.T, status int, code string) apiResp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (%s); body %s", r.status, status, code, clip(r.raw))
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("Content-Type %q, want application/problem+json; body %s", ct, r.raw)
	}
	if r.body == nil {
		t.Fatalf("problem body is not a JSON object: %q", r.raw)
	}
	for _, f := range []string{"type", "title", "code"} {
		if s, ok := r.body[f].(string); !ok || s == "" {
			t.Errorf("problem field %s = %#v, want a non-empty string; body %s", f, r.body[f], r.raw)
		}
	}
	if got, ok := r.body["status"].(float64); !ok || int(got) != status {
		t.Errorf("problem status = %#v, want %d", r.body["status"], status)
	}
	if got := r.body["title"]; got != http.StatusText(status) {
		t.Errorf("problem title = %#v, want %q", got, http.StatusText(status))
	}
	if got := r.body["code"]; got != code {
		t.Errorf("problem code = %#v, want %q; body %s", got, code, r.raw)
	}
	return r
}

// clip shortens a body for a failure message.
func clip(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}

// jwtPart decodes the header (0) or payload (1) of a compact JWS.
func jwtPart(t *testing.T, token string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3: %q", len(parts), token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("token part %d: %v", i, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("token part %d: %v", i, err)
	}
	return m
}

// indication is the body of POST /api/v1/indications for one product line.
func indication(bsn, law, region, product, perWeek, from, to string) map[string]any {
	return map[string]any{
		"bsn": bsn, "law": law, "region": region,
		"lines":      []map[string]any{{"product": product, "units_per_week": perWeek}},
		"valid_from": from, "valid_to": to,
	}
}

// issue records an indication and returns the voucher id and token.
func (e *apiEnv) issue(t *testing.T, assessor string, body map[string]any) (id, token string) {
	t.Helper()
	r := e.do(t, "POST", "/api/v1/indications", assessor, body).want(t, http.StatusCreated)
	return r.str(t, "id"), r.str(t, "token")
}

// assign lets the client choose the provider for the product and the provider
// accept; it returns the choice id.
func (e *apiEnv) assign(t *testing.T, client, provider, voucherID, product, agb, from string) string {
	t.Helper()
	r := e.do(t, "POST", "/api/v1/vouchers/"+voucherID+"/choices", client,
		map[string]any{"product": product, "provider_agb": agb, "from": from}).want(t, http.StatusCreated)
	id := r.str(t, "id")
	e.do(t, "POST", "/api/v1/choices/"+id+"/accept", provider, nil).want(t, http.StatusOK)
	return id
}

// claim is the body of POST /api/v1/claims.
func claim(id, voucherID, product, from, to, units, price string) map[string]any {
	return map[string]any{
		"claim_id": id, "voucher_id": voucherID, "product": product,
		"from": from, "to": to, "units": units, "unit_price": price,
	}
}

// state dumps everything the store holds that a request could change, plus a
// hash of the store file (a read-only request never writes it).
func (e *apiEnv) state(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	regions, err := e.db.Regions(ctx)
	if err != nil {
		t.Fatalf("Regions: %v", err)
	}
	for _, r := range regions {
		f, err := storetest.Figures(ctx, e.db, r.ID)
		if err != nil {
			t.Fatalf("Figures: %v", err)
		}
		entries := 0
		if err := e.db.Journal(ctx, r.ID, func(settlement.Entry) error { entries++; return nil }); err != nil {
			t.Fatalf("Journal: %v", err)
		}
		fmt.Fprintf(&b, "region %s budget=%s settled=%s remaining=%s claims=%d journal=%d\n",
			f.Region, f.Budget, f.Settled, f.Remaining, f.Claims, entries)
	}
	for _, bsn := range []string{bsnClient, bsnClient2} {
		vs, err := e.db.VouchersBySubject(ctx, e.pseudonym(t, bsn))
		if err != nil {
			t.Fatalf("VouchersBySubject: %v", err)
		}
		fmt.Fprintf(&b, "client %s vouchers=%d\n", bsn[:2], len(vs))
		for _, v := range vs {
			fmt.Fprintf(&b, "  voucher %s state=%s balance=%s\n", v.ID, v.State, v.Balance())
			for _, l := range v.Lines {
				fmt.Fprintf(&b, "    line %s remaining=%s\n", l.Product, l.Remaining)
			}
		}
	}
	for _, agb := range allAGBs {
		cs, err := e.db.ChoicesByProvider(ctx, agb)
		if err != nil {
			t.Fatalf("ChoicesByProvider: %v", err)
		}
		for _, c := range cs {
			fmt.Fprintf(&b, "choice %s provider=%s status=%s\n", c.ID, c.ProviderAGB, c.Status)
		}
	}
	raw, err := os.ReadFile(e.dbPath)
	if err != nil {
		t.Fatalf("read store file: %v", err)
	}
	fmt.Fprintf(&b, "file sha256=%x\n", sha256.Sum256(raw))
	return b.String()
}

// unchanged fails the test when the store differs from before, down to the
// bytes of the store file: the call must not even have run a write transaction.
func (e *apiEnv) unchanged(t *testing.T, before string) {
	t.Helper()
	if after := e.state(t); after != before {
		t.Errorf("the store changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// sameContent is unchanged without the store file's hash, for calls that run
// a write transaction (claims go through db.Batch) that must change nothing.
func (e *apiEnv) sameContent(t *testing.T, before string) {
	t.Helper()
	strip := func(s string) string {
		i := strings.Index(s, "file sha256=")
		if i < 0 {
			return s
		}
		return s[:i]
	}
	if after := e.state(t); strip(after) != strip(before) {
		t.Errorf("the store changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
