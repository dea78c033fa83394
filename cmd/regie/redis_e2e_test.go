package main_test

// End-to-end tests of `regie serve` on Redis: the binary is built once (with
// -race when the tests run with it) and run as child processes against
// redis-server children started by redistest.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/redis/redistest"
)

// Bounds of the end-to-end tests.
const (
	e2eStartTimeout = 60 * time.Second // regie serve listens and is ready (demo data on Redis, race build)
	e2eStopTimeout  = 20 * time.Second // regie serve exits after SIGTERM
	e2eHTTPTimeout  = 15 * time.Second // one API request
	e2ePrompt       = 5 * time.Second  // a request while Redis is down is answered within this
	e2eRecover      = 10 * time.Second // /readyz is 200 again within this after Redis restarts
)

// The regie binary, built on first use and removed by TestMain.
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// regieBinary builds ./cmd/regie once, with -race when this test binary has it.
func regieBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		if binDir, buildErr = os.MkdirTemp("", "regie-e2e-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "regie")
		args := []string{"build", "-o", binPath}
		if raceEnabled() {
			args = append(args, "-race")
		}
		args = append(args, ".")
		out, err := exec.Command(goBin, args...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// childEnv is the environment without REGIE_* variables, so that only the
// flags configure a child.
func childEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "REGIE_") })
}

// logBuffer collects a child's output; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is one `regie serve` child process.
type server struct {
	name string
	base string // http://127.0.0.1:port
	cmd  *exec.Cmd
	out  *logBuffer
	done chan struct{} // closed when the process has exited
}

var servingRE = regexp.MustCompile(`msg="regie serving" addr=(\S+)`)

// startServe runs `regie serve --addr 127.0.0.1:0 args...`, waits until it
// listens and /readyz answers 200, and stops it (SIGTERM) in t.Cleanup.
func startServe(t *testing.T, name string, args ...string) *server {
	t.Helper()
	bin := regieBinary(t)
	started := time.Now()
	s := &server{name: name, out: &logBuffer{}, done: make(chan struct{})}
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "info"}, args...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = childEnv()
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.stop(t) })

	deadline := time.Now().Add(e2eStartTimeout)
	for s.base == "" {
		if m := servingRE.FindStringSubmatch(s.out.String()); m != nil {
			s.base = "http://" + m[1]
			break
		}
		select {
		case <-s.done:
			t.Fatalf("%s exited during startup (%v):\n%s", name, s.cmd.ProcessState, s.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen after %v:\n%s", name, e2eStartTimeout, s.out.String())
		}
	}
	s.waitReady(t, time.Until(deadline))
	t.Logf("%s ready %v after its start", name, time.Since(started).Round(time.Millisecond))
	return s
}

// stop sends SIGTERM, waits for the exit (SIGKILL after e2eStopTimeout), and
// fails the test on a data race in the child.
func (s *server) stop(t *testing.T) {
	start := time.Now()
	// A connection the client opened but never used holds the server's
	// graceful shutdown for all of --shutdown-timeout (fasthttp closes only
	// idle keep-alive connections); close ours first.
	httpClient.CloseIdleConnections()
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(e2eStopTimeout):
			_ = s.cmd.Process.Kill()
			<-s.done
			t.Errorf("%s did not exit %v after SIGTERM and was killed", s.name, e2eStopTimeout)
		}
	}
	t.Logf("%s stopped in %v (%v)", s.name, time.Since(start).Round(time.Millisecond), s.cmd.ProcessState)
	if !s.cmd.ProcessState.Success() {
		t.Errorf("%s ended with %v, want exit status 0 after SIGTERM", s.name, s.cmd.ProcessState)
	}
	out := s.out.String()
	if strings.Contains(out, "WARNING: DATA RACE") {
		t.Errorf("%s: data race:\n%s", s.name, out)
	} else if t.Failed() {
		t.Logf("%s exited (%v); its output:\n%s", s.name, s.cmd.ProcessState, tail(out, 80))
	}
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// waitReady polls /readyz until it answers 200.
func (s *server) waitReady(t *testing.T, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		r, err := do("GET", s.base+"/readyz", "", nil)
		if err == nil && r.status == http.StatusOK {
			return time.Since(start)
		}
		select {
		case <-s.done:
			t.Fatalf("%s exited:\n%s", s.name, s.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s: /readyz not 200 after %v (last: %+v, %v)", s.name, timeout, r, err)
		}
	}
}

// response is an HTTP answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string { return fmt.Sprintf("HTTP %d %s", r.status, r.body) }

var httpClient = &http.Client{Timeout: e2eHTTPTimeout}

// do sends one request with an optional bearer token and JSON body.
func do(method, url, token string, body any) (response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := httpClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}, err
}

// call is do that fails the test on a transport error or another status
// than want, and decodes the body into out (when not nil).
func call(t *testing.T, method, url, token string, body any, want int, out any) response {
	t.Helper()
	r, err := do(method, url, token, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if r.status != want {
		t.Fatalf("%s %s: %s, want %d", method, url, r, want)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, url, r.body, err)
		}
	}
	return r
}

// tokens are demo logins, one per role.
type tokens struct {
	assessor, client, provider, funder, auditor string
	providerAGB                                 string
}

func login(t *testing.T, s *server) tokens {
	t.Helper()
	var tk tokens
	for role, dst := range map[string]*string{
		"assessor": &tk.assessor, "client": &tk.client, "provider": &tk.provider,
		"funder": &tk.funder, "auditor": &tk.auditor,
	} {
		var out struct{ Token, Subject string }
		call(t, "POST", s.base+"/api/v1/demo/login", "", map[string]string{"role": role}, http.StatusOK, &out)
		if out.Token == "" {
			t.Fatalf("demo login %s: no token", role)
		}
		*dst = out.Token
		if role == "provider" {
			tk.providerAGB = out.Subject
		}
	}
	return tk
}

const (
	product = "WMO-BEG" // per hour
	region  = "utrecht"
)

// providerTariff is the demo provider's own tariff for product.
func providerTariff(t *testing.T, s *server, tk tokens) regie.Cents {
	t.Helper()
	var p struct {
		Offers []struct {
			Product string
			Tariff  regie.Cents
		}
	}
	call(t, "GET", s.base+"/api/v1/providers/"+tk.providerAGB, tk.provider, nil, http.StatusOK, &p)
	for _, o := range p.Offers {
		if o.Product == product {
			return o.Tariff
		}
	}
	t.Fatalf("the demo provider %s does not offer %s: %+v", tk.providerAGB, product, p)
	return 0
}

// issueVoucher issues a Wmo voucher of product for the demo client through
// the API, chooses the demo provider and has it accept. It returns the
// voucher id and its balance.
func issueVoucher(t *testing.T, s *server, tk tokens, perWeek string, from, to regie.Date) (string, regie.Cents) {
	t.Helper()
	var v struct {
		ID      string
		Balance regie.Cents
	}
	call(t, "POST", s.base+"/api/v1/indications", tk.assessor, map[string]any{
		"bsn": "999990019", "law": "wmo", "region": region,
		"lines":      []map[string]string{{"product": product, "units_per_week": perWeek}},
		"valid_from": from, "valid_to": to,
	}, http.StatusCreated, &v)
	var ch struct{ ID string }
	call(t, "POST", s.base+"/api/v1/vouchers/"+v.ID+"/choices", tk.client, map[string]any{
		"product": product, "provider_agb": tk.providerAGB, "from": from,
	}, http.StatusCreated, &ch)
	call(t, "POST", s.base+"/api/v1/choices/"+ch.ID+"/accept", tk.provider, nil, http.StatusOK, nil)
	return v.ID, v.Balance
}

// claimBody is a claim as the provider sends it.
type claimBody struct {
	ClaimID   string      `json:"claim_id"`
	VoucherID string      `json:"voucher_id"`
	Product   string      `json:"product"`
	From      regie.Date  `json:"from"`
	To        regie.Date  `json:"to"`
	Units     regie.Units `json:"units"`
	UnitPrice regie.Cents `json:"unit_price"`
}

// sameDecision describes how two decisions differ, or returns "".
func sameDecision(got, want settlement.Decision) string {
	if !got.DecidedAt.Equal(want.DecidedAt) {
		return fmt.Sprintf("decided at %v, want %v", got.DecidedAt, want.DecidedAt)
	}
	got.DecidedAt = want.DecidedAt
	if got != want {
		return fmt.Sprintf("got %+v, want %+v", got, want)
	}
	return ""
}

// figures are what the tests read of GET /regions/{id}/budget.
type figures struct {
	Settled regie.Cents `json:"settled"`
	Claims  int64       `json:"claims"`
}

// journalVerified checks the region's journal through the API (as auditor).
func journalVerified(t *testing.T, s *server, tk tokens) {
	t.Helper()
	var rep struct {
		OK          bool     `json:"ok"`
		Problems    []string `json:"problems"`
		Entries     uint64   `json:"entries"`
		Checkpoints int      `json:"checkpoints"`
	}
	call(t, "GET", s.base+"/api/v1/regions/"+region+"/journal/verify", tk.auditor, nil, http.StatusOK, &rep)
	if !rep.OK || len(rep.Problems) > 0 || rep.Entries == 0 {
		t.Errorf("%s: journal of %s: %+v", s.name, region, rep)
	}
	t.Logf("%s: journal of %s verified: %d entries, %d checkpoints", s.name, region, rep.Entries, rep.Checkpoints)
}

// verifyCommand runs `regie verify` with args and expects every region to verify.
func verifyCommand(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), e2eStartTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, regieBinary(t), append([]string{"verify"}, args...)...)
	cmd.Env = childEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("regie verify %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if !regexp.MustCompile(`(?m)^`+region+`\s+ok\s`).Match(out) || !bytes.Contains(out, []byte(": 0 failed")) {
		t.Fatalf("regie verify %s:\n%s", strings.Join(args, " "), out)
	}
	if bytes.Contains(out, []byte("DATA RACE")) {
		t.Fatalf("regie verify: data race:\n%s", out)
	}
}

// metric returns the named lines of a server's /metrics, for the log.
func metric(s *server, names ...string) string {
	r, err := do("GET", s.base+"/metrics", "", nil)
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, line := range strings.Split(string(r.body), "\n") {
		for _, n := range names {
			if strings.HasPrefix(line, n+" ") {
				out = append(out, line)
			}
		}
	}
	if len(out) == 0 {
		return "(no " + strings.Join(names, ", ") + " in /metrics)"
	}
	return strings.Join(out, "; ")
}

// today is the server's date of care (Europe/Amsterdam).
func today() regie.Date { return regie.DateOf(time.Now()) }

// TestServe_RedisDown runs `regie serve --demo` on Redis, stops Redis under
// it and starts it again: meanwhile /readyz and a claim answer 503 (the claim
// as problem+json store_unavailable with Retry-After), and afterwards the
// same process serves again, the claim is decided and the journal verifies.
func TestServe_RedisDown(t *testing.T) {
	rds := redistest.StartT(t, redistest.Config{AppendOnly: true, AppendFsync: "always"})
	dataDir := t.TempDir()
	s := startServe(t, "regie", "--demo", "--store", rds.URL(), "--data-dir", dataDir, "--checkpoint-interval", "1s")
	tk := login(t, s)
	tariff := providerTariff(t, s, tk)
	from := today().AddDays(-30)
	voucherID, _ := issueVoucher(t, s, tk, "4", from, from.AddDays(365))
	claim := func(id string, week int) claimBody {
		return claimBody{
			ClaimID: id, VoucherID: voucherID, Product: product,
			From: from.AddDays(7 * week), To: from.AddDays(7*week + 6),
			Units: 4 * regie.UnitScale, UnitPrice: tariff,
		}
	}
	var before settlement.Decision
	call(t, "POST", s.base+"/api/v1/claims", tk.provider, claim("e2e-w0", 0), http.StatusCreated, &before)
	if before.Status != settlement.Accepted {
		t.Fatalf("claim before Redis stops: %+v", before)
	}

	if err := rds.Kill(); err != nil {
		t.Fatal(err)
	}

	t.Run("Redis down", func(t *testing.T) {
		start := time.Now()
		r, err := do("GET", s.base+"/readyz", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Errorf("/readyz while Redis is down: %s, Retry-After %q; want 503 with Retry-After", r, r.header.Get("Retry-After"))
		}
		if d := time.Since(start); d > e2ePrompt {
			t.Errorf("/readyz took %v", d)
		}
		if r, err := do("GET", s.base+"/healthz", "", nil); err != nil || r.status != http.StatusOK {
			t.Errorf("/healthz while Redis is down: %v %v; want 200 (the process lives)", r, err)
		}

		start = time.Now()
		r, err = do("POST", s.base+"/api/v1/claims", tk.provider, claim("e2e-w1", 1))
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		t.Logf("/readyz and the claim answered %d within %v", r.status, took.Round(time.Millisecond))
		if took > e2ePrompt {
			t.Errorf("the claim took %v, want an answer within %v", took, e2ePrompt)
		}
		if r.status != http.StatusServiceUnavailable {
			t.Fatalf("claim while Redis is down: %s, want 503", r)
		}
		if mt, _, err := mime.ParseMediaType(r.header.Get("Content-Type")); err != nil || mt != "application/problem+json" {
			t.Errorf("claim while Redis is down: Content-Type %q, want application/problem+json", r.header.Get("Content-Type"))
		}
		if r.header.Get("Retry-After") == "" {
			t.Error("claim while Redis is down: no Retry-After")
		}
		var p struct {
			Type, Code string
			Status     int
		}
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatalf("claim while Redis is down: %s: %v", r.body, err)
		}
		if p.Code != "store_unavailable" || p.Status != http.StatusServiceUnavailable || p.Type != "urn:regie:problem:store_unavailable" {
			t.Errorf("claim while Redis is down: problem %+v, want code store_unavailable, status 503", p)
		}
	})

	if err := rds.Restart(); err != nil {
		t.Fatal(err)
	}

	t.Run("Redis back", func(t *testing.T) {
		took := s.waitReady(t, e2eRecover)
		t.Logf("/readyz 200 %v after Redis restarted", took.Round(time.Millisecond))
		select {
		case <-s.done:
			t.Fatalf("regie serve exited while Redis was down:\n%s", s.out.String())
		default:
		}
		// The claim refused while Redis was down is decided now; its retry replays.
		var d settlement.Decision
		call(t, "POST", s.base+"/api/v1/claims", tk.provider, claim("e2e-w1", 1), http.StatusCreated, &d)
		if d.Status != settlement.Accepted || d.Amount != 4*tariff || d.JournalSeq != before.JournalSeq+1 {
			t.Errorf("claim after Redis is back: %+v; want accepted, %s, journal seq %d", d, 4*tariff, before.JournalSeq+1)
		}
		var again settlement.Decision
		r := call(t, "POST", s.base+"/api/v1/claims", tk.provider, claim("e2e-w1", 1), http.StatusOK, &again)
		if r.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retry: Idempotent-Replayed %q", r.header.Get("Idempotent-Replayed"))
		}
		if diff := sameDecision(again, d); diff != "" {
			t.Errorf("retry: %s", diff)
		}
		var first settlement.Decision
		call(t, "POST", s.base+"/api/v1/claims", tk.provider, claim("e2e-w0", 0), http.StatusOK, &first)
		if diff := sameDecision(first, before); diff != "" {
			t.Errorf("retry of the claim from before Redis stopped: %s", diff)
		}

		// A checkpoint signed after the restart (every second) is part of
		// what verifies.
		time.Sleep(1500 * time.Millisecond)
		journalVerified(t, s, tk)
		var jwks json.RawMessage
		call(t, "GET", s.base+"/.well-known/jwks.json", "", nil, http.StatusOK, &jwks)
		jwksFile := filepath.Join(t.TempDir(), "jwks.json")
		if err := os.WriteFile(jwksFile, jwks, 0o600); err != nil {
			t.Fatal(err)
		}
		verifyCommand(t, "--store", rds.URL(), "--jwks", jwksFile)
	})
}

// TestServe_TwoServersShareRedis runs two `regie serve` processes on one
// Redis and one data directory and sends them concurrent claims on vouchers
// that afford only half of them: exactly the affordable ones are accepted,
// whichever process decided them; no balance goes below zero; the region's
// figures and journal agree; and each process replays the other's decisions.
func TestServe_TwoServersShareRedis(t *testing.T) {
	rds := redistest.StartT(t, redistest.Config{})
	dataDir := t.TempDir()
	args := []string{"--demo", "--store", rds.URL(), "--data-dir", dataDir, "--checkpoint-interval", "1s"}
	s1 := startServe(t, "regie-1", args...)
	s2 := startServe(t, "regie-2", args...)
	servers := []*server{s1, s2}

	t.Run("demo data loaded once", func(t *testing.T) {
		if !strings.Contains(s1.out.String(), `msg="demo data" loaded_now=true`) {
			t.Errorf("regie-1 did not load the demo data:\n%s", s1.out.String())
		}
		if !strings.Contains(s2.out.String(), `msg="demo data" loaded_now=false`) {
			t.Errorf("regie-2 loaded the demo data again:\n%s", s2.out.String())
		}
		var k1, k2 json.RawMessage
		call(t, "GET", s1.base+"/.well-known/jwks.json", "", nil, http.StatusOK, &k1)
		call(t, "GET", s2.base+"/.well-known/jwks.json", "", nil, http.StatusOK, &k2)
		if !bytes.Equal(k1, k2) {
			t.Errorf("the servers publish different keys:\n%s\n%s", k1, k2)
		}
		tk := login(t, s2)
		var mine struct{ Vouchers []json.RawMessage }
		call(t, "GET", s2.base+"/api/v1/vouchers", tk.client, nil, http.StatusOK, &mine)
		if len(mine.Vouchers) != 2 {
			t.Errorf("the demo client has %d vouchers, want the 2 demo vouchers", len(mine.Vouchers))
		}
	})

	tk := login(t, s1)
	tariff := providerTariff(t, s1, tk)

	// Each voucher: 4 hours a week for 6 days, 3.43 hours, 234.61 at the
	// maximum tariff of 68.40. Claims of 1 hour at the provider's tariff
	// (65.66), one for each of the 6 days: the balance affords 3; the volume
	// (4 hours in the first week) affords a fourth, so the rest are rejected
	// for the balance (insufficient_balance) and not for the volume.
	const (
		vouchers = 8
		perWeek  = 4
		days     = 6
	)
	from := today().AddDays(-21)
	to := from.AddDays(days - 1)
	type voucherState struct {
		id       string
		max      regie.Cents
		accepted int
	}
	vs := make([]*voucherState, vouchers)
	issued := time.Now()
	for k := range vs {
		id, max := issueVoucher(t, s1, tk, fmt.Sprint(perWeek), from, to)
		vs[k] = &voucherState{id: id, max: max}
	}
	t.Logf("%d vouchers issued, chosen and accepted in %v", vouchers, time.Since(issued).Round(time.Millisecond))
	affordable := int(vs[0].max / tariff)
	if affordable < 1 || 2*affordable > days || affordable+1 > perWeek {
		t.Fatalf("the balance %s affords %d claims of %s: the test needs 1..%d, and volume for one more", vs[0].max, affordable, tariff, min(days/2, perWeek-1))
	}
	var fig0 figures
	call(t, "GET", s1.base+"/api/v1/regions/"+region+"/budget", tk.funder, nil, http.StatusOK, &fig0)

	// 2N claims per voucher, one per day, all at once, alternating between
	// the servers; meanwhile regie-2 is polled for the balances.
	type result struct {
		voucher, server int
		claim           claimBody
		resp            response
		err             error
		decision        settlement.Decision
	}
	var results []*result
	for k, v := range vs {
		for d := range days {
			results = append(results, &result{voucher: k, server: (k + d) % 2, claim: claimBody{
				ClaimID: fmt.Sprintf("two-%s-d%d", v.id, d), VoucherID: v.id, Product: product,
				From: from.AddDays(d), To: from.AddDays(d), Units: 1 * regie.UnitScale, UnitPrice: tariff,
			}})
		}
	}
	startClaims := make(chan struct{})
	stopPoll := make(chan struct{})
	var (
		wg, pollWG sync.WaitGroup
		pollErrs   []string
		polls      int
	)
	pollWG.Go(func() {
		last := make([]regie.Cents, len(vs))
		for k, v := range vs {
			last[k] = v.max
		}
		for {
			for k, v := range vs {
				var got struct{ Balance regie.Cents }
				r, err := do("GET", s2.base+"/api/v1/vouchers/"+v.id, tk.client, nil)
				if err == nil && r.status == http.StatusOK {
					err = json.Unmarshal(r.body, &got)
				} else if err == nil {
					err = fmt.Errorf("%s", r)
				}
				polls++
				switch {
				case err != nil:
					pollErrs = append(pollErrs, fmt.Sprintf("voucher %s: %v", v.id, err))
				case got.Balance < 0 || got.Balance < v.max-regie.Cents(affordable)*tariff:
					pollErrs = append(pollErrs, fmt.Sprintf("voucher %s: balance %s (max %s)", v.id, got.Balance, v.max))
				case got.Balance > last[k]:
					pollErrs = append(pollErrs, fmt.Sprintf("voucher %s: balance rose from %s to %s", v.id, last[k], got.Balance))
				}
				last[k] = got.Balance
			}
			select {
			case <-stopPoll:
				return
			default:
			}
		}
	})
	start := time.Now()
	for _, r := range results {
		wg.Go(func() {
			<-startClaims
			r.resp, r.err = do("POST", servers[r.server].base+"/api/v1/claims", tk.provider, r.claim)
		})
	}
	close(startClaims)
	wg.Wait()
	took := time.Since(start)
	close(stopPoll)
	pollWG.Wait()
	t.Logf("%d concurrent claims on %d vouchers answered in %v; %d balance reads meanwhile", len(results), vouchers, took.Round(time.Millisecond), polls)
	for _, s := range servers {
		t.Logf("%s: %s", s.name, metric(s, "regie_redis_commits_total", "regie_redis_conflicts_total"))
	}

	t.Run("decisions", func(t *testing.T) {
		for _, e := range pollErrs {
			t.Errorf("balance read from regie-2 during the claims: %s", e)
		}
		for _, r := range results {
			switch {
			case r.err != nil:
				t.Errorf("claim %s via %s: %v", r.claim.ClaimID, servers[r.server].name, r.err)
				continue
			case r.resp.status != http.StatusCreated:
				t.Errorf("claim %s via %s: %s, want 201", r.claim.ClaimID, servers[r.server].name, r.resp)
				continue
			}
			if err := json.Unmarshal(r.resp.body, &r.decision); err != nil {
				t.Fatalf("claim %s: %s: %v", r.claim.ClaimID, r.resp.body, err)
			}
			d := r.decision
			switch {
			case d.Status == settlement.Accepted && d.Amount == tariff && d.JournalSeq > 0:
				vs[r.voucher].accepted++
			case d.Status == settlement.Rejected && d.Reason == settlement.ReasonInsufficientBalance:
			default:
				t.Errorf("claim %s via %s: %s %q amount %s seq %d; want accepted for %s, or rejected %s",
					r.claim.ClaimID, servers[r.server].name, d.Status, d.Reason, d.Amount, d.JournalSeq, tariff, settlement.ReasonInsufficientBalance)
			}
		}
		seqs := map[uint64]string{}
		for _, r := range results {
			if r.decision.Status == settlement.Accepted {
				if other, dup := seqs[r.decision.JournalSeq]; dup {
					t.Errorf("claims %s and %s share journal seq %d", other, r.claim.ClaimID, r.decision.JournalSeq)
				}
				seqs[r.decision.JournalSeq] = r.claim.ClaimID
			}
		}
		for _, v := range vs {
			if v.accepted != affordable {
				t.Errorf("voucher %s: %d claims accepted, the balance affords %d", v.id, v.accepted, affordable)
			}
		}
	})

	t.Run("balances and figures", func(t *testing.T) {
		total := 0
		for _, v := range vs {
			total += v.accepted
			var got struct {
				Balance regie.Cents
				Lines   []struct {
					Product   string
					MaxAmount regie.Cents `json:"max_amount"`
					Remaining regie.Cents
				}
			}
			call(t, "GET", s2.base+"/api/v1/vouchers/"+v.id, tk.client, nil, http.StatusOK, &got)
			want := v.max - regie.Cents(v.accepted)*tariff
			if got.Balance != want || len(got.Lines) != 1 || got.Lines[0].Remaining != want || got.Lines[0].MaxAmount != v.max {
				t.Errorf("voucher %s via regie-2: %+v; want balance and remaining %s of %s", v.id, got, want, v.max)
			}
			if got.Balance < 0 {
				t.Errorf("voucher %s: negative balance %s", v.id, got.Balance)
			}
		}
		var fig figures
		call(t, "GET", s2.base+"/api/v1/regions/"+region+"/budget", tk.funder, nil, http.StatusOK, &fig)
		if fig.Settled-fig0.Settled != regie.Cents(total)*tariff || fig.Claims-fig0.Claims != int64(total) {
			t.Errorf("region %s: settled %s → %s, claims %d → %d; want %d more claims settling %s",
				region, fig0.Settled, fig.Settled, fig0.Claims, fig.Claims, total, regie.Cents(total)*tariff)
		}
	})

	t.Run("retries via the other server", func(t *testing.T) {
		var wg sync.WaitGroup
		for _, r := range results {
			if r.decision.Status == "" {
				continue
			}
			other := servers[1-r.server]
			wg.Go(func() {
				resp, err := do("POST", other.base+"/api/v1/claims", tk.provider, r.claim)
				if err != nil || resp.status != http.StatusOK || resp.header.Get("Idempotent-Replayed") != "true" {
					t.Errorf("retry of %s via %s: %v %v, want 200 with Idempotent-Replayed: true", r.claim.ClaimID, other.name, resp, err)
					return
				}
				var d settlement.Decision
				if err := json.Unmarshal(resp.body, &d); err != nil {
					t.Errorf("retry of %s: %s: %v", r.claim.ClaimID, resp.body, err)
					return
				}
				if diff := sameDecision(d, r.decision); diff != "" {
					t.Errorf("retry of %s via %s: %s", r.claim.ClaimID, other.name, diff)
				}
			})
		}
		wg.Wait()
		var fig figures
		call(t, "GET", s1.base+"/api/v1/regions/"+region+"/budget", tk.funder, nil, http.StatusOK, &fig)
		total := 0
		for _, v := range vs {
			total += v.accepted
		}
		if fig.Settled-fig0.Settled != regie.Cents(total)*tariff {
			t.Errorf("the retries changed the figures: settled %s → %s", fig0.Settled, fig.Settled)
		}
	})

	t.Run("journal", func(t *testing.T) {
		time.Sleep(1500 * time.Millisecond) // both servers sign a checkpoint of the head
		journalVerified(t, s2, tk)
		journalVerified(t, s1, tk)
		verifyCommand(t, "--store", rds.URL(), "--data-dir", dataDir)
	})
}
