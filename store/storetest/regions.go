package storetest

import (
	"errors"
	"reflect"
	"testing"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
)

func testRegions(t *testing.T, o Opener) {
	t.Run("put, list, figures", func(t *testing.T) {
		s := o.fresh(t)
		ctx := t.Context()
		none, err := s.Regions(ctx)
		must(t, err, "Regions")
		if len(none) != 0 {
			t.Fatalf("Regions of an empty store = %v", none)
		}
		if ok, err := s.HasRegion(ctx, "gm-a"); err != nil || ok {
			t.Fatalf("HasRegion of an empty store = %v, %v", ok, err)
		}
		_, err = Figures(ctx, s, "gm-a")
		wantErr(t, err, regie.NotFound, "region_not_found")

		regions := []settlement.Region{
			{ID: "gm-c", Name: "C", Funder: "fc", Year: 2026, Budget: 300_00},
			{ID: "gm-a", Name: "A", Funder: "fa", Year: 2026, Budget: 100_00},
			{ID: "gm-b", Name: "B", Funder: "fb", Year: 2025, Budget: 200_00},
		}
		for _, r := range regions {
			must(t, s.PutRegion(ctx, r), "PutRegion")
		}
		got, err := s.Regions(ctx)
		must(t, err, "Regions")
		want := []settlement.Region{regions[1], regions[2], regions[0]}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Regions = %+v\nwant %+v", got, want)
		}
		for _, r := range regions {
			if ok, err := s.HasRegion(ctx, r.ID); err != nil || !ok {
				t.Errorf("HasRegion(%s) = %v, %v", r.ID, ok, err)
			}
			fig, err := Figures(ctx, s, r.ID)
			must(t, err, "Figures")
			wantFig := settlement.Figures{Region: r.ID, Name: r.Name, Year: r.Year, Budget: r.Budget,
				Remaining: r.Budget, Free: r.Budget, Revision: 1}
			if fig != wantFig {
				t.Errorf("Figures(%s) = %+v, want %+v", r.ID, fig, wantFig)
			}
			// The initial budget is journalled as revision 1 by "system".
			entries := CheckJournal(t, s, r.ID)
			if len(entries) != 1 {
				t.Fatalf("journal of a new region has %d entries, want 1 (the initial budget)", len(entries))
			}
			e := entries[0]
			wantPostings := []settlement.Posting{{Account: settlement.RegionAccount(r.ID, "budget"), Amount: r.Budget}}
			if e.Type != settlement.EntryRevision || e.Amount != r.Budget || e.By != "system" || e.PrevHash != "" ||
				!reflect.DeepEqual(e.Postings, wantPostings) {
				t.Errorf("journal of a new region: %+v, want a revision of %s by system posting %+v", e, r.Budget, wantPostings)
			}
			revs, err := s.Revisions(ctx, r.ID)
			must(t, err, "Revisions")
			if len(revs) != 1 || revs[0].Version != 1 || revs[0].Budget != r.Budget || revs[0].Delta != r.Budget ||
				revs[0].Region != r.ID || revs[0].By != "system" || revs[0].Reason == "" {
				t.Errorf("Revisions(%s) = %+v, want version 1 of %s", r.ID, revs, r.Budget)
			}
		}
		if ok, err := s.HasRegion(ctx, "gm"); err != nil || ok {
			t.Errorf("HasRegion of a prefix = %v, %v", ok, err)
		}
	})

	t.Run("replacing a region keeps what was settled", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		var settled regie.Cents
		for i, day := range []regie.Date{Day(1), Day(2)} {
			d, _, err := s.Settle(ctx, f.Claim("c-"+day.String(), day), f.Now)
			must(t, err, "Settle")
			if d.Status != settlement.Accepted {
				t.Fatalf("claim %d: %s %s", i, d.Status, d.Reason)
			}
			settled += d.Amount
		}
		journal := ReadJournal(t, s, f.Region.ID)
		fig0, err := Figures(ctx, s, f.Region.ID)
		must(t, err, "Figures")
		r := f.Region
		r.Name, r.Funder, r.Year, r.Budget = "Nieuwe naam", "other funder", 2027, 1_000_00
		must(t, s.PutRegion(ctx, r), "PutRegion")
		fig, err := Figures(ctx, s, r.ID)
		must(t, err, "Figures")
		// The accepted choice committed the hour line; the two claims used part of it.
		committed := f.Voucher.Line(ProductHour).MaxAmount - settled
		want := settlement.Figures{Region: r.ID, Name: r.Name, Year: r.Year, Budget: r.Budget,
			Settled: settled, Committed: committed, Remaining: r.Budget - settled, Free: r.Budget - settled - committed,
			Paid: settled, Claims: 2, Revision: fig0.Revision + 1}
		if fig != want {
			t.Fatalf("Figures after PutRegion = %+v, want %+v", fig, want)
		}
		regions, err := s.Regions(ctx)
		must(t, err, "Regions")
		if len(regions) != 1 || regions[0] != r {
			t.Fatalf("Regions after a replacement = %+v, want [%+v]", regions, r)
		}
		CheckLedger(t, s, r.ID, f.Voucher.ID)
		// The journal keeps every entry and gains one: the budget revision.
		after := ReadJournal(t, s, r.ID)
		if len(after) != len(journal)+1 || !reflect.DeepEqual(after[:len(journal)], journal) {
			t.Fatalf("PutRegion changed the journal: %d entries, then %d", len(journal), len(after))
		}
		e := after[len(journal)]
		if e.Type != settlement.EntryRevision || e.Amount != r.Budget-f.Region.Budget || e.By != "system" ||
			!reflect.DeepEqual(e.Postings, []settlement.Posting{{Account: settlement.RegionAccount(r.ID, "budget"), Amount: r.Budget - f.Region.Budget}}) {
			t.Fatalf("entry of the new budget: %+v, want a revision of %s", e, r.Budget-f.Region.Budget)
		}
		revs, err := s.Revisions(ctx, r.ID)
		must(t, err, "Revisions")
		if len(revs) != 2 || revs[1].Version != 2 || revs[1].Budget != r.Budget || revs[1].Delta != r.Budget-f.Region.Budget {
			t.Fatalf("Revisions = %+v, want version 2 of %s", revs, r.Budget)
		}
		// The same region again changes nothing: no revision without a new budget.
		must(t, s.PutRegion(ctx, r), "PutRegion")
		if again := ReadJournal(t, s, r.ID); len(again) != len(after) {
			t.Fatalf("PutRegion with the same budget added %d journal entries", len(again)-len(after))
		}
		if fig2, err := Figures(ctx, s, r.ID); err != nil || fig2 != want {
			t.Fatalf("Figures after the same PutRegion = %+v, %v, want %+v", fig2, err, want)
		}
	})

	t.Run("journal stops at the first error of fn", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		for i := range 3 {
			d, _, err := s.Settle(ctx, f.Claim("c-"+Day(i).String(), Day(i)), f.Now)
			must(t, err, "Settle")
			if d.Status != settlement.Accepted {
				t.Fatalf("claim %d: %s %s", i, d.Status, d.Reason)
			}
		}
		stop := errors.New("stop here")
		var seen []uint64
		err := s.Journal(ctx, f.Region.ID, func(e settlement.Entry) error {
			seen = append(seen, e.Seq)
			if len(seen) == 2 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) {
			t.Fatalf("Journal returned %v, want the error of fn", err)
		}
		if !reflect.DeepEqual(seen, []uint64{1, 2}) {
			t.Fatalf("Journal called fn with %v, want [1 2] and then stop", seen)
		}
	})
}
