package web_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/voucher"
	"github.com/regie-nl/regie/web"
)

// TestAPI_Auth checks roles and scopes (403, nothing changed) and
// authentication (401 with WWW-Authenticate).
func TestAPI_Auth(t *testing.T) {
	e := newAPIEnv(t)
	a := e.actors(t)

	// A voucher of the first client in r1 with a choice for agbNear that is
	// still requested, and a second voucher with an accepted choice.
	voucherID, voucherToken := e.issue(t, a.assessor, indication(bsnClient, "wlz", "r1", "VV04", "7", "2026-01-01", "2026-12-31"))
	r := e.do(t, "POST", "/api/v1/vouchers/"+voucherID+"/choices", a.client,
		map[string]any{"product": "VV04", "provider_agb": agbNear, "from": "2026-01-01"}).want(t, http.StatusCreated)
	choiceID := r.str(t, "id")
	assignedID, _ := e.issue(t, a.assessor, indication(bsnClient, "wlz", "r1", "VV04", "7", "2026-01-01", "2026-12-31"))
	e.assign(t, a.client, a.provider, assignedID, "VV04", agbNear, "2026-01-01")
	goodClaim := claim("auth-1", assignedID, "VV04", "2026-02-01", "2026-02-28", "28", "200.00")

	newIndication := indication(bsnClient, "wlz", "r1", "VV04", "7", "2026-01-01", "2026-12-31")
	forbidden := []struct {
		name         string
		method, path string
		token        string
		body         any
		code         string
	}{
		{"client issues", "POST", "/api/v1/indications", a.client, newIndication, "role_forbidden"},
		{"provider issues", "POST", "/api/v1/indications", a.provider, newIndication, "role_forbidden"},
		{"funder issues", "POST", "/api/v1/indications", a.funder, newIndication, "role_forbidden"},
		{"auditor issues", "POST", "/api/v1/indications", a.auditor, newIndication, "role_forbidden"},
		{"admin issues", "POST", "/api/v1/indications", a.admin, newIndication, "role_forbidden"},
		{"national funder issues", "POST", "/api/v1/indications", a.funderAll, newIndication, "role_forbidden"},
		{"assessor outside the region issues", "POST", "/api/v1/indications", a.assessorR2, newIndication, "scope_forbidden"},
		{"another client reads the voucher", "GET", "/api/v1/vouchers/" + voucherID, a.client2, nil, "scope_forbidden"},
		{"another client reads the voucher token", "GET", "/api/v1/vouchers/" + voucherID + "/token", a.client2, nil, "scope_forbidden"},
		{"another client searches on the voucher", "GET", "/api/v1/vouchers/" + voucherID + "/providers?product=VV04&lat=52.37&lon=4.89", a.client2, nil, "scope_forbidden"},
		{"another client chooses on the voucher", "POST", "/api/v1/vouchers/" + assignedID + "/choices", a.client2,
			map[string]any{"product": "VV04", "provider_agb": agbFar, "from": "2026-07-01"}, "scope_forbidden"},
		{"provider not chosen reads the voucher", "GET", "/api/v1/vouchers/" + voucherID, a.provider2, nil, "scope_forbidden"},
		{"provider not chosen reads the voucher token", "GET", "/api/v1/vouchers/" + voucherID + "/token", a.provider2, nil, "scope_forbidden"},
		{"funder of another region reads the voucher", "GET", "/api/v1/vouchers/" + voucherID, a.funderR2, nil, "scope_forbidden"},
		{"assessor of another region reads the voucher", "GET", "/api/v1/vouchers/" + voucherID, a.assessorR2, nil, "scope_forbidden"},
		{"provider searches providers", "GET", "/api/v1/vouchers/" + voucherID + "/providers?product=VV04&lat=52.37&lon=4.89", a.provider, nil, "role_forbidden"},
		{"another provider accepts the choice", "POST", "/api/v1/choices/" + choiceID + "/accept", a.provider2, nil, "scope_forbidden"},
		{"another provider declines the choice", "POST", "/api/v1/choices/" + choiceID + "/decline", a.provider2, map[string]string{"reason": "vol"}, "scope_forbidden"},
		{"the client accepts its own choice", "POST", "/api/v1/choices/" + choiceID + "/accept", a.client, nil, "role_forbidden"},
		{"funder accepts the choice", "POST", "/api/v1/choices/" + choiceID + "/accept", a.funder, nil, "role_forbidden"},
		{"client submits a claim", "POST", "/api/v1/claims", a.client, goodClaim, "role_forbidden"},
		{"funder submits a claim", "POST", "/api/v1/claims", a.funder, goodClaim, "role_forbidden"},
		{"assessor submits a claim", "POST", "/api/v1/claims", a.assessor, goodClaim, "role_forbidden"},
		{"funder of another region reads the budget", "GET", "/api/v1/regions/r1/budget", a.funderR2, nil, "scope_forbidden"},
		{"provider reads the budget", "GET", "/api/v1/regions/r1/budget", a.provider, nil, "role_forbidden"},
		{"client reads the budget", "GET", "/api/v1/regions/r1/budget", a.client, nil, "role_forbidden"},
		{"assessor reads the budget", "GET", "/api/v1/regions/r1/budget", a.assessor, nil, "role_forbidden"},
		{"provider suspends the voucher", "PUT", "/api/v1/vouchers/" + voucherID + "/state", a.provider, map[string]string{"state": "suspended"}, "role_forbidden"},
		{"funder revokes the voucher", "PUT", "/api/v1/vouchers/" + voucherID + "/state", a.funder, map[string]string{"state": "revoked"}, "role_forbidden"},
		{"assessor of another region suspends the voucher", "PUT", "/api/v1/vouchers/" + voucherID + "/state", a.assessorR2, map[string]string{"state": "suspended"}, "scope_forbidden"},
		{"provider lists client vouchers", "GET", "/api/v1/vouchers", a.provider, nil, "role_forbidden"},
		{"funder lists choices", "GET", "/api/v1/choices", a.funder, nil, "role_forbidden"},
		{"admin verifies a voucher", "POST", "/api/v1/vouchers/verify", a.admin, map[string]string{"token": voucherToken}, "role_forbidden"},
	}
	for _, tc := range forbidden {
		t.Run("403 "+tc.name, func(t *testing.T) {
			before := e.state(t)
			e.do(t, tc.method, tc.path, tc.token, tc.body).wantProblem(t, http.StatusForbidden, tc.code)
			e.unchanged(t, before)
		})
	}

	t.Run("the forbidden calls left everything as it was", func(t *testing.T) {
		r := e.do(t, "GET", "/api/v1/choices", a.provider, nil).want(t, http.StatusOK)
		for _, c := range r.list(t, "choices") {
			if c["id"] == choiceID && c["status"] != "requested" {
				t.Errorf("choice %s is %v", choiceID, c["status"])
			}
		}
		r = e.do(t, "GET", "/api/v1/vouchers", a.client, nil).want(t, http.StatusOK)
		if vs := r.list(t, "vouchers"); len(vs) != 2 {
			t.Errorf("client has %d vouchers, want 2", len(vs))
		}
		r = e.do(t, "GET", "/api/v1/regions/r1/budget", a.funder, nil).want(t, http.StatusOK)
		if r.str(t, "settled") != "0.00" {
			t.Errorf("settled %q", r.str(t, "settled"))
		}
		e.do(t, "GET", "/api/v1/claims/auth-1", a.provider, nil).wantProblem(t, http.StatusNotFound, "claim_not_found")
	})

	t.Run("allowed counterparts", func(t *testing.T) {
		// The chosen provider, the funder, assessor and auditor of the region
		// and a national funder may read the voucher.
		for name, tok := range map[string]string{"chosen provider": a.provider, "funder": a.funder, "assessor": a.assessor, "auditor": a.auditor, "national funder": a.funderAll} {
			if r := e.do(t, "GET", "/api/v1/vouchers/"+voucherID, tok, nil); r.status != http.StatusOK {
				t.Errorf("%s: status %d; %s", name, r.status, r.raw)
			}
		}
		for name, tok := range map[string]string{"funder": a.funder, "auditor": a.auditor, "national funder": a.funderAll} {
			if r := e.do(t, "GET", "/api/v1/regions/r1/budget", tok, nil); r.status != http.StatusOK {
				t.Errorf("%s: budget status %d; %s", name, r.status, r.raw)
			}
		}
		// A provider may not read another provider's claim; it simply does not exist for it.
		e.do(t, "POST", "/api/v1/claims", a.provider, goodClaim).want(t, http.StatusCreated)
		e.do(t, "GET", "/api/v1/claims/auth-1", a.provider2, nil).wantProblem(t, http.StatusNotFound, "claim_not_found")
	})

	// 401s: build a set of bad tokens.
	now := apiNow // the server's clock judges expiry
	other, err := voucher.GenerateKeyRing()
	if err != nil {
		t.Fatal(err)
	}
	funderP := regie.Principal{Role: regie.RoleFunder, Subject: "funder-r1", Regions: []string{"r1"}}
	expired, err := web.IssueAccessToken(e.keys, funderP, time.Hour, now.Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	otherRing, err := web.IssueAccessToken(other, funderP, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	claimsFor := func(role regie.Role, sub string, aud []string, regions ...string) *web.AccessClaims {
		return &web.AccessClaims{
			RegisteredClaims: jwt.RegisteredClaims{
				Subject: sub, Audience: aud,
				IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
			},
			Role: role, Regions: regions,
		}
	}
	sign := func(typ string, c jwt.Claims) string {
		s, err := e.keys.Sign(typ, c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// alg HS256 with the server's public key (from the JWKS) as the HMAC secret,
	// and the server's kid: the classic algorithm confusion.
	pub, err := base64.RawURLEncoding.DecodeString(e.keys.JWKS().Keys[0].X)
	if err != nil {
		t.Fatal(err)
	}
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claimsFor(regie.RoleFunder, "funder-r1", []string{"regie-api"}, "r1"))
	hs.Header["kid"], hs.Header["typ"] = e.keys.ActiveKeyID(), web.AccessTokenType
	hs256, err := hs.SignedString(pub)
	if err != nil {
		t.Fatal(err)
	}
	none := jwt.NewWithClaims(jwt.SigningMethodNone, claimsFor(regie.RoleFunder, "funder-r1", []string{"regie-api"}, "r1"))
	none.Header["kid"], none.Header["typ"] = e.keys.ActiveKeyID(), web.AccessTokenType
	algNone, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	// A valid token with one payload claim changed.
	good := e.token(t, regie.RoleFunder, "funder-r1", "r1")
	parts := strings.Split(good, ".")
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(
		`{"sub":"funder-r1","aud":["regie-api"],"exp":`+itoa(now.Add(time.Hour).Unix())+`,"role":"funder","regions":["*"]}`)) + "." + parts[2]

	unauthorized := []struct {
		name, header, code string
	}{
		{"no Authorization header", "", "token_missing"},
		{"empty bearer", "Bearer ", "token_missing"},
		{"basic credentials", "Basic ZnVuZGVyOnNlY3JldA==", "token_missing"},
		{"garbage", "Bearer garbage", "token_invalid"},
		{"three garbage parts", "Bearer a.b.c", "token_invalid"},
		{"expired", "Bearer " + expired, "token_invalid"},
		{"signed by another key ring", "Bearer " + otherRing, "token_invalid"},
		{"voucher token as access token", "Bearer " + voucherToken, "token_invalid"},
		{"access token body signed as a voucher", "Bearer " + sign(voucher.TokenType, claimsFor(regie.RoleFunder, "funder-r1", []string{"regie-api"}, "r1")), "token_invalid"},
		{"alg HS256 with the public key", "Bearer " + hs256, "token_invalid"},
		{"alg none", "Bearer " + algNone, "token_invalid"},
		{"payload changed", "Bearer " + forged, "token_invalid"},
		{"no audience", "Bearer " + sign(web.AccessTokenType, claimsFor(regie.RoleFunder, "funder-r1", nil, "r1")), "token_invalid"},
		{"other audience", "Bearer " + sign(web.AccessTokenType, claimsFor(regie.RoleFunder, "funder-r1", []string{"other-api"}, "r1")), "token_invalid"},
		{"unknown role", "Bearer " + sign(web.AccessTokenType, claimsFor("root", "x", []string{"regie-api"}, "r1")), "token_invalid"},
		{"funder without regions", "Bearer " + sign(web.AccessTokenType, claimsFor(regie.RoleFunder, "funder-r1", []string{"regie-api"})), "token_invalid"},
		{"no subject", "Bearer " + sign(web.AccessTokenType, claimsFor(regie.RoleFunder, "", []string{"regie-api"}, "r1")), "token_invalid"},
	}
	for _, tc := range unauthorized {
		t.Run("401 "+tc.name, func(t *testing.T) {
			for _, call := range []struct {
				method, path string
				body         any
			}{
				{"GET", "/api/v1/regions/r1/budget", nil},
				{"POST", "/api/v1/indications", indication(bsnClient, "wlz", "r1", "VV04", "7", "2026-01-01", "2026-12-31")},
			} {
				before := e.state(t)
				req := e.request(t, call.method, call.path, call.body)
				if tc.header != "" {
					req.Header.Set("Authorization", tc.header)
				}
				r := e.send(t, req).wantProblem(t, http.StatusUnauthorized, tc.code)
				if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("%s %s: WWW-Authenticate %q, want a Bearer challenge", call.method, call.path, got)
				}
				e.unchanged(t, before)
			}
		})
	}

	t.Run("the same principal with a good token is let in", func(t *testing.T) {
		e.do(t, "GET", "/api/v1/regions/r1/budget", good, nil).want(t, http.StatusOK)
	})

	// RFC 9110 §11.1: the authentication scheme is case-insensitive.
	t.Run("the bearer scheme in lower case", func(t *testing.T) {
		req := e.request(t, "GET", "/api/v1/regions/r1/budget", nil)
		req.Header.Set("Authorization", "bearer "+good)
		e.send(t, req).want(t, http.StatusOK)
	})

	t.Run("a declined provider loses sight of the voucher", func(t *testing.T) {
		id, _ := e.issue(t, a.assessor, indication(bsnClient2, "wlz", "r1", "VV04", "7", "2026-01-01", "2026-12-31"))
		r := e.do(t, "POST", "/api/v1/vouchers/"+id+"/choices", a.client2,
			map[string]any{"product": "VV04", "provider_agb": agbFar, "from": "2026-02-01"}).want(t, http.StatusCreated)
		ch := r.str(t, "id")
		e.do(t, "GET", "/api/v1/vouchers/"+id, a.provider2, nil).want(t, http.StatusOK)
		r = e.do(t, "POST", "/api/v1/choices/"+ch+"/decline", a.provider2, map[string]string{"reason": "geen plek in het team"}).want(t, http.StatusOK)
		if r.str(t, "status") != "declined" || r.str(t, "reason") != "geen plek in het team" {
			t.Errorf("decline %s", r.raw)
		}
		e.do(t, "GET", "/api/v1/vouchers/"+id, a.provider2, nil).wantProblem(t, http.StatusForbidden, "scope_forbidden")
		// The declined choice cannot be accepted after all.
		e.do(t, "POST", "/api/v1/choices/"+ch+"/accept", a.provider2, nil).wantProblem(t, http.StatusConflict, "choice_decided")
		// And a claim for it is rejected.
		r = e.do(t, "POST", "/api/v1/claims", a.provider2, claim("declined-1", id, "VV04", "2026-02-01", "2026-02-07", "7", "195.00"))
		if r.status != http.StatusCreated || r.body["reason"] != "provider_not_assigned" {
			t.Errorf("claim after decline: %d %s", r.status, r.raw)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// request builds a request with an optional JSON body and no credentials.
func (e *apiEnv) request(t *testing.T, method, path string, body any) *http.Request {
	t.Helper()
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, "http://regie.test"+path, strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}
