package storetest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store"
	"github.com/regie-nl/regie/voucher"
)

// The randomized test: goroutines run random operations on one region under
// one policy, each operation checked on the spot where its answer is
// determined (replays, conflicts, the fixed rejection reasons, reversals and
// disputes of the goroutine's own claims); then the final state is checked
// against the invariants of DESIGN.md and against two sequential models: one
// that adds up the claims by their final state, and one that replays the
// journal in seq order and checks every claim entry where it stands.

const (
	randomSeed       = 20260315
	randomGoroutines = 16
	randomOps        = 30 // per goroutine
	randomBudget     = 2_000_00
)

// randomLine is a voucher line with the provider assigned to it.
type randomLine struct {
	voucher, product, agb string
	maxPrice              regie.Cents
}

// ownClaim is what a goroutine knows of a claim it made.
type ownClaim struct {
	c       settlement.Claim
	first   settlement.Decision
	state   settlement.ClaimState // rejected, reversed, or settled for a live (settled or held) claim
	dispute settlement.DisputeStatus
}

// closedByReversal marks a dispute that was open when its provider reversed the claim.
const closedByReversal settlement.DisputeStatus = "closed by the reversal"

type randomRun struct {
	t      *testing.T
	s      store.Store
	f      *Fixture
	policy settlement.Policy
	lines  []randomLine
	other  string
	revise sync.Mutex // revisions read and set the budget: one at a time
}

func testRandom(t *testing.T, o Opener) {
	for i, p := range []settlement.Policy{
		{Kind: settlement.Monitor},
		{Kind: settlement.Hold, HoldThreshold: 100_00},
		{Kind: settlement.Cap},
		{Kind: settlement.ProRata, ProvisionalRate: 87_50},
	} {
		t.Run(string(p.Kind), func(t *testing.T) { runRandom(t, o, p, randomSeed+uint64(i)) })
	}
	t.Run("linearizable hot line", func(t *testing.T) { testLinearizable(t, o) })
}

func runRandom(t *testing.T, o Opener, p settlement.Policy, seed uint64) {
	s, f := o.withRegion(t, randomBudget, p)
	other := putOther(t, s, f)
	addVoucherOf(t, s, f, "v-b", f.Provider.AGB)
	addVoucherOf(t, s, f, "v-c", other.AGB)
	dagdeelChoice(t, s, f, other.AGB, 0, 0, matching.Accepted)
	small := f.NewVoucher("v-s")
	small.Lines[0].MaxAmount, small.Lines[0].Remaining = 300_00, 300_00
	must(t, s.CreateVoucher(t.Context(), small, "token-v-s"), "CreateVoucher")
	AcceptChoice(t, s, f.NewChoice("ch-v-s", "v-s", ProductHour, other.AGB))
	run := &randomRun{t: t, s: s, f: f, policy: p, other: other.AGB, lines: []randomLine{
		{f.Voucher.ID, ProductHour, f.Provider.AGB, ProviderPrice},
		{"v-b", ProductHour, f.Provider.AGB, ProviderPrice},
		{"v-c", ProductHour, other.AGB, ProviderPrice},
		{f.Voucher.ID, ProductDagdeel, other.AGB, MaxPriceDagdeel},
		{"v-s", ProductHour, other.AGB, ProviderPrice},
	}}
	owns := make([]map[string]*ownClaim, randomGoroutines)
	var wg sync.WaitGroup
	for g := range randomGoroutines {
		owns[g] = map[string]*ownClaim{}
		wg.Go(func() { run.goroutine(g, rand.New(rand.NewPCG(seed, uint64(g))), owns[g]) })
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	all := map[string]*ownClaim{}
	for _, own := range owns {
		for k, c := range own {
			all[k] = c
		}
	}
	run.check(all)
}

func claimKey(agb, id string) string { return agb + "\x00" + id }

// newClaim makes a claim on a random line that may well be accepted.
func (r *randomRun) newClaim(rnd *rand.Rand, id string) settlement.Claim {
	l := r.lines[rnd.IntN(len(r.lines))]
	from := Day(rnd.IntN(120))
	c := settlement.Claim{
		ProviderAGB: l.agb, ClaimID: id, VoucherID: l.voucher, Product: l.product,
		From: from, To: from.AddDays(rnd.IntN(3)),
		Units: regie.Units(25 * (1 + rnd.IntN(8))), UnitPrice: 10_00 + regie.Cents(rnd.Int64N(int64(l.maxPrice-10_00)+1)),
	}
	if l.product == ProductDagdeel {
		c.Units = regie.Units(50 * (1 + rnd.IntN(2)))
	}
	return c
}

// badClaim makes a claim that is rejected for a reason no state changes.
func (r *randomRun) badClaim(rnd *rand.Rand, id string) (settlement.Claim, string) {
	c := r.f.ClaimOn(r.f.Voucher.ID, id, Day(rnd.IntN(300)))
	switch rnd.IntN(4) {
	case 0:
		c.VoucherID = "v-missing"
		return c, settlement.ReasonVoucherUnknown
	case 1:
		c.Product, c.UnitPrice = ProductOther, MaxPriceOther
		return c, settlement.ReasonProductNotIndicated
	case 2:
		c.VoucherID = "v-c" // assigned to the other provider
		return c, settlement.ReasonProviderNotAssigned
	default:
		c.UnitPrice = MaxPriceHour + 1
		return c, settlement.ReasonPriceAboveTariff
	}
}

// pick returns a random claim of own, or nil.
func pick(rnd *rand.Rand, own map[string]*ownClaim, order []string, ok func(*ownClaim) bool) *ownClaim {
	var cand []*ownClaim
	for _, k := range order {
		if ok == nil || ok(own[k]) {
			cand = append(cand, own[k])
		}
	}
	if len(cand) == 0 {
		return nil
	}
	return cand[rnd.IntN(len(cand))]
}

func (r *randomRun) record(own map[string]*ownClaim, order *[]string, c settlement.Claim, d settlement.Decision) {
	oc := &ownClaim{c: c, first: d, state: settlement.StateSettled}
	if d.Status == settlement.Rejected {
		oc.state = settlement.StateRejected
	}
	k := claimKey(c.ProviderAGB, c.ClaimID)
	own[k] = oc
	*order = append(*order, k)
}

func (r *randomRun) goroutine(g int, rnd *rand.Rand, own map[string]*ownClaim) {
	t, s, f := r.t, r.s, r.f
	ctx := t.Context()
	region := f.Region.ID
	var order []string // own claim keys, in the order they were made
	fail := func(format string, args ...any) {
		t.Errorf("goroutine %d: "+format, append([]any{g}, args...)...)
	}
	n := 0
	nextID := func() string { n++; return fmt.Sprintf("g%02d-%03d", g, n) }
	for op := 0; op < randomOps && !t.Failed(); op++ {
		switch x := rnd.IntN(100); {
		case x < 40: // a new claim
			c := r.newClaim(rnd, nextID())
			d, replay, err := s.Settle(ctx, c, f.Now)
			if err != nil || replay {
				fail("Settle %s: %v (replay %v)", c.ClaimID, err, replay)
				return
			}
			r.record(own, &order, c, d)

		case x < 48: // a claim with a fixed rejection reason
			c, reason := r.badClaim(rnd, nextID())
			d, replay, err := s.Settle(ctx, c, f.Now)
			if err != nil || replay || d.Status != settlement.Rejected || d.Reason != reason {
				fail("Settle %s: %s %q (replay %v, %v), want rejected %q", c.ClaimID, d.Status, d.Reason, replay, err, reason)
				return
			}
			r.record(own, &order, c, d)

		case x < 60: // a retry of an earlier claim
			oc := pick(rnd, own, order, nil)
			if oc == nil {
				continue
			}
			d, replay, err := s.Settle(ctx, oc.c, f.Now)
			if err != nil || !replay {
				fail("retry of %s: %v (replay %v)", oc.c.ClaimID, err, replay)
				return
			}
			if diff := DiffDecision(d, oc.first); diff != "" {
				fail("retry of %s: %s", oc.c.ClaimID, diff)
				return
			}

		case x < 64: // an earlier claim id with other content
			oc := pick(rnd, own, order, nil)
			if oc == nil {
				continue
			}
			c := oc.c
			c.Units++
			if _, _, err := s.Settle(ctx, c, f.Now); regie.ErrorCode(err) != "claim_id_conflict" {
				fail("conflicting retry of %s: %v, want claim_id_conflict", c.ClaimID, err)
				return
			}

		case x < 72: // a reversal by the provider
			oc := pick(rnd, own, order, nil)
			if oc == nil {
				continue
			}
			rec, err := s.Reverse(ctx, oc.c.ProviderAGB, oc.c.ClaimID, "correctie", "provider:"+oc.c.ProviderAGB, f.Now)
			if oc.state != settlement.StateSettled {
				if regie.ErrorCode(err) != "claim_not_reversible" {
					fail("reversal of %s %s: %v, want claim_not_reversible", oc.state, oc.c.ClaimID, err)
					return
				}
				continue
			}
			if err != nil || rec.State != settlement.StateReversed {
				fail("reversal of %s: %v, state %s", oc.c.ClaimID, err, rec.State)
				return
			}
			oc.state = settlement.StateReversed
			if oc.dispute == settlement.DisputeOpen {
				oc.dispute = closedByReversal
			}

		case x < 78: // a client's dispute
			oc := pick(rnd, own, order, nil)
			if oc == nil {
				continue
			}
			_, err := s.OpenDispute(ctx, oc.c.ProviderAGB, oc.c.ClaimID, "niet herkend", f.Now)
			if oc.state != settlement.StateSettled || oc.dispute != "" {
				if regie.ErrorCode(err) != "claim_not_disputable" {
					fail("dispute of %s %s (dispute %q): %v, want claim_not_disputable", oc.state, oc.c.ClaimID, oc.dispute, err)
					return
				}
				continue
			}
			if err != nil {
				fail("dispute of %s: %v", oc.c.ClaimID, err)
				return
			}
			oc.dispute = settlement.DisputeOpen

		case x < 84: // the funder resolves one
			oc := pick(rnd, own, order, func(oc *ownClaim) bool { return oc.dispute == settlement.DisputeOpen })
			if oc == nil {
				oc = pick(rnd, own, order, nil)
				if oc == nil {
					continue
				}
				_, err := s.ResolveDispute(ctx, oc.c.ProviderAGB, oc.c.ClaimID, true, "?", funder, f.Now)
				if regie.ErrorCode(err) != "dispute_not_open" {
					fail("resolving undisputed %s: %v, want dispute_not_open", oc.c.ClaimID, err)
					return
				}
				continue
			}
			uphold := rnd.IntN(2) == 0
			rec, err := s.ResolveDispute(ctx, oc.c.ProviderAGB, oc.c.ClaimID, uphold, "besloten", funder, f.Now)
			if err != nil {
				fail("resolving %s: %v", oc.c.ClaimID, err)
				return
			}
			oc.dispute = settlement.DisputeDismissed
			if uphold {
				oc.dispute, oc.state = settlement.DisputeUpheld, settlement.StateReversed
			}
			if rec.Dispute == nil || rec.Dispute.Status != oc.dispute || (uphold != (rec.State == settlement.StateReversed)) {
				fail("resolved %s (uphold %v): %+v", oc.c.ClaimID, uphold, rec)
				return
			}

		case x < 88: // the funder releases held claims
			upTo := regie.Cents(1 + rnd.Int64N(200_00))
			rel, err := s.ReleaseHeld(ctx, region, upTo, funder, f.Now)
			if err != nil || rel.Amount > upTo || rel.Claims < 0 || (r.policy.Kind != settlement.Hold && rel.Claims != 0) {
				fail("ReleaseHeld(%s) = %+v, %v", upTo, rel, err)
				return
			}

		case x < 91: // a budget revision
			r.revise.Lock()
			st, err := s.Region(ctx, region)
			if err == nil {
				delta := regie.Cents(rnd.Int64N(400_00)) - 200_00
				if r.policy.Kind == settlement.Cap {
					delta = regie.Cents(rnd.Int64N(200_00)) // only up: the cap must keep holding
				}
				var rev settlement.Revision
				rev, err = s.ReviseBudget(ctx, region, max(0, st.Budget+delta), Day(op), "herschikking", funder, f.Now)
				if err == nil && (rev.Version != st.Revision+1 || rev.Delta != rev.Budget-st.Budget) {
					err = fmt.Errorf("revision %+v after version %d of %s", rev, st.Revision, st.Budget)
				}
			}
			r.revise.Unlock()
			if err != nil {
				fail("revision: %v", err)
				return
			}

		case x < 96: // a batch: new claims and a retry
			var cs []settlement.Claim
			for range 2 + rnd.IntN(3) {
				cs = append(cs, r.newClaim(rnd, nextID()))
			}
			retry := pick(rnd, own, order, nil)
			if retry != nil {
				cs = append(cs, retry.c)
			}
			res, err := s.SettleBatch(ctx, cs, f.Now)
			if err != nil || len(res) != len(cs) {
				fail("SettleBatch: %d results, %v", len(res), err)
				return
			}
			for i, c := range cs {
				switch {
				case res[i].Err != nil:
					fail("batch line %s: %v", c.ClaimID, res[i].Err)
					return
				case retry != nil && i == len(cs)-1:
					if diff := DiffDecision(res[i].Decision, retry.first); !res[i].Replay || diff != "" {
						fail("batch retry of %s: replay %v, %s", c.ClaimID, res[i].Replay, diff)
						return
					}
				case res[i].Replay:
					fail("batch line %s: a new claim answered as a replay", c.ClaimID)
					return
				default:
					r.record(own, &order, c, res[i].Decision)
				}
			}

		default: // a dry run, then the claim for real
			c := r.newClaim(rnd, nextID())
			if _, replay, err := s.DrySettle(ctx, c, f.Now); err != nil || replay {
				fail("DrySettle %s: %v (replay %v)", c.ClaimID, err, replay)
				return
			}
			if _, err := s.Decision(ctx, c.ProviderAGB, c.ClaimID); regie.ErrorCode(err) != "claim_not_found" {
				fail("DrySettle %s recorded a decision: %v", c.ClaimID, err)
				return
			}
			d, _, err := s.Settle(ctx, c, f.Now)
			if err != nil {
				fail("Settle %s: %v", c.ClaimID, err)
				return
			}
			r.record(own, &order, c, d)
		}
	}
}

// check compares the final state with what the goroutines saw and with the
// sequential models.
func (r *randomRun) check(all map[string]*ownClaim) {
	t, s, f := r.t, r.s, r.f
	ctx := t.Context()
	region := f.Region.ID
	vouchers := []string{f.Voucher.ID, "v-b", "v-c", "v-s"}
	CheckLedger(t, s, region, vouchers...)
	keys, err := voucher.GenerateKeyRing()
	must(t, err, "GenerateKeyRing")
	VerifyOK(t, s, keys, region)
	checkCommitted(t, s, region, vouchers...)

	// What each goroutine saw is what is recorded.
	recs := map[string]settlement.ClaimRecord{}
	accepted, held, rejected, reversed, everHeld := 0, 0, 0, 0, 0
	for k, oc := range all {
		rec := claimRecord(t, s, oc.c.ProviderAGB, oc.c.ClaimID)
		recs[k] = rec
		if diff := DiffDecision(rec.Decision, oc.first); diff != "" {
			t.Fatalf("claim %s: recorded decision differs from the first answer: %s", oc.c.ClaimID, diff)
		}
		live := rec.State == settlement.StateSettled || rec.State == settlement.StateHeld
		if (oc.state == settlement.StateSettled) != live || (!live && rec.State != oc.state) {
			t.Fatalf("claim %s is %s, its goroutine saw it %s", oc.c.ClaimID, rec.State, oc.state)
		}
		got := settlement.DisputeStatus("")
		if rec.Dispute != nil {
			got = rec.Dispute.Status
		}
		if oc.dispute == closedByReversal {
			// Reversed by its provider while disputed: the dispute is no longer open.
			if got == "" || got == settlement.DisputeOpen {
				t.Fatalf("claim %s was reversed while disputed; its dispute is %q", oc.c.ClaimID, got)
			}
		} else if got != oc.dispute {
			t.Fatalf("claim %s has dispute %q, its goroutine saw %q", oc.c.ClaimID, got, oc.dispute)
		}
		if oc.first.Status == settlement.Held {
			everHeld++
		}
		switch rec.State {
		case settlement.StateSettled:
			accepted++
		case settlement.StateHeld:
			held++
		case settlement.StateRejected:
			rejected++
		case settlement.StateReversed:
			reversed++
		}
	}
	t.Logf("%s: %d claims: %d settled, %d held (%d ever), %d rejected, %d reversed", r.policy.Kind, len(all), accepted, held, everHeld, rejected, reversed)
	if accepted == 0 || rejected == 0 || reversed == 0 || (r.policy.Kind == settlement.Hold) != (everHeld > 0) {
		t.Fatalf("the random run did not exercise enough: %d settled, %d held (%d ever), %d rejected, %d reversed", accepted, held, everHeld, rejected, reversed)
	}

	// Model 1: the claims by their final state add up to every figure.
	type lineKey struct{ voucher, product string }
	remaining, units := map[lineKey]regie.Cents{}, map[lineKey]regie.Units{}
	var settled, heldSum, paid, claimed regie.Cents
	var live int64
	for _, rec := range recs {
		if rec.State == settlement.StateRejected {
			continue
		}
		claimed += rec.Amount
		if rec.State == settlement.StateReversed {
			continue
		}
		live++
		lk := lineKey{rec.VoucherID, rec.Product}
		remaining[lk] += rec.Amount
		units[lk] += rec.Units
		if rec.State == settlement.StateHeld {
			heldSum += rec.Amount
		} else {
			settled += rec.Amount
			paid += rec.Paid
		}
	}
	fig := figures(t, s, region)
	if fig.Settled != settled || fig.Held != heldSum || fig.Paid != paid || fig.Claims != live {
		t.Fatalf("figures %+v; the claims add up to settled %s, held %s, paid %s, %d claims", fig, settled, heldSum, paid, live)
	}
	if fig.Settled+fig.Held > claimed {
		t.Fatalf("settled %s + held %s exceed what was claimed, %s", fig.Settled, fig.Held, claimed)
	}
	if r.policy.Kind == settlement.Cap && fig.Settled+fig.Held > fig.Budget {
		t.Fatalf("under cap: settled %s + held %s exceed the budget %s", fig.Settled, fig.Held, fig.Budget)
	}
	for _, id := range vouchers {
		v, err := s.Voucher(ctx, id)
		must(t, err, "Voucher")
		for _, l := range v.Lines {
			lk := lineKey{id, l.Product}
			if l.Remaining != l.MaxAmount-remaining[lk] || l.UnitsClaimed != units[lk] || l.Remaining < 0 {
				t.Fatalf("voucher %s line %s: remaining %s, units %s; the claims leave %s and %s",
					id, l.Product, l.Remaining, l.UnitsClaimed, l.MaxAmount-remaining[lk], units[lk])
			}
		}
		booked, err := s.VoucherClaims(ctx, id)
		must(t, err, "VoucherClaims")
		seen := map[string]bool{}
		for _, b := range booked {
			seen[claimKey(b.ProviderAGB, b.ClaimID)] = true
			if rec, ok := recs[claimKey(b.ProviderAGB, b.ClaimID)]; !ok || rec.State != b.State || b.VoucherID != id {
				t.Fatalf("VoucherClaims(%s) lists %s as %s", id, b.ClaimID, b.State)
			}
		}
		for k, rec := range recs {
			if rec.VoucherID == id && !seen[k] { // rejected ones included
				t.Fatalf("VoucherClaims(%s) does not list %s (%s)", id, rec.ClaimID, rec.State)
			}
		}
	}
	revs, err := s.Revisions(ctx, region)
	must(t, err, "Revisions")
	var budget regie.Cents
	for i, rev := range revs {
		budget += rev.Delta
		if rev.Version != i+1 || rev.Budget != budget {
			t.Fatalf("revision %d: %+v, want version %d of %s", i, rev, i+1, budget)
		}
	}
	if budget != fig.Budget || len(revs) != fig.Revision {
		t.Fatalf("revisions end at %s (%d), figures say %s (%d)", budget, len(revs), fig.Budget, fig.Revision)
	}

	// Model 2: replay the journal in seq order; every claim entry must have
	// been a valid decision in the state it found.
	r.replayJournal(recs)
}

// replayJournal runs the sequential model over the journal.
func (r *randomRun) replayJournal(recs map[string]settlement.ClaimRecord) {
	t := r.t
	region := r.f.Region.ID
	type lineKey struct{ voucher, product string }
	type period struct{ from, to regie.Date }
	var budget, settled, held regie.Cents
	lineLeft := map[lineKey]regie.Cents{}
	periods := map[lineKey]map[string]period{}
	state := map[string]settlement.ClaimState{}
	for _, e := range ReadJournal(t, r.s, region) {
		k := claimKey(e.ProviderAGB, e.ClaimID)
		lk := lineKey{e.VoucherID, e.Product}
		rec, known := recs[k]
		switch e.Type {
		case settlement.EntryRevision:
			budget += e.Amount
		case settlement.EntryIssue:
			for _, p := range e.Postings {
				for _, l := range r.lines {
					if p.Account == settlement.VoucherAccount(l.voucher, l.product) {
						lineLeft[lineKey{l.voucher, l.product}] += p.Amount
					}
				}
			}
		case settlement.EntrySettle, settlement.EntryHold:
			if !known {
				t.Fatalf("entry %d: claim %s was made by no goroutine", e.Seq, e.ClaimID)
			}
			if state[k] != "" {
				t.Fatalf("entry %d: claim %s booked again (it is %s)", e.Seq, e.ClaimID, state[k])
			}
			if lineLeft[lk] < e.Amount {
				t.Fatalf("entry %d: claim %s of %s on a line with %s left", e.Seq, e.ClaimID, e.Amount, lineLeft[lk])
			}
			for other, p := range periods[lk] {
				if p.from <= rec.To && rec.From <= p.to {
					t.Fatalf("entry %d: claim %s (%s–%s) overlaps %s (%s–%s), which stands", e.Seq, e.ClaimID, rec.From, rec.To, other, p.from, p.to)
				}
			}
			lineLeft[lk] -= e.Amount
			if periods[lk] == nil {
				periods[lk] = map[string]period{}
			}
			periods[lk][k] = period{rec.From, rec.To}
			before := settled + held
			if e.Type == settlement.EntryHold {
				held += e.Amount
				state[k] = settlement.StateHeld
			} else {
				settled += e.Amount
				state[k] = settlement.StateSettled
			}
			after := settled + held
			if rec.BeyondBudget != (after > budget) {
				t.Fatalf("entry %d: claim %s beyond budget %v, but %s of %s is claimed", e.Seq, e.ClaimID, rec.BeyondBudget, after, budget)
			}
			switch r.policy.Kind {
			case settlement.Cap:
				if after > budget {
					t.Fatalf("entry %d: claim %s accepted under cap at %s + %s of %s", e.Seq, e.ClaimID, before, e.Amount, budget)
				}
			case settlement.Hold: // threshold 100.00: the budget
				if (e.Type == settlement.EntryHold) != (after > budget) {
					t.Fatalf("entry %d: claim %s %s at %s + %s of %s", e.Seq, e.ClaimID, e.Type, before, e.Amount, budget)
				}
			case settlement.ProRata:
				if want := (e.Amount*regie.Cents(r.policy.ProvisionalRate) + 5000) / 10000; rec.Decision.Payable != want {
					t.Fatalf("entry %d: claim %s of %s payable %s, want %s", e.Seq, e.ClaimID, e.Amount, rec.Decision.Payable, want)
				}
			default:
				if e.Type != settlement.EntrySettle || rec.Decision.Payable != e.Amount {
					t.Fatalf("entry %d: claim %s %s, payable %s under monitor", e.Seq, e.ClaimID, e.Type, rec.Decision.Payable)
				}
			}
		case settlement.EntryRelease:
			if state[k] != settlement.StateHeld {
				t.Fatalf("entry %d: release of %s, which is %q", e.Seq, e.ClaimID, state[k])
			}
			held -= e.Amount
			settled += e.Amount
			state[k] = settlement.StateSettled
		case settlement.EntryReverse:
			switch state[k] {
			case settlement.StateHeld:
				held -= e.Amount
			case settlement.StateSettled:
				settled -= e.Amount
			default:
				t.Fatalf("entry %d: reversal of %s, which is %q", e.Seq, e.ClaimID, state[k])
			}
			state[k] = settlement.StateReversed
			lineLeft[lk] += e.Amount
			delete(periods[lk], k)
		}
	}
	fig := figures(t, r.s, region)
	if fig.Settled != settled || fig.Held != held || fig.Budget != budget {
		t.Fatalf("figures %+v; the journal replayed gives settled %s, held %s, budget %s", fig, settled, held, budget)
	}
	for k, rec := range recs {
		want := state[k]
		if want == "" {
			want = settlement.StateRejected
		}
		if rec.State != want {
			t.Fatalf("claim %s is %s; the journal replayed leaves it %s", rec.ClaimID, rec.State, want)
		}
	}
	for lk, left := range lineLeft {
		if l := line(t, r.s, lk.voucher, lk.product); l.Remaining != left {
			t.Fatalf("line %v: remaining %s; the journal replayed leaves %s", lk, l.Remaining, left)
		}
	}
}
