package storetest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
)

// The settle history of one hot voucher line, checked for linearizability
// with porcupine against a sequential model of the line: what remains of it
// and which days are claimed. Claims are one or two days within the first
// four weeks, so that many of them overlap each other; the line affords only
// some of them, so that the balance runs out while they race.

const (
	hotGoroutines = 16
	hotCalls      = 12 // per goroutine: 192 operations
	hotDays       = 28
)

type hotInput struct {
	from, to int // days from ValidFrom
	amount   regie.Cents
}

type hotOutput struct {
	status settlement.Status
	reason string
	err    string
}

type hotState struct {
	remaining regie.Cents
	days      uint64 // bit d: day d is claimed
}

func daysMask(from, to int) uint64 {
	var m uint64
	for d := from; d <= to; d++ {
		m |= 1 << d
	}
	return m
}

// hotModel is the line as one sequential object.
func hotModel(initial regie.Cents) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return hotState{remaining: initial} },
		Step: func(state, input, output any) (bool, any) {
			st, in, out := state.(hotState), input.(hotInput), output.(hotOutput)
			mask := daysMask(in.from, in.to)
			switch {
			case out.err != "":
				return false, st
			case st.days&mask != 0:
				return out.status == settlement.Rejected && out.reason == settlement.ReasonPeriodOverlap, st
			case in.amount > st.remaining:
				return out.status == settlement.Rejected && out.reason == settlement.ReasonInsufficientBalance, st
			default:
				return out.status == settlement.Accepted && out.reason == "",
					hotState{remaining: st.remaining - in.amount, days: st.days | mask}
			}
		},
		DescribeOperation: func(input, output any) string {
			in, out := input.(hotInput), output.(hotOutput)
			return fmt.Sprintf("settle(days %d–%d, %s) → %s %s%s", in.from, in.to, in.amount, out.status, out.reason, out.err)
		},
	}
}

func testLinearizable(t *testing.T, o Opener) {
	s := o.fresh(t)
	f := NewFixture("a")
	// The line affords 14 hours at 60.00 and a half: about half of the days.
	line := &f.Voucher.Lines[0]
	line.MaxAmount, line.Remaining = 14*ProviderPrice+30_00, 14*ProviderPrice+30_00
	f.Put(t, s)
	ctx := t.Context()

	type call struct {
		c  settlement.Claim
		in hotInput
	}
	calls := make([][]call, hotGoroutines)
	rnd := rand.New(rand.NewPCG(randomSeed, 7))
	for g := range calls {
		for i := range hotCalls {
			from := rnd.IntN(hotDays)
			to := from
			units := regie.Units(100)
			if rnd.IntN(4) == 0 && from+1 < hotDays { // a two-day claim
				to, units = from+1, 200
			} else if rnd.IntN(3) == 0 {
				units = 50
			}
			c := f.Claim(fmt.Sprintf("hot-%02d-%02d", g, i), Day(from))
			c.To, c.Units = Day(to), units
			amount, _ := c.Amount()
			calls[g] = append(calls[g], call{c, hotInput{from, to, amount}})
		}
	}

	var (
		mu      sync.Mutex
		history []porcupine.Operation
		wg      sync.WaitGroup
	)
	start := time.Now()
	clock := func() int64 { return time.Since(start).Nanoseconds() }
	gate := make(chan struct{})
	for g := range calls {
		wg.Go(func() {
			<-gate
			for _, x := range calls[g] {
				call := clock()
				d, _, err := s.Settle(ctx, x.c, f.Now)
				ret := clock()
				out := hotOutput{status: d.Status, reason: d.Reason}
				if err != nil {
					out = hotOutput{err: err.Error()}
				}
				mu.Lock()
				history = append(history, porcupine.Operation{ClientId: g, Input: x.in, Call: call, Output: out, Return: ret})
				mu.Unlock()
			}
		})
	}
	close(gate)
	wg.Wait()

	accepted, overlaps, short := 0, 0, 0
	for _, op := range history {
		switch out := op.Output.(hotOutput); {
		case out.status == settlement.Accepted:
			accepted++
		case out.reason == settlement.ReasonPeriodOverlap:
			overlaps++
		case out.reason == settlement.ReasonInsufficientBalance:
			short++
		}
	}
	t.Logf("%d operations: %d accepted, %d overlaps, %d short of balance", len(history), accepted, overlaps, short)
	if accepted == 0 || overlaps == 0 || short == 0 {
		t.Fatalf("the history does not exercise the model: %d accepted, %d overlaps, %d short", accepted, overlaps, short)
	}
	model := hotModel(line.MaxAmount)
	if !porcupine.CheckOperations(model, history) {
		t.Fatalf("the settle history of the hot line is not linearizable")
	}

	// The model can tell: a period accepted twice, or more than the line
	// holds accepted, is not linearizable.
	for name, bad := range map[string][]porcupine.Operation{
		"a day accepted twice": {
			{Input: hotInput{3, 3, 60_00}, Call: 0, Output: hotOutput{status: settlement.Accepted}, Return: 1},
			{Input: hotInput{2, 3, 120_00}, Call: 2, Output: hotOutput{status: settlement.Accepted}, Return: 3},
		},
		"beyond the balance": {
			{Input: hotInput{1, 1, line.MaxAmount}, Call: 0, Output: hotOutput{status: settlement.Accepted}, Return: 3},
			{Input: hotInput{2, 2, 30_00}, Call: 1, Output: hotOutput{status: settlement.Accepted}, Return: 2},
		},
		"a rejection for overlap before any acceptance": {
			{Input: hotInput{4, 4, 60_00}, Call: 0, Output: hotOutput{status: settlement.Rejected, reason: settlement.ReasonPeriodOverlap}, Return: 1},
			{Input: hotInput{4, 4, 60_00}, Call: 2, Output: hotOutput{status: settlement.Accepted}, Return: 3},
		},
	} {
		if porcupine.CheckOperations(model, bad) {
			t.Fatalf("porcupine accepts a history with %s", name)
		}
	}

	// And the store agrees with the model's end state.
	v, err := s.Voucher(ctx, f.Voucher.ID)
	must(t, err, "Voucher")
	var spent regie.Cents
	for _, op := range history {
		if op.Output.(hotOutput).status == settlement.Accepted {
			spent += op.Input.(hotInput).amount
		}
	}
	if got := v.Line(ProductHour).Remaining; got != line.MaxAmount-spent {
		t.Fatalf("line remaining %s, the accepted claims leave %s", got, line.MaxAmount-spent)
	}
	CheckLedger(t, s, f.Region.ID, f.Voucher.ID)
}
