package matching_test

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
)

// day returns 2026-01-01 plus n days.
func day(n int) regie.Date { return mustParse("2026-01-01").AddDays(n) }

// ev is approved evidence for a criterion in region r1, valid through until.
func ev(id string, c matching.Criterion, until regie.Date) *matching.Evidence {
	return &matching.Evidence{ID: id, ProviderAGB: "10000001", Region: "r1", Criterion: c, ValidUntil: until, Status: matching.Approved}
}

// fewCriteria require agb and vog, and of teams up to 5 only agb.
func fewCriteria(region string) matching.Criteria {
	return matching.Criteria{
		Region: region, Required: []matching.Criterion{matching.CriterionVOG, matching.CriterionAGB},
		SmallScale: []matching.Criterion{matching.CriterionAGB}, SmallScaleMaxTeam: 5, WarnDays: 30,
	}
}

func periods(p *matching.Provider, region string) string {
	for _, q := range p.Qualifications {
		if q.Region == region {
			s := fmt.Sprint(q.Periods)
			if len(q.Periods) == 0 {
				s = "none"
			}
			return s
		}
	}
	return "no record"
}

func ps(pairs ...regie.Date) string {
	var out []matching.Period
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, matching.Period{From: pairs[i], To: pairs[i+1]})
	}
	return fmt.Sprint(out)
}

func TestEvaluate(t *testing.T) {
	newProvider := func() *matching.Provider {
		return &matching.Provider{AGB: "10000001", Regions: []string{"r1"}, TeamSize: 12}
	}

	t.Run("pending without evidence", func(t *testing.T) {
		p := newProvider()
		matching.Evaluate(p, nil, fewCriteria, day(0), false)
		if got := periods(p, "r1"); got != "none" || p.Qualified || p.QualifiedIn("r1", day(0)) {
			t.Errorf("periods %s, qualified %v", got, p.Qualified)
		}
	})

	t.Run("qualified from today to the earliest expiry", func(t *testing.T) {
		p := newProvider()
		es := []*matching.Evidence{ev("e1", matching.CriterionVOG, day(100)), ev("e2", matching.CriterionAGB, day(300))}
		matching.Evaluate(p, es, fewCriteria, day(10), false)
		if got, want := periods(p, "r1"), ps(day(10), day(100)); got != want {
			t.Fatalf("periods %s, want %s", got, want)
		}
		for d, want := range map[regie.Date]bool{day(9): false, day(10): true, day(100): true, day(101): false} {
			if got := p.QualifiedIn("r1", d); got != want {
				t.Errorf("QualifiedIn(r1, %s) = %v, want %v", d, got, want)
			}
		}
		if !p.Qualified || p.QualifiedIn("r2", day(50)) {
			t.Errorf("Qualified %v; qualified in r2 %v", p.Qualified, p.QualifiedIn("r2", day(50)))
		}
	})

	t.Run("submitted, rejected and expired evidence do not count", func(t *testing.T) {
		for name, bad := range map[string]*matching.Evidence{
			"submitted": {ID: "x", Region: "r1", Criterion: matching.CriterionVOG, ValidUntil: day(100), Status: matching.Submitted},
			"rejected":  {ID: "x", Region: "r1", Criterion: matching.CriterionVOG, ValidUntil: day(100), Status: matching.Rejected},
			"expired":   ev("x", matching.CriterionVOG, day(9)),
			"elsewhere": {ID: "x", Region: "r2", Criterion: matching.CriterionVOG, ValidUntil: day(100), Status: matching.Approved},
		} {
			p := newProvider()
			matching.Evaluate(p, []*matching.Evidence{bad, ev("e2", matching.CriterionAGB, day(300))}, fewCriteria, day(10), false)
			if got := periods(p, "r1"); got != "none" {
				t.Errorf("%s: periods %s, want none", name, got)
			}
		}
	})

	t.Run("the best of several items per criterion", func(t *testing.T) {
		p := newProvider()
		es := []*matching.Evidence{
			ev("e1", matching.CriterionVOG, day(50)), ev("e2", matching.CriterionVOG, day(200)),
			ev("e3", matching.CriterionAGB, day(300)),
		}
		matching.Evaluate(p, es, fewCriteria, day(10), false)
		if got, want := periods(p, "r1"), ps(day(10), day(200)); got != want {
			t.Errorf("periods %s, want %s", got, want)
		}
	})

	t.Run("renewal extends the current period; after a gap a new one starts", func(t *testing.T) {
		p := newProvider()
		es := []*matching.Evidence{ev("e1", matching.CriterionVOG, day(100)), ev("e2", matching.CriterionAGB, day(300))}
		matching.Evaluate(p, es, fewCriteria, day(10), false)
		es = append(es, ev("e3", matching.CriterionVOG, day(250)))
		matching.Evaluate(p, es, fewCriteria, day(90), false)
		if got, want := periods(p, "r1"), ps(day(10), day(250)); got != want {
			t.Fatalf("renewed before expiry: %s, want %s", got, want)
		}
		// Renewed on the day after expiry: the period goes on without a gap.
		p2 := newProvider()
		matching.Evaluate(p2, es[:2], fewCriteria, day(10), false)
		matching.Evaluate(p2, es, fewCriteria, day(101), false)
		if got, want := periods(p2, "r1"), ps(day(10), day(250)); got != want {
			t.Fatalf("renewed the day after expiry: %s, want %s", got, want)
		}
		// Renewed later: the days between stay unqualified.
		p3 := newProvider()
		matching.Evaluate(p3, es[:2], fewCriteria, day(10), false)
		matching.Evaluate(p3, es, fewCriteria, day(120), false)
		if got, want := periods(p3, "r1"), ps(day(10), day(100), day(120), day(250)); got != want {
			t.Fatalf("renewed after a gap: %s, want %s", got, want)
		}
		if p3.QualifiedIn("r1", day(110)) || !p3.QualifiedIn("r1", day(50)) || !p3.QualifiedIn("r1", day(120)) {
			t.Error("QualifiedIn does not follow the periods")
		}
	})

	t.Run("a withdrawn approval ends the period yesterday, and only then", func(t *testing.T) {
		es := []*matching.Evidence{ev("e1", matching.CriterionVOG, day(100)), ev("e2", matching.CriterionAGB, day(300))}
		for _, cut := range []bool{true, false} {
			p := newProvider()
			matching.Evaluate(p, es, fewCriteria, day(10), false)
			withdrawn := []*matching.Evidence{es[0], {ID: "e2", Region: "r1", Criterion: matching.CriterionAGB, ValidUntil: day(300), Status: matching.Rejected}}
			matching.Evaluate(p, withdrawn, fewCriteria, day(40), cut)
			want := ps(day(10), day(100))
			if cut {
				want = ps(day(10), day(39))
			}
			if got := periods(p, "r1"); got != want {
				t.Errorf("cut=%v: %s, want %s", cut, got, want)
			}
		}
		// Withdrawn on the first day: nothing is left.
		p := newProvider()
		matching.Evaluate(p, es, fewCriteria, day(10), false)
		matching.Evaluate(p, es[:1], fewCriteria, day(10), true)
		if got := periods(p, "r1"); got != "none" {
			t.Errorf("withdrawn on its first day: %s", got)
		}
	})

	t.Run("new criteria apply from the end of the current period", func(t *testing.T) {
		p := newProvider()
		es := []*matching.Evidence{ev("e1", matching.CriterionVOG, day(100)), ev("e2", matching.CriterionAGB, day(300))}
		matching.Evaluate(p, es, fewCriteria, day(10), false)
		stricter := func(region string) matching.Criteria {
			c := fewCriteria(region)
			c.Required = append(c.Required, matching.CriterionPrivacy)
			return c
		}
		matching.Evaluate(p, es, stricter, day(40), false)
		if got, want := periods(p, "r1"), ps(day(10), day(100)); got != want {
			t.Fatalf("periods %s, want %s: a criteria change cut the period", got, want)
		}
		// Renewing the VOG is not enough now.
		es = append(es, ev("e3", matching.CriterionVOG, day(400)))
		matching.Evaluate(p, es, stricter, day(95), false)
		if got, want := periods(p, "r1"), ps(day(10), day(100)); got != want {
			t.Fatalf("periods %s, want %s", got, want)
		}
		es = append(es, ev("e4", matching.CriterionPrivacy, day(500)))
		matching.Evaluate(p, es, stricter, day(96), false)
		if got, want := periods(p, "r1"), ps(day(10), day(300)); got != want {
			t.Fatalf("periods %s, want %s", got, want)
		}
	})

	t.Run("small-scale set by team size", func(t *testing.T) {
		es := []*matching.Evidence{ev("e2", matching.CriterionAGB, day(300))}
		for team, want := range map[int]string{1: ps(day(10), day(300)), 5: ps(day(10), day(300)), 6: "none"} {
			p := newProvider()
			p.TeamSize = team
			matching.Evaluate(p, es, fewCriteria, day(10), false)
			if got := periods(p, "r1"); got != want {
				t.Errorf("team of %d: %s, want %s", team, got, want)
			}
		}
		noSmall := func(region string) matching.Criteria {
			c := fewCriteria(region)
			c.SmallScaleMaxTeam = 0
			return c
		}
		p := newProvider()
		p.TeamSize = 1
		matching.Evaluate(p, es, noSmall, day(10), false)
		if got := periods(p, "r1"); got != "none" {
			t.Errorf("without a small-scale set: %s", got)
		}
	})

	t.Run("a region no longer listed", func(t *testing.T) {
		p := newProvider()
		p.Regions = []string{"r1", "r2"}
		es := []*matching.Evidence{ev("e1", matching.CriterionVOG, day(100)), ev("e2", matching.CriterionAGB, day(300))}
		matching.Evaluate(p, es, fewCriteria, day(10), false)
		p.Regions = []string{"r2"}
		matching.Evaluate(p, es, fewCriteria, day(30), false)
		if got, want := periods(p, "r1"), ps(day(10), day(29)); got != want {
			t.Errorf("r1: %s, want %s (past days stay payable)", got, want)
		}
		if got := periods(p, "r2"); got != "none" {
			t.Errorf("r2: %s", got)
		}
		if p.Qualified {
			t.Error("Qualified after leaving the only region it was qualified in")
		}
		// A region listed and left without ever qualifying is forgotten.
		p.Regions = nil
		matching.Evaluate(p, es, fewCriteria, day(31), false)
		if got := periods(p, "r2"); got != "no record" {
			t.Errorf("r2 after leaving: %s", got)
		}
		if got := periods(p, "r1"); got != ps(day(10), day(29)) {
			t.Errorf("r1 after leaving: %s", got)
		}
		// Listing r1 again: qualified again from that day.
		p.Regions = []string{"r1"}
		matching.Evaluate(p, es, fewCriteria, day(50), false)
		if got, want := periods(p, "r1"), ps(day(10), day(29), day(50), day(100)); got != want {
			t.Errorf("r1 listed again: %s, want %s", got, want)
		}
	})
}

func TestProvider_QualifiedIn(t *testing.T) {
	// A provider imported without qualification records.
	imported := &matching.Provider{Regions: []string{"r1"}, Qualified: true}
	if !imported.QualifiedIn("r1", day(0)) || imported.QualifiedIn("r2", day(0)) {
		t.Error("an imported provider is judged by Qualified and Regions")
	}
	imported.Qualified = false
	if imported.QualifiedIn("r1", day(0)) {
		t.Error("an imported unqualified provider counts as qualified")
	}
	// With a record, only the record counts.
	managed := &matching.Provider{Regions: []string{"r1"}, Qualified: true, Qualifications: []matching.Qualification{{Region: "r1"}}}
	if managed.QualifiedIn("r1", day(0)) {
		t.Error("a pending record is overruled by Qualified")
	}
	managed.Qualifications[0].Periods = []matching.Period{{From: day(5), To: day(9)}}
	for d, want := range map[regie.Date]bool{day(4): false, day(5): true, day(9): true, day(10): false} {
		if got := managed.QualifiedIn("r1", d); got != want {
			t.Errorf("QualifiedIn(%s) = %v, want %v", d, got, want)
		}
	}
}

func TestStandingIn(t *testing.T) {
	crit := fewCriteria("r1")
	es := []*matching.Evidence{
		ev("e1", matching.CriterionVOG, day(100)), ev("e2", matching.CriterionAGB, day(300)),
		{ID: "e3", Region: "r1", Criterion: matching.CriterionPrivacy, ValidUntil: day(300), Status: matching.Submitted},
	}
	p := &matching.Provider{AGB: "10000001", Regions: []string{"r1"}, TeamSize: 12}
	matching.Evaluate(p, es, func(string) matching.Criteria { return crit }, day(10), false)

	t.Run("qualified, with a warning ahead of expiry", func(t *testing.T) {
		s := matching.StandingIn(p, "r1", crit, es, day(75))
		want := matching.Standing{
			Region: "r1", Status: matching.StandingQualified, SmallScale: false,
			Required: []matching.Criterion{matching.CriterionVOG, matching.CriterionAGB}, Missing: []matching.Criterion{},
			QualifiedUntil: day(100), Periods: []matching.Period{{From: day(10), To: day(100)}},
			Warnings: []matching.Warning{{Criterion: matching.CriterionVOG, EvidenceID: "e1", ValidUntil: day(100), DaysLeft: 25}},
		}
		if !reflect.DeepEqual(s, want) {
			t.Errorf("StandingIn =\n%+v\nwant\n%+v", s, want)
		}
		if s := matching.StandingIn(p, "r1", crit, es, day(69)); len(s.Warnings) != 0 {
			t.Errorf("warned 31 days ahead: %+v", s.Warnings)
		}
	})

	t.Run("suspended after expiry", func(t *testing.T) {
		s := matching.StandingIn(p, "r1", crit, es, day(101))
		if s.Status != matching.StandingSuspended || !slices.Equal(s.Missing, []matching.Criterion{matching.CriterionVOG}) || !s.QualifiedUntil.IsZero() {
			t.Errorf("StandingIn = %+v", s)
		}
	})

	t.Run("pending", func(t *testing.T) {
		fresh := &matching.Provider{AGB: "10000002", Regions: []string{"r1"}, TeamSize: 2}
		matching.Evaluate(fresh, nil, func(string) matching.Criteria { return crit }, day(10), false)
		s := matching.StandingIn(fresh, "r1", crit, nil, day(10))
		if s.Status != matching.StandingPending || !s.SmallScale || !slices.Equal(s.Missing, []matching.Criterion{matching.CriterionAGB}) {
			t.Errorf("StandingIn = %+v", s)
		}
	})

	t.Run("withdrawn", func(t *testing.T) {
		left := *p
		left.Regions = nil
		if s := matching.StandingIn(&left, "r1", crit, es, day(50)); s.Status != matching.StandingWithdrawn {
			t.Errorf("StandingIn = %+v", s)
		}
	})
}

func TestCriteria(t *testing.T) {
	d := matching.DefaultCriteria("r9")
	if d.Region != "r9" || !d.Default || len(d.Required) != len(matching.Catalogue) || d.WarnDays != 30 {
		t.Errorf("DefaultCriteria = %+v", d)
	}
	for _, c := range d.SmallScale {
		if !slices.Contains(d.Required, c) {
			t.Errorf("default small-scale criterion %s is not required in full", c)
		}
	}
	if set, small := d.For(10); !small || !slices.Equal(set, d.SmallScale) {
		t.Errorf("For(10) = %v, %v", set, small)
	}
	if set, small := d.For(11); small || !slices.Equal(set, d.Required) {
		t.Errorf("For(11) = %v, %v", set, small)
	}
	for _, c := range matching.Catalogue {
		if !c.Code.Valid() || c.Label == "" {
			t.Errorf("catalogue entry %+v", c)
		}
	}
	if matching.Criterion("iso9001").Valid() {
		t.Error("an unknown criterion is valid")
	}
}

func TestAdopt(t *testing.T) {
	es := []*matching.Evidence{ev("e1", matching.CriterionVOG, day(100)), ev("e2", matching.CriterionAGB, day(300))}

	t.Run("an imported standing is kept", func(t *testing.T) {
		p := &matching.Provider{AGB: "10000001", Regions: []string{"r1", "r2"}, Qualified: true, TeamSize: 12}
		matching.Adopt(p)
		if len(p.Qualifications) != 2 || !p.QualifiedIn("r1", day(-5000)) || !p.QualifiedIn("r2", day(5000)) {
			t.Fatalf("adopted %+v", p.Qualifications)
		}
		// Criteria it does not meet do not change it ...
		matching.Evaluate(p, nil, fewCriteria, day(10), false)
		if !p.QualifiedIn("r1", day(5000)) || !p.Qualified {
			t.Fatalf("after an evaluation without evidence: %+v", p.Qualifications)
		}
		// ... nor does a region added: that one is pending.
		p.Regions = append(p.Regions, "r3")
		matching.Evaluate(p, nil, fewCriteria, day(10), false)
		if p.QualifiedIn("r3", day(10)) || !p.QualifiedIn("r2", day(10)) {
			t.Fatalf("after adding r3: %+v", p.Qualifications)
		}
		// Evidence for every criterion bounds the period by its expiry.
		matching.Evaluate(p, es, fewCriteria, day(20), false)
		if got, want := periods(p, "r1"), ps(0, day(100)); got != want {
			t.Fatalf("r1 with evidence: %s, want %s", got, want)
		}
		if !p.QualifiedIn("r2", day(5000)) {
			t.Error("evidence for r1 bounded r2")
		}
		// A withdrawn approval ends the imported standing.
		matching.Evaluate(p, nil, fewCriteria, day(30), true)
		if p.QualifiedIn("r2", day(30)) || !p.QualifiedIn("r2", day(29)) {
			t.Errorf("r2 after a cut: %+v", p.Qualifications)
		}
	})

	t.Run("nothing to adopt", func(t *testing.T) {
		unqualified := &matching.Provider{Regions: []string{"r1"}}
		matching.Adopt(unqualified)
		if len(unqualified.Qualifications) != 0 {
			t.Errorf("an unqualified import got records %+v", unqualified.Qualifications)
		}
		managed := &matching.Provider{Regions: []string{"r1"}, Qualified: true, Qualifications: []matching.Qualification{{Region: "r1"}}}
		matching.Adopt(managed)
		if len(managed.Qualifications) != 1 || managed.QualifiedIn("r1", day(0)) {
			t.Errorf("a managed provider was adopted: %+v", managed.Qualifications)
		}
	})
}
