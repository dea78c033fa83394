package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/web"
)

// monitoredEnv is the API fixture with a VV04 voucher in r1 assigned to
// agbNear (its whole line, 74,149.75, is committed on r1's budget).
type monitoredEnv struct {
	*apiEnv
	a       actors
	voucher string
}

func newMonitoredEnv(t *testing.T) *monitoredEnv {
	t.Helper()
	e := newAPIEnv(t)
	a := e.actors(t)
	id, _ := e.issue(t, a.assessor, indication(bsnClient, "wlz", "r1", "VV04", "7", "2026-01-01", "2026-12-31"))
	e.assign(t, a.client, a.provider, id, "VV04", agbNear, "2026-01-01")
	return &monitoredEnv{apiEnv: e, a: a, voucher: id}
}

// claimDays submits a VV04 claim of agbNear for from–to (days × 200.00) and
// checks its status.
func (m *monitoredEnv) claimDays(t *testing.T, id, from, to string, days int, status string) apiResp {
	t.Helper()
	r := m.do(t, "POST", "/api/v1/claims", m.a.provider, claim(id, m.voucher, "VV04", from, to, fmt.Sprint(days), "200.00")).want(t, http.StatusCreated)
	if got := r.str(t, "status"); got != status {
		t.Fatalf("claim %s: %s %v, want %s", id, got, r.body["reason"], status)
	}
	return r
}

func (m *monitoredEnv) revise(t *testing.T, budget string) {
	t.Helper()
	m.do(t, "POST", "/api/v1/regions/r1/revisions", m.a.funder, map[string]any{"budget": budget, "reason": "herschikking"}).want(t, http.StatusCreated)
}

func TestAPI_MonitoringFigures(t *testing.T) {
	m := newMonitoredEnv(t)
	a := m.a
	m.claimDays(t, "feb", "2026-02-01", "2026-02-07", 7, "accepted")
	m.claimDays(t, "mar", "2026-03-01", "2026-03-03", 3, "accepted")

	t.Run("the budget answers the outlook", func(t *testing.T) {
		r := m.do(t, "GET", "/api/v1/regions/r1/budget", a.auditor, nil).want(t, http.StatusOK)
		if r.str(t, "settled") != "2000.00" || r.str(t, "outlook.as_of") != "2026-06-15" || r.str(t, "outlook.used") != "2000.00" ||
			r.str(t, "outlook.utilisation") != "0.20" || r.str(t, "outlook.utilisation_committed") != "7.41" {
			t.Fatalf("figures %s", r.raw)
		}
		// No claim went beyond a commitment: the year end is what is used and committed.
		p := lookup(t, r.body, "outlook.projection").(map[string]any)
		if p["year_end"] != "74149.75" || p["run_rate"] != "0.00" || p["days_left"] != float64(199) || p["window_from"] != "2026-05-19" ||
			p["overrun"] != "0.00" || p["crosses_on"] != nil || p["method"] == "" {
			t.Fatalf("projection %v", p)
		}
	})
	t.Run("a budget below the commitments projects an overrun and a day", func(t *testing.T) {
		m.revise(t, "50000.00")
		r := m.do(t, "GET", "/api/v1/regions/r1/budget", a.funder, nil).want(t, http.StatusOK)
		if r.str(t, "outlook.projection.overrun") != "24149.75" || r.str(t, "outlook.projection.utilisation") != "148.30" {
			t.Fatalf("projection %s", r.raw)
		}
		// 48,000.00 of 72,149.75 still to come over 199 days: passed after floor(48000·199/72149.75)+1 = 133 days.
		if got := r.str(t, "outlook.projection.crosses_on"); got != "2026-10-26" {
			t.Fatalf("crosses on %s, want 2026-10-26", got)
		}
	})
	t.Run("per provider and per product", func(t *testing.T) {
		r := m.do(t, "GET", "/api/v1/regions/r1/budget/providers", a.funder, nil).want(t, http.StatusOK)
		ps := r.list(t, "providers")
		if len(ps) != 1 || ps[0]["provider_agb"] != agbNear || ps[0]["settled"] != "2000.00" || ps[0]["claims"] != float64(2) || ps[0]["share"] != "100.00" {
			t.Fatalf("providers %s", r.raw)
		}
		if r.str(t, "figures.settled") != "2000.00" {
			t.Fatalf("figures with the providers %s", r.raw)
		}
		r = m.do(t, "GET", "/api/v1/regions/r1/budget/products", a.auditor, nil).want(t, http.StatusOK)
		ps = r.list(t, "products")
		if len(ps) != 1 || ps[0]["product"] != "VV04" || ps[0]["settled"] != "2000.00" || ps[0]["committed"] != "72149.75" || ps[0]["share"] != "100.00" {
			t.Fatalf("products %s", r.raw)
		}
	})
	t.Run("the daily series", func(t *testing.T) {
		r := m.do(t, "GET", "/api/v1/regions/r1/budget/days", a.funder, nil).want(t, http.StatusOK)
		days := r.list(t, "days")
		if r.str(t, "from") != "2026-01-01" || r.str(t, "to") != "2026-12-31" || len(days) != 365 {
			t.Fatalf("series %s … %d days", r.raw[:120], len(days))
		}
		june15 := days[165]
		if june15["day"] != "2026-06-15" || june15["settled"] != "2000.00" || june15["claims"] != float64(2) || june15["committed"] != "72149.75" {
			t.Fatalf("15 June: %v", june15)
		}
		// (The fixture's regions were put with the wall clock, so the first
		// budget is booked on today's real date: budgets are not checked here.)
		totals := days[364]["totals"].(map[string]any)
		if totals["settled"] != "2000.00" || totals["committed"] != "72149.75" || totals["claims"] != float64(2) {
			t.Fatalf("totals at the end: %v", totals)
		}
		r = m.do(t, "GET", "/api/v1/regions/r1/budget/days?from=2026-06-14&to=2026-06-16", a.funder, nil).want(t, http.StatusOK)
		if days := r.list(t, "days"); len(days) != 3 || days[1]["settled"] != "2000.00" || days[2]["totals"].(map[string]any)["settled"] != "2000.00" {
			t.Fatalf("three days %s", r.raw)
		}
		m.do(t, "GET", "/api/v1/regions/r1/budget/days?from=2026-06-14&to=2026-06-01", a.funder, nil).wantProblem(t, http.StatusBadRequest, "period_invalid")
		m.do(t, "GET", "/api/v1/regions/r1/budget/days?from=2025-01-01&to=2027-06-01", a.funder, nil).wantProblem(t, http.StatusBadRequest, "period_invalid")
		m.do(t, "GET", "/api/v1/regions/r1/budget/days?from=14-06-2026", a.funder, nil).wantProblem(t, http.StatusBadRequest, "date_malformed")
	})
	t.Run("roles and scope", func(t *testing.T) {
		before := m.state(t)
		for _, path := range []string{"/budget/providers", "/budget/products", "/budget/days", "/alerts", "/alerts/settings", "/alerts/deliveries", "/export/claims.csv", "/export/journal.csv", "/events"} {
			m.do(t, "GET", "/api/v1/regions/r1"+path, a.provider, nil).wantProblem(t, http.StatusForbidden, "role_forbidden")
			m.do(t, "GET", "/api/v1/regions/r1"+path, a.client, nil).wantProblem(t, http.StatusForbidden, "role_forbidden")
			m.do(t, "GET", "/api/v1/regions/r1"+path, a.funderR2, nil).wantProblem(t, http.StatusForbidden, "scope_forbidden")
			m.do(t, "GET", "/api/v1/regions/r9"+path, a.funderAll, nil).wantProblem(t, http.StatusNotFound, "region_not_found")
			m.do(t, "GET", "/api/v1/regions/r1"+path, "", nil).wantProblem(t, http.StatusUnauthorized, "token_missing")
		}
		m.unchanged(t, before)
	})
}

func TestAPI_LeverFigures(t *testing.T) {
	m := newMonitoredEnv(t)
	a := m.a
	m.claimDays(t, "feb", "2026-02-01", "2026-02-07", 7, "accepted")

	t.Run("a policy answers the figures with their outlook", func(t *testing.T) {
		r := m.do(t, "PUT", "/api/v1/regions/r1/policy", a.funder, map[string]any{"kind": "hold", "hold_threshold": "0.10"}).want(t, http.StatusOK)
		if r.str(t, "policy.kind") != "hold" || r.str(t, "outlook.utilisation") != "0.14" || r.str(t, "outlook.as_of") != "2026-06-15" {
			t.Fatalf("policy answer %s", r.raw)
		}
	})
	t.Run("a release answers the figures with their outlook", func(t *testing.T) {
		m.claimDays(t, "mar", "2026-03-01", "2026-03-07", 7, "held")
		r := m.do(t, "POST", "/api/v1/regions/r1/held/release", a.funder, map[string]any{"up_to": "1400.00"}).want(t, http.StatusOK)
		if r.str(t, "figures.held") != "0.00" || r.str(t, "figures.settled") != "2800.00" || r.str(t, "figures.outlook.utilisation") != "0.28" {
			t.Fatalf("release answer %s", r.raw)
		}
	})
	t.Run("a policy from a later day is scheduled", func(t *testing.T) {
		r := m.do(t, "PUT", "/api/v1/regions/r1/policy", a.funder, map[string]any{"kind": "cap", "effective": "2026-07-01"}).want(t, http.StatusOK)
		if r.str(t, "policy.kind") != "hold" || r.str(t, "scheduled_policy.kind") != "cap" || r.str(t, "scheduled_policy.effective") != "2026-07-01" {
			t.Fatalf("scheduling answer %s", r.raw)
		}
		r = m.do(t, "GET", "/api/v1/regions/r1/budget", a.auditor, nil).want(t, http.StatusOK)
		if r.str(t, "scheduled_policy.kind") != "cap" || r.str(t, "policy.kind") != "hold" {
			t.Fatalf("figures %s", r.raw)
		}
		before := m.state(t)
		m.do(t, "PUT", "/api/v1/regions/r1/policy", a.funder, map[string]any{"kind": "cap", "effective": "2026-06-14"}).wantProblem(t, http.StatusBadRequest, "effective_invalid")
		m.do(t, "PUT", "/api/v1/regions/r1/policy", a.funder, map[string]any{"kind": "cap", "effective": "1 juli"}).wantProblem(t, http.StatusBadRequest, "date_malformed")
		m.unchanged(t, before)
		// A policy effective today holds at once.
		r = m.do(t, "PUT", "/api/v1/regions/r1/policy", a.funder, map[string]any{"kind": "prorata", "provisional_rate": "80", "effective": "2026-06-15"}).want(t, http.StatusOK)
		if r.str(t, "policy.kind") != "prorata" || r.str(t, "scheduled_policy.kind") != "cap" {
			t.Fatalf("effective today %s", r.raw)
		}
	})
	t.Run("the close answers the figures with their outlook", func(t *testing.T) {
		r := m.do(t, "POST", "/api/v1/regions/r1/close", a.funder, nil).want(t, http.StatusOK)
		if r.str(t, "figures.outlook.used") != "2800.00" || lookup(t, r.body, "figures.closed") != true {
			t.Fatalf("close answer %s", r.raw)
		}
	})
}

func TestAPI_AlertSettings(t *testing.T) {
	m := newMonitoredEnv(t)
	a := m.a
	t.Run("the defaults", func(t *testing.T) {
		r := m.do(t, "GET", "/api/v1/regions/r1/alerts/settings", a.auditor, nil).want(t, http.StatusOK)
		if lookup(t, r.body, "default") != true || fmt.Sprint(lookup(t, r.body, "thresholds.utilisation")) != "[80.00 90.00 100.00]" || r.body["webhook"] != nil {
			t.Fatalf("settings %s", r.raw)
		}
	})
	t.Run("a funder sets thresholds and a webhook; the secret is never shown", func(t *testing.T) {
		r := m.do(t, "PUT", "/api/v1/regions/r1/alerts/settings", a.funder, map[string]any{
			"thresholds": map[string]any{"utilisation": []string{"90", "75.5", "90"}, "projected": []string{"100"}},
			"webhook":    map[string]any{"url": "https://zorgkantoor.example/hooks/regie", "secret": "een-geheim-van-20-tekens"},
		}).want(t, http.StatusOK)
		if lookup(t, r.body, "default") != false || fmt.Sprint(lookup(t, r.body, "thresholds.utilisation")) != "[75.50 90.00]" ||
			r.str(t, "webhook.url") != "https://zorgkantoor.example/hooks/regie" || lookup(t, r.body, "webhook.secret_set") != true ||
			r.str(t, "settings_by") != "funder:funder-r1" {
			t.Fatalf("settings %s", r.raw)
		}
		if bytes.Contains(r.raw, []byte("een-geheim")) {
			t.Fatalf("the answer shows the secret: %s", r.raw)
		}
		// A new URL without a secret keeps the secret.
		r = m.do(t, "PUT", "/api/v1/regions/r1/alerts/settings", a.funder, map[string]any{
			"webhook": map[string]any{"url": "https://zorgkantoor.example/hooks/v2"},
		}).want(t, http.StatusOK)
		if lookup(t, r.body, "webhook.secret_set") != true || lookup(t, r.body, "default") != true {
			t.Fatalf("settings %s", r.raw)
		}
	})
	t.Run("bad settings change nothing", func(t *testing.T) {
		before := m.do(t, "GET", "/api/v1/regions/r1/alerts/settings", a.funder, nil).raw
		for _, tc := range []struct {
			body any
			code string
		}{
			{map[string]any{"thresholds": map[string]any{"utilisation": []string{"0"}}}, "threshold_invalid"},
			{map[string]any{"thresholds": map[string]any{"projected": []string{"1000.01"}}}, "threshold_invalid"},
			{map[string]any{"thresholds": map[string]any{"utilisation": []string{"eighty"}}}, "rate_malformed"},
			{map[string]any{"webhook": map[string]any{"url": "ftp://x.example/h", "secret": "0123456789abcdef"}}, "webhook_invalid"},
			{map[string]any{"webhook": map[string]any{"url": "/relative", "secret": "0123456789abcdef"}}, "webhook_invalid"},
			{map[string]any{"webhook": map[string]any{"url": "https://u:p@x.example/h", "secret": "0123456789abcdef"}}, "webhook_invalid"},
			{map[string]any{"webhook": map[string]any{"url": "https://x.example/h", "secret": "kort"}}, "secret_invalid"},
			{map[string]any{"threshold": 5}, "json_unknown_field"},
		} {
			m.do(t, "PUT", "/api/v1/regions/r1/alerts/settings", a.funder, tc.body).wantProblem(t, http.StatusBadRequest, tc.code)
		}
		e2 := newMonitoredEnv(t)
		e2.do(t, "PUT", "/api/v1/regions/r1/alerts/settings", e2.a.funder, map[string]any{
			"webhook": map[string]any{"url": "https://x.example/h"},
		}).wantProblem(t, http.StatusBadRequest, "secret_invalid")
		m.do(t, "PUT", "/api/v1/regions/r1/alerts/settings", a.auditor, map[string]any{}).wantProblem(t, http.StatusForbidden, "role_forbidden")
		m.do(t, "PUT", "/api/v1/regions/r1/alerts/settings", a.funderR2, map[string]any{}).wantProblem(t, http.StatusForbidden, "scope_forbidden")
		if after := m.do(t, "GET", "/api/v1/regions/r1/alerts/settings", a.funder, nil).raw; !bytes.Equal(before, after) {
			t.Fatalf("settings changed:\n%s\n%s", before, after)
		}
	})
	t.Run("alerts list in order", func(t *testing.T) {
		m.do(t, "PUT", "/api/v1/regions/r1/alerts/settings", a.funder, map[string]any{
			"thresholds": map[string]any{"utilisation": []string{"50"}, "projected": []string{}},
		}).want(t, http.StatusOK)
		m.claimDays(t, "feb", "2026-02-01", "2026-02-07", 7, "accepted")
		m.revise(t, "2000.00") // 70%
		m.revise(t, "4000.00") // 35%
		r := m.do(t, "GET", "/api/v1/regions/r1/alerts", a.auditor, nil).want(t, http.StatusOK)
		as := r.list(t, "alerts")
		if len(as) < 2 {
			t.Fatalf("alerts %s", r.raw)
		}
		last := as[len(as)-2:]
		if last[0]["direction"] != "up" || last[0]["threshold"] != "50.00" || last[0]["value"] != "70.00" || last[0]["amount"] != "1400.00" ||
			last[1]["direction"] != "down" || last[1]["value"] != "35.00" {
			t.Fatalf("the last alerts %v", last)
		}
		seq := last[0]["seq"].(float64)
		r = m.do(t, "GET", fmt.Sprintf("/api/v1/regions/r1/alerts?after=%d&limit=1", int(seq)), a.funder, nil).want(t, http.StatusOK)
		if as := r.list(t, "alerts"); len(as) != 1 || as[0]["seq"] != seq+1 {
			t.Fatalf("page %s", r.raw)
		}
		m.do(t, "GET", "/api/v1/regions/r1/alerts?limit=5000", a.funder, nil).wantProblem(t, http.StatusBadRequest, "query_invalid")
		m.do(t, "GET", "/api/v1/regions/r1/alerts?after=-1", a.funder, nil).wantProblem(t, http.StatusBadRequest, "query_invalid")
	})
}

// hookReceiver is a webhook endpoint that answers the statuses in order (the
// last one for ever after) and keeps what it received.
type hookReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	got      []*http.Request
	bodies   [][]byte
}

func newHookReceiver(t *testing.T, statuses ...int) *hookReceiver {
	h := &hookReceiver{statuses: statuses}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, r)
		h.bodies = append(h.bodies, b)
		status := h.statuses[min(len(h.got), len(h.statuses))-1]
		h.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) received() ([]*http.Request, [][]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*http.Request(nil), h.got...), append([][]byte(nil), h.bodies...)
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAPI_Webhooks(t *testing.T) {
	m := newMonitoredEnv(t)
	a := m.a
	// No short poll: an alert pokes the sender, and a retry falls due by its own timer.
	m.srv.Monitor().SetOptions(web.MonitorOptions{WebhookBackoff: 20 * time.Millisecond, WebhookMaxBackoff: 50 * time.Millisecond, WebhookAttempts: 4})
	const secret = "een-geheim-van-twintig-tekens"
	hook := newHookReceiver(t, 500, 503, 204)
	m.do(t, "PUT", "/api/v1/regions/r1/alerts/settings", a.funder, map[string]any{
		"thresholds": map[string]any{"utilisation": []string{"50"}, "projected": []string{}},
		"webhook":    map[string]any{"url": hook.URL + "/hook", "secret": secret},
	}).want(t, http.StatusOK)
	m.claimDays(t, "feb", "2026-02-01", "2026-02-07", 7, "accepted")
	m.revise(t, "2000.00") // 70%: the 50% threshold fires

	t.Run("posted, signed, retried with backoff until it is taken", func(t *testing.T) {
		waitFor(t, 5*time.Second, "three attempts", func() bool { reqs, _ := hook.received(); return len(reqs) >= 3 })
		time.Sleep(100 * time.Millisecond) // no fourth attempt after a 204
		reqs, bodies := hook.received()
		if len(reqs) != 3 {
			t.Fatalf("%d attempts, want 3", len(reqs))
		}
		for i, r := range reqs {
			if r.Method != "POST" || r.URL.Path != "/hook" || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("attempt %d: %s %s %s", i, r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			}
			if got, want := r.Header.Get(web.SignatureHeader), web.Sign(secret, bodies[i]); got != want || !strings.HasPrefix(got, "sha256=") {
				t.Errorf("attempt %d: signature %q, want %q", i, got, want)
			}
			var p web.WebhookPayload
			if err := json.Unmarshal(bodies[i], &p); err != nil {
				t.Fatal(err)
			}
			if p.Type != "budget_alert" || p.Attempt != i+1 || p.Alert.Region != "r1" || p.Alert.Metric != "utilisation" || p.Alert.Direction != "up" ||
				p.Alert.Threshold.String() != "50.00" || p.Alert.Amount.String() != "1400.00" || p.Delivery != fmt.Sprintf("r1-%d", p.Alert.Seq) {
				t.Errorf("attempt %d payload %s", i, bodies[i])
			}
			if r.Header.Get("Regie-Delivery") != fmt.Sprintf("%s-%d", p.Delivery, i+1) {
				t.Errorf("attempt %d: Regie-Delivery %q", i, r.Header.Get("Regie-Delivery"))
			}
		}
		// A signature under another secret, or of another body, does not match.
		if web.Sign("another secret", bodies[0]) == reqs[0].Header.Get(web.SignatureHeader) || web.Sign(secret, append(bodies[0], ' ')) == reqs[0].Header.Get(web.SignatureHeader) {
			t.Error("the signature does not depend on secret and body")
		}
	})
	t.Run("the funder and the auditor read the delivery log", func(t *testing.T) {
		var ds []map[string]any
		waitFor(t, 2*time.Second, "three logged attempts", func() bool {
			ds = m.do(t, "GET", "/api/v1/regions/r1/alerts/deliveries", a.auditor, nil).want(t, http.StatusOK).list(t, "deliveries")
			return len(ds) == 3
		})
		want := []struct {
			attempt float64
			outcome string
			status  float64
		}{{3, "delivered", 204}, {2, "retry", 503}, {1, "retry", 500}}
		for i, w := range want {
			if ds[i]["attempt"] != w.attempt || ds[i]["outcome"] != w.outcome || ds[i]["status"] != w.status || ds[i]["url"] != hook.URL+"/hook" {
				t.Errorf("log entry %d: %v, want attempt %v %s %v", i, ds[i], w.attempt, w.outcome, w.status)
			}
		}
		if ds[1]["next_at"] == nil || ds[0]["next_at"] != nil {
			t.Errorf("next_at: %v / %v", ds[1]["next_at"], ds[0]["next_at"])
		}
		m.do(t, "GET", "/api/v1/regions/r1/alerts/deliveries", a.provider, nil).wantProblem(t, http.StatusForbidden, "role_forbidden")
	})
	t.Run("a receiver that keeps failing gets the last attempt, then the alert is failed", func(t *testing.T) {
		down := newHookReceiver(t, 500)
		m.do(t, "PUT", "/api/v1/regions/r1/alerts/settings", a.funder, map[string]any{
			"thresholds": map[string]any{"utilisation": []string{"50"}, "projected": []string{}},
			"webhook":    map[string]any{"url": down.URL},
		}).want(t, http.StatusOK)
		m.revise(t, "4000.00") // 35%: back below
		waitFor(t, 5*time.Second, "a failed delivery", func() bool {
			ds := m.do(t, "GET", "/api/v1/regions/r1/alerts/deliveries?limit=1", a.funder, nil).want(t, http.StatusOK).list(t, "deliveries")
			return len(ds) == 1 && ds[0]["outcome"] == "failed"
		})
		time.Sleep(100 * time.Millisecond)
		if reqs, _ := down.received(); len(reqs) != 4 {
			t.Fatalf("%d attempts, want 4", len(reqs))
		}
	})
}

// serve runs the server on a loopback port and returns its base URL.
func (e *apiEnv) serve(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- e.srv.App().Listener(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.srv.Shutdown(ctx)
		<-served
	})
	return "http://" + ln.Addr().String()
}

// sseMsg is one server-sent event, or a comment (event ":").
type sseMsg struct {
	id, event, data string
	at              time.Time
}

type sseStream struct {
	resp   *http.Response
	events chan sseMsg
	cancel context.CancelFunc
}

// listen opens an event stream; a non-200 answer is returned as the response only.
func listen(t *testing.T, url, token, lastID string) (*sseStream, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, resp
	}
	s := &sseStream{resp: resp, events: make(chan sseMsg, 1000), cancel: cancel}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		var cur sseMsg
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.event != "" || cur.data != "" {
					cur.at = time.Now()
					s.events <- cur
				}
				cur = sseMsg{}
			case strings.HasPrefix(line, ":"):
				s.events <- sseMsg{event: ":", data: line, at: time.Now()}
			case strings.HasPrefix(line, "id: "):
				cur.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				cur.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				cur.data = line[6:]
			}
		}
	}()
	t.Cleanup(s.close)
	return s, resp
}

func (s *sseStream) close() { s.cancel(); s.resp.Body.Close() }

// next returns the next event named name (skipping others) within d.
func (s *sseStream) next(t *testing.T, name string, d time.Duration) sseMsg {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatalf("the stream ended while waiting for %q", name)
			}
			if ev.event == name {
				return ev
			}
		case <-timer.C:
			t.Fatalf("no %q event within %s", name, d)
		}
	}
}

func figuresOf(t *testing.T, ev sseMsg) map[string]any {
	t.Helper()
	var f map[string]any
	if err := json.Unmarshal([]byte(ev.data), &f); err != nil {
		t.Fatalf("figures event %q: %v", ev.data, err)
	}
	return f
}

func TestAPI_Events(t *testing.T) {
	m := newMonitoredEnv(t)
	a := m.a
	m.srv.Monitor().SetOptions(web.MonitorOptions{Heartbeat: 100 * time.Millisecond})
	base := m.serve(t)
	url := base + "/api/v1/regions/r1/events"

	s, resp := listen(t, url, a.funder, "")
	if s == nil {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := s.resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("Content-Type %q", ct)
	}
	t.Run("the figures first", func(t *testing.T) {
		f := figuresOf(t, s.next(t, "figures", 2*time.Second))
		if f["region"] != "r1" || f["settled"] != "0.00" || f["outlook"] == nil {
			t.Fatalf("first figures %v", f)
		}
		waitFor(t, time.Second, "one listener", func() bool { return m.srv.Monitor().Listeners("r1") == 1 })
	})
	t.Run("a settlement reaches the listener within a second", func(t *testing.T) {
		for i, month := range []string{"02", "03", "04"} {
			start := time.Now()
			m.claimDays(t, "c"+month, "2026-"+month+"-01", "2026-"+month+"-07", 7, "accepted")
			want := fmt.Sprintf("%d.00", 1400*(i+1))
			for {
				ev := s.next(t, "figures", time.Second)
				if figuresOf(t, ev)["settled"] == want {
					if d := ev.at.Sub(start); d > time.Second {
						t.Fatalf("the figures arrived %s after the claim", d)
					} else {
						t.Logf("claim %d → figures event in %s", i+1, d.Round(time.Millisecond))
					}
					break
				}
			}
		}
	})
	var alertID string
	t.Run("an alert when a threshold is crossed", func(t *testing.T) {
		m.do(t, "PUT", "/api/v1/regions/r1/alerts/settings", a.funder, map[string]any{
			"thresholds": map[string]any{"utilisation": []string{"50"}, "projected": []string{}},
		}).want(t, http.StatusOK)
		m.revise(t, "5000.00") // 4,200.00 is 84%
		ev := s.next(t, "alert", 2*time.Second)
		var al map[string]any
		if err := json.Unmarshal([]byte(ev.data), &al); err != nil {
			t.Fatal(err)
		}
		if al["metric"] != "utilisation" || al["direction"] != "up" || al["threshold"] != "50.00" || al["value"] != "84.00" || ev.id != fmt.Sprint(al["seq"]) {
			t.Fatalf("alert %+v", ev)
		}
		alertID = ev.id
		if f := figuresOf(t, s.next(t, "figures", time.Second)); f["budget"] != "5000.00" {
			t.Fatalf("figures after the revision %v", f)
		}
	})
	t.Run("heartbeats while nothing happens", func(t *testing.T) {
		s.next(t, ":", time.Second)
	})
	t.Run("a listener that reconnects gets the alerts it missed", func(t *testing.T) {
		var prev uint64
		fmt.Sscan(alertID, &prev)
		s2, _ := listen(t, url, a.auditor, fmt.Sprint(prev-1))
		if s2 == nil {
			t.Fatal("no stream")
		}
		if ev := s2.next(t, "alert", time.Second); ev.id != alertID {
			t.Fatalf("replayed alert %+v, want id %s", ev, alertID)
		}
		s2.next(t, "figures", time.Second)
		s2.close()
		_, resp := listen(t, url, a.auditor, "x")
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("Last-Event-ID x: %d", resp.StatusCode)
		}
	})
	t.Run("who may listen", func(t *testing.T) {
		for _, tc := range []struct {
			token  string
			status int
		}{{a.provider, 403}, {a.funderR2, 403}, {a.client, 403}, {"", 401}} {
			if s, resp := listen(t, url, tc.token, ""); s != nil || resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
		}
	})
	t.Run("a listener that leaves is forgotten", func(t *testing.T) {
		s.close()
		waitFor(t, 2*time.Second, "no listeners", func() bool { return m.srv.Monitor().Listeners("") == 0 })
	})
	t.Run("shutdown ends the streams at once", func(t *testing.T) {
		s3, _ := listen(t, url, a.funder, "")
		s3.next(t, "figures", time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		if err := m.srv.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Shutdown took %s with a listener connected", d)
		}
		for ev := range s3.events { // drains until the stream ends
			_ = ev
		}
	})
}

func TestAPI_ProviderFunding(t *testing.T) {
	m := newMonitoredEnv(t)
	a := m.a
	// agbFar gets a voucher of its own in r1.
	id2, _ := m.issue(t, a.assessor, indication(bsnClient2, "wlz", "r1", "VV04", "7", "2026-01-01", "2026-12-31"))
	m.assign(t, a.client2, a.provider2, id2, "VV04", agbFar, "2026-01-01")
	m.claimDays(t, "feb", "2026-02-01", "2026-02-07", 7, "accepted") // 1,400.00
	m.do(t, "POST", "/api/v1/claims", a.provider2, claim("far-feb", id2, "VV04", "2026-02-01", "2026-02-04", "4", "150.00")).want(t, http.StatusCreated)
	m.claimDays(t, "future", "2026-07-01", "2026-07-02", 2, "rejected")

	t.Run("its share of each region and the region's position", func(t *testing.T) {
		r := m.do(t, "GET", "/api/v1/providers/"+agbNear+"/funding", a.provider, nil).want(t, http.StatusOK)
		rs := r.list(t, "regions")
		if r.str(t, "as_of") != "2026-06-15" || len(rs) != 1 {
			t.Fatalf("funding %s", r.raw)
		}
		g := rs[0]
		// 1,400.00 of 2,000.00 settled in r1.
		if g["region"] != "r1" || g["claimed"] != "1400.00" || g["paid"] != "1400.00" || g["share"] != "70.00" || g["region_settled"] != "2000.00" ||
			g["utilisation"] != "0.20" || g["new_claims"] != "paid" || g["budget"] != budgetR1 {
			t.Fatalf("r1 %v", g)
		}
		if g["projection"].(map[string]any)["year_end"] == nil {
			t.Fatalf("no projection: %v", g)
		}
	})
	t.Run("the funding status of each claim", func(t *testing.T) {
		// Hold beyond 0.2%: the next claim is held; a reversal; an overrun.
		m.do(t, "PUT", "/api/v1/regions/r1/policy", a.funder, map[string]any{"kind": "hold", "hold_threshold": "0.20"}).want(t, http.StatusOK)
		m.claimDays(t, "mar", "2026-03-01", "2026-03-02", 2, "held")
		m.claimDays(t, "apr", "2026-04-01", "2026-04-02", 2, "held")
		m.do(t, "POST", "/api/v1/claims/apr/reverse", a.provider, map[string]any{"reason": "dubbel"}).want(t, http.StatusOK)
		r := m.do(t, "GET", "/api/v1/providers/"+agbNear+"/funding/claims", a.provider, nil).want(t, http.StatusOK)
		got := map[string]string{}
		for _, c := range r.list(t, "claims") {
			got[c["claim_id"].(string)] = c["funding"].(string)
		}
		want := map[string]string{"feb": "within_budget", "future": "rejected", "mar": "held", "apr": "reversed"}
		if fmt.Sprint(got) != fmt.Sprint(want) || r.body["next"] != "" {
			t.Fatalf("funding %v, want %v (next %v)", got, want, r.body["next"])
		}
		r = m.do(t, "GET", "/api/v1/providers/"+agbNear+"/funding", a.provider, nil).want(t, http.StatusOK)
		if g := r.list(t, "regions")[0]; g["new_claims"] != "held" || g["held"] != "400.00" {
			t.Fatalf("r1 under hold %v", g)
		}
		// Paging.
		r = m.do(t, "GET", "/api/v1/providers/"+agbNear+"/funding/claims?limit=2", a.provider, nil).want(t, http.StatusOK)
		if cs := r.list(t, "claims"); len(cs) != 2 || cs[0]["claim_id"] != "apr" || r.str(t, "next") != "feb" {
			t.Fatalf("first page %s", r.raw)
		}
		r = m.do(t, "GET", "/api/v1/providers/"+agbNear+"/funding/claims?limit=2&after=feb", a.provider, nil).want(t, http.StatusOK)
		if cs := r.list(t, "claims"); len(cs) != 2 || cs[0]["claim_id"] != "future" || cs[1]["claim_id"] != "mar" {
			t.Fatalf("second page %s", r.raw)
		}
		if cs := m.do(t, "GET", "/api/v1/providers/"+agbNear+"/funding/claims?region=r2", a.provider, nil).want(t, http.StatusOK).list(t, "claims"); len(cs) != 0 {
			t.Fatalf("claims in r2: %v", cs)
		}
		// Monitor again, and a budget below what is settled: beyond it.
		m.do(t, "PUT", "/api/v1/regions/r1/policy", a.funder, map[string]any{"kind": "monitor"}).want(t, http.StatusOK)
		m.revise(t, "2000.00")
		m.claimDays(t, "may", "2026-05-01", "2026-05-02", 2, "accepted")
		r = m.do(t, "GET", "/api/v1/providers/"+agbNear+"/funding/claims", a.provider, nil).want(t, http.StatusOK)
		for _, c := range r.list(t, "claims") {
			if c["claim_id"] == "may" && c["funding"] != "beyond_budget" {
				t.Fatalf("a claim beyond the budget: %v", c)
			}
		}
		r = m.do(t, "GET", "/api/v1/providers/"+agbNear+"/funding", a.provider, nil).want(t, http.StatusOK)
		if g := r.list(t, "regions")[0]; g["new_claims"] != "paid_beyond_budget" {
			t.Fatalf("r1 beyond its budget %v", g)
		}
	})
	t.Run("only the provider itself", func(t *testing.T) {
		for _, path := range []string{"/funding", "/funding/claims"} {
			m.do(t, "GET", "/api/v1/providers/"+agbNear+path, a.provider2, nil).wantProblem(t, http.StatusForbidden, "scope_forbidden")
			m.do(t, "GET", "/api/v1/providers/"+agbNear+path, a.funder, nil).wantProblem(t, http.StatusForbidden, "role_forbidden")
			m.do(t, "GET", "/api/v1/providers/"+agbNear+path, a.client, nil).wantProblem(t, http.StatusForbidden, "role_forbidden")
		}
		m.do(t, "GET", "/api/v1/providers/"+agbNear+"/funding/claims?limit=0x", a.provider, nil).wantProblem(t, http.StatusBadRequest, "query_invalid")
	})
}

func readCSV(t *testing.T, r apiResp) [][]string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("Content-Type %q; body %s", ct, clip(r.raw))
	}
	rows, err := csv.NewReader(bytes.NewReader(r.raw)).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v", err)
	}
	return rows
}

func TestAPI_Exports(t *testing.T) {
	m := newMonitoredEnv(t)
	a := m.a
	for i := range 30 {
		d := fmt.Sprintf("2026-01-%02d", i+1)
		m.claimDays(t, fmt.Sprintf("c%02d", i), d, d, 1, "accepted")
	}
	m.claimDays(t, "future", "2026-07-01", "2026-07-01", 1, "rejected")
	m.do(t, "POST", "/api/v1/claims/c05/reverse", a.provider, map[string]any{"reason": "fout"}).want(t, http.StatusOK)

	t.Run("claims of the region", func(t *testing.T) {
		r := m.do(t, "GET", "/api/v1/regions/r1/export/claims.csv", a.auditor, nil).want(t, http.StatusOK)
		if cd := r.header.Get("Content-Disposition"); !strings.Contains(cd, `filename="claims-r1.csv"`) {
			t.Errorf("Content-Disposition %q", cd)
		}
		rows := readCSV(t, r)
		if len(rows) != 32 || strings.Join(rows[0], ",") != "decided_at,decided_on,region,provider_agb,claim_id,voucher_id,product,from,to,units,unit_price,amount,status,reason,beyond_budget,state,paid,funding,journal_seq,dispute,reversal_seq" {
			t.Fatalf("%d rows, header %v", len(rows), rows[0])
		}
		byID := map[string][]string{}
		for _, row := range rows[1:] {
			byID[row[4]] = row
		}
		if c := byID["c05"]; c[1] != "2026-06-15" || c[2] != "r1" || c[3] != agbNear || c[7] != "2026-01-06" || c[11] != "200.00" || c[12] != "accepted" || c[15] != "reversed" || c[17] != "reversed" || c[20] == "" {
			t.Errorf("c05 %v", c)
		}
		if c := byID["future"]; c[12] != "rejected" || c[13] != "period_in_future" || c[17] != "rejected" || c[18] != "" {
			t.Errorf("future %v", c)
		}
		if c := byID["c00"]; c[17] != "within_budget" || c[16] != "200.00" {
			t.Errorf("c00 %v", c)
		}
	})
	t.Run("a period by decision day", func(t *testing.T) {
		rows := readCSV(t, m.do(t, "GET", "/api/v1/regions/r1/export/claims.csv?from=2026-06-16", a.funder, nil).want(t, http.StatusOK))
		if len(rows) != 1 {
			t.Fatalf("claims decided after 15 June: %d rows", len(rows)-1)
		}
		r := m.do(t, "GET", "/api/v1/regions/r1/export/claims.csv?from=2026-06-15&to=2026-06-15", a.funder, nil).want(t, http.StatusOK)
		if rows := readCSV(t, r); len(rows) != 32 {
			t.Fatalf("claims of 15 June: %d rows", len(rows)-1)
		}
		if cd := r.header.Get("Content-Disposition"); !strings.Contains(cd, "claims-r1-from-2026-06-15-to-2026-06-15.csv") {
			t.Errorf("Content-Disposition %q", cd)
		}
	})
	t.Run("the journal of the region", func(t *testing.T) {
		rows := readCSV(t, m.do(t, "GET", "/api/v1/regions/r1/export/journal.csv", a.auditor, nil).want(t, http.StatusOK))
		var entries []string
		if err := m.db.Journal(context.Background(), "r1", func(e settlement.Entry) error {
			entries = append(entries, e.Hash)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(entries)+1 || strings.Join(rows[0], ",") != "seq,at,type,provider_agb,claim_id,voucher_id,product,amount,reason,by,policy,postings,prev_hash,hash" {
			t.Fatalf("%d rows for %d entries, header %v", len(rows), len(entries), rows[0])
		}
		for i, row := range rows[1:] {
			if row[0] != fmt.Sprint(i+1) || row[13] != entries[i] || (i > 0 && row[12] != entries[i-1]) {
				t.Fatalf("row %d: %v", i+1, row)
			}
		}
		last := rows[len(rows)-1]
		if last[2] != "reverse" || last[4] != "c05" || last[7] != "200.00" || !strings.Contains(last[11], "region:r1:settled=-200.00") {
			t.Errorf("the reversal row %v", last)
		}
		rows = readCSV(t, m.do(t, "GET", "/api/v1/regions/r1/export/journal.csv?to=2025-12-31", a.auditor, nil).want(t, http.StatusOK))
		for _, row := range rows[1:] {
			if !strings.HasPrefix(row[1], "2025-") && !strings.HasPrefix(row[1], "2024-") {
				t.Fatalf("an entry after the period: %v", row)
			}
		}
	})
	t.Run("refusals", func(t *testing.T) {
		for _, kind := range []string{"claims", "journal"} {
			p := "/api/v1/regions/r1/export/" + kind + ".csv"
			m.do(t, "GET", p, a.provider, nil).wantProblem(t, http.StatusForbidden, "role_forbidden")
			m.do(t, "GET", p, a.funderR2, nil).wantProblem(t, http.StatusForbidden, "scope_forbidden")
			m.do(t, "GET", p+"?from=2026-02-01&to=2026-01-01", a.funder, nil).wantProblem(t, http.StatusBadRequest, "period_invalid")
			m.do(t, "GET", p+"?from=gisteren", a.funder, nil).wantProblem(t, http.StatusBadRequest, "date_malformed")
			m.do(t, "GET", "/api/v1/regions/r9/export/"+kind+".csv", m.token(t, regie.RoleAuditor, "acc", regie.AllRegions), nil).wantProblem(t, http.StatusNotFound, "region_not_found")
		}
	})
}

func TestEventQueue_DropOldest(t *testing.T) {
	q := web.NewEventQueue(3)
	for i := range 5 {
		q.Offer([]byte{byte('a' + i)})
	}
	if q.Dropped() != 2 {
		t.Fatalf("dropped %d, want 2", q.Dropped())
	}
	var got []byte
	for range 3 {
		got = append(got, (<-q.C())[0])
	}
	if string(got) != "cde" {
		t.Fatalf("kept %q, want the newest three", got)
	}
	t.Run("a slow consumer never blocks the producer", func(t *testing.T) {
		q := web.NewEventQueue(2)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range 100000 {
				q.Offer([]byte{byte(i)})
			}
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Offer blocked")
		}
		if q.Dropped() != 100000-2 {
			t.Fatalf("dropped %d", q.Dropped())
		}
	})
}
