package web_test

// End-to-end tests of the settlement API (docs/api/settlement.md) against the
// real bolt store: claim batches (JSON and CSV), dry runs, reversals,
// disputes, the funder's levers (revisions, policies, held claims, the
// prorata close), the end of an assignment and journal verification. Every
// amount is compared as the exact string the API answers; every refused call
// is checked to change nothing.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/web"
)

// stlClock is a clock the test moves while the services read it.
type stlClock struct{ ns atomic.Int64 }

func (c *stlClock) now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *stlClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }

// stlEnv is the shared API environment with the settlement service wired as
// cmd/regie/serve.go wires it (newAPIEnv leaves its Vouchers, Choices and
// Keys nil, which disputes, the end of an assignment and journal verification
// need) and one movable clock for every service and the server.
type stlEnv struct {
	*apiEnv
	a     actors
	clock *stlClock
	svc   *settlement.Service
}

func newStlEnv(t *testing.T) *stlEnv {
	t.Helper()
	clock := &stlClock{}
	clock.set(apiNow)
	var svc *settlement.Service
	e := newAPIEnv(t, func(c *web.Config) {
		c.Settlement.Vouchers = c.Vouchers
		c.Settlement.Choices = c.Matching.Store
		c.Settlement.Keys = c.Keys
		c.Vouchers.Now, c.Matching.Now, c.Settlement.Now, c.Now = clock.now, clock.now, clock.now, clock.now
		svc = c.Settlement
	})
	return &stlEnv{apiEnv: e, a: e.actors(t), clock: clock, svc: svc}
}

// assignedVoucher issues a voucher with one line to the client with the BSN
// and has the client choose the provider from the first day of validity and
// the provider accept. It returns the voucher and choice ids.
func (e *stlEnv) assignedVoucher(t *testing.T, bsn, client, provider, agb, law, product, perWeek, from, to string) (string, string) {
	t.Helper()
	id, _ := e.issue(t, e.a.assessor, indication(bsn, law, "r1", product, perWeek, from, to))
	return id, e.assign(t, client, provider, id, product, agb, from)
}

// snapshot is apiEnv.state plus every counter of every region (held,
// committed, paid, policy, close, journal head), so that a comparison also
// sees the figures the base dump leaves out.
func (e *stlEnv) snapshot(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, id := range []string{"r1", "r2"} {
		r, err := e.db.Region(ctx, id)
		if err != nil {
			t.Fatalf("Region(%s): %v", id, err)
		}
		fmt.Fprintf(&b, "counters %s budget=%s settled=%s held=%s committed=%s paid=%s claims=%d revision=%d policy=%+v closed=%v final=%s seq=%d head=%s\n",
			id, r.Budget, r.Settled, r.Held, r.Committed, r.Paid, r.Claims, r.Revision, r.Policy, r.Closed, r.FinalRate, r.JournalSeq, r.JournalHead)
	}
	return b.String() + e.state(t)
}

// untouched fails unless the store is exactly as before, down to the bytes
// of its file: the refused call did not even commit a write transaction.
func (e *stlEnv) untouched(t *testing.T, before string) {
	t.Helper()
	if after := e.snapshot(t); after != before {
		t.Errorf("the store changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// sameBooks is untouched without the file's hash, for calls that commit a
// write transaction which must change no record (a batch of replays).
func (e *stlEnv) sameBooks(t *testing.T, before string) {
	t.Helper()
	strip := func(s string) string {
		if i := strings.Index(s, "file sha256="); i >= 0 {
			return s[:i]
		}
		return s
	}
	if after := e.snapshot(t); strip(after) != strip(before) {
		t.Errorf("the books changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// figures returns the region's budget figures as its funder sees them.
func (e *stlEnv) figures(t *testing.T, region string) apiResp {
	t.Helper()
	tok := e.a.funder
	if region != "r1" {
		tok = e.a.funderAll
	}
	return e.do(t, "GET", "/api/v1/regions/"+region+"/budget", tok, nil).want(t, http.StatusOK)
}

// balance returns a voucher's balance as the region's assessor sees it.
func (e *stlEnv) balance(t *testing.T, voucherID string) string {
	t.Helper()
	return e.do(t, "GET", "/api/v1/vouchers/"+voucherID, e.a.assessor, nil).want(t, http.StatusOK).str(t, "balance")
}

// verifyOK checks that the region's journal verifies.
func (e *stlEnv) verifyOK(t *testing.T, region string) apiResp {
	t.Helper()
	r := e.do(t, "GET", "/api/v1/regions/"+region+"/journal/verify", e.a.funderAll, nil).want(t, http.StatusOK)
	if r.body["ok"] != true {
		t.Errorf("journal of %s does not verify: %s", region, r.raw)
	}
	return r
}

// absent marks a field that must not be in an object.
var absent = &struct{ absent bool }{true}

// dig follows a dotted path into decoded JSON.
func dig(v any, path string) (any, bool) {
	for _, k := range strings.Split(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// wantObj compares fields of a decoded JSON object (dotted paths) with
// wanted values: strings, bools, ints (JSON numbers) or absent. Every
// difference is reported, in the order of the paths.
func wantObj(t *testing.T, what string, got map[string]any, want map[string]any) {
	t.Helper()
	paths := make([]string, 0, len(want))
	for p := range want {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		w := want[p]
		g, present := dig(got, p)
		if w == absent {
			if present {
				t.Errorf("%s: %s = %#v, want it absent", what, p, g)
			}
			continue
		}
		if i, ok := w.(int); ok {
			w = float64(i)
		}
		if !present {
			t.Errorf("%s: %s is absent, want %#v", what, p, w)
		} else if !reflect.DeepEqual(g, w) {
			t.Errorf("%s: %s = %#v, want %#v", what, p, g, w)
		}
	}
}

// wantFig compares figures of a region with exact strings (and ints).
func wantFig(t *testing.T, r apiResp, want map[string]any) {
	t.Helper()
	wantObj(t, "figures", r.body, want)
}

// wantLineProblem checks the RFC 9457 problem of an invalid batch line.
func wantLineProblem(t *testing.T, line map[string]any, status int, code, field string) {
	t.Helper()
	want := map[string]any{
		"status": "invalid", "amount": "0.00", "payable": "0.00", "reason": absent, "journal_seq": absent,
		"error.type": "urn:regie:problem:" + code, "error.title": http.StatusText(status), "error.status": status,
		"error.code": code,
	}
	if field != "" {
		want["error.field"] = field
	}
	wantObj(t, fmt.Sprintf("line %v", line["line"]), line, want)
	if d, _ := dig(line, "error.detail"); d == "" || d == nil {
		t.Errorf("line %v: the error has no detail: %v", line["line"], line["error"])
	}
}

const batchPath = "/api/v1/claims/batch"

// csvHeader is the documented header row of a CSV batch.
const csvHeader = "claim_id,voucher_id,product,from,to,units,unit_price"

func csvBody(rows ...string) []byte {
	return []byte(strings.Join(rows, "\n") + "\n")
}

func TestAPI_Batch(t *testing.T) {
	e := newStlEnv(t)
	a := e.a
	// VV04 at 7 days a week for 2026: 74149.75; agbNear charges 200.00 a day.
	v, _ := e.assignedVoucher(t, bsnClient, a.client, a.provider, agbNear, "wlz", "VV04", "7", "2026-01-01", "2026-12-31")
	// WMO-BEG 1 hour a week over 3 days: 0.43 hours × 68.40 = 29.41; one
	// claim may hold up to 1 hour (one started week), so two claims of 0.4
	// hours (27.36 each) fit the volume but not the balance.
	w, _ := e.assignedVoucher(t, bsnClient, a.client, a.provider, agbNear, "wmo", "WMO-BEG", "1", "2026-06-01", "2026-06-03")
	if got := e.balance(t, w); got != "29.41" {
		t.Fatalf("small voucher balance %q, want 29.41", got)
	}

	single := claim("s-jan", v, "VV04", "2026-01-01", "2026-01-10", "10", "200.00")
	var singleSeq float64
	t.Run("a single claim before the batch", func(t *testing.T) {
		r := e.do(t, "POST", "/api/v1/claims", a.provider, single).want(t, http.StatusCreated)
		wantObj(t, "s-jan", r.body, map[string]any{"status": "accepted", "amount": "2000.00", "payable": "2000.00"})
		singleSeq, _ = r.body["journal_seq"].(float64)
	})

	w2 := claim("w-2", w, "WMO-BEG", "2026-06-02", "2026-06-02", "0.4", "68.40")
	t.Run("alone, the second small line would be accepted", func(t *testing.T) {
		before := e.snapshot(t)
		r := e.do(t, "POST", "/api/v1/claims?dry_run=true", a.provider, w2).want(t, http.StatusOK)
		wantObj(t, "dry w-2", r.body, map[string]any{"status": "accepted", "amount": "27.36"})
		e.untouched(t, before)
	})

	t.Run("JSON: mixed lines, decided in order, each on its own", func(t *testing.T) {
		lines := []map[string]any{
			claim("b-feb", v, "VV04", "2026-02-01", "2026-02-10", "10", "200.00"),    // 0 accepted
			claim("b-overlap", v, "VV04", "2026-01-05", "2026-01-06", "2", "200.00"), // 1 rejected: overlaps s-jan
			single, // 2 replayed from the single claim
			claim("s-jan", v, "VV04", "2026-01-01", "2026-01-09", "9", "200.00"),    // 3 invalid: id used for other content
			claim("b-period", v, "VV04", "2026-03-10", "2026-03-01", "1", "200.00"), // 4 invalid: to before from
			claim("w-1", w, "WMO-BEG", "2026-06-01", "2026-06-01", "0.4", "68.40"),  // 5 accepted: 27.36 of 29.41
			w2, // 6 rejected: sees line 5, only 2.05 left
			claim("b-feb", v, "VV04", "2026-02-01", "2026-02-10", "10", "200.00"), // 7 replays line 0
			claim("b-feb2", v, "VV04", "2026-02-10", "2026-02-12", "3", "200.00"), // 8 rejected: overlaps line 0
		}
		r := e.do(t, "POST", batchPath, a.provider, map[string]any{"claims": lines}).want(t, http.StatusOK)
		res := r.list(t, "results")
		if len(res) != len(lines) {
			t.Fatalf("%d results for %d lines: %s", len(res), len(lines), r.raw)
		}
		for i, l := range res {
			if l["line"] != float64(i) || l["claim_id"] != lines[i]["claim_id"] {
				t.Errorf("result %d: line %v claim_id %v, want line %d (the 0-based index) claim_id %v", i, l["line"], l["claim_id"], i, lines[i]["claim_id"])
			}
		}
		wantObj(t, "line 0", res[0], map[string]any{"status": "accepted", "amount": "2000.00", "payable": "2000.00", "reason": absent, "replayed": absent, "error": absent})
		if seq, _ := res[0]["journal_seq"].(float64); seq <= singleSeq {
			t.Errorf("line 0 journal_seq %v, want a new entry after %v", res[0]["journal_seq"], singleSeq)
		}
		wantObj(t, "line 1", res[1], map[string]any{"status": "rejected", "reason": "period_overlap", "amount": "0.00", "payable": "0.00", "replayed": absent, "journal_seq": absent, "error": absent})
		wantObj(t, "line 2", res[2], map[string]any{"status": "accepted", "amount": "2000.00", "payable": "2000.00", "replayed": true, "journal_seq": singleSeq, "error": absent})
		wantLineProblem(t, res[3], http.StatusConflict, "claim_id_conflict", "")
		wantLineProblem(t, res[4], http.StatusBadRequest, "period_invalid", "to")
		wantObj(t, "line 5", res[5], map[string]any{"status": "accepted", "amount": "27.36", "payable": "27.36", "replayed": absent})
		wantObj(t, "line 6", res[6], map[string]any{"status": "rejected", "reason": "insufficient_balance", "amount": "0.00", "payable": "0.00", "replayed": absent})
		wantObj(t, "line 7", res[7], map[string]any{"status": "accepted", "amount": "2000.00", "payable": "2000.00", "replayed": true, "journal_seq": res[0]["journal_seq"]})
		wantObj(t, "line 8", res[8], map[string]any{"status": "rejected", "reason": "period_overlap", "amount": "0.00"})
		wantObj(t, "summary", r.body, map[string]any{
			"summary.lines": 9, "summary.accepted": 4, "summary.held": 0, "summary.rejected": 3,
			"summary.invalid": 2, "summary.replayed": 2,
			// accepted and held, replays included: 2000 + 2000 + 27.36 + 2000
			"summary.amount": "6027.36",
		})

		// Only the new accepted lines moved money: s-jan 2000 + b-feb 2000 + w-1 27.36.
		wantFig(t, e.figures(t, "r1"), map[string]any{"settled": "4027.36", "held": "0.00", "paid": "4027.36", "claims": 3})
		if got := e.balance(t, v); got != "70149.75" {
			t.Errorf("voucher balance %q, want 70149.75 (74149.75 − 2 × 2000.00)", got)
		}
		if got := e.balance(t, w); got != "2.05" {
			t.Errorf("small voucher balance %q, want 2.05 (29.41 − 27.36)", got)
		}
		// The conflicting line left the recorded claim alone; invalid lines are not recorded.
		g := e.do(t, "GET", "/api/v1/claims/s-jan", a.provider, nil).want(t, http.StatusOK)
		wantObj(t, "s-jan", g.body, map[string]any{"to": "2026-01-10", "units": "10", "amount": "2000.00", "state": "settled"})
		e.do(t, "GET", "/api/v1/claims/b-period", a.provider, nil).wantProblem(t, http.StatusNotFound, "claim_not_found")
		g = e.do(t, "GET", "/api/v1/claims/w-2", a.provider, nil).want(t, http.StatusOK)
		wantObj(t, "w-2", g.body, map[string]any{"status": "rejected", "reason": "insufficient_balance", "state": "rejected"})
	})

	t.Run("JSON: 10,001 lines is a 400 batch_size and changes nothing", func(t *testing.T) {
		lines := make([]map[string]any, settlement.MaxBatchLines+1)
		for i := range lines {
			// Each would be accepted on its own (one day in April).
			lines[i] = claim(fmt.Sprintf("big-%05d", i), v, "VV04", "2026-04-01", "2026-04-01", "1", "200.00")
		}
		before := e.snapshot(t)
		e.do(t, "POST", batchPath, a.provider, map[string]any{"claims": lines}).wantProblem(t, http.StatusBadRequest, "batch_size")
		e.untouched(t, before)
	})

	t.Run("JSON: 10,000 lines is allowed", func(t *testing.T) {
		lines := make([]map[string]any, settlement.MaxBatchLines)
		for i := range lines {
			// Invalid (to before from), so that no line touches the store.
			lines[i] = claim(fmt.Sprintf("max-%05d", i), v, "VV04", "2026-04-02", "2026-04-01", "1", "200.00")
		}
		before := e.snapshot(t)
		r := e.do(t, "POST", batchPath, a.provider, map[string]any{"claims": lines}).want(t, http.StatusOK)
		wantObj(t, "summary", r.body, map[string]any{"summary.lines": 10000, "summary.invalid": 10000, "summary.accepted": 0, "summary.amount": "0.00"})
		if res := r.list(t, "results"); len(res) != 10000 || res[9999]["line"] != float64(9999) {
			t.Errorf("%d results", len(res))
		}
		e.untouched(t, before)
	})

	t.Run("JSON: no claims is a 400 batch_size", func(t *testing.T) {
		before := e.snapshot(t)
		for _, body := range []string{`{"claims":[]}`, `{}`, `{"claims":null}`} {
			e.do(t, "POST", batchPath, a.provider, body).wantProblem(t, http.StatusBadRequest, "batch_size")
		}
		e.untouched(t, before)
	})

	csvFirst := csvBody(csvHeader,
		"c-mar,"+v+",VV04,2026-03-01,2026-03-10,10,200.00",
		"c-bad,"+v+",VV04,2026-3-1,2026-03-10,10,200.00",
		"c-apr,"+v+",VV04,2026-04-01,2026-04-05,5,200.00",
		"c-over,"+v+",VV04,2026-03-05,2026-03-06,2,200.00",
	)
	var firstCSV []map[string]any
	t.Run("CSV: documented header and columns; a bad date is invalid on its line only", func(t *testing.T) {
		r := e.doRaw(t, "POST", batchPath, a.provider, "text/csv; charset=utf-8", csvFirst).want(t, http.StatusOK)
		res := r.list(t, "results")
		if len(res) != 4 {
			t.Fatalf("%d results: %s", len(res), r.raw)
		}
		for i, id := range []string{"c-mar", "c-bad", "c-apr", "c-over"} {
			// CSV lines are numbered from 1 after the header.
			wantObj(t, id, res[i], map[string]any{"line": i + 1, "claim_id": id})
		}
		wantObj(t, "line 1", res[0], map[string]any{"status": "accepted", "amount": "2000.00", "payable": "2000.00", "replayed": absent})
		wantLineProblem(t, res[1], http.StatusBadRequest, "date_malformed", "from")
		wantObj(t, "line 3", res[2], map[string]any{"status": "accepted", "amount": "1000.00", "payable": "1000.00"})
		wantObj(t, "line 4", res[3], map[string]any{"status": "rejected", "reason": "period_overlap", "amount": "0.00"})
		wantObj(t, "summary", r.body, map[string]any{
			"summary.lines": 4, "summary.accepted": 2, "summary.held": 0, "summary.rejected": 1,
			"summary.invalid": 1, "summary.replayed": 0, "summary.amount": "3000.00",
		})
		wantFig(t, e.figures(t, "r1"), map[string]any{"settled": "7027.36", "claims": 5})
		if got := e.balance(t, v); got != "67149.75" {
			t.Errorf("voucher balance %q, want 67149.75", got)
		}
		firstCSV = res
	})

	t.Run("CSV: the same file again replays every decided line and debits nothing", func(t *testing.T) {
		if firstCSV == nil {
			t.Fatal("the first CSV submission gave no answer (see the test before)")
		}
		before := e.snapshot(t)
		r := e.doRaw(t, "POST", batchPath, a.provider, "text/csv", csvFirst).want(t, http.StatusOK)
		res := r.list(t, "results")
		if len(res) != 4 {
			t.Fatalf("%d results: %s", len(res), r.raw)
		}
		for _, i := range []int{0, 2, 3} {
			wantObj(t, fmt.Sprintf("line %d", i+1), res[i], map[string]any{
				"replayed": true, "status": firstCSV[i]["status"], "amount": firstCSV[i]["amount"],
				"payable": firstCSV[i]["payable"], "reason": orAbsent(firstCSV[i]["reason"]),
				"journal_seq": orAbsent(firstCSV[i]["journal_seq"]),
			})
		}
		// A line that does not parse is not a decision: it is invalid again.
		wantLineProblem(t, res[1], http.StatusBadRequest, "date_malformed", "from")
		wantObj(t, "summary", r.body, map[string]any{
			"summary.lines": 4, "summary.accepted": 2, "summary.rejected": 1, "summary.invalid": 1,
			"summary.replayed": 3, "summary.amount": "3000.00",
		})
		e.sameBooks(t, before)
		wantFig(t, e.figures(t, "r1"), map[string]any{"settled": "7027.36", "claims": 5})
		if got := e.balance(t, v); got != "67149.75" {
			t.Errorf("voucher balance %q after the retry, want 67149.75 (nothing debited twice)", got)
		}
	})

	t.Run("CSV: a wrong header is a 400 csv_header", func(t *testing.T) {
		good := "h-1," + v + ",VV04,2026-05-01,2026-05-02,2,200.00"
		for name, header := range map[string]string{
			"columns swapped":  "claim_id,voucher_id,product,to,from,units,unit_price",
			"capitalised":      "Claim_ID,voucher_id,product,from,to,units,unit_price",
			"renamed column":   "claim_id,voucher,product,from,to,units,unit_price",
			"no header at all": "h-0," + v + ",VV04,2026-05-03,2026-05-04,2,200.00",
		} {
			t.Run(name, func(t *testing.T) {
				before := e.snapshot(t)
				e.doRaw(t, "POST", batchPath, a.provider, "text/csv", csvBody(header, good)).wantProblem(t, http.StatusBadRequest, "csv_header")
				e.untouched(t, before)
			})
		}
	})

	t.Run("CSV: a malformed file is a 400 csv_malformed, its good lines included", func(t *testing.T) {
		good := "m-1," + v + ",VV04,2026-05-01,2026-05-02,2,200.00"
		for name, body := range map[string][]byte{
			"ragged row":          csvBody(csvHeader, good, "m-2,"+v+",VV04,2026-05-03,2026-05-04,2"),
			"too many fields":     csvBody(csvHeader, good, "m-3,"+v+",VV04,2026-05-03,2026-05-04,2,200.00,x"),
			"unterminated quote":  csvBody(csvHeader, good, `"m-4,`+v+",VV04,2026-05-03,2026-05-04,2,200.00"),
			"empty body":          []byte{},
			"header fields short": csvBody("claim_id,voucher_id", good),
		} {
			t.Run(name, func(t *testing.T) {
				before := e.snapshot(t)
				e.doRaw(t, "POST", batchPath, a.provider, "text/csv", body).wantProblem(t, http.StatusBadRequest, "csv_malformed")
				e.untouched(t, before)
			})
		}
		e.do(t, "GET", "/api/v1/claims/m-1", a.provider, nil).wantProblem(t, http.StatusNotFound, "claim_not_found")
	})

	t.Run("CSV: a header without lines is a 400 batch_size", func(t *testing.T) {
		before := e.snapshot(t)
		e.doRaw(t, "POST", batchPath, a.provider, "text/csv", csvBody(csvHeader)).wantProblem(t, http.StatusBadRequest, "batch_size")
		e.untouched(t, before)
	})

	t.Run("only a provider posts a batch", func(t *testing.T) {
		jsonBody := map[string]any{"claims": []map[string]any{claim("r-1", v, "VV04", "2026-05-01", "2026-05-02", "2", "200.00")}}
		csvOne := csvBody(csvHeader, "r-2,"+v+",VV04,2026-05-01,2026-05-02,2,200.00")
		for _, tc := range []struct {
			name, token string
		}{{"client", a.client}, {"funder", a.funder}, {"assessor", a.assessor}, {"auditor", a.auditor}, {"admin", a.admin}} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.snapshot(t)
				e.do(t, "POST", batchPath, tc.token, jsonBody).wantProblem(t, http.StatusForbidden, "role_forbidden")
				e.doRaw(t, "POST", batchPath, tc.token, "text/csv", csvOne).wantProblem(t, http.StatusForbidden, "role_forbidden")
				e.untouched(t, before)
			})
		}
		before := e.snapshot(t)
		e.do(t, "POST", batchPath, "", jsonBody).wantProblem(t, http.StatusUnauthorized, "token_missing")
		e.untouched(t, before)
	})

	t.Run("the journal verifies", func(t *testing.T) { e.verifyOK(t, "r1") })
}

// orAbsent is v, or absent when v is nil (a field that was not there).
func orAbsent(v any) any {
	if v == nil {
		return absent
	}
	return v
}

func TestAPI_DryRun(t *testing.T) {
	e := newStlEnv(t)
	a := e.a
	v, _ := e.assignedVoucher(t, bsnClient, a.client, a.provider, agbNear, "wlz", "VV04", "7", "2026-01-01", "2026-12-31")

	// dryThenReal answers the claim as a dry run, checks that nothing was
	// written, then submits it for real and checks that the decision is the
	// one the dry run announced.
	dryThenReal := func(t *testing.T, body map[string]any, want map[string]any) apiResp {
		t.Helper()
		before := e.snapshot(t)
		dry := e.do(t, "POST", "/api/v1/claims?dry_run=true", a.provider, body).want(t, http.StatusOK)
		if got := dry.header.Get("Dry-Run"); got != "true" {
			t.Errorf("Dry-Run %q, want true", got)
		}
		if got := dry.header.Get("Idempotent-Replayed"); got != "" {
			t.Errorf("a dry run is marked Idempotent-Replayed %q", got)
		}
		wantObj(t, "dry run", dry.body, want)
		e.untouched(t, before)
		e.do(t, "GET", "/api/v1/claims/"+body["claim_id"].(string), a.provider, nil).wantProblem(t, http.StatusNotFound, "claim_not_found")

		real := e.do(t, "POST", "/api/v1/claims", a.provider, body).want(t, http.StatusCreated)
		if got := real.header.Get("Dry-Run"); got != "" {
			t.Errorf("a real claim is marked Dry-Run %q", got)
		}
		wantObj(t, "real claim", real.body, want)
		for _, f := range []string{"status", "reason", "amount", "payable", "region", "beyond_budget", "provider_agb", "claim_id", "units", "unit_price", "decided_at"} {
			if !reflect.DeepEqual(dry.body[f], real.body[f]) {
				t.Errorf("%s: dry run %#v, real %#v", f, dry.body[f], real.body[f])
			}
		}
		return real
	}

	t.Run("accepted: the dry run announces the decision and writes nothing", func(t *testing.T) {
		dryThenReal(t, claim("d-1", v, "VV04", "2026-01-01", "2026-01-10", "10", "200.00"),
			map[string]any{"status": "accepted", "amount": "2000.00", "payable": "2000.00", "region": "r1", "reason": absent, "beyond_budget": absent})
		wantFig(t, e.figures(t, "r1"), map[string]any{"settled": "2000.00", "claims": 1})
	})

	t.Run("rejected: the same reason", func(t *testing.T) {
		dryThenReal(t, claim("d-overlap", v, "VV04", "2026-01-10", "2026-01-12", "3", "200.00"),
			map[string]any{"status": "rejected", "reason": "period_overlap", "amount": "0.00", "payable": "0.00"})
		dryThenReal(t, claim("d-price", v, "VV04", "2026-02-01", "2026-02-02", "2", "200.01"),
			map[string]any{"status": "rejected", "reason": "unit_price_above_provider_tariff", "amount": "0.00"})
	})

	t.Run("dry_run=false and 0 are real claims, 1 is a dry run", func(t *testing.T) {
		before := e.snapshot(t)
		r := e.do(t, "POST", "/api/v1/claims?dry_run=1", a.provider, claim("d-2", v, "VV04", "2026-01-11", "2026-01-20", "10", "200.00")).want(t, http.StatusOK)
		if r.header.Get("Dry-Run") != "true" {
			t.Errorf("dry_run=1: Dry-Run %q", r.header.Get("Dry-Run"))
		}
		e.untouched(t, before)
		e.do(t, "POST", "/api/v1/claims?dry_run=false", a.provider, claim("d-2", v, "VV04", "2026-01-11", "2026-01-20", "10", "200.00")).want(t, http.StatusCreated)
		e.do(t, "POST", "/api/v1/claims?dry_run=0", a.provider, claim("d-3", v, "VV04", "2026-01-21", "2026-01-25", "5", "200.00")).want(t, http.StatusCreated)
		wantFig(t, e.figures(t, "r1"), map[string]any{"settled": "5000.00", "claims": 3})
	})

	t.Run("held: the same status and payable 0.00", func(t *testing.T) {
		// 0.50% of 1,000,000.00 is 5,000.00: settled is 5,000.00 already.
		e.do(t, "PUT", "/api/v1/regions/r1/policy", a.funder, map[string]any{"kind": "hold", "hold_threshold": "0.50"}).want(t, http.StatusOK)
		dryThenReal(t, claim("d-held", v, "VV04", "2026-02-01", "2026-02-05", "5", "200.00"),
			map[string]any{"status": "held", "amount": "1000.00", "payable": "0.00"})
		wantFig(t, e.figures(t, "r1"), map[string]any{"settled": "5000.00", "held": "1000.00", "paid": "5000.00"})
	})

	t.Run("prorata: the same provisional share", func(t *testing.T) {
		e.do(t, "PUT", "/api/v1/regions/r1/policy", a.funder, map[string]any{"kind": "prorata", "provisional_rate": "80.00"}).want(t, http.StatusOK)
		// 80% of 199.97 is 159.976: 159.98 half-up.
		dryThenReal(t, claim("d-pro", v, "VV04", "2026-02-06", "2026-02-06", "1", "199.97"),
			map[string]any{"status": "accepted", "amount": "199.97", "payable": "159.98"})
		wantFig(t, e.figures(t, "r1"), map[string]any{"settled": "5199.97", "held": "1000.00", "paid": "5159.98"})
	})

	t.Run("a dry run of a recorded claim id answers the recorded decision", func(t *testing.T) {
		body := claim("d-1", v, "VV04", "2026-01-01", "2026-01-10", "10", "200.00")
		replay := e.do(t, "POST", "/api/v1/claims", a.provider, body).want(t, http.StatusOK)
		before := e.snapshot(t)
		r := e.do(t, "POST", "/api/v1/claims?dry_run=true", a.provider, body).want(t, http.StatusOK)
		if r.header.Get("Idempotent-Replayed") != "true" || string(r.raw) != string(replay.raw) {
			t.Errorf("dry run of d-1: %s (replayed %q), want the recorded %s", r.raw, r.header.Get("Idempotent-Replayed"), replay.raw)
		}
		other := claim("d-1", v, "VV04", "2026-01-01", "2026-01-09", "9", "200.00")
		e.do(t, "POST", "/api/v1/claims?dry_run=true", a.provider, other).wantProblem(t, http.StatusConflict, "claim_id_conflict")
		e.untouched(t, before)
	})

	t.Run("an invalid dry_run value is a 400 query_invalid", func(t *testing.T) {
		body := claim("d-q", v, "VV04", "2026-03-01", "2026-03-02", "2", "200.00")
		for _, q := range []string{"yes", "2", "TRUE", "on"} {
			before := e.snapshot(t)
			r := e.do(t, "POST", "/api/v1/claims?dry_run="+q, a.provider, body).wantProblem(t, http.StatusBadRequest, "query_invalid")
			if r.body["field"] != "dry_run" {
				t.Errorf("dry_run=%s: field %v, want dry_run", q, r.body["field"])
			}
			e.untouched(t, before)
		}
		e.do(t, "GET", "/api/v1/claims/d-q", a.provider, nil).wantProblem(t, http.StatusNotFound, "claim_not_found")
	})

	t.Run("an invalid claim and a wrong role are refused in a dry run too", func(t *testing.T) {
		before := e.snapshot(t)
		e.do(t, "POST", "/api/v1/claims?dry_run=true", a.provider, claim("d-inv", v, "VV04", "2026-03-02", "2026-03-01", "1", "200.00")).
			wantProblem(t, http.StatusBadRequest, "period_invalid")
		e.do(t, "POST", "/api/v1/claims?dry_run=true", a.client, claim("d-cl", v, "VV04", "2026-03-01", "2026-03-01", "1", "200.00")).
			wantProblem(t, http.StatusForbidden, "role_forbidden")
		e.do(t, "POST", "/api/v1/claims?dry_run=true", a.funder, claim("d-fu", v, "VV04", "2026-03-01", "2026-03-01", "1", "200.00")).
			wantProblem(t, http.StatusForbidden, "role_forbidden")
		e.untouched(t, before)
	})

	t.Run("the journal verifies", func(t *testing.T) { e.verifyOK(t, "r1") })
}

func TestAPI_Corrections(t *testing.T) {
	e := newStlEnv(t)
	a := e.a
	v, _ := e.assignedVoucher(t, bsnClient, a.client, a.provider, agbNear, "wlz", "VV04", "7", "2026-01-01", "2026-12-31")
	k1 := claim("k-1", v, "VV04", "2026-01-01", "2026-01-10", "10", "200.00")
	var k1Decision apiResp

	t.Run("before: the accepted choice commits the line", func(t *testing.T) {
		wantFig(t, e.figures(t, "r1"), map[string]any{"settled": "0.00", "committed": "74149.75", "free": "925850.25", "claims": 0})
		k1Decision = e.do(t, "POST", "/api/v1/claims", a.provider, k1).want(t, http.StatusCreated)
		wantObj(t, "k-1", k1Decision.body, map[string]any{"status": "accepted", "amount": "2000.00"})
		wantFig(t, e.figures(t, "r1"), map[string]any{
			"settled": "2000.00", "paid": "2000.00", "committed": "72149.75", "remaining": "998000.00", "free": "925850.25", "claims": 1,
		})
		if got := e.balance(t, v); got != "72149.75" {
			t.Errorf("balance %q", got)
		}
	})

	t.Run("refused reversals change nothing", func(t *testing.T) {
		cases := []struct {
			name, token, id string
			body            any
			status          int
			code            string
		}{
			{"no reason", a.provider, "k-1", map[string]any{}, http.StatusBadRequest, "reason_required"},
			{"blank reason", a.provider, "k-1", map[string]any{"reason": "  \t "}, http.StatusBadRequest, "reason_required"},
			{"reason too long", a.provider, "k-1", map[string]any{"reason": strings.Repeat("x", 501)}, http.StatusBadRequest, "reason_required"},
			{"another provider", a.provider2, "k-1", map[string]any{"reason": "dubbel"}, http.StatusNotFound, "claim_not_found"},
			{"unknown claim", a.provider, "k-none", map[string]any{"reason": "dubbel"}, http.StatusNotFound, "claim_not_found"},
			{"client", a.client, "k-1", map[string]any{"reason": "dubbel"}, http.StatusForbidden, "role_forbidden"},
			{"funder", a.funder, "k-1", map[string]any{"reason": "dubbel"}, http.StatusForbidden, "role_forbidden"},
			{"not JSON", a.provider, "k-1", "reason=dubbel", http.StatusBadRequest, "json_malformed"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := e.snapshot(t)
				e.do(t, "POST", "/api/v1/claims/"+tc.id+"/reverse", tc.token, tc.body).wantProblem(t, tc.status, tc.code)
				e.untouched(t, before)
			})
		}
		// Claims are per provider: another provider cannot read it either.
		e.do(t, "GET", "/api/v1/claims/k-1", a.provider2, nil).wantProblem(t, http.StatusNotFound, "claim_not_found")
	})

	t.Run("provider reverses its own claim: the money goes back exactly", func(t *testing.T) {
		r := e.do(t, "POST", "/api/v1/claims/k-1/reverse", a.provider, map[string]any{"reason": "verkeerde periode"}).want(t, http.StatusOK)
		wantObj(t, "reversed k-1", r.body, map[string]any{
			"claim_id": "k-1", "status": "accepted", "amount": "2000.00", "state": "reversed", "paid": "0.00",
			"reversal.reason": "verkeerde periode", "reversal.by": "provider:" + agbNear,
		})
		if seq, _ := dig(r.body, "reversal.journal_seq"); seq == nil || seq.(float64) <= k1Decision.body["journal_seq"].(float64) {
			t.Errorf("reversal.journal_seq %v, want an entry after %v", seq, k1Decision.body["journal_seq"])
		}
		wantFig(t, e.figures(t, "r1"), map[string]any{
			"settled": "0.00", "paid": "0.00", "held": "0.00", "committed": "74149.75", "remaining": "1000000.00", "free": "925850.25", "claims": 0,
		})
		if got := e.balance(t, v); got != "74149.75" {
			t.Errorf("balance %q, want 74149.75 back", got)
		}
		g := e.do(t, "GET", "/api/v1/claims/k-1", a.provider, nil).want(t, http.StatusOK)
		wantObj(t, "GET k-1", g.body, map[string]any{"state": "reversed", "status": "accepted", "reversal.reason": "verkeerde periode", "reversal.journal_seq": r.body["reversal"].(map[string]any)["journal_seq"]})
	})

	t.Run("the original claim id keeps answering its original decision", func(t *testing.T) {
		before := e.snapshot(t)
		r := e.do(t, "POST", "/api/v1/claims", a.provider, k1).want(t, http.StatusOK)
		if r.header.Get("Idempotent-Replayed") != "true" || string(r.raw) != string(k1Decision.raw) {
			t.Errorf("retry of k-1: %s, want %s", r.raw, k1Decision.raw)
		}
		e.sameBooks(t, before)
	})

	t.Run("reversing again is a 409 claim_not_reversible", func(t *testing.T) {
		before := e.snapshot(t)
		e.do(t, "POST", "/api/v1/claims/k-1/reverse", a.provider, map[string]any{"reason": "nog eens"}).wantProblem(t, http.StatusConflict, "claim_not_reversible")
		e.untouched(t, before)
	})

	t.Run("a rejected claim is not reversible", func(t *testing.T) {
		r := e.do(t, "POST", "/api/v1/claims", a.provider, claim("k-rej", v, "VV04", "2026-01-01", "2026-01-02", "2", "250.00")).want(t, http.StatusCreated)
		if r.str(t, "status") != "rejected" {
			t.Fatalf("k-rej %s", r.raw)
		}
		before := e.snapshot(t)
		e.do(t, "POST", "/api/v1/claims/k-rej/reverse", a.provider, map[string]any{"reason": "fout"}).wantProblem(t, http.StatusConflict, "claim_not_reversible")
		e.untouched(t, before)
	})

	t.Run("the period may be claimed again under a new id", func(t *testing.T) {
		k2 := claim("k-2", v, "VV04", "2026-01-01", "2026-01-10", "10", "200.00")
		r := e.do(t, "POST", "/api/v1/claims", a.provider, k2).want(t, http.StatusCreated)
		wantObj(t, "k-2", r.body, map[string]any{"status": "accepted", "amount": "2000.00", "payable": "2000.00"})
		wantFig(t, e.figures(t, "r1"), map[string]any{"settled": "2000.00", "committed": "72149.75", "claims": 1})
		if got := e.balance(t, v); got != "72149.75" {
			t.Errorf("balance %q", got)
		}
		// Another provider still cannot reverse it.
		before := e.snapshot(t)
		e.do(t, "POST", "/api/v1/claims/k-2/reverse", a.provider2, map[string]any{"reason": "x"}).wantProblem(t, http.StatusNotFound, "claim_not_found")
		e.untouched(t, before)
	})

	t.Run("the client's statement shows both claims with their state", func(t *testing.T) {
		r := e.do(t, "GET", "/api/v1/vouchers/"+v+"/claims", a.client, nil).want(t, http.StatusOK)
		got := map[string]string{}
		for _, c := range r.list(t, "claims") {
			got[c["claim_id"].(string)] = c["state"].(string)
		}
		want := map[string]string{"k-1": "reversed", "k-rej": "rejected", "k-2": "settled"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("statement states %v, want %v", got, want)
		}
	})

	// claim_id is "1–64 printable characters" (docs/api/settlement.md), so a
	// provider may use a space, a letter like é or a slash. Such an id is
	// percent-encoded in the path of GET /claims/{claim_id} and of its
	// reversal, and the handler must decode it to find the claim.
	t.Run("a claim id that needs escaping in a URL can be read and reversed", func(t *testing.T) {
		for i, id := range []string{"mei 2026", "déc-2026", "2026/05"} {
			day := fmt.Sprintf("2026-05-%02d", 10+i)
			r := e.do(t, "POST", "/api/v1/claims", a.provider, claim(id, v, "VV04", day, day, "1", "200.00")).want(t, http.StatusCreated)
			if r.str(t, "status") != "accepted" || r.str(t, "claim_id") != id {
				t.Fatalf("claim %q: %s", id, r.raw)
			}
			p := "/api/v1/claims/" + url.PathEscape(id)
			if g := e.do(t, "GET", p, a.provider, nil); g.status != http.StatusOK || g.body["claim_id"] != id {
				t.Errorf("GET %s: %d %s, want 200 with the claim %q", p, g.status, clip(g.raw), id)
			}
			if rv := e.do(t, "POST", p+"/reverse", a.provider, map[string]any{"reason": "fout"}); rv.status != http.StatusOK || rv.body["state"] != "reversed" {
				t.Errorf("POST %s/reverse: %d %s, want 200 state reversed", p, rv.status, clip(rv.raw))
			}
		}
	})

	t.Run("the journal verifies", func(t *testing.T) { e.verifyOK(t, "r1") })
}

func TestAPI_Disputes(t *testing.T) {
	e := newStlEnv(t)
	a := e.a
	v, _ := e.assignedVoucher(t, bsnClient, a.client, a.provider, agbNear, "wlz", "VV04", "7", "2026-01-01", "2026-12-31")
	periods := [][2]string{
		{"2026-01-01", "2026-01-10"}, {"2026-01-11", "2026-01-20"}, {"2026-01-21", "2026-01-30"},
		{"2026-02-01", "2026-02-10"}, {"2026-02-11", "2026-02-20"}, {"2026-02-21", "2026-03-02"},
	}
	for i, p := range periods {
		r := e.do(t, "POST", "/api/v1/claims", a.provider, claim(fmt.Sprintf("d-%d", i+1), v, "VV04", p[0], p[1], "10", "200.00")).want(t, http.StatusCreated)
		if r.str(t, "status") != "accepted" {
			t.Fatalf("d-%d: %s", i+1, r.raw)
		}
	}
	wantFig(t, e.figures(t, "r1"), map[string]any{"settled": "12000.00", "claims": 6})
	dispute := func(token, id, reason string) apiResp {
		return e.do(t, "POST", "/api/v1/disputes", token, map[string]any{"provider_agb": agbNear, "claim_id": id, "reason": reason})
	}
	resolve := func(token, region, id, verdict, resolution string) apiResp {
		return e.do(t, "POST", "/api/v1/regions/"+region+"/disputes/"+agbNear+"/"+id+"/"+verdict, token, map[string]any{"resolution": resolution})
	}

	t.Run("the client disputes within the window: 201 open", func(t *testing.T) {
		r := dispute(a.client, "d-1", "zorg niet geleverd").want(t, http.StatusCreated)
		wantObj(t, "d-1", r.body, map[string]any{
			"claim_id": "d-1", "state": "settled", "dispute.status": "open", "dispute.reason": "zorg niet geleverd",
			"dispute.opened_at": apiNow.Format(time.RFC3339), "dispute.resolution": absent,
		})
		// An open dispute does not stop payment.
		wantFig(t, e.figures(t, "r1"), map[string]any{"settled": "12000.00", "paid": "12000.00"})
	})

	t.Run("refused disputes change nothing", func(t *testing.T) {
		for _, tc := range []struct {
			name, token, id, reason string
			status                  int
			code                    string
		}{
			{"twice", a.client, "d-1", "nog eens", http.StatusConflict, "claim_not_disputable"},
			{"another client (as if the claim did not exist)", a.client2, "d-2", "niet van mij", http.StatusNotFound, "claim_not_found"},
			{"provider", a.provider, "d-2", "x", http.StatusForbidden, "role_forbidden"},
			{"funder", a.funder, "d-2", "x", http.StatusForbidden, "role_forbidden"},
			{"no reason", a.client, "d-2", " ", http.StatusBadRequest, "reason_required"},
			{"unknown claim", a.client, "d-none", "x", http.StatusNotFound, "claim_not_found"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.snapshot(t)
				dispute(tc.token, tc.id, tc.reason).wantProblem(t, tc.status, tc.code)
				e.untouched(t, before)
			})
		}
		before := e.snapshot(t)
		e.do(t, "POST", "/api/v1/disputes", a.client, map[string]any{"provider_agb": agbFar, "claim_id": "d-2", "reason": "x"}).
			wantProblem(t, http.StatusNotFound, "claim_not_found")
		e.untouched(t, before)
	})

	t.Run("the funder and auditor of the region list open disputes, oldest first", func(t *testing.T) {
		e.clock.set(apiNow.Add(time.Minute))
		dispute(a.client, "d-2", "te veel dagen").want(t, http.StatusCreated)
		for _, tok := range []string{a.funder, a.auditor, a.funderAll} {
			r := e.do(t, "GET", "/api/v1/regions/r1/disputes", tok, nil).want(t, http.StatusOK)
			ds := r.list(t, "disputes")
			if len(ds) != 2 || ds[0]["claim_id"] != "d-1" || ds[1]["claim_id"] != "d-2" {
				t.Errorf("disputes %s, want d-1 then d-2", r.raw)
			}
		}
		before := e.snapshot(t)
		e.do(t, "GET", "/api/v1/regions/r1/disputes", a.funderR2, nil).wantProblem(t, http.StatusForbidden, "scope_forbidden")
		e.do(t, "GET", "/api/v1/regions/r1/disputes", a.provider, nil).wantProblem(t, http.StatusForbidden, "role_forbidden")
		e.do(t, "GET", "/api/v1/regions/r1/disputes", a.client, nil).wantProblem(t, http.StatusForbidden, "role_forbidden")
		r := e.do(t, "GET", "/api/v1/regions/r2/disputes", a.funderR2, nil).want(t, http.StatusOK)
		if ds := r.list(t, "disputes"); len(ds) != 0 {
			t.Errorf("r2 disputes %s", r.raw)
		}
		e.untouched(t, before)
	})

	t.Run("refused verdicts change nothing", func(t *testing.T) {
		for _, tc := range []struct {
			name, token, region, id, verdict, resolution string
			status                                       int
			code                                         string
		}{
			{"wrong region path", a.funderAll, "r2", "d-1", "uphold", "terecht", http.StatusNotFound, "claim_not_found"},
			{"funder of another region", a.funderR2, "r1", "d-1", "uphold", "terecht", http.StatusForbidden, "scope_forbidden"},
			{"auditor", a.auditor, "r1", "d-1", "uphold", "terecht", http.StatusForbidden, "role_forbidden"},
			{"client", a.client, "r1", "d-1", "uphold", "terecht", http.StatusForbidden, "role_forbidden"},
			{"provider", a.provider, "r1", "d-1", "dismiss", "onterecht", http.StatusForbidden, "role_forbidden"},
			{"verdict neither uphold nor dismiss", a.funder, "r1", "d-1", "approve", "terecht", http.StatusNotFound, "route_not_found"},
			{"no resolution", a.funder, "r1", "d-1", "uphold", "", http.StatusBadRequest, "reason_required"},
			{"never disputed", a.funder, "r1", "d-3", "uphold", "terecht", http.StatusConflict, "dispute_not_open"},
			{"unknown claim", a.funder, "r1", "d-none", "dismiss", "x", http.StatusNotFound, "claim_not_found"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.snapshot(t)
				resolve(tc.token, tc.region, tc.id, tc.verdict, tc.resolution).wantProblem(t, tc.status, tc.code)
				e.untouched(t, before)
			})
		}
	})

	t.Run("the funder upholds one: the claim is reversed, the money goes back", func(t *testing.T) {
		balance := e.balance(t, v)
		if balance != "62149.75" {
			t.Fatalf("balance %q before, want 62149.75", balance)
		}
		r := resolve(a.funder, "r1", "d-1", "uphold", "zorg aantoonbaar niet geleverd").want(t, http.StatusOK)
		wantObj(t, "upheld d-1", r.body, map[string]any{
			"state": "reversed", "paid": "0.00", "dispute.status": "upheld", "dispute.resolution": "zorg aantoonbaar niet geleverd",
			"dispute.resolved_by": "funder:funder-r1", "reversal.by": "funder:funder-r1",
		})
		wantFig(t, e.figures(t, "r1"), map[string]any{"settled": "10000.00", "paid": "10000.00", "claims": 5, "committed": "64149.75"})
		if got := e.balance(t, v); got != "64149.75" {
			t.Errorf("balance %q, want 64149.75 (62149.75 + 2000.00)", got)
		}
	})

	t.Run("the funder dismisses another: the claim stands", func(t *testing.T) {
		r := resolve(a.funder, "r1", "d-2", "dismiss", "zorg is geleverd").want(t, http.StatusOK)
		wantObj(t, "dismissed d-2", r.body, map[string]any{
			"state": "settled", "paid": "2000.00", "dispute.status": "dismissed", "dispute.resolution": "zorg is geleverd", "reversal": absent,
		})
		wantFig(t, e.figures(t, "r1"), map[string]any{"settled": "10000.00", "claims": 5})
		// Once resolved, the dispute is not open any more; nor is the claim disputable again.
		before := e.snapshot(t)
		resolve(a.funder, "r1", "d-2", "dismiss", "nog eens").wantProblem(t, http.StatusConflict, "dispute_not_open")
		resolve(a.funder, "r1", "d-1", "uphold", "nog eens").wantProblem(t, http.StatusConflict, "dispute_not_open")
		dispute(a.client, "d-2", "toch niet").wantProblem(t, http.StatusConflict, "claim_not_disputable")
		dispute(a.client, "d-1", "toch niet").wantProblem(t, http.StatusConflict, "claim_not_disputable")
		e.untouched(t, before)
		lr := e.do(t, "GET", "/api/v1/regions/r1/disputes", a.funder, nil).want(t, http.StatusOK)
		if ds := lr.list(t, "disputes"); len(ds) != 0 {
			t.Errorf("open disputes %s, want none", lr.raw)
		}
	})

	t.Run("a provider that reverses a disputed claim settles the dispute", func(t *testing.T) {
		dispute(a.client, "d-5", "dubbel gedeclareerd").want(t, http.StatusCreated)
		r := e.do(t, "POST", "/api/v1/claims/d-5/reverse", a.provider, map[string]any{"reason": "excuses, dubbel"}).want(t, http.StatusOK)
		wantObj(t, "d-5", r.body, map[string]any{"state": "reversed", "dispute.status": "upheld", "dispute.resolved_by": "provider:" + agbNear})
		lr := e.do(t, "GET", "/api/v1/regions/r1/disputes", a.funder, nil).want(t, http.StatusOK)
		if ds := lr.list(t, "disputes"); len(ds) != 0 {
			t.Errorf("open disputes %s, want none", lr.raw)
		}
		wantFig(t, e.figures(t, "r1"), map[string]any{"settled": "8000.00", "claims": 4})
	})

	t.Run("the window: 14 days after the decision, not a second more", func(t *testing.T) {
		e.clock.set(apiNow.AddDate(0, 0, 14))
		dispute(a.client, "d-3", "laatste dag").want(t, http.StatusCreated)
		e.clock.set(apiNow.AddDate(0, 0, 14).Add(time.Second))
		before := e.snapshot(t)
		dispute(a.client, "d-4", "te laat").wantProblem(t, http.StatusConflict, "dispute_window_closed")
		e.untouched(t, before)
	})

	t.Run("the region's dispute_days widens the window", func(t *testing.T) {
		r := e.do(t, "PUT", "/api/v1/regions/r1/policy", a.funder, map[string]any{"kind": "monitor", "dispute_days": 30}).want(t, http.StatusOK)
		wantObj(t, "policy", r.body, map[string]any{"policy.kind": "monitor", "policy.dispute_days": 30})
		dispute(a.client, "d-4", "binnen 30 dagen").want(t, http.StatusCreated)
		e.clock.set(apiNow.AddDate(0, 0, 30).Add(time.Second))
		before := e.snapshot(t)
		dispute(a.client, "d-6", "te laat").wantProblem(t, http.StatusConflict, "dispute_window_closed")
		e.untouched(t, before)
	})

	// The claim id of an open dispute is a path segment of its verdict; an id
	// with a space (a valid claim id) must be found once percent-decoded.
	t.Run("a dispute of a claim id that needs escaping in a URL can be resolved", func(t *testing.T) {
		id := "mrt 2026"
		r := e.do(t, "POST", "/api/v1/claims", a.provider, claim(id, v, "VV04", "2026-03-03", "2026-03-03", "1", "200.00")).want(t, http.StatusCreated)
		if r.str(t, "status") != "accepted" {
			t.Fatalf("claim %q: %s", id, r.raw)
		}
		dispute(a.client, id, "niet geleverd").want(t, http.StatusCreated)
		p := "/api/v1/regions/r1/disputes/" + agbNear + "/" + url.PathEscape(id) + "/dismiss"
		res := e.do(t, "POST", p, a.funder, map[string]any{"resolution": "wel geleverd"})
		if res.status != http.StatusOK || lookup(t, res.body, "dispute.status") != "dismissed" {
			t.Errorf("POST %s: %d %s, want 200 dispute dismissed (the dispute stays open for ever otherwise)", p, res.status, clip(res.raw))
		}
	})

	// The other region endpoints (budget, revisions, journal/verify, policy)
	// answer 404 region_not_found for a region that does not exist; the list
	// of open disputes answers an empty list, which reads as "no disputes".
	t.Run("the disputes of an unknown region are a 404 region_not_found", func(t *testing.T) {
		e.do(t, "GET", "/api/v1/regions/nope/budget", a.funderAll, nil).wantProblem(t, http.StatusNotFound, "region_not_found")
		e.do(t, "GET", "/api/v1/regions/nope/disputes", a.funderAll, nil).wantProblem(t, http.StatusNotFound, "region_not_found")
	})

	t.Run("the journal verifies", func(t *testing.T) { e.verifyOK(t, "r1") })
}

func TestAPI_Levers(t *testing.T) {
	e := newStlEnv(t)
	a := e.a
	// Two vouchers of 74149.75 each: V1 with agbNear (200.00 a day), V2 with
	// agbFar (195.00 a day).
	v1, _ := e.assignedVoucher(t, bsnClient, a.client, a.provider, agbNear, "wlz", "VV04", "7", "2026-01-01", "2026-12-31")
	v2, _ := e.assignedVoucher(t, bsnClient2, a.client2, a.provider2, agbFar, "wlz", "VV04", "7", "2026-01-01", "2026-12-31")
	submit := func(t *testing.T, token, id, voucherID, from, to, units, price string) apiResp {
		t.Helper()
		return e.do(t, "POST", "/api/v1/claims", token, claim(id, voucherID, "VV04", from, to, units, price)).want(t, http.StatusCreated)
	}
	policy := func(body any) apiResp {
		return e.do(t, "PUT", "/api/v1/regions/r1/policy", a.funder, body)
	}
	release := func(upTo string) apiResp {
		return e.do(t, "POST", "/api/v1/regions/r1/held/release", a.funder, map[string]any{"up_to": upTo})
	}

	t.Run("the levers are the funder's of the region only", func(t *testing.T) {
		writes := []struct {
			method, path string
			body         any
		}{
			{"PUT", "/api/v1/regions/r1/policy", map[string]any{"kind": "cap"}},
			{"POST", "/api/v1/regions/r1/revisions", map[string]any{"budget": "1.00", "reason": "x"}},
			{"POST", "/api/v1/regions/r1/held/release", map[string]any{"up_to": "100.00"}},
			{"POST", "/api/v1/regions/r1/close", nil},
		}
		roles := []struct {
			name, token, code string
		}{
			{"provider", a.provider, "role_forbidden"}, {"client", a.client, "role_forbidden"},
			{"auditor", a.auditor, "role_forbidden"}, {"assessor", a.assessor, "role_forbidden"},
			{"admin", a.admin, "role_forbidden"}, {"funder of another region", a.funderR2, "scope_forbidden"},
		}
		for _, w := range writes {
			for _, ro := range roles {
				t.Run(w.method+" "+w.path+" as "+ro.name, func(t *testing.T) {
					before := e.snapshot(t)
					e.do(t, w.method, w.path, ro.token, w.body).wantProblem(t, http.StatusForbidden, ro.code)
					e.untouched(t, before)
				})
			}
		}
		before := e.snapshot(t)
		for _, path := range []string{"/api/v1/regions/r1/revisions", "/api/v1/regions/r1/budget"} {
			e.do(t, "GET", path, a.provider, nil).wantProblem(t, http.StatusForbidden, "role_forbidden")
			e.do(t, "GET", path, a.client, nil).wantProblem(t, http.StatusForbidden, "role_forbidden")
			e.do(t, "GET", path, a.funderR2, nil).wantProblem(t, http.StatusForbidden, "scope_forbidden")
			e.do(t, "GET", path, a.auditor, nil).want(t, http.StatusOK)
		}
		// An unknown region, for a funder of all regions.
		e.do(t, "PUT", "/api/v1/regions/nope/policy", a.funderAll, map[string]any{"kind": "cap"}).wantProblem(t, http.StatusNotFound, "region_not_found")
		e.do(t, "POST", "/api/v1/regions/nope/revisions", a.funderAll, map[string]any{"budget": "1.00", "reason": "x"}).wantProblem(t, http.StatusNotFound, "region_not_found")
		e.do(t, "POST", "/api/v1/regions/nope/held/release", a.funderAll, map[string]any{"up_to": "1.00"}).wantProblem(t, http.StatusNotFound, "region_not_found")
		e.do(t, "POST", "/api/v1/regions/nope/close", a.funderAll, nil).wantProblem(t, http.StatusNotFound, "region_not_found")
		e.do(t, "GET", "/api/v1/regions/nope/revisions", a.funderAll, nil).wantProblem(t, http.StatusNotFound, "region_not_found")
		e.do(t, "GET", "/api/v1/regions/nope/budget", a.funderAll, nil).wantProblem(t, http.StatusNotFound, "region_not_found")
		e.untouched(t, before)
	})

	t.Run("revisions: 201 the next version with its delta; listed oldest first", func(t *testing.T) {
		r := e.do(t, "POST", "/api/v1/regions/r1/revisions", a.funder,
			map[string]any{"budget": "100000.00", "effective": "2026-07-01", "reason": "VWS-bijstelling"}).want(t, http.StatusCreated)
		wantObj(t, "revision 2", r.body, map[string]any{
			"region": "r1", "version": 2, "budget": "100000.00", "delta": "-900000.00", "effective": "2026-07-01",
			"reason": "VWS-bijstelling", "by": "funder:funder-r1", "at": apiNow.Format(time.RFC3339),
		})
		// Without effective, the revision is effective today.
		r = e.do(t, "POST", "/api/v1/regions/r1/revisions", a.funder,
			map[string]any{"budget": "10000.00", "reason": "tweede bijstelling"}).want(t, http.StatusCreated)
		wantObj(t, "revision 3", r.body, map[string]any{"version": 3, "budget": "10000.00", "delta": "-90000.00", "effective": "2026-06-15"})
		for _, tok := range []string{a.funder, a.auditor} {
			l := e.do(t, "GET", "/api/v1/regions/r1/revisions", tok, nil).want(t, http.StatusOK)
			revs := l.list(t, "revisions")
			if len(revs) != 3 {
				t.Fatalf("revisions %s", l.raw)
			}
			wantObj(t, "v1", revs[0], map[string]any{"version": 1, "budget": budgetR1, "by": "system"})
			wantObj(t, "v2", revs[1], map[string]any{"version": 2, "budget": "100000.00", "delta": "-900000.00"})
			wantObj(t, "v3", revs[2], map[string]any{"version": 3, "budget": "10000.00", "delta": "-90000.00"})
		}
		wantFig(t, e.figures(t, "r1"), map[string]any{"budget": "10000.00", "revision": 3, "remaining": "10000.00"})
	})

	t.Run("refused revisions change nothing", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			body any
			code string
		}{
			{"negative budget", map[string]any{"budget": "-0.01", "reason": "x"}, "budget_invalid"},
			{"no budget", map[string]any{"reason": "x"}, "field_required"},
			{"no reason", map[string]any{"budget": "5.00"}, "reason_required"},
			{"budget as a number", `{"budget":5,"reason":"x"}`, "amount_malformed"},
			{"three decimals", map[string]any{"budget": "5.001", "reason": "x"}, "amount_precision"},
			{"bad effective", map[string]any{"budget": "5.00", "reason": "x", "effective": "2026-02-30"}, "date_malformed"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.snapshot(t)
				e.do(t, "POST", "/api/v1/regions/r1/revisions", a.funder, tc.body).wantProblem(t, http.StatusBadRequest, tc.code)
				e.untouched(t, before)
			})
		}
	})

	t.Run("invalid policies change nothing", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			body string
			code string
		}{
			{"unknown kind", `{"kind":"bogus"}`, "policy_invalid"},
			{"hold without threshold", `{"kind":"hold"}`, "policy_invalid"},
			{"hold threshold zero", `{"kind":"hold","hold_threshold":"0"}`, "policy_invalid"},
			{"hold threshold above 1000", `{"kind":"hold","hold_threshold":"1000.01"}`, "policy_invalid"},
			{"prorata without rate", `{"kind":"prorata"}`, "policy_invalid"},
			{"prorata rate above 100", `{"kind":"prorata","provisional_rate":"100.01"}`, "policy_invalid"},
			{"negative dispute days", `{"kind":"monitor","dispute_days":-1}`, "policy_invalid"},
			{"dispute days above 366", `{"kind":"monitor","dispute_days":367}`, "policy_invalid"},
			{"rate as a number", `{"kind":"prorata","provisional_rate":80}`, "rate_malformed"},
			{"rate with three decimals", `{"kind":"prorata","provisional_rate":"80.001"}`, "rate_malformed"},
			{"negative rate", `{"kind":"hold","hold_threshold":"-5"}`, "rate_malformed"},
			{"unknown field", `{"kind":"cap","ceiling":"1.00"}`, "json_unknown_field"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.snapshot(t)
				policy(tc.body).wantProblem(t, http.StatusBadRequest, tc.code)
				e.untouched(t, before)
			})
		}
	})

	t.Run("hold: claims beyond the threshold are held, debited and not payable", func(t *testing.T) {
		// 50% of 10,000.00 is 5,000.00.
		r := policy(map[string]any{"kind": "hold", "hold_threshold": "50.00"}).want(t, http.StatusOK)
		wantFig(t, r, map[string]any{"policy.kind": "hold", "policy.hold_threshold": "50.00", "budget": "10000.00"})
		wantObj(t, "h-1", submit(t, a.provider, "h-1", v1, "2026-01-01", "2026-01-10", "10", "200.00").body,
			map[string]any{"status": "accepted", "amount": "2000.00", "payable": "2000.00"})
		wantObj(t, "h-2", submit(t, a.provider, "h-2", v1, "2026-01-11", "2026-01-20", "10", "200.00").body,
			map[string]any{"status": "accepted", "amount": "2000.00", "payable": "2000.00"})
		// 4000 + 1950 > 5000: held.
		wantObj(t, "h-3", submit(t, a.provider2, "h-3", v2, "2026-01-01", "2026-01-10", "10", "195.00").body,
			map[string]any{"status": "held", "amount": "1950.00", "payable": "0.00", "beyond_budget": absent})
		wantObj(t, "h-4", submit(t, a.provider, "h-4", v1, "2026-01-21", "2026-01-25", "5", "200.00").body,
			map[string]any{"status": "held", "amount": "1000.00", "payable": "0.00"})
		wantObj(t, "h-5", submit(t, a.provider, "h-5", v1, "2026-01-26", "2026-01-31", "6", "200.00").body,
			map[string]any{"status": "held", "amount": "1200.00", "payable": "0.00"})
		wantFig(t, e.figures(t, "r1"), map[string]any{
			"settled": "4000.00", "held": "4150.00", "paid": "4000.00", "remaining": "1850.00", "claims": 5,
			"committed": "140149.50", // 2 × 74149.75 − 8150.00
		})
		// Held claims are debited from the voucher: the client's balance is honest.
		if got := e.balance(t, v1); got != "67949.75" {
			t.Errorf("V1 balance %q, want 67949.75 (74149.75 − 2000.00 − 2000.00 − 1000.00 − 1200.00)", got)
		}
		g := e.do(t, "GET", "/api/v1/claims/h-3", a.provider2, nil).want(t, http.StatusOK)
		wantObj(t, "h-3", g.body, map[string]any{"state": "held", "paid": "0.00"})
	})

	t.Run("a held claim can be reversed: it leaves the held figure and the queue", func(t *testing.T) {
		r := e.do(t, "POST", "/api/v1/claims/h-5/reverse", a.provider, map[string]any{"reason": "verkeerd"}).want(t, http.StatusOK)
		wantObj(t, "h-5", r.body, map[string]any{"state": "reversed", "status": "held", "paid": "0.00"})
		wantFig(t, e.figures(t, "r1"), map[string]any{"settled": "4000.00", "held": "2950.00", "paid": "4000.00", "claims": 4})
		if got := e.balance(t, v1); got != "69149.75" {
			t.Errorf("V1 balance %q, want 69149.75 (1200.00 back)", got)
		}
	})

	t.Run("release: oldest first while they fit; the first that does not fit stops it", func(t *testing.T) {
		// h-3 (1950.00) is first and does not fit in 1900.00; h-4 would, but does not jump the queue.
		r := release("1900.00").want(t, http.StatusOK)
		wantObj(t, "release 1900", r.body, map[string]any{"claims": 0, "amount": "0.00", "figures.settled": "4000.00", "figures.held": "2950.00"})
		r = release("2500.00").want(t, http.StatusOK)
		wantObj(t, "release 2500", r.body, map[string]any{
			"claims": 1, "amount": "1950.00",
			"figures.settled": "5950.00", "figures.held": "1000.00", "figures.paid": "5950.00", "figures.remaining": "3050.00", "figures.claims": 4,
		})
		g := e.do(t, "GET", "/api/v1/claims/h-3", a.provider2, nil).want(t, http.StatusOK)
		wantObj(t, "released h-3", g.body, map[string]any{"state": "settled", "paid": "1950.00", "status": "held", "held_seq": absent})
		// The reversed h-5 is not in the queue any more: only h-4 is released.
		r = release("5000.00").want(t, http.StatusOK)
		wantObj(t, "release 5000", r.body, map[string]any{"claims": 1, "amount": "1000.00", "figures.settled": "6950.00", "figures.held": "0.00", "figures.paid": "6950.00"})
		r = release("5000.00").want(t, http.StatusOK)
		wantObj(t, "release of nothing", r.body, map[string]any{"claims": 0, "amount": "0.00", "figures.settled": "6950.00"})
		g = e.do(t, "GET", "/api/v1/claims/h-5", a.provider, nil).want(t, http.StatusOK)
		wantObj(t, "h-5", g.body, map[string]any{"state": "reversed"})
	})

	t.Run("refused releases change nothing", func(t *testing.T) {
		for _, tc := range []struct {
			name, body, code string
		}{
			{"zero", `{"up_to":"0.00"}`, "amount_invalid"},
			{"negative", `{"up_to":"-1.00"}`, "amount_invalid"},
			{"missing", `{}`, "amount_invalid"},
			{"number", `{"up_to":100}`, "amount_malformed"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.snapshot(t)
				e.do(t, "POST", "/api/v1/regions/r1/held/release", a.funder, tc.body).wantProblem(t, http.StatusBadRequest, tc.code)
				e.untouched(t, before)
			})
		}
	})

	t.Run("cap: a claim beyond the budget is rejected budget_exhausted", func(t *testing.T) {
		wantFig(t, policy(map[string]any{"kind": "cap"}).want(t, http.StatusOK), map[string]any{"policy.kind": "cap", "policy.hold_threshold": absent})
		wantObj(t, "c-1", submit(t, a.provider, "c-1", v1, "2026-02-01", "2026-02-10", "10", "200.00").body,
			map[string]any{"status": "accepted", "amount": "2000.00"})
		// 8950.00 + 1050.00 is exactly the budget: accepted.
		wantObj(t, "c-2", submit(t, a.provider2, "c-2", v2, "2026-02-01", "2026-02-06", "6", "175.00").body,
			map[string]any{"status": "accepted", "amount": "1050.00", "beyond_budget": absent})
		before := e.snapshot(t)
		r := submit(t, a.provider, "c-3", v1, "2026-02-11", "2026-02-11", "1", "0.01")
		wantObj(t, "c-3", r.body, map[string]any{"status": "rejected", "reason": "budget_exhausted", "amount": "0.00", "payable": "0.00"})
		if moneyLines(before) != moneyLines(e.snapshot(t)) {
			t.Errorf("a rejected claim moved money")
		}
		wantFig(t, e.figures(t, "r1"), map[string]any{"settled": "10000.00", "remaining": "0.00", "paid": "10000.00", "claims": 6})
	})

	t.Run("close outside prorata is a 409 policy_not_prorata", func(t *testing.T) {
		before := e.snapshot(t)
		e.do(t, "POST", "/api/v1/regions/r1/close", a.funder, nil).wantProblem(t, http.StatusConflict, "policy_not_prorata")
		e.untouched(t, before)
	})

	t.Run("prorata: the provider is paid the provisional share, rounded half-up per claim", func(t *testing.T) {
		wantFig(t, policy(map[string]any{"kind": "prorata", "provisional_rate": "80.00"}).want(t, http.StatusOK),
			map[string]any{"policy.kind": "prorata", "policy.provisional_rate": "80.00"})
		// 80% of 199.97 = 159.976 → 159.98; of 584.97 = 467.976 → 467.98; of 1999.90 = 1599.92.
		wantObj(t, "p-1", submit(t, a.provider, "p-1", v1, "2026-03-01", "2026-03-01", "1", "199.97").body,
			map[string]any{"status": "accepted", "amount": "199.97", "payable": "159.98", "beyond_budget": true})
		wantObj(t, "p-2", submit(t, a.provider2, "p-2", v2, "2026-03-01", "2026-03-03", "3", "194.99").body,
			map[string]any{"status": "accepted", "amount": "584.97", "payable": "467.98", "beyond_budget": true})
		wantObj(t, "p-3", submit(t, a.provider, "p-3", v1, "2026-03-02", "2026-03-11", "10", "199.99").body,
			map[string]any{"status": "accepted", "amount": "1999.90", "payable": "1599.92"})
		wantFig(t, e.figures(t, "r1"), map[string]any{
			"settled": "12784.84", "paid": "12227.88", "held": "0.00", "remaining": "-2784.84", "claims": 9, "closed": false,
		})
		g := e.do(t, "GET", "/api/v1/claims/p-1", a.provider, nil).want(t, http.StatusOK)
		wantObj(t, "p-1", g.body, map[string]any{"state": "settled", "paid": "159.98"})
	})

	t.Run("close: the final rate and one adjustment per provider", func(t *testing.T) {
		// budget 10000.00 / settled 12784.84 = 78.2176…% → 78.21.
		// agbNear claimed 9199.87, paid 8759.90, final 9199.87 × 10000 / 12784.84 = 7195.92 (half-up);
		// agbFar claimed 3584.97, paid 3467.98, final 2804.08. The finals add up to the budget.
		r := e.do(t, "POST", "/api/v1/regions/r1/close", a.funder, nil).want(t, http.StatusOK)
		wantObj(t, "close", r.body, map[string]any{
			"final_rate": "78.21", "figures.closed": true, "figures.final_rate": "78.21",
			"figures.paid": "10000.00", "figures.settled": "12784.84", "figures.budget": "10000.00",
		})
		adj := r.list(t, "adjustments")
		if len(adj) != 2 {
			t.Fatalf("adjustments %s", r.raw)
		}
		wantObj(t, "adjustment "+agbNear, adj[0], map[string]any{
			"provider_agb": agbNear, "claimed": "9199.87", "paid_before": "8759.90", "final": "7195.92", "adjustment": "-1563.98",
		})
		wantObj(t, "adjustment "+agbFar, adj[1], map[string]any{
			"provider_agb": agbFar, "claimed": "3584.97", "paid_before": "3467.98", "final": "2804.08", "adjustment": "-663.90",
		})
		wantFig(t, e.figures(t, "r1"), map[string]any{"closed": true, "final_rate": "78.21", "paid": "10000.00"})
	})

	t.Run("after the close: claims rejected, levers and reversals refused", func(t *testing.T) {
		r := submit(t, a.provider, "x-1", v1, "2026-04-01", "2026-04-01", "1", "200.00")
		wantObj(t, "x-1", r.body, map[string]any{"status": "rejected", "reason": "budget_year_closed", "amount": "0.00"})
		for _, tc := range []struct {
			name, method, path, token string
			body                      any
		}{
			{"policy", "PUT", "/api/v1/regions/r1/policy", a.funder, map[string]any{"kind": "monitor"}},
			{"close again", "POST", "/api/v1/regions/r1/close", a.funder, nil},
			{"release", "POST", "/api/v1/regions/r1/held/release", a.funder, map[string]any{"up_to": "100.00"}},
			{"reversal", "POST", "/api/v1/claims/p-1/reverse", a.provider, map[string]any{"reason": "te laat"}},
			{"revision", "POST", "/api/v1/regions/r1/revisions", a.funder, map[string]any{"budget": "20000.00", "reason": "na sluiting"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.snapshot(t)
				e.do(t, tc.method, tc.path, tc.token, tc.body).wantProblem(t, http.StatusConflict, "budget_year_closed")
				e.untouched(t, before)
			})
		}
	})

	t.Run("the journal verifies", func(t *testing.T) { e.verifyOK(t, "r1") })
}

func TestAPI_EndAssignment(t *testing.T) {
	e := newStlEnv(t)
	a := e.a
	v1, choice := e.assignedVoucher(t, bsnClient, a.client, a.provider, agbNear, "wlz", "VV04", "7", "2026-01-01", "2026-12-31")
	// WMO-BEG 2 hours a week for 2026: 104.29 hours × 68.40 = 7133.44, with agbNoVV04.
	w, wChoice := e.assignedVoucher(t, bsnClient2, a.client2, a.providerOther3, agbNoVV04, "wmo", "WMO-BEG", "2", "2026-01-01", "2026-12-31")
	if got := e.balance(t, w); got != "7133.44" {
		t.Fatalf("W balance %q, want 7133.44", got)
	}
	// A choice that was never accepted.
	v3, _ := e.issue(t, a.assessor, indication(bsnClient2, "wlz", "r1", "VV04", "7", "2026-01-01", "2026-12-31"))
	requested := e.do(t, "POST", "/api/v1/vouchers/"+v3+"/choices", a.client2,
		map[string]any{"product": "VV04", "provider_agb": agbFar, "from": "2026-01-01"}).want(t, http.StatusCreated).str(t, "id")
	wantFig(t, e.figures(t, "r1"), map[string]any{"committed": "81283.19"}) // 74149.75 + 7133.44

	submit := func(t *testing.T, id, from, to, units string) apiResp {
		t.Helper()
		return e.do(t, "POST", "/api/v1/claims", a.provider, claim(id, v1, "VV04", from, to, units, "200.00")).want(t, http.StatusCreated)
	}
	end := func(token, id string, body any) apiResp {
		return e.do(t, "POST", "/api/v1/choices/"+id+"/end", token, body)
	}

	t.Run("a claim uses part of the commitment", func(t *testing.T) {
		wantObj(t, "e-1", submit(t, "e-1", "2026-01-01", "2026-01-31", "31").body, map[string]any{"status": "accepted", "amount": "6200.00"})
		wantFig(t, e.figures(t, "r1"), map[string]any{"committed": "75083.19", "settled": "6200.00"})
	})

	t.Run("refused ends change nothing", func(t *testing.T) {
		for _, tc := range []struct {
			name, token, id string
			body            any
			status          int
			code            string
		}{
			{"another client", a.client2, choice, map[string]any{"last_day": "2026-03-31"}, http.StatusForbidden, "scope_forbidden"},
			{"another provider", a.provider2, choice, map[string]any{"last_day": "2026-03-31"}, http.StatusForbidden, "scope_forbidden"},
			{"funder", a.funder, choice, map[string]any{"last_day": "2026-03-31"}, http.StatusForbidden, "role_forbidden"},
			{"assessor", a.assessor, choice, map[string]any{"last_day": "2026-03-31"}, http.StatusForbidden, "role_forbidden"},
			{"unknown choice", a.client, "ch-none", map[string]any{"last_day": "2026-03-31"}, http.StatusNotFound, "choice_not_found"},
			{"last day before the day before the start", a.client, choice, map[string]any{"last_day": "2025-12-30"}, http.StatusBadRequest, "last_day_invalid"},
			{"no last day", a.client, choice, map[string]any{}, http.StatusBadRequest, "field_required"},
			{"malformed last day", a.client, choice, map[string]any{"last_day": "2026-02-30"}, http.StatusBadRequest, "date_malformed"},
			{"not accepted", a.client2, requested, map[string]any{"last_day": "2026-03-31"}, http.StatusConflict, "choice_not_accepted"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.snapshot(t)
				r := end(tc.token, tc.id, tc.body).wantProblem(t, tc.status, tc.code)
				if tc.code == "last_day_invalid" && r.body["field"] != "last_day" {
					t.Errorf("field %v, want last_day", r.body["field"])
				}
				e.untouched(t, before)
			})
		}
	})

	t.Run("the client ends the choice: the line's unused commitment is released", func(t *testing.T) {
		before := e.figures(t, "r1")
		r := end(a.client, choice, map[string]any{"last_day": "2026-03-31"}).want(t, http.StatusOK)
		wantObj(t, "ended choice", r.body, map[string]any{"id": choice, "status": "accepted", "to": "2026-03-31", "from": "2026-01-01"})
		// Down by exactly V1's remaining 67949.75: only W's 7133.44 is left.
		after := e.figures(t, "r1")
		wantFig(t, after, map[string]any{"committed": "7133.44", "settled": before.body["settled"], "budget": before.body["budget"]})
		wantFig(t, after, map[string]any{"free": "986666.56"}) // 1000000.00 − 6200.00 − 7133.44
		if got := e.balance(t, v1); got != "67949.75" {
			t.Errorf("V1 balance %q: ending an assignment moves no money", got)
		}
	})

	t.Run("a last day on or after the end is refused", func(t *testing.T) {
		for _, d := range []string{"2026-03-31", "2026-04-30"} {
			before := e.snapshot(t)
			end(a.client, choice, map[string]any{"last_day": d}).wantProblem(t, http.StatusBadRequest, "last_day_invalid")
			e.untouched(t, before)
		}
	})

	t.Run("claims after the last day are provider_not_assigned; within it they settle", func(t *testing.T) {
		wantObj(t, "e-2", submit(t, "e-2", "2026-04-01", "2026-04-10", "10").body, map[string]any{"status": "rejected", "reason": "provider_not_assigned"})
		wantObj(t, "e-3", submit(t, "e-3", "2026-03-25", "2026-04-05", "12").body, map[string]any{"status": "rejected", "reason": "provider_not_assigned"})
		wantObj(t, "e-4", submit(t, "e-4", "2026-03-01", "2026-03-31", "31").body, map[string]any{"status": "accepted", "amount": "6200.00"})
		// The line is no longer committed: the claim does not touch the figure.
		wantFig(t, e.figures(t, "r1"), map[string]any{"committed": "7133.44", "settled": "12400.00"})
	})

	t.Run("the provider ends its own choice", func(t *testing.T) {
		r := end(a.providerOther3, wChoice, map[string]any{"last_day": "2026-06-15"}).want(t, http.StatusOK)
		wantObj(t, "W choice", r.body, map[string]any{"to": "2026-06-15"})
		wantFig(t, e.figures(t, "r1"), map[string]any{"committed": "0.00", "free": "987600.00"})
	})

	t.Run("the journal verifies", func(t *testing.T) { e.verifyOK(t, "r1") })
}

func TestAPI_JournalVerify(t *testing.T) {
	e := newStlEnv(t)
	a := e.a
	v, _ := e.assignedVoucher(t, bsnClient, a.client, a.provider, agbNear, "wlz", "VV04", "7", "2026-01-01", "2026-12-31")
	e.do(t, "POST", "/api/v1/claims", a.provider, claim("j-1", v, "VV04", "2026-01-01", "2026-01-10", "10", "200.00")).want(t, http.StatusCreated)
	e.do(t, "POST", "/api/v1/claims", a.provider, claim("j-2", v, "VV04", "2026-01-11", "2026-01-20", "10", "200.00")).want(t, http.StatusCreated)
	e.do(t, "POST", "/api/v1/claims/j-1/reverse", a.provider, map[string]any{"reason": "fout"}).want(t, http.StatusOK)
	ctx := context.Background()
	entries := 0
	if err := e.db.Journal(ctx, "r1", func(settlement.Entry) error { entries++; return nil }); err != nil {
		t.Fatal(err)
	}
	// revision, issue, reserve, two claims, a reversal.
	if entries != 6 {
		t.Errorf("r1 has %d journal entries, want 6", entries)
	}
	path := "/api/v1/regions/r1/journal/verify"

	t.Run("auditor and funder of the region: 200 ok", func(t *testing.T) {
		before := e.snapshot(t)
		for name, tok := range map[string]string{"auditor": a.auditor, "funder": a.funder, "funder of all regions": a.funderAll} {
			r := e.do(t, "GET", path, tok, nil).want(t, http.StatusOK)
			wantObj(t, name, r.body, map[string]any{"region": "r1", "ok": true, "entries": entries, "checkpoints": 0})
			if ps := r.body["problems"]; !reflect.DeepEqual(ps, []any{}) {
				t.Errorf("%s: problems %#v, want []", name, ps)
			}
			if n, _ := r.body["accounts"].(float64); n < 5 {
				t.Errorf("%s: accounts %v", name, r.body["accounts"])
			}
		}
		e.untouched(t, before)
	})

	t.Run("with a signed checkpoint", func(t *testing.T) {
		n, err := e.svc.Checkpoint(ctx)
		if err != nil || n != 2 {
			t.Fatalf("Checkpoint = %d, %v; want both regions", n, err)
		}
		r := e.do(t, "GET", path, a.auditor, nil).want(t, http.StatusOK)
		wantObj(t, "r1", r.body, map[string]any{"ok": true, "entries": entries, "checkpoints": 1})
		r = e.do(t, "GET", "/api/v1/regions/r2/journal/verify", a.funderR2, nil).want(t, http.StatusOK)
		wantObj(t, "r2", r.body, map[string]any{"region": "r2", "ok": true, "entries": 1, "checkpoints": 1})
	})

	t.Run("refused", func(t *testing.T) {
		auditorAll := e.token(t, regie.RoleAuditor, "auditor-all", regie.AllRegions)
		for _, tc := range []struct {
			name, token, path string
			status            int
			code              string
		}{
			{"provider", a.provider, path, http.StatusForbidden, "role_forbidden"},
			{"client", a.client, path, http.StatusForbidden, "role_forbidden"},
			{"assessor", a.assessor, path, http.StatusForbidden, "role_forbidden"},
			{"admin", a.admin, path, http.StatusForbidden, "role_forbidden"},
			{"funder of another region", a.funderR2, path, http.StatusForbidden, "scope_forbidden"},
			{"no token", "", path, http.StatusUnauthorized, "token_missing"},
			{"unknown region, funder of all", a.funderAll, "/api/v1/regions/nope/journal/verify", http.StatusNotFound, "region_not_found"},
			{"unknown region, auditor of all", auditorAll, "/api/v1/regions/nope/journal/verify", http.StatusNotFound, "region_not_found"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.snapshot(t)
				e.do(t, "GET", tc.path, tc.token, nil).wantProblem(t, tc.status, tc.code)
				e.untouched(t, before)
			})
		}
	})
}
