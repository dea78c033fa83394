package storetest

import (
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store"
)

// openChecked opens a dispute, which must succeed, and checks that it is
// recorded as open and that no money moved.
func openChecked(t testing.TB, s store.Store, agb, claimID, reason string, now time.Time, voucherIDs ...string) settlement.ClaimRecord {
	t.Helper()
	rec0 := claimRecord(t, s, agb, claimID)
	var rec settlement.ClaimRecord
	unchanged(t, s, "opening a dispute", func() {
		var err error
		rec, err = s.OpenDispute(t.Context(), agb, claimID, reason, now)
		must(t, err, "OpenDispute "+claimID)
	}, voucherIDs...)
	want := settlement.Dispute{Status: settlement.DisputeOpen, Reason: reason, OpenedAt: now.UTC()}
	for _, r := range []settlement.ClaimRecord{rec, claimRecord(t, s, agb, claimID)} {
		if r.Dispute == nil || r.Dispute.Status != want.Status || r.Dispute.Reason != want.Reason || !r.Dispute.OpenedAt.Equal(now) ||
			r.Dispute.Resolution != "" || r.Dispute.ResolvedBy != "" || !r.Dispute.ResolvedAt.IsZero() {
			t.Fatalf("claim %s after OpenDispute: dispute %+v, want %+v", claimID, r.Dispute, want)
		}
		if r.State != rec0.State || r.Paid != rec0.Paid || DiffDecision(r.Decision, rec0.Decision) != "" {
			t.Fatalf("OpenDispute changed claim %s: %+v, was %+v", claimID, r, rec0)
		}
	}
	return rec
}

// disputed returns the claim ids of the region's open disputes, in order.
func disputed(t testing.TB, s store.Store, region string) []string {
	t.Helper()
	recs, err := s.Disputes(t.Context(), region)
	must(t, err, "Disputes")
	ids := []string{}
	for _, r := range recs {
		if r.Dispute == nil || r.Dispute.Status != settlement.DisputeOpen || r.Region != region {
			t.Fatalf("Disputes(%s) lists %s with dispute %+v", region, r.ClaimID, r.Dispute)
		}
		ids = append(ids, r.ClaimID)
	}
	return ids
}

func wantIDs(t testing.TB, what string, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
	}
}

func testDisputes(t *testing.T, o Opener) {
	const day = 24 * time.Hour

	t.Run("within the window, by default 14 days", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		for i := range 2 {
			SettleAccepted(t, s, f.Claim("c-"+string(rune('1'+i)), Day(i)), f.Now)
		}
		openChecked(t, s, f.Provider.AGB, "c-1", "niet geleverd", f.Now.Add(14*day), f.Voucher.ID)
		unchanged(t, s, "a dispute after the window", func() {
			_, err := s.OpenDispute(ctx, f.Provider.AGB, "c-2", "te laat", f.Now.Add(14*day+time.Second))
			wantErr(t, err, regie.Conflict, "dispute_window_closed")
		}, f.Voucher.ID)
		if rec := claimRecord(t, s, f.Provider.AGB, "c-2"); rec.Dispute != nil {
			t.Fatalf("a refused dispute was recorded: %+v", rec.Dispute)
		}
		wantIDs(t, "open disputes", disputed(t, s, f.Region.ID), "c-1")
	})

	t.Run("the window of the region's policy", func(t *testing.T) {
		s, f := o.withRegion(t, f0Budget, settlement.Policy{DisputeDays: 3})
		ctx := t.Context()
		SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
		SettleAccepted(t, s, f.Claim("c-2", Day(2)), f.Now)
		openChecked(t, s, f.Provider.AGB, "c-1", "niet geleverd", f.Now.Add(3*day), f.Voucher.ID)
		_, err := s.OpenDispute(ctx, f.Provider.AGB, "c-2", "niet geleverd", f.Now.Add(3*day+time.Second))
		wantErr(t, err, regie.Conflict, "dispute_window_closed")
	})

	t.Run("what cannot be disputed", func(t *testing.T) {
		s, f := o.withRegion(t, 100_00, settlement.Policy{Kind: settlement.Hold, HoldThreshold: 100_00})
		ctx := t.Context()
		bad := f.Claim("c-bad", Day(5))
		bad.UnitPrice = ProviderPrice + 1
		SettleRejected(t, s, bad, f.Now, settlement.ReasonPriceAboveOwnTariff, f.Region.ID)
		SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
		SettleAccepted(t, s, priced(f.Claim("c-2", Day(2)), 50, ProviderPrice), f.Now)
		SettleHeld(t, s, f.Claim("h-1", Day(3)), f.Now)
		openChecked(t, s, f.Provider.AGB, "c-1", "niet geleverd", f.Now, f.Voucher.ID)
		openChecked(t, s, f.Provider.AGB, "h-1", "niet geleverd", f.Now, f.Voucher.ID) // held claims too
		reverseChecked(t, s, f.Provider.AGB, "c-2", "fout", "provider:"+f.Provider.AGB, f.Now)
		unchanged(t, s, "refused disputes", func() {
			for _, id := range []string{"c-bad", "c-1", "c-2"} { // rejected, disputed already, reversed
				_, err := s.OpenDispute(ctx, f.Provider.AGB, id, "nogmaals", f.Now)
				wantErr(t, err, regie.Conflict, "claim_not_disputable")
			}
			_, err := s.OpenDispute(ctx, f.Provider.AGB, "c-missing", "?", f.Now)
			wantErr(t, err, regie.NotFound, "claim_not_found")
		}, f.Voucher.ID)
		if rec := claimRecord(t, s, f.Provider.AGB, "c-1"); rec.Dispute == nil || rec.Dispute.Reason != "niet geleverd" {
			t.Fatalf("the first dispute was replaced: %+v", rec.Dispute)
		}
		wantIDs(t, "open disputes", disputed(t, s, f.Region.ID), "c-1", "h-1")
	})

	t.Run("dismissed: the claim stands", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
		opened := openChecked(t, s, f.Provider.AGB, "c-1", "niet geleverd", f.Now, f.Voucher.ID)
		at := f.Now.Add(day)
		var rec settlement.ClaimRecord
		unchanged(t, s, "a dismissal", func() {
			var err error
			rec, err = s.ResolveDispute(ctx, f.Provider.AGB, "c-1", false, "geleverd volgens rooster", funder, at)
			must(t, err, "ResolveDispute")
		}, f.Voucher.ID)
		want := settlement.Dispute{Status: settlement.DisputeDismissed, Reason: "niet geleverd", OpenedAt: opened.Dispute.OpenedAt,
			Resolution: "geleverd volgens rooster", ResolvedBy: funder, ResolvedAt: at.UTC()}
		for _, r := range []settlement.ClaimRecord{rec, claimRecord(t, s, f.Provider.AGB, "c-1")} {
			if r.State != settlement.StateSettled || r.Reversal != nil || r.Dispute == nil || !sameDispute(*r.Dispute, want) {
				t.Fatalf("claim after a dismissal: state %s, dispute %+v, want %+v", r.State, r.Dispute, want)
			}
		}
		wantIDs(t, "open disputes", disputed(t, s, f.Region.ID))
		unchanged(t, s, "a second resolution and a second dispute", func() {
			_, err := s.ResolveDispute(ctx, f.Provider.AGB, "c-1", true, "toch", funder, at)
			wantErr(t, err, regie.Conflict, "dispute_not_open")
			_, err = s.OpenDispute(ctx, f.Provider.AGB, "c-1", "nogmaals", at)
			wantErr(t, err, regie.Conflict, "claim_not_disputable")
		}, f.Voucher.ID)
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
	})

	t.Run("upheld: the claim is reversed", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
		SettleAccepted(t, s, f.Claim("c-2", Day(2)), f.Now)
		opened := openChecked(t, s, f.Provider.AGB, "c-1", "niet geleverd", f.Now, f.Voucher.ID)
		at := f.Now.Add(day)
		rec := reversalChecked(t, s, f.Provider.AGB, "c-1", funder, at, func() (settlement.ClaimRecord, error) {
			return s.ResolveDispute(ctx, f.Provider.AGB, "c-1", true, "cliënt was opgenomen", funder, at)
		})
		want := settlement.Dispute{Status: settlement.DisputeUpheld, Reason: "niet geleverd", OpenedAt: opened.Dispute.OpenedAt,
			Resolution: "cliënt was opgenomen", ResolvedBy: funder, ResolvedAt: at.UTC()}
		for _, r := range []settlement.ClaimRecord{rec, claimRecord(t, s, f.Provider.AGB, "c-1")} {
			if r.Dispute == nil || !sameDispute(*r.Dispute, want) {
				t.Fatalf("dispute after upholding: %+v, want %+v", r.Dispute, want)
			}
		}
		wantIDs(t, "open disputes", disputed(t, s, f.Region.ID))
		unchanged(t, s, "resolving a resolved dispute", func() {
			_, err := s.ResolveDispute(ctx, f.Provider.AGB, "c-1", true, "nogmaals", funder, at)
			wantErr(t, err, regie.Conflict, "dispute_not_open")
			_, err = s.ResolveDispute(ctx, f.Provider.AGB, "c-2", false, "geen geschil", funder, at)
			wantErr(t, err, regie.Conflict, "dispute_not_open")
			_, err = s.ResolveDispute(ctx, f.Provider.AGB, "c-missing", false, "?", funder, at)
			wantErr(t, err, regie.NotFound, "claim_not_found")
		}, f.Voucher.ID)
		SettleAccepted(t, s, f.Claim("c-1b", Day(1)), at) // the day may be claimed again
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
	})

	t.Run("open disputes, oldest first, per region", func(t *testing.T) {
		s := o.fresh(t)
		fa, fb := NewFixture("a"), NewFixture("b")
		fa.Put(t, s)
		fb.Put(t, s)
		for i := range 4 {
			SettleAccepted(t, s, fa.Claim("c-"+string(rune('1'+i)), Day(i)), fa.Now)
		}
		SettleAccepted(t, s, fb.Claim("c-1", Day(1)), fb.Now)
		wantIDs(t, "open disputes before any", disputed(t, s, fa.Region.ID))
		// Opened in an order that is neither id order nor claim order.
		openChecked(t, s, fa.Provider.AGB, "c-3", "x", fa.Now.Add(time.Hour))
		openChecked(t, s, fb.Provider.AGB, "c-1", "x", fb.Now.Add(90*time.Minute))
		openChecked(t, s, fa.Provider.AGB, "c-1", "x", fa.Now.Add(2*time.Hour))
		openChecked(t, s, fa.Provider.AGB, "c-4", "x", fa.Now.Add(3*time.Hour))
		wantIDs(t, "open disputes of a", disputed(t, s, fa.Region.ID), "c-3", "c-1", "c-4")
		wantIDs(t, "open disputes of b", disputed(t, s, fb.Region.ID), "c-1")
		_, err := s.ResolveDispute(t.Context(), fa.Provider.AGB, "c-1", false, "geleverd", funder, fa.Now.Add(4*time.Hour))
		must(t, err, "ResolveDispute")
		wantIDs(t, "open disputes after a dismissal", disputed(t, s, fa.Region.ID), "c-3", "c-4")
		// The provider gives in and reverses a disputed claim: no longer open.
		rec := reverseChecked(t, s, fa.Provider.AGB, "c-4", "excuses", "provider:"+fa.Provider.AGB, fa.Now.Add(5*time.Hour))
		if rec.Dispute == nil || rec.Dispute.Status == settlement.DisputeOpen {
			t.Fatalf("dispute of a reversed claim: %+v", rec.Dispute)
		}
		wantIDs(t, "open disputes after a reversal", disputed(t, s, fa.Region.ID), "c-3")
		wantIDs(t, "open disputes of b", disputed(t, s, fb.Region.ID), "c-1")
		CheckLedger(t, s, fa.Region.ID, fa.Voucher.ID)
		CheckLedger(t, s, fb.Region.ID, fb.Voucher.ID)
	})
}

// f0Budget is the budget of a fixture region.
var f0Budget = NewFixture("x").Region.Budget

func sameDispute(got, want settlement.Dispute) bool {
	if !got.OpenedAt.Equal(want.OpenedAt) || !got.ResolvedAt.Equal(want.ResolvedAt) {
		return false
	}
	got.OpenedAt, got.ResolvedAt = want.OpenedAt, want.ResolvedAt
	return got == want
}
