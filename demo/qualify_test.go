package demo_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/demo"
	"github.com/regie-nl/regie/matching"
)

func TestLoadQualification(t *testing.T) {
	ctx, st, _ := load(t)
	jan1, _ := regie.ParseDate("2026-01-01")
	dec31, _ := regie.ParseDate("2026-12-31")
	since, _ := regie.ParseDate("2021-01-01")
	endOfNext, _ := regie.ParseDate("2027-12-31")
	providers, err := st.Providers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	utrecht, err := st.CriteriaOf(ctx, "utrecht")
	if err != nil || utrecht == nil || utrecht.SmallScaleMaxTeam != 12 || utrecht.WarnDays != 45 {
		t.Fatalf("criteria of utrecht = %+v, %v", utrecht, err)
	}
	if other, _ := st.CriteriaOf(ctx, "amsterdam"); other != nil {
		t.Errorf("amsterdam has criteria %+v, want the defaults", other)
	}
	for _, p := range providers {
		evidence, err := st.EvidenceOf(ctx, p.AGB)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Regions {
			crit := matching.DefaultCriteria(r)
			if r == "utrecht" {
				crit = *utrecht
			}
			s := matching.StandingIn(p, r, crit, evidence, jan1)
			if p.Qualified {
				// Since 2021 (loadgen claims four years back), through the
				// end of the evidence: 2027.
				if !p.QualifiedIn(r, since) || p.QualifiedIn(r, since.AddDays(-1)) || !p.QualifiedIn(r, dec31) ||
					s.Status != matching.StandingQualified || s.QualifiedUntil != endOfNext || len(s.Warnings) != 0 {
					t.Errorf("provider %s in %s: %+v, standing %+v", p.AGB, r, p.Qualifications, s)
				}
			} else if p.QualifiedIn(r, jan1) || s.Status != matching.StandingPending ||
				!slices.Equal(s.Missing, []matching.Criterion{matching.CriterionWtza, matching.CriterionVOG}) {
				t.Errorf("unqualified provider %s in %s: standing %+v", p.AGB, r, s)
			}
		}
	}
	linde, err := st.Provider(ctx, demo.DemoProviderAGB)
	if err != nil {
		t.Fatal(err)
	}
	es, _ := st.EvidenceOf(ctx, linde.AGB)
	inUtrecht := slices.DeleteFunc(es, func(e *matching.Evidence) bool { return e.Region != "utrecht" })
	if len(inUtrecht) != 8 {
		t.Errorf("De Linde (a team of %d) has %d evidence items in utrecht, want the full 8", linde.TeamSize, len(inUtrecht))
	}
	if es, _ := st.EvidenceInRegion(ctx, "utrecht"); len(es) < 100 {
		t.Errorf("%d evidence items in utrecht", len(es))
	}
}

func TestGenerate(t *testing.T) {
	from, _ := regie.ParseDate("2026-01-01")
	to, _ := regie.ParseDate("2026-12-31")
	ps := demo.Generate(3000, 7, from, to)
	if len(ps) != 3000 {
		t.Fatalf("Generate(3000) made %d", len(ps))
	}
	regions := map[string]bool{}
	for _, r := range demo.Regions(2026) {
		regions[r.ID] = true
	}
	seen := map[string]bool{}
	perRegion := map[string]int{}
	unqualified := 0
	for _, p := range ps {
		if seen[p.AGB] {
			t.Fatalf("AGB %s twice", p.AGB)
		}
		seen[p.AGB] = true
		if len(p.Offers) == 0 || len(p.Locations) == 0 || len(p.Qualifications) != len(p.Regions) {
			t.Fatalf("provider %+v incomplete", p)
		}
		for _, r := range p.Regions {
			if !regions[r] {
				t.Fatalf("provider %s lists unknown region %s", p.AGB, r)
			}
		}
		perRegion[p.Regions[0]]++
		for _, l := range p.Locations {
			if l.Lat < 50.7 || l.Lat > 53.6 || l.Lon < 3.3 || l.Lon > 7.3 {
				t.Fatalf("provider %s at %+v", p.AGB, l)
			}
		}
		if q := p.QualifiedIn(p.Regions[0], from); q != p.Qualified || q != p.QualifiedIn(p.Regions[0], to) || p.QualifiedIn(p.Regions[0], to.AddDays(1)) {
			t.Fatalf("provider %s: Qualified %v, qualifications %+v", p.AGB, p.Qualified, p.Qualifications)
		}
		if !p.Qualified {
			unqualified++
		}
	}
	if len(perRegion) != 31 || perRegion["rotterdam"] < perRegion["midden-ijssel"]*3 {
		t.Errorf("providers per region %v: want all 31, by population", perRegion)
	}
	if unqualified < 50 || unqualified > 100 {
		t.Errorf("%d of 3000 unqualified, want about 1 in 41", unqualified)
	}
	if !reflect.DeepEqual(ps[:50], demo.Generate(3000, 7, from, to)[:50]) {
		t.Error("Generate is not deterministic")
	}
}
