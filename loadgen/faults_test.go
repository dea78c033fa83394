package loadgen_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/loadgen"
)

// faultyProxy stands in front of a real demo server and loses answers after
// the server decided: the answer of the first claim for day dropOnce, once;
// of the first claim for day dropAlways, every time; and of the first bulk
// request, once.
type faultyProxy struct {
	t                    *testing.T
	backend              string
	proxy                *httputil.ReverseProxy
	dropOnce, dropAlways string // days of care, YYYY-MM-DD

	mu          sync.Mutex
	droppedOnce string // the claim id whose answer was lost once
	stuck       string // the claim id whose answer is always lost
	bulkDropped bool
}

func newFaultyProxy(t *testing.T, backend string, dropOnce, dropAlways regie.Date) *httptest.Server {
	u, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultyProxy{t: t, backend: backend, proxy: httputil.NewSingleHostReverseProxy(u),
		dropOnce: dropOnce.String(), dropAlways: dropAlways.String()}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv
}

type claimLine struct {
	ClaimID string `json:"claim_id"`
	From    string `json:"from"`
}

func (p *faultyProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/claims/batch":
		p.batch(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/claims":
		body, _ := io.ReadAll(r.Body)
		var c claimLine
		_ = json.Unmarshal(body, &c)
		status, answer, hdr := p.forward(r, "/api/v1/claims", body)
		if p.lose(c) {
			http.Error(w, "answer lost on purpose", http.StatusServiceUnavailable)
			return
		}
		if v := hdr.Get("Idempotent-Replayed"); v != "" {
			w.Header().Set("Idempotent-Replayed", v)
		}
		w.Header().Set("Content-Type", hdr.Get("Content-Type"))
		w.WriteHeader(status)
		w.Write(answer)
	default:
		p.proxy.ServeHTTP(w, r)
	}
}

// lose decides whether the answer of claim c is lost.
func (p *faultyProxy) lose(c claimLine) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	lost := false
	switch {
	case c.ClaimID == p.stuck:
		lost = true
	case c.From == p.dropAlways && p.stuck == "":
		p.stuck, lost = c.ClaimID, true
	case c.From == p.dropOnce && p.droppedOnce == "":
		p.droppedOnce, lost = c.ClaimID, true
	}
	if lost {
	}
	return lost
}

// forward posts body to the real server with the caller's token.
func (p *faultyProxy) forward(r *http.Request, path string, body []byte) (int, []byte, http.Header) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, p.backend+path, bytes.NewReader(body))
	if err != nil {
		p.t.Error(err)
		return http.StatusInternalServerError, nil, http.Header{}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", r.Header.Get("Authorization"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return http.StatusBadGateway, nil, http.Header{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// batch forwards a bulk request to the real server and loses the first
// answer after the server decided.
func (p *faultyProxy) batch(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	status, answer, hdr := p.forward(r, "/api/v1/claims/batch", body)
	p.mu.Lock()
	lose := !p.bulkDropped && status == http.StatusOK
	if lose {
		p.bulkDropped = true
	}
	p.mu.Unlock()
	if lose {
		http.Error(w, "answer lost on purpose", http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", hdr.Get("Content-Type"))
	w.WriteHeader(status)
	w.Write(answer)
}

// newHidingProxy stands in front of a real demo server and answers as a
// server without the bulk and the journal verify endpoints would.
func newHidingProxy(t *testing.T, backend string) *httptest.Server {
	u, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/v1/claims/batch":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusMethodNotAllowed)
			io.WriteString(w, `{"status":405,"code":"method_not_allowed","detail":"Method Not Allowed"}`)
		case strings.HasSuffix(r.URL.Path, "/journal/verify"):
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"status":404,"code":"route_not_found","detail":"Cannot GET `+r.URL.Path+`"}`)
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestRun_LostAnswers drives a real server through a proxy that loses answers
// after the server decided. Run must send a claim without an answer again (and
// count its replayed decision once), look up by claim id what it never got an
// answer for, and still find the books exact; the lost answers are errors.
func TestRun_LostAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and drives it for seconds")
	}
	srv := startDemoServer(t)
	from, _ := loadgen.Validity(regie.DateOf(time.Now()))
	proxy := newFaultyProxy(t, srv.url, from.AddDays(1), from.AddDays(3))
	run := func(mode loadgen.Mode, seed uint64) *loadgen.Result {
		t.Helper()
		var out bytes.Buffer
		res, err := loadgen.Run(t.Context(), loadgen.Config{
			URL: proxy.URL, Keys: srv.keys, Pseudonyms: srv.ps,
			Vouchers: 8, Concurrency: 2, Duration: 1500 * time.Millisecond, Mode: mode, Batch: 20, Seed: seed,
			SetupConcurrency: 4, Out: &out,
		})
		t.Logf("loadgen output (mode %s):\n%s", mode, out.String())
		if res == nil {
			t.Fatalf("Run: %v", err)
		}
		if !errors.Is(err, loadgen.ErrFailed) {
			t.Errorf("Run: %v, want ErrFailed: lost answers are errors", err)
		}
		for _, p := range res.Phases {
			if p.UnexpectedReplays != 0 || p.AmountMismatches != 0 || p.SummaryMismatches != 0 || p.Accepted != p.Lines || p.Accepted == 0 {
				t.Errorf("phase %s: %+v %v", p.Mode, p.Counts, p.Samples)
			}
		}
		for _, c := range res.Checks {
			if !c.OK {
				t.Errorf("check failed: %s: %s", c.Name, c.Detail)
			}
		}
		return res
	}

	// Single: one answer lost once (sent again, replayed), one lost every
	// time (never answered: looked up by claim id after the run).
	res := run(loadgen.Single, 5)
	single := res.Phases[0]
	if single.Errors < 2 || single.Replayed < 1 {
		t.Errorf("single: errors %d, replayed %d; want a lost answer sent again and one stuck", single.Errors, single.Replayed)
	}
	if c, ok := lookedUp(res); !ok || !strings.HasPrefix(c.Detail, "1 claims: 1 accepted") {
		t.Errorf("the claim that never got an answer: %+v, want it looked up and found accepted", c)
	}

	// Both: the first bulk answer is lost; its lines go again and are replayed.
	res = run(loadgen.Both, 6)
	if len(res.Phases) != 2 || res.Phases[0].Mode != loadgen.Single || res.Phases[1].Mode != loadgen.Bulk {
		t.Fatalf("phases %+v, want single then bulk", res.Phases)
	}
	if s := res.Phases[0]; s.Errors != 0 {
		t.Errorf("both, single half: %d errors", s.Errors)
	}
	bulk := res.Phases[1]
	if bulk.Errors != 1 || bulk.Lines <= bulk.Requests {
		t.Errorf("bulk: errors %d, lines %d in %d requests; want one lost answer, several lines a request", bulk.Errors, bulk.Lines, bulk.Requests)
	}
	// The lines of the lost answer went again (replayed) unless the time was
	// up before their provider's turn came again; then they were looked up.
	if c, ok := lookedUp(res); bulk.Replayed == 0 && (!ok || !strings.Contains(c.Detail, " 20 accepted")) {
		t.Errorf("bulk: no replay and no look-up of the 20 lines whose answer was lost (%+v)", c)
	}
}

// lookedUp returns the check of the claims sent without an answer, if any.
func lookedUp(res *loadgen.Result) (loadgen.Check, bool) {
	for _, c := range res.Checks {
		if strings.HasPrefix(c.Name, "claims sent without an answer") {
			return c, true
		}
	}
	return loadgen.Check{}, false
}
