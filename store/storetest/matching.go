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
	if !g.CreatedAt.Equal(w.CreatedAt) || !g.DecidedAt.Equal(w.DecidedAt) {
		return fmt.Sprintf("times %v/%v, want %v/%v", g.CreatedAt, g.DecidedAt, w.CreatedAt, w.DecidedAt)
	}
	g.CreatedAt, g.DecidedAt = w.CreatedAt, w.DecidedAt
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
