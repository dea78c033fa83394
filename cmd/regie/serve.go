package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/regie-nl/regie/demo"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store"
	"github.com/regie-nl/regie/store/bolt"
	"github.com/regie-nl/regie/store/kv"
	"github.com/regie-nl/regie/store/kv/rediskv"
	"github.com/regie-nl/regie/voucher"
	"github.com/regie-nl/regie/web"
)

// secrets are the server's keys, read from (or created in) the data directory.
type secrets struct {
	keys       *voucher.KeyRing
	pseudonyms *voucher.Pseudonymiser
}

func secretFlags(fs *flag.FlagSet) (dataDir, keysDir *string) {
	dataDir = fs.String("data-dir", "./data", "directory for signing keys and the pseudonym key")
	keysDir = fs.String("keys-dir", "", "directory of the Ed25519 signing keys (default DATA-DIR/keys)")
	return dataDir, keysDir
}

// loadSecrets reads the signing keys and the pseudonym key, creating each
// with mode 0600 on first start.
func loadSecrets(dataDir, keysDir string) (*secrets, error) {
	if keysDir == "" {
		keysDir = filepath.Join(dataDir, "keys")
	}
	keys, err := voucher.LoadKeyRing(keysDir)
	if err != nil {
		return nil, err
	}
	key, err := loadPseudonymKey(dataDir)
	if err != nil {
		return nil, err
	}
	ps, err := voucher.NewPseudonymiser(key)
	if err != nil {
		return nil, err
	}
	return &secrets{keys: keys, pseudonyms: ps}, nil
}

// loadPseudonymKey returns REGIE_PSEUDONYM_KEY when set, else the key file in
// dataDir, which it creates with 32 random bytes when missing.
func loadPseudonymKey(dataDir string) ([]byte, error) {
	if k := os.Getenv("REGIE_PSEUDONYM_KEY"); k != "" {
		return []byte(k), nil
	}
	name := filepath.Join(dataDir, "pseudonym.key")
	if b, err := os.ReadFile(name); err == nil {
		return b, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("pseudonym key: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("pseudonym key: %w", err)
	}
	key := []byte(hex.EncodeToString(raw))
	if err := os.WriteFile(name, key, 0o600); err != nil {
		return nil, fmt.Errorf("pseudonym key: %w", err)
	}
	return key, nil
}

func runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", ":8080", "address to listen on")
	storeURL := fs.String("store", "bolt:./data/regie.db", "store URL: bolt:PATH, redis://host:port/db or redis-cluster://h1:p1,h2:p2 (see docs/operations.md)")
	dataDir, keysDir := secretFlags(fs)
	demoMode := fs.Bool("demo", false, "load the demo data set (once) and enable the demo login")
	issuer := fs.String("issuer", "regie", "the iss claim of vouchers, e.g. the public URL")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json")
	shutdownTimeout := fs.Duration("shutdown-timeout", 15*time.Second, "how long to wait for requests in flight on SIGTERM")
	checkpointEvery := fs.Duration("checkpoint-interval", time.Minute, "how often to sign the journal heads that moved")
	debugAddr := fs.String("debug-addr", "", "serve Go profiles (net/http/pprof) on this address, e.g. 127.0.0.1:6060; off when empty")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(*logLevel, *logFormat)
	if err != nil {
		return err
	}
	sec, err := loadSecrets(*dataDir, *keysDir)
	if err != nil {
		return err
	}
	st, err := store.Open(*storeURL)
	if err != nil {
		return err
	}
	defer st.Close()

	vouchers := &voucher.Service{Store: st, Regions: st, Assignments: st, Keys: sec.keys, Pseudonyms: sec.pseudonyms, Issuer: *issuer}
	settle := &settlement.Service{Ledger: st, Vouchers: vouchers, Choices: st, Keys: sec.keys}
	cfg := web.Config{
		Vouchers:   vouchers,
		Matching:   &matching.Service{Store: st, Vouchers: vouchers},
		Settlement: settle,
		Keys:       sec.keys,
		Ready:      st.Ping,
		Logger:     log,
		Registry:   prometheus.NewRegistry(),
	}
	cfg.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	registerStoreMetrics(cfg.Registry, st)
	cfg.Registry.MustRegister(web.MonitoringCollectors()...) // event stream and webhooks
	if *demoMode {
		loaded, err := demo.Load(ctx, st, vouchers, time.Now().Year())
		if err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
		log.Info("demo data", slog.Bool("loaded_now", loaded))
		cfg.Demo, err = demoLogins(sec.pseudonyms)
		if err != nil {
			return err
		}
	}
	// The search index is loaded after the demo data, so that it holds it.
	if cfg.Matching.Index, err = matching.NewIndex(ctx, st); err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	srv := web.New(cfg)
	if *debugAddr != "" {
		go serveDebug(*debugAddr, log)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.App().Listener(ln) }()
	log.Info("regie serving", slog.String("addr", ln.Addr().String()), slog.String("store", store.Redacted(*storeURL)), slog.Bool("demo", *demoMode))
	if *demoMode {
		printDemoHelp(ln.Addr())
	}

	checkpoint := func() {
		if n, err := settle.Checkpoint(context.Background()); err != nil {
			log.Error("checkpoint", slog.Any("err", err))
		} else if n > 0 {
			log.Info("signed journal checkpoints", slog.Int("regions", n))
		}
	}
	ticker := time.NewTicker(*checkpointEvery)
	defer ticker.Stop()
wait:
	for {
		select {
		case err := <-serveErr:
			return err
		case <-ticker.C:
			checkpoint()
		case <-ctx.Done():
			break wait
		}
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown", slog.Any("err", err))
	}
	checkpoint() // the last heads, signed before the store closes
	return nil
}

// demoLogins turns the demo users into logins; the demo client's BSN becomes
// its pseudonym here and goes no further.
func demoLogins(ps *voucher.Pseudonymiser) (*web.Demo, error) {
	d := &web.Demo{}
	for _, u := range demo.Users() {
		sub := u.Subject
		if u.BSN != "" {
			var err error
			if sub, err = ps.Pseudonym(u.BSN); err != nil {
				return nil, fmt.Errorf("demo user %s: %w", u.Label, err)
			}
		}
		d.Users = append(d.Users, web.DemoUser{Role: u.Role, Subject: sub, Regions: u.Regions, Label: u.Label})
	}
	return d, nil
}

func printDemoHelp(addr net.Addr) {
	port := "8080"
	if tcp, ok := addr.(*net.TCPAddr); ok {
		port = fmt.Sprint(tcp.Port)
	}
	base := "http://localhost:" + port
	fmt.Printf(`
regie demo is running at %[1]s

Get an access token for a role (assessor, client, provider, funder, auditor, admin):
  curl -s -X POST %[1]s/api/v1/demo/login -H 'Content-Type: application/json' -d '{"role":"funder"}'
List the demo users:   curl -s %[1]s/api/v1/demo/users
Walk the whole loop:   examples/walkthrough.sh %[1]s

`, base)
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, not %q", format)
}

// serveDebug serves the Go profiler on its own listener, never on the API's.
func serveDebug(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Info("debug profiles", slog.String("addr", addr))
	if err := srv.ListenAndServe(); err != nil {
		log.Error("debug listener", slog.Any("err", err))
	}
}

// registerStoreMetrics exposes what the store's group commits cost: claims
// per commit and time per commit are the figures that bound its rate.
func registerStoreMetrics(reg prometheus.Registerer, st store.Store) {
	b, ok := st.(interface{ CommitStats() bolt.CommitStats })
	if !ok {
		return
	}
	counter := func(name, help string, value func(bolt.CommitStats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return value(b.CommitStats()) })
	}
	reg.MustRegister(
		counter("regie_store_commits_total", "Group commits of settlements.", func(s bolt.CommitStats) float64 { return float64(s.Batches) }),
		counter("regie_store_commit_settlements_total", "Settlements in those commits.", func(s bolt.CommitStats) float64 { return float64(s.Settlements) }),
		counter("regie_store_commit_pages_total", "Pages written by those commits.", func(s bolt.CommitStats) float64 { return float64(s.Pages) }),
		counter("regie_store_commit_seconds_total", "Time in those commits, fsync included.", func(s bolt.CommitStats) float64 { return s.Time.Seconds() }),
	)
	// The Redis store's transactions are optimistic: conflicts are changes
	// run again because another regie process changed what they read.
	db, ok := st.(interface{ KV() kv.DB })
	if !ok {
		return
	}
	r, ok := db.KV().(*rediskv.DB)
	if !ok {
		return
	}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "regie_redis_commits_total", Help: "Transactions committed to Redis."},
			func() float64 { c, _ := r.Stats(); return float64(c) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "regie_redis_conflicts_total", Help: "Transactions run again after another process changed what they read."},
			func() float64 { _, c := r.Stats(); return float64(c) }),
	)
}
