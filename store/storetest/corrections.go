package storetest

import (
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/voucher"
)

func testCorrections(t *testing.T, o Opener) {
	t.Run("reverse a settled claim, then claim the period again", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		first := SettleAccepted(t, s, period(f.Claim("c-1", Day(10)), Day(10), Day(12)), f.Now)
		SettleAccepted(t, s, f.Claim("c-2", Day(13)), f.Now)
		by := "provider:" + f.Provider.AGB
		reverseChecked(t, s, f.Provider.AGB, "c-1", "verkeerde periode", by, f.Now.Add(time.Hour))
		// The period is free again, under a new claim id; the old id keeps its decision.
		SettleAccepted(t, s, period(f.Claim("c-1b", Day(10)), Day(10), Day(12)), f.Now.Add(2*time.Hour))
		d, replay, err := s.Settle(t.Context(), period(f.Claim("c-1", Day(10)), Day(10), Day(12)), f.Now.Add(3*time.Hour))
		must(t, err, "Settle")
		if diff := DiffDecision(d, first); !replay || diff != "" {
			t.Fatalf("retry of the reversed claim id: replay %v, %s", replay, diff)
		}
		recs, err := s.VoucherClaims(t.Context(), f.Voucher.ID)
		must(t, err, "VoucherClaims")
		states := map[string]settlement.ClaimState{}
		for _, r := range recs {
			states[r.ClaimID] = r.State
		}
		if len(recs) != 3 || states["c-1"] != settlement.StateReversed || states["c-1b"] != settlement.StateSettled || states["c-2"] != settlement.StateSettled {
			t.Fatalf("VoucherClaims states = %v, want c-1 reversed, c-1b and c-2 settled", states)
		}
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
	})

	t.Run("a reversal gives the units back", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		SettleAccepted(t, s, priced(f.Claim("c-w1", Day(0)), HoursPerWeek, 100), f.Now) // the first week in full
		SettleRejected(t, s, priced(f.Claim("c-w2", Day(3)), 100, 100), f.Now, settlement.ReasonUnitsAboveVolume, f.Region.ID)
		reverseChecked(t, s, f.Provider.AGB, "c-w1", "te veel uren", "provider:"+f.Provider.AGB, f.Now)
		SettleAccepted(t, s, priced(f.Claim("c-w3", Day(3)), HoursPerWeek, 100), f.Now)
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
	})

	t.Run("reverse held and released claims", func(t *testing.T) {
		s, f := o.withRegion(t, 100_00, settlement.Policy{Kind: settlement.Hold, HoldThreshold: 100_00})
		by := "provider:" + f.Provider.AGB
		SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
		SettleHeld(t, s, f.Claim("h-1", Day(2)), f.Now)
		SettleHeld(t, s, f.Claim("h-2", Day(3)), f.Now)
		SettleHeld(t, s, f.Claim("h-3", Day(4)), f.Now)
		reverseChecked(t, s, f.Provider.AGB, "h-1", "dubbel", by, f.Now)
		// The reversed claim has left the held queue: the oldest held is h-2.
		releaseChecked(t, s, f, 60_00, f.Now, "h-2")
		reverseChecked(t, s, f.Provider.AGB, "h-2", "toch niet geleverd", by, f.Now) // released, so settled and paid
		// h-1's day is free again; 60.00 settled and 60.00 held leave no room below the threshold.
		SettleHeld(t, s, f.Claim("c-2", Day(2)), f.Now)
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
	})

	t.Run("what cannot be reversed", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		by := "provider:" + f.Provider.AGB
		bad := f.Claim("c-bad", Day(5))
		bad.UnitPrice = ProviderPrice + 1
		SettleRejected(t, s, bad, f.Now, settlement.ReasonPriceAboveOwnTariff, f.Region.ID)
		SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
		reverseChecked(t, s, f.Provider.AGB, "c-1", "fout", by, f.Now)
		other := putOther(t, s, f)
		unchanged(t, s, "refused reversals", func() {
			_, err := s.Reverse(ctx, f.Provider.AGB, "c-bad", "fout", by, f.Now)
			wantErr(t, err, regie.Conflict, "claim_not_reversible")
			_, err = s.Reverse(ctx, f.Provider.AGB, "c-1", "nog eens", by, f.Now)
			wantErr(t, err, regie.Conflict, "claim_not_reversible")
			_, err = s.Reverse(ctx, f.Provider.AGB, "c-missing", "fout", by, f.Now)
			wantErr(t, err, regie.NotFound, "claim_not_found")
			// Claim ids are per provider: another provider cannot reverse this one.
			_, err = s.Reverse(ctx, other.AGB, "c-1", "fout", "provider:"+other.AGB, f.Now)
			wantErr(t, err, regie.NotFound, "claim_not_found")
		}, f.Voucher.ID)
		if rec := claimRecord(t, s, f.Provider.AGB, "c-bad"); rec.State != settlement.StateRejected || rec.Reversal != nil {
			t.Fatalf("rejected claim after a refused reversal: %+v", rec)
		}
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
	})

	t.Run("VoucherClaims lists every recorded claim, oldest first", func(t *testing.T) {
		// Ledger.VoucherClaims: "every recorded claim on a voucher, oldest
		// first" — the client's statement, rejections included.
		s, f := o.withRegion(t, 200_00, settlement.Policy{Kind: settlement.Hold, HoldThreshold: 100_00})
		f.AddVoucher(t, s, "v-2")
		bad := f.Claim("c-rejected", Day(5))
		bad.UnitPrice = ProviderPrice + 1
		SettleAccepted(t, s, f.Claim("c-late", Day(1)), f.Now.Add(3*time.Hour))
		SettleAccepted(t, s, f.Claim("c-early", Day(2)), f.Now)
		SettleRejected(t, s, bad, f.Now.Add(time.Hour), settlement.ReasonPriceAboveOwnTariff, f.Region.ID)
		SettleAccepted(t, s, f.ClaimOn("v-2", "c-elsewhere", Day(1)), f.Now.Add(2*time.Hour))
		SettleHeld(t, s, f.Claim("c-held", Day(3)), f.Now.Add(4*time.Hour))
		reverseChecked(t, s, f.Provider.AGB, "c-early", "fout", "provider:"+f.Provider.AGB, f.Now.Add(5*time.Hour))
		recs, err := s.VoucherClaims(t.Context(), f.Voucher.ID)
		must(t, err, "VoucherClaims")
		var got []string
		for _, r := range recs {
			got = append(got, r.ClaimID+" "+string(r.State))
		}
		wantIDs(t, "VoucherClaims", got, "c-early reversed", "c-rejected rejected", "c-late settled", "c-held held")
	})

	t.Run("a reversal on a suspended voucher", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
		_, err := s.SetVoucherState(t.Context(), f.Voucher.ID, voucher.Suspended)
		must(t, err, "SetVoucherState")
		reverseChecked(t, s, f.Provider.AGB, "c-1", "cliënt opgenomen", "provider:"+f.Provider.AGB, f.Now)
		CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
	})
}
