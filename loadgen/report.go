package loadgen

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/regie-nl/regie"
)

// Counts are what the workers of a phase counted.
type Counts struct {
	Requests int64 // requests sent, answered or not
	Lines    int64 // claim lines answered with a decision
	Accepted int64
	Held     int64
	Rejected int64
	Invalid  int64
	Other    int64 // an unknown status, or an answer about another claim
	// Replayed lines were answered with an earlier decision. That is expected
	// only for a claim sent again after its first answer was lost;
	// UnexpectedReplays are the others.
	Replayed          int64
	UnexpectedReplays int64
	// AmountMismatches are accepted lines whose amount is not 1 × unit price.
	AmountMismatches int64
	// SummaryMismatches are bulk answers whose summary does not add up.
	SummaryMismatches int64
	// Errors are requests without a decision: a transport error or a non-2xx
	// answer.
	Errors int64
	Amount regie.Cents // sum of the accepted amounts
}

func (c *Counts) add(o Counts) {
	c.Requests += o.Requests
	c.Lines += o.Lines
	c.Accepted += o.Accepted
	c.Held += o.Held
	c.Rejected += o.Rejected
	c.Invalid += o.Invalid
	c.Other += o.Other
	c.Replayed += o.Replayed
	c.UnexpectedReplays += o.UnexpectedReplays
	c.AmountMismatches += o.AmountMismatches
	c.SummaryMismatches += o.SummaryMismatches
	c.Errors += o.Errors
	c.Amount += o.Amount
}

// PhaseReport is what one phase (one mode) measured.
type PhaseReport struct {
	Mode        Mode
	Concurrency int           // workers
	Duration    time.Duration // wall time of the phase
	Counts
	// Reasons counts the lines not accepted by "status reason".
	Reasons map[string]int64
	// Samples are the first few failures, as text.
	Samples []string
	Latency LatencySummary
	// EndpointMissing is set when the server has no bulk endpoint.
	EndpointMissing bool
	// Exhausted is the number of workers that ran out of days to claim.
	Exhausted int
	// Listeners is the number of event listeners connected during the phase
	// (Config.Listeners), and Listening what they received.
	Listeners int
	Listening ListenerReport
}

// NotAccepted is the number of claim lines that were not accepted plus the
// requests without a decision and the answers that were wrong in another way.
func (p PhaseReport) NotAccepted() int64 {
	return p.Lines - p.Accepted + p.Errors + p.UnexpectedReplays + p.AmountMismatches + p.SummaryMismatches
}

// RequestsPerSecond and LinesPerSecond are throughput over the phase's wall time.
func (p PhaseReport) RequestsPerSecond() float64 { return perSecond(p.Requests, p.Duration) }
func (p PhaseReport) LinesPerSecond() float64    { return perSecond(p.Lines, p.Duration) }

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func (p PhaseReport) write(w io.Writer) {
	fmt.Fprintf(w, "\nphase %s: concurrency %d, duration %s, %d event listeners\n", p.Mode, p.Concurrency, p.Duration.Round(time.Millisecond), p.Listeners)
	fmt.Fprintf(w, "  requests      %10d  %10.1f/s\n", p.Requests, p.RequestsPerSecond())
	fmt.Fprintf(w, "  claim lines   %10d  %10.1f/s\n", p.Lines, p.LinesPerSecond())
	fmt.Fprintf(w, "  decisions     accepted %d, held %d, rejected %d, invalid %d, other %d; replayed %d (unexpected %d)\n",
		p.Accepted, p.Held, p.Rejected, p.Invalid, p.Other, p.Replayed, p.UnexpectedReplays)
	fmt.Fprintf(w, "  accepted      %s EUR\n", p.Amount)
	fmt.Fprintf(w, "  errors        %d (transport errors and non-2xx answers)\n", p.Errors)
	if p.AmountMismatches > 0 || p.SummaryMismatches > 0 {
		fmt.Fprintf(w, "  wrong answers %d amounts, %d bulk summaries\n", p.AmountMismatches, p.SummaryMismatches)
	}
	l := p.Latency
	fmt.Fprintf(w, "  latency       p50 %s  p95 %s  p99 %s  max %s  (per request, %d requests)\n",
		fmtDur(l.P50), fmtDur(l.P95), fmtDur(l.P99), fmtDur(l.Max), l.Count)
	if p.EndpointMissing {
		fmt.Fprintf(w, "  bulk endpoint not available: POST /api/v1/claims/batch is not a route of this server\n")
	}
	if p.Listeners > 0 {
		l := p.Listening
		fmt.Fprintf(w, "  listeners     %d connected (%d failed): %d events (%d figures, %d alerts), %d dropped by the server\n",
			l.Connected, l.Failed, l.Events, l.Figures, l.Alerts, l.Dropped)
		for _, s := range l.Samples {
			fmt.Fprintf(w, "    %s\n", s)
		}
	}
	if p.Exhausted > 0 {
		fmt.Fprintf(w, "  note          %d workers ran out of days to claim\n", p.Exhausted)
	}
	for _, k := range slices.Sorted(maps.Keys(p.Reasons)) {
		fmt.Fprintf(w, "  not accepted  %-40s %d\n", k, p.Reasons[k])
	}
	if len(p.Samples) > 0 {
		fmt.Fprintf(w, "  first failures:\n")
		for _, s := range p.Samples {
			fmt.Fprintf(w, "    %s\n", s)
		}
	}
}

// fmtDur rounds a latency for reading: microseconds below 10 ms.
func fmtDur(d time.Duration) string {
	if d < 10*time.Millisecond {
		return d.Round(time.Microsecond).String()
	}
	return d.Round(100 * time.Microsecond).String()
}

// LatencySummary describes the latencies of a phase's requests.
type LatencySummary struct {
	Count              int
	P50, P95, P99, Max time.Duration
}

// Latencies merges the latencies of every worker, sorts them and returns the
// exact percentiles. It does not change its arguments.
func Latencies(perWorker ...[]time.Duration) LatencySummary {
	var all []time.Duration
	for _, l := range perWorker {
		all = append(all, l...)
	}
	slices.Sort(all)
	s := LatencySummary{Count: len(all)}
	if len(all) == 0 {
		return s
	}
	s.P50, s.P95, s.P99 = Percentile(all, 50), Percentile(all, 95), Percentile(all, 99)
	s.Max = all[len(all)-1]
	return s
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the
// nearest-rank method: the smallest value that at least p percent of the
// values do not exceed. It returns 0 for no values; p ≤ 0 gives the minimum.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p * float64(n) / 100))
	return sorted[min(max(rank, 1), n)-1]
}

// Check is one invariant checked through the API after the run.
type Check struct {
	Name   string
	OK     bool
	Detail string
}

func writeChecks(w io.Writer, checks []Check) {
	fmt.Fprintf(w, "\nchecks:\n")
	for _, c := range checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s  %s", mark, c.Name)
		if c.Detail != "" {
			fmt.Fprintf(w, ": %s", c.Detail)
		}
		fmt.Fprintln(w)
	}
}

// ListenerComparison is the throughput of one mode's phases with event
// listeners against its phases without them.
type ListenerComparison struct {
	Mode      Mode
	Listeners int
	// Claim lines per second over all phases with and without listeners.
	With, Without float64
}

// Ratio is With / Without.
func (c ListenerComparison) Ratio() float64 {
	if c.Without == 0 {
		return 0
	}
	return c.With / c.Without
}

// CompareListeners sums, per mode, the claim lines and the time of the phases
// driven with listeners and of those without.
func CompareListeners(phases []PhaseReport) []ListenerComparison {
	type sum struct {
		lines     [2]int64
		time      [2]time.Duration
		listeners int
	}
	var modes []Mode
	sums := map[Mode]*sum{}
	for _, p := range phases {
		s := sums[p.Mode]
		if s == nil {
			s = &sum{}
			sums[p.Mode] = s
			modes = append(modes, p.Mode)
		}
		i := 0
		if p.Listeners > 0 {
			i, s.listeners = 1, p.Listeners
		}
		s.lines[i] += p.Lines
		s.time[i] += p.Duration
	}
	var out []ListenerComparison
	for _, m := range modes {
		s := sums[m]
		if s.listeners == 0 || s.time[0] == 0 {
			continue
		}
		out = append(out, ListenerComparison{Mode: m, Listeners: s.listeners,
			With: perSecond(s.lines[1], s.time[1]), Without: perSecond(s.lines[0], s.time[0])})
	}
	return out
}

func writeListenerComparison(w io.Writer, phases []PhaseReport) {
	for _, c := range CompareListeners(phases) {
		fmt.Fprintf(w, "\nlisteners: mode %s: %.1f claim lines/s with %d listeners, %.1f without (phases in the order without, with, with, without); with/without = %.1f%%\n",
			c.Mode, c.With, c.Listeners, c.Without, 100*c.Ratio())
	}
}
