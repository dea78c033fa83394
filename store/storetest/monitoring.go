package storetest

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store"
)

// RunMonitoring runs the conformance suite of settlement.Monitoring: the
// tallies equal what the journal says, alerts fire once per crossing,
// webhook deliveries are queued and logged, watchers hear of commits,
// exports stream by period, and a policy set from a date holds from that day.
// A backend runs it next to Run.
func RunMonitoring(t *testing.T, open func(t *testing.T) store.Store) {
	o := Opener(open)
	t.Run("Tallies", func(t *testing.T) { testTallies(t, o) })
	t.Run("Outlook", func(t *testing.T) { testOutlookWindow(t, o) })
	t.Run("Alerts", func(t *testing.T) { testAlerts(t, o) })
	t.Run("Deliveries", func(t *testing.T) { testDeliveries(t, o) })
	t.Run("Watch", func(t *testing.T) { testWatch(t, o) })
	t.Run("Exports", func(t *testing.T) { testExports(t, o) })
	t.Run("PolicyFromDate", func(t *testing.T) { testPolicyFromDate(t, o) })
	t.Run("ProviderClaims", func(t *testing.T) { testProviderClaims(t, o) })
}

// at is noon of the n-th day of the fixture's validity: the moment of a step.
func at(n int) time.Time { return Noon(Day(n)) }

// monClaim is one hour of ProductHour on a voucher by a provider on a day.
func monClaim(agb, voucherID, id string, day regie.Date) settlement.Claim {
	return settlement.Claim{
		ProviderAGB: agb, ClaimID: id, VoucherID: voucherID, Product: ProductHour,
		From: day, To: day, Units: 1 * regie.UnitScale, UnitPrice: ProviderPrice,
	}
}

func settleStatus(t testing.TB, s store.Store, c settlement.Claim, now time.Time, want settlement.Status) settlement.Decision {
	t.Helper()
	d, _, err := s.Settle(t.Context(), c, now)
	must(t, err, "Settle "+c.ClaimID)
	if d.Status != want {
		t.Fatalf("claim %s: %s %s, want %s", c.ClaimID, d.Status, d.Reason, want)
	}
	return d
}

// foldJournal recomputes a region's tallies from its journal, written apart
// from settlement.TallyOf: each posting to one of the region's five accounts
// (compared by full name) changes that figure; a settle or hold entry counts
// one claim and its amount less what it took from the commitment as
// uncommitted; a reverse entry uncounts a claim.
type foldedTallies struct {
	total     settlement.Tally
	days      map[regie.Date]settlement.Tally
	products  map[string]settlement.Tally
	providers map[string]settlement.Tally
}

func foldJournal(region string, entries []settlement.Entry) foldedTallies {
	f := foldedTallies{days: map[regie.Date]settlement.Tally{}, products: map[string]settlement.Tally{}, providers: map[string]settlement.Tally{}}
	figures := map[string]func(*settlement.Tally) *regie.Cents{
		settlement.RegionAccount(region, "budget"):    func(t *settlement.Tally) *regie.Cents { return &t.Budget },
		settlement.RegionAccount(region, "settled"):   func(t *settlement.Tally) *regie.Cents { return &t.Settled },
		settlement.RegionAccount(region, "held"):      func(t *settlement.Tally) *regie.Cents { return &t.Held },
		settlement.RegionAccount(region, "committed"): func(t *settlement.Tally) *regie.Cents { return &t.Committed },
		settlement.RegionAccount(region, "paid"):      func(t *settlement.Tally) *regie.Cents { return &t.Paid },
	}
	add := func(m map[string]settlement.Tally, k string, d settlement.Tally) {
		t := m[k]
		t.Budget += d.Budget
		t.Settled += d.Settled
		t.Held += d.Held
		t.Committed += d.Committed
		t.Paid += d.Paid
		t.Claims += d.Claims
		t.Uncommitted += d.Uncommitted
		m[k] = t
	}
	total := map[string]settlement.Tally{}
	days := map[string]settlement.Tally{}
	for _, e := range entries {
		var d settlement.Tally
		for _, p := range e.Postings {
			if fig, ok := figures[p.Account]; ok {
				*fig(&d) += p.Amount
			}
		}
		switch e.Type {
		case settlement.EntrySettle, settlement.EntryHold:
			d.Claims = 1
			took := -d.Committed // what the claim took from the line's commitment
			d.Uncommitted = e.Amount - took
		case settlement.EntryReverse:
			d.Claims = -1
		}
		if d == (settlement.Tally{}) {
			continue
		}
		add(total, "", d)
		add(days, regie.DateOf(e.At).String(), d)
		if e.Product != "" {
			pd := d
			pd.Budget = 0
			add(f.products, e.Product, pd)
		}
		if e.ProviderAGB != "" {
			pd := d
			pd.Budget, pd.Committed = 0, 0
			if pd != (settlement.Tally{}) {
				add(f.providers, e.ProviderAGB, pd)
			}
		}
	}
	f.total = total[""]
	for k, t := range days {
		d, _ := regie.ParseDate(k)
		f.days[d] = t
	}
	return f
}

// CheckTallies checks that every monitoring tally of a region a store keeps
// equals the one recomputed from the region's journal: per day, per product
// and per provider, and that their sums are the region's counters. It also
// checks the per-product and per-provider settled, held and claim count
// against the recorded claims in their state now. It returns the recomputed
// day tallies.
func CheckTallies(t testing.TB, s store.Store, region string) map[regie.Date]settlement.Tally {
	t.Helper()
	ctx := t.Context()
	f := foldJournal(region, ReadJournal(t, s, region))
	r, err := s.Region(ctx, region)
	must(t, err, "Region")
	if got := (settlement.Tally{Budget: r.Budget, Settled: r.Settled, Held: r.Held, Committed: r.Committed, Paid: r.Paid, Claims: r.Claims}); got != (settlement.Tally{
		Budget: f.total.Budget, Settled: f.total.Settled, Held: f.total.Held, Committed: f.total.Committed, Paid: f.total.Paid, Claims: f.total.Claims,
	}) {
		t.Errorf("region %s counters %+v, journal says %+v", region, got, f.total)
	}
	before, days, err := s.Days(ctx, region, 0, regie.Date(math.MaxInt32))
	must(t, err, "Days")
	if before != (settlement.Tally{}) {
		t.Errorf("Days from day 0: %+v before it, want nothing", before)
	}
	stored := map[regie.Date]settlement.Tally{}
	var sum settlement.Tally
	for i, d := range days {
		if i > 0 && d.Day <= days[i-1].Day {
			t.Errorf("Days out of order: %s after %s", d.Day, days[i-1].Day)
		}
		stored[d.Day] = d.Tally
		sum.Add(d.Tally)
	}
	if sum != f.total {
		t.Errorf("region %s: days add up to %+v, journal to %+v", region, sum, f.total)
	}
	diffTallies(t, region+" days", stringKeys(stored), stringKeys(f.days))
	products, err := s.ProductTallies(ctx, region)
	must(t, err, "ProductTallies")
	diffTallies(t, region+" products", keyed(products), f.products)
	providers, err := s.ProviderTallies(ctx, region)
	must(t, err, "ProviderTallies")
	diffTallies(t, region+" providers", keyed(providers), f.providers)

	// The same figures from the claims as they stand.
	byProduct, byProvider := map[string]settlement.Tally{}, map[string]settlement.Tally{}
	for agb := range f.providers {
		after := ""
		for {
			recs, err := s.ProviderClaims(ctx, agb, region, after, 100)
			must(t, err, "ProviderClaims")
			for _, rec := range recs {
				if rec.Region != region {
					t.Errorf("ProviderClaims(%s, %s) returned a claim of %s", agb, region, rec.Region)
				}
				var d settlement.Tally
				switch rec.State {
				case settlement.StateSettled:
					d = settlement.Tally{Settled: rec.Amount, Claims: 1}
				case settlement.StateHeld:
					d = settlement.Tally{Held: rec.Amount, Claims: 1}
				}
				p, v := byProduct[rec.Product], byProvider[agb]
				p.Settled, p.Held, p.Claims = p.Settled+d.Settled, p.Held+d.Held, p.Claims+d.Claims
				v.Settled, v.Held, v.Claims = v.Settled+d.Settled, v.Held+d.Held, v.Claims+d.Claims
				byProduct[rec.Product], byProvider[agb] = p, v
			}
			if len(recs) < 100 {
				break
			}
			after = recs[len(recs)-1].ClaimID
		}
	}
	for k, want := range byProduct {
		got := f.products[k]
		if got.Settled != want.Settled || got.Held != want.Held || got.Claims != want.Claims {
			t.Errorf("%s product %s: tally %+v, claims now say settled %s, held %s, %d claims", region, k, got, want.Settled, want.Held, want.Claims)
		}
	}
	for k, want := range byProvider {
		got := f.providers[k]
		if got.Settled != want.Settled || got.Held != want.Held || got.Claims != want.Claims {
			t.Errorf("%s provider %s: tally %+v, claims now say settled %s, held %s, %d claims", region, k, got, want.Settled, want.Held, want.Claims)
		}
	}
	return f.days
}

func keyed(ts []settlement.KeyedTally) map[string]settlement.Tally {
	m := map[string]settlement.Tally{}
	for _, t := range ts {
		m[t.Key] = t.Tally
	}
	return m
}

func stringKeys(m map[regie.Date]settlement.Tally) map[string]settlement.Tally {
	out := map[string]settlement.Tally{}
	for d, t := range m {
		out[d.String()] = t
	}
	return out
}

func diffTallies(t testing.TB, what string, got, want map[string]settlement.Tally) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			t.Errorf("%s %s: stored %+v, journal says %+v", what, k, got[k], want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok && got[k] != (settlement.Tally{}) {
			t.Errorf("%s %s: stored %+v, the journal has nothing", what, k, got[k])
		}
	}
}

// monitored is a small world: the fixture's region with a budget of 1,000.00,
// its provider, and a second provider with a voucher whose hour and dagdeel
// lines it is assigned to.
type monitored struct {
	s      store.Store
	f      *Fixture
	p2     string
	v2     string
	v2Hour string // the choice of v2's hour line
}

func newMonitored(t *testing.T, o Opener, name string, budget regie.Cents) *monitored {
	t.Helper()
	s := o.fresh(t)
	f := NewFixture(name)
	f.Region.Budget = budget
	f.Put(t, s)
	m := &monitored{s: s, f: f, p2: "P2-" + name, v2: "v2-" + name}
	must(t, s.PutProvider(t.Context(), NewProvider(m.p2, f.Region.ID)), "PutProvider")
	v := f.NewVoucher(m.v2)
	must(t, s.CreateVoucher(t.Context(), v, "token-"+m.v2), "CreateVoucher")
	m.v2Hour = AcceptChoice(t, s, f.NewChoice("ch-h-"+m.v2, m.v2, ProductHour, m.p2)).ID
	AcceptChoice(t, s, f.NewChoice("ch-d-"+m.v2, m.v2, ProductDagdeel, m.p2))
	return m
}

func testTallies(t *testing.T, o Opener) {
	ctx := t.Context()
	m := newMonitored(t, o, "tally", 1_000_00)
	s, f := m.s, m.f
	region := f.Region.ID
	// Day 10: the first provider claims days 1–5 (300.00), the second an hour
	// and a dagdeel.
	for d := 1; d <= 5; d++ {
		settleStatus(t, s, f.Claim(fmt.Sprintf("a%d", d), Day(d)), at(10), settlement.Accepted)
	}
	settleStatus(t, s, monClaim(m.p2, m.v2, "b1", Day(2)), at(10), settlement.Accepted)
	dag := settlement.Claim{ProviderAGB: m.p2, ClaimID: "b2", VoucherID: m.v2, Product: ProductDagdeel,
		From: Day(3), To: Day(3), Units: 1 * regie.UnitScale, UnitPrice: MaxPriceDagdeel}
	settleStatus(t, s, dag, at(10), settlement.Accepted)
	// Day 12: hold beyond 50%: 405.00 is used, so the next claims are held.
	_, err := s.SetPolicy(ctx, region, settlement.Policy{Kind: settlement.Hold, HoldThreshold: 50 * settlement.RateScale}, "funder:test", at(12))
	must(t, err, "SetPolicy")
	settleStatus(t, s, f.Claim("a6", Day(6)), at(12), settlement.Accepted)
	for d := 7; d <= 9; d++ {
		settleStatus(t, s, f.Claim(fmt.Sprintf("a%d", d), Day(d)), at(12), settlement.Held)
	}
	// Day 14: a reversal of a settled and of a held claim, a release.
	_, err = s.Reverse(ctx, f.Provider.AGB, "a2", "dubbel", "provider:"+f.Provider.AGB, at(14))
	must(t, err, "Reverse settled")
	_, err = s.Reverse(ctx, f.Provider.AGB, "a8", "fout", "provider:"+f.Provider.AGB, at(14))
	must(t, err, "Reverse held")
	_, err = s.ReleaseHeld(ctx, region, 60_00, "funder:test", at(14))
	must(t, err, "ReleaseHeld")
	// Day 20: the second provider's hour line ends after day 15; a claim for
	// day 12 is then uncommitted.
	_, err = s.EndAssignment(ctx, m.v2Hour, Day(15), at(20))
	must(t, err, "EndAssignment")
	settleStatus(t, s, monClaim(m.p2, m.v2, "b3", Day(12)), at(20), settlement.Held)
	// Day 21: more budget, back to monitor, a batch, a rejection, a dry run.
	_, err = s.ReviseBudget(ctx, region, 5_000_00, Day(21), "ophoging", "funder:test", at(21))
	must(t, err, "ReviseBudget")
	_, err = s.SetPolicy(ctx, region, settlement.Policy{Kind: settlement.Monitor}, "funder:test", at(21))
	must(t, err, "SetPolicy")
	var batch []settlement.Claim
	for d := 20; d < 30; d++ {
		batch = append(batch, f.Claim(fmt.Sprintf("c%d", d), Day(d)))
	}
	batch = append(batch, f.Claim("c-future", Day(40)))
	_, err = s.SettleBatch(ctx, batch, at(31))
	must(t, err, "SettleBatch")
	_, _, err = s.DrySettle(ctx, f.Claim("dry", Day(31)), at(32))
	must(t, err, "DrySettle")
	// Day 40: concurrent claims through group commit, on two vouchers.
	v3 := f.AddVoucher(t, s, "v3-tally")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 4 {
				d := 32 + g*4 + i
				if _, _, err := s.Settle(ctx, f.ClaimOn(v3.ID, fmt.Sprintf("g%d", d), Day(d)), at(70)); err != nil {
					t.Errorf("Settle: %v", err)
				}
			}
		})
	}
	wg.Wait()
	// Day 80: a dispute upheld is a reversal too.
	_, err = s.OpenDispute(ctx, f.Provider.AGB, "c25", "niet geleverd", at(33))
	must(t, err, "OpenDispute")
	_, err = s.ResolveDispute(ctx, f.Provider.AGB, "c25", true, "klopt", "funder:test", at(80))
	must(t, err, "ResolveDispute")

	days := CheckTallies(t, s, region)
	if len(days) < 6 {
		t.Errorf("the workload booked on %d days, want at least 6", len(days))
	}
	if u := days[Day(20)].Uncommitted; u != ProviderPrice {
		t.Errorf("uncommitted on day 20 = %s, want the claim on the ended line (%s)", u, ProviderPrice)
	}
	CheckLedger(t, s, region, f.Voucher.ID, m.v2, v3.ID)

	t.Run("prorata close", func(t *testing.T) {
		pm := newMonitored(t, o, "tallypr", 200_00)
		_, err := pm.s.SetPolicy(ctx, pm.f.Region.ID, settlement.Policy{Kind: settlement.ProRata, ProvisionalRate: 80 * settlement.RateScale}, "funder:test", at(1))
		must(t, err, "SetPolicy")
		for d := 1; d <= 3; d++ {
			settleStatus(t, pm.s, pm.f.Claim(fmt.Sprintf("p%d", d), Day(d)), at(5), settlement.Accepted)
		}
		settleStatus(t, pm.s, monClaim(pm.p2, pm.v2, "q1", Day(2)), at(5), settlement.Accepted)
		_, err = pm.s.CloseYear(ctx, pm.f.Region.ID, "funder:test", at(300))
		must(t, err, "CloseYear")
		CheckTallies(t, pm.s, pm.f.Region.ID)
	})
}

func testOutlookWindow(t *testing.T, o Opener) {
	ctx := t.Context()
	m := newMonitored(t, o, "window", 1_000_00)
	s, f := m.s, m.f
	region := f.Region.ID
	// Uncommitted claims on days 40 and 60: the hour line of v2 ends after day 30.
	_, err := s.EndAssignment(ctx, m.v2Hour, Day(30), at(35))
	must(t, err, "EndAssignment")
	settleStatus(t, s, monClaim(m.p2, m.v2, "u1", Day(20)), at(40), settlement.Accepted)
	settleStatus(t, s, monClaim(m.p2, m.v2, "u2", Day(21)), at(60), settlement.Accepted)
	settleStatus(t, s, f.Claim("k1", Day(22)), at(60), settlement.Accepted) // committed: not counted
	days := CheckTallies(t, s, region)
	for _, today := range []regie.Date{Day(39), Day(40), Day(60), Day(66), Day(67), Day(87), Day(400), ValidFrom.AddDays(-5)} {
		r, st, u, err := s.Outlook(ctx, region, today)
		must(t, err, "Outlook")
		from, to, _ := settlement.Window(r.Year, today)
		var want regie.Cents
		for d, tl := range days {
			if d >= from && d <= to {
				want += tl.Uncommitted
			}
		}
		if u != want {
			t.Errorf("Outlook on %s: uncommitted %s, want %s (window %s–%s)", today, u, want, from, to)
		}
		if r.ID != region || st.AlertSeq == 0 {
			t.Errorf("Outlook on %s: region %q, alert seq %d (the default projected thresholds are reached by the commitments)", today, r.ID, st.AlertSeq)
		}
	}
	if _, _, _, err := s.Outlook(ctx, "gm-nowhere", Day(1)); regie.ErrorCode(err) != "region_not_found" {
		t.Errorf("Outlook of an unknown region: %v, want region_not_found", err)
	}
}

func alertKinds(as []settlement.Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = fmt.Sprintf("%s %s %s", a.Metric, a.Direction, a.Threshold)
	}
	return out
}

// wantAlerts checks the alerts of region after seq after: their kinds in
// order, numbered after+1, after+2, …
func wantAlerts(t testing.TB, s store.Store, region string, after uint64, want ...string) []settlement.Alert {
	t.Helper()
	as, err := s.Alerts(t.Context(), region, after, 100)
	must(t, err, "Alerts")
	if got := alertKinds(as); !slices.Equal(got, want) {
		t.Fatalf("alerts after %d:\n got %q\nwant %q", after, got, want)
	}
	for i, a := range as {
		if a.Seq != after+uint64(i)+1 {
			t.Fatalf("alert %d has seq %d, want %d", i, a.Seq, after+uint64(i)+1)
		}
	}
	return as
}

func testAlerts(t *testing.T, o Opener) {
	ctx := t.Context()
	m := newMonitored(t, o, "alerts", 1_000_00)
	s, f := m.s, m.f
	region := f.Region.ID
	st, err := s.UpdateMonitor(ctx, region, func(st *settlement.MonitorState) error {
		st.Thresholds = &settlement.Thresholds{Utilisation: []settlement.Rate{8000, 5000}, Projected: []settlement.Rate{}}
		return nil
	}, "funder:test", at(1))
	must(t, err, "UpdateMonitor")
	// The default thresholds of the projection fired when the lines were
	// committed; the new settings watch no projection.
	b := st.AlertSeq
	if st.SettingsBy != "funder:test" || b != 3 || len(st.Above.Projected) != 0 {
		t.Fatalf("monitor state after the settings: %+v", st)
	}
	wantAlerts(t, s, region, 0, "projected up 80.00", "projected up 90.00", "projected up 100.00")
	// 9 claims of 60.00: 540.00 is 54%: the 50% threshold fires, once.
	for d := 1; d <= 9; d++ {
		settleStatus(t, s, f.Claim(fmt.Sprintf("a%d", d), Day(d)), at(10), settlement.Accepted)
	}
	as := wantAlerts(t, s, region, b, "utilisation up 50.00")
	if a := as[0]; a.Amount != 540_00 || a.Budget != 1_000_00 || a.Value != (settlement.Share{Rate: 5400, Valid: true}) || a.Region != region || !a.At.Equal(at(10)) || a.JournalSeq == 0 {
		t.Errorf("alert %+v", a)
	}
	settleStatus(t, s, f.Claim("a10", Day(10)), at(11), settlement.Accepted)
	wantAlerts(t, s, region, b+1)
	// 14 claims: 840.00 is 84%.
	for d := 11; d <= 14; d++ {
		settleStatus(t, s, f.Claim(fmt.Sprintf("a%d", d), Day(d)), at(15), settlement.Accepted)
	}
	wantAlerts(t, s, region, b+1, "utilisation up 80.00")
	// A revision to 2,000.00: 42%: both fall back below and re-arm.
	_, err = s.ReviseBudget(ctx, region, 2_000_00, Day(16), "ophoging", "funder:test", at(16))
	must(t, err, "ReviseBudget")
	wantAlerts(t, s, region, b+2, "utilisation down 50.00", "utilisation down 80.00")
	// Crossing 50% again fires again.
	for d := 15; d <= 17; d++ {
		settleStatus(t, s, f.Claim(fmt.Sprintf("a%d", d), Day(d)), at(18), settlement.Accepted)
	}
	wantAlerts(t, s, region, b+4, "utilisation up 50.00")
	// A reversal below 50% re-arms it.
	_, err = s.Reverse(ctx, f.Provider.AGB, "a17", "fout", "provider:x", at(19))
	must(t, err, "Reverse")
	wantAlerts(t, s, region, b+5, "utilisation down 50.00")
	if st, err = s.Monitor(ctx, region); err != nil || st.AlertSeq != b+6 || len(st.Above.Utilisation) != 0 {
		t.Fatalf("Monitor = %+v, %v", st, err)
	}
	// Projected thresholds: the commitments of the assigned lines lie far
	// beyond the budget, so setting one fires at once.
	_, err = s.UpdateMonitor(ctx, region, func(st *settlement.MonitorState) error {
		st.Thresholds = &settlement.Thresholds{Utilisation: []settlement.Rate{5000}, Projected: []settlement.Rate{10000}}
		return nil
	}, "funder:test", at(20))
	must(t, err, "UpdateMonitor")
	as = wantAlerts(t, s, region, b+6, "projected up 100.00")
	r, err := s.Region(ctx, region)
	must(t, err, "Region")
	if as[0].Amount != r.Settled+r.Held+r.Committed {
		t.Errorf("projected alert amount %s, want settled + held + committed %s (no uncommitted claims)", as[0].Amount, r.Settled+r.Held+r.Committed)
	}
	// Used beyond the budget: CrossedOn is the day.
	_, err = s.ReviseBudget(ctx, region, 100_00, Day(21), "korting", "funder:test", at(21))
	must(t, err, "ReviseBudget")
	if st, _ := s.Monitor(ctx, region); st.CrossedOn != Day(21) {
		t.Errorf("CrossedOn = %s, want %s", st.CrossedOn, Day(21))
	}
	wantAlerts(t, s, region, b+7, "utilisation up 50.00")
	_, err = s.UpdateMonitor(ctx, "gm-nowhere", func(*settlement.MonitorState) error { return nil }, "x", at(1))
	wantErr(t, err, regie.NotFound, "region_not_found")
	_, err = s.UpdateMonitor(ctx, region, func(*settlement.MonitorState) error {
		return regie.Errorf(regie.Invalid, "threshold_invalid", "no")
	}, "x", at(1))
	wantErr(t, err, regie.Invalid, "threshold_invalid")
	if st2, _ := s.Monitor(ctx, region); st2.SettingsAt.Equal(at(1)) {
		t.Errorf("a refused settings change was written: %+v", st2)
	}
}

func testDeliveries(t *testing.T, o Opener) {
	ctx := t.Context()
	m := newMonitored(t, o, "hooks", 100_00)
	s, f := m.s, m.f
	region := f.Region.ID
	_, err := s.UpdateMonitor(ctx, region, func(st *settlement.MonitorState) error {
		st.Thresholds = &settlement.Thresholds{Utilisation: []settlement.Rate{5000, 10000}}
		st.Webhook = &settlement.Webhook{URL: "http://127.0.0.1:9/hook", Secret: "0123456789abcdef"}
		return nil
	}, "funder:test", at(1))
	must(t, err, "UpdateMonitor")
	st, err := s.Monitor(ctx, region)
	must(t, err, "Monitor")
	b := st.AlertSeq                                                      // the defaults fired before the webhook was set: not queued
	settleStatus(t, s, f.Claim("a1", Day(1)), at(2), settlement.Accepted) // 60%
	settleStatus(t, s, f.Claim("a2", Day(2)), at(3), settlement.Accepted) // 120%
	// A new alert is due at once, whatever the clock of its sender.
	ds, err := s.DueDeliveries(ctx, at(-400), 10)
	must(t, err, "DueDeliveries")
	if len(ds) != 2 || !ds[0].NextAt.IsZero() || ds[0].Alert.Seq != b+1 || ds[1].Alert.Seq != b+2 || ds[0].Webhook == nil || ds[0].Webhook.Secret != "0123456789abcdef" || ds[0].Attempts != 0 {
		t.Fatalf("DueDeliveries = %+v", ds)
	}
	if ds, _ := s.DueDeliveries(ctx, at(3), 1); len(ds) != 1 {
		t.Fatalf("DueDeliveries with limit 1 returned %d", len(ds))
	}
	must(t, s.RecordDelivery(ctx, settlement.DeliveryAttempt{Region: region, AlertSeq: b + 1, Attempt: 1, At: at(3), URL: "u", Status: 500,
		Outcome: settlement.OutcomeRetry, NextAt: at(3).Add(time.Hour)}), "RecordDelivery")
	must(t, s.RecordDelivery(ctx, settlement.DeliveryAttempt{Region: region, AlertSeq: b + 2, Attempt: 1, At: at(3), URL: "u", Status: 204,
		Outcome: settlement.OutcomeDelivered}), "RecordDelivery")
	if ds, _ := s.DueDeliveries(ctx, at(3).Add(time.Minute), 10); len(ds) != 0 {
		t.Fatalf("DueDeliveries during the backoff = %+v", ds)
	}
	ds, _ = s.DueDeliveries(ctx, at(3).Add(time.Hour), 10)
	if len(ds) != 1 || ds[0].Alert.Seq != b+1 || ds[0].Attempts != 1 {
		t.Fatalf("DueDeliveries after the backoff = %+v", ds)
	}
	must(t, s.RecordDelivery(ctx, settlement.DeliveryAttempt{Region: region, AlertSeq: b + 1, Attempt: 2, At: at(4), URL: "u", Error: "refused",
		Outcome: settlement.OutcomeFailed}), "RecordDelivery")
	// A late attempt of a finished delivery changes nothing.
	must(t, s.RecordDelivery(ctx, settlement.DeliveryAttempt{Region: region, AlertSeq: b + 1, Attempt: 3, At: at(4), Outcome: settlement.OutcomeDelivered}), "RecordDelivery")
	if ds, _ := s.DueDeliveries(ctx, at(300), 10); len(ds) != 0 {
		t.Fatalf("DueDeliveries after all = %+v", ds)
	}
	log, err := s.Deliveries(ctx, region, 10)
	must(t, err, "Deliveries")
	var got []string
	for _, a := range log {
		got = append(got, fmt.Sprintf("%d/%d %s", a.AlertSeq-b, a.Attempt, a.Outcome))
	}
	if want := []string{"1/2 failed", "2/1 delivered", "1/1 retry"}; !slices.Equal(got, want) {
		t.Fatalf("delivery log %q, want %q (newest first)", got, want)
	}
	if log, _ := s.Deliveries(ctx, region, 1); len(log) != 1 || log[0].Attempt != 2 {
		t.Fatalf("Deliveries limit 1 = %+v", log)
	}
	// Without a webhook, alerts are not queued.
	_, err = s.UpdateMonitor(ctx, region, func(st *settlement.MonitorState) error { st.Webhook = nil; return nil }, "funder:test", at(5))
	must(t, err, "UpdateMonitor")
	_, err = s.ReviseBudget(ctx, region, 10_000_00, Day(5), "ophoging", "funder:test", at(5))
	must(t, err, "ReviseBudget")
	wantAlerts(t, s, region, b+2, "utilisation down 50.00", "utilisation down 100.00")
	if ds, _ := s.DueDeliveries(ctx, at(300), 10); len(ds) != 0 {
		t.Fatalf("alerts without a webhook were queued: %+v", ds)
	}
}

func testWatch(t *testing.T, o Opener) {
	m := newMonitored(t, o, "watch", 100_00)
	s, f := m.s, m.f
	var mu sync.Mutex
	var got []settlement.Change
	stop := s.Watch(func(ch settlement.Change) {
		mu.Lock()
		got = append(got, ch)
		mu.Unlock()
	})
	changes := func() []settlement.Change {
		mu.Lock()
		defer mu.Unlock()
		out := got
		got = nil
		return out
	}
	settleStatus(t, s, f.Claim("a1", Day(1)), at(2), settlement.Accepted)
	if ch := changes(); len(ch) != 1 || ch[0].Region != f.Region.ID {
		t.Fatalf("changes after a claim: %+v, want one of %s", ch, f.Region.ID)
	}
	// A rejected claim changes no figure: nobody hears of it.
	settleStatus(t, s, f.Claim("late", Day(300)), at(2), settlement.Rejected)
	if ch := changes(); len(ch) != 0 {
		t.Fatalf("changes after a rejected claim: %+v", ch)
	}
	st, err := s.Monitor(t.Context(), f.Region.ID)
	must(t, err, "Monitor")
	_, err = s.ReviseBudget(t.Context(), f.Region.ID, 50_00, Day(3), "korting", "funder:test", at(3))
	must(t, err, "ReviseBudget")
	ch := changes()
	st2, _ := s.Monitor(t.Context(), f.Region.ID)
	if len(ch) != 1 || ch[0].Alerts != int(st2.AlertSeq-st.AlertSeq) || ch[0].LastAlert != st2.AlertSeq || ch[0].Alerts == 0 {
		t.Fatalf("changes after a revision that crossed thresholds: %+v (alert seq %d → %d)", ch, st.AlertSeq, st2.AlertSeq)
	}
	stop()
	settleStatus(t, s, f.Claim("a2", Day(2)), at(4), settlement.Accepted)
	if ch := changes(); len(ch) != 0 {
		t.Fatalf("changes after stop: %+v", ch)
	}
}

func testExports(t *testing.T, o Opener) {
	ctx := t.Context()
	m := newMonitored(t, o, "export", 100_000_00)
	other := newMonitored(t, o, "exportother", 100_000_00)
	s, f := m.s, m.f
	region := f.Region.ID
	for d := 1; d <= 5; d++ {
		settleStatus(t, s, f.Claim(fmt.Sprintf("a%d", d), Day(d)), at(d+1), settlement.Accepted)
	}
	settleStatus(t, other.s, other.f.Claim("o1", Day(1)), at(3), settlement.Accepted)
	// 2,500 rejected claims decided on day 7 (their period lies ahead), so
	// that an export spans several read transactions.
	var batch []settlement.Claim
	for i := range 2500 {
		batch = append(batch, f.Claim(fmt.Sprintf("r%04d", i), Day(100)))
	}
	_, err := s.SettleBatch(ctx, batch, at(7))
	must(t, err, "SettleBatch")
	settleStatus(t, s, f.Claim("late", Day(8)), at(9), settlement.Accepted)

	claims := func(from, to regie.Date) []settlement.ClaimRecord {
		var out []settlement.ClaimRecord
		must(t, s.ExportClaims(ctx, region, from, to, func(r settlement.ClaimRecord) error {
			out = append(out, r)
			return nil
		}), "ExportClaims")
		return out
	}
	all := claims(0, 0)
	if len(all) != 2506 {
		t.Fatalf("ExportClaims of everything: %d claims, want 2506", len(all))
	}
	// Settled and held claims in journal order, then the rejected ones by decision day.
	rejected := false
	for i, r := range all {
		if r.Region != region {
			t.Fatalf("claim %s of region %s in the export of %s", r.ClaimID, r.Region, region)
		}
		if r.Status == settlement.Rejected {
			rejected = true
		} else if rejected {
			t.Fatalf("claim %s (%s) after a rejected one", r.ClaimID, r.Status)
		}
		if i > 0 && r.Status == all[i-1].Status && regie.DateOf(r.DecidedAt) < regie.DateOf(all[i-1].DecidedAt) {
			t.Fatalf("claims out of decision-day order at %d", i)
		}
	}
	if all[5].ClaimID != "late" || all[6].Status != settlement.Rejected {
		t.Fatalf("export order: %s, %s", all[5].ClaimID, all[6].ClaimID)
	}
	if got := claims(Day(3), Day(5)); len(got) != 3 || got[0].ClaimID != "a2" || got[2].ClaimID != "a4" {
		t.Fatalf("ExportClaims days 3–5: %d claims", len(got))
	}
	if got := claims(Day(7), Day(7)); len(got) != 2500 || got[0].Status != settlement.Rejected || got[0].ClaimID != "r0000" || got[2499].ClaimID != "r2499" {
		t.Fatalf("ExportClaims day 7: %d claims", len(got))
	}
	if got := claims(Day(9), 0); len(got) != 1 || got[0].ClaimID != "late" {
		t.Fatalf("ExportClaims from day 9: %+v", got)
	}
	stop := fmt.Errorf("stop")
	n := 0
	err = s.ExportClaims(ctx, region, 0, 0, func(settlement.ClaimRecord) error {
		if n++; n == 1500 {
			return stop
		}
		return nil
	})
	if err != stop || n != 1500 {
		t.Fatalf("ExportClaims stopped by fn: %v after %d rows", err, n)
	}
	if err := s.ExportClaims(ctx, "gm-nowhere", 0, 0, func(settlement.ClaimRecord) error { return nil }); regie.ErrorCode(err) != "region_not_found" {
		t.Fatalf("ExportClaims of an unknown region: %v", err)
	}

	journal := ReadJournal(t, s, region)
	entries := func(from, to regie.Date) []uint64 {
		var out []uint64
		must(t, s.ExportJournal(ctx, region, from, to, func(e settlement.Entry) error {
			out = append(out, e.Seq)
			return nil
		}), "ExportJournal")
		return out
	}
	var want []uint64
	for _, e := range journal {
		want = append(want, e.Seq)
	}
	if got := entries(0, 0); !slices.Equal(got, want) {
		t.Fatalf("ExportJournal of everything: %d entries, want %d", len(got), len(want))
	}
	want = nil
	for _, e := range journal {
		if d := regie.DateOf(e.At); d >= Day(3) && d <= Day(6) {
			want = append(want, e.Seq)
		}
	}
	if got := entries(Day(3), Day(6)); !slices.Equal(got, want) || len(want) != 4 {
		t.Fatalf("ExportJournal days 3–6: %v, want %v", got, want)
	}
	if err := s.ExportJournal(ctx, "gm-nowhere", 0, 0, func(settlement.Entry) error { return nil }); regie.ErrorCode(err) != "region_not_found" {
		t.Fatalf("ExportJournal of an unknown region: %v", err)
	}
}

func testPolicyFromDate(t *testing.T, o Opener) {
	ctx := t.Context()
	m := newMonitored(t, o, "sched", 100_00)
	s, f := m.s, m.f
	region := f.Region.ID
	capFrom := settlement.Policy{Kind: settlement.Cap, Effective: Day(50)}
	fig, err := s.SetPolicy(ctx, region, capFrom, "funder:test", at(40))
	must(t, err, "SetPolicy")
	if fig.Policy.Kind != "" && fig.Policy.Kind != settlement.Monitor || fig.ScheduledPolicy != capFrom {
		t.Fatalf("figures after scheduling: policy %+v, scheduled %+v", fig.Policy, fig.ScheduledPolicy)
	}
	j := ReadJournal(t, s, region)
	if e := j[len(j)-1]; e.Type != settlement.EntryPolicy || e.Policy == nil || *e.Policy != capFrom {
		t.Fatalf("the policy entry %+v", e)
	}
	// An immediate change before the day keeps the schedule.
	fig, err = s.SetPolicy(ctx, region, settlement.Policy{Kind: settlement.Monitor, DisputeDays: 7}, "funder:test", at(41))
	must(t, err, "SetPolicy")
	if fig.Policy.DisputeDays != 7 || fig.ScheduledPolicy != capFrom {
		t.Fatalf("figures after an immediate change: %+v / %+v", fig.Policy, fig.ScheduledPolicy)
	}
	// Before day 50 the budget may be passed (monitor), from day 50 not (cap).
	settleStatus(t, s, f.Claim("a1", Day(1)), at(45), settlement.Accepted)
	d := settleStatus(t, s, f.Claim("a2", Day(2)), at(49), settlement.Accepted)
	if !d.BeyondBudget {
		t.Errorf("claim beyond the budget before the cap: %+v", d)
	}
	d = settleStatus(t, s, f.Claim("a3", Day(3)), at(50), settlement.Rejected)
	if d.Reason != settlement.ReasonBudgetExhausted {
		t.Errorf("claim on the cap's day: %s", d.Reason)
	}
	r, err := s.Region(ctx, region)
	must(t, err, "Region")
	if r.PolicyAt(Day(50)) != capFrom || r.PolicyAt(Day(49)).Kind != settlement.Monitor {
		t.Errorf("PolicyAt around the day: %+v, %+v", r.PolicyAt(Day(49)), r.PolicyAt(Day(50)))
	}
	// The first write on or after the day rolls the schedule in.
	_, err = s.ReviseBudget(ctx, region, 1_000_00, Day(51), "ophoging", "funder:test", at(51))
	must(t, err, "ReviseBudget")
	settleStatus(t, s, f.Claim("a4", Day(4)), at(51), settlement.Accepted)
	r, _ = s.Region(ctx, region)
	if r.Policy != capFrom || r.Scheduled != (settlement.Policy{}) {
		t.Errorf("after the day: policy %+v, scheduled %+v", r.Policy, r.Scheduled)
	}
	CheckLedger(t, s, region, f.Voucher.ID)
}

func testProviderClaims(t *testing.T, o Opener) {
	ctx := t.Context()
	m := newMonitored(t, o, "pclaims", 100_000_00)
	s, f := m.s, m.f
	for d := 1; d <= 7; d++ {
		settleStatus(t, s, f.Claim(fmt.Sprintf("c%d", d), Day(d)), at(10), settlement.Accepted)
	}
	settleStatus(t, s, f.Claim("z-rejected", Day(100)), at(10), settlement.Rejected)
	page, err := s.ProviderClaims(ctx, f.Provider.AGB, "", "", 3)
	must(t, err, "ProviderClaims")
	if len(page) != 3 || page[0].ClaimID != "c1" || page[2].ClaimID != "c3" {
		t.Fatalf("first page %+v", page)
	}
	page, _ = s.ProviderClaims(ctx, f.Provider.AGB, "", "c3", 10)
	if len(page) != 5 || page[0].ClaimID != "c4" || page[4].ClaimID != "z-rejected" {
		t.Fatalf("second page: %d claims", len(page))
	}
	if page, _ := s.ProviderClaims(ctx, f.Provider.AGB, "gm-elsewhere", "", 10); len(page) != 0 {
		t.Fatalf("claims of another region: %+v", page)
	}
	regions, err := s.ProviderRegions(ctx, f.Provider.AGB)
	must(t, err, "ProviderRegions")
	if len(regions) != 1 || regions[0].Key != f.Region.ID || regions[0].Settled != 7*ProviderPrice || regions[0].Claims != 7 {
		t.Fatalf("ProviderRegions = %+v", regions)
	}
	// A provider qualified in the region without claims has a zero tally there.
	regions, _ = s.ProviderRegions(ctx, m.p2)
	if len(regions) != 1 || regions[0].Key != f.Region.ID || regions[0].Tally != (settlement.Tally{}) {
		t.Fatalf("ProviderRegions of a provider without claims = %+v", regions)
	}
	if regions, _ := s.ProviderRegions(ctx, "nobody"); len(regions) != 0 {
		t.Fatalf("ProviderRegions of an unknown provider = %+v", regions)
	}
}
