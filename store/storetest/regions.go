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
		_, err = s.Figures(ctx, "gm-a")
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
			fig, err := s.Figures(ctx, r.ID)
			must(t, err, "Figures")
			wantFig := settlement.Figures{Region: r.ID, Name: r.Name, Year: r.Year, Budget: r.Budget, Remaining: r.Budget}
			if fig != wantFig {
				t.Errorf("Figures(%s) = %+v, want %+v", r.ID, fig, wantFig)
			}
			if entries := ReadJournal(t, s, r.ID); len(entries) != 0 {
				t.Errorf("journal of a new region has %d entries", len(entries))
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
		r := f.Region
		r.Name, r.Funder, r.Year, r.Budget = "Nieuwe naam", "other funder", 2027, 1_000_00
		must(t, s.PutRegion(ctx, r), "PutRegion")
		fig, err := s.Figures(ctx, r.ID)
		must(t, err, "Figures")
		want := settlement.Figures{Region: r.ID, Name: r.Name, Year: r.Year, Budget: r.Budget,
			Settled: settled, Remaining: r.Budget - settled, Claims: 2}
		if fig != want {
			t.Fatalf("Figures after PutRegion = %+v, want %+v", fig, want)
		}
		regions, err := s.Regions(ctx)
		must(t, err, "Regions")
		if len(regions) != 1 || regions[0] != r {
			t.Fatalf("Regions after a replacement = %+v, want [%+v]", regions, r)
		}
		after := CheckLedger(t, s, r.ID, f.Voucher.ID)
		if len(after) != len(journal) || after[len(after)-1].Hash != journal[len(journal)-1].Hash {
			t.Fatalf("PutRegion changed the journal")
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
