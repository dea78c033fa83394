package loadgen_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/regie-nl/regie/demo"
	"github.com/regie-nl/regie/loadgen"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store"
	"github.com/regie-nl/regie/voucher"
	"github.com/regie-nl/regie/web"
)

// demoServer is a regie server wired as cmd/regie/serve.go wires it with
// --demo: a bolt store in a temporary directory, the demo data set, the demo
// logins, on 127.0.0.1 with a free port.
type demoServer struct {
	url  string
	keys *voucher.KeyRing
	ps   *voucher.Pseudonymiser
}

func startDemoServer(t *testing.T) *demoServer {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	keys, err := voucher.LoadKeyRing(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := voucher.NewPseudonymiser([]byte("loadgen-e2e-pseudonym-key-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open("bolt:" + filepath.Join(dir, "regie.db"))
	if err != nil {
		t.Fatal(err)
	}
	vouchers := &voucher.Service{Store: st, Regions: st, Assignments: st, Keys: keys, Pseudonyms: ps, Issuer: "regie"}
	cfg := web.Config{
		Vouchers:   vouchers,
		Matching:   &matching.Service{Store: st, Vouchers: vouchers},
		Settlement: &settlement.Service{Ledger: st, Vouchers: vouchers, Choices: st, Keys: keys},
		Keys:       keys,
		Ready:      st.Ping,
		Logger:     slog.New(slog.DiscardHandler),
		Registry:   prometheus.NewRegistry(),
		Demo:       &web.Demo{},
	}
	if _, err := demo.Load(ctx, st, vouchers, time.Now().Year()); err != nil {
		t.Fatalf("demo.Load: %v", err)
	}
	for _, u := range demo.Users() {
		sub := u.Subject
		if u.BSN != "" {
			if sub, err = ps.Pseudonym(u.BSN); err != nil {
				t.Fatal(err)
			}
		}
		cfg.Demo.Users = append(cfg.Demo.Users, web.DemoUser{Role: u.Role, Subject: sub, Regions: u.Regions, Label: u.Label})
	}
	srv := web.New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.App().Listener(ln) }()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-served
		st.Close()
	})
	return &demoServer{url: "http://" + ln.Addr().String(), keys: keys, ps: ps}
}

// logWriter sends the progress lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestRun_AgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and drives it for seconds")
	}
	srv := startDemoServer(t)
	var out bytes.Buffer
	res, err := loadgen.Run(t.Context(), loadgen.Config{
		URL: srv.url, Keys: srv.keys, Pseudonyms: srv.ps,
		Vouchers: 20, Concurrency: 4, Duration: 2 * time.Second, Mode: loadgen.Both, Batch: 50, Seed: 1,
		SetupConcurrency: 4, Out: &out, Progress: logWriter{t},
	})
	t.Logf("loadgen output:\n%s", out.String())
	if res == nil {
		t.Fatalf("Run: %v", err)
	}
	if err != nil || !res.OK() {
		t.Errorf("Run: %v (OK %v), want no error", err, res.OK())
	}
	if res.Vouchers != 20 || len(res.Regions) == 0 {
		t.Errorf("set up %d vouchers in %d regions, want 20 in at least one", res.Vouchers, len(res.Regions))
	}
	if len(res.Phases) != 2 || res.Phases[0].Mode != loadgen.Single || res.Phases[1].Mode != loadgen.Bulk {
		t.Fatalf("phases %+v, want single then bulk", res.Phases)
	}
	for _, p := range res.Phases {
		if p.Accepted == 0 || p.Requests == 0 {
			t.Errorf("phase %s: %d requests, %d accepted: nothing was driven", p.Mode, p.Requests, p.Accepted)
		}
		if n := p.NotAccepted(); n != 0 {
			t.Errorf("phase %s: %d lines or requests not accepted: %v %v", p.Mode, n, p.Reasons, p.Samples)
		}
		if p.Latency.Count != int(p.Requests) || p.Latency.P50 <= 0 || p.Latency.Max < p.Latency.P99 {
			t.Errorf("phase %s: latency %+v for %d requests", p.Mode, p.Latency, p.Requests)
		}
	}
	if bulk := res.Phases[1]; bulk.Lines <= bulk.Requests {
		t.Errorf("bulk: %d lines in %d requests, want several lines a request", bulk.Lines, bulk.Requests)
	}
	var journals int
	for _, c := range res.Checks {
		if strings.Contains(c.Name, "journal verifies") {
			journals++
		}
		if !c.OK {
			t.Errorf("check failed: %s: %s", c.Name, c.Detail)
		}
	}
	if journals != len(res.Regions) {
		t.Errorf("%d journal checks for %d regions", journals, len(res.Regions))
	}
	if len(res.Checks) != 1+2*len(res.Regions) {
		t.Errorf("%d checks, want the vouchers and two per region (%d regions)", len(res.Checks), len(res.Regions))
	}
}

// TestRun_EndpointsMissing runs against a server that lacks POST
// /api/v1/claims/batch and GET /api/v1/regions/{id}/journal/verify (an older
// one): Run must say so and fail, not report a clean run.
func TestRun_EndpointsMissing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	srv := startDemoServer(t)
	proxy := newHidingProxy(t, srv.url)
	var out bytes.Buffer
	res, err := loadgen.Run(t.Context(), loadgen.Config{
		URL: proxy.URL, Keys: srv.keys, Pseudonyms: srv.ps,
		Vouchers: 4, Concurrency: 2, Duration: time.Second, Mode: loadgen.Bulk, Seed: 3,
		Out: &out,
	})
	t.Logf("loadgen output:\n%s", out.String())
	if !errors.Is(err, loadgen.ErrFailed) || res == nil {
		t.Fatalf("Run: %v, want ErrFailed", err)
	}
	p := res.Phases[0]
	if !p.EndpointMissing || p.Errors == 0 || p.Lines != 0 {
		t.Errorf("phase bulk: missing %v, %d errors, %d lines; want the endpoint missing, errors and no lines", p.EndpointMissing, p.Errors, p.Lines)
	}
	if !strings.Contains(out.String(), "bulk endpoint not available") {
		t.Errorf("the report does not say that the bulk endpoint is not available")
	}
	for _, c := range res.Checks {
		missing := strings.Contains(c.Detail, "journal verify endpoint not available")
		if strings.Contains(c.Name, "journal verifies") != missing || c.OK == missing {
			t.Errorf("check %s: ok %v: %s", c.Name, c.OK, c.Detail)
		}
	}
}
