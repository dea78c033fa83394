package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestAPI_Loop walks the core loop through the API: indication → voucher,
// search, choice, acceptance, claims (accepted, replayed, conflicting and
// rejected), budget figures, balance and offline verification. The subtests
// run in order and build on each other.
func TestAPI_Loop(t *testing.T) {
	e := newAPIEnv(t)
	a := e.actors(t)
	ctx := context.Background()

	var voucherID, voucherToken string
	// VV04 at 7 days a week over 365 days is 365 days × 203.15 = 74149.75.
	const entitlement = "74149.75"

	t.Run("assessor issues a voucher", func(t *testing.T) {
		r := e.do(t, "POST", "/api/v1/indications", a.assessor,
			indication(bsnClient, "wlz", "r1", "VV04", "7", "2026-01-01", "2026-12-31")).want(t, http.StatusCreated)
		voucherID, voucherToken = r.str(t, "id"), r.str(t, "token")
		if !strings.HasPrefix(voucherID, "v") || voucherToken == "" {
			t.Fatalf("id %q, token %q", voucherID, voucherToken)
		}
		if got := r.str(t, "status"); got != "active" {
			t.Errorf("status %q, want active", got)
		}
		if got := r.str(t, "balance"); got != entitlement {
			t.Errorf("balance %q, want %s", got, entitlement)
		}
		if got := r.str(t, "region"); got != "r1" {
			t.Errorf("region %q", got)
		}
		if got, want := r.str(t, "subject"), e.pseudonym(t, bsnClient); got != want {
			t.Errorf("subject %q, want the pseudonym %q", got, want)
		}
		lines := r.list(t, "lines")
		if len(lines) != 1 || lines[0]["units"] != "365" || lines[0]["max_amount"] != entitlement || lines[0]["remaining"] != entitlement {
			t.Errorf("lines %v", lines)
		}
		if loc := r.header.Get("Location"); loc != "/api/v1/vouchers/"+voucherID {
			t.Errorf("Location %q", loc)
		}
		if bytes.Contains(r.raw, []byte(bsnClient)) {
			t.Errorf("the response contains the BSN: %s", r.raw)
		}
	})
	if voucherID == "" {
		t.Fatal("no voucher; the loop cannot go on")
	}

	t.Run("the BSN is nowhere: not in the token, the stored voucher, the store file or the logs", func(t *testing.T) {
		for i, part := range strings.Split(voucherToken, ".")[:2] {
			b, err := base64.RawURLEncoding.DecodeString(part)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte(bsnClient)) {
				t.Errorf("token part %d contains the BSN: %s", i, b)
			}
		}
		payload := jwtPart(t, voucherToken, 1)
		if payload["jti"] != voucherID || payload["sub"] != e.pseudonym(t, bsnClient) || payload["region"] != "r1" {
			t.Errorf("token payload %v", payload)
		}
		if _, ok := payload["bsn"]; ok {
			t.Errorf("token payload has a bsn claim: %v", payload)
		}
		v, err := e.db.Voucher(ctx, voucherID)
		if err != nil {
			t.Fatal(err)
		}
		stored, _ := json.Marshal(v)
		if bytes.Contains(stored, []byte(bsnClient)) {
			t.Errorf("the stored voucher contains the BSN: %s", stored)
		}
		file, err := os.ReadFile(e.dbPath)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(file, []byte(bsnClient)) {
			t.Error("the store file contains the BSN")
		}
		if strings.Contains(e.logs.String(), bsnClient) {
			t.Error("the logs contain the BSN")
		}
	})

	t.Run("JWKS lists the kid of the voucher token", func(t *testing.T) {
		kid, _ := jwtPart(t, voucherToken, 0)["kid"].(string)
		if alg := jwtPart(t, voucherToken, 0)["alg"]; alg != "EdDSA" {
			t.Errorf("alg %v, want EdDSA", alg)
		}
		if kid == "" {
			t.Fatal("voucher token has no kid")
		}
		r := e.do(t, "GET", "/.well-known/jwks.json", "", nil).want(t, http.StatusOK)
		found := false
		for _, k := range r.list(t, "keys") {
			if k["kid"] == kid {
				found = true
				if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["x"] == "" {
					t.Errorf("key %v", k)
				}
			}
		}
		if !found {
			t.Errorf("kid %q not in JWKS %s", kid, r.raw)
		}
	})

	t.Run("client lists its vouchers", func(t *testing.T) {
		r := e.do(t, "GET", "/api/v1/vouchers", a.client, nil).want(t, http.StatusOK)
		vs := r.list(t, "vouchers")
		if len(vs) != 1 || vs[0]["id"] != voucherID || vs[0]["balance"] != entitlement || vs[0]["status"] != "active" {
			t.Errorf("vouchers %s", r.raw)
		}
		r = e.do(t, "GET", "/api/v1/vouchers", a.client2, nil).want(t, http.StatusOK)
		if vs := r.list(t, "vouchers"); len(vs) != 0 {
			t.Errorf("another client sees %v", vs)
		}
	})

	t.Run("client searches providers, nearest first", func(t *testing.T) {
		r := e.do(t, "GET", "/api/v1/vouchers/"+voucherID+"/providers?product=VV04&lat=52.3676&lon=4.9041", a.client, nil).want(t, http.StatusOK)
		found := r.list(t, "providers")
		var agbs []string
		for _, f := range found {
			p, _ := f["provider"].(map[string]any)
			agbs = append(agbs, p["agb"].(string))
		}
		// Unqualified, other-region and not-offering providers are left out.
		if strings.Join(agbs, ",") != agbNear+","+agbFar {
			t.Fatalf("providers %v, want [%s %s]; body %s", agbs, agbNear, agbFar, r.raw)
		}
		d0, _ := found[0]["distance_km"].(float64)
		d1, _ := found[1]["distance_km"].(float64)
		if !(d0 < d1) || d0 > 2 || d1 < 10 || d1 > 25 {
			t.Errorf("distances %v, %v", d0, d1)
		}
		if found[0]["tariff"] != "200.00" || found[1]["tariff"] != "195.00" {
			t.Errorf("tariffs %v, %v", found[0]["tariff"], found[1]["tariff"])
		}
	})

	var choiceID string
	t.Run("client chooses a provider", func(t *testing.T) {
		r := e.do(t, "POST", "/api/v1/vouchers/"+voucherID+"/choices", a.client,
			map[string]any{"product": "VV04", "provider_agb": agbNear, "from": "2026-01-01"}).want(t, http.StatusCreated)
		choiceID = r.str(t, "id")
		if r.str(t, "status") != "requested" || r.str(t, "voucher_id") != voucherID || r.str(t, "provider_agb") != agbNear || r.str(t, "from") != "2026-01-01" {
			t.Errorf("choice %s", r.raw)
		}
		if bytes.Contains(r.raw, []byte(bsnClient)) {
			t.Errorf("the choice contains the BSN: %s", r.raw)
		}
	})
	if choiceID == "" {
		t.Fatal("no choice; the loop cannot go on")
	}

	t.Run("provider sees the choice and accepts", func(t *testing.T) {
		r := e.do(t, "GET", "/api/v1/choices", a.provider, nil).want(t, http.StatusOK)
		cs := r.list(t, "choices")
		if len(cs) != 1 || cs[0]["id"] != choiceID || cs[0]["status"] != "requested" {
			t.Fatalf("choices %s", r.raw)
		}
		r = e.do(t, "POST", "/api/v1/choices/"+choiceID+"/accept", a.provider, nil).want(t, http.StatusOK)
		if r.str(t, "status") != "accepted" {
			t.Errorf("accept: %s", r.raw)
		}
		r = e.do(t, "GET", "/api/v1/choices", a.client, nil).want(t, http.StatusOK)
		if cs := r.list(t, "choices"); len(cs) != 1 || cs[0]["status"] != "accepted" {
			t.Errorf("client's choices %s", r.raw)
		}
		// Accepting twice is a conflict.
		e.do(t, "POST", "/api/v1/choices/"+choiceID+"/accept", a.provider, nil).wantProblem(t, http.StatusConflict, "choice_decided")
	})

	t.Run("the chosen provider may now read the voucher", func(t *testing.T) {
		r := e.do(t, "GET", "/api/v1/vouchers/"+voucherID, a.provider, nil).want(t, http.StatusOK)
		if r.str(t, "id") != voucherID || r.str(t, "balance") != entitlement {
			t.Errorf("voucher %s", r.raw)
		}
	})

	var first apiResp
	c1 := claim("c-2026-03", voucherID, "VV04", "2026-03-01", "2026-03-31", "31", "200.00")
	t.Run("provider claims: accepted", func(t *testing.T) {
		first = e.do(t, "POST", "/api/v1/claims", a.provider, c1).want(t, http.StatusCreated)
		if first.str(t, "status") != "accepted" || first.str(t, "amount") != "6200.00" {
			t.Fatalf("decision %s", first.raw)
		}
		if first.str(t, "units") != "31" || first.str(t, "unit_price") != "200.00" || first.str(t, "provider_agb") != agbNear || first.str(t, "region") != "r1" {
			t.Errorf("decision %s", first.raw)
		}
		if _, ok := first.body["reason"]; ok {
			t.Errorf("accepted decision has a reason: %s", first.raw)
		}
		if first.header.Get("Idempotent-Replayed") != "" {
			t.Errorf("first answer is marked replayed")
		}
	})

	t.Run("retry with the same body replays the decision", func(t *testing.T) {
		before := e.state(t)
		r := e.do(t, "POST", "/api/v1/claims", a.provider, c1).want(t, http.StatusOK)
		if got := r.header.Get("Idempotent-Replayed"); got != "true" {
			t.Errorf("Idempotent-Replayed %q, want true", got)
		}
		if string(r.raw) != string(first.raw) {
			t.Errorf("replayed decision differs:\nfirst  %s\nreplay %s", first.raw, r.raw)
		}
		e.sameContent(t, before)
		r = e.do(t, "GET", "/api/v1/claims/c-2026-03", a.provider, nil).want(t, http.StatusOK)
		if r.str(t, "status") != "accepted" || r.str(t, "amount") != "6200.00" {
			t.Errorf("GET claim %s", r.raw)
		}
	})

	t.Run("same claim id with other content is a conflict", func(t *testing.T) {
		before := e.state(t)
		other := claim("c-2026-03", voucherID, "VV04", "2026-03-01", "2026-03-30", "30", "200.00")
		e.do(t, "POST", "/api/v1/claims", a.provider, other).wantProblem(t, http.StatusConflict, "claim_id_conflict")
		e.sameContent(t, before)
		// The recorded decision is still the first one.
		r := e.do(t, "GET", "/api/v1/claims/c-2026-03", a.provider, nil).want(t, http.StatusOK)
		if r.str(t, "to") != "2026-03-31" || r.str(t, "units") != "31" || r.str(t, "amount") != "6200.00" {
			t.Errorf("recorded decision %s", r.raw)
		}
	})

	t.Run("funder sees settled and remaining exactly", func(t *testing.T) {
		r := e.do(t, "GET", "/api/v1/regions/r1/budget", a.funder, nil).want(t, http.StatusOK)
		if r.str(t, "budget") != budgetR1 || r.str(t, "settled") != "6200.00" || r.str(t, "remaining") != "993800.00" {
			t.Errorf("figures %s", r.raw)
		}
		if n, _ := r.body["claims"].(float64); n != 1 {
			t.Errorf("claims %v", r.body["claims"])
		}
		r = e.do(t, "GET", "/api/v1/regions/r2/budget", a.funderR2, nil).want(t, http.StatusOK)
		if r.str(t, "settled") != "0.00" || r.str(t, "remaining") != budgetR2 {
			t.Errorf("r2 figures %s", r.raw)
		}
	})

	t.Run("client sees the balance reduced exactly", func(t *testing.T) {
		r := e.do(t, "GET", "/api/v1/vouchers/"+voucherID, a.client, nil).want(t, http.StatusOK)
		if r.str(t, "balance") != "67949.75" {
			t.Errorf("balance %q, want 67949.75 (74149.75 − 6200.00)", r.str(t, "balance"))
		}
		if lines := r.list(t, "lines"); len(lines) != 1 || lines[0]["remaining"] != "67949.75" || lines[0]["max_amount"] != entitlement {
			t.Errorf("lines %v", lines)
		}
	})

	t.Run("verify the voucher token", func(t *testing.T) {
		r := e.do(t, "POST", "/api/v1/vouchers/verify", a.provider, map[string]string{"token": voucherToken}).want(t, http.StatusOK)
		if r.body["signature_valid"] != true || r.body["known"] != true || r.str(t, "status") != "active" || r.str(t, "balance") != "67949.75" {
			t.Errorf("verification %s", r.raw)
		}
		if got := lookup(t, r.body, "claims.jti"); got != voucherID {
			t.Errorf("claims.jti %v", got)
		}
	})

	t.Run("verify tampered tokens", func(t *testing.T) {
		parts := strings.Split(voucherToken, ".")
		// A payload with a bigger entitlement under the old signature.
		payload := jwtPart(t, voucherToken, 1)
		payload["region"] = "r2"
		pb, _ := json.Marshal(payload)
		forgedPayload := parts[0] + "." + base64.RawURLEncoding.EncodeToString(pb) + "." + parts[2]
		// A signature with one character in the middle changed.
		sig := []byte(parts[2])
		mid := len(sig) / 2
		if sig[mid] == 'A' {
			sig[mid] = 'B'
		} else {
			sig[mid] = 'A'
		}
		forgedSig := parts[0] + "." + parts[1] + "." + string(sig)
		// An access token is not a voucher token.
		for name, tok := range map[string]string{"payload": forgedPayload, "signature": forgedSig, "access token": a.provider, "garbage": "not-a-token"} {
			t.Run(name, func(t *testing.T) {
				r := e.do(t, "POST", "/api/v1/vouchers/verify", a.provider, map[string]string{"token": tok}).want(t, http.StatusOK)
				if r.body["signature_valid"] != false {
					t.Errorf("signature_valid %v, want false; %s", r.body["signature_valid"], r.raw)
				}
				if _, ok := r.body["balance"]; ok {
					t.Errorf("a bad token reveals a balance: %s", r.raw)
				}
			})
		}
	})

	// Rejected claims answer 201 with the reason and change no figure.
	var wmoID string
	t.Run("a second, small voucher", func(t *testing.T) {
		// WMO-BEG 1 hour a week over 3 days: 0.43 hours, 0.43 × 68.40 = 29.41.
		var tok string
		wmoID, tok = e.issue(t, a.assessor, indication(bsnClient, "wmo", "r1", "WMO-BEG", "1", "2026-06-01", "2026-06-03"))
		_ = tok
		r := e.do(t, "GET", "/api/v1/vouchers/"+wmoID, a.client, nil).want(t, http.StatusOK)
		if r.str(t, "balance") != "29.41" {
			t.Fatalf("balance %q, want 29.41", r.str(t, "balance"))
		}
		e.assign(t, a.client, a.provider, wmoID, "WMO-BEG", agbNear, "2026-06-01")
		r = e.do(t, "GET", "/api/v1/vouchers", a.client, nil).want(t, http.StatusOK)
		if vs := r.list(t, "vouchers"); len(vs) != 2 {
			t.Errorf("client has %d vouchers, want 2", len(vs))
		}
	})

	rejections := []struct {
		name, token string
		body        map[string]any
		reason      string
	}{
		{"period overlaps an accepted claim", a.provider,
			claim("c-overlap", voucherID, "VV04", "2026-03-15", "2026-04-05", "22", "200.00"), "period_overlap"},
		{"provider not assigned", a.provider2,
			claim("c-other", voucherID, "VV04", "2026-04-01", "2026-04-30", "30", "195.00"), "provider_not_assigned"},
		{"price above the provider's own tariff", a.provider,
			claim("c-price", voucherID, "VV04", "2026-04-01", "2026-04-30", "30", "203.00"), "unit_price_above_provider_tariff"},
		{"price above the maximum tariff", a.provider,
			claim("c-max", voucherID, "VV04", "2026-04-01", "2026-04-30", "30", "203.16"), "unit_price_above_tariff"},
		{"units above the indicated volume", a.provider,
			claim("c-units", voucherID, "VV04", "2026-04-01", "2026-04-30", "31", "200.00"), "units_above_volume"},
		{"period in the future", a.provider,
			claim("c-future", voucherID, "VV04", "2026-06-10", "2026-06-20", "11", "200.00"), "period_in_future"},
		{"product not indicated", a.provider,
			claim("c-product", voucherID, "WMO-BEG", "2026-04-01", "2026-04-30", "4", "68.40"), "product_not_indicated"},
		{"unknown voucher", a.provider,
			claim("c-unknown", "vdoesnotexist", "VV04", "2026-04-01", "2026-04-30", "30", "200.00"), "voucher_unknown"},
		{"insufficient balance", a.provider,
			claim("c-balance", "", "WMO-BEG", "2026-06-01", "2026-06-03", "1", "68.40"), "insufficient_balance"},
	}
	for _, tc := range rejections {
		t.Run("rejected: "+tc.name, func(t *testing.T) {
			if tc.body["voucher_id"] == "" {
				tc.body["voucher_id"] = wmoID
			}
			before := e.state(t)
			r := e.do(t, "POST", "/api/v1/claims", tc.token, tc.body).want(t, http.StatusCreated)
			if r.str(t, "status") != "rejected" || r.str(t, "reason") != tc.reason || r.str(t, "amount") != "0.00" {
				t.Errorf("decision %s, want rejected %s with amount 0.00", r.raw, tc.reason)
			}
			// The decision is recorded (the store file changes) but no money moves.
			after := e.state(t)
			if moneyLines(before) != moneyLines(after) {
				t.Errorf("figures changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			// A retry of a rejected claim replays the rejection.
			again := e.do(t, "POST", "/api/v1/claims", tc.token, tc.body).want(t, http.StatusOK)
			if again.header.Get("Idempotent-Replayed") != "true" || string(again.raw) != string(r.raw) {
				t.Errorf("retry: %s (replayed %q), want %s", again.raw, again.header.Get("Idempotent-Replayed"), r.raw)
			}
		})
	}

	t.Run("figures after the rejections", func(t *testing.T) {
		r := e.do(t, "GET", "/api/v1/regions/r1/budget", a.funder, nil).want(t, http.StatusOK)
		if r.str(t, "settled") != "6200.00" || r.str(t, "remaining") != "993800.00" {
			t.Errorf("figures %s", r.raw)
		}
		r = e.do(t, "GET", "/api/v1/vouchers/"+wmoID, a.client, nil).want(t, http.StatusOK)
		if r.str(t, "balance") != "29.41" {
			t.Errorf("small voucher balance %q", r.str(t, "balance"))
		}
	})

	t.Run("a second accepted claim adds up exactly", func(t *testing.T) {
		// 29.5 days at 199.99: 5899.705 rounds half-up to 5899.71.
		r := e.do(t, "POST", "/api/v1/claims", a.provider,
			claim("c-2026-04", voucherID, "VV04", "2026-04-01", "2026-04-30", "29.5", "199.99")).want(t, http.StatusCreated)
		if r.str(t, "status") != "accepted" || r.str(t, "amount") != "5899.71" {
			t.Fatalf("decision %s", r.raw)
		}
		r = e.do(t, "GET", "/api/v1/regions/r1/budget", a.funder, nil).want(t, http.StatusOK)
		if r.str(t, "settled") != "12099.71" || r.str(t, "remaining") != "987900.29" {
			t.Errorf("figures %s, want settled 12099.71 remaining 987900.29", r.raw)
		}
		r = e.do(t, "GET", "/api/v1/vouchers/"+voucherID, a.client, nil).want(t, http.StatusOK)
		if r.str(t, "balance") != "62050.04" {
			t.Errorf("balance %q, want 62050.04", r.str(t, "balance"))
		}
		r = e.do(t, "POST", "/api/v1/vouchers/verify", a.funder, map[string]string{"token": voucherToken}).want(t, http.StatusOK)
		if r.str(t, "balance") != "62050.04" {
			t.Errorf("verified balance %q, want 62050.04", r.str(t, "balance"))
		}
	})

	t.Run("nothing in the logs carries the BSN", func(t *testing.T) {
		if strings.Contains(e.logs.String(), bsnClient) {
			t.Error("the logs contain the BSN")
		}
	})
}

// moneyLines keeps the lines of a state dump that are about money.
func moneyLines(state string) string {
	var out []string
	for _, l := range strings.Split(state, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "region ") || strings.HasPrefix(l, "voucher ") || strings.HasPrefix(l, "line ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
