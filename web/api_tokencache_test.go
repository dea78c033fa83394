package web_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/web"
)

// TestAPI_TokenCache checks that a verified token, remembered to save the
// signature check, still stops working when it expires.
func TestAPI_TokenCache(t *testing.T) {
	var later atomic.Int64
	e := newAPIEnv(t, func(c *web.Config) {
		c.Now = func() time.Time { return apiNow.Add(time.Duration(later.Load())) }
	})
	p := regie.Principal{Role: regie.RoleFunder, Subject: "funder-r1", Regions: []string{"r1"}}
	token, err := web.IssueAccessToken(e.keys, p, time.Hour, apiNow)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // the first verifies the signature, the others hit the cache
		e.do(t, "GET", "/api/v1/regions/r1/budget", token, nil).want(t, http.StatusOK)
	}
	later.Store(int64(time.Hour))
	e.do(t, "GET", "/api/v1/regions/r1/budget", token, nil).wantProblem(t, http.StatusUnauthorized, "token_invalid")
	// A token for another scope is not confused with the cached one.
	other, err := web.IssueAccessToken(e.keys, regie.Principal{Role: regie.RoleFunder, Subject: "f2", Regions: []string{"r2"}}, 2*time.Hour, apiNow)
	if err != nil {
		t.Fatal(err)
	}
	e.do(t, "GET", "/api/v1/regions/r1/budget", other, nil).wantProblem(t, http.StatusForbidden, "scope_forbidden")
}
