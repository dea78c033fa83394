package loadgen_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/demo"
	"github.com/regie-nl/regie/loadgen"
	"github.com/regie-nl/regie/voucher"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = ms(i + 1) // 1 ms … 100 ms
	}
	thousand := make([]time.Duration, 1000)
	for i := range thousand {
		thousand[i] = time.Duration(i+1) * time.Microsecond
	}
	ten := hundred[:10]
	cases := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"none", nil, 50, 0},
		{"one p50", []time.Duration{ms(7)}, 50, ms(7)},
		{"one p99", []time.Duration{ms(7)}, 99, ms(7)},
		{"two p50 is the lower", []time.Duration{ms(1), ms(2)}, 50, ms(1)},
		{"two p51 is the upper", []time.Duration{ms(1), ms(2)}, 51, ms(2)},
		{"100 p50", hundred, 50, ms(50)},
		{"100 p95", hundred, 95, ms(95)},
		{"100 p99", hundred, 99, ms(99)},
		{"100 p100", hundred, 100, ms(100)},
		{"100 p0 is the minimum", hundred, 0, ms(1)},
		{"10 p50", ten, 50, ms(5)},
		{"10 p95 rounds up", ten, 95, ms(10)},
		{"10 p99 rounds up", ten, 99, ms(10)},
		{"1000 p99", thousand, 99, 990 * time.Microsecond},
		{"1000 p99.9", thousand, 99.9, 999 * time.Microsecond},
		{"above 100 is the maximum", ten, 150, ms(10)},
	}
	for _, c := range cases {
		if got := loadgen.Percentile(c.sorted, c.p); got != c.want {
			t.Errorf("%s: Percentile(p%v) = %v, want %v", c.name, c.p, got, c.want)
		}
	}
}

func TestLatencies_MergesAndSorts(t *testing.T) {
	a := []time.Duration{ms(9), ms(1), ms(5)}
	b := []time.Duration{ms(3), ms(100)}
	var c []time.Duration
	aBefore := slices.Clone(a)
	s := loadgen.Latencies(a, b, c)
	want := loadgen.LatencySummary{Count: 5, P50: ms(5), P95: ms(100), P99: ms(100), Max: ms(100)}
	if s != want {
		t.Errorf("Latencies = %+v, want %+v", s, want)
	}
	if !slices.Equal(a, aBefore) {
		t.Errorf("Latencies changed its argument: %v", a)
	}
	if got := loadgen.Latencies(); got != (loadgen.LatencySummary{}) {
		t.Errorf("Latencies() = %+v, want zero", got)
	}
}

func TestGenerateBSNs(t *testing.T) {
	const n = 5000
	got := loadgen.GenerateBSNs(1, n)
	if len(got) != n {
		t.Fatalf("got %d BSNs, want %d", len(got), n)
	}
	seen := make(map[string]bool)
	for _, b := range got {
		if err := voucher.CheckBSN(b); err != nil {
			t.Errorf("BSN %s: %v", b, err)
		}
		if !strings.HasPrefix(b, "999") {
			t.Errorf("BSN %s is not in the fictitious 999 range", b)
		}
		if b == demo.ClientBSN {
			t.Errorf("the demo client's BSN %s is among them", b)
		}
		if seen[b] {
			t.Errorf("BSN %s twice", b)
		}
		seen[b] = true
	}
	if again := loadgen.GenerateBSNs(1, n); !slices.Equal(got, again) {
		t.Error("the same seed gave other BSNs")
	}
	if prefix := loadgen.GenerateBSNs(1, 10); !slices.Equal(prefix, got[:10]) {
		t.Errorf("fewer BSNs of the same seed are not a prefix: %v vs %v", prefix, got[:10])
	}
	other := loadgen.GenerateBSNs(2, n)
	if slices.Equal(got, other) {
		t.Error("seeds 1 and 2 gave the same BSNs")
	}
	if len(loadgen.GenerateBSNs(1, 0)) != 0 {
		t.Error("GenerateBSNs(…, 0) is not empty")
	}
}

func TestGenerateBSNs_Max(t *testing.T) {
	if testing.Short() {
		t.Skip("draws MaxVouchers numbers")
	}
	got := loadgen.GenerateBSNs(7, loadgen.MaxVouchers)
	if len(got) != loadgen.MaxVouchers || len(slices.Compact(slices.Sorted(slices.Values(got)))) != loadgen.MaxVouchers {
		t.Fatalf("GenerateBSNs(MaxVouchers) did not give %d distinct numbers", loadgen.MaxVouchers)
	}
}

func date(t *testing.T, s string) regie.Date {
	t.Helper()
	d, err := regie.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// drain takes all days of d in steps of the given sizes (cycled) and returns
// them in the order handed out.
func drain(d *loadgen.Days, steps ...int) []regie.Date {
	var out []regie.Date
	for i := 0; d.Left() > 0; i++ {
		first, n := d.Peek(steps[i%len(steps)])
		for j := range n {
			out = append(out, first.AddDays(j))
		}
		d.Take(n)
	}
	return out
}

func TestDays(t *testing.T) {
	today := date(t, "2026-11-25")
	yesterday := today.AddDays(-1)
	cases := []struct {
		name              string
		validFrom         regie.Date
		validTo           regie.Date
		wantFirst, wantTo regie.Date
		wantN             int
	}{
		{"ends in the future: through yesterday", date(t, "2026-11-01"), date(t, "2026-12-25"), date(t, "2026-11-01"), yesterday, 24},
		{"ended: through its last day", date(t, "2026-01-01"), date(t, "2026-01-31"), date(t, "2026-01-01"), date(t, "2026-01-31"), 31},
		{"ends today: through yesterday", date(t, "2026-11-20"), today, date(t, "2026-11-20"), yesterday, 5},
		{"ends yesterday", date(t, "2026-11-20"), yesterday, date(t, "2026-11-20"), yesterday, 5},
		{"starts yesterday", yesterday, date(t, "2027-01-01"), yesterday, yesterday, 1},
		{"starts today: nothing", today, date(t, "2027-01-01"), 0, 0, 0},
		{"starts tomorrow: nothing", today.AddDays(1), date(t, "2027-01-01"), 0, 0, 0},
	}
	for _, c := range cases {
		for _, steps := range [][]int{{1}, {7}, {1000}, {3, 1, 10}} {
			d := loadgen.NewDays(c.validFrom, c.validTo, today)
			if d.Left() != c.wantN {
				t.Errorf("%s: Left = %d, want %d", c.name, d.Left(), c.wantN)
			}
			days := drain(d, steps...)
			if len(days) != c.wantN {
				t.Errorf("%s, steps %v: %d days, want %d", c.name, steps, len(days), c.wantN)
				continue
			}
			for i, day := range days {
				if day > yesterday {
					t.Errorf("%s: day %s is after yesterday", c.name, day)
				}
				if day < c.validFrom || day > c.validTo {
					t.Errorf("%s: day %s outside validity", c.name, day)
				}
				if i > 0 && day != days[i-1].AddDays(1) {
					t.Errorf("%s, steps %v: day %s follows %s: an overlap or a gap", c.name, steps, day, days[i-1])
				}
			}
			if c.wantN > 0 && (days[0] != c.wantFirst || days[len(days)-1] != c.wantTo) {
				t.Errorf("%s: days %s..%s, want %s..%s", c.name, days[0], days[len(days)-1], c.wantFirst, c.wantTo)
			}
			if _, n := d.Peek(5); n != 0 || d.Left() != 0 {
				t.Errorf("%s: after the last day Peek gives %d, Left %d", c.name, n, d.Left())
			}
		}
	}
}

func TestDays_PeekDoesNotHandOut(t *testing.T) {
	today := date(t, "2026-11-25")
	d := loadgen.NewDays(date(t, "2026-11-01"), date(t, "2026-12-31"), today)
	a, n1 := d.Peek(3)
	b, n2 := d.Peek(3)
	if a != b || n1 != 3 || n2 != 3 {
		t.Fatalf("Peek twice: %s/%d then %s/%d", a, n1, b, n2)
	}
	d.Take(100) // more than left: takes what is left
	if d.Left() != 0 {
		t.Errorf("Take(100) left %d days", d.Left())
	}
	d.Take(1)
	if first, n := d.Peek(1); n != 0 || first > today {
		t.Errorf("after the end Peek = %s/%d", first, n)
	}
}

func TestValidity(t *testing.T) {
	for _, s := range []string{"2026-11-25", "2028-02-29", "2026-01-01"} {
		today := date(t, s)
		from, to := loadgen.Validity(today)
		if to != today.AddDays(30) {
			t.Errorf("%s: valid_to %s, want today + 30 days", s, to)
		}
		if from.Time().AddDate(4, 0, 0).After(today.Time().AddDate(0, 0, 1)) || from.DaysThrough(today) < 4*365 {
			t.Errorf("%s: valid_from %s is not four years back", s, from)
		}
		if from.DaysThrough(to) > 5*365 {
			t.Errorf("%s: validity %s..%s is longer than five years", s, from, to)
		}
	}
}

func TestPartition(t *testing.T) {
	for _, c := range []struct{ n, workers int }{{200, 64}, {20, 4}, {3, 8}, {0, 2}, {7, 1}} {
		parts := loadgen.Partition(c.n, c.workers)
		if len(parts) != c.workers {
			t.Errorf("Partition(%d, %d): %d parts", c.n, c.workers, len(parts))
		}
		owner := make(map[int]int)
		minLen, maxLen := c.n, 0
		for w, p := range parts {
			minLen, maxLen = min(minLen, len(p)), max(maxLen, len(p))
			for _, i := range p {
				if prev, ok := owner[i]; ok {
					t.Errorf("Partition(%d, %d): item %d owned by workers %d and %d", c.n, c.workers, i, prev, w)
				}
				owner[i] = w
			}
		}
		if len(owner) != c.n {
			t.Errorf("Partition(%d, %d): %d items owned", c.n, c.workers, len(owner))
		}
		if c.n > 0 && maxLen-minLen > 1 {
			t.Errorf("Partition(%d, %d): shares %d..%d", c.n, c.workers, minLen, maxLen)
		}
	}
}
