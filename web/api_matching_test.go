package web_test

// API tests of provider onboarding and qualification, search with the new
// filters, the waiting list, lapsing choices and the history of choices.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/web"
)

// movableClock is a clock a test may set while the server reads it.
type movableClock struct{ ns atomic.Int64 }

func (c *movableClock) now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *movableClock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *movableClock) add(d time.Duration) { c.ns.Add(int64(d)) }

// newMatchingEnv is the shared API environment with a search index, wired as
// cmd/regie wires it, and a clock the test can move.
func newMatchingEnv(t *testing.T) (*apiEnv, *movableClock) {
	t.Helper()
	clock := &movableClock{}
	clock.set(apiNow)
	e := newAPIEnv(t, func(cfg *web.Config) {
		x, err := matching.NewIndex(context.Background(), cfg.Matching.Store)
		if err != nil {
			t.Fatalf("NewIndex: %v", err)
		}
		cfg.Matching.Index = x
		cfg.Matching.Now, cfg.Vouchers.Now, cfg.Settlement.Now, cfg.Now = clock.now, clock.now, clock.now, clock.now
	})
	return e, clock
}

// Providers registered by these tests, all near the Dam in Amsterdam.
const (
	agbNew    = "66666666"
	agbNew2   = "77777777"
	agbExpire = "88888888"
)

// providerBody is a valid registration: a team of 4 offering WMO-BEG at 60.00
// in r1.
func providerBody(agb string) map[string]any {
	return map[string]any{
		"agb": agb, "kvk": "7" + agb[1:], "name": "Zorg " + agb,
		"description": "Begeleiding aan huis door een klein team.",
		"locations":   []map[string]any{{"name": "Kantoor", "address": "Damrak 70", "postcode": "1012LM", "city": "Amsterdam", "lat": 52.3760, "lon": 4.8970}},
		"offers":      []map[string]any{{"product": "WMO-BEG", "tariff": "60.00"}},
		"regions":     []string{"r1"},
		"languages":   []string{"nl", "tr"}, "expertise": []string{"ggz"}, "identity": []string{"islamitisch"},
		"settings": []string{"thuis"}, "team_size": 4, "professionals": []string{"Ayşe", "Mehmet"},
		"open_places": 0, "waiting_weeks": 6,
	}
}

// qualifyAPI submits evidence valid through until for every criterion r1
// asks of the provider and has the funder approve each; it returns the ids.
func (e *apiEnv) qualifyAPI(t *testing.T, provider, funder, agb, until string) []string {
	t.Helper()
	st := e.do(t, "GET", "/api/v1/providers/"+agb+"/status", provider, nil).want(t, http.StatusOK)
	var ids []string
	for _, c := range lookup(t, st.list(t, "regions")[0], "missing").([]any) {
		r := e.do(t, "POST", "/api/v1/providers/"+agb+"/evidence", provider,
			map[string]any{"region": "r1", "criterion": c, "reference": fmt.Sprintf("doc-%s", c), "valid_until": until}).want(t, http.StatusCreated)
		id := r.str(t, "id")
		e.do(t, "POST", "/api/v1/providers/"+agb+"/evidence/"+id+"/approve", funder, nil).want(t, http.StatusOK)
		ids = append(ids, id)
	}
	return ids
}

func TestAPI_ProviderOnboarding(t *testing.T) {
	e, _ := newMatchingEnv(t)
	a := e.actors(t)
	self := e.token(t, regie.RoleProvider, agbNew)
	base := "/api/v1/providers/" + agbNew

	t.Run("vocabulary", func(t *testing.T) {
		r := e.do(t, "GET", "/api/v1/vocabulary", a.client, nil).want(t, http.StatusOK)
		for _, k := range []string{"criteria", "expertise", "identity", "settings"} {
			if len(r.list(t, k)) == 0 {
				t.Errorf("vocabulary %s is empty: %s", k, r.raw)
			}
		}
	})

	t.Run("register", func(t *testing.T) {
		r := e.do(t, "POST", "/api/v1/providers", self, providerBody(agbNew)).want(t, http.StatusCreated)
		if loc := r.header.Get("Location"); loc != base {
			t.Errorf("Location %q", loc)
		}
		if r.str(t, "agb") != agbNew || r.body["qualified"] != false || r.body["version"] != float64(1) ||
			lookup(t, r.body, "offers").([]any)[0].(map[string]any)["tariff"] != "60.00" {
			t.Errorf("registered %s", r.raw)
		}
		if pc := r.list(t, "locations")[0]["postcode"]; pc != "1012 LM" {
			t.Errorf("postcode %v", pc)
		}
		e.do(t, "POST", "/api/v1/providers", self, providerBody(agbNew)).wantProblem(t, http.StatusConflict, "provider_exists")
	})

	t.Run("bad registrations change nothing", func(t *testing.T) {
		other := e.token(t, regie.RoleProvider, agbNew2)
		good := providerBody(agbNew2)
		set := func(k string, v any) string { return mustJSON(t, withField(good, k, v)) }
		location := func(k string, v any) string {
			l := map[string]any{"city": "Amsterdam", "lat": 52.376, "lon": 4.897}
			l[k] = v
			return set("locations", []any{l})
		}
		offer := func(product, tariff any) string {
			return set("offers", []any{map[string]any{"product": product, "tariff": tariff}})
		}
		for _, tc := range []struct {
			name, body, code string
		}{
			{"not json", "{", "json_malformed"},
			{"qualifies itself", set("qualified", true), "json_unknown_field"},
			{"sets its own periods", set("qualifications", []any{}), "json_unknown_field"},
			{"team size as text", set("team_size", "vier"), "json_type"},
			{"tariff as a number", offer("WMO-BEG", 60), "amount_malformed"},
			{"tariff with three decimals", offer("WMO-BEG", "60.001"), "amount_precision"},
			{"agb missing", set("agb", nil), "agb_invalid"},
			{"kvk of letters", set("kvk", "KVK12345"), "kvk_invalid"},
			{"no name", set("name", ""), "name_invalid"},
			{"description of 2001 characters", set("description", strings.Repeat("a", 2001)), "description_invalid"},
			{"no locations", set("locations", []any{}), "location_invalid"},
			{"location in the sea", location("lat", 56.0), "location_invalid"},
			{"postcode", location("postcode", "ABCD 12"), "location_invalid"},
			{"tariff above the maximum", offer("WMO-BEG", "68.41"), "tariff_above_maximum"},
			{"tariff zero", offer("WMO-BEG", "0.00"), "offer_invalid"},
			{"unknown product", offer("WMO-XX", "10.00"), "product_unknown"},
			{"no regions", set("regions", []string{}), "regions_invalid"},
			{"unknown region", set("regions", []string{"r9"}), "region_unknown"},
			{"language", set("languages", []string{"turks"}), "language_invalid"},
			{"expertise as free text", set("expertise", []string{"van alles"}), "expertise_unknown"},
			{"identity as free text", set("identity", []string{"warm"}), "identity_unknown"},
			{"setting", set("settings", []string{"ziekenhuis"}), "setting_unknown"},
			{"team of none", set("team_size", 0), "team_size_invalid"},
			{"professional", set("professionals", []string{"<script>"}), "professional_invalid"},
			{"negative places", set("open_places", -2), "capacity_invalid"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.state(t)
				e.doRaw(t, "POST", "/api/v1/providers", other, "application/json", []byte(tc.body)).wantProblem(t, http.StatusBadRequest, tc.code)
				e.unchanged(t, before)
			})
		}
		e.do(t, "GET", "/api/v1/providers/"+agbNew2, a.client, nil).wantProblem(t, http.StatusNotFound, "provider_not_found")
	})

	t.Run("who may register and change a provider", func(t *testing.T) {
		for _, tc := range []struct {
			name, method, path, token string
			body                      any
			status                    int
			code                      string
		}{
			{"no token", "POST", "/api/v1/providers", "", providerBody(agbNew2), http.StatusUnauthorized, "token_missing"},
			{"client registers", "POST", "/api/v1/providers", a.client, providerBody(agbNew2), http.StatusForbidden, "role_forbidden"},
			{"funder registers", "POST", "/api/v1/providers", a.funder, providerBody(agbNew2), http.StatusForbidden, "role_forbidden"},
			{"a provider registers another", "POST", "/api/v1/providers", self, providerBody(agbNew2), http.StatusForbidden, "scope_forbidden"},
			{"another provider updates", "PUT", base, a.provider, providerBody(agbNew), http.StatusForbidden, "scope_forbidden"},
			{"funder updates", "PUT", base, a.funder, providerBody(agbNew), http.StatusForbidden, "role_forbidden"},
			{"another provider sets availability", "PUT", base + "/availability", a.provider, map[string]int{"open_places": 1, "waiting_weeks": 0}, http.StatusForbidden, "scope_forbidden"},
			{"another provider adds evidence", "POST", base + "/evidence", a.provider, map[string]any{"region": "r1", "criterion": "agb", "reference": "x", "valid_until": "2027-01-01"}, http.StatusForbidden, "scope_forbidden"},
			{"client reads evidence", "GET", base + "/evidence", a.client, nil, http.StatusForbidden, "role_forbidden"},
			{"another provider reads evidence", "GET", base + "/evidence", a.provider, nil, http.StatusForbidden, "scope_forbidden"},
			{"client reads the status", "GET", base + "/status", a.client, nil, http.StatusForbidden, "role_forbidden"},
			{"funder of another region reads the status", "GET", base + "/status", a.funderR2, nil, http.StatusForbidden, "scope_forbidden"},
			{"provider sets criteria", "PUT", "/api/v1/regions/r1/criteria", self, map[string]any{"required": []string{"agb"}}, http.StatusForbidden, "role_forbidden"},
			{"funder sets another region's criteria", "PUT", "/api/v1/regions/r1/criteria", a.funderR2, map[string]any{"required": []string{"agb"}}, http.StatusForbidden, "scope_forbidden"},
			{"funder reads another region's evidence", "GET", "/api/v1/regions/r1/evidence", a.funderR2, nil, http.StatusForbidden, "scope_forbidden"},
			{"provider reads a region's evidence", "GET", "/api/v1/regions/r1/evidence", self, nil, http.StatusForbidden, "role_forbidden"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.state(t)
				e.do(t, tc.method, tc.path, tc.token, tc.body).wantProblem(t, tc.status, tc.code)
				e.unchanged(t, before)
			})
		}
	})

	t.Run("anyone signed in reads the profile", func(t *testing.T) {
		for _, token := range []string{a.client, a.funderR2, a.provider, a.auditor} {
			r := e.do(t, "GET", base, token, nil).want(t, http.StatusOK)
			if r.str(t, "name") != "Zorg "+agbNew {
				t.Errorf("profile %s", r.raw)
			}
		}
	})

	t.Run("update the profile", func(t *testing.T) {
		body := providerBody(agbNew)
		body["name"], body["waiting_weeks"] = "Zorg aan de Dam", 8
		delete(body, "agb")
		r := e.do(t, "PUT", base, self, body).want(t, http.StatusOK)
		if r.str(t, "name") != "Zorg aan de Dam" || r.body["waiting_weeks"] != float64(8) || r.body["version"] != float64(2) {
			t.Errorf("updated %s", r.raw)
		}
		for _, tc := range []struct {
			name  string
			field string
			value any
			code  string
		}{
			{"another agb", "agb", agbNew2, "agb_mismatch"},
			{"another kvk", "kvk", "12121212", "kvk_immutable"},
			{"bad offer", "offers", []any{map[string]any{"product": "WMO-BEG", "tariff": "99.00"}}, "tariff_above_maximum"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.state(t)
				e.do(t, "PUT", base, self, withField(body, tc.field, tc.value)).wantProblem(t, http.StatusBadRequest, tc.code)
				e.unchanged(t, before)
			})
		}
		e.do(t, "PUT", "/api/v1/providers/"+agbNew2, e.token(t, regie.RoleProvider, agbNew2), providerBody(agbNew2)).wantProblem(t, http.StatusNotFound, "provider_not_found")
	})

	t.Run("availability", func(t *testing.T) {
		r := e.do(t, "PUT", base+"/availability", self, map[string]int{"open_places": 0, "waiting_weeks": 4}).want(t, http.StatusOK)
		if r.body["waiting_weeks"] != float64(4) {
			t.Errorf("availability %s", r.raw)
		}
		for _, tc := range []struct {
			name string
			body any
			code string
		}{
			{"open places missing", map[string]int{"waiting_weeks": 1}, "field_required"},
			{"waiting weeks missing", map[string]int{"open_places": 1}, "field_required"},
			{"negative", map[string]int{"open_places": -1, "waiting_weeks": 1}, "capacity_invalid"},
			{"unknown field", map[string]int{"open_places": 1, "waiting_weeks": 1, "beds": 3}, "json_unknown_field"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.state(t)
				e.do(t, "PUT", base+"/availability", self, tc.body).wantProblem(t, http.StatusBadRequest, tc.code)
				e.unchanged(t, before)
			})
		}
	})

	t.Run("criteria", func(t *testing.T) {
		r := e.do(t, "GET", "/api/v1/regions/r1/criteria", self, nil).want(t, http.StatusOK)
		if r.body["default"] != true || len(lookup(t, r.body, "required").([]any)) != 8 {
			t.Errorf("default criteria %s", r.raw)
		}
		e.do(t, "GET", "/api/v1/regions/r9/criteria", self, nil).wantProblem(t, http.StatusNotFound, "region_not_found")
		for _, tc := range []struct {
			name string
			body any
			code string
		}{
			{"nothing required", map[string]any{"required": []string{}}, "criteria_invalid"},
			{"unknown criterion", map[string]any{"required": []string{"agb", "iso9001"}}, "criterion_unknown"},
			{"small set not part of the full", map[string]any{"required": []string{"agb"}, "small_scale": []string{"kvk"}, "small_scale_max_team": 5}, "criteria_invalid"},
			{"warn days", map[string]any{"required": []string{"agb"}, "warn_days": -1}, "criteria_invalid"},
			{"size as text", map[string]any{"required": []string{"agb"}, "small_scale_max_team": "vijf"}, "json_type"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.state(t)
				e.do(t, "PUT", "/api/v1/regions/r1/criteria", a.funder, tc.body).wantProblem(t, http.StatusBadRequest, tc.code)
				e.unchanged(t, before)
			})
		}
		e.do(t, "PUT", "/api/v1/regions/r9/criteria", a.funderAll, map[string]any{"required": []string{"agb"}}).wantProblem(t, http.StatusNotFound, "region_not_found")
		r = e.do(t, "PUT", "/api/v1/regions/r1/criteria", a.funder, map[string]any{
			"required":    []string{"wtza", "vog", "liability", "complaints", "agb", "kvk"},
			"small_scale": []string{"wtza", "vog", "agb"}, "small_scale_max_team": 5, "warn_days": 60,
		}).want(t, http.StatusOK)
		// The new provider and the four imported ones in r1.
		if r.body["reevaluated"] != float64(5) || r.body["default"] != nil || r.str(t, "updated_by") != "funder-r1" {
			t.Errorf("criteria set %s", r.raw)
		}
		// Imported providers keep their standing.
		if r := e.do(t, "GET", "/api/v1/providers/"+agbNear, a.client, nil).want(t, http.StatusOK); r.body["qualified"] != true {
			t.Errorf("an imported provider after new criteria: %s", r.raw)
		}
		st := e.do(t, "GET", base+"/status", self, nil).want(t, http.StatusOK)
		region := st.list(t, "regions")[0]
		if region["status"] != "pending" || region["small_scale"] != true || fmt.Sprint(region["missing"]) != "[wtza vog agb]" {
			t.Errorf("status %s", st.raw)
		}
	})

	var evidence []string
	t.Run("evidence", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			body any
			code string
		}{
			{"unknown criterion", map[string]any{"region": "r1", "criterion": "iso9001", "reference": "x", "valid_until": "2027-01-01"}, "criterion_unknown"},
			{"expired", map[string]any{"region": "r1", "criterion": "agb", "reference": "x", "valid_until": "2026-06-14"}, "valid_until_invalid"},
			{"no validity", map[string]any{"region": "r1", "criterion": "agb", "reference": "x"}, "valid_until_invalid"},
			{"bad date", map[string]any{"region": "r1", "criterion": "agb", "reference": "x", "valid_until": "2027-02-30"}, "date_malformed"},
			{"no reference", map[string]any{"region": "r1", "criterion": "agb", "reference": "", "valid_until": "2027-01-01"}, "reference_invalid"},
			{"region not listed", map[string]any{"region": "r2", "criterion": "agb", "reference": "x", "valid_until": "2027-01-01"}, "region_not_listed"},
			{"a file", map[string]any{"region": "r1", "criterion": "agb", "reference": "x", "valid_until": "2027-01-01", "file": "JVBERi0="}, "json_unknown_field"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.state(t)
				e.do(t, "POST", base+"/evidence", self, tc.body).wantProblem(t, http.StatusBadRequest, tc.code)
				e.unchanged(t, before)
			})
		}
		for _, c := range []string{"wtza", "vog", "agb"} {
			r := e.do(t, "POST", base+"/evidence", self, map[string]any{"region": "r1", "criterion": c, "reference": "doc " + c, "valid_until": "2027-06-30"}).want(t, http.StatusCreated)
			if r.str(t, "status") != "submitted" || r.str(t, "valid_until") != "2027-06-30" || r.str(t, "provider_agb") != agbNew {
				t.Errorf("evidence %s", r.raw)
			}
			evidence = append(evidence, r.str(t, "id"))
		}
		r := e.do(t, "GET", "/api/v1/regions/r1/evidence", a.funder, nil).want(t, http.StatusOK)
		if len(r.list(t, "evidence")) != 3 {
			t.Errorf("the funder's work list %s", r.raw)
		}
		e.do(t, "GET", "/api/v1/regions/r1/evidence?status=open", a.funder, nil).wantProblem(t, http.StatusBadRequest, "status_invalid")
		if r := e.do(t, "GET", base+"/evidence", a.funder, nil).want(t, http.StatusOK); len(r.list(t, "evidence")) != 3 {
			t.Errorf("the funder sees %s", r.raw)
		}
		if r := e.do(t, "GET", base+"/evidence", a.funderR2, nil).want(t, http.StatusOK); len(r.list(t, "evidence")) != 0 {
			t.Errorf("the funder of r2 sees %s", r.raw)
		}
	})

	t.Run("review", func(t *testing.T) {
		path := func(i int, verb string) string { return base + "/evidence/" + evidence[i] + "/" + verb }
		for _, tc := range []struct {
			name, path, token string
			body              any
			status            int
			code              string
		}{
			{"funder of another region", path(0, "approve"), a.funderR2, nil, http.StatusForbidden, "scope_forbidden"},
			{"the provider itself", path(0, "approve"), self, nil, http.StatusForbidden, "role_forbidden"},
			{"reject without reason", path(0, "reject"), a.funder, map[string]string{"reason": " "}, http.StatusBadRequest, "reason_required"},
			{"reject without body", path(0, "reject"), a.funder, nil, http.StatusBadRequest, "content_type_unsupported"},
			{"unknown evidence", base + "/evidence/evnope/approve", a.funder, nil, http.StatusNotFound, "evidence_not_found"},
			{"unknown provider", "/api/v1/providers/12121212/evidence/" + evidence[0] + "/approve", a.funder, nil, http.StatusNotFound, "provider_not_found"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.state(t)
				e.do(t, "POST", tc.path, tc.token, tc.body).wantProblem(t, tc.status, tc.code)
				e.unchanged(t, before)
			})
		}
		for i := range evidence {
			r := e.do(t, "POST", path(i, "approve"), a.funder, nil).want(t, http.StatusOK)
			if r.str(t, "status") != "approved" || r.str(t, "reviewed_by") != "funder-r1" {
				t.Errorf("approved %s", r.raw)
			}
		}
		e.do(t, "POST", path(0, "approve"), a.funder, nil).wantProblem(t, http.StatusConflict, "evidence_reviewed")
		st := e.do(t, "GET", base+"/status", self, nil).want(t, http.StatusOK)
		region := st.list(t, "regions")[0]
		if st.body["searchable"] != true || region["status"] != "qualified" || region["qualified_until"] != "2027-06-30" {
			t.Errorf("status after approval %s", st.raw)
		}
		if r := e.do(t, "GET", base+"/status", a.funder, nil).want(t, http.StatusOK); len(r.list(t, "regions")) != 1 {
			t.Errorf("the funder's view %s", r.raw)
		}
		r := e.do(t, "GET", base, a.client, nil).want(t, http.StatusOK)
		if r.body["qualified"] != true {
			t.Errorf("profile after approval %s", r.raw)
		}
	})
}

func TestAPI_SearchWaitChoose(t *testing.T) {
	e, clock := newMatchingEnv(t)
	a := e.actors(t)
	full, open := e.token(t, regie.RoleProvider, agbNew), e.token(t, regie.RoleProvider, agbNew2)
	e.do(t, "POST", "/api/v1/providers", full, providerBody(agbNew)).want(t, http.StatusCreated)
	body2 := providerBody(agbNew2)
	body2["open_places"], body2["identity"], body2["languages"] = 2, []string{"christelijk"}, []string{"nl"}
	e.do(t, "POST", "/api/v1/providers", open, body2).want(t, http.StatusCreated)
	e.qualifyAPI(t, full, a.funder, agbNew, "2027-06-30")
	e.qualifyAPI(t, open, a.funder, agbNew2, "2027-06-30")
	voucherID, _ := e.issue(t, a.assessor, indication(bsnClient, "wmo", "r1", "WMO-BEG", "4", "2026-01-01", "2026-12-31"))
	voucher2, _ := e.issue(t, a.assessor, indication(bsnClient2, "wmo", "r1", "WMO-BEG", "4", "2026-01-01", "2026-12-31"))
	search := "/api/v1/vouchers/" + voucherID + "/providers?product=WMO-BEG&lat=52.3731&lon=4.8926"

	t.Run("search with filters and pages", func(t *testing.T) {
		found := func(query string) string {
			t.Helper()
			r := e.do(t, "GET", search+query, a.client, nil).want(t, http.StatusOK)
			var out []string
			for _, p := range r.list(t, "providers") {
				out = append(out, p["provider"].(map[string]any)["agb"].(string))
			}
			return strings.Join(out, ",")
		}
		// agbNear and agbNoVV04 (imported, qualified in r1) share a spot 0.4 km away.
		if got, want := found(""), agbNear+","+agbNoVV04+","+agbNew2+","+agbNew; got != want {
			t.Errorf("all: %s, want %s", got, want)
		}
		for query, want := range map[string]string{
			"&identity=islamitisch":                 agbNew,
			"&identity=christelijk&setting=thuis":   agbNew2,
			"&available=true":                       agbNew2,
			"&language=tr&max_waiting_weeks=6":      agbNew,
			"&language=TR&max_waiting_weeks=5":      "",
			"&expertise=ggz&available=false":        agbNew2 + "," + agbNew,
			"&limit=2&offset=1":                     agbNoVV04 + "," + agbNew2,
			"&setting=kleinschalig-wonen&limit=100": "",
		} {
			if got := found(query); got != want {
				t.Errorf("%s: %s, want %s", query, got, want)
			}
		}
		r := e.do(t, "GET", search+"&limit=2&offset=1", a.client, nil).want(t, http.StatusOK)
		if r.body["has_more"] != true || r.body["offset"] != float64(1) || r.body["limit"] != float64(2) {
			t.Errorf("page %s", r.raw)
		}
		r = e.do(t, "GET", search+"&limit=2&offset=2", a.client, nil).want(t, http.StatusOK)
		if r.body["has_more"] != false {
			t.Errorf("last page %s", r.raw)
		}
		for query, code := range map[string]string{
			"&offset=-1":            "search_invalid",
			"&offset=tien":          "search_invalid",
			"&offset=1001":          "search_invalid",
			"&max_waiting_weeks=x":  "search_invalid",
			"&max_waiting_weeks=-1": "search_invalid",
			"&available=ja":         "search_invalid",
			"&identity=warm":        "search_invalid",
			"&setting=ziekenhuis":   "search_invalid",
			"&expertise=alles":      "search_invalid",
			"&language=nederlands":  "search_invalid",
		} {
			e.do(t, "GET", search+query, a.client, nil).wantProblem(t, http.StatusBadRequest, code)
		}
	})

	var entry string
	t.Run("wait for a full provider", func(t *testing.T) {
		wait := "/api/v1/vouchers/" + voucherID + "/waiting"
		for _, tc := range []struct {
			name   string
			token  string
			body   any
			status int
			code   string
		}{
			{"no urgency", a.client, map[string]any{"product": "WMO-BEG", "provider_agb": agbNew}, http.StatusBadRequest, "urgency_invalid"},
			{"unknown urgency", a.client, map[string]any{"product": "WMO-BEG", "provider_agb": agbNew, "urgency": "soon"}, http.StatusBadRequest, "urgency_invalid"},
			{"unknown field", a.client, map[string]any{"product": "WMO-BEG", "provider_agb": agbNew, "urgency": "urgent", "note": "x"}, http.StatusBadRequest, "json_unknown_field"},
			{"product not indicated", a.client, map[string]any{"product": "VV04", "provider_agb": agbNew, "urgency": "urgent"}, http.StatusBadRequest, "product_not_indicated"},
			{"unqualified provider", a.client, map[string]any{"product": "WMO-BEG", "provider_agb": agbUnqualified, "urgency": "urgent"}, http.StatusBadRequest, "provider_not_qualified"},
			{"unknown provider", a.client, map[string]any{"product": "WMO-BEG", "provider_agb": "12121212", "urgency": "urgent"}, http.StatusNotFound, "provider_not_found"},
			{"provider with places", a.client, map[string]any{"product": "WMO-BEG", "provider_agb": agbNew2, "urgency": "urgent"}, http.StatusConflict, "provider_has_places"},
			{"another client", a.client2, map[string]any{"product": "WMO-BEG", "provider_agb": agbNew, "urgency": "urgent"}, http.StatusForbidden, "scope_forbidden"},
			{"provider", full, map[string]any{"product": "WMO-BEG", "provider_agb": agbNew, "urgency": "urgent"}, http.StatusForbidden, "role_forbidden"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.state(t)
				e.do(t, "POST", wait, tc.token, tc.body).wantProblem(t, tc.status, tc.code)
				e.unchanged(t, before)
			})
		}
		r := e.do(t, "POST", wait, a.client, map[string]any{"product": "WMO-BEG", "provider_agb": agbNew, "urgency": "preference"}).want(t, http.StatusCreated)
		entry = r.str(t, "id")
		if r.str(t, "status") != "waiting" || r.body["position"] != float64(1) {
			t.Errorf("entry %s", r.raw)
		}
		e.do(t, "POST", wait, a.client, map[string]any{"product": "WMO-BEG", "provider_agb": agbNew, "urgency": "urgent"}).wantProblem(t, http.StatusConflict, "waiting_active")
		// A second client waits urgently and goes first, then withdraws.
		r = e.do(t, "POST", "/api/v1/vouchers/"+voucher2+"/waiting", a.client2, map[string]any{"product": "WMO-BEG", "provider_agb": agbNew, "urgency": "urgent"}).want(t, http.StatusCreated)
		other := r.str(t, "id")
		list := e.do(t, "GET", "/api/v1/waiting", full, nil).want(t, http.StatusOK).list(t, "waiting")
		if len(list) != 2 || list[0]["id"] != other || list[1]["id"] != entry || list[1]["position"] != float64(2) {
			t.Errorf("the provider's list %v", list)
		}
		e.do(t, "POST", "/api/v1/waiting/"+other+"/withdraw", a.client, nil).wantProblem(t, http.StatusForbidden, "scope_forbidden")
		e.do(t, "POST", "/api/v1/waiting/wlnope/withdraw", a.client2, nil).wantProblem(t, http.StatusNotFound, "waiting_not_found")
		e.do(t, "POST", "/api/v1/waiting/"+other+"/withdraw", a.client2, nil).want(t, http.StatusOK)
		e.do(t, "POST", "/api/v1/waiting/"+other+"/withdraw", a.client2, nil).wantProblem(t, http.StatusConflict, "waiting_closed")
		e.do(t, "GET", "/api/v1/waiting", a.funder, nil).wantProblem(t, http.StatusForbidden, "role_forbidden")
	})

	t.Run("a place opens: the client is notified", func(t *testing.T) {
		clock.add(time.Hour)
		e.do(t, "PUT", "/api/v1/providers/"+agbNew+"/availability", full, map[string]int{"open_places": 1, "waiting_weeks": 0}).want(t, http.StatusOK)
		list := e.do(t, "GET", "/api/v1/waiting", a.client, nil).want(t, http.StatusOK).list(t, "waiting")
		if len(list) != 1 || list[0]["status"] != "notified" || list[0]["notified_at"] != "2026-06-15T11:00:00Z" || list[0]["open_places"] != float64(1) {
			t.Errorf("the client's list %v", list)
		}
		// Found now with available=true, and chosen: off the list.
		clock.add(time.Minute)
		r := e.do(t, "GET", search+"&available=true&identity=islamitisch", a.client, nil).want(t, http.StatusOK)
		if len(r.list(t, "providers")) != 1 {
			t.Errorf("search after the place opened %s", r.raw)
		}
		e.do(t, "POST", "/api/v1/vouchers/"+voucherID+"/choices", a.client, map[string]any{"product": "WMO-BEG", "provider_agb": agbNew}).want(t, http.StatusCreated)
		list = e.do(t, "GET", "/api/v1/waiting", a.client, nil).want(t, http.StatusOK).list(t, "waiting")
		if list[0]["status"] != "chosen" {
			t.Errorf("entry after choosing %v", list[0])
		}
	})

	t.Run("an unanswered choice lapses", func(t *testing.T) {
		r := e.do(t, "POST", "/api/v1/vouchers/"+voucher2+"/choices", a.client2, map[string]any{"product": "WMO-BEG", "provider_agb": agbNew2}).want(t, http.StatusCreated)
		id := r.str(t, "id")
		if r.str(t, "answer_by") != "2026-06-22T11:01:00Z" {
			t.Errorf("answer_by %s", r.raw)
		}
		clock.add(7*24*time.Hour + time.Second)
		e.do(t, "POST", "/api/v1/choices/"+id+"/accept", open, nil).wantProblem(t, http.StatusConflict, "choice_lapsed")
		cs := e.do(t, "GET", "/api/v1/choices", a.client2, nil).want(t, http.StatusOK).list(t, "choices")
		if len(cs) != 1 || cs[0]["status"] != "lapsed" || cs[0]["decided_at"] != "2026-06-22T11:01:00Z" {
			t.Errorf("choices %v", cs)
		}
		e.do(t, "POST", "/api/v1/vouchers/"+voucher2+"/choices", a.client2, map[string]any{"product": "WMO-BEG", "provider_agb": agbNew2}).want(t, http.StatusCreated)
	})

	t.Run("history", func(t *testing.T) {
		r := e.do(t, "GET", "/api/v1/choices/history", a.client, nil).want(t, http.StatusOK)
		var got []string
		for _, ev := range r.list(t, "events") {
			got = append(got, ev["event"].(string))
		}
		// The first choice lapsed too, in the week the clock moved on.
		if want := "waiting_registered waiting_notified choice_requested waiting_chosen choice_lapsed"; strings.Join(got, " ") != want {
			t.Errorf("events %v, want %s", got, want)
		}
		if ev := r.list(t, "events")[2]; ev["provider_name"] != "Zorg "+agbNew || ev["voucher_id"] != voucherID || ev["from"] != "2026-01-01" {
			t.Errorf("choice event %v", ev)
		}
		if r := e.do(t, "GET", "/api/v1/choices/history?voucher_id="+voucher2, a.client2, nil).want(t, http.StatusOK); len(r.list(t, "events")) != 5 {
			t.Errorf("history of voucher 2 %s", r.raw)
		}
		e.do(t, "GET", "/api/v1/choices/history?voucher_id="+voucher2, a.client, nil).wantProblem(t, http.StatusForbidden, "scope_forbidden")
		e.do(t, "GET", "/api/v1/choices/history?voucher_id=vnope", a.client, nil).wantProblem(t, http.StatusNotFound, "voucher_not_found")
		e.do(t, "GET", "/api/v1/choices/history", full, nil).wantProblem(t, http.StatusForbidden, "role_forbidden")
	})
}

// TestAPI_QualificationExpiry checks that a provider whose evidence expires is
// suspended by itself: no longer found, and its claims for days after the
// expiry are rejected by the settlement rules.
func TestAPI_QualificationExpiry(t *testing.T) {
	e, clock := newMatchingEnv(t)
	a := e.actors(t)
	self := e.token(t, regie.RoleProvider, agbExpire)
	e.do(t, "POST", "/api/v1/providers", self, providerBody(agbExpire)).want(t, http.StatusCreated)
	e.qualifyAPI(t, self, a.funder, agbExpire, "2026-06-30")
	voucherID, _ := e.issue(t, a.assessor, indication(bsnClient, "wmo", "r1", "WMO-BEG", "4", "2026-01-01", "2026-12-31"))
	e.assign(t, a.client, self, voucherID, "WMO-BEG", agbExpire, "2026-06-15")

	clock.set(time.Date(2026, 7, 10, 9, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		id, from, to, status, reason string
	}{
		{"x-1", "2026-06-20", "2026-06-20", "accepted", ""},
		{"x-2", "2026-06-30", "2026-06-30", "accepted", ""},
		{"x-3", "2026-07-01", "2026-07-01", "rejected", "provider_not_qualified"},
		{"x-4", "2026-06-29", "2026-07-02", "rejected", "provider_not_qualified"},
		{"x-5", "2026-06-14", "2026-06-14", "rejected", "provider_not_assigned"}, // before the choice (and the qualification)
	} {
		r := e.do(t, "POST", "/api/v1/claims", self, claim(tc.id, voucherID, "WMO-BEG", tc.from, tc.to, "1", "60.00")).want(t, http.StatusCreated)
		if r.str(t, "status") != tc.status || (tc.reason != "" && r.str(t, "reason") != tc.reason) {
			t.Errorf("claim %s–%s: %s, want %s %s", tc.from, tc.to, r.raw, tc.status, tc.reason)
		}
	}
	r := e.do(t, "GET", "/api/v1/vouchers/"+voucherID+"/providers?product=WMO-BEG&lat=52.3731&lon=4.8926", a.client, nil).want(t, http.StatusOK)
	for _, p := range r.list(t, "providers") {
		if p["provider"].(map[string]any)["agb"] == agbExpire {
			t.Errorf("an expired provider is found: %s", r.raw)
		}
	}
	st := e.do(t, "GET", "/api/v1/providers/"+agbExpire+"/status", self, nil).want(t, http.StatusOK)
	if st.list(t, "regions")[0]["status"] != "suspended" || st.body["searchable"] != false {
		t.Errorf("status %s", st.raw)
	}
	if r := e.do(t, "GET", "/api/v1/providers/"+agbExpire, a.client, nil).want(t, http.StatusOK); r.body["qualified"] != false {
		t.Errorf("profile %s", r.raw)
	}
}
