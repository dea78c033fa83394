// Package loadgen drives a running regie server with claims and then checks
// its books through the API; it is `regie loadgen`.
//
// The server must run with --demo and share its keys with loadgen: loadgen
// uses the demo providers and regions (package demo, deterministic), mints its
// own access tokens with the server's key ring and pseudonymises the BSNs it
// generates with the server's pseudonym key. The caller hands both in through
// Config; this package reads no files.
//
// Run works in three steps:
//
//  1. Setup: for each of Config.Vouchers fictitious BSNs (11-proof valid,
//     deterministic from Config.Seed) an assessor records a Wmo indication of
//     WMO-BEG, 7 hours a week, valid from four years ago through 30 days from
//     now, in the region of a qualified demo provider offering WMO-BEG; the
//     client chooses that provider and the provider accepts.
//  2. Drive: for Config.Duration, Config.Concurrency workers, each owning a
//     disjoint set of vouchers, claim one unit for one day at a time (the next
//     unclaimed day of a voucher, never later than yesterday) at the
//     provider's own tariff: one claim per request (mode single), up to
//     Config.Batch lines of one provider per request to /claims/batch (mode
//     bulk), or the first half single and the second half bulk (mode both).
//     Every decision is counted; every latency is kept for exact percentiles.
//     A claim whose answer was lost (a transport error or a 5xx) is sent
//     again with the same claim id, so the server answers its first decision;
//     one never answered is looked up by claim id before the checks.
//  3. Check: every voucher's balance is its maximum amount minus what loadgen
//     saw accepted on it, exact in cents and never below zero; every region's
//     settled amount grew by exactly what was accepted in it; and every
//     region's journal verifies.
//
// Every claim line is meant to be accepted; Run returns an error when one is
// not, when a request fails, or when a check fails.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/voucher"
)

// Mode says how claims are sent.
type Mode string

const (
	Single Mode = "single" // one claim per POST /api/v1/claims
	Bulk   Mode = "bulk"   // up to Config.Batch lines per POST /api/v1/claims/batch
	Both   Mode = "both"   // first half of the duration single, second half bulk
)

// Config is what Run needs. URL, Keys and Pseudonyms are required; zero
// values of the rest take the defaults of `regie loadgen`.
type Config struct {
	// URL is the base URL of the server, e.g. "http://127.0.0.1:8080".
	URL string
	// Keys is the server's key ring; loadgen signs its access tokens with it.
	Keys *voucher.KeyRing
	// Pseudonyms is the server's pseudonymiser; loadgen turns its BSNs into
	// the client subjects with it.
	Pseudonyms *voucher.Pseudonymiser

	Vouchers    int           // vouchers to set up; 200 when zero
	Concurrency int           // workers while driving; 64 when zero
	Duration    time.Duration // how long to drive; 30 s when zero
	Mode        Mode          // single when empty
	Batch       int           // most lines per bulk request; 1000 when zero
	Seed        uint64        // seeds the BSNs and the claim ids
	// Listeners, when above zero, drives every phase four times for half its
	// duration, without, with, with and without that many server-sent event
	// listeners connected (as a funder of the vouchers' regions), to compare
	// the throughput (CompareListeners).
	Listeners int

	// SetupConcurrency is how many vouchers are set up at once; 16 when zero.
	SetupConcurrency int
	// Out receives the report and the checks; Progress the progress lines.
	// io.Discard when nil.
	Out, Progress io.Writer
	// Client is the HTTP client; when nil, one with a Transport tuned to the
	// concurrency (idle connections per host = concurrency).
	Client *http.Client
	// Now is the clock for "today"; time.Now when nil. The server's clock
	// decides too: both must agree on the date.
	Now func() time.Time
}

// Defaults of Config.
const (
	DefaultVouchers         = 200
	DefaultConcurrency      = 64
	DefaultDuration         = 30 * time.Second
	DefaultBatch            = 1000
	DefaultSetupConcurrency = 16
	// MaxVouchers bounds Config.Vouchers: the BSNs are drawn from the about
	// 90,000 numbers 999xxxxxx that pass the 11-proof.
	MaxVouchers = 50_000
)

// Result is what Run measured and checked.
type Result struct {
	Vouchers  int           // vouchers set up
	Providers int           // distinct providers among them
	Regions   []string      // regions of the vouchers, sorted
	Phases    []PhaseReport // one per mode driven (two for mode both)
	Checks    []Check
}

// NotAccepted is the number of claim lines that were not accepted plus the
// requests that failed, over all phases.
func (r *Result) NotAccepted() int64 {
	var n int64
	for _, p := range r.Phases {
		n += p.NotAccepted()
	}
	return n
}

// Accepted is the number of accepted claim lines over all phases.
func (r *Result) Accepted() int64 {
	var n int64
	for _, p := range r.Phases {
		n += p.Accepted
	}
	return n
}

// FailedChecks returns the checks that did not pass.
func (r *Result) FailedChecks() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// OK reports whether every claim line was accepted and every check passed.
func (r *Result) OK() bool { return r.NotAccepted() == 0 && len(r.FailedChecks()) == 0 }

// ErrFailed is wrapped by Run's error when the run completed but a claim line
// was not accepted or a check failed.
var ErrFailed = errors.New("loadgen failed")

// Run sets up the vouchers, drives claims for the configured duration, prints
// the report and the checks to cfg.Out, and returns what it found. The error
// wraps ErrFailed when a claim line was not accepted or a check failed; any
// other error means the run could not be completed (then Result may be nil or
// partial). Cancelling ctx ends setup at once and the drive early; the checks
// still run on what was driven.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	c := newAPI(cfg.URL, cfg.Client)
	today := regie.DateOf(cfg.Now())
	if err := preflight(ctx, c, cfg.Keys, cfg.Pseudonyms); err != nil {
		return nil, err
	}
	tk := newTokens(cfg.Keys, cfg.Duration+time.Hour, cfg.Now())
	fixture, err := setup(ctx, cfg, c, tk, today)
	if err != nil {
		return nil, err
	}
	res := &Result{Vouchers: len(fixture.vouchers), Providers: fixture.providers, Regions: fixture.regions}
	fmt.Fprintf(cfg.Out, "regie loadgen: %s, mode %s, concurrency %d, duration %s, %d vouchers (%d providers, %d regions), seed %d\n",
		cfg.URL, cfg.Mode, cfg.Concurrency, cfg.Duration, res.Vouchers, res.Providers, len(res.Regions), cfg.Seed)

	// Requests in flight finish even when ctx is cancelled: an abandoned claim
	// would leave its outcome unknown. The checks run on what was driven.
	bg := context.WithoutCancel(ctx)
	before, err := budgets(bg, c, tk, fixture.regions)
	if err != nil {
		return nil, fmt.Errorf("loadgen: budgets before the run: %w", err)
	}
	res.Phases = drive(ctx, cfg, c, tk, fixture)
	for _, p := range res.Phases {
		p.write(cfg.Out)
	}
	writeListenerComparison(cfg.Out, res.Phases)
	res.Checks = check(bg, cfg, c, tk, fixture, before)
	for _, p := range res.Phases {
		if p.Listeners > 0 {
			res.Checks = append(res.Checks, Check{
				Name: fmt.Sprintf("%d event listeners connected (%s)", p.Listeners, p.Mode), OK: p.Listening.Failed == 0 && p.Listening.Connected == p.Listeners,
				Detail: fmt.Sprintf("%d connected, %d failed", p.Listening.Connected, p.Listening.Failed),
			})
		}
	}
	writeChecks(cfg.Out, res.Checks)
	if !res.OK() {
		var why []string
		if n := res.NotAccepted(); n > 0 {
			why = append(why, fmt.Sprintf("%d claim lines or requests not accepted", n))
		}
		if n := len(res.FailedChecks()); n > 0 {
			why = append(why, fmt.Sprintf("%d of %d checks failed", n, len(res.Checks)))
		}
		fmt.Fprintf(cfg.Out, "result: FAIL (%s)\n", strings.Join(why, ", "))
		return res, fmt.Errorf("%w: %s", ErrFailed, strings.Join(why, ", "))
	}
	fmt.Fprintf(cfg.Out, "result: OK (%d claim lines accepted, %d checks passed)\n", res.Accepted(), len(res.Checks))
	return res, nil
}

// fill checks cfg and sets the defaults.
func (cfg *Config) fill() error {
	if cfg.URL == "" {
		return errors.New("loadgen: a server URL is needed")
	}
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	if cfg.Keys == nil || cfg.Pseudonyms == nil {
		return errors.New("loadgen: the server's key ring and pseudonymiser are needed")
	}
	if cfg.Vouchers == 0 {
		cfg.Vouchers = DefaultVouchers
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Duration == 0 {
		cfg.Duration = DefaultDuration
	}
	if cfg.Mode == "" {
		cfg.Mode = Single
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.SetupConcurrency == 0 {
		cfg.SetupConcurrency = DefaultSetupConcurrency
	}
	switch {
	case cfg.Vouchers < 1 || cfg.Vouchers > MaxVouchers:
		return fmt.Errorf("loadgen: vouchers must be 1 to %d, not %d", MaxVouchers, cfg.Vouchers)
	case cfg.Concurrency < 1:
		return fmt.Errorf("loadgen: concurrency must be at least 1, not %d", cfg.Concurrency)
	case cfg.Duration < 0:
		return fmt.Errorf("loadgen: duration must not be negative, not %s", cfg.Duration)
	case cfg.Batch < 1:
		return fmt.Errorf("loadgen: batch must be at least 1, not %d", cfg.Batch)
	case cfg.Listeners < 0 || cfg.Listeners > 10000:
		return fmt.Errorf("loadgen: listeners must be 0 to 10000, not %d", cfg.Listeners)
	case cfg.SetupConcurrency < 1:
		return fmt.Errorf("loadgen: setup concurrency must be at least 1, not %d", cfg.SetupConcurrency)
	}
	switch cfg.Mode {
	case Single, Bulk, Both:
	default:
		return fmt.Errorf("loadgen: mode must be single, bulk or both, not %q", cfg.Mode)
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Client == nil {
		cfg.Client = NewClient(cfg.Concurrency)
	}
	return nil
}
