package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/web"
)

// withField returns a copy of body with one field set (or removed when v is nil).
func withField(body map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(body)+1)
	for key, val := range body {
		out[key] = val
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAPI_Errors checks that bad input is a 400 problem with a stable code and
// changes nothing, and that unknown routes and bodies over the limit are
// problems too.
func TestAPI_Errors(t *testing.T) {
	e := newAPIEnv(t)
	a := e.actors(t)
	national := e.token(t, regie.RoleAssessor, "assessor-nl", regie.AllRegions)

	voucherID, _ := e.issue(t, a.assessor, indication(bsnClient, "wlz", "r1", "VV04", "7", "2026-01-01", "2026-12-31"))
	e.assign(t, a.client, a.provider, voucherID, "VV04", agbNear, "2026-01-01")

	type badCase struct {
		name        string
		contentType string // application/json unless set
		body        string
		code        string
	}
	run := func(t *testing.T, method, path, token string, cases []badCase, status int, after func(t *testing.T)) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := e.state(t)
				ct := tc.contentType
				if ct == "" {
					ct = "application/json"
				} else if ct == "none" {
					ct = ""
				}
				r := e.doRaw(t, method, path, token, ct, []byte(tc.body)).wantProblem(t, status, tc.code)
				if strings.Contains(string(r.raw), bsnBad) || strings.Contains(string(r.raw), bsnClient) {
					t.Errorf("the problem repeats a BSN: %s", r.raw)
				}
				e.unchanged(t, before)
				if after != nil {
					after(t)
				}
			})
		}
	}

	t.Run("indications", func(t *testing.T) {
		good := indication(bsnClient, "wlz", "r1", "VV04", "7", "2026-01-01", "2026-12-31")
		goodJSON := mustJSON(t, good)
		line := func(product, perWeek any) []map[string]any {
			return []map[string]any{{"product": product, "units_per_week": perWeek}}
		}
		cases := []badCase{
			{"malformed JSON", "", `{"bsn":`, "json_malformed"},
			{"not JSON at all", "", `bsn=111222333`, "json_malformed"},
			{"empty body", "", ``, "json_malformed"},
			{"unknown field", "", mustJSON(t, withField(good, "name", "J. Jansen")), "json_unknown_field"},
			{"trailing object", "", goodJSON + `{}`, "json_malformed"},
			{"trailing garbage", "", goodJSON + ` x`, "json_malformed"},
			{"text/plain", "text/plain", goodJSON, "content_type_unsupported"},
			{"no content type", "none", goodJSON, "content_type_unsupported"},
			{"form content type", "application/x-www-form-urlencoded", goodJSON, "content_type_unsupported"},
			{"JSON array", "", `[` + goodJSON + `]`, "json_type"},
			{"law of the wrong type", "", mustJSON(t, withField(good, "law", 5)), "json_type"},
			{"impossible date", "", mustJSON(t, withField(good, "valid_to", "2026-02-30")), "date_malformed"},
			{"date as a number", "", mustJSON(t, withField(good, "valid_from", 20260101)), "date_malformed"},
			{"date in another format", "", mustJSON(t, withField(good, "valid_from", "01-01-2026")), "date_malformed"},
			{"units with three decimals", "", mustJSON(t, withField(good, "lines", line("VV04", "6.125"))), "units_precision"},
			{"units as a JSON number", "", mustJSON(t, withField(good, "lines", line("VV04", 7))), "units_malformed"},
			{"more days a week than a week has", "", mustJSON(t, withField(good, "lines", line("VV04", "8"))), "units_invalid"},
			{"no lines", "", mustJSON(t, withField(good, "lines", []any{})), "lines_invalid"},
			{"unknown product", "", mustJSON(t, withField(good, "lines", line("XX99", "7"))), "product_unknown"},
			{"product of another law", "", mustJSON(t, withField(good, "law", "wmo")), "product_law_mismatch"},
			{"unknown law", "", mustJSON(t, withField(good, "law", "zvw")), "law_invalid"},
			{"valid_to before valid_from", "", mustJSON(t, withField(good, "valid_to", "2025-12-31")), "validity_invalid"},
			{"BSN failing the 11-proof", "", mustJSON(t, withField(good, "bsn", bsnBad)), "bsn_invalid"},
			{"BSN of eight digits", "", mustJSON(t, withField(good, "bsn", "11122233")), "bsn_invalid"},
			{"BSN with a letter", "", mustJSON(t, withField(good, "bsn", "11122233x")), "bsn_invalid"},
			{"BSN of zeros", "", mustJSON(t, withField(good, "bsn", "000000000")), "bsn_invalid"},
			{"no BSN", "", mustJSON(t, withField(good, "bsn", nil)), "bsn_invalid"},
			{"BSN as a JSON number", "", mustJSON(t, withField(good, "bsn", 111222333)), "json_type"},
			{"BSN failing the 11-proof as a JSON number", "", mustJSON(t, withField(good, "bsn", 123456789)), "json_type"},
		}
		run(t, "POST", "/api/v1/indications", a.assessor, cases, http.StatusBadRequest, nil)

		t.Run("invalid BSN: the problem names the field, not the number", func(t *testing.T) {
			r := e.do(t, "POST", "/api/v1/indications", a.assessor, withField(good, "bsn", bsnBad)).wantProblem(t, http.StatusBadRequest, "bsn_invalid")
			if detail, _ := r.body["detail"].(string); detail == "" || strings.Contains(detail, bsnBad) {
				t.Errorf("detail %q", detail)
			}
			if r.body["field"] != "bsn" {
				t.Errorf("field %v, want bsn", r.body["field"])
			}
			if strings.Contains(e.logs.String(), bsnBad) {
				t.Error("the logs contain the refused BSN")
			}
		})
		t.Run("unknown region, national assessor", func(t *testing.T) {
			before := e.state(t)
			e.do(t, "POST", "/api/v1/indications", national, withField(good, "region", "r9")).wantProblem(t, http.StatusBadRequest, "region_unknown")
			e.unchanged(t, before)
		})
		t.Run("a charset parameter is fine", func(t *testing.T) {
			e.doRaw(t, "POST", "/api/v1/indications", a.assessor, "application/json; charset=utf-8", []byte(goodJSON)).want(t, http.StatusCreated)
		})
	})

	t.Run("claims", func(t *testing.T) {
		good := claim("e-1", voucherID, "VV04", "2026-03-01", "2026-03-31", "31", "200.00")
		goodJSON := mustJSON(t, good)
		cases := []badCase{
			{"malformed JSON", "", `{"claim_id":"e-1",`, "json_malformed"},
			{"unknown field", "", mustJSON(t, withField(good, "note", "x")), "json_unknown_field"},
			{"naming a provider in the body", "", mustJSON(t, withField(good, "provider_agb", agbFar)), "json_unknown_field"},
			{"trailing data", "", goodJSON + goodJSON, "json_malformed"},
			{"text/plain", "text/plain", goodJSON, "content_type_unsupported"},
			{"no content type", "none", goodJSON, "content_type_unsupported"},
			{"impossible date", "", mustJSON(t, withField(good, "from", "2026-02-30")), "date_malformed"},
			{"amount with three decimals", "", mustJSON(t, withField(good, "unit_price", "10.123")), "amount_precision"},
			{"amount with trailing zero decimals", "", mustJSON(t, withField(good, "unit_price", "200.000")), "amount_precision"},
			{"amount as a JSON number", "", mustJSON(t, withField(good, "unit_price", 200.00)), "amount_malformed"},
			{"amount as a JSON number with decimals", "", `{"claim_id":"e-1","voucher_id":"` + voucherID + `","product":"VV04","from":"2026-03-01","to":"2026-03-31","units":"31","unit_price":200.50}`, "amount_malformed"},
			{"amount not a number", "", mustJSON(t, withField(good, "unit_price", "twee")), "amount_malformed"},
			{"units with three decimals", "", mustJSON(t, withField(good, "units", "1.125")), "units_precision"},
			{"units as a JSON number", "", mustJSON(t, withField(good, "units", 31)), "units_malformed"},
			{"negative units", "", mustJSON(t, withField(good, "units", "-1")), "units_range"},
			{"zero units", "", mustJSON(t, withField(good, "units", "0")), "units_invalid"},
			{"zero price", "", mustJSON(t, withField(good, "unit_price", "0.00")), "unit_price_invalid"},
			{"negative price", "", mustJSON(t, withField(good, "unit_price", "-200.00")), "unit_price_invalid"},
			{"to before from", "", mustJSON(t, withField(good, "to", "2026-02-28")), "period_invalid"},
			{"period over 366 days", "", mustJSON(t, withField(withField(good, "from", "2025-01-01"), "to", "2026-01-03")), "period_invalid"},
			{"no claim id", "", mustJSON(t, withField(good, "claim_id", nil)), "claim_id_invalid"},
			{"claim id too long", "", mustJSON(t, withField(good, "claim_id", strings.Repeat("x", 65))), "claim_id_invalid"},
			{"no voucher", "", mustJSON(t, withField(good, "voucher_id", nil)), "field_required"},
			{"no period", "", mustJSON(t, withField(good, "to", nil)), "field_required"},
		}
		notRecorded := func(t *testing.T) {
			e.do(t, "GET", "/api/v1/claims/e-1", a.provider, nil).wantProblem(t, http.StatusNotFound, "claim_not_found")
		}
		run(t, "POST", "/api/v1/claims", a.provider, cases, http.StatusBadRequest, notRecorded)

		t.Run("budget and balance untouched", func(t *testing.T) {
			r := e.do(t, "GET", "/api/v1/regions/r1/budget", a.funder, nil).want(t, http.StatusOK)
			if r.str(t, "settled") != "0.00" || r.str(t, "remaining") != budgetR1 {
				t.Errorf("figures %s", r.raw)
			}
			r = e.do(t, "GET", "/api/v1/vouchers/"+voucherID, a.client, nil).want(t, http.StatusOK)
			if r.str(t, "balance") != "74149.75" {
				t.Errorf("balance %q", r.str(t, "balance"))
			}
		})
		t.Run("the good claim is still accepted afterwards", func(t *testing.T) {
			r := e.do(t, "POST", "/api/v1/claims", a.provider, good).want(t, http.StatusCreated)
			if r.str(t, "status") != "accepted" || r.str(t, "amount") != "6200.00" {
				t.Errorf("decision %s", r.raw)
			}
		})
	})

	t.Run("choices", func(t *testing.T) {
		wmoID, _ := e.issue(t, a.assessor, indication(bsnClient, "wmo", "r1", "WMO-BEG", "4", "2026-01-01", "2026-12-31"))
		good := map[string]any{"product": "WMO-BEG", "provider_agb": agbNear, "from": "2026-07-01"}
		cases := []badCase{
			{"malformed JSON", "", `{"product":`, "json_malformed"},
			{"unknown field", "", mustJSON(t, withField(good, "to", "2026-08-01")), "json_unknown_field"},
			{"impossible date", "", mustJSON(t, withField(good, "from", "2026-06-31")), "date_malformed"},
			{"from before the validity", "", mustJSON(t, withField(good, "from", "2025-12-31")), "from_invalid"},
			{"product not on the voucher", "", mustJSON(t, withField(good, "product", "VV04")), "product_not_indicated"},
			{"provider not qualified", "", mustJSON(t, withField(good, "provider_agb", agbUnqualified)), "provider_not_qualified"},
			{"provider of another region", "", mustJSON(t, withField(good, "provider_agb", agbOtherRegion)), "provider_not_qualified"},
			{"provider without the product", "", mustJSON(t, withField(good, "provider_agb", agbFar)), "product_not_offered"},
			{"text/plain", "text/plain", mustJSON(t, good), "content_type_unsupported"},
		}
		run(t, "POST", "/api/v1/vouchers/"+wmoID+"/choices", a.client, cases, http.StatusBadRequest, nil)
		run(t, "POST", "/api/v1/vouchers/"+wmoID+"/choices", a.client, []badCase{
			{"unknown provider", "", mustJSON(t, withField(good, "provider_agb", "99999999")), "provider_not_found"},
		}, http.StatusNotFound, nil)
		run(t, "POST", "/api/v1/vouchers/vnope/choices", a.client, []badCase{
			{"unknown voucher", "", mustJSON(t, good), "voucher_not_found"},
		}, http.StatusNotFound, nil)
		t.Run("a second active choice for the product is a conflict", func(t *testing.T) {
			e.do(t, "POST", "/api/v1/vouchers/"+wmoID+"/choices", a.client, good).want(t, http.StatusCreated)
			before := e.state(t)
			e.do(t, "POST", "/api/v1/vouchers/"+wmoID+"/choices", a.client, withField(good, "provider_agb", agbNoVV04)).wantProblem(t, http.StatusConflict, "choice_active")
			e.unchanged(t, before)
		})
		t.Run("a decline needs a reason", func(t *testing.T) {
			r := e.do(t, "GET", "/api/v1/choices", a.provider, nil).want(t, http.StatusOK)
			var id string
			for _, c := range r.list(t, "choices") {
				if c["voucher_id"] == wmoID {
					id, _ = c["id"].(string)
				}
			}
			if id == "" {
				t.Fatalf("no choice on %s: %s", wmoID, r.raw)
			}
			run(t, "POST", "/api/v1/choices/"+id+"/decline", a.provider, []badCase{
				{"blank reason", "", `{"reason":"   "}`, "reason_required"},
				{"no body", "", ``, "json_malformed"},
			}, http.StatusBadRequest, nil)
		})
	})

	t.Run("search", func(t *testing.T) {
		base := "/api/v1/vouchers/" + voucherID + "/providers?"
		for _, tc := range []struct{ name, query, code string }{
			{"no product", "lat=52.37&lon=4.89", "field_required"},
			{"no lat", "product=VV04&lon=4.89", "field_required"},
			{"lat not a number", "product=VV04&lat=noord&lon=4.89", "search_invalid"},
			{"lat out of range", "product=VV04&lat=91&lon=4.89", "search_invalid"},
			{"radius too big", "product=VV04&lat=52.37&lon=4.89&radius_km=501", "search_invalid"},
			{"limit zero", "product=VV04&lat=52.37&lon=4.89&limit=0", "search_invalid"},
			{"limit too big", "product=VV04&lat=52.37&lon=4.89&limit=101", "search_invalid"},
			{"product not on the voucher", "product=WMO-BEG&lat=52.37&lon=4.89", "product_not_indicated"},
			{"lat NaN", "product=VV04&lat=NaN&lon=4.89", "search_invalid"},
			{"lon NaN", "product=VV04&lat=52.37&lon=nan", "search_invalid"},
			{"lat infinite", "product=VV04&lat=Inf&lon=4.89", "search_invalid"},
			// From Maastricht, about 190 km from every provider.
			{"radius NaN", "product=VV04&lat=50.85&lon=5.69&radius_km=NaN", "search_invalid"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.do(t, "GET", base+tc.query, a.client, nil).wantProblem(t, http.StatusBadRequest, tc.code)
			})
		}
	})

	t.Run("not found", func(t *testing.T) {
		for _, tc := range []struct {
			name, method, path, token, code string
			status                          int
		}{
			{"unknown route", "GET", "/nope", "", "route_not_found", 404},
			{"unknown API route", "GET", "/api/v1/nope", a.client, "route_not_found", 404},
			{"unknown API sub-route", "POST", "/api/v1/vouchers/" + voucherID + "/nope", a.client, "route_not_found", 404},
			{"method not allowed", "DELETE", "/healthz", "", "method_not_allowed", 405},
			{"unknown voucher", "GET", "/api/v1/vouchers/vnope", a.funder, "voucher_not_found", 404},
			{"unknown choice", "POST", "/api/v1/choices/chnope/accept", a.provider, "choice_not_found", 404},
			{"unknown region", "GET", "/api/v1/regions/r9/budget", e.token(t, regie.RoleFunder, "f-nl", regie.AllRegions), "region_not_found", 404},
			{"unknown claim", "GET", "/api/v1/claims/nope", a.provider, "claim_not_found", 404},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.state(t)
				e.do(t, tc.method, tc.path, tc.token, nil).wantProblem(t, tc.status, tc.code)
				e.unchanged(t, before)
			})
		}
	})

	t.Run("body over the limit", func(t *testing.T) {
		small := newAPIEnv(t, func(c *web.Config) { c.BodyLimit = 1024 })
		assessor := small.token(t, regie.RoleAssessor, "assessor-r1", "r1")
		body := indication(bsnClient, "wlz", "r1", "VV04", "7", "2026-01-01", "2026-12-31")
		fits := mustJSON(t, body)
		if len(fits) > 1024 {
			t.Fatalf("the good body is %d bytes", len(fits))
		}
		// Pad with spaces inside the object: still valid JSON, over the limit.
		tooBig := fits[:len(fits)-1] + strings.Repeat(" ", 2048) + "}"
		// app.Test cannot show this answer (fasthttp's ServeConn returns the
		// error after writing it), so this case goes over a real listener.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- small.srv.App().Listener(ln) }()
		t.Cleanup(func() {
			if err := small.srv.Shutdown(context.Background()); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			<-done
		})
		before := small.state(t)
		req, err := http.NewRequest("POST", "http://"+ln.Addr().String()+"/api/v1/indications", strings.NewReader(tooBig))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+assessor)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST over the limit: %v", err)
		}
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		r := apiResp{status: res.StatusCode, header: res.Header, raw: raw}
		_ = json.Unmarshal(raw, &r.body)
		r.wantProblem(t, http.StatusRequestEntityTooLarge, "body_too_large")
		small.unchanged(t, before)
		small.doRaw(t, "POST", "/api/v1/indications", assessor, "application/json", []byte(fits)).want(t, http.StatusCreated)
	})
}
