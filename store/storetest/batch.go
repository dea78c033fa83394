package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store"
	"github.com/regie-nl/regie/voucher"
)

// addSmallVoucher creates a fixture voucher whose hour line holds only
// amount, with an accepted choice of the fixture's provider.
func addSmallVoucher(t testing.TB, s store.Store, f *Fixture, id string, amount regie.Cents) *voucher.Voucher {
	t.Helper()
	v := f.NewVoucher(id)
	v.Lines[0].MaxAmount, v.Lines[0].Remaining = amount, amount
	must(t, s.CreateVoucher(t.Context(), v, "token-"+id), "CreateVoucher")
	AcceptChoice(t, s, f.NewChoice("ch-"+id, id, ProductHour, f.Provider.AGB))
	return v
}

// sameButSeq compares a dry-run decision with the real one. A dry run writes
// no journal entry, so it has no journal seq to answer.
func sameButSeq(dry, real settlement.Decision) string {
	real.JournalSeq = dry.JournalSeq
	return DiffDecision(dry, real)
}

func testDrySettle(t *testing.T, o Opener) {
	s, f := o.withRegion(t, 200_00, settlement.Policy{Kind: settlement.Hold, HoldThreshold: 100_00})
	ctx := t.Context()
	addSmallVoucher(t, s, f, "v-small", 100_00)
	bad := f.Claim("c-bad", Day(9))
	bad.UnitPrice = MaxPriceHour + 1
	claims := []struct {
		c      settlement.Claim
		status settlement.Status
		reason string
	}{
		{f.Claim("c-1", Day(1)), settlement.Accepted, ""},
		{f.Claim("c-2", Day(1)), settlement.Rejected, settlement.ReasonPeriodOverlap},
		{bad, settlement.Rejected, settlement.ReasonPriceAboveTariff},
		{f.ClaimOn("v-small", "s-1", Day(1)), settlement.Accepted, ""},
		{f.ClaimOn("v-small", "s-2", Day(2)), settlement.Rejected, settlement.ReasonInsufficientBalance},
		{f.ClaimOn("v-missing", "c-3", Day(1)), settlement.Rejected, settlement.ReasonVoucherUnknown},
		{f.Claim("c-4", Day(4)), settlement.Accepted, ""}, // 180.00 of 200.00
		{f.Claim("c-5", Day(5)), settlement.Held, ""},
		{f.Claim("c-6", Day(6)), settlement.Held, ""},
	}
	for _, x := range claims {
		ids := []string{f.Voucher.ID, "v-small"}
		var dry settlement.Decision
		unchanged(t, s, "DrySettle of "+x.c.ClaimID, func() {
			var replay bool
			var err error
			dry, replay, err = s.DrySettle(ctx, x.c, f.Now)
			must(t, err, "DrySettle")
			if replay {
				t.Fatalf("DrySettle %s: replay of a new claim", x.c.ClaimID)
			}
			_, err = s.Decision(ctx, x.c.ProviderAGB, x.c.ClaimID)
			wantErr(t, err, regie.NotFound, "claim_not_found")
		}, ids...)
		if dry.Status != x.status || dry.Reason != x.reason {
			t.Fatalf("DrySettle %s = %s %q, want %s %q", x.c.ClaimID, dry.Status, dry.Reason, x.status, x.reason)
		}
		real, replay, err := s.Settle(ctx, x.c, f.Now)
		must(t, err, "Settle")
		if replay {
			t.Fatalf("Settle %s after a dry run: a replay", x.c.ClaimID)
		}
		if diff := sameButSeq(dry, real); diff != "" {
			t.Fatalf("DrySettle %s answered other than Settle did: %s", x.c.ClaimID, diff)
		}
		// A dry run of a decided claim answers the recorded decision, seq and all.
		unchanged(t, s, "DrySettle of a decided claim", func() {
			again, replay, err := s.DrySettle(ctx, x.c, f.Now.Add(time.Hour))
			must(t, err, "DrySettle")
			if diff := DiffDecision(again, real); !replay || diff != "" {
				t.Fatalf("DrySettle of decided %s: replay %v, %s", x.c.ClaimID, replay, diff)
			}
			changed := x.c
			changed.Units++
			_, _, err = s.DrySettle(ctx, changed, f.Now)
			wantErr(t, err, regie.Conflict, "claim_id_conflict")
		}, ids...)
	}
	CheckLedger(t, s, f.Region.ID, f.Voucher.ID, "v-small")
}

// batchLine is what one line of a batch must answer.
type batchLine struct {
	c      settlement.Claim
	status settlement.Status // when err is ""
	reason string
	replay bool
	err    string // the code of the line's error
}

// checkBatch settles a batch and checks every line's result, and that every
// decision answered is the recorded one.
func checkBatch(t *testing.T, s store.Store, now time.Time, lines []batchLine) []settlement.LineResult {
	t.Helper()
	cs := make([]settlement.Claim, len(lines))
	for i, l := range lines {
		if err := l.c.Validate(); err != nil {
			t.Fatalf("line %d is invalid: %v", i, err)
		}
		cs[i] = l.c
	}
	res, err := s.SettleBatch(t.Context(), cs, now)
	must(t, err, "SettleBatch")
	if len(res) != len(lines) {
		t.Fatalf("SettleBatch answered %d lines for %d", len(res), len(lines))
	}
	for i, l := range lines {
		r := res[i]
		if l.err != "" {
			if r.Err == nil || regie.ErrorKind(r.Err) != regie.Conflict || regie.ErrorCode(r.Err) != l.err {
				t.Fatalf("line %d (%s): error %v, want %s", i, l.c.ClaimID, r.Err, l.err)
			}
			continue
		}
		if r.Err != nil {
			t.Fatalf("line %d (%s): %v", i, l.c.ClaimID, r.Err)
		}
		d := r.Decision
		if d.Status != l.status || d.Reason != l.reason || r.Replay != l.replay || d.ClaimID != l.c.ClaimID || d.VoucherID != l.c.VoucherID {
			t.Fatalf("line %d (%s) = %s %q replay %v, want %s %q replay %v", i, l.c.ClaimID, d.Status, d.Reason, r.Replay, l.status, l.reason, l.replay)
		}
		rec, err := s.Decision(t.Context(), l.c.ProviderAGB, l.c.ClaimID)
		must(t, err, "Decision")
		if diff := DiffDecision(rec, d); diff != "" {
			t.Fatalf("line %d (%s): recorded decision differs from the answer: %s", i, l.c.ClaimID, diff)
		}
	}
	return res
}

func testSettleBatch(t *testing.T, o Opener) {
	t.Run("each line on its own, in order", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		addSmallVoucher(t, s, f, "v-small", 100_00) // affords one hour, not two
		pre := SettleAccepted(t, s, f.Claim("c-pre", Day(1)), f.Now)
		fig0 := figures(t, s, f.Region.ID)
		bad := f.Claim("c-bad", Day(9))
		bad.UnitPrice = MaxPriceHour + 1
		other := f.Claim("c-pre", Day(1))
		other.Units = 2 * regie.UnitScale
		otherA := f.Claim("c-a", Day(5))
		otherA.UnitPrice--
		lines := []batchLine{
			{c: f.Claim("c-a", Day(5)), status: settlement.Accepted},
			{c: bad, status: settlement.Rejected, reason: settlement.ReasonPriceAboveTariff},
			{c: f.Claim("c-pre", Day(1)), status: settlement.Accepted, replay: true},
			{c: other, err: "claim_id_conflict"},
			{c: f.Claim("c-b", Day(5)), status: settlement.Rejected, reason: settlement.ReasonPeriodOverlap}, // c-a's day
			{c: f.Claim("c-a", Day(5)), status: settlement.Accepted, replay: true},                           // line 0 again
			{c: f.ClaimOn("v-small", "s-1", Day(1)), status: settlement.Accepted},
			{c: f.ClaimOn("v-small", "s-2", Day(2)), status: settlement.Rejected, reason: settlement.ReasonInsufficientBalance},
			{c: otherA, err: "claim_id_conflict"},
			{c: f.ClaimOn("v-missing", "c-m", Day(1)), status: settlement.Rejected, reason: settlement.ReasonVoucherUnknown},
			{c: f.Claim("c-c", Day(6)), status: settlement.Accepted},
		}
		res := checkBatch(t, s, f.Now, lines)
		if diff := DiffDecision(res[2].Decision, pre); diff != "" {
			t.Fatalf("replayed line: %s", diff)
		}
		if diff := DiffDecision(res[5].Decision, res[0].Decision); diff != "" {
			t.Fatalf("line 5 does not replay line 0: %s", diff)
		}
		// The accepted lines are journalled in line order, right after what was there.
		if a, b, c := res[0].Decision.JournalSeq, res[6].Decision.JournalSeq, res[10].Decision.JournalSeq; !(pre.JournalSeq < a && a < b && b < c) {
			t.Fatalf("journal seqs of the accepted lines %d, %d, %d (after %d): not in line order", a, b, c, pre.JournalSeq)
		}
		fig := figures(t, s, f.Region.ID)
		if fig.Settled != fig0.Settled+3*60_00 || fig.Claims != fig0.Claims+3 {
			t.Fatalf("figures after the batch = %+v, want three claims of 60.00 more than %+v", fig, fig0)
		}
		claimEntries := CheckLedger(t, s, f.Region.ID, f.Voucher.ID, "v-small")
		if len(claimEntries) != 4 {
			t.Fatalf("%d claim entries, want 4", len(claimEntries))
		}

		// The batch sent again replays every line and changes nothing.
		for i := range lines {
			if lines[i].err == "" && !lines[i].replay {
				lines[i].replay = true
			}
		}
		unchanged(t, s, "a retried batch", func() { checkBatch(t, s, f.Now.Add(time.Hour), lines) }, f.Voucher.ID, "v-small")
	})

	t.Run("many lines, later ones see earlier ones", func(t *testing.T) {
		// More lines than a store is likely to put in one transaction.
		const vouchers = 7
		s, f := o.withFixture(t, "a")
		ids := []string{f.Voucher.ID}
		for i := 1; i < vouchers; i++ {
			ids = append(ids, f.AddVoucher(t, s, fmt.Sprintf("v-%d", i)).ID)
		}
		days := ValidFrom.DaysThrough(ValidTo)
		var lines []batchLine
		for _, id := range ids {
			for d := range days {
				lines = append(lines, batchLine{c: f.ClaimOn(id, fmt.Sprintf("c-%s-%d", id, d), Day(d)), status: settlement.Accepted})
			}
		}
		n := len(lines)
		// At the end, each day of the first voucher again under new ids.
		for d := range days {
			lines = append(lines, batchLine{c: f.Claim(fmt.Sprintf("again-%d", d), Day(d)), status: settlement.Rejected, reason: settlement.ReasonPeriodOverlap})
		}
		res := checkBatch(t, s, f.Now, lines)
		for i := 1; i < n; i++ {
			if res[i].Decision.JournalSeq <= res[i-1].Decision.JournalSeq {
				t.Fatalf("line %d journalled at %d, line %d at %d", i, res[i].Decision.JournalSeq, i-1, res[i-1].Decision.JournalSeq)
			}
		}
		if entries := CheckLedger(t, s, f.Region.ID, ids...); len(entries) != n {
			t.Fatalf("%d claim entries, want %d", len(entries), n)
		}
	})
}
