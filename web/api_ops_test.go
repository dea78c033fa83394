package web_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/web"
)

// TestAPI_Health checks /healthz and /readyz.
func TestAPI_Health(t *testing.T) {
	t.Run("healthz", func(t *testing.T) {
		e := newAPIEnv(t)
		r := e.do(t, "GET", "/healthz", "", nil).want(t, http.StatusOK)
		if r.body["status"] != "ok" {
			t.Errorf("body %s", r.raw)
		}
	})
	t.Run("readyz when the store is ready", func(t *testing.T) {
		e := newAPIEnv(t, func(c *web.Config) { c.Ready = func(context.Context) error { return nil } })
		r := e.do(t, "GET", "/readyz", "", nil).want(t, http.StatusOK)
		if r.body["status"] != "ready" {
			t.Errorf("body %s", r.raw)
		}
	})
	t.Run("readyz with the real store ping", func(t *testing.T) {
		e := newAPIEnv(t) // Ready is db.Ping
		e.do(t, "GET", "/readyz", "", nil).want(t, http.StatusOK)
	})
	t.Run("readyz when the store is not ready", func(t *testing.T) {
		e := newAPIEnv(t, func(c *web.Config) {
			c.Ready = func(context.Context) error { return errors.New("disk on fire") }
		})
		r := e.do(t, "GET", "/readyz", "", nil).want(t, http.StatusServiceUnavailable)
		if got := r.header.Get("Retry-After"); got == "" {
			t.Error("no Retry-After header")
		}
		if strings.Contains(string(r.raw), "disk on fire") {
			t.Errorf("readyz leaks the error: %s", r.raw)
		}
		// Liveness does not depend on readiness.
		e.do(t, "GET", "/healthz", "", nil).want(t, http.StatusOK)
	})
	t.Run("readyz when the store is closed", func(t *testing.T) {
		e := newAPIEnv(t)
		e.db.Close()
		r := e.do(t, "GET", "/readyz", "", nil)
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Errorf("status %d, Retry-After %q; want 503 with Retry-After", r.status, r.header.Get("Retry-After"))
		}
	})
}

// TestAPI_Metrics checks that /metrics exposes request durations by route
// pattern and claim decisions.
func TestAPI_Metrics(t *testing.T) {
	e := newAPIEnv(t)
	a := e.actors(t)
	voucherID, _ := e.issue(t, a.assessor, indication(bsnClient, "wlz", "r1", "VV04", "7", "2026-01-01", "2026-12-31"))
	e.assign(t, a.client, a.provider, voucherID, "VV04", agbNear, "2026-01-01")
	e.do(t, "GET", "/api/v1/vouchers/"+voucherID, a.client, nil).want(t, http.StatusOK)
	body := claim("m-1", voucherID, "VV04", "2026-03-01", "2026-03-31", "31", "200.00")
	e.do(t, "POST", "/api/v1/claims", a.provider, body).want(t, http.StatusCreated)
	e.do(t, "POST", "/api/v1/claims", a.provider, body).want(t, http.StatusOK) // a replay is not counted
	e.do(t, "POST", "/api/v1/claims", a.provider,
		claim("m-2", voucherID, "VV04", "2026-03-10", "2026-03-12", "3", "200.00")).want(t, http.StatusCreated)

	r := e.do(t, "GET", "/metrics", "", nil).want(t, http.StatusOK)
	text := string(r.raw)
	for _, want := range []string{
		"regie_http_request_duration_seconds_bucket",
		`regie_http_request_duration_seconds_count{method="POST",route="/api/v1/claims",status="201"} 2`,
		`regie_http_request_duration_seconds_count{method="POST",route="/api/v1/claims",status="200"} 1`,
		`route="/api/v1/vouchers/:id"`,
		`regie_claims_total{reason="",status="accepted"} 1`,
		`regie_claims_total{reason="period_overlap",status="rejected"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Labels are route patterns: no voucher id, and no pseudonym, in the metrics.
	if strings.Contains(text, voucherID) || strings.Contains(text, e.pseudonym(t, bsnClient)) {
		t.Error("/metrics contains an identifier")
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", grep(text, "regie_"))
	}
}

func grep(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) && !strings.Contains(l, "_bucket") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestAPI_Demo checks the demo login.
func TestAPI_Demo(t *testing.T) {
	users := func() *web.Demo {
		return &web.Demo{Users: []web.DemoUser{
			{Role: regie.RoleFunder, Subject: "demo-funder", Regions: []string{"r1"}, Label: "Zorgkantoor Een"},
			{Role: regie.RoleProvider, Subject: agbNear, Label: "Dichtbij Zorg"},
			{Role: regie.RoleProvider, Subject: agbFar, Label: "Verderop Zorg"},
			{Role: regie.RoleClient, Subject: "cdemoclientpseudonym", Label: "Demo client"},
		}}
	}
	t.Run("login as funder gives a working token", func(t *testing.T) {
		e := newAPIEnv(t, func(c *web.Config) { c.Demo = users() })
		r := e.do(t, "POST", "/api/v1/demo/login", "", map[string]string{"role": "funder"}).want(t, http.StatusOK)
		tok := r.str(t, "token")
		if r.str(t, "role") != "funder" || r.str(t, "subject") != "demo-funder" {
			t.Errorf("login %s", r.raw)
		}
		if typ := jwtPart(t, tok, 0)["typ"]; typ != web.AccessTokenType {
			t.Errorf("typ %v", typ)
		}
		exp, err := time.Parse(time.RFC3339, r.str(t, "expires_at"))
		if err != nil {
			t.Fatalf("expires_at: %v", err)
		}
		b := e.do(t, "GET", "/api/v1/regions/r1/budget", tok, nil)
		if b.status != http.StatusOK {
			t.Errorf("the demo token does not work: GET /api/v1/regions/r1/budget = %d %s\n"+
				"(token issued with Config.Now = %s, expires_at %s; authenticate checks exp against the wall clock %s)",
				b.status, b.raw, apiNow.Format(time.RFC3339), exp.Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339))
		}
	})
	t.Run("login with the real clock gives a working token", func(t *testing.T) {
		e := newAPIEnv(t, func(c *web.Config) { c.Demo = users(); c.Now = nil })
		r := e.do(t, "POST", "/api/v1/demo/login", "", map[string]string{"role": "funder"}).want(t, http.StatusOK)
		e.do(t, "GET", "/api/v1/regions/r1/budget", r.str(t, "token"), nil).want(t, http.StatusOK)
		// The funder's scope is the demo user's: another region is forbidden.
		e.do(t, "GET", "/api/v1/regions/r2/budget", r.str(t, "token"), nil).wantProblem(t, http.StatusForbidden, "scope_forbidden")
	})
	t.Run("login picks the user by subject", func(t *testing.T) {
		e := newAPIEnv(t, func(c *web.Config) { c.Demo = users() })
		r := e.do(t, "POST", "/api/v1/demo/login", "", map[string]string{"role": "provider", "subject": agbFar}).want(t, http.StatusOK)
		if r.str(t, "subject") != agbFar {
			t.Errorf("subject %q, want %s", r.str(t, "subject"), agbFar)
		}
		if sub := jwtPart(t, r.str(t, "token"), 1)["sub"]; sub != agbFar {
			t.Errorf("token sub %v", sub)
		}
		r = e.do(t, "POST", "/api/v1/demo/login", "", map[string]string{"role": "provider"}).want(t, http.StatusOK)
		if r.str(t, "subject") != agbNear {
			t.Errorf("first provider %q, want %s", r.str(t, "subject"), agbNear)
		}
	})
	t.Run("demo users are listed", func(t *testing.T) {
		e := newAPIEnv(t, func(c *web.Config) { c.Demo = users() })
		r := e.do(t, "GET", "/api/v1/demo/users", "", nil).want(t, http.StatusOK)
		if us := r.list(t, "users"); len(us) != 4 {
			t.Errorf("users %s", r.raw)
		}
	})
	t.Run("unknown role", func(t *testing.T) {
		e := newAPIEnv(t, func(c *web.Config) { c.Demo = users() })
		e.do(t, "POST", "/api/v1/demo/login", "", map[string]string{"role": "auditor"}).wantProblem(t, http.StatusNotFound, "demo_user_not_found")
		e.do(t, "POST", "/api/v1/demo/login", "", map[string]string{"role": "root"}).wantProblem(t, http.StatusNotFound, "demo_user_not_found")
		e.do(t, "POST", "/api/v1/demo/login", "", map[string]string{"role": "provider", "subject": "99999999"}).wantProblem(t, http.StatusNotFound, "demo_user_not_found")
		e.do(t, "POST", "/api/v1/demo/login", "", `{"role":"funder","password":"x"}`).wantProblem(t, http.StatusBadRequest, "json_unknown_field")
	})
	t.Run("without Demo the routes do not exist", func(t *testing.T) {
		e := newAPIEnv(t)
		tok := e.token(t, regie.RoleFunder, "funder-r1", "r1")
		e.do(t, "POST", "/api/v1/demo/login", tok, map[string]string{"role": "funder"}).wantProblem(t, http.StatusNotFound, "route_not_found")
		e.do(t, "GET", "/api/v1/demo/users", tok, nil).wantProblem(t, http.StatusNotFound, "route_not_found")
		// Without credentials the API group answers 401 before routing; in
		// no case is a token handed out.
		r := e.do(t, "POST", "/api/v1/demo/login", "", map[string]string{"role": "funder"})
		if r.status == http.StatusOK || r.body["token"] != nil {
			t.Errorf("demo login without Demo: %d %s", r.status, r.raw)
		}
	})
}
