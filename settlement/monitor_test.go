package settlement_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/voucher"
)

// monDecision is an accepted decision of provider 10000001 on v1's H300 line in r1.
func monDecision(claimID string, amount regie.Cents) settlement.Decision {
	return settlement.Decision{
		ProviderAGB: "10000001", ClaimID: claimID, VoucherID: "v1", Product: "H300",
		Status: settlement.Accepted, Amount: amount, Region: "r1",
	}
}

func day(t *testing.T, s string) regie.Date {
	t.Helper()
	d, err := regie.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestTallyOf_Entries(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	newLine := func(committed regie.Cents) (*voucher.Voucher, *settlement.RegionState) {
		v := &voucher.Voucher{ID: "v1", Region: "r1", Lines: []voucher.Line{{Product: "H300", Remaining: 100000, Committed: committed, Reserved: committed > 0}}}
		return v, &settlement.RegionState{Region: settlement.Region{ID: "r1", Budget: 50000}, Committed: committed}
	}
	t.Run("a claim on a committed line moves commitment to settled", func(t *testing.T) {
		v, r := newLine(100000)
		d := monDecision("c1", 6000)
		e := settlement.BookClaim(&d, v, r, &settlement.ProviderTotals{}, at)
		got := settlement.TallyOf(&e)
		want := settlement.Tally{Settled: 6000, Paid: 6000, Committed: -6000, Claims: 1}
		if got != want {
			t.Fatalf("TallyOf = %+v, want %+v", got, want)
		}
	})
	t.Run("a claim beyond the commitment is uncommitted for the part it did not cover", func(t *testing.T) {
		v, r := newLine(2000)
		d := monDecision("c1", 6000)
		d.Status = settlement.Held
		e := settlement.BookClaim(&d, v, r, &settlement.ProviderTotals{}, at)
		got := settlement.TallyOf(&e)
		want := settlement.Tally{Held: 6000, Committed: -2000, Claims: 1, Uncommitted: 4000}
		if got != want {
			t.Fatalf("TallyOf = %+v, want %+v", got, want)
		}
	})
	t.Run("a reversal uncounts the claim", func(t *testing.T) {
		v, r := newLine(0)
		rec := &settlement.ClaimRecord{Decision: monDecision("c1", 6000), State: settlement.StateSettled, Paid: 5000}
		r.Settled, r.Paid = 6000, 5000
		e := settlement.BookReversal(rec, v, r, &settlement.ProviderTotals{Claimed: 6000, Paid: 5000}, "fout", "x", at)
		got := settlement.TallyOf(&e)
		want := settlement.Tally{Settled: -6000, Paid: -5000, Claims: -1}
		if got != want {
			t.Fatalf("TallyOf = %+v, want %+v", got, want)
		}
	})
	t.Run("revisions, reservations and provider accounts", func(t *testing.T) {
		_, r := newLine(0)
		_, e := settlement.BookRevision(r, 80000, 0, "ophoging", "x", at)
		if got := settlement.TallyOf(&e); got != (settlement.Tally{Budget: 30000}) {
			t.Fatalf("revision: %+v", got)
		}
		v, r := newLine(0)
		e, _ = settlement.BookReserve(v, "H300", r, at)
		if got := settlement.TallyOf(&e); got != (settlement.Tally{Committed: 100000}) {
			t.Fatalf("reserve: %+v", got)
		}
		adj := settlement.Entry{Region: "r1", Type: settlement.EntryProRataAdjust, ProviderAGB: "p", Amount: -100, Postings: []settlement.Posting{
			{Account: settlement.ProviderAccount("r1", "p", "paid"), Amount: -100}, {Account: settlement.RegionAccount("r1", "paid"), Amount: -100},
		}}
		if got := settlement.TallyOf(&adj); got != (settlement.Tally{Paid: -100}) {
			t.Fatalf("prorata adjustment: %+v", got)
		}
		// Accounts of another region, even one whose id starts alike, are not the region's.
		odd := settlement.Entry{Region: "r1", Type: settlement.EntryRevision, Postings: []settlement.Posting{
			{Account: "region:r10:budget", Amount: 5}, {Account: "region:r1:provider:x:paid", Amount: 7}, {Account: "voucher:v:H300", Amount: 9},
		}}
		if got := settlement.TallyOf(&odd); !got.IsZero() {
			t.Fatalf("foreign accounts counted: %+v", got)
		}
	})
	t.Run("provider and product views", func(t *testing.T) {
		tl := settlement.Tally{Budget: 1, Settled: 2, Committed: 3, Claims: 1}
		if got := tl.ForProvider(); got != (settlement.Tally{Settled: 2, Claims: 1}) {
			t.Errorf("ForProvider = %+v", got)
		}
		if got := tl.ForProduct(); got != (settlement.Tally{Settled: 2, Committed: 3, Claims: 1}) {
			t.Errorf("ForProduct = %+v", got)
		}
	})
}

func TestShareOf_Rounding(t *testing.T) {
	tests := []struct {
		part, whole regie.Cents
		want        string
	}{
		{0, 100, "0.00"},
		{1, 3, "33.33"},
		{2, 3, "66.67"},
		{1, 8, "12.50"},
		{1, 80000, "0.00"}, // 0.00125%
		{1, 40000, "0.00"}, // 0.0025% rounds down
		{1, 20000, "0.01"}, // 0.005% rounds half-up
		{150, 100, "150.00"},
		{-1, 3, "-33.33"},
		{10_000_000_000_00, 1, "100000000000000.00"},
	}
	for _, tc := range tests {
		got := settlement.ShareOf(tc.part, tc.whole)
		if !got.Valid || got.String() != tc.want {
			t.Errorf("ShareOf(%d, %d) = %v, want %s", tc.part, tc.whole, got, tc.want)
		}
	}
	if s := settlement.ShareOf(5, 0); s.Valid {
		t.Errorf("ShareOf of a zero whole = %v, want no value", s)
	}
	b, _ := json.Marshal(struct {
		A, B settlement.Share
	}{settlement.ShareOf(1, 8), settlement.ShareOf(1, 0)})
	if string(b) != `{"A":"12.50","B":null}` {
		t.Errorf("JSON %s", b)
	}
	var back struct{ A, B settlement.Share }
	if err := json.Unmarshal(b, &back); err != nil || back.A != settlement.ShareOf(1, 8) || back.B.Valid {
		t.Errorf("round trip %+v, %v", back, err)
	}
}

func TestWindow_Days(t *testing.T) {
	tests := []struct {
		today, from, to string
		left            int
	}{
		{"2026-06-15", "2026-05-19", "2026-06-15", 199},
		{"2026-01-10", "2026-01-01", "2026-01-10", 355},
		{"2026-01-01", "2026-01-01", "2026-01-01", 364},
		{"2026-12-31", "2026-12-04", "2026-12-31", 0},
		{"2027-02-01", "2026-12-04", "2026-12-31", 0},
	}
	for _, tc := range tests {
		from, to, left := settlement.Window(2026, day(t, tc.today))
		if from != day(t, tc.from) || to != day(t, tc.to) || left != tc.left {
			t.Errorf("Window(2026, %s) = %s–%s, %d left; want %s–%s, %d", tc.today, from, to, left, tc.from, tc.to, tc.left)
		}
	}
	from, to, left := settlement.Window(2026, day(t, "2025-12-20"))
	if to >= from || left != 365 {
		t.Errorf("before the year: %s–%s, %d left; want an empty window and 365 days", from, to, left)
	}
}

func TestProject_Method(t *testing.T) {
	r := &settlement.RegionState{Region: settlement.Region{ID: "r1", Year: 2026, Budget: 1_000_000_00}, Settled: 400_000_00, Held: 50_000_00, Committed: 300_000_00}
	today := day(t, "2026-06-15") // 199 days left
	t.Run("year end is settled + held + committed + the run-rate of uncommitted claims", func(t *testing.T) {
		o := settlement.Project(r, 28_000_00, 0, today) // 1,000.00 a day
		p := o.Projection
		if o.AsOf != today || o.Used != 450_000_00 || o.Utilisation.String() != "45.00" || o.UtilisationCommitted.String() != "75.00" {
			t.Fatalf("outlook %+v", o)
		}
		if p.Method != settlement.ProjectionMethod || p.WindowDays != 28 || p.WindowFrom != day(t, "2026-05-19") || p.Uncommitted != 28_000_00 ||
			p.DaysLeft != 199 || p.RunRate != 199_000_00 || p.YearEnd != 949_000_00 || p.Overrun != 0 || !p.CrossesOn.IsZero() ||
			p.Utilisation.String() != "94.90" {
			t.Fatalf("projection %+v", p)
		}
	})
	t.Run("an overrun and the day the budget is crossed", func(t *testing.T) {
		o := settlement.Project(r, 56_000_00, 0, today) // 2,000.00 a day: 398,000.00 to come
		p := o.Projection
		if p.YearEnd != 1_148_000_00 || p.Overrun != 148_000_00 {
			t.Fatalf("projection %+v", p)
		}
		// used grows by (1,148,000 − 450,000) / 199 = 3,507.54 a day; the
		// budget's 550,000.00 left is passed after floor(550000·199/698000) + 1 = 157 days.
		if want := today.AddDays(157); p.CrossesOn != want {
			t.Fatalf("crosses on %s, want %s", p.CrossesOn, want)
		}
		if !o.CrossedOn.IsZero() {
			t.Fatalf("crossed on %s while within the budget", o.CrossedOn)
		}
	})
	t.Run("used exactly at the budget crosses tomorrow", func(t *testing.T) {
		at := *r
		at.Settled, at.Held = 1_000_000_00, 0
		if p := settlement.Project(&at, 0, 0, today).Projection; p.CrossesOn != today.AddDays(1) {
			t.Fatalf("crosses on %s, want tomorrow", p.CrossesOn)
		}
	})
	t.Run("beyond the budget: crossed, not crossing", func(t *testing.T) {
		over := *r
		over.Settled = 1_200_000_00
		crossed := day(t, "2026-05-02")
		o := settlement.Project(&over, 0, crossed, today)
		if o.CrossedOn != crossed || !o.Projection.CrossesOn.IsZero() || o.Utilisation.String() != "125.00" {
			t.Fatalf("outlook %+v", o)
		}
	})
	t.Run("after the year no run-rate", func(t *testing.T) {
		p := settlement.Project(r, 56_000_00, 0, day(t, "2027-01-15")).Projection
		if p.DaysLeft != 0 || p.RunRate != 0 || p.YearEnd != 750_000_00 || !p.CrossesOn.IsZero() {
			t.Fatalf("projection %+v", p)
		}
	})
	t.Run("early in the year the window is the days so far", func(t *testing.T) {
		p := settlement.Project(r, 10_000_00, 0, day(t, "2026-01-10")).Projection
		if p.WindowDays != 10 || p.RunRate != 355_000_00 {
			t.Fatalf("projection %+v", p)
		}
	})
	t.Run("a zero budget has no utilisation", func(t *testing.T) {
		zero := &settlement.RegionState{Region: settlement.Region{ID: "r0", Year: 2026}}
		o := settlement.Project(zero, 0, 0, today)
		if o.Utilisation.Valid || o.Projection.Utilisation.Valid || !o.Projection.CrossesOn.IsZero() {
			t.Fatalf("outlook %+v", o)
		}
	})
}

func TestMonitorState_Evaluate(t *testing.T) {
	r := &settlement.RegionState{Region: settlement.Region{ID: "r1", Year: 2026, Budget: 100_00}, JournalSeq: 9}
	at := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	st := &settlement.MonitorState{Thresholds: &settlement.Thresholds{Utilisation: []settlement.Rate{9000, 8000, 8000}, Projected: []settlement.Rate{10000}}}
	step := func(settled, committed regie.Cents) []settlement.Alert {
		r.Settled, r.Committed = settled, committed
		return st.Evaluate(r, settlement.Project(r, 0, st.CrossedOn, regie.DateOf(at)), at)
	}
	kinds := func(as []settlement.Alert) []string {
		var out []string
		for _, a := range as {
			out = append(out, string(a.Metric)+" "+a.Direction+" "+a.Threshold.String())
		}
		return out
	}
	eq := func(got []string, want ...string) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i] != want[i] {
				return false
			}
		}
		return true
	}
	if got := kinds(step(79_99, 0)); len(got) != 0 {
		t.Fatalf("below every threshold: %q", got)
	}
	as := step(80_00, 0)
	if got := kinds(as); !eq(got, "utilisation up 80.00") {
		t.Fatalf("at 80%%: %q", got)
	}
	if a := as[0]; a.Region != "r1" || a.Amount != 80_00 || a.Budget != 100_00 || a.JournalSeq != 9 || a.Value.String() != "80.00" || !a.At.Equal(at) {
		t.Fatalf("alert %+v", a)
	}
	if got := kinds(step(85_00, 0)); len(got) != 0 {
		t.Fatalf("once per crossing: %q", got)
	}
	if got := kinds(step(95_00, 10_00)); !eq(got, "utilisation up 90.00", "projected up 100.00") {
		t.Fatalf("at 95%% with commitments: %q", got)
	}
	if got := kinds(step(70_00, 0)); !eq(got, "utilisation down 80.00", "utilisation down 90.00", "projected down 100.00") {
		t.Fatalf("back below: %q", got)
	}
	if got := kinds(step(81_00, 0)); !eq(got, "utilisation up 80.00") {
		t.Fatalf("re-armed: %q", got)
	}
	if got := kinds(step(101_00, 0)); !eq(got, "utilisation up 90.00", "projected up 100.00") || st.CrossedOn != regie.DateOf(at) {
		t.Fatalf("beyond: %q, crossed on %s", got, st.CrossedOn)
	}
	step(50_00, 0)
	if !st.CrossedOn.IsZero() {
		t.Fatalf("crossed on %s after falling back", st.CrossedOn)
	}
	t.Run("defaults and a zero budget", func(t *testing.T) {
		st := &settlement.MonitorState{}
		z := &settlement.RegionState{Region: settlement.Region{ID: "r0", Year: 2026}}
		if as := st.Evaluate(z, settlement.Project(z, 0, 0, regie.DateOf(at)), at); len(as) != 0 {
			t.Fatalf("nothing used of nothing: %q", kinds(as))
		}
		z.Settled = 1
		if got := kinds(st.Evaluate(z, settlement.Project(z, 0, 0, regie.DateOf(at)), at)); len(got) != 6 {
			t.Fatalf("anything used of nothing reaches every default threshold: %q", got)
		}
	})
	t.Run("validation", func(t *testing.T) {
		for _, th := range []settlement.Thresholds{
			{Utilisation: []settlement.Rate{0}}, {Projected: []settlement.Rate{100001}}, {Utilisation: make([]settlement.Rate, 11)},
		} {
			if err := th.Validate(); regie.ErrorCode(err) != "threshold_invalid" {
				t.Errorf("Validate(%+v) = %v", th, err)
			}
		}
		if err := (settlement.Thresholds{Utilisation: []settlement.Rate{1, 100000}}).Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
	})
}

func TestRegionState_ScheduledPolicy(t *testing.T) {
	at := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	today := regie.DateOf(at)
	r := &settlement.RegionState{Region: settlement.Region{ID: "r1", Policy: settlement.Policy{Kind: settlement.Monitor}}}
	hold := settlement.Policy{Kind: settlement.Hold, HoldThreshold: 10000, Effective: today.AddDays(16)}
	e := settlement.BookPolicy(r, hold, "funder:zk1", at)
	if r.Policy.Kind != settlement.Monitor || r.Scheduled != hold || e.Policy == nil || *e.Policy != hold {
		t.Fatalf("scheduling: policy %+v, scheduled %+v, entry %+v", r.Policy, r.Scheduled, e.Policy)
	}
	if f := r.Figures(); f.ScheduledPolicy != hold || f.Policy.Kind != settlement.Monitor {
		t.Fatalf("figures %+v", f)
	}
	if r.PolicyAt(today.AddDays(15)).Kind != settlement.Monitor || r.PolicyAt(today.AddDays(16)) != hold {
		t.Fatal("PolicyAt around the day")
	}
	settlement.BookPolicy(r, settlement.Policy{Kind: settlement.Cap}, "funder:zk1", at)
	if r.Policy.Kind != settlement.Cap || r.Scheduled != hold {
		t.Fatalf("an immediate change keeps the schedule: %+v / %+v", r.Policy, r.Scheduled)
	}
	if r.Roll(today.AddDays(15)) || r.Policy.Kind != settlement.Cap {
		t.Fatal("rolled before the day")
	}
	if !r.Roll(today.AddDays(16)) || r.Policy != hold || r.Scheduled != (settlement.Policy{}) || r.Roll(today.AddDays(17)) {
		t.Fatalf("roll on the day: %+v / %+v", r.Policy, r.Scheduled)
	}
	// A policy for today holds at once.
	settlement.BookPolicy(r, settlement.Policy{Kind: settlement.Monitor, Effective: today}, "x", at)
	if r.Policy.Kind != settlement.Monitor || r.Scheduled != (settlement.Policy{}) {
		t.Fatalf("effective today: %+v / %+v", r.Policy, r.Scheduled)
	}
}

func TestFundingOf_States(t *testing.T) {
	r := &settlement.RegionState{Region: settlement.Region{ID: "r1", Budget: 100_00}, Settled: 120_00}
	rec := func(state settlement.ClaimState, amount, paid regie.Cents, beyond bool) *settlement.ClaimRecord {
		d := monDecision("c", amount)
		d.BeyondBudget = beyond
		return &settlement.ClaimRecord{Decision: d, State: state, Paid: paid}
	}
	tests := []struct {
		name string
		rec  *settlement.ClaimRecord
		r    settlement.RegionState
		want string
	}{
		{"rejected", rec(settlement.StateRejected, 0, 0, false), *r, settlement.FundingRejected},
		{"reversed", rec(settlement.StateReversed, 60_00, 0, false), *r, settlement.FundingReversed},
		{"held", rec(settlement.StateHeld, 60_00, 0, true), *r, settlement.FundingHeld},
		{"prorata share", rec(settlement.StateSettled, 60_00, 48_00, false), *r, settlement.FundingAdjusted},
		{"beyond, region still beyond", rec(settlement.StateSettled, 60_00, 60_00, true), *r, settlement.FundingBeyond},
		{"beyond, budget raised since", rec(settlement.StateSettled, 60_00, 60_00, true), settlement.RegionState{Region: settlement.Region{Budget: 200_00}, Settled: 120_00}, settlement.FundingWithin},
		{"within", rec(settlement.StateSettled, 60_00, 60_00, false), *r, settlement.FundingWithin},
		{"prorata closed at 100%", rec(settlement.StateSettled, 60_00, 48_00, false), settlement.RegionState{Region: settlement.Region{Budget: 200_00}, Closed: true, FinalRate: 10000}, settlement.FundingWithin},
		{"prorata closed below 100%", rec(settlement.StateSettled, 60_00, 48_00, false), settlement.RegionState{Closed: true, FinalRate: 9000}, settlement.FundingAdjusted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := settlement.FundingOf(tc.rec, &tc.r); got != tc.want {
				t.Errorf("FundingOf = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestNewClaims_Policies(t *testing.T) {
	today := regie.DateOf(time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC))
	region := func(kind settlement.PolicyKind, settled regie.Cents) *settlement.RegionState {
		return &settlement.RegionState{Region: settlement.Region{Budget: 100_00, Policy: settlement.Policy{Kind: kind, HoldThreshold: 9000, ProvisionalRate: 8000}}, Settled: settled}
	}
	tests := []struct {
		r    *settlement.RegionState
		want string
	}{
		{region(settlement.Monitor, 50_00), settlement.NewClaimsPaid},
		{region(settlement.Monitor, 100_00), settlement.NewClaimsBeyondBudget},
		{region(settlement.Cap, 99_99), settlement.NewClaimsPaid},
		{region(settlement.Cap, 100_00), settlement.NewClaimsRejected},
		{region(settlement.Hold, 89_99), settlement.NewClaimsPaid},
		{region(settlement.Hold, 90_00), settlement.NewClaimsHeld},
		{region(settlement.ProRata, 0), settlement.NewClaimsProvisional},
	}
	for _, tc := range tests {
		if got := settlement.NewClaims(tc.r, today); got != tc.want {
			t.Errorf("%s at %s: %s, want %s", tc.r.Policy.Kind, tc.r.Settled, got, tc.want)
		}
	}
	closed := region(settlement.ProRata, 0)
	closed.Closed = true
	if got := settlement.NewClaims(closed, today); got != settlement.NewClaimsClosed {
		t.Errorf("closed: %s", got)
	}
	sched := region(settlement.Monitor, 100_00)
	sched.Scheduled = settlement.Policy{Kind: settlement.Cap, Effective: today}
	if got := settlement.NewClaims(sched, today); got != settlement.NewClaimsRejected {
		t.Errorf("a cap from today: %s", got)
	}
}
