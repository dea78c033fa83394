// Package redistest starts real redis-server processes, and clusters of
// them, on the loopback interface for tests.
//
// Each server is a child process of the test binary, bound to 127.0.0.1 on
// its own port, with its own data directory and its log in
// <dir>/redis.log. Nothing is mocked or skipped: if redis-server or
// redis-cli is not installed, Start and StartCluster return an error that
// says how to install them (`apt-get install -y redis-server`).
//
// The servers run in their own process group, so Kill also removes any
// child a server forked (for example an AOF rewrite), and on Linux they are
// killed when the test binary dies (for example on ^C), so no stray
// redis-server is left behind.
package redistest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	startTimeout   = 10 * time.Second // Start and Restart wait this long for PONG
	stopTimeout    = 10 * time.Second // Stop waits this long before SIGKILL
	clusterTimeout = 20 * time.Second // StartCluster waits this long for cluster_state:ok
	clusterSlots   = 16384
	clusterBusStep = 10000 // the cluster bus port is the client port + 10000
	installHint    = "install it with `apt-get install -y redis-server`"
)

// Config of one server. The zero value is a server without persistence
// (save "", appendonly no) in a fresh temporary directory on a free port.
type Config struct {
	// AppendOnly turns on the append-only file (appendonly yes).
	AppendOnly bool
	// AppendFsync is the appendfsync policy: "always", "everysec" or "no".
	// It defaults to "everysec" when AppendOnly is set and is ignored
	// otherwise.
	AppendFsync string
	// Dir is the data directory. "" means a fresh os.MkdirTemp directory
	// that Close removes; a given Dir is created if needed and never
	// removed.
	Dir string
	// Port is the loopback port to listen on; 0 picks a free one.
	Port int
	// Cluster turns on cluster mode (cluster-enabled yes), with the
	// cluster state in Dir/nodes.conf. The cluster bus listens on
	// Port+10000.
	Cluster bool
}

// Server is one redis-server child process listening on 127.0.0.1.
// Its methods are safe for concurrent use.
type Server struct {
	cfg     Config // resolved: absolute Dir, Port set, AppendFsync defaulted
	tempDir bool   // Dir was created by Start and is removed by Close

	mu     sync.Mutex
	p      *proc // the current process; nil before the first launch
	closed bool
}

// proc is one run of redis-server.
type proc struct {
	cmd       *exec.Cmd
	done      chan struct{} // closed when the process has exited
	err       error         // result of cmd.Wait, set before done is closed
	logOffset int64         // size of the log file when this run started
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Start starts redis-server with cfg as a foreground child process
// (--bind 127.0.0.1 --port N --dir D --daemonize no --protected-mode no
// --save "" --logfile D/redis.log) and waits up to 10s until it answers
// PING with PONG. If the process exits early, the error contains the tail
// of its log. When cfg.Port is 0 and the picked port is taken before
// redis-server binds it, Start retries with another port.
//
// On error nothing is left running and a temporary Dir is removed.
func Start(cfg Config) (*Server, error) {
	return start(cfg, nil)
}

// start is Start; reserved holds ports (client and bus) that must not be
// picked because other nodes of the same cluster use them.
func start(cfg Config, reserved map[int]bool) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redistest: redis-server not found (%v); %s", err, installHint)
	}
	if cfg.AppendOnly {
		switch cfg.AppendFsync {
		case "":
			cfg.AppendFsync = "everysec"
		case "always", "everysec", "no":
		default:
			return nil, fmt.Errorf("redistest: invalid AppendFsync %q (want always, everysec or no)", cfg.AppendFsync)
		}
	}

	s := &Server{cfg: cfg}
	if s.cfg.Dir == "" {
		if s.cfg.Dir, err = os.MkdirTemp("", "redistest-"); err != nil {
			return nil, fmt.Errorf("redistest: %w", err)
		}
		s.tempDir = true
	} else if err := os.MkdirAll(s.cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("redistest: %w", err)
	}
	if s.cfg.Dir, err = filepath.Abs(s.cfg.Dir); err != nil {
		s.removeTempDir()
		return nil, fmt.Errorf("redistest: %w", err)
	}

	pickPort := cfg.Port == 0
	for attempt := 1; ; attempt++ {
		if pickPort {
			if s.cfg.Port, err = freePort(cfg.Cluster, reserved); err != nil {
				s.removeTempDir()
				return nil, err
			}
		}
		err = s.launch(bin)
		if err == nil {
			if reserved != nil {
				reserved[s.cfg.Port] = true
				reserved[s.cfg.Port+clusterBusStep] = true
			}
			return s, nil
		}
		// Someone may have taken a port we picked before redis-server bound
		// it; try another one.
		if !pickPort || attempt == 3 || !strings.Contains(err.Error(), "Address already in use") {
			s.removeTempDir()
			return nil, err
		}
	}
}

// Addr returns the server's address, "127.0.0.1:port".
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.cfg.Port))
}

// URL returns the server's URL, "redis://127.0.0.1:port/0".
func (s *Server) URL() string {
	return "redis://" + s.Addr() + "/0"
}

// Kill sends SIGKILL to the server (and to any process it forked) and
// waits for it to exit. Killing a server that is not running is not an
// error.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kill()
}

func (s *Server) kill() error {
	p := s.p
	if p == nil || p.exited() {
		return nil
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
		return fmt.Errorf("redistest: redis-server %s did not exit %v after SIGKILL", s.Addr(), stopTimeout)
	}
}

// Stop stops the server gracefully, like SHUTDOWN NOSAVE: it sends SIGTERM
// (the server writes no RDB since save is "", but does flush its
// append-only file) and waits for the process to exit, sending SIGKILL
// after 10s. Stopping a server that is not running is not an error.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stop()
}

func (s *Server) stop() error {
	p := s.p
	if p == nil || p.exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
	}
	if err := s.kill(); err != nil {
		return err
	}
	return fmt.Errorf("redistest: redis-server %s ignored SIGTERM for %v and was killed", s.Addr(), stopTimeout)
}

// Restart starts the server again, after Kill or Stop, on the same port and
// in the same Dir with the same Config. It waits up to 10s until the server
// answers PING with PONG and reports loading:0 in INFO persistence (that is,
// it has finished loading its append-only file). It is an error to Restart
// a server that is running or closed.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("redistest: Restart of closed server %s", s.Addr())
	}
	if s.p != nil && !s.p.exited() {
		return fmt.Errorf("redistest: Restart of running server %s (Kill or Stop it first)", s.Addr())
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return fmt.Errorf("redistest: redis-server not found (%v); %s", err, installHint)
	}
	return s.launchLocked(bin)
}

// Close stops the server (see Stop) and then removes Dir if Start created
// it. Close is idempotent and may be called on a nil *Server.
func (s *Server) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.stop()
	if s.tempDir {
		if rerr := os.RemoveAll(s.cfg.Dir); rerr != nil && err == nil {
			err = fmt.Errorf("redistest: %w", rerr)
		}
	}
	return err
}

// Do runs one command with `redis-cli -e -h 127.0.0.1 -p port args...` and
// returns its output (raw format, one line per reply element) with
// surrounding white space trimmed. An error reply, or a failure to
// connect, is returned as an error that contains the output.
func (s *Server) Do(args ...string) (string, error) {
	if len(args) == 0 {
		return "", errors.New("redistest: Do needs a command")
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return "", fmt.Errorf("redistest: redis-cli not found (%v); %s", err, installHint)
	}
	cmdArgs := append([]string{"-e", "-h", "127.0.0.1", "-p", strconv.Itoa(s.cfg.Port)}, args...)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(cli, cmdArgs...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	out := strings.TrimSpace(stdout.String())
	if err != nil {
		msg := strings.TrimSpace(out + "\n" + stderr.String())
		return out, fmt.Errorf("redistest: %s on %s: %v: %s", strings.Join(args, " "), s.Addr(), err, msg)
	}
	return out, nil
}

// launch starts the process and waits until it is ready; on failure the
// process is gone.
func (s *Server) launch(bin string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.launchLocked(bin)
}

func (s *Server) launchLocked(bin string) error {
	logPath := filepath.Join(s.cfg.Dir, "redis.log")
	args := []string{
		"--bind", "127.0.0.1",
		"--port", strconv.Itoa(s.cfg.Port),
		"--dir", s.cfg.Dir,
		"--daemonize", "no",
		"--protected-mode", "no",
		"--save", "",
		"--logfile", logPath,
	}
	if s.cfg.AppendOnly {
		args = append(args, "--appendonly", "yes", "--appendfsync", s.cfg.AppendFsync)
	} else {
		args = append(args, "--appendonly", "no")
	}
	if s.cfg.Cluster {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	}

	// The child writes to the log file, never to the test's stdout; its
	// stdout and stderr also go there, so errors printed before the log
	// file is opened (such as a bad option) show up in the log tail.
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("redistest: %w", err)
	}
	defer logFile.Close()
	fi, err := logFile.Stat()
	if err != nil {
		return fmt.Errorf("redistest: %w", err)
	}

	cmd := exec.Command(bin, args...)
	cmd.Dir = s.cfg.Dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := startCmd(cmd); err != nil {
		return fmt.Errorf("redistest: starting redis-server: %w", err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{}), logOffset: fi.Size()}
	go func() {
		p.err = cmd.Wait()
		// Remove anything the server forked and left behind.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		close(p.done)
	}()
	s.p = p

	if err := s.waitReady(p); err != nil {
		_ = s.kill()
		return err
	}
	return nil
}

// waitReady polls the server until it is ready: it answers PING with PONG,
// it is the process we started (not another server that already had the
// port), and it is not loading its data.
func (s *Server) waitReady(p *proc) error {
	deadline := time.Now().Add(startTimeout)
	var lastErr error
	for {
		if p.exited() {
			return fmt.Errorf("redistest: redis-server %s exited during startup (%v); end of its log:\n%s",
				s.Addr(), p.err, s.logTail(p.logOffset))
		}
		if lastErr = s.probe(p); lastErr == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redistest: redis-server %s not ready after %v: %v; end of its log:\n%s",
				s.Addr(), startTimeout, lastErr, s.logTail(p.logOffset))
		}
		select {
		case <-p.done:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *Server) probe(p *proc) error {
	c, err := dial(s.Addr())
	if err != nil {
		return err
	}
	defer c.Close()
	// Do not wait for an answer from whatever else holds the port once our
	// process has died.
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-p.done:
			c.Close()
		case <-finished:
		}
	}()
	pid := p.cmd.Process.Pid
	if r, err := c.do("PING"); err != nil {
		return err
	} else if r != "PONG" {
		return fmt.Errorf("PING answered %v", r)
	}
	info, err := c.info("server")
	if err != nil {
		return err
	}
	if got := info["process_id"]; got != strconv.Itoa(pid) {
		return fmt.Errorf("%s is served by process %s, not by the redis-server we started (pid %d)", s.Addr(), got, pid)
	}
	info, err = c.info("persistence")
	if err != nil {
		return err
	}
	if info["loading"] != "0" {
		return fmt.Errorf("still loading (loading:%s)", info["loading"])
	}
	return nil
}

// logTail returns the last lines of the log written since offset.
func (s *Server) logTail(offset int64) string {
	b, err := os.ReadFile(filepath.Join(s.cfg.Dir, "redis.log"))
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	if offset <= int64(len(b)) {
		b = b[offset:]
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

func (s *Server) removeTempDir() {
	if s.tempDir {
		_ = os.RemoveAll(s.cfg.Dir)
	}
}

// freePort returns a loopback port that is free now; for a cluster node the
// bus port (port+10000) is free too. Ports in reserved are skipped.
func freePort(cluster bool, reserved map[int]bool) (int, error) {
	var lastErr error
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("redistest: finding a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if reserved[port] || (cluster && reserved[port+clusterBusStep]) {
			l.Close()
			continue
		}
		if !cluster {
			l.Close()
			return port, nil
		}
		if port+clusterBusStep > 65535 {
			l.Close()
			continue
		}
		bus, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+clusterBusStep)))
		l.Close()
		if err != nil {
			lastErr = err
			continue
		}
		bus.Close()
		return port, nil
	}
	return 0, fmt.Errorf("redistest: no free port pair (port, port+10000) found: %v", lastErr)
}

// Cluster is a Redis Cluster of masters without replicas, one Server per
// node.
type Cluster struct {
	// Nodes are the cluster's servers, all with Config.Cluster set.
	Nodes []*Server

	mu     sync.Mutex
	closed bool
}

// StartCluster starts masters servers with Cluster set (no replicas), joins
// them with `redis-cli --cluster create ip:port... --cluster-replicas 0
// --cluster-yes`, and waits up to 20s until every node reports
// cluster_state:ok in CLUSTER INFO and its CLUSTER SLOTS covers all 16384
// slots, each served by one of the nodes. Redis Cluster needs at least 3
// masters. On error every node started is closed.
func StartCluster(masters int) (*Cluster, error) {
	if masters < 3 {
		return nil, fmt.Errorf("redistest: StartCluster(%d): redis-cli --cluster create needs at least 3 masters", masters)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, fmt.Errorf("redistest: redis-cli not found (%v); %s", err, installHint)
	}
	c := &Cluster{}
	reserved := map[int]bool{}
	for range masters {
		s, err := start(Config{Cluster: true}, reserved)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.Nodes = append(c.Nodes, s)
	}

	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("redistest: redis-cli --cluster create: %v:\n%s", err, out)
	}

	if err := c.waitOK(time.Now().Add(clusterTimeout)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// waitOK polls every node until it reports cluster_state:ok and knows an
// owner among the nodes for all slots.
func (c *Cluster) waitOK(deadline time.Time) error {
	ports := map[int64]bool{}
	for _, s := range c.Nodes {
		ports[int64(s.cfg.Port)] = true
	}
	var lastErr error
	for {
		lastErr = nil
		for _, s := range c.Nodes {
			if err := s.clusterOK(ports); err != nil {
				lastErr = fmt.Errorf("node %s: %w", s.Addr(), err)
				break
			}
		}
		if lastErr == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redistest: cluster not ready after %v: %v", clusterTimeout, lastErr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) clusterOK(ports map[int64]bool) error {
	c, err := dial(s.Addr())
	if err != nil {
		return err
	}
	defer c.Close()
	r, err := c.do("CLUSTER", "INFO")
	if err != nil {
		return err
	}
	// CLUSTER INFO has the key:value format of INFO.
	if ci := parseInfo(fmt.Sprint(r)); ci["cluster_state"] != "ok" {
		return fmt.Errorf("cluster_state:%s", ci["cluster_state"])
	}
	r, err = c.do("CLUSTER", "SLOTS")
	if err != nil {
		return err
	}
	ranges, ok := r.([]any)
	if !ok {
		return fmt.Errorf("CLUSTER SLOTS answered %v", r)
	}
	var covered [clusterSlots]bool
	n := 0
	for _, rg := range ranges {
		e, ok := rg.([]any)
		if !ok || len(e) < 3 {
			return fmt.Errorf("bad CLUSTER SLOTS entry %v", rg)
		}
		first, ok1 := e[0].(int64)
		last, ok2 := e[1].(int64)
		master, ok3 := e[2].([]any)
		if !ok1 || !ok2 || !ok3 || len(master) < 2 || first < 0 || last >= clusterSlots || first > last {
			return fmt.Errorf("bad CLUSTER SLOTS entry %v", rg)
		}
		if port, _ := master[1].(int64); !ports[port] {
			return fmt.Errorf("slots %d-%d served by unknown node %v", first, last, master)
		}
		for i := first; i <= last; i++ {
			if !covered[i] {
				covered[i] = true
				n++
			}
		}
	}
	if n != clusterSlots {
		return fmt.Errorf("CLUSTER SLOTS covers %d of %d slots", n, clusterSlots)
	}
	return nil
}

// URL returns the cluster's URL, "redis-cluster://127.0.0.1:p1,127.0.0.1:p2,...".
func (c *Cluster) URL() string {
	return "redis-cluster://" + strings.Join(c.Addrs(), ",")
}

// Addrs returns the nodes' addresses, "127.0.0.1:port", in the order of
// Nodes.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		addrs[i] = s.Addr()
	}
	return addrs
}

// Close closes every node (see Server.Close) and returns the first error.
// Close is idempotent and may be called on a nil *Cluster.
func (c *Cluster) Close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	var first error
	for _, s := range c.Nodes {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// StartT is Start for tests: it calls t.Fatal if Start fails and registers
// Close with t.Cleanup.
func StartT(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// StartClusterT is StartCluster for tests: it calls t.Fatal if StartCluster
// fails and registers Close with t.Cleanup.
func StartClusterT(t testing.TB, masters int) *Cluster {
	t.Helper()
	c, err := StartCluster(masters)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// conn is a minimal RESP client, enough to probe a server's state.
type conn struct {
	nc net.Conn
	r  *bufio.Reader
}

func dial(addr string) (*conn, error) {
	nc, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(2 * time.Second))
	return &conn{nc: nc, r: bufio.NewReader(nc)}, nil
}

func (c *conn) Close() error { return c.nc.Close() }

// do sends one command and returns its reply: a string (simple or bulk),
// an int64, nil, or a []any; an error reply is returned as an error.
func (c *conn) do(args ...string) (any, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(c.nc, b.String()); err != nil {
		return nil, err
	}
	return c.read()
}

func (c *conn) read() (any, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty RESP line")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return nil, errors.New(line[1:])
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		a := make([]any, n)
		for i := range a {
			if a[i], err = c.read(); err != nil {
				return nil, err
			}
		}
		return a, nil
	}
	return nil, fmt.Errorf("unexpected RESP line %q", line)
}

// info runs INFO section and returns its key:value pairs.
func (c *conn) info(section string) (map[string]string, error) {
	r, err := c.do("INFO", section)
	if err != nil {
		return nil, err
	}
	return parseInfo(fmt.Sprint(r)), nil
}

func parseInfo(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			m[k] = v
		}
	}
	return m
}
