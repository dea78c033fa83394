package redistest_test

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/regie-nl/regie/store/redis/redistest"
)

func TestServer_KillRestart(t *testing.T) {
	s := redistest.StartT(t, redistest.Config{AppendOnly: true, AppendFsync: "always"})
	if !strings.HasPrefix(s.URL(), "redis://127.0.0.1:") || !strings.HasSuffix(s.URL(), "/0") {
		t.Errorf("URL() = %q", s.URL())
	}
	if out, err := s.Do("SET", "k", "v"); err != nil || out != "OK" {
		t.Fatalf("SET k v = %q, %v", out, err)
	}
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Do("PING"); err == nil {
		t.Fatal("PING after Kill succeeded")
	}
	if err := s.Kill(); err != nil {
		t.Fatalf("second Kill: %v", err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(); err == nil {
		t.Error("Restart of a running server succeeded")
	}
	if out, err := s.Do("GET", "k"); err != nil || out != "v" {
		t.Fatalf("GET k after Kill+Restart = %q, %v; want v", out, err)
	}
	if out, err := s.Do("CONFIG", "GET", "appendfsync"); err != nil || !strings.HasSuffix(out, "always") {
		t.Errorf("CONFIG GET appendfsync = %q, %v", out, err)
	}
	if _, err := s.Do("NOSUCHCOMMAND"); err == nil {
		t.Error("Do of an unknown command succeeded")
	}

	// Stop then Restart keeps the data too; Close is idempotent and
	// removes the temporary data dir.
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if out, err := s.Do("GET", "k"); err != nil || out != "v" {
		t.Fatalf("GET k after Stop+Restart = %q, %v; want v", out, err)
	}
	dir, err := s.Do("CONFIG", "GET", "dir")
	if err != nil {
		t.Fatal(err)
	}
	dir = strings.TrimSpace(strings.TrimPrefix(dir, "dir"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("data dir %q still there after Close: %v", dir, err)
	}
	if _, err := s.Do("PING"); err == nil {
		t.Error("PING after Close succeeded")
	}
}

func TestStartCluster(t *testing.T) {
	c := redistest.StartClusterT(t, 3)
	if len(c.Nodes) != 3 || len(c.Addrs()) != 3 {
		t.Fatalf("%d nodes, %d addrs; want 3", len(c.Nodes), len(c.Addrs()))
	}
	if want := "redis-cluster://" + strings.Join(c.Addrs(), ","); c.URL() != want {
		t.Errorf("URL() = %q, want %q", c.URL(), want)
	}
	for _, n := range c.Nodes {
		out, err := n.Do("CLUSTER", "INFO")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "cluster_state:ok") {
			t.Errorf("CLUSTER INFO on %s:\n%s", n.Addr(), out)
		}
	}

	// A plain SET on a node that does not own the key's slot is MOVED;
	// redis-cli -c follows the redirect to the owner, from every node.
	for i, n := range c.Nodes {
		key := "key" + strconv.Itoa(i)
		host, port, _ := net.SplitHostPort(n.Addr())
		out, err := exec.Command("redis-cli", "-e", "-c", "-h", host, "-p", port, "SET", key, "v").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "OK" {
			t.Fatalf("redis-cli -c SET %s via %s: %v: %s", key, n.Addr(), err, out)
		}
		out, err = exec.Command("redis-cli", "-e", "-c", "-h", host, "-p", port, "GET", key).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "v" {
			t.Fatalf("redis-cli -c GET %s via %s: %v: %s", key, n.Addr(), err, out)
		}
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestStartCluster_TooFewMasters(t *testing.T) {
	if c, err := redistest.StartCluster(2); err == nil {
		c.Close()
		t.Fatal("StartCluster(2) succeeded")
	}
}

func TestStart_PortInUse(t *testing.T) {
	t.Run("listener", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		begin := time.Now()
		s, err := redistest.Start(redistest.Config{Port: port})
		if err == nil {
			s.Close()
			t.Fatalf("Start on busy port %d succeeded", port)
		}
		if d := time.Since(begin); d > 3*time.Second {
			t.Errorf("Start took %v to fail", d)
		}
		if !strings.Contains(err.Error(), "Address already in use") {
			t.Errorf("error does not carry the log tail: %v", err)
		}
		t.Log(err)
	})
	// Another redis-server on the port answers PONG; Start must still see
	// that its own process failed.
	t.Run("redis", func(t *testing.T) {
		other := redistest.StartT(t, redistest.Config{})
		port := other.Addr()[strings.LastIndex(other.Addr(), ":")+1:]
		p, _ := strconv.Atoi(port)
		begin := time.Now()
		s, err := redistest.Start(redistest.Config{Port: p})
		if err == nil {
			s.Close()
			t.Fatalf("Start on port %d of another server succeeded", p)
		}
		if d := time.Since(begin); d > 3*time.Second {
			t.Errorf("Start took %v to fail", d)
		}
		if !strings.Contains(err.Error(), "Address already in use") {
			t.Errorf("error does not carry the log tail: %v", err)
		}
		if out, err := other.Do("PING"); err != nil || out != "PONG" {
			t.Errorf("other server after failed Start: %q, %v", out, err)
		}
	})
}

// An invalid Config is an error, and Close on nil is a no-op.
func TestStart_InvalidConfig(t *testing.T) {
	if _, err := redistest.Start(redistest.Config{AppendOnly: true, AppendFsync: "sometimes"}); err == nil {
		t.Fatal("Start with AppendFsync sometimes succeeded")
	}
	var nilServer *redistest.Server
	if err := nilServer.Close(); err != nil {
		t.Fatal(err)
	}
	var nilCluster *redistest.Cluster
	if err := nilCluster.Close(); err != nil {
		t.Fatal(err)
	}
}
