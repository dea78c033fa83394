package web_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// TestAPI_VoucherState checks suspend, reactivate and revoke through the API
// and their effect on choices, claims and verification.
func TestAPI_VoucherState(t *testing.T) {
	e := newAPIEnv(t)
	a := e.actors(t)
	id, tok := e.issue(t, a.assessor, indication(bsnClient, "wlz", "r1", "VV04", "7", "2026-01-01", "2026-12-31"))
	e.assign(t, a.client, a.provider, id, "VV04", agbNear, "2026-01-01")
	setState := func(t *testing.T, state string) apiResp {
		t.Helper()
		return e.do(t, "PUT", "/api/v1/vouchers/"+id+"/state", a.assessor, map[string]string{"state": state})
	}

	t.Run("suspended", func(t *testing.T) {
		if r := setState(t, "suspended").want(t, http.StatusOK); r.str(t, "status") != "suspended" {
			t.Errorf("status %q", r.str(t, "status"))
		}
		if r := e.do(t, "GET", "/api/v1/vouchers/"+id, a.client, nil).want(t, http.StatusOK); r.str(t, "status") != "suspended" {
			t.Errorf("client sees %q", r.str(t, "status"))
		}
		r := e.do(t, "POST", "/api/v1/claims", a.provider, claim("s-1", id, "VV04", "2026-02-01", "2026-02-28", "28", "200.00")).want(t, http.StatusCreated)
		if r.str(t, "status") != "rejected" || r.str(t, "reason") != "voucher_suspended" {
			t.Errorf("claim %s", r.raw)
		}
		r = e.do(t, "POST", "/api/v1/vouchers/verify", a.provider, map[string]string{"token": tok}).want(t, http.StatusOK)
		if r.body["signature_valid"] != true || r.str(t, "status") != "suspended" {
			t.Errorf("verify %s", r.raw)
		}
		e.do(t, "POST", "/api/v1/vouchers/"+id+"/choices", a.client,
			map[string]any{"product": "VV04", "provider_agb": agbFar}).wantProblem(t, http.StatusBadRequest, "voucher_not_active")
	})
	t.Run("reactivated", func(t *testing.T) {
		setState(t, "active").want(t, http.StatusOK)
		r := e.do(t, "POST", "/api/v1/claims", a.provider, claim("s-2", id, "VV04", "2026-02-01", "2026-02-28", "28", "200.00")).want(t, http.StatusCreated)
		if r.str(t, "status") != "accepted" || r.str(t, "amount") != "5600.00" {
			t.Errorf("claim %s", r.raw)
		}
	})
	t.Run("revoked stays revoked", func(t *testing.T) {
		setState(t, "revoked").want(t, http.StatusOK)
		before := e.state(t)
		setState(t, "active").wantProblem(t, http.StatusConflict, "voucher_revoked")
		e.unchanged(t, before)
		r := e.do(t, "POST", "/api/v1/claims", a.provider, claim("s-3", id, "VV04", "2026-03-01", "2026-03-31", "31", "200.00")).want(t, http.StatusCreated)
		if r.str(t, "reason") != "voucher_revoked" {
			t.Errorf("claim %s", r.raw)
		}
		r = e.do(t, "GET", "/api/v1/regions/r1/budget", a.funder, nil).want(t, http.StatusOK)
		if r.str(t, "settled") != "5600.00" {
			t.Errorf("settled %q", r.str(t, "settled"))
		}
	})
	t.Run("unknown state", func(t *testing.T) {
		before := e.state(t)
		setState(t, "expired").wantProblem(t, http.StatusBadRequest, "state_invalid")
		e.unchanged(t, before)
	})
}

// TestAPI_Concurrency sends claims at the same time: a retry storm of one
// claim settles once, claims for the same period settle once, and claims that
// together exceed the balance settle only as far as the balance goes. Each
// claim on its own fits the volume, also counted cumulatively over the line.
func TestAPI_Concurrency(t *testing.T) {
	e := newAPIEnv(t)
	a := e.actors(t)
	id, _ := e.issue(t, a.assessor, indication(bsnClient, "wlz", "r1", "VV04", "7", "2026-01-01", "2026-12-31"))
	e.assign(t, a.client, a.provider, id, "VV04", agbNear, "2026-01-01")
	// WMO-BEG 4 hours a week over 3 days: 1.71 hours, 1.71 × 68.40 = 116.96.
	small, _ := e.issue(t, a.assessor, indication(bsnClient, "wmo", "r1", "WMO-BEG", "4", "2026-06-01", "2026-06-03"))
	e.assign(t, a.client, a.provider, small, "WMO-BEG", agbNear, "2026-06-01")

	const n = 8
	parallel := func(t *testing.T, n int, body func(i int) map[string]any) []apiResp {
		t.Helper()
		out := make([]apiResp, n)
		errs := make([]error, n)
		reqs := make([]*http.Request, n)
		for i := range n {
			reqs[i] = e.request(t, "POST", "/api/v1/claims", body(i))
			reqs[i].Header.Set("Authorization", "Bearer "+a.provider)
		}
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out[i], errs[i] = e.trySend(reqs[i])
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	count := func(rs []apiResp, f func(apiResp) bool) int {
		k := 0
		for _, r := range rs {
			if f(r) {
				k++
			}
		}
		return k
	}
	settled := func(t *testing.T) string {
		t.Helper()
		return e.do(t, "GET", "/api/v1/regions/r1/budget", a.funder, nil).want(t, http.StatusOK).str(t, "settled")
	}

	t.Run("one claim sent eight times", func(t *testing.T) {
		rs := parallel(t, n, func(int) map[string]any {
			return claim("k-1", id, "VV04", "2026-01-01", "2026-01-31", "31", "200.00")
		})
		created := count(rs, func(r apiResp) bool { return r.status == http.StatusCreated })
		replayed := count(rs, func(r apiResp) bool {
			return r.status == http.StatusOK && r.header.Get("Idempotent-Replayed") == "true"
		})
		if created != 1 || replayed != n-1 {
			t.Errorf("%d created, %d replayed; want 1 and %d", created, replayed, n-1)
		}
		for _, r := range rs {
			if r.body["status"] != "accepted" || r.body["amount"] != "6200.00" {
				t.Errorf("answer %d %s", r.status, r.raw)
			}
		}
		if got := settled(t); got != "6200.00" {
			t.Errorf("settled %s, want 6200.00", got)
		}
	})

	t.Run("eight claims for the same period", func(t *testing.T) {
		rs := parallel(t, n, func(i int) map[string]any {
			// One unit each, so that only the overlap can tell them apart.
			return claim(fmt.Sprintf("k-feb-%d", i), id, "VV04", "2026-02-01", "2026-02-28", "1", "200.00")
		})
		accepted := count(rs, func(r apiResp) bool { return r.body["status"] == "accepted" })
		overlap := count(rs, func(r apiResp) bool { return r.body["reason"] == "period_overlap" })
		if accepted != 1 || overlap != n-1 {
			t.Errorf("%d accepted, %d period_overlap; want 1 and %d", accepted, overlap, n-1)
		}
		if got := settled(t); got != "6400.00" {
			t.Errorf("settled %s, want 6400.00", got)
		}
	})

	t.Run("three day claims against a balance for two", func(t *testing.T) {
		// 0.8 hours a day at 68.40 is 54.72: two fit in 116.96, three do not.
		rs := parallel(t, 3, func(i int) map[string]any {
			day := fmt.Sprintf("2026-06-%02d", i+1)
			return claim("k-day-"+day, small, "WMO-BEG", day, day, "0.8", "68.40")
		})
		accepted := count(rs, func(r apiResp) bool { return r.body["status"] == "accepted" })
		short := count(rs, func(r apiResp) bool { return r.body["reason"] == "insufficient_balance" })
		if accepted != 2 || short != 1 {
			for _, r := range rs {
				t.Logf("%d %s", r.status, r.raw)
			}
			t.Errorf("%d accepted, %d insufficient_balance; want 2 and 1", accepted, short)
		}
		if got := settled(t); got != "6509.44" {
			t.Errorf("settled %s, want 6509.44", got)
		}
		r := e.do(t, "GET", "/api/v1/vouchers/"+small, a.client, nil).want(t, http.StatusOK)
		if r.str(t, "balance") != "7.52" {
			t.Errorf("balance %q, want 7.52", r.str(t, "balance"))
		}
	})
}
