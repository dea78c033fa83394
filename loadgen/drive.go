package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/demo"
)

// maxSamples is how many failures a phase keeps to print.
const maxSamples = 10

// phase is one timed stretch of driving in one mode, shared by its workers.
type phase struct {
	mode     Mode
	deadline time.Time
	stop     <-chan struct{} // closed when the caller's context is cancelled
	lines    atomic.Int64    // claim lines answered, for the progress line
	errors   atomic.Int64
	missing  atomic.Bool // the bulk endpoint does not exist

	mu      sync.Mutex
	samples []string
}

// running reports whether workers should send another request.
func (p *phase) running() bool {
	select {
	case <-p.stop:
		return false
	default:
	}
	return !p.missing.Load() && time.Now().Before(p.deadline)
}

// sample keeps the first few failures to print.
func (p *phase) sample(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.samples) < maxSamples {
		p.samples = append(p.samples, fmt.Sprintf(format, args...))
	}
}

// drive runs the phases of cfg.Mode over the fixture's vouchers and returns
// one report per phase. Each worker owns the same vouchers in every phase,
// so mode both continues in bulk where single stopped.
func drive(ctx context.Context, cfg Config, c *api, tk *tokens, fx *fixture) []PhaseReport {
	var workers []*worker
	for _, idx := range Partition(len(fx.vouchers), min(cfg.Concurrency, len(fx.vouchers))) {
		w := &worker{c: c, reqCtx: context.WithoutCancel(ctx), tk: tk, seed: cfg.Seed, batch: cfg.Batch}
		byAGB := make(map[string]int)
		for _, i := range idx {
			v := fx.vouchers[i]
			w.vouchers = append(w.vouchers, v)
			g, ok := byAGB[v.agb]
			if !ok {
				g = len(w.groups)
				byAGB[v.agb] = g
				w.groups = append(w.groups, nil)
			}
			w.groups[g] = append(w.groups[g], v)
		}
		workers = append(workers, w)
	}
	type step struct {
		mode      Mode
		d         time.Duration
		listeners int
	}
	steps := []step{{cfg.Mode, cfg.Duration, 0}}
	if cfg.Mode == Both {
		steps = []step{{Single, cfg.Duration / 2, 0}, {Bulk, cfg.Duration - cfg.Duration/2, 0}}
	}
	if cfg.Listeners > 0 {
		// Each phase four times, half as long: without listeners, with them,
		// with them, without (ABBA), so that a steady drift of the
		// throughput over the run (the store grows) falls on both alike.
		var paired []step
		for _, s := range steps {
			a, b := s.d/2, s.d-s.d/2
			paired = append(paired, step{s.mode, a, 0}, step{s.mode, a, cfg.Listeners}, step{s.mode, b, cfg.Listeners}, step{s.mode, b, 0})
		}
		steps = paired
	}
	var out []PhaseReport
	for _, s := range steps {
		if ctx.Err() != nil {
			break
		}
		var ls *listeners
		if s.listeners > 0 {
			token, err := tk.listenerToken(fx.regions)
			if err != nil {
				break
			}
			fmt.Fprintf(cfg.Progress, "[%s] connecting %d event listeners over %d regions\n", s.mode, s.listeners, len(fx.regions))
			ls = listen(ctx, cfg.URL, token, fx.regions, s.listeners)
		}
		r := runPhase(ctx, cfg, workers, s.mode, s.d)
		if ls != nil {
			r.Listeners = s.listeners
			r.Listening = ls.close(s.listeners)
		}
		out = append(out, r)
	}
	return out
}

// runPhase drives all workers in one mode for d and merges what they saw.
func runPhase(ctx context.Context, cfg Config, workers []*worker, mode Mode, d time.Duration) PhaseReport {
	start := time.Now()
	p := &phase{mode: mode, deadline: start.Add(d), stop: ctx.Done()}
	var last int64
	stopProgress := progressEvery(cfg.Progress, time.Second, func(w io.Writer, elapsed time.Duration) {
		n := p.lines.Load()
		fmt.Fprintf(w, "[%s] %5.1fs  claims %9d  rate %7d/s  errors %d\n", mode, elapsed.Seconds(), n, n-last, p.errors.Load())
		last = n
	})
	var wg sync.WaitGroup
	for _, w := range workers {
		w.reset()
		wg.Go(func() { w.run(p) })
	}
	wg.Wait()
	stopProgress()
	elapsed := time.Since(start)

	r := PhaseReport{Mode: mode, Concurrency: len(workers), Duration: elapsed, Reasons: make(map[string]int64), EndpointMissing: p.missing.Load()}
	lats := make([][]time.Duration, 0, len(workers))
	for _, w := range workers {
		r.Counts.add(w.counts)
		for k, n := range w.reasons {
			r.Reasons[k] += n
		}
		if w.exhausted {
			r.Exhausted++
		}
		lats = append(lats, w.lat)
	}
	r.Latency = Latencies(lats...)
	r.Samples = p.samples
	return r
}

// worker sends claims for the vouchers it owns, one request at a time.
type worker struct {
	c      *api
	reqCtx context.Context // not cancelled: a request once sent is answered
	tk     *tokens
	seed   uint64
	batch  int

	vouchers []*vstate
	groups   [][]*vstate // the vouchers by provider, for bulk requests
	next     int         // round-robin position in vouchers or groups

	// Per phase:
	counts    Counts
	reasons   map[string]int64
	lat       []time.Duration
	exhausted bool

	body   []byte
	lines  []line
	streak int // errors in a row, for the back-off
}

// line is one claim line of a request.
type line struct {
	v       *vstate
	day     regie.Date
	claimID string
}

func (w *worker) reset() {
	w.counts = Counts{}
	w.reasons = make(map[string]int64)
	w.lat = make([]time.Duration, 0, 4096)
	w.exhausted = false
}

func (w *worker) run(p *phase) {
	for p.running() {
		var more bool
		if p.mode == Bulk {
			more = w.bulk(p)
		} else {
			more = w.single(p)
		}
		if !more {
			w.exhausted = true
			return
		}
	}
}

// single sends the next claim of the next voucher with days left; false when
// no voucher has any.
func (w *worker) single(p *phase) bool {
	var v *vstate
	for range w.vouchers {
		cand := w.vouchers[w.next%len(w.vouchers)]
		w.next++
		if cand.days.Left() > 0 {
			v = cand
			break
		}
	}
	if v == nil {
		return false
	}
	day, _ := v.days.Peek(1)
	ln := line{v: v, day: day, claimID: claimID(w.seed, v.id, day)}
	w.body = appendClaim(w.body[:0], ln)
	ans, err := w.send(p, "/api/v1/claims", w.tk.provider[v.agb])
	w.lines = append(w.lines[:0], ln)
	switch {
	case err != nil:
		w.uncertain(p, w.lines, "POST /api/v1/claims %s: %v", ln.claimID, err)
	case ans.status >= 500:
		w.uncertain(p, w.lines, "%v", newHTTPError(http.MethodPost, "/api/v1/claims", ans))
	case ans.status == http.StatusOK || ans.status == http.StatusCreated:
		var d decisionAnswer
		if err := json.Unmarshal(ans.body, &d); err != nil {
			w.uncertain(p, w.lines, "POST /api/v1/claims %s: %d with a malformed answer: %v", ln.claimID, ans.status, err)
			break
		}
		w.counts.Lines++
		p.lines.Add(1)
		w.decide(p, ln, d.ClaimID, d.Status, d.Reason, d.Amount, ans.replayed || ans.status == http.StatusOK)
		v.days.Take(1)
		w.streak = 0
	default:
		// A bad request changes nothing: count it and go on with the next day.
		w.failed(p, newHTTPError(http.MethodPost, "/api/v1/claims", ans))
		v.days.Take(1)
	}
	return true
}

// bulk sends up to w.batch lines of one provider's vouchers in one request;
// false when none of the worker's vouchers has days left.
func (w *worker) bulk(p *phase) bool {
	var g []*vstate
	for range w.groups {
		cand := w.groups[w.next%len(w.groups)]
		w.next++
		if slices.ContainsFunc(cand, func(v *vstate) bool { return v.days.Left() > 0 }) {
			g = cand
			break
		}
	}
	if g == nil {
		return false
	}
	live := 0
	for _, v := range g {
		if v.days.Left() > 0 {
			live++
		}
	}
	quota := (w.batch + live - 1) / live
	w.lines = w.lines[:0]
	for _, v := range g {
		first, n := v.days.Peek(min(quota, w.batch-len(w.lines)))
		for i := range n {
			day := first.AddDays(i)
			w.lines = append(w.lines, line{v: v, day: day, claimID: claimID(w.seed, v.id, day)})
		}
	}
	w.body = append(w.body[:0], `{"claims":[`...)
	for i, ln := range w.lines {
		if i > 0 {
			w.body = append(w.body, ',')
		}
		w.body = appendClaim(w.body, ln)
	}
	w.body = append(w.body, "]}"...)
	const path = "/api/v1/claims/batch"
	ans, err := w.send(p, path, w.tk.provider[g[0].agb])
	switch {
	case err != nil:
		w.uncertain(p, w.lines, "POST %s (%d lines): %v", path, len(w.lines), err)
		return true
	case ans.status >= 500:
		w.uncertain(p, w.lines, "%v", newHTTPError(http.MethodPost, path, ans))
		return true
	case ans.status < 200 || ans.status > 299:
		he := newHTTPError(http.MethodPost, path, ans)
		if he.routeMissing() {
			if !p.missing.Swap(true) {
				p.sample("bulk endpoint not available: %v", he)
			}
			w.counts.Errors++
			p.errors.Add(1)
			return true
		}
		w.failed(p, he) // a bad request changes nothing
		w.takeLines()
		return true
	}
	var a bulkAnswer
	if err := json.Unmarshal(ans.body, &a); err != nil {
		w.uncertain(p, w.lines, "POST %s (%d lines): %d with a malformed answer: %v", path, len(w.lines), ans.status, err)
		return true
	}
	if why := a.mismatch(len(w.lines)); why != "" {
		w.uncertain(p, w.lines, "POST %s (%d lines): %d with an answer that does not fit the request: %s", path, len(w.lines), ans.status, why)
		return true
	}
	var accepted, held, rejected, invalid, replayed int64
	var amount regie.Cents // accepted and held, as the summary counts it
	for _, r := range a.Results {
		ln := w.lines[r.Line]
		reason := r.Reason
		if r.Error != nil && reason == "" {
			reason = r.Error.Code
		}
		w.counts.Lines++
		switch w.decide(p, ln, r.ClaimID, r.Status, reason, r.Amount, r.Replayed) {
		case "accepted":
			accepted++
			amount += mustCents(r.Amount)
		case "held":
			held++
			amount += mustCents(r.Amount)
		case "rejected":
			rejected++
		case "invalid":
			invalid++
		}
		if r.Replayed {
			replayed++
		}
	}
	p.lines.Add(int64(len(a.Results)))
	s := a.Summary
	sumAmount, err := regie.ParseCents(s.Amount)
	if s.Lines != int64(len(w.lines)) || s.Accepted != accepted || s.Held != held || s.Rejected != rejected ||
		s.Invalid != invalid || s.Replayed != replayed || err != nil || sumAmount != amount {
		w.counts.SummaryMismatches++
		p.sample("POST %s: the summary %+v does not add up to the results (lines %d, accepted %d, held %d, rejected %d, invalid %d, replayed %d, amount %s)",
			path, s, len(w.lines), accepted, held, rejected, invalid, replayed, amount)
	}
	w.takeLines()
	w.streak = 0
	return true
}

// takeLines hands out the days of the lines just answered.
func (w *worker) takeLines() {
	for i := 0; i < len(w.lines); {
		j := i
		for j < len(w.lines) && w.lines[j].v == w.lines[i].v {
			j++
		}
		w.lines[i].v.days.Take(j - i)
		i = j
	}
}

// send posts w.body and records the latency of the request.
func (w *worker) send(p *phase, path, token string) (answer, error) {
	t0 := time.Now()
	ans, err := w.c.do(w.reqCtx, http.MethodPost, path, token, w.body)
	w.lat = append(w.lat, time.Since(t0))
	w.counts.Requests++
	return ans, err
}

// decide counts one answered claim line and returns its status. An accepted
// amount is added to the voucher, whether it is a new decision or the replay
// of one whose first answer was lost: either way the server debited it once.
func (w *worker) decide(p *phase, ln line, gotID, status, reason, amount string, replayed bool) string {
	v := ln.v
	_, wasUnresolved := v.unresolved[ln.claimID]
	delete(v.unresolved, ln.claimID)
	if gotID != ln.claimID {
		w.counts.Other++
		p.sample("claim %s: the answer is about claim %q", ln.claimID, gotID)
		return ""
	}
	switch status {
	case "accepted":
		w.counts.Accepted++
		c, err := regie.ParseCents(amount)
		if err != nil {
			w.counts.AmountMismatches++
			p.sample("claim %s: accepted with amount %q: %v", ln.claimID, amount, err)
			break
		}
		v.accepted += c
		v.claims++
		w.counts.Amount += c
		if c != v.price {
			w.counts.AmountMismatches++
			p.sample("claim %s: accepted for %s, want 1 × %s = %s", ln.claimID, c, v.price, v.price)
		}
	case "held":
		w.counts.Held++
	case "rejected":
		w.counts.Rejected++
	case "invalid":
		w.counts.Invalid++
	default:
		w.counts.Other++
	}
	if status != "accepted" {
		w.reasons[status+" "+reason]++
		p.sample("claim %s (voucher %s, provider %s, day %s): %s %s", ln.claimID, v.id, v.agb, ln.day, status, reason)
	}
	if replayed {
		w.counts.Replayed++
		if !wasUnresolved {
			w.counts.UnexpectedReplays++
			p.sample("claim %s: answered as a replay, but loadgen sent it for the first time", ln.claimID)
		}
	}
	return status
}

// uncertain records a request without a definite answer: the server may have
// decided its lines. Their days are not handed out, so the same claims go
// again (a retry with the same content is answered with the first decision);
// what is never answered, check asks for by claim id.
func (w *worker) uncertain(p *phase, lines []line, format string, args ...any) {
	for _, ln := range lines {
		ln.v.unresolved[ln.claimID] = struct{}{}
	}
	w.counts.Errors++
	p.errors.Add(1)
	p.sample(format, args...)
	w.backoff(p)
}

// failed records a request answered with a 4xx: nothing changed on the server.
func (w *worker) failed(p *phase, err error) {
	w.counts.Errors++
	p.errors.Add(1)
	p.sample("%v", err)
	w.backoff(p)
}

// backoff pauses a worker that keeps failing, at most until the deadline.
func (w *worker) backoff(p *phase) {
	w.streak++
	d := min(5*time.Millisecond<<min(w.streak, 7), 500*time.Millisecond, time.Until(p.deadline))
	if d > 0 {
		time.Sleep(d)
	}
}

// claimID is the provider's claim id of one voucher day, unique per seed,
// voucher and day: "lg-<seed>-<voucher>-<day>" (at most 62 characters).
func claimID(seed uint64, voucherID string, day regie.Date) string {
	return "lg-" + strconv.FormatUint(seed, 10) + "-" + voucherID + "-" + day.String()
}

// appendClaim appends one claim of one unit for one day, as JSON. Every value
// is an id, a date or a decimal, so none needs escaping beyond quotes.
func appendClaim(b []byte, ln line) []byte {
	day := ln.day.String()
	b = append(b, `{"claim_id":`...)
	b = strconv.AppendQuote(b, ln.claimID)
	b = append(b, `,"voucher_id":`...)
	b = strconv.AppendQuote(b, ln.v.id)
	b = append(b, `,"product":"`+demo.WmoBeg+`","from":"`...)
	b = append(b, day...)
	b = append(b, `","to":"`...)
	b = append(b, day...)
	b = append(b, `","units":"1","unit_price":"`...)
	b = append(b, ln.v.price.String()...)
	return append(b, `"}`...)
}

// decisionAnswer is the part of a claim decision loadgen reads.
type decisionAnswer struct {
	ClaimID string `json:"claim_id"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Amount  string `json:"amount"`
}

// bulkAnswer is the answer of POST /api/v1/claims/batch.
type bulkAnswer struct {
	Results []struct {
		Line     int    `json:"line"`
		ClaimID  string `json:"claim_id"`
		Status   string `json:"status"`
		Reason   string `json:"reason"`
		Amount   string `json:"amount"`
		Replayed bool   `json:"replayed"`
		Error    *struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		} `json:"error"`
	} `json:"results"`
	Summary struct {
		Lines    int64  `json:"lines"`
		Accepted int64  `json:"accepted"`
		Held     int64  `json:"held"`
		Rejected int64  `json:"rejected"`
		Invalid  int64  `json:"invalid"`
		Replayed int64  `json:"replayed"`
		Amount   string `json:"amount"`
	} `json:"summary"`
}

// mismatch says why the answer does not fit a request of n lines: every
// line must have exactly one result.
func (a *bulkAnswer) mismatch(n int) string {
	if len(a.Results) != n {
		return fmt.Sprintf("%d results", len(a.Results))
	}
	seen := make([]bool, n)
	for _, r := range a.Results {
		if r.Line < 0 || r.Line >= n || seen[r.Line] {
			return fmt.Sprintf("a result for line %d", r.Line)
		}
		seen[r.Line] = true
	}
	return ""
}

// mustCents parses an amount for the summary check; a malformed one counts
// as zero (decide reports it).
func mustCents(s string) regie.Cents {
	c, _ := regie.ParseCents(s)
	return c
}
