package settlement_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
)

var (
	national    = regie.Principal{Role: regie.RoleFunder, Subject: "vws", Regions: []string{regie.AllRegions}}
	funderR2    = regie.Principal{Role: regie.RoleFunder, Subject: "zk2", Regions: []string{"r2"}}
	auditorR1   = regie.Principal{Role: regie.RoleAuditor, Subject: "acc", Regions: []string{"r1"}}
	assessorAll = regie.Principal{Role: regie.RoleAssessor, Subject: "ciz", Regions: []string{regie.AllRegions}}
	adminAll    = regie.Principal{Role: regie.RoleAdmin, Subject: "root", Regions: []string{regie.AllRegions}}
)

// submit submits a claim of the assigned provider that must be decided as status.
func (e *env) submit(t *testing.T, id, from, to string, units regie.Units, status settlement.Status) settlement.Decision {
	t.Helper()
	c := e.february(t)
	c.ClaimID, c.From, c.To, c.Units = id, mustDate(t, from), mustDate(t, to), units
	d, _, err := e.svc.Submit(context.Background(), assigned, c, false)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != status {
		t.Fatalf("claim %s: %s %s, want %s", id, d.Status, d.Reason, status)
	}
	return d
}

// state describes what a refused call must leave as it was: the figures and
// journal of both regions and the voucher's line.
func (e *env) state(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, r := range []string{"r1", "r2"} {
		st, err := e.db.Region(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		j := e.journal(t, r)
		fmt.Fprintf(&b, "%+v %d %s\n", st.Figures(), len(j), j[len(j)-1].Hash)
	}
	v, err := e.db.Voucher(context.Background(), e.v.ID)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "%+v", v.Lines)
	return b.String()
}

// refused runs fn, which must fail with kind and code and change nothing.
func (e *env) refused(t *testing.T, kind regie.Kind, code string, fn func() error) {
	t.Helper()
	before := e.state(t)
	wantErr(t, fn(), kind, code)
	if after := e.state(t); after != before {
		t.Fatalf("a refused call (%s) changed state:\n%s\nthen\n%s", code, before, after)
	}
}

func TestService_Reverse(t *testing.T) {
	ctx := context.Background()

	t.Run("the provider reverses its own claim", func(t *testing.T) {
		e := newEnv(t)
		before := e.remaining(t)
		e.submit(t, "feb-1", "2026-02-01", "2026-02-28", 1600, settlement.Accepted)
		rec, err := e.svc.Reverse(ctx, assigned, "feb-1", "  dubbel gedeclareerd ")
		if err != nil {
			t.Fatal(err)
		}
		if rec.State != settlement.StateReversed || rec.Reversal == nil || rec.Reversal.Reason != "dubbel gedeclareerd" ||
			rec.Reversal.By != "provider:10000001" || !rec.Reversal.At.Equal(e.now) {
			t.Fatalf("reversed record %+v, reversal %+v", rec, rec.Reversal)
		}
		if got := e.remaining(t); got != before {
			t.Fatalf("remaining %s after the reversal, want %s", got, before)
		}
		if f, _ := e.svc.Figures(ctx, funderR1, "r1"); f.Settled != 0 || f.Claims != 0 || f.Paid != 0 {
			t.Fatalf("figures after the reversal: %+v", f)
		}
		e.refused(t, regie.Conflict, "claim_not_reversible", func() error {
			_, err := e.svc.Reverse(ctx, assigned, "feb-1", "nogmaals")
			return err
		})
		// The period may be claimed again, under a new id.
		e.submit(t, "feb-2", "2026-02-01", "2026-02-28", 1600, settlement.Accepted)
	})

	t.Run("a reason of 1–500 characters", func(t *testing.T) {
		e := newEnv(t)
		e.submit(t, "feb-1", "2026-02-01", "2026-02-28", 1600, settlement.Accepted)
		for _, reason := range []string{"", "   ", "\n\t", strings.Repeat("x", 501)} {
			e.refused(t, regie.Invalid, "reason_required", func() error {
				_, err := e.svc.Reverse(ctx, assigned, "feb-1", reason)
				return err
			})
		}
		if _, err := e.svc.Reverse(ctx, assigned, "feb-1", strings.Repeat("é", 500)); err != nil {
			t.Fatalf("a reason of 500 characters (1000 bytes): %v", err)
		}
	})

	t.Run("only the claim's provider", func(t *testing.T) {
		e := newEnv(t)
		e.submit(t, "feb-1", "2026-02-01", "2026-02-28", 1600, settlement.Accepted)
		e.refused(t, regie.NotFound, "claim_not_found", func() error {
			_, err := e.svc.Reverse(ctx, unassigned, "feb-1", "niet van mij")
			return err
		})
		for _, p := range []regie.Principal{e.client, funderR1, national, auditorR1, assessorAll, adminAll, {Subject: "10000001"}} {
			e.refused(t, regie.Forbidden, "role_forbidden", func() error {
				_, err := e.svc.Reverse(ctx, p, "feb-1", "fout")
				return err
			})
		}
		e.refused(t, regie.NotFound, "claim_not_found", func() error {
			_, err := e.svc.Reverse(ctx, assigned, "nope", "fout")
			return err
		})
	})
}

func TestService_Dispute(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.submit(t, "feb-1", "2026-02-01", "2026-02-28", 1600, settlement.Accepted)
	e.submit(t, "mar-1", "2026-03-01", "2026-03-07", 400, settlement.Accepted)

	// Another client's claim answers as one that does not exist.
	stranger := regie.Principal{Role: regie.RoleClient, Subject: "someone-else"}
	e.refused(t, regie.NotFound, "claim_not_found", func() error {
		_, err := e.svc.Dispute(ctx, stranger, "10000001", "feb-1", "niet herkend")
		return err
	})
	for _, p := range []regie.Principal{assigned, funderR1, auditorR1, assessorAll, adminAll} {
		e.refused(t, regie.Forbidden, "role_forbidden", func() error {
			_, err := e.svc.Dispute(ctx, p, "10000001", "feb-1", "niet herkend")
			return err
		})
	}
	e.refused(t, regie.Invalid, "reason_required", func() error {
		_, err := e.svc.Dispute(ctx, e.client, "10000001", "feb-1", " ")
		return err
	})
	e.refused(t, regie.NotFound, "claim_not_found", func() error {
		_, err := e.svc.Dispute(ctx, e.client, "10000002", "feb-1", "niet herkend")
		return err
	})

	rec, err := e.svc.Dispute(ctx, e.client, "10000001", "feb-1", " niet herkend ")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Dispute == nil || rec.Dispute.Status != settlement.DisputeOpen || rec.Dispute.Reason != "niet herkend" || !rec.Dispute.OpenedAt.Equal(e.now) {
		t.Fatalf("dispute = %+v", rec.Dispute)
	}
	e.refused(t, regie.Conflict, "claim_not_disputable", func() error {
		_, err := e.svc.Dispute(ctx, e.client, "10000001", "feb-1", "nogmaals")
		return err
	})
	list, err := e.svc.Disputes(ctx, auditorR1, "r1")
	if err != nil || len(list) != 1 || list[0].ClaimID != "feb-1" {
		t.Fatalf("Disputes = %+v, %v", list, err)
	}
	for _, tc := range []struct {
		p    regie.Principal
		code string
	}{{funderR2, "scope_forbidden"}, {assigned, "role_forbidden"}, {e.client, "role_forbidden"}} {
		_, err := e.svc.Disputes(ctx, tc.p, "r1")
		wantErr(t, err, regie.Forbidden, tc.code)
	}

	// Fourteen days after the decision, and no longer.
	decided := e.now
	e.now = decided.Add(14*24*time.Hour + time.Second)
	e.refused(t, regie.Conflict, "dispute_window_closed", func() error {
		_, err := e.svc.Dispute(ctx, e.client, "10000001", "mar-1", "te laat")
		return err
	})
	e.now = decided.Add(14 * 24 * time.Hour)
	if _, err := e.svc.Dispute(ctx, e.client, "10000001", "mar-1", "net op tijd"); err != nil {
		t.Fatalf("a dispute on the last moment of the window: %v", err)
	}
}

func TestService_ResolveDispute(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.submit(t, "feb-1", "2026-02-01", "2026-02-28", 1600, settlement.Accepted)
	e.submit(t, "mar-1", "2026-03-01", "2026-03-07", 400, settlement.Accepted)
	for _, id := range []string{"feb-1", "mar-1"} {
		if _, err := e.svc.Dispute(ctx, e.client, "10000001", id, "niet herkend"); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name       string
		p          regie.Principal
		region     string
		resolution string
		kind       regie.Kind
		code       string
	}{
		{"provider", assigned, "r1", "x", regie.Forbidden, "role_forbidden"},
		{"client", e.client, "r1", "x", regie.Forbidden, "role_forbidden"},
		{"auditor", auditorR1, "r1", "x", regie.Forbidden, "role_forbidden"},
		{"funder of another region", funderR2, "r1", "x", regie.Forbidden, "scope_forbidden"},
		{"funder naming a region outside its scope", funderR1, "r2", "x", regie.Forbidden, "scope_forbidden"},
		// A funder may act on r2 only for claims in r2: the region in the
		// path must be the claim's.
		{"claim outside the region named", national, "r2", "x", regie.NotFound, "claim_not_found"},
		{"funder of r2 naming r2", funderR2, "r2", "x", regie.NotFound, "claim_not_found"},
		{"no resolution", funderR1, "r1", "  ", regie.Invalid, "reason_required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.refused(t, tc.kind, tc.code, func() error {
				_, err := e.svc.ResolveDispute(ctx, tc.p, tc.region, "10000001", "feb-1", true, tc.resolution)
				return err
			})
		})
	}
	e.refused(t, regie.NotFound, "claim_not_found", func() error {
		_, err := e.svc.ResolveDispute(ctx, funderR1, "r1", "10000001", "nope", true, "x")
		return err
	})

	rec, err := e.svc.ResolveDispute(ctx, funderR1, "r1", "10000001", "feb-1", false, "geleverd volgens rooster")
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != settlement.StateSettled || rec.Dispute.Status != settlement.DisputeDismissed || rec.Dispute.ResolvedBy != "funder:zk1" ||
		rec.Dispute.Resolution != "geleverd volgens rooster" {
		t.Fatalf("dismissed: %+v, dispute %+v", rec, rec.Dispute)
	}
	e.refused(t, regie.Conflict, "dispute_not_open", func() error {
		_, err := e.svc.ResolveDispute(ctx, funderR1, "r1", "10000001", "feb-1", true, "toch")
		return err
	})
	before := e.remaining(t)
	rec, err = e.svc.ResolveDispute(ctx, national, "r1", "10000001", "mar-1", true, "niet geleverd")
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != settlement.StateReversed || rec.Dispute.Status != settlement.DisputeUpheld || rec.Reversal == nil || rec.Reversal.By != "funder:vws" {
		t.Fatalf("upheld: %+v, dispute %+v, reversal %+v", rec, rec.Dispute, rec.Reversal)
	}
	if got := e.remaining(t); got != before+24000 {
		t.Fatalf("remaining %s after upholding, want %s", got, before+24000)
	}
}

func TestService_ReviseBudget(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	rev, err := e.svc.ReviseBudget(ctx, funderR1, "r1", 1_200_000_00, 0, " VWS-verhoging ")
	if err != nil {
		t.Fatal(err)
	}
	want := settlement.Revision{Region: "r1", Version: 2, Budget: 1_200_000_00, Delta: 200_000_00,
		Effective: regie.DateOf(e.now), Reason: "VWS-verhoging", By: "funder:zk1", At: rev.At}
	if rev != want || !rev.At.Equal(e.now) {
		t.Fatalf("revision = %+v, want %+v", rev, want)
	}
	eff := mustDate(t, "2026-07-01")
	if rev, err := e.svc.ReviseBudget(ctx, national, "r1", 900_000_00, eff, "herschikking"); err != nil || rev.Effective != eff || rev.Delta != -300_000_00 || rev.Version != 3 {
		t.Fatalf("second revision = %+v, %v", rev, err)
	}
	if f, _ := e.svc.Figures(ctx, funderR1, "r1"); f.Budget != 900_000_00 || f.Revision != 3 {
		t.Fatalf("figures = %+v", f)
	}
	for _, tc := range []struct {
		p      regie.Principal
		region string
		budget regie.Cents
		reason string
		kind   regie.Kind
		code   string
	}{
		{funderR1, "r1", -1, "x", regie.Invalid, "budget_invalid"},
		{funderR1, "r1", 1, "", regie.Invalid, "reason_required"},
		{funderR1, "r2", 1, "x", regie.Forbidden, "scope_forbidden"},
		{auditorR1, "r1", 1, "x", regie.Forbidden, "role_forbidden"},
		{assessorAll, "r1", 1, "x", regie.Forbidden, "role_forbidden"},
		{assigned, "r1", 1, "x", regie.Forbidden, "role_forbidden"},
		{national, "r9", 1, "x", regie.NotFound, "region_not_found"},
	} {
		e.refused(t, tc.kind, tc.code, func() error {
			_, err := e.svc.ReviseBudget(ctx, tc.p, tc.region, tc.budget, 0, tc.reason)
			return err
		})
	}
	revs, err := e.svc.Revisions(ctx, auditorR1, "r1")
	if err != nil || len(revs) != 3 || revs[0].By != "system" || revs[2].Budget != 900_000_00 {
		t.Fatalf("Revisions = %+v, %v", revs, err)
	}
	for _, tc := range []struct {
		p    regie.Principal
		code string
	}{{funderR2, "scope_forbidden"}, {assigned, "role_forbidden"}, {assessorAll, "role_forbidden"}} {
		_, err := e.svc.Revisions(ctx, tc.p, "r1")
		wantErr(t, err, regie.Forbidden, tc.code)
	}
}

func TestService_SetPolicy(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	for _, p := range []settlement.Policy{
		{Kind: settlement.Hold, HoldThreshold: 9000},
		{Kind: settlement.Hold, HoldThreshold: 100000}, // 1000%: the most
		{Kind: settlement.ProRata, ProvisionalRate: 8550},
		{Kind: settlement.ProRata, ProvisionalRate: 10000},
		{Kind: settlement.Cap, DisputeDays: 366},
		{Kind: settlement.Monitor, DisputeDays: 30},
	} {
		f, err := e.svc.SetPolicy(ctx, funderR1, "r1", p)
		if err != nil || f.Policy != p {
			t.Fatalf("SetPolicy(%+v) = %+v, %v", p, f.Policy, err)
		}
	}
	if f, err := e.svc.SetPolicy(ctx, funderR1, "r1", settlement.Policy{}); err != nil || f.Policy.Kind != settlement.Monitor {
		t.Fatalf("SetPolicy of the zero policy = %+v, %v, want monitor", f.Policy, err)
	}
	for _, p := range []settlement.Policy{
		{Kind: settlement.Hold},
		{Kind: settlement.Hold, HoldThreshold: -1},
		{Kind: settlement.Hold, HoldThreshold: 100001},
		{Kind: settlement.ProRata},
		{Kind: settlement.ProRata, ProvisionalRate: 10001},
		{Kind: "brake"},
		{Kind: settlement.Monitor, DisputeDays: -1},
		{Kind: settlement.Cap, DisputeDays: 367},
	} {
		e.refused(t, regie.Invalid, "policy_invalid", func() error {
			_, err := e.svc.SetPolicy(ctx, funderR1, "r1", p)
			return err
		})
	}
	e.refused(t, regie.Forbidden, "scope_forbidden", func() error {
		_, err := e.svc.SetPolicy(ctx, funderR2, "r1", settlement.Policy{Kind: settlement.Cap})
		return err
	})
	e.refused(t, regie.Forbidden, "role_forbidden", func() error {
		_, err := e.svc.SetPolicy(ctx, auditorR1, "r1", settlement.Policy{Kind: settlement.Cap})
		return err
	})
	e.refused(t, regie.NotFound, "region_not_found", func() error {
		_, err := e.svc.SetPolicy(ctx, national, "r9", settlement.Policy{Kind: settlement.Cap})
		return err
	})
}

func TestService_ReleaseHeld(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	// 0.01% of 1,000,000.00 is 100.00: February's 960.00 is held.
	if _, err := e.svc.SetPolicy(ctx, funderR1, "r1", settlement.Policy{Kind: settlement.Hold, HoldThreshold: 1}); err != nil {
		t.Fatal(err)
	}
	d := e.submit(t, "feb-1", "2026-02-01", "2026-02-28", 1600, settlement.Held)
	if d.Payable != 0 || d.Amount != 96000 {
		t.Fatalf("held decision %+v", d)
	}
	for _, upTo := range []regie.Cents{0, -1} {
		e.refused(t, regie.Invalid, "amount_invalid", func() error {
			_, err := e.svc.ReleaseHeld(ctx, funderR1, "r1", upTo)
			return err
		})
	}
	e.refused(t, regie.Forbidden, "scope_forbidden", func() error {
		_, err := e.svc.ReleaseHeld(ctx, funderR2, "r1", 96000)
		return err
	})
	e.refused(t, regie.Forbidden, "role_forbidden", func() error {
		_, err := e.svc.ReleaseHeld(ctx, auditorR1, "r1", 96000)
		return err
	})
	if rel, err := e.svc.ReleaseHeld(ctx, funderR1, "r1", 95999); err != nil || rel.Claims != 0 || rel.Figures.Held != 96000 {
		t.Fatalf("ReleaseHeld(959.99) = %+v, %v", rel, err)
	}
	rel, err := e.svc.ReleaseHeld(ctx, funderR1, "r1", 96000)
	if err != nil || rel.Claims != 1 || rel.Amount != 96000 || rel.Figures.Held != 0 || rel.Figures.Settled != 96000 || rel.Figures.Paid != 96000 {
		t.Fatalf("ReleaseHeld(960.00) = %+v, %v", rel, err)
	}
	rec, err := e.svc.Claim(ctx, assigned, "feb-1")
	if err != nil || rec.State != settlement.StateSettled || rec.Paid != 96000 || rec.Status != settlement.Held {
		t.Fatalf("claim after the release: %+v, %v", rec, err)
	}
}

func TestService_CloseYear(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.refused(t, regie.Conflict, "policy_not_prorata", func() error {
		_, err := e.svc.CloseYear(ctx, funderR1, "r1")
		return err
	})
	if _, err := e.svc.SetPolicy(ctx, funderR1, "r1", settlement.Policy{Kind: settlement.ProRata, ProvisionalRate: 8000}); err != nil {
		t.Fatal(err)
	}
	if d := e.submit(t, "feb-1", "2026-02-01", "2026-02-28", 1600, settlement.Accepted); d.Payable != 76800 {
		t.Fatalf("payable %s at 80%%, want 768.00", d.Payable)
	}
	for _, tc := range []struct {
		p    regie.Principal
		code string
	}{{funderR2, "scope_forbidden"}, {auditorR1, "role_forbidden"}, {assigned, "role_forbidden"}, {adminAll, "role_forbidden"}} {
		e.refused(t, regie.Forbidden, tc.code, func() error {
			_, err := e.svc.CloseYear(ctx, tc.p, "r1")
			return err
		})
	}
	closed, err := e.svc.CloseYear(ctx, funderR1, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if closed.FinalRate != 10000 || len(closed.Adjustments) != 1 || closed.Adjustments[0].Amount != 19200 || !closed.Figures.Closed || closed.Figures.Paid != 96000 {
		t.Fatalf("CloseYear = %+v", closed)
	}
	e.refused(t, regie.Conflict, "budget_year_closed", func() error {
		_, err := e.svc.CloseYear(ctx, funderR1, "r1")
		return err
	})
	e.refused(t, regie.Conflict, "budget_year_closed", func() error {
		_, err := e.svc.Reverse(ctx, assigned, "feb-1", "fout")
		return err
	})
	e.refused(t, regie.Conflict, "budget_year_closed", func() error {
		_, err := e.svc.SetPolicy(ctx, funderR1, "r1", settlement.Policy{})
		return err
	})
	d := e.submit(t, "mar-1", "2026-03-01", "2026-03-07", 400, settlement.Rejected)
	if d.Reason != settlement.ReasonBudgetYearClosed {
		t.Fatalf("claim after the close: %s", d.Reason)
	}
}

func TestService_EndAssignment(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	stranger := regie.Principal{Role: regie.RoleClient, Subject: "someone-else"}
	for _, tc := range []struct {
		p       regie.Principal
		choice  string
		lastDay string
		kind    regie.Kind
		code    string
	}{
		{stranger, e.choice, "2026-06-30", regie.Forbidden, "scope_forbidden"},
		{unassigned, e.choice, "2026-06-30", regie.Forbidden, "scope_forbidden"},
		{funderR1, e.choice, "2026-06-30", regie.Forbidden, "role_forbidden"},
		{assessorAll, e.choice, "2026-06-30", regie.Forbidden, "role_forbidden"},
		{e.client, "ch-missing", "2026-06-30", regie.NotFound, "choice_not_found"},
		{e.client, e.choice, "2026-12-31", regie.Invalid, "last_day_invalid"}, // its last day already
		{e.client, e.choice, "2025-12-30", regie.Invalid, "last_day_invalid"},
	} {
		e.refused(t, tc.kind, tc.code, func() error {
			_, err := e.svc.EndAssignment(ctx, tc.p, tc.choice, mustDate(t, tc.lastDay))
			return err
		})
	}
	ch, err := e.svc.EndAssignment(ctx, e.client, e.choice, mustDate(t, "2026-06-30"))
	if err != nil || ch.To != mustDate(t, "2026-06-30") {
		t.Fatalf("EndAssignment by the client = %+v, %v", ch, err)
	}
	if f, _ := e.svc.Figures(ctx, funderR1, "r1"); f.Committed != 0 {
		t.Fatalf("committed %s after the end of the only assignment", f.Committed)
	}
	ch, err = e.svc.EndAssignment(ctx, assigned, e.choice, mustDate(t, "2026-03-07"))
	if err != nil || ch.To != mustDate(t, "2026-03-07") {
		t.Fatalf("EndAssignment by the provider = %+v, %v", ch, err)
	}
	e.submit(t, "mar-1", "2026-03-01", "2026-03-07", 400, settlement.Accepted)
	d := e.submit(t, "mar-2", "2026-03-08", "2026-03-14", 400, settlement.Rejected)
	if d.Reason != settlement.ReasonProviderNotAssigned {
		t.Fatalf("claim after the end: %s", d.Reason)
	}
}

func TestService_Verify(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.submit(t, "feb-1", "2026-02-01", "2026-02-28", 1600, settlement.Accepted)
	for _, p := range []regie.Principal{auditorR1, funderR1, national} {
		rep, err := e.svc.Verify(ctx, p, "r1")
		if err != nil || !rep.OK || rep.Entries != uint64(len(e.journal(t, "r1"))) || rep.Checkpoints != 0 {
			t.Fatalf("Verify by %s = %+v, %v", p.Subject, rep, err)
		}
	}
	for _, tc := range []struct {
		p      regie.Principal
		region string
		kind   regie.Kind
		code   string
	}{
		{funderR2, "r1", regie.Forbidden, "scope_forbidden"},
		{assigned, "r1", regie.Forbidden, "role_forbidden"},
		{e.client, "r1", regie.Forbidden, "role_forbidden"},
		{assessorAll, "r1", regie.Forbidden, "role_forbidden"},
		{adminAll, "r1", regie.Forbidden, "role_forbidden"},
		{national, "r9", regie.NotFound, "region_not_found"},
	} {
		_, err := e.svc.Verify(ctx, tc.p, tc.region)
		wantErr(t, err, tc.kind, tc.code)
	}

	// Checkpoints: every region whose head moved, then none, then the one that moved.
	for i, want := range []int{2, 0} {
		if n, err := e.svc.Checkpoint(ctx); err != nil || n != want {
			t.Fatalf("Checkpoint %d = %d, %v, want %d", i, n, err, want)
		}
	}
	e.submit(t, "mar-1", "2026-03-01", "2026-03-07", 400, settlement.Accepted)
	if n, err := e.svc.Checkpoint(ctx); err != nil || n != 1 {
		t.Fatalf("Checkpoint after a claim in r1 = %d, %v, want 1", n, err)
	}
	rep, err := e.svc.Verify(ctx, auditorR1, "r1")
	if err != nil || !rep.OK || rep.Checkpoints != 2 {
		t.Fatalf("Verify with checkpoints = %+v, %v", rep, err)
	}
	st, err := e.db.Region(ctx, "r1")
	if err != nil || st.CheckpointSeq != st.JournalSeq {
		t.Fatalf("region r1: checkpoint at %d, head at %d (%v)", st.CheckpointSeq, st.JournalSeq, err)
	}
}

func TestService_SubmitBatch(t *testing.T) {
	ctx := context.Background()

	t.Run("one result per line, each on its own", func(t *testing.T) {
		e := newEnv(t)
		feb := e.february(t)
		bad := e.february(t)
		bad.ClaimID, bad.Units = "bad-1", 0
		mar := e.february(t)
		mar.ClaimID, mar.From, mar.To, mar.Units = "mar-1", mustDate(t, "2026-03-01"), mustDate(t, "2026-03-07"), 400
		mar.ProviderAGB = "10000002" // the caller claims, whatever the line says
		overlap := e.february(t)
		overlap.ClaimID, overlap.From, overlap.To, overlap.Units = "feb-2", mustDate(t, "2026-02-10"), mustDate(t, "2026-02-10"), 100
		res, err := e.svc.SubmitBatch(ctx, assigned, []settlement.Claim{feb, bad, mar, overlap, feb})
		if err != nil || len(res) != 5 {
			t.Fatalf("SubmitBatch = %d results, %v", len(res), err)
		}
		if r := res[0]; r.Err != nil || r.Replay || r.Decision.Status != settlement.Accepted {
			t.Fatalf("line 0: %+v", r)
		}
		if r := res[1]; r.Err == nil || regie.ErrorCode(r.Err) != "units_invalid" || r.Decision.Status != "" {
			t.Fatalf("line 1: %+v", r)
		}
		if r := res[2]; r.Err != nil || r.Decision.Status != settlement.Accepted || r.Decision.ProviderAGB != "10000001" {
			t.Fatalf("line 2: %+v", r)
		}
		if r := res[3]; r.Err != nil || r.Decision.Status != settlement.Rejected || r.Decision.Reason != settlement.ReasonPeriodOverlap {
			t.Fatalf("line 3: %+v", r)
		}
		if r := res[4]; r.Err != nil || !r.Replay || r.Decision.JournalSeq != res[0].Decision.JournalSeq {
			t.Fatalf("line 4 (line 0 again): %+v", r)
		}
		if _, err := e.db.Decision(ctx, "10000001", "bad-1"); regie.ErrorCode(err) != "claim_not_found" {
			t.Fatalf("an invalid line was recorded: %v", err)
		}
		if _, err := e.db.Decision(ctx, "10000002", "mar-1"); regie.ErrorCode(err) != "claim_not_found" {
			t.Fatalf("a line was recorded under the provider it named: %v", err)
		}
	})

	t.Run("every line invalid", func(t *testing.T) {
		e := newEnv(t)
		bad := e.february(t)
		bad.UnitPrice = 0
		before := e.state(t)
		res, err := e.svc.SubmitBatch(ctx, assigned, []settlement.Claim{bad, bad})
		if err != nil || len(res) != 2 || regie.ErrorCode(res[0].Err) != "unit_price_invalid" || regie.ErrorCode(res[1].Err) != "unit_price_invalid" {
			t.Fatalf("SubmitBatch of invalid lines = %+v, %v", res, err)
		}
		if e.state(t) != before {
			t.Fatal("a batch of invalid lines changed state")
		}
	})

	t.Run("batch size and role", func(t *testing.T) {
		e := newEnv(t)
		for _, n := range []int{0, settlement.MaxBatchLines + 1} {
			cs := make([]settlement.Claim, n)
			for i := range cs {
				cs[i] = e.february(t)
				cs[i].ClaimID = fmt.Sprint("c-", i)
			}
			e.refused(t, regie.Invalid, "batch_size", func() error {
				_, err := e.svc.SubmitBatch(ctx, assigned, cs)
				return err
			})
		}
		for _, p := range []regie.Principal{e.client, funderR1, auditorR1, adminAll} {
			e.refused(t, regie.Forbidden, "role_forbidden", func() error {
				_, err := e.svc.SubmitBatch(ctx, p, []settlement.Claim{e.february(t)})
				return err
			})
		}
	})
}
