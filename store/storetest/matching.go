package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
)

// diffChoice describes how two choices differ, or returns "".
func diffChoice(got, want *matching.Choice) string {
	if got == nil || want == nil {
		if got != want {
			return fmt.Sprintf("got %+v, want %+v", got, want)
		}
		return ""
	}
	g, w := *got, *want
	if !g.CreatedAt.Equal(w.CreatedAt) || !g.DecidedAt.Equal(w.DecidedAt) || !g.AnswerBy.Equal(w.AnswerBy) {
		return fmt.Sprintf("times %v/%v/%v, want %v/%v/%v", g.CreatedAt, g.DecidedAt, g.AnswerBy, w.CreatedAt, w.DecidedAt, w.AnswerBy)
	}
	g.CreatedAt, g.DecidedAt, g.AnswerBy = w.CreatedAt, w.DecidedAt, w.AnswerBy
	g.Subject = w.Subject // checked on its own, in "subject is kept"
	if g != w {
		return fmt.Sprintf("got %+v\nwant %+v", g, w)
	}
	return ""
}

func choiceIDs(cs []*matching.Choice) []string {
	ids := make([]string, 0, len(cs))
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

func testProviders(t *testing.T, o Opener) {
	t.Run("put and read", func(t *testing.T) { testPutProviders(t, o) })
	t.Run("versions", func(t *testing.T) { testProviderVersions(t, o) })
	t.Run("update", func(t *testing.T) { testUpdateProvider(t, o) })
	t.Run("evidence", func(t *testing.T) { testEvidence(t, o) })
	t.Run("criteria", func(t *testing.T) { testCriteria(t, o) })
	t.Run("waiting", func(t *testing.T) { testWaiting(t, o) })
}

func testPutProviders(t *testing.T, o Opener) {
	s := o.fresh(t)
	ctx := t.Context()

	_, err := s.Provider(ctx, "12345678")
	wantErr(t, err, regie.NotFound, "provider_not_found")
	all, err := s.Providers(ctx)
	must(t, err, "Providers")
	if len(all) != 0 {
		t.Fatalf("Providers of an empty store = %d", len(all))
	}

	var want []*matching.Provider
	for _, agb := range []string{"30000003", "10000001", "20000002"} {
		p := NewProvider(agb, "gm-a")
		p.Description, p.Expertise, p.Settings = "zorg voor "+agb, []string{"autisme"}, []string{"thuis"}
		p.TeamSize, p.WaitingWeeks = 4, 2
		must(t, s.PutProvider(ctx, p), "PutProvider")
		want = append(want, p)
	}
	got, err := s.Provider(ctx, "10000001")
	must(t, err, "Provider")
	if !reflect.DeepEqual(got, want[1]) {
		t.Fatalf("Provider = %+v\nwant %+v", got, want[1])
	}

	// Replace one: unqualified, other offers.
	repl := NewProvider("20000002", "gm-b")
	repl.Qualified = false
	repl.Offers = []matching.Offer{{Product: ProductOther, Tariff: 3000}}
	must(t, s.PutProvider(ctx, repl), "PutProvider")
	want[2] = repl

	all, err = s.Providers(ctx)
	must(t, err, "Providers")
	wantOrder := []*matching.Provider{want[1], want[2], want[0]}
	if !reflect.DeepEqual(all, wantOrder) {
		t.Fatalf("Providers = %+v\nwant (by AGB) %+v", all, wantOrder)
	}
}

func testChoices(t *testing.T, o Opener) {
	t.Run("create and read back", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		c := f.NewChoice("ch-2", f.Voucher.ID, ProductDagdeel, f.Provider.AGB)
		c.From, c.To = Day(10), 0
		must(t, s.CreateChoice(ctx, c), "CreateChoice")
		got, err := s.Choice(ctx, "ch-2")
		must(t, err, "Choice")
		if d := diffChoice(got, c); d != "" {
			t.Fatalf("Choice: %s", d)
		}
		_, err = s.Choice(ctx, "ch-missing")
		wantErr(t, err, regie.NotFound, "choice_not_found")
	})

	// Subject is the client's pseudonym, which matching keeps on the choice for
	// scope checks: every way of reading a choice back must return it.
	t.Run("subject is kept", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		c := f.NewChoice("ch-2", f.Voucher.ID, ProductDagdeel, f.Provider.AGB)
		c.Subject = "subj-someone"
		must(t, s.CreateChoice(ctx, c), "CreateChoice")
		read := map[string]func() (*matching.Choice, error){
			"Choice": func() (*matching.Choice, error) { return s.Choice(ctx, c.ID) },
			"ChoicesByVoucher": func() (*matching.Choice, error) {
				cs, err := s.ChoicesByVoucher(ctx, c.VoucherID)
				return findChoice(cs, c.ID), err
			},
			"ChoicesByProvider": func() (*matching.Choice, error) {
				cs, err := s.ChoicesByProvider(ctx, c.ProviderAGB)
				return findChoice(cs, c.ID), err
			},
			"DecideChoice": func() (*matching.Choice, error) {
				return s.DecideChoice(ctx, c.ID, matching.Accepted, "", f.Now)
			},
		}
		for _, name := range []string{"Choice", "ChoicesByVoucher", "ChoicesByProvider", "DecideChoice"} {
			got, err := read[name]()
			must(t, err, name)
			if got == nil || got.Subject != c.Subject {
				t.Errorf("%s returned the choice with subject %q, want %q", name, subjectOf(got), c.Subject)
			}
		}
	})

	t.Run("choice_active", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		other := NewProvider("P-other", f.Region.ID)
		must(t, s.PutProvider(ctx, other), "PutProvider")

		// The fixture's hour line has an accepted choice.
		err := s.CreateChoice(ctx, f.NewChoice("ch-2", f.Voucher.ID, ProductHour, other.AGB))
		wantErr(t, err, regie.Conflict, "choice_active")
		if _, err := s.Choice(ctx, "ch-2"); regie.ErrorCode(err) != "choice_not_found" {
			t.Fatalf("a refused choice was stored: %v", err)
		}

		// A requested choice blocks as well, for any provider.
		must(t, s.CreateChoice(ctx, f.NewChoice("ch-3", f.Voucher.ID, ProductDagdeel, other.AGB)), "CreateChoice")
		err = s.CreateChoice(ctx, f.NewChoice("ch-4", f.Voucher.ID, ProductDagdeel, f.Provider.AGB))
		wantErr(t, err, regie.Conflict, "choice_active")

		// Another voucher's line is free.
		v2 := f.NewVoucher("v-2")
		must(t, s.CreateVoucher(ctx, v2, "t"), "CreateVoucher")
		must(t, s.CreateChoice(ctx, f.NewChoice("ch-5", v2.ID, ProductDagdeel, f.Provider.AGB)), "CreateChoice on another voucher")

		// Once declined, the line is free for a new choice.
		_, err = s.DecideChoice(ctx, "ch-3", matching.Declined, "geen plek", f.Now)
		must(t, err, "DecideChoice")
		must(t, s.CreateChoice(ctx, f.NewChoice("ch-6", f.Voucher.ID, ProductDagdeel, f.Provider.AGB)), "CreateChoice after a decline")

		byVoucher, err := s.ChoicesByVoucher(ctx, f.Voucher.ID)
		must(t, err, "ChoicesByVoucher")
		if ids := choiceIDs(byVoucher); len(ids) != 3 {
			t.Fatalf("ChoicesByVoucher = %v, want the fixture's, ch-3 and ch-6", ids)
		}
	})

	t.Run("decide", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		at := time.Date(2026, 1, 5, 14, 30, 0, 0, time.UTC)
		for _, tc := range []struct {
			id     string
			to     matching.ChoiceStatus
			reason string
		}{
			{"ch-acc", matching.Accepted, ""},
			{"ch-dec", matching.Declined, "team vol"},
		} {
			v := f.NewVoucher("v-" + tc.id)
			must(t, s.CreateVoucher(ctx, v, "t"), "CreateVoucher")
			c := f.NewChoice(tc.id, v.ID, ProductHour, f.Provider.AGB)
			must(t, s.CreateChoice(ctx, c), "CreateChoice")
			got, err := s.DecideChoice(ctx, tc.id, tc.to, tc.reason, at)
			must(t, err, "DecideChoice")
			want := *c
			want.Status, want.Reason, want.DecidedAt = tc.to, tc.reason, at
			if d := diffChoice(got, &want); d != "" {
				t.Fatalf("DecideChoice %s returned %s", tc.to, d)
			}
			stored, err := s.Choice(ctx, tc.id)
			must(t, err, "Choice")
			if d := diffChoice(stored, &want); d != "" {
				t.Fatalf("after DecideChoice %s: %s", tc.to, d)
			}
			// A decided choice cannot be decided again, either way.
			for _, again := range []matching.ChoiceStatus{matching.Accepted, matching.Declined} {
				_, err := s.DecideChoice(ctx, tc.id, again, "nog eens", at.Add(time.Hour))
				wantErr(t, err, regie.Conflict, "choice_decided")
			}
			stored, err = s.Choice(ctx, tc.id)
			must(t, err, "Choice")
			if d := diffChoice(stored, &want); d != "" {
				t.Fatalf("after a refused second decision: %s", d)
			}
		}
		_, err := s.DecideChoice(ctx, "ch-missing", matching.Accepted, "", at)
		wantErr(t, err, regie.NotFound, "choice_not_found")
	})

	t.Run("by voucher and by provider, oldest first", func(t *testing.T) {
		s := o.fresh(t)
		ctx := t.Context()
		f := NewFixture("a")
		base := time.Date(2025, 12, 20, 9, 0, 0, 0, time.UTC)
		// Ids sort opposite to creation times.
		plan := []struct {
			id, voucher, product, agb string
			created                   time.Duration
		}{
			{"ch-9", "v-1", ProductHour, "P-1", 0},
			{"ch-8", "v-1", ProductDagdeel, "P-2", time.Hour},
			{"ch-7", "v-2", ProductHour, "P-1", 2 * time.Hour},
			{"ch-6", "v-2", ProductDagdeel, "P-1", 3 * time.Hour},
			{"ch-5", "v-10", ProductHour, "P-10", 4 * time.Hour}, // ids with a shared prefix
		}
		for _, id := range []string{"v-1", "v-2", "v-10"} {
			must(t, s.CreateVoucher(ctx, f.NewVoucher(id), "t"), "CreateVoucher")
		}
		for _, p := range []int{3, 0, 4, 2, 1} { // stored out of time order
			c := f.NewChoice(plan[p].id, plan[p].voucher, plan[p].product, plan[p].agb)
			c.CreatedAt = base.Add(plan[p].created)
			must(t, s.CreateChoice(ctx, c), "CreateChoice")
		}
		check := func(what string, got []*matching.Choice, err error, want ...string) {
			t.Helper()
			must(t, err, what)
			if ids := choiceIDs(got); !slices.Equal(ids, want) {
				t.Errorf("%s = %v, want %v", what, ids, want)
			}
		}
		cs, err := s.ChoicesByVoucher(ctx, "v-1")
		check("ChoicesByVoucher v-1", cs, err, "ch-9", "ch-8")
		cs, err = s.ChoicesByVoucher(ctx, "v-2")
		check("ChoicesByVoucher v-2", cs, err, "ch-7", "ch-6")
		cs, err = s.ChoicesByVoucher(ctx, "v-none")
		check("ChoicesByVoucher v-none", cs, err)
		cs, err = s.ChoicesByProvider(ctx, "P-1")
		check("ChoicesByProvider P-1", cs, err, "ch-9", "ch-7", "ch-6")
		cs, err = s.ChoicesByProvider(ctx, "P-2")
		check("ChoicesByProvider P-2", cs, err, "ch-8")
		cs, err = s.ChoicesByProvider(ctx, "P-none")
		check("ChoicesByProvider P-none", cs, err)
	})

	t.Run("lapse", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		deadline := f.Choice.CreatedAt.Add(7 * 24 * time.Hour)
		c := f.NewChoice("ch-req", f.Voucher.ID, ProductDagdeel, f.Provider.AGB)
		c.AnswerBy = deadline
		must(t, s.CreateChoice(ctx, c), "CreateChoice")
		got, err := s.Choice(ctx, c.ID)
		must(t, err, "Choice")
		if d := diffChoice(got, c); d != "" {
			t.Fatalf("Choice: %s", d)
		}
		// Up to the deadline, the requested choice blocks the line.
		next := f.NewChoice("ch-next", f.Voucher.ID, ProductDagdeel, f.Provider.AGB)
		next.CreatedAt = deadline
		wantErr(t, s.CreateChoice(ctx, next), regie.Conflict, "choice_active")
		// After it, a new choice records the lapse and is stored.
		next.CreatedAt = deadline.Add(time.Second)
		must(t, s.CreateChoice(ctx, next), "CreateChoice after the deadline")
		got, err = s.Choice(ctx, c.ID)
		must(t, err, "Choice")
		want := *c
		want.Status, want.DecidedAt = matching.Lapsed, deadline
		if d := diffChoice(got, &want); d != "" {
			t.Fatalf("the overdue choice: %s", d)
		}
		// A choice without a deadline never lapses.
		v2 := f.NewVoucher("v-2")
		must(t, s.CreateVoucher(ctx, v2, "t"), "CreateVoucher")
		must(t, s.CreateChoice(ctx, f.NewChoice("ch-old", v2.ID, ProductDagdeel, f.Provider.AGB)), "CreateChoice")
		late := f.NewChoice("ch-late", v2.ID, ProductDagdeel, f.Provider.AGB)
		late.CreatedAt = late.CreatedAt.AddDate(1, 0, 0)
		wantErr(t, s.CreateChoice(ctx, late), regie.Conflict, "choice_active")
		// DecideChoice records a lapse like a decision.
		got, err = s.DecideChoice(ctx, "ch-old", matching.Lapsed, "", deadline)
		must(t, err, "DecideChoice to Lapsed")
		if got.Status != matching.Lapsed || !got.DecidedAt.Equal(deadline) {
			t.Fatalf("DecideChoice to Lapsed = %+v", got)
		}
		_, err = s.DecideChoice(ctx, "ch-old", matching.Accepted, "", deadline)
		wantErr(t, err, regie.Conflict, "choice_decided")
		if ok, err := s.ProviderChosen(ctx, v2.ID, f.Provider.AGB); err != nil || ok {
			t.Fatalf("a lapsed choice counts as chosen: %v, %v", ok, err)
		}
	})

	t.Run("ProviderChosen", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		chosen := func(voucherID, agb string) bool {
			t.Helper()
			ok, err := s.ProviderChosen(ctx, voucherID, agb)
			must(t, err, "ProviderChosen")
			return ok
		}
		if !chosen(f.Voucher.ID, f.Provider.AGB) {
			t.Error("an accepted choice does not count")
		}
		if chosen(f.Voucher.ID, "P-other") || chosen("v-other", f.Provider.AGB) {
			t.Error("a provider counts as chosen for a voucher it has no choice on")
		}
		c := f.NewChoice("ch-req", f.Voucher.ID, ProductDagdeel, "P-other")
		must(t, s.CreateChoice(ctx, c), "CreateChoice")
		if !chosen(f.Voucher.ID, "P-other") {
			t.Error("a requested choice does not count")
		}
		_, err := s.DecideChoice(ctx, c.ID, matching.Declined, "geen plek", f.Now)
		must(t, err, "DecideChoice")
		if chosen(f.Voucher.ID, "P-other") {
			t.Error("a declined choice counts")
		}
	})
}

func findChoice(cs []*matching.Choice, id string) *matching.Choice {
	for _, c := range cs {
		if c.ID == id {
			return c
		}
	}
	return nil
}

func subjectOf(c *matching.Choice) string {
	if c == nil {
		return "<no choice>"
	}
	return c.Subject
}

func testProviderVersions(t *testing.T, o Opener) {
	s := o.fresh(t)
	ctx := t.Context()
	p := NewProvider("10000001", "gm-a")
	must(t, s.PutProvider(ctx, p), "PutProvider")
	if p.Version != 1 {
		t.Fatalf("PutProvider of a new provider set Version %d, want 1", p.Version)
	}
	again := NewProvider("10000001", "gm-a")
	must(t, s.PutProvider(ctx, again), "PutProvider")
	if got, err := s.Provider(ctx, "10000001"); err != nil || got.Version != 2 || again.Version != 2 {
		t.Fatalf("after a second put: stored version %v (%v), argument %d; want 2", got, err, again.Version)
	}

	bulk := []*matching.Provider{NewProvider("20000001", "gm-a"), NewProvider("10000001", "gm-b"), NewProvider("20000002", "gm-a")}
	must(t, s.PutProviders(ctx, bulk), "PutProviders")
	all, err := s.Providers(ctx)
	must(t, err, "Providers")
	var got []string
	for _, p := range all {
		got = append(got, fmt.Sprintf("%s/%d/%s", p.AGB, p.Version, p.Regions[0]))
	}
	if want := []string{"10000001/3/gm-b", "20000001/1/gm-a", "20000002/1/gm-a"}; !slices.Equal(got, want) {
		t.Fatalf("after PutProviders: %v, want %v", got, want)
	}
	must(t, s.PutProviders(ctx, nil), "PutProviders of none")

	created := NewProvider("30000001", "gm-a")
	must(t, s.CreateProvider(ctx, created), "CreateProvider")
	if stored, err := s.Provider(ctx, "30000001"); err != nil || stored.Version != 1 || created.Version != 1 {
		t.Fatalf("CreateProvider: %+v, %v", stored, err)
	}
	dup := NewProvider("30000001", "gm-b")
	wantErr(t, s.CreateProvider(ctx, dup), regie.Conflict, "provider_exists")
	if stored, _ := s.Provider(ctx, "30000001"); stored.Regions[0] != "gm-a" {
		t.Fatalf("a refused CreateProvider replaced the provider: %+v", stored)
	}
}

// newEvidence returns (in memory) submitted evidence of a provider.
func newEvidence(id, agb, region string, c matching.Criterion, submitted time.Time) *matching.Evidence {
	return &matching.Evidence{
		ID: id, ProviderAGB: agb, Region: region, Criterion: c, Reference: "ref " + id,
		ValidUntil: ValidTo, Status: matching.Submitted, SubmittedAt: submitted,
	}
}

func testUpdateProvider(t *testing.T, o Opener) {
	ctx := t.Context()
	at := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)

	t.Run("not found", func(t *testing.T) {
		s := o.fresh(t)
		called := false
		_, err := s.UpdateProvider(ctx, "10000001", at, func(*matching.Dossier) error { called = true; return nil })
		wantErr(t, err, regie.NotFound, "provider_not_found")
		if called {
			t.Fatal("UpdateProvider ran the function without a provider")
		}
	})

	t.Run("writes the provider and its evidence", func(t *testing.T) {
		s := o.fresh(t)
		must(t, s.PutProvider(ctx, NewProvider("10000001", "gm-a")), "PutProvider")
		got, err := s.UpdateProvider(ctx, "10000001", at, func(d *matching.Dossier) error {
			if d.Provider == nil || d.Provider.AGB != "10000001" || d.Provider.Version != 1 || len(d.Evidence) != 0 {
				t.Errorf("dossier %+v", d)
			}
			d.Provider.Name = "Nieuw"
			d.Evidence = append(d.Evidence,
				newEvidence("ev-2", "10000001", "gm-a", matching.CriterionVOG, at.Add(time.Minute)),
				newEvidence("ev-1", "10000001", "gm-b", matching.CriterionAGB, at))
			return nil
		})
		must(t, err, "UpdateProvider")
		if got.Name != "Nieuw" || got.Version != 2 {
			t.Fatalf("UpdateProvider returned %+v", got)
		}
		stored, err := s.Provider(ctx, "10000001")
		must(t, err, "Provider")
		if !reflect.DeepEqual(stored, got) {
			t.Fatalf("stored %+v\nreturned %+v", stored, got)
		}
		es, err := s.EvidenceOf(ctx, "10000001")
		must(t, err, "EvidenceOf")
		if len(es) != 2 || es[0].ID != "ev-1" || es[1].ID != "ev-2" {
			t.Fatalf("EvidenceOf = %+v, want ev-1, ev-2 (by submission time)", es)
		}
		want := newEvidence("ev-1", "10000001", "gm-b", matching.CriterionAGB, at)
		if !es[0].SubmittedAt.Equal(want.SubmittedAt) {
			t.Fatalf("SubmittedAt %v, want %v", es[0].SubmittedAt, want.SubmittedAt)
		}
		es[0].SubmittedAt = want.SubmittedAt
		if !reflect.DeepEqual(es[0], want) {
			t.Fatalf("evidence %+v\nwant %+v", es[0], want)
		}

		// The next update sees the evidence and may change it.
		_, err = s.UpdateProvider(ctx, "10000001", at, func(d *matching.Dossier) error {
			if len(d.Evidence) != 2 {
				t.Errorf("the dossier holds %d evidence items, want 2", len(d.Evidence))
			}
			d.Evidence[0].Status, d.Evidence[0].ReviewedBy = matching.Approved, "zk"
			return nil
		})
		must(t, err, "UpdateProvider")
		es, err = s.EvidenceOf(ctx, "10000001")
		must(t, err, "EvidenceOf")
		if es[0].Status != matching.Approved || es[0].ReviewedBy != "zk" || es[1].Status != matching.Submitted {
			t.Fatalf("after the review: %+v, %+v", es[0], es[1])
		}
		if none, err := s.EvidenceOf(ctx, "10000002"); err != nil || len(none) != 0 {
			t.Fatalf("EvidenceOf another provider = %v, %v", none, err)
		}
	})

	t.Run("an error writes nothing", func(t *testing.T) {
		s := o.fresh(t)
		must(t, s.PutProvider(ctx, NewProvider("10000001", "gm-a")), "PutProvider")
		boom := regie.Errorf(regie.Invalid, "boom", "no")
		_, err := s.UpdateProvider(ctx, "10000001", at, func(d *matching.Dossier) error {
			d.Provider.Name = "Nieuw"
			d.Provider.OpenPlaces = 0
			d.Evidence = append(d.Evidence, newEvidence("ev-1", "10000001", "gm-a", matching.CriterionVOG, at))
			return boom
		})
		if err != boom {
			t.Fatalf("UpdateProvider returned %v, want the function's error", err)
		}
		stored, _ := s.Provider(ctx, "10000001")
		if stored.Name != "Zorg 10000001" || stored.Version != 1 {
			t.Fatalf("a failed update wrote the provider: %+v", stored)
		}
		if es, _ := s.EvidenceOf(ctx, "10000001"); len(es) != 0 {
			t.Fatalf("a failed update wrote evidence: %+v", es)
		}
		_, err = s.UpdateProvider(ctx, "10000001", at, func(d *matching.Dossier) error {
			d.Provider.AGB = "10000002"
			return nil
		})
		if err == nil {
			t.Fatal("UpdateProvider let the function change the AGB code")
		}
		if _, err := s.Provider(ctx, "10000002"); regie.ErrorCode(err) != "provider_not_found" {
			t.Fatalf("a changed AGB code was stored: %v", err)
		}
	})

	t.Run("reads the criteria in the transaction", func(t *testing.T) {
		s := o.fresh(t)
		must(t, s.PutProvider(ctx, NewProvider("10000001", "gm-a")), "PutProvider")
		c := &matching.Criteria{Region: "gm-a", Required: []matching.Criterion{matching.CriterionAGB}, SmallScale: []matching.Criterion{}, WarnDays: 14}
		must(t, s.PutCriteria(ctx, c), "PutCriteria")
		_, err := s.UpdateProvider(ctx, "10000001", at, func(d *matching.Dossier) error {
			got, err := d.Criteria("gm-a")
			if err != nil || got == nil || got.WarnDays != 14 {
				t.Errorf("Criteria(gm-a) = %+v, %v", got, err)
			}
			if none, err := d.Criteria("gm-b"); err != nil || none != nil {
				t.Errorf("Criteria(gm-b) = %+v, %v; want nil", none, err)
			}
			return nil
		})
		must(t, err, "UpdateProvider")
	})
}

func testEvidence(t *testing.T, o Opener) {
	s := o.fresh(t)
	ctx := t.Context()
	at := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	if es, err := s.EvidenceInRegion(ctx, "gm-a"); err != nil || len(es) != 0 {
		t.Fatalf("EvidenceInRegion of an empty store = %v, %v", es, err)
	}
	for i, agb := range []string{"20000002", "10000001"} {
		must(t, s.PutProvider(ctx, NewProvider(agb, "gm-a")), "PutProvider")
		_, err := s.UpdateProvider(ctx, agb, at, func(d *matching.Dossier) error {
			d.Evidence = append(d.Evidence,
				newEvidence("ev-a-"+agb, agb, "gm-a", matching.CriterionVOG, at.Add(time.Duration(2-i)*time.Hour)),
				newEvidence("ev-b-"+agb, agb, "gm-b", matching.CriterionVOG, at))
			return nil
		})
		must(t, err, "UpdateProvider")
	}
	es, err := s.EvidenceInRegion(ctx, "gm-a")
	must(t, err, "EvidenceInRegion")
	var ids []string
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	if want := []string{"ev-a-10000001", "ev-a-20000002"}; !slices.Equal(ids, want) {
		t.Fatalf("EvidenceInRegion(gm-a) = %v, want %v (by submission time)", ids, want)
	}
	if es, _ := s.EvidenceInRegion(ctx, "gm"); len(es) != 0 {
		t.Fatalf("EvidenceInRegion(gm) matches a prefix: %v", es)
	}

	// PutEvidence imports items of several providers at once, or replaces them.
	imported := []*matching.Evidence{
		newEvidence("ev-c-30000003", "30000003", "gm-c", matching.CriterionKvK, at),
		newEvidence("ev-a-10000001", "10000001", "gm-a", matching.CriterionVOG, at.Add(2*time.Hour)),
	}
	imported[0].Status, imported[1].Status = matching.Approved, matching.Rejected
	must(t, s.PutEvidence(ctx, imported), "PutEvidence")
	mine, err := s.EvidenceOf(ctx, "10000001")
	must(t, err, "EvidenceOf")
	if len(mine) != 2 || mine[1].ID != "ev-a-10000001" || mine[1].Status != matching.Rejected {
		t.Fatalf("EvidenceOf after PutEvidence = %+v", mine)
	}
	if es, err := s.EvidenceInRegion(ctx, "gm-c"); err != nil || len(es) != 1 || es[0].Status != matching.Approved {
		t.Fatalf("EvidenceInRegion(gm-c) after PutEvidence = %+v, %v", es, err)
	}
	must(t, s.PutEvidence(ctx, nil), "PutEvidence of none")
}

func testCriteria(t *testing.T, o Opener) {
	s := o.fresh(t)
	ctx := t.Context()
	if c, err := s.CriteriaOf(ctx, "gm-a"); err != nil || c != nil {
		t.Fatalf("CriteriaOf before any = %+v, %v", c, err)
	}
	c := &matching.Criteria{
		Region: "gm-a", Required: []matching.Criterion{matching.CriterionVOG, matching.CriterionAGB},
		SmallScale: []matching.Criterion{matching.CriterionAGB}, SmallScaleMaxTeam: 5, WarnDays: 45,
		UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), UpdatedBy: "zk",
	}
	must(t, s.PutCriteria(ctx, c), "PutCriteria")
	got, err := s.CriteriaOf(ctx, "gm-a")
	must(t, err, "CriteriaOf")
	if !got.UpdatedAt.Equal(c.UpdatedAt) {
		t.Fatalf("UpdatedAt %v, want %v", got.UpdatedAt, c.UpdatedAt)
	}
	got.UpdatedAt = c.UpdatedAt
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("CriteriaOf = %+v\nwant %+v", got, c)
	}
	repl := &matching.Criteria{Region: "gm-a", Required: []matching.Criterion{matching.CriterionKvK}, SmallScale: []matching.Criterion{}, WarnDays: 30}
	must(t, s.PutCriteria(ctx, repl), "PutCriteria")
	if got, _ := s.CriteriaOf(ctx, "gm-a"); !slices.Equal(got.Required, repl.Required) {
		t.Fatalf("after replacing: %+v", got)
	}
	if other, _ := s.CriteriaOf(ctx, "gm-b"); other != nil {
		t.Fatalf("CriteriaOf another region = %+v", other)
	}
}

func newWaiting(id, voucherID, product, agb string, created time.Time) *matching.Waiting {
	return &matching.Waiting{
		ID: id, VoucherID: voucherID, Product: product, ProviderAGB: agb, Subject: "subj-" + voucherID,
		Region: "gm-a", Urgency: matching.Preference, Status: matching.WaitingOpen, CreatedAt: created,
	}
}

func waitingIDs(ws []*matching.Waiting) []string {
	ids := make([]string, 0, len(ws))
	for _, w := range ws {
		ids = append(ids, w.ID)
	}
	return ids
}

func testWaiting(t *testing.T, o Opener) {
	ctx := t.Context()
	base := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)

	t.Run("create, read, close", func(t *testing.T) {
		s := o.fresh(t)
		_, err := s.WaitingEntry(ctx, "wl-1")
		wantErr(t, err, regie.NotFound, "waiting_not_found")
		if ws, err := s.WaitingByVoucher(ctx, "v-1"); err != nil || len(ws) != 0 {
			t.Fatalf("WaitingByVoucher of an empty store = %v, %v", ws, err)
		}
		w := newWaiting("wl-1", "v-1", ProductHour, "P-1", base)
		w.Urgency = matching.Urgent
		must(t, s.CreateWaiting(ctx, w), "CreateWaiting")
		got, err := s.WaitingEntry(ctx, "wl-1")
		must(t, err, "WaitingEntry")
		if !got.CreatedAt.Equal(w.CreatedAt) {
			t.Fatalf("CreatedAt %v", got.CreatedAt)
		}
		got.CreatedAt = w.CreatedAt
		if !reflect.DeepEqual(got, w) {
			t.Fatalf("WaitingEntry = %+v\nwant %+v", got, w)
		}
		wantErr(t, s.CreateWaiting(ctx, newWaiting("wl-1", "v-9", ProductHour, "P-9", base)), regie.Conflict, "waiting_exists")
		wantErr(t, s.CreateWaiting(ctx, newWaiting("wl-2", "v-1", ProductHour, "P-1", base)), regie.Conflict, "waiting_active")
		// Another product or provider of the voucher is free.
		must(t, s.CreateWaiting(ctx, newWaiting("wl-3", "v-1", ProductDagdeel, "P-1", base.Add(time.Minute))), "CreateWaiting")
		must(t, s.CreateWaiting(ctx, newWaiting("wl-4", "v-1", ProductHour, "P-2", base.Add(2*time.Minute))), "CreateWaiting")

		closed, err := s.CloseWaiting(ctx, "wl-1", matching.WaitingWithdrawn, base.Add(time.Hour))
		must(t, err, "CloseWaiting")
		if closed.Status != matching.WaitingWithdrawn || !closed.ClosedAt.Equal(base.Add(time.Hour)) {
			t.Fatalf("CloseWaiting = %+v", closed)
		}
		for _, to := range []matching.WaitingStatus{matching.WaitingWithdrawn, matching.WaitingChosen} {
			_, err = s.CloseWaiting(ctx, "wl-1", to, base.Add(2*time.Hour))
			wantErr(t, err, regie.Conflict, "waiting_closed")
		}
		_, err = s.CloseWaiting(ctx, "wl-nope", matching.WaitingChosen, base)
		wantErr(t, err, regie.NotFound, "waiting_not_found")
		// Closed: the line and provider are free again.
		must(t, s.CreateWaiting(ctx, newWaiting("wl-5", "v-1", ProductHour, "P-1", base.Add(3*time.Minute))), "CreateWaiting after closing")
		if _, err := s.CloseWaiting(ctx, "wl-5", matching.WaitingChosen, base.Add(time.Hour)); err != nil {
			t.Fatalf("CloseWaiting as chosen: %v", err)
		}
	})

	t.Run("by voucher and by provider, oldest first", func(t *testing.T) {
		s := o.fresh(t)
		plan := []struct {
			id, voucher, agb string
			created          time.Duration
		}{
			{"wl-9", "v-1", "P-1", 0},
			{"wl-8", "v-2", "P-1", time.Hour},
			{"wl-7", "v-1", "P-2", 2 * time.Hour},
			{"wl-6", "v-10", "P-10", 3 * time.Hour},
		}
		for _, i := range []int{2, 0, 3, 1} {
			pl := plan[i]
			must(t, s.CreateWaiting(ctx, newWaiting(pl.id, pl.voucher, ProductHour, pl.agb, base.Add(pl.created))), "CreateWaiting")
		}
		for _, tc := range []struct {
			what string
			get  func() ([]*matching.Waiting, error)
			want []string
		}{
			{"WaitingByVoucher v-1", func() ([]*matching.Waiting, error) { return s.WaitingByVoucher(ctx, "v-1") }, []string{"wl-9", "wl-7"}},
			{"WaitingByVoucher v-10", func() ([]*matching.Waiting, error) { return s.WaitingByVoucher(ctx, "v-10") }, []string{"wl-6"}},
			{"WaitingByProvider P-1", func() ([]*matching.Waiting, error) { return s.WaitingByProvider(ctx, "P-1") }, []string{"wl-9", "wl-8"}},
			{"WaitingByProvider P-none", func() ([]*matching.Waiting, error) { return s.WaitingByProvider(ctx, "P-none") }, []string{}},
		} {
			ws, err := tc.get()
			must(t, err, tc.what)
			if got := waitingIDs(ws); !slices.Equal(got, tc.want) {
				t.Errorf("%s = %v, want %v", tc.what, got, tc.want)
			}
		}
	})

	t.Run("a place opening notifies the list", func(t *testing.T) {
		s := o.fresh(t)
		p := NewProvider("P-1", "gm-a")
		p.OpenPlaces = 0
		must(t, s.PutProvider(ctx, p), "PutProvider")
		for i, id := range []string{"wl-1", "wl-2", "wl-3"} {
			must(t, s.CreateWaiting(ctx, newWaiting(id, "v-"+id, ProductHour, "P-1", base.Add(time.Duration(i)*time.Minute))), "CreateWaiting")
		}
		must(t, s.CreateWaiting(ctx, newWaiting("wl-other", "v-x", ProductHour, "P-2", base)), "CreateWaiting")
		_, err := s.CloseWaiting(ctx, "wl-3", matching.WaitingWithdrawn, base.Add(time.Hour))
		must(t, err, "CloseWaiting")
		setPlaces := func(n int, at time.Time) {
			t.Helper()
			_, err := s.UpdateProvider(ctx, "P-1", at, func(d *matching.Dossier) error {
				d.Provider.OpenPlaces = n
				return nil
			})
			must(t, err, "UpdateProvider")
		}
		state := func() string {
			t.Helper()
			var out []string
			for _, id := range []string{"wl-1", "wl-2", "wl-3", "wl-other"} {
				w, err := s.WaitingEntry(ctx, id)
				must(t, err, "WaitingEntry")
				notified := "-"
				if !w.NotifiedAt.IsZero() {
					notified = fmt.Sprintf("%s/%d", w.NotifiedAt.Sub(base), w.OpenPlaces)
				}
				out = append(out, fmt.Sprintf("%s:%s:%s", id, w.Status, notified))
			}
			return fmt.Sprint(out)
		}
		setPlaces(0, base.Add(2*time.Hour))
		if got, want := state(), "[wl-1:waiting:- wl-2:waiting:- wl-3:withdrawn:- wl-other:waiting:-]"; got != want {
			t.Fatalf("0 → 0: %s, want %s", got, want)
		}
		setPlaces(2, base.Add(3*time.Hour))
		if got, want := state(), "[wl-1:notified:3h0m0s/2 wl-2:notified:3h0m0s/2 wl-3:withdrawn:- wl-other:waiting:-]"; got != want {
			t.Fatalf("0 → 2: %s, want %s", got, want)
		}
		setPlaces(3, base.Add(4*time.Hour))
		if got, want := state(), "[wl-1:notified:3h0m0s/2 wl-2:notified:3h0m0s/2 wl-3:withdrawn:- wl-other:waiting:-]"; got != want {
			t.Fatalf("2 → 3: %s, want %s", got, want)
		}
		_, err = s.CloseWaiting(ctx, "wl-2", matching.WaitingChosen, base.Add(5*time.Hour))
		must(t, err, "CloseWaiting")
		setPlaces(0, base.Add(6*time.Hour))
		setPlaces(1, base.Add(7*time.Hour))
		if got, want := state(), "[wl-1:notified:7h0m0s/1 wl-2:chosen:3h0m0s/2 wl-3:withdrawn:- wl-other:waiting:-]"; got != want {
			t.Fatalf("0 → 1 again: %s, want %s", got, want)
		}
		// PutProvider is an import: it notifies no one.
		setPlaces(0, base.Add(8*time.Hour))
		p.OpenPlaces = 4
		must(t, s.PutProvider(ctx, p), "PutProvider")
		if got, want := state(), "[wl-1:notified:7h0m0s/1 wl-2:chosen:3h0m0s/2 wl-3:withdrawn:- wl-other:waiting:-]"; got != want {
			t.Fatalf("PutProvider 0 → 4: %s, want %s", got, want)
		}
	})
}
