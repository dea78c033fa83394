package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/demo"
	"github.com/regie-nl/regie/voucher"
	"github.com/regie-nl/regie/web"
)

// NewClient returns an HTTP client for concurrency callers against one
// server: it keeps up to concurrency idle connections to the host, so that
// every worker reuses its connection instead of dialling again.
func NewClient(concurrency int) *http.Client {
	tr := &http.Transport{
		Proxy: nil, // a load test talks to the server directly
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          concurrency,
		MaxIdleConnsPerHost:   concurrency,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		DisableCompression:    true,
	}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// api calls one regie server.
type api struct {
	base string
	hc   *http.Client
}

func newAPI(base string, hc *http.Client) *api { return &api{base: base, hc: hc} }

// answer is an HTTP answer, read in full.
type answer struct {
	status   int
	body     []byte
	replayed bool // Idempotent-Replayed: true
}

// do sends one request with a bearer token (none when token is empty) and a
// JSON body (none when body is nil) and reads the whole answer, so that the
// connection can be reused. An error means no complete answer arrived.
func (a *api) do(ctx context.Context, method, path, token string, body []byte) (answer, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return answer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	return answer{status: resp.StatusCode, body: b, replayed: resp.Header.Get("Idempotent-Replayed") == "true"}, nil
}

// call sends in as JSON (nothing when nil), expects a 2xx answer and decodes
// it into out (unless nil). A non-2xx answer is an *httpError.
func (a *api) call(ctx context.Context, method, path, token string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	ans, err := a.do(ctx, method, path, token, body)
	if err != nil {
		return err
	}
	if ans.status < 200 || ans.status > 299 {
		return newHTTPError(method, path, ans)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(ans.body, out); err != nil {
		return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

// httpError is a non-2xx answer, with the problem code when there is one.
type httpError struct {
	Method, Path string
	Status       int
	Code, Detail string
}

func newHTTPError(method, path string, ans answer) *httpError {
	var p struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	e := &httpError{Method: method, Path: path, Status: ans.status}
	if json.Unmarshal(ans.body, &p) == nil {
		e.Code, e.Detail = p.Code, p.Detail
	} else {
		e.Detail = truncate(strings.TrimSpace(string(ans.body)), 120)
	}
	return e
}

func (e *httpError) Error() string {
	s := fmt.Sprintf("%s %s: %d", e.Method, e.Path, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// routeMissing reports whether the answer says the server has no such route
// (404 route_not_found, or 405 when the path exists for another method).
func (e *httpError) routeMissing() bool {
	return e.Status == http.StatusMethodNotAllowed || (e.Status == http.StatusNotFound && e.Code == "route_not_found")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// tokens are the access tokens loadgen acts with, minted with the server's
// key ring. Client tokens are kept with their vouchers.
type tokens struct {
	keys     *voucher.KeyRing
	ttl      time.Duration
	now      time.Time
	assessor string
	auditor  string
	provider map[string]string // by AGB code; read-only once setup is done
}

func newTokens(keys *voucher.KeyRing, ttl time.Duration, now time.Time) *tokens {
	return &tokens{keys: keys, ttl: ttl, now: now, provider: make(map[string]string)}
}

func (t *tokens) mint(role regie.Role, subject string, regions ...string) (string, error) {
	tok, err := web.IssueAccessToken(t.keys, regie.Principal{Role: role, Subject: subject, Regions: regions}, t.ttl, t.now)
	if err != nil {
		return "", fmt.Errorf("loadgen: token for %s %s: %w", role, subject, err)
	}
	return tok, nil
}

// preflight makes sure that the server is a demo server that shares loadgen's
// keys, so that a wrong --data-dir or a server without --demo is one clear
// error instead of thousands of refused requests. The demo client's subject on
// the server must be the pseudonym loadgen computes for the demo client's BSN:
// with another pseudonym key loadgen's clients could not see their vouchers.
func preflight(ctx context.Context, c *api, keys *voucher.KeyRing, ps *voucher.Pseudonymiser) error {
	var set voucher.JWKSet
	if err := c.call(ctx, http.MethodGet, "/.well-known/jwks.json", "", nil, &set); err != nil {
		return fmt.Errorf("loadgen: is the server at %s running? %w", c.base, err)
	}
	kid := keys.ActiveKeyID()
	if !slices.ContainsFunc(set.Keys, func(k voucher.JWK) bool { return k.KeyID == kid }) {
		return fmt.Errorf("loadgen: the server does not publish loadgen's signing key %s: use the server's --data-dir (or --keys-dir)", kid)
	}
	var users struct {
		Users []web.DemoUser `json:"users"`
	}
	if err := c.call(ctx, http.MethodGet, "/api/v1/demo/users", "", nil, &users); err != nil {
		return fmt.Errorf("loadgen: the server must run with --demo: %w", err)
	}
	want, err := ps.Pseudonym(demo.ClientBSN)
	if err != nil {
		return err
	}
	for _, u := range users.Users {
		if u.Role == regie.RoleClient && u.Subject != want {
			return fmt.Errorf("loadgen: the server pseudonymises with another key: use the server's --data-dir (or its REGIE_PSEUDONYM_KEY)")
		}
	}
	return nil
}
