package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/regie-nl/regie/loadgen"
)

// runLoadgen drives a `regie serve --demo` server that shares --data-dir
// with claims and checks its books afterwards (package loadgen). It reads the
// server's keys here, so that loadgen itself reads no files; it refuses to
// create keys, because new keys would be useless against the server.
func runLoadgen(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "base URL of a server started with --demo and the same --data-dir")
	dataDir, keysDir := secretFlags(fs)
	vouchers := fs.Int("vouchers", loadgen.DefaultVouchers, "vouchers to set up before driving")
	concurrency := fs.Int("concurrency", loadgen.DefaultConcurrency, "concurrent workers, each with its own vouchers")
	duration := fs.Duration("duration", loadgen.DefaultDuration, "how long to send claims")
	mode := fs.String("mode", string(loadgen.Single), "single (one claim per request), bulk (POST /claims/batch) or both (half each)")
	batch := fs.Int("batch", loadgen.DefaultBatch, "most claim lines per bulk request")
	seed := fs.Uint64("seed", 1, "seed of the BSNs and claim ids")
	listeners := fs.Int("listeners", 0, "also drive every phase with this many server-sent event listeners connected, and compare")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := requireSecrets(*dataDir, *keysDir); err != nil {
		return err
	}
	sec, err := loadSecrets(*dataDir, *keysDir)
	if err != nil {
		return err
	}
	_, err = loadgen.Run(ctx, loadgen.Config{
		URL: *url, Keys: sec.keys, Pseudonyms: sec.pseudonyms,
		Vouchers: *vouchers, Concurrency: *concurrency, Duration: *duration,
		Mode: loadgen.Mode(*mode), Batch: *batch, Seed: *seed, Listeners: *listeners,
		Out: os.Stdout, Progress: os.Stderr, Now: time.Now,
	})
	return err
}

// requireSecrets refuses a data directory without the server's keys, where
// loadSecrets would create new ones.
func requireSecrets(dataDir, keysDir string) error {
	if keysDir == "" {
		keysDir = filepath.Join(dataDir, "keys")
	}
	if names, _ := filepath.Glob(filepath.Join(keysDir, "ed25519-*.pem")); len(names) == 0 {
		return fmt.Errorf("no signing keys in %s: point --data-dir (or --keys-dir) at the server's", keysDir)
	}
	if os.Getenv("REGIE_PSEUDONYM_KEY") != "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dataDir, "pseudonym.key")); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no pseudonym key in %s: point --data-dir at the server's, or set REGIE_PSEUDONYM_KEY as the server has it", dataDir)
	}
	return nil
}
