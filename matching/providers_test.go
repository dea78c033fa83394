package matching_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
)

var (
	funderR1 = regie.Principal{Role: regie.RoleFunder, Subject: "zk-r1", Regions: []string{"r1"}}
	funderR2 = regie.Principal{Role: regie.RoleFunder, Subject: "zk-r2", Regions: []string{"r2"}}
)

func self(agb string) regie.Principal { return regie.Principal{Role: regie.RoleProvider, Subject: agb} }

// profile is a valid registration: a team of 12 in Amsterdam, 2 km north of
// home, offering H300 at 60.00 in r1.
func profile(agb string) matching.ProviderInput {
	return matching.ProviderInput{
		AGB: agb, KvK: "12345678", Name: "  Zorg " + agb + " ", Description: "Kleinschalig en dichtbij.",
		Locations: []matching.Location{{Name: "Huis", Address: "Damrak 1", Postcode: "1012lg", City: "Amsterdam", Lat: homeLat + kmNorth(2), Lon: homeLon}},
		Offers:    []matching.Offer{{Product: "H300", Tariff: 6000}},
		Regions:   []string{"r1"},
		Languages: []string{"NL", "tr", "nl"}, Expertise: []string{"Dementie"}, Identity: []string{"islamitisch"},
		Settings: []string{"thuis"}, TeamSize: 12, Professionals: []string{"Ayşe", "Jan-Willem"},
		OpenPlaces: 1, WaitingWeeks: 2,
	}
}

func (e *env) register(t *testing.T, in matching.ProviderInput) *matching.Provider {
	t.Helper()
	p, err := e.svc.Register(context.Background(), self(in.AGB), in)
	if err != nil {
		t.Fatalf("Register %s: %v", in.AGB, err)
	}
	return p
}

// qualify submits evidence valid through until for every criterion the
// region's criteria require of the provider, and has the funder approve it.
func (e *env) qualify(t *testing.T, agb, region string, funder regie.Principal, until regie.Date) []*matching.Evidence {
	t.Helper()
	ctx := context.Background()
	crit, err := e.svc.Criteria(ctx, funder, region)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.db.Provider(ctx, agb)
	if err != nil {
		t.Fatal(err)
	}
	set, _ := crit.For(p.TeamSize)
	var out []*matching.Evidence
	for _, c := range set {
		ev, err := e.svc.SubmitEvidence(ctx, self(agb), agb, matching.EvidenceInput{Region: region, Criterion: c, Reference: "ref-" + string(c), ValidUntil: until})
		if err != nil {
			t.Fatalf("SubmitEvidence %s: %v", c, err)
		}
		if ev, err = e.svc.ReviewEvidence(ctx, funder, agb, ev.ID, true, ""); err != nil {
			t.Fatalf("approve %s: %v", c, err)
		}
		out = append(out, ev)
	}
	return out
}

func wantField(t *testing.T, err error, kind regie.Kind, code, field string) {
	t.Helper()
	wantErr(t, err, kind, code)
	var appErr *regie.Error
	if errors.As(err, &appErr) && field != "" && appErr.Field != field {
		t.Errorf("%s on field %q, want %q", code, appErr.Field, field)
	}
}

func TestService_Register(t *testing.T) {
	ctx := context.Background()

	t.Run("registers, pending in every region", func(t *testing.T) {
		e := newEnv(t).withIndex(t)
		in := profile("87654321")
		in.Regions = []string{"r1", "r2"}
		p := e.register(t, in)
		if p.AGB != "87654321" || p.KvK != "12345678" || p.Name != "Zorg 87654321" || p.Version != 1 {
			t.Errorf("registered %+v", p)
		}
		if l := p.Locations[0]; l.Postcode != "1012 LG" || l.Address != "Damrak 1" {
			t.Errorf("location %+v, want the postcode normalised", l)
		}
		if !slices.Equal(p.Languages, []string{"nl", "tr"}) || !slices.Equal(p.Expertise, []string{"dementie"}) {
			t.Errorf("languages %v, expertise %v: want lower case without doubles", p.Languages, p.Expertise)
		}
		if !p.RegisteredAt.Equal(e.now.Truncate(time.Second)) || !p.UpdatedAt.Equal(p.RegisteredAt) {
			t.Errorf("times %v, %v", p.RegisteredAt, p.UpdatedAt)
		}
		if p.Qualified || len(p.Qualifications) != 2 || p.QualifiedIn("r1", regie.DateOf(e.now)) {
			t.Errorf("a new provider is qualified: %+v", p.Qualifications)
		}
		stored, err := e.db.Provider(ctx, p.AGB)
		if err != nil || stored.Name != p.Name || len(stored.Qualifications) != 2 {
			t.Errorf("stored %+v, %v", stored, err)
		}
		if e.svc.Index.Provider(p.AGB) == nil {
			t.Error("not in the index")
		}
		st, err := e.svc.Status(ctx, self(p.AGB), p.AGB)
		if err != nil || st.Searchable || len(st.Regions) != 2 || st.Regions[0].Status != matching.StandingPending || len(st.Regions[0].Missing) != 8 {
			t.Errorf("status %+v, %v", st, err)
		}
		_, err = e.svc.Register(ctx, self(p.AGB), in)
		wantErr(t, err, regie.Conflict, "provider_exists")
	})

	long := strings.Repeat("x", 121)
	cases := []struct {
		name   string
		p      regie.Principal
		change func(in *matching.ProviderInput)
		kind   regie.Kind
		code   string
		field  string
	}{
		{"client", regie.Principal{Role: regie.RoleClient, Subject: "87654321"}, nil, regie.Forbidden, "role_forbidden", ""},
		{"funder", funderR1, nil, regie.Forbidden, "role_forbidden", ""},
		{"another provider's code", self("11111111"), nil, regie.Forbidden, "scope_forbidden", ""},
		{"agb of 7 digits", self("8765432"), func(in *matching.ProviderInput) { in.AGB = "8765432" }, regie.Invalid, "agb_invalid", "agb"},
		{"agb with a letter", self("8765432x"), func(in *matching.ProviderInput) { in.AGB = "8765432x" }, regie.Invalid, "agb_invalid", "agb"},
		{"agb of zeros", self("00000000"), func(in *matching.ProviderInput) { in.AGB = "00000000" }, regie.Invalid, "agb_invalid", "agb"},
		{"kvk missing", regie.Principal{}, func(in *matching.ProviderInput) { in.KvK = "" }, regie.Invalid, "kvk_invalid", "kvk"},
		{"kvk of 9 digits", regie.Principal{}, func(in *matching.ProviderInput) { in.KvK = "123456789" }, regie.Invalid, "kvk_invalid", "kvk"},
		{"name blank", regie.Principal{}, func(in *matching.ProviderInput) { in.Name = "  " }, regie.Invalid, "name_invalid", "name"},
		{"name too long", regie.Principal{}, func(in *matching.ProviderInput) { in.Name = long }, regie.Invalid, "name_invalid", "name"},
		{"description too long", regie.Principal{}, func(in *matching.ProviderInput) { in.Description = strings.Repeat("y", 2001) }, regie.Invalid, "description_invalid", "description"},
		{"no location", regie.Principal{}, func(in *matching.ProviderInput) { in.Locations = nil }, regie.Invalid, "location_invalid", "locations"},
		{"location without city", regie.Principal{}, func(in *matching.ProviderInput) { in.Locations[0].City = "" }, regie.Invalid, "location_invalid", "locations[0].city"},
		{"location abroad", regie.Principal{}, func(in *matching.ProviderInput) { in.Locations[0].Lat, in.Locations[0].Lon = 48.85, 2.35 }, regie.Invalid, "location_invalid", "locations[0].lat"},
		{"lat and lon swapped", regie.Principal{}, func(in *matching.ProviderInput) { in.Locations[0].Lat, in.Locations[0].Lon = 4.89, 52.37 }, regie.Invalid, "location_invalid", "locations[0].lat"},
		{"bad postcode", regie.Principal{}, func(in *matching.ProviderInput) { in.Locations[0].Postcode = "0123 AB" }, regie.Invalid, "location_invalid", "locations[0].postcode"},
		{"no offers", regie.Principal{}, func(in *matching.ProviderInput) { in.Offers = nil }, regie.Invalid, "offer_invalid", "offers"},
		{"offer twice", regie.Principal{}, func(in *matching.ProviderInput) { in.Offers = append(in.Offers, in.Offers[0]) }, regie.Invalid, "offer_invalid", "offers[1].product"},
		{"unknown product", regie.Principal{}, func(in *matching.ProviderInput) { in.Offers[0].Product = "VV04" }, regie.Invalid, "product_unknown", "offers[0].product"},
		{"tariff zero", regie.Principal{}, func(in *matching.ProviderInput) { in.Offers[0].Tariff = 0 }, regie.Invalid, "offer_invalid", "offers[0].tariff"},
		{"tariff above the maximum", regie.Principal{}, func(in *matching.ProviderInput) { in.Offers[0].Tariff = 6501 }, regie.Invalid, "tariff_above_maximum", "offers[0].tariff"},
		{"no regions", regie.Principal{}, func(in *matching.ProviderInput) { in.Regions = nil }, regie.Invalid, "regions_invalid", "regions"},
		{"region twice", regie.Principal{}, func(in *matching.ProviderInput) { in.Regions = []string{"r1", "r1"} }, regie.Invalid, "regions_invalid", "regions[1]"},
		{"unknown region", regie.Principal{}, func(in *matching.ProviderInput) { in.Regions = []string{"r1", "r9"} }, regie.Invalid, "region_unknown", "regions[1]"},
		{"no languages", regie.Principal{}, func(in *matching.ProviderInput) { in.Languages = nil }, regie.Invalid, "language_invalid", "languages"},
		{"language by name", regie.Principal{}, func(in *matching.ProviderInput) { in.Languages = []string{"Nederlands"} }, regie.Invalid, "language_invalid", "languages[0]"},
		{"expertise free text", regie.Principal{}, func(in *matching.ProviderInput) { in.Expertise = []string{"dementie", "alles"} }, regie.Invalid, "expertise_unknown", "expertise[1]"},
		{"identity free text", regie.Principal{}, func(in *matching.ProviderInput) { in.Identity = []string{"gezellig"} }, regie.Invalid, "identity_unknown", "identity[0]"},
		{"no setting", regie.Principal{}, func(in *matching.ProviderInput) { in.Settings = nil }, regie.Invalid, "setting_unknown", "settings"},
		{"unknown setting", regie.Principal{}, func(in *matching.ProviderInput) { in.Settings = []string{"instelling"} }, regie.Invalid, "setting_unknown", "settings[0]"},
		{"team of 0", regie.Principal{}, func(in *matching.ProviderInput) { in.TeamSize = 0 }, regie.Invalid, "team_size_invalid", "team_size"},
		{"professional with digits", regie.Principal{}, func(in *matching.ProviderInput) { in.Professionals = []string{"R2D2"} }, regie.Invalid, "professional_invalid", "professionals[0]"},
		{"negative open places", regie.Principal{}, func(in *matching.ProviderInput) { in.OpenPlaces = -1 }, regie.Invalid, "capacity_invalid", "open_places"},
		{"waiting 11 years", regie.Principal{}, func(in *matching.ProviderInput) { in.WaitingWeeks = 521 }, regie.Invalid, "capacity_invalid", "waiting_weeks"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			in := profile("87654321")
			if tc.change != nil {
				tc.change(&in)
			}
			p := tc.p
			if p.Role == "" {
				p = self(in.AGB)
			}
			got, err := e.svc.Register(ctx, p, in)
			wantField(t, err, tc.kind, tc.code, tc.field)
			if got != nil {
				t.Errorf("Register returned %+v with an error", got)
			}
			if all, _ := e.db.Providers(ctx); len(all) != 0 {
				t.Errorf("a refused registration stored %d providers", len(all))
			}
		})
	}
}

func TestService_UpdateProfile(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*env, *matching.Provider) {
		e := newEnv(t).withIndex(t)
		return e, e.register(t, profile("87654321"))
	}

	t.Run("replaces the profile", func(t *testing.T) {
		e, p := setup(t)
		e.now = e.now.Add(time.Hour)
		in := profile(p.AGB)
		in.AGB, in.KvK = "", "" // may be left out
		in.Name, in.Offers = "Nieuwe Naam", []matching.Offer{{Product: "H531", Tariff: 5000}}
		got, err := e.svc.UpdateProfile(ctx, self(p.AGB), p.AGB, in)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Nieuwe Naam" || got.KvK != "12345678" || got.Offer("H531") == nil || got.Offer("H300") != nil || got.Version != 2 ||
			!got.UpdatedAt.Equal(e.now.Truncate(time.Second)) || !got.RegisteredAt.Equal(p.RegisteredAt) {
			t.Errorf("updated %+v", got)
		}
		if x := e.svc.Index.Provider(p.AGB); x == nil || x.Version != 2 {
			t.Errorf("index holds %+v", x)
		}
	})

	for _, tc := range []struct {
		name   string
		p      regie.Principal
		agb    string
		change func(in *matching.ProviderInput)
		kind   regie.Kind
		code   string
	}{
		{"another provider", self("11111111"), "", nil, regie.Forbidden, "scope_forbidden"},
		{"funder", funderR1, "", nil, regie.Forbidden, "role_forbidden"},
		{"not registered", self("22222222"), "22222222", func(in *matching.ProviderInput) { in.AGB = "" }, regie.NotFound, "provider_not_found"},
		{"other agb in the body", regie.Principal{}, "", func(in *matching.ProviderInput) { in.AGB = "11111111" }, regie.Invalid, "agb_mismatch"},
		{"other kvk", regie.Principal{}, "", func(in *matching.ProviderInput) { in.KvK = "87654321" }, regie.Invalid, "kvk_immutable"},
		{"bad kvk", regie.Principal{}, "", func(in *matching.ProviderInput) { in.KvK = "1234" }, regie.Invalid, "kvk_invalid"},
		{"bad profile", regie.Principal{}, "", func(in *matching.ProviderInput) { in.TeamSize = -3 }, regie.Invalid, "team_size_invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, p := setup(t)
			in := profile(p.AGB)
			in.Name = "Anders"
			if tc.change != nil {
				tc.change(&in)
			}
			who, agb := tc.p, tc.agb
			if who.Role == "" {
				who = self(p.AGB)
			}
			if agb == "" {
				agb = p.AGB
			}
			_, err := e.svc.UpdateProfile(ctx, who, agb, in)
			wantErr(t, err, tc.kind, tc.code)
			if stored, _ := e.db.Provider(ctx, p.AGB); stored.Name != p.Name || stored.Version != 1 {
				t.Errorf("a refused update changed the provider: %+v", stored)
			}
		})
	}

	t.Run("availability", func(t *testing.T) {
		e, p := setup(t)
		got, err := e.svc.SetAvailability(ctx, self(p.AGB), p.AGB, 0, 12)
		if err != nil || got.OpenPlaces != 0 || got.WaitingWeeks != 12 || got.Version != 2 {
			t.Fatalf("SetAvailability = %+v, %v", got, err)
		}
		_, err = e.svc.SetAvailability(ctx, self(p.AGB), p.AGB, 10_001, 0)
		wantField(t, err, regie.Invalid, "capacity_invalid", "open_places")
		_, err = e.svc.SetAvailability(ctx, self("11111111"), p.AGB, 1, 0)
		wantErr(t, err, regie.Forbidden, "scope_forbidden")
	})

	t.Run("an imported provider keeps its standing, and a region it adds is pending", func(t *testing.T) {
		e := newEnv(t).withIndex(t)
		e.put(t, provider("10000001", 1, 0)) // qualified in r1 by its flags
		in := profile("10000001")
		in.Regions = []string{"r1", "r2"}
		got, err := e.svc.UpdateProfile(ctx, self("10000001"), "10000001", in)
		if err != nil {
			t.Fatal(err)
		}
		today := regie.DateOf(e.now)
		if !got.QualifiedIn("r1", today) || got.QualifiedIn("r2", today) || !got.Qualified {
			t.Errorf("after the update: %+v", got.Qualifications)
		}
		if _, n, err := e.svc.SetCriteria(ctx, funderR1, "r1", matching.CriteriaInput{Required: []matching.Criterion{matching.CriterionAGB}}); err != nil || n != 1 {
			t.Fatalf("SetCriteria: %d, %v", n, err)
		}
		if x := e.svc.Index.Provider("10000001"); !x.QualifiedIn("r1", today) {
			t.Error("new criteria ended an imported standing")
		}
	})

	t.Run("anyone signed in reads a profile", func(t *testing.T) {
		e, p := setup(t)
		for _, who := range []regie.Principal{e.client, funderR2, self("11111111"), {Role: regie.RoleAuditor, Subject: "a", Regions: []string{"r1"}}} {
			got, err := e.svc.Provider(ctx, who, p.AGB)
			if err != nil || got.AGB != p.AGB {
				t.Errorf("%s reads %+v, %v", who.Role, got, err)
			}
		}
		_, err := e.svc.Provider(ctx, e.client, "99999999")
		wantErr(t, err, regie.NotFound, "provider_not_found")
	})
}

// TestService_Qualification follows a provider from registration through
// evidence and approval to search, choice and acceptance, and on to the
// automatic suspension when its evidence expires.
func TestService_Qualification(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t).withIndex(t)
	p := e.register(t, profile("87654321"))
	until := mustDate(t, "2026-03-31")
	find := func() string {
		t.Helper()
		rs, err := search(e.svc, ctx, e.client, e.v.ID, matching.Query{Product: "H300", Lat: homeLat, Lon: homeLon})
		if err != nil {
			t.Fatal(err)
		}
		return agbs(rs)
	}
	if got := find(); got != "" {
		t.Fatalf("a pending provider is found: %s", got)
	}
	_, err := e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H300", ProviderAGB: p.AGB})
	wantErr(t, err, regie.Invalid, "provider_not_qualified")

	evidence := e.qualify(t, p.AGB, "r1", funderR1, until)
	if len(evidence) != 8 {
		t.Fatalf("the default criteria ask %d items of a team of 12, want 8", len(evidence))
	}
	if got := find(); got != p.AGB {
		t.Fatalf("a qualified provider is not found: %q", got)
	}
	stored, _ := e.db.Provider(ctx, p.AGB)
	if !stored.Qualified || !stored.QualifiedIn("r1", regie.DateOf(e.now)) || !stored.QualifiedIn("r1", until) || stored.QualifiedIn("r1", until.AddDays(1)) {
		t.Fatalf("qualifications %+v", stored.Qualifications)
	}
	// Warned ahead of expiry.
	e.now = mustDate(t, "2026-03-10").Time().Add(9 * time.Hour)
	st, err := e.svc.Status(ctx, self(p.AGB), p.AGB)
	if err != nil || !st.Searchable || st.Regions[0].Status != matching.StandingQualified || len(st.Regions[0].Warnings) != 8 ||
		st.Regions[0].Warnings[0].DaysLeft != 21 || st.Regions[0].QualifiedUntil != until {
		t.Fatalf("status %+v, %v", st, err)
	}

	// Chosen on its last day, it cannot accept the day after.
	e.now = until.Time().Add(9 * time.Hour)
	c, err := e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H300", ProviderAGB: p.AGB})
	if err != nil {
		t.Fatal(err)
	}

	// After expiry: suspended by itself.
	e.now = until.AddDays(1).Time().Add(9 * time.Hour)
	if got := find(); got != "" {
		t.Errorf("found after expiry: %s", got)
	}
	st, err = e.svc.Status(ctx, funderR1, p.AGB)
	if err != nil || st.Searchable || st.Regions[0].Status != matching.StandingSuspended {
		t.Errorf("status after expiry %+v, %v", st, err)
	}
	_, err = e.svc.Decide(ctx, self(p.AGB), c.ID, true, "")
	wantErr(t, err, regie.Invalid, "provider_not_qualified")
	if _, err := e.svc.Decide(ctx, self(p.AGB), c.ID, false, "kwalificatie verlopen"); err != nil {
		t.Errorf("a suspended provider cannot decline: %v", err)
	}
	// Renewed: found again from the day of approval.
	e.qualify(t, p.AGB, "r1", funderR1, mustDate(t, "2027-03-31"))
	if got := find(); got != p.AGB {
		t.Errorf("not found after renewal: %q", got)
	}
	stored, _ = e.db.Provider(ctx, p.AGB)
	if stored.QualifiedIn("r1", until.AddDays(1)) != true || !stored.QualifiedIn("r1", mustDate(t, "2026-02-01")) {
		t.Errorf("qualifications after renewal %+v", stored.Qualifications)
	}
}

func TestService_ReviewEvidence(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*env, *matching.Provider, *matching.Evidence) {
		e := newEnv(t).withIndex(t)
		in := profile("87654321")
		in.Regions = []string{"r1", "r2"}
		p := e.register(t, in)
		ev, err := e.svc.SubmitEvidence(ctx, self(p.AGB), p.AGB, matching.EvidenceInput{Region: "r1", Criterion: matching.CriterionVOG, Reference: "VOG-2026-0042", ValidUntil: mustDate(t, "2027-01-31")})
		if err != nil {
			t.Fatal(err)
		}
		return e, p, ev
	}

	t.Run("submitted", func(t *testing.T) {
		_, p, ev := setup(t)
		if !strings.HasPrefix(ev.ID, "ev") || ev.ProviderAGB != p.AGB || ev.Status != matching.Submitted || ev.Reference != "VOG-2026-0042" {
			t.Errorf("evidence %+v", ev)
		}
	})

	t.Run("submit errors", func(t *testing.T) {
		e, p, _ := setup(t)
		good := matching.EvidenceInput{Region: "r1", Criterion: matching.CriterionAGB, Reference: "AGB-register", ValidUntil: mustDate(t, "2027-01-31")}
		for _, tc := range []struct {
			name   string
			who    regie.Principal
			change func(in *matching.EvidenceInput)
			kind   regie.Kind
			code   string
		}{
			{"funder", funderR1, nil, regie.Forbidden, "role_forbidden"},
			{"another provider", self("11111111"), nil, regie.Forbidden, "scope_forbidden"},
			{"unknown criterion", self(p.AGB), func(in *matching.EvidenceInput) { in.Criterion = "iso9001" }, regie.Invalid, "criterion_unknown"},
			{"no reference", self(p.AGB), func(in *matching.EvidenceInput) { in.Reference = " " }, regie.Invalid, "reference_invalid"},
			{"no validity", self(p.AGB), func(in *matching.EvidenceInput) { in.ValidUntil = 0 }, regie.Invalid, "valid_until_invalid"},
			{"expired already", self(p.AGB), func(in *matching.EvidenceInput) { in.ValidUntil = regie.DateOf(e.now).AddDays(-1) }, regie.Invalid, "valid_until_invalid"},
			{"eleven years", self(p.AGB), func(in *matching.EvidenceInput) { in.ValidUntil = regie.DateOf(e.now).AddDays(11 * 366) }, regie.Invalid, "valid_until_invalid"},
			{"region not listed", self(p.AGB), func(in *matching.EvidenceInput) { in.Region = "r3" }, regie.Invalid, "region_not_listed"},
		} {
			in := good
			if tc.change != nil {
				tc.change(&in)
			}
			_, err := e.svc.SubmitEvidence(ctx, tc.who, p.AGB, in)
			if regie.ErrorKind(err) != tc.kind || regie.ErrorCode(err) != tc.code {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
			}
		}
		if es, _ := e.db.EvidenceOf(ctx, p.AGB); len(es) != 1 {
			t.Errorf("refused submissions stored evidence: %d items", len(es))
		}
	})

	t.Run("review errors", func(t *testing.T) {
		e, p, ev := setup(t)
		for _, tc := range []struct {
			name    string
			who     regie.Principal
			agb, id string
			approve bool
			reason  string
			kind    regie.Kind
			code    string
		}{
			{"provider", self(p.AGB), p.AGB, ev.ID, true, "", regie.Forbidden, "role_forbidden"},
			{"funder of another region", funderR2, p.AGB, ev.ID, true, "", regie.Forbidden, "scope_forbidden"},
			{"unknown provider", funderR1, "99999999", ev.ID, true, "", regie.NotFound, "provider_not_found"},
			{"unknown evidence", funderR1, p.AGB, "evnope", true, "", regie.NotFound, "evidence_not_found"},
			{"reject without reason", funderR1, p.AGB, ev.ID, false, "  ", regie.Invalid, "reason_required"},
		} {
			_, err := e.svc.ReviewEvidence(ctx, tc.who, tc.agb, tc.id, tc.approve, tc.reason)
			if regie.ErrorKind(err) != tc.kind || regie.ErrorCode(err) != tc.code {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
			}
		}
		if es, _ := e.db.EvidenceOf(ctx, p.AGB); es[0].Status != matching.Submitted {
			t.Errorf("a refused review changed the evidence: %+v", es[0])
		}
	})

	t.Run("approve, then reviewed", func(t *testing.T) {
		e, p, ev := setup(t)
		got, err := e.svc.ReviewEvidence(ctx, funderR1, p.AGB, ev.ID, true, "")
		if err != nil || got.Status != matching.Approved || got.ReviewedBy != "zk-r1" || !got.ReviewedAt.Equal(e.now.Truncate(time.Second)) {
			t.Fatalf("approved %+v, %v", got, err)
		}
		_, err = e.svc.ReviewEvidence(ctx, funderR1, p.AGB, ev.ID, true, "")
		wantErr(t, err, regie.Conflict, "evidence_reviewed")
		// Withdrawing the approval is a rejection with a reason; then final.
		got, err = e.svc.ReviewEvidence(ctx, funderR1, p.AGB, ev.ID, false, "VOG ingetrokken")
		if err != nil || got.Status != matching.Rejected || got.Reason != "VOG ingetrokken" {
			t.Fatalf("rejected %+v, %v", got, err)
		}
		for _, approve := range []bool{true, false} {
			_, err = e.svc.ReviewEvidence(ctx, funderR1, p.AGB, ev.ID, approve, "nog eens")
			wantErr(t, err, regie.Conflict, "evidence_reviewed")
		}
	})

	t.Run("expired evidence cannot be approved", func(t *testing.T) {
		e, p, ev := setup(t)
		e.now = mustDate(t, "2027-02-01").Time()
		_, err := e.svc.ReviewEvidence(ctx, funderR1, p.AGB, ev.ID, true, "")
		wantErr(t, err, regie.Conflict, "evidence_expired")
	})

	t.Run("withdrawing an approval suspends from today", func(t *testing.T) {
		e, p, _ := setup(t)
		evs := e.qualify(t, p.AGB, "r1", funderR1, mustDate(t, "2026-12-31"))
		e.now = e.now.Add(10 * 24 * time.Hour)
		if _, err := e.svc.ReviewEvidence(ctx, funderR1, p.AGB, evs[0].ID, false, "verzekering opgezegd"); err != nil {
			t.Fatal(err)
		}
		stored, _ := e.db.Provider(ctx, p.AGB)
		today := regie.DateOf(e.now)
		if stored.QualifiedIn("r1", today) || !stored.QualifiedIn("r1", today.AddDays(-1)) {
			t.Errorf("qualifications %+v", stored.Qualifications)
		}
		if x := e.svc.Index.Provider(p.AGB); x.QualifiedIn("r1", today) {
			t.Error("the index still has the provider qualified")
		}
	})

	t.Run("who sees the evidence", func(t *testing.T) {
		e, p, _ := setup(t)
		if _, err := e.svc.SubmitEvidence(ctx, self(p.AGB), p.AGB, matching.EvidenceInput{Region: "r2", Criterion: matching.CriterionKvK, Reference: "KvK 12345678", ValidUntil: mustDate(t, "2027-01-31")}); err != nil {
			t.Fatal(err)
		}
		count := func(who regie.Principal) int {
			es, err := e.svc.Evidence(ctx, who, p.AGB)
			if err != nil {
				t.Fatalf("%s: %v", who.Subject, err)
			}
			return len(es)
		}
		if n := count(self(p.AGB)); n != 2 {
			t.Errorf("the provider sees %d items", n)
		}
		if n := count(funderR1); n != 1 {
			t.Errorf("the funder of r1 sees %d items", n)
		}
		_, err := e.svc.Evidence(ctx, self("11111111"), p.AGB)
		wantErr(t, err, regie.Forbidden, "scope_forbidden")
		_, err = e.svc.Evidence(ctx, e.client, p.AGB)
		wantErr(t, err, regie.Forbidden, "role_forbidden")
		// The funder's work list.
		es, err := e.svc.RegionEvidence(ctx, funderR2, "r2", "")
		if err != nil || len(es) != 1 || es[0].Criterion != matching.CriterionKvK {
			t.Errorf("RegionEvidence = %v, %v", es, err)
		}
		_, err = e.svc.RegionEvidence(ctx, funderR1, "r2", "")
		wantErr(t, err, regie.Forbidden, "scope_forbidden")
		_, err = e.svc.RegionEvidence(ctx, funderR1, "r1", "open")
		wantErr(t, err, regie.Invalid, "status_invalid")
		all := regie.Principal{Role: regie.RoleFunder, Subject: "nl", Regions: []string{regie.AllRegions}}
		_, err = e.svc.RegionEvidence(ctx, all, "r9", "all")
		wantErr(t, err, regie.NotFound, "region_not_found")
	})
}

func TestService_SetCriteria(t *testing.T) {
	ctx := context.Background()

	t.Run("defaults until set", func(t *testing.T) {
		e := newEnv(t)
		c, err := e.svc.Criteria(ctx, e.client, "r1")
		if err != nil || !c.Default || len(c.Required) != 8 {
			t.Errorf("Criteria = %+v, %v", c, err)
		}
		_, err = e.svc.Criteria(ctx, e.client, "r9")
		wantErr(t, err, regie.NotFound, "region_not_found")
	})

	t.Run("lighter criteria qualify a waiting provider", func(t *testing.T) {
		e := newEnv(t).withIndex(t)
		p := e.register(t, profile("87654321"))
		other := profile("87654322")
		other.Regions = []string{"r2"}
		e.register(t, other)
		for _, c := range []matching.Criterion{matching.CriterionAGB, matching.CriterionKvK} {
			ev, err := e.svc.SubmitEvidence(ctx, self(p.AGB), p.AGB, matching.EvidenceInput{Region: "r1", Criterion: c, Reference: "x", ValidUntil: mustDate(t, "2026-12-31")})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.ReviewEvidence(ctx, funderR1, p.AGB, ev.ID, true, ""); err != nil {
				t.Fatal(err)
			}
		}
		if p, _ := e.db.Provider(ctx, p.AGB); p.QualifiedIn("r1", regie.DateOf(e.now)) {
			t.Fatal("qualified on two of the default criteria")
		}
		c, n, err := e.svc.SetCriteria(ctx, funderR1, "r1", matching.CriteriaInput{
			Required:   []matching.Criterion{matching.CriterionKvK, matching.CriterionAGB},
			SmallScale: []matching.Criterion{matching.CriterionAGB}, SmallScaleMaxTeam: 3,
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 || c.Default || c.WarnDays != 30 || c.UpdatedBy != "zk-r1" || !slices.Equal(c.Required, []matching.Criterion{matching.CriterionAGB, matching.CriterionKvK}) {
			t.Errorf("SetCriteria = %+v, %d", c, n)
		}
		if got, _ := e.svc.Criteria(ctx, e.client, "r1"); got.Default || got.SmallScaleMaxTeam != 3 {
			t.Errorf("Criteria after setting = %+v", got)
		}
		if x := e.svc.Index.Provider(p.AGB); !x.QualifiedIn("r1", regie.DateOf(e.now)) {
			t.Error("not qualified (in the index) under the lighter criteria")
		}
	})

	for _, tc := range []struct {
		name  string
		who   regie.Principal
		reg   string
		in    matching.CriteriaInput
		kind  regie.Kind
		code  string
		field string
	}{
		{"provider", self("87654321"), "r1", matching.CriteriaInput{Required: []matching.Criterion{"agb"}}, regie.Forbidden, "role_forbidden", ""},
		{"funder of another region", funderR2, "r1", matching.CriteriaInput{Required: []matching.Criterion{"agb"}}, regie.Forbidden, "scope_forbidden", ""},
		{"unknown region", regie.Principal{Role: regie.RoleFunder, Subject: "nl", Regions: []string{"*"}}, "r9", matching.CriteriaInput{Required: []matching.Criterion{"agb"}}, regie.NotFound, "region_not_found", ""},
		{"nothing required", funderR1, "r1", matching.CriteriaInput{}, regie.Invalid, "criteria_invalid", "required"},
		{"unknown criterion", funderR1, "r1", matching.CriteriaInput{Required: []matching.Criterion{"agb", "iso9001"}}, regie.Invalid, "criterion_unknown", "required[1]"},
		{"twice", funderR1, "r1", matching.CriteriaInput{Required: []matching.Criterion{"agb", "agb"}}, regie.Invalid, "criteria_invalid", "required[1]"},
		{"small set not part of the full set", funderR1, "r1", matching.CriteriaInput{Required: []matching.Criterion{"agb"}, SmallScale: []matching.Criterion{"kvk"}, SmallScaleMaxTeam: 3}, regie.Invalid, "criteria_invalid", "small_scale"},
		{"size without a small set", funderR1, "r1", matching.CriteriaInput{Required: []matching.Criterion{"agb"}, SmallScaleMaxTeam: 3}, regie.Invalid, "criteria_invalid", "small_scale"},
		{"negative size", funderR1, "r1", matching.CriteriaInput{Required: []matching.Criterion{"agb"}, SmallScaleMaxTeam: -1}, regie.Invalid, "criteria_invalid", "small_scale_max_team"},
		{"warn 400 days", funderR1, "r1", matching.CriteriaInput{Required: []matching.Criterion{"agb"}, WarnDays: 400}, regie.Invalid, "criteria_invalid", "warn_days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			_, _, err := e.svc.SetCriteria(ctx, tc.who, tc.reg, tc.in)
			wantField(t, err, tc.kind, tc.code, tc.field)
			if c, _ := e.db.CriteriaOf(ctx, "r1"); c != nil {
				t.Errorf("refused criteria were stored: %+v", c)
			}
		})
	}
}
