package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/regie-nl/regie"
)

// budgetAnswer is the part of GET /regions/{id}/budget loadgen reads.
type budgetAnswer struct {
	Region  string `json:"region"`
	Settled string `json:"settled"`
}

// budgets reads the settled amount of each region as the auditor.
func budgets(ctx context.Context, c *api, tk *tokens, regions []string) (map[string]regie.Cents, error) {
	out := make(map[string]regie.Cents, len(regions))
	for _, r := range regions {
		var b budgetAnswer
		if err := c.call(ctx, http.MethodGet, "/api/v1/regions/"+r+"/budget", tk.auditor, nil, &b); err != nil {
			return nil, err
		}
		settled, err := regie.ParseCents(b.Settled)
		if err != nil {
			return nil, fmt.Errorf("region %s: settled %q: %w", r, b.Settled, err)
		}
		out[r] = settled
	}
	return out, nil
}

// check verifies the invariants through the API: claims whose answer was
// lost are looked up first, so that every voucher's accepted sum is exact;
// then every voucher's balance, every region's settled growth, and every
// region's journal.
func check(ctx context.Context, cfg Config, c *api, tk *tokens, fx *fixture, before map[string]regie.Cents) []Check {
	var checks []Check
	if ch, found := resolve(ctx, c, tk, fx); found {
		checks = append(checks, ch)
	}
	checks = append(checks, checkVouchers(ctx, cfg, c, fx))
	checks = append(checks, checkSettled(ctx, c, tk, fx, before)...)
	checks = append(checks, checkJournals(ctx, c, tk, fx)...)
	return checks
}

// resolve asks the server, by claim id, for the decision of every claim that
// loadgen sent without getting an answer and did not send again with success.
// It reports false when there was none.
func resolve(ctx context.Context, c *api, tk *tokens, fx *fixture) (Check, bool) {
	var n, accepted, absent int
	var problems []string
	for _, v := range fx.vouchers {
		for id := range v.unresolved {
			n++
			var d decisionAnswer
			err := c.call(ctx, http.MethodGet, "/api/v1/claims/"+id, tk.provider[v.agb], nil, &d)
			var he *httpError
			switch {
			case errors.As(err, &he) && he.Code == "claim_not_found":
				absent++
			case err != nil:
				problems = append(problems, err.Error())
				continue
			case d.Status == "accepted":
				amount, err := regie.ParseCents(d.Amount)
				if err != nil {
					problems = append(problems, fmt.Sprintf("claim %s: amount %q: %v", id, d.Amount, err))
					continue
				}
				accepted++
				v.accepted += amount
				v.claims++
			}
			delete(v.unresolved, id)
		}
	}
	if n == 0 {
		return Check{}, false
	}
	ch := Check{
		Name: "claims sent without an answer, looked up by claim id",
		OK:   len(problems) == 0,
		Detail: fmt.Sprintf("%d claims: %d accepted, %d not recorded, %d otherwise decided, %d unknown",
			n, accepted, absent, n-accepted-absent-len(problems), len(problems)),
	}
	if len(problems) > 0 {
		ch.Detail += "; " + strings.Join(firstN(problems, 3), "; ")
	}
	return ch, true
}

// checkVouchers reads every voucher as its client: its balance must be its
// maximum amount minus what loadgen saw accepted on it, and not below zero.
func checkVouchers(ctx context.Context, cfg Config, c *api, fx *fixture) Check {
	var (
		mu       sync.Mutex
		problems []string
		used     int
	)
	next := make(chan *vstate)
	var wg sync.WaitGroup
	for range min(cfg.SetupConcurrency, len(fx.vouchers)) {
		wg.Go(func() {
			for v := range next {
				if why := checkVoucher(ctx, c, v); why != "" {
					mu.Lock()
					problems = append(problems, why)
					mu.Unlock()
				}
			}
		})
	}
	for _, v := range fx.vouchers {
		if v.claims > 0 {
			used++
		}
		next <- v
	}
	close(next)
	wg.Wait()
	ch := Check{
		Name: fmt.Sprintf("voucher balance = max_amount − accepted, never below zero (%d vouchers, %d with accepted claims)", len(fx.vouchers), used),
		OK:   len(problems) == 0,
	}
	if len(problems) > 0 {
		ch.Detail = fmt.Sprintf("%d vouchers wrong: %s", len(problems), strings.Join(firstN(problems, 5), "; "))
	}
	return ch
}

func checkVoucher(ctx context.Context, c *api, v *vstate) string {
	var a voucherAnswer
	if err := c.call(ctx, http.MethodGet, "/api/v1/vouchers/"+v.id, v.clientToken, nil, &a); err != nil {
		return err.Error()
	}
	balance, err := regie.ParseCents(a.Balance)
	if err != nil {
		return fmt.Sprintf("voucher %s: balance %q: %v", v.id, a.Balance, err)
	}
	var maxAmount regie.Cents
	for _, l := range a.Lines {
		m, err := regie.ParseCents(l.MaxAmount)
		if err != nil {
			return fmt.Sprintf("voucher %s: max_amount %q: %v", v.id, l.MaxAmount, err)
		}
		maxAmount += m
	}
	want := maxAmount - v.accepted
	switch {
	case balance != want:
		return fmt.Sprintf("voucher %s: balance %s, want max_amount %s − accepted %s = %s", v.id, balance, maxAmount, v.accepted, want)
	case balance < 0:
		return fmt.Sprintf("voucher %s: balance %s is below zero", v.id, balance)
	}
	return ""
}

// checkSettled compares each region's settled amount with before the run: it
// must have grown by exactly what loadgen saw accepted in the region.
func checkSettled(ctx context.Context, c *api, tk *tokens, fx *fixture, before map[string]regie.Cents) []Check {
	accepted := make(map[string]regie.Cents)
	for _, v := range fx.vouchers {
		accepted[v.region] += v.accepted
	}
	after, err := budgets(ctx, c, tk, fx.regions)
	if err != nil {
		return []Check{{Name: "region budgets after the run", Detail: err.Error()}}
	}
	var out []Check
	for _, r := range fx.regions {
		grew := after[r] - before[r]
		ch := Check{Name: fmt.Sprintf("region %s: settled grew by the accepted amount", r), OK: grew == accepted[r]}
		if ch.OK {
			ch.Detail = fmt.Sprintf("%s → %s, +%s", before[r], after[r], grew)
		} else {
			ch.Detail = fmt.Sprintf("%s → %s, +%s, want +%s", before[r], after[r], grew, accepted[r])
		}
		out = append(out, ch)
	}
	return out
}

// checkJournals asks the server to verify each region's journal.
func checkJournals(ctx context.Context, c *api, tk *tokens, fx *fixture) []Check {
	var out []Check
	for _, r := range fx.regions {
		path := "/api/v1/regions/" + r + "/journal/verify"
		ch := Check{Name: fmt.Sprintf("region %s: journal verifies", r)}
		ans, err := c.do(ctx, http.MethodGet, path, tk.auditor, nil)
		switch {
		case err != nil:
			ch.Detail = fmt.Sprintf("GET %s: %v", path, err)
		case ans.status < 200 || ans.status > 299:
			he := newHTTPError(http.MethodGet, path, ans)
			if he.routeMissing() {
				ch.Detail = fmt.Sprintf("journal verify endpoint not available (GET %s: %d %s)", path, he.Status, he.Code)
			} else {
				ch.Detail = he.Error()
			}
		default:
			var v struct {
				OK *bool `json:"ok"`
			}
			body := truncate(strings.TrimSpace(string(ans.body)), 200)
			if err := json.Unmarshal(ans.body, &v); err != nil || v.OK == nil {
				ch.Detail = fmt.Sprintf("GET %s: no ok in the answer: %s", path, body)
			} else {
				ch.OK = *v.OK
				ch.Detail = body
			}
		}
		out = append(out, ch)
	}
	return out
}

func firstN(s []string, n int) []string { return s[:min(n, len(s))] }
