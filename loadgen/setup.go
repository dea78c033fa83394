package loadgen

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/demo"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/voucher"
)

// GenerateBSNs returns n distinct fictitious BSNs that pass the 11-proof:
// "999" (as the demo client's fictitious 999990019), five digits drawn from a
// generator seeded with seed, and the check digit. The same seed gives the
// same numbers. The demo client's BSN is never among them. n must be at most
// MaxVouchers.
func GenerateBSNs(seed uint64, n int) []string {
	rng := rand.New(rand.NewPCG(seed, 0x6c6f616467656e)) // "loadgen"
	seen := make(map[string]bool, n)
	out := make([]string, 0, n)
	var b [9]byte
	b[0], b[1], b[2] = '9', '9', '9'
	for len(out) < n {
		sum := (9 + 8 + 7) * 9
		for i := 3; i < 8; i++ {
			d := rng.IntN(10)
			b[i] = byte('0' + d)
			sum += (9 - i) * d
		}
		check := sum % 11 // 9·d1 + … + 2·d8 − d9 ≡ 0 (mod 11)
		if check == 10 {
			continue // no digit fits
		}
		b[8] = byte('0' + check)
		bsn := string(b[:])
		if seen[bsn] || bsn == demo.ClientBSN {
			continue
		}
		seen[bsn] = true
		out = append(out, bsn)
	}
	return out
}

// target is a provider that loadgen's vouchers choose: a qualified demo
// provider offering WMO-BEG, with the region it is qualified in first (the
// zorgkantoor region of its town) and its own tariff for WMO-BEG.
type target struct {
	agb    string
	region string
	price  regie.Cents
}

// targets returns the qualified demo providers that offer WMO-BEG in a demo
// region, ordered by AGB code.
func targets() []target {
	regions := make(map[string]bool)
	for _, r := range demo.Regions(2000) { // the ids are the same every year
		regions[r.ID] = true
	}
	var out []target
	for _, p := range demo.Providers() {
		o := p.Offer(demo.WmoBeg)
		if !p.Qualified || o == nil || len(p.Regions) == 0 || !regions[p.Regions[0]] {
			continue
		}
		out = append(out, target{agb: p.AGB, region: p.Regions[0], price: o.Tariff})
	}
	return out
}

// vstate is one voucher loadgen drives: its assignment, the days still to
// claim, and what the server accepted on it. While driving it belongs to one
// worker, which alone reads and writes it.
type vstate struct {
	id          string
	agb         string
	region      string
	price       regie.Cents // the provider's own tariff: the unit price of every claim
	clientToken string
	validFrom   regie.Date
	days        *Days
	// accepted is the sum of the amounts the server answered accepted on this
	// voucher; claims the number of those claim lines.
	accepted regie.Cents
	claims   int64
	// unresolved holds the claim ids sent without a definite answer (a
	// transport error or a 5xx): the server may or may not have decided them.
	// A later answer for the same id resolves it; check asks for the rest.
	unresolved map[string]struct{}
}

// fixture is what setup made.
type fixture struct {
	vouchers  []*vstate
	providers int
	regions   []string
	today     regie.Date
}

// indicationRequest and the rest mirror the API's JSON (docs/api.md).
type indicationRequest struct {
	BSN       string           `json:"bsn"`
	Law       string           `json:"law"`
	Region    string           `json:"region"`
	Lines     []indicationLine `json:"lines"`
	ValidFrom regie.Date       `json:"valid_from"`
	ValidTo   regie.Date       `json:"valid_to"`
}

type indicationLine struct {
	Product      string `json:"product"`
	UnitsPerWeek string `json:"units_per_week"`
}

type voucherAnswer struct {
	ID      string `json:"id"`
	Region  string `json:"region"`
	Status  string `json:"status"`
	Balance string `json:"balance"`
	Lines   []struct {
		Product   string `json:"product"`
		MaxAmount string `json:"max_amount"`
		Remaining string `json:"remaining"`
	} `json:"lines"`
}

type choiceAnswer struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// Validity returns the validity of loadgen's vouchers for a given today: from
// four years ago through 30 days from now.
func Validity(today regie.Date) (from, to regie.Date) {
	return regie.DateOf(today.Time().AddDate(-4, 0, 0)), today.AddDays(30)
}

// setup issues, chooses and accepts cfg.Vouchers vouchers through the API,
// cfg.SetupConcurrency at a time. Voucher i goes to provider i modulo the
// number of targets, so the vouchers spread over all providers and regions.
func setup(ctx context.Context, cfg Config, c *api, tk *tokens, today regie.Date) (*fixture, error) {
	tgs := targets()
	if len(tgs) == 0 {
		return nil, fmt.Errorf("loadgen: the demo data set has no qualified provider of %s", demo.WmoBeg)
	}
	var err error
	if tk.assessor, err = tk.mint(regie.RoleAssessor, "loadgen-assessor", regie.AllRegions); err != nil {
		return nil, err
	}
	if tk.auditor, err = tk.mint(regie.RoleAuditor, "loadgen-auditor", regie.AllRegions); err != nil {
		return nil, err
	}
	fx := &fixture{today: today}
	validFrom, validTo := Validity(today)
	bsns := GenerateBSNs(cfg.Seed, cfg.Vouchers)
	regions := make(map[string]bool)
	for i := range cfg.Vouchers {
		t := tgs[i%len(tgs)]
		if _, ok := tk.provider[t.agb]; !ok {
			if tk.provider[t.agb], err = tk.mint(regie.RoleProvider, t.agb); err != nil {
				return nil, err
			}
		}
		regions[t.region] = true
		fx.vouchers = append(fx.vouchers, &vstate{
			agb: t.agb, region: t.region, price: t.price, validFrom: validFrom,
			days: NewDays(validFrom, validTo, today), unresolved: make(map[string]struct{}),
		})
	}
	fx.providers = len(tk.provider)
	for r := range regions {
		fx.regions = append(fx.regions, r)
	}
	slices.Sort(fx.regions)

	fmt.Fprintf(cfg.Progress, "setup: %d vouchers of %s 7 h/week, valid %s..%s, over %d providers in %d regions\n",
		cfg.Vouchers, demo.WmoBeg, validFrom, validTo, fx.providers, len(fx.regions))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var done atomic.Int64
	stopProgress := progressEvery(cfg.Progress, time.Second, func(w io.Writer, elapsed time.Duration) {
		fmt.Fprintf(w, "setup: %d/%d vouchers  %.0fs\n", done.Load(), cfg.Vouchers, elapsed.Seconds())
	})
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(cfg.SetupConcurrency, cfg.Vouchers) {
		wg.Go(func() {
			for i := range next {
				pseudonym, err := cfg.Pseudonyms.Pseudonym(bsns[i])
				if err == nil {
					err = setupOne(ctx, c, tk, fx.vouchers[i], bsns[i], pseudonym, validTo)
				}
				if err != nil {
					cancel(fmt.Errorf("loadgen: setup of voucher %d: %w", i, err))
					return
				}
				done.Add(1)
			}
		})
	}
feed:
	for i := range cfg.Vouchers {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	stopProgress()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Progress, "setup: %d vouchers ready\n", cfg.Vouchers)
	return fx, nil
}

// setupOne walks one voucher through the loop up to the first claim: the
// assessor records the indication, the client chooses the provider, and the
// provider accepts.
func setupOne(ctx context.Context, c *api, tk *tokens, v *vstate, bsn, pseudonym string, validTo regie.Date) error {
	var err error
	if v.clientToken, err = tk.mint(regie.RoleClient, pseudonym); err != nil {
		return err
	}
	var vo voucherAnswer
	err = c.call(ctx, http.MethodPost, "/api/v1/indications", tk.assessor, indicationRequest{
		BSN: bsn, Law: string(voucher.Wmo), Region: v.region,
		Lines:     []indicationLine{{Product: demo.WmoBeg, UnitsPerWeek: "7"}},
		ValidFrom: v.validFrom, ValidTo: validTo,
	}, &vo)
	if err != nil {
		return hint(err)
	}
	v.id = vo.ID
	var ch choiceAnswer
	err = c.call(ctx, http.MethodPost, "/api/v1/vouchers/"+v.id+"/choices", v.clientToken, matching.ChoiceRequest{
		Product: demo.WmoBeg, ProviderAGB: v.agb, From: v.validFrom,
	}, &ch)
	if err != nil {
		return hint(err)
	}
	if err := c.call(ctx, http.MethodPost, "/api/v1/choices/"+ch.ID+"/accept", tk.provider[v.agb], nil, &ch); err != nil {
		return hint(err)
	}
	if ch.Status != string(matching.Accepted) {
		return fmt.Errorf("choice %s is %q after accept", ch.ID, ch.Status)
	}
	return nil
}

// hint adds the likely cause to an answer that setup cannot get past.
func hint(err error) error {
	if he, ok := err.(*httpError); ok {
		switch {
		case he.Status == http.StatusUnauthorized:
			return fmt.Errorf("%w (the server refused loadgen's token: use the server's --data-dir)", err)
		case he.Code == "provider_not_qualified" || he.Code == "provider_not_found" || he.Code == "region_unknown":
			return fmt.Errorf("%w (the server must run with --demo: loadgen uses the demo providers and regions)", err)
		}
	}
	return err
}

// progressEvery calls show every interval until the returned stop is called.
func progressEvery(w io.Writer, interval time.Duration, show func(w io.Writer, elapsed time.Duration)) (stop func()) {
	start := time.Now()
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				show(w, time.Since(start))
			}
		}
	}()
	return func() { close(quit); <-done }
}
