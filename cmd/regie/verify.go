package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store"
	"github.com/regie-nl/regie/voucher"
)

// runVerify recomputes every region's journal (or the named ones): hash
// chains, signed checkpoints, and every stored balance against the sum of its
// postings. It prints a short report and fails on any difference.
func runVerify(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	storeURL := fs.String("store", "bolt:./data/regie.db", "store URL")
	regions := fs.String("regions", "", "comma-separated region ids (default: all)")
	jwksFile := fs.String("jwks", "", "the server's public keys (a saved /.well-known/jwks.json); no private key is needed")
	dataDir, keysDir := secretFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	keys, err := verifyKeys(*jwksFile, *dataDir, *keysDir)
	if err != nil {
		return err
	}
	st, err := store.Open(*storeURL)
	if err != nil {
		return err
	}
	defer st.Close()
	return verifyRegions(ctx, os.Stdout, st, keys, *regions)
}

// verifyKeys reads the public keys from a JWKS file, or else the key files
// of the data directory, which it never creates: a verification with fresh
// keys would only report every checkpoint as forged.
func verifyKeys(jwksFile, dataDir, keysDir string) (*voucher.KeyRing, error) {
	if jwksFile != "" {
		b, err := os.ReadFile(jwksFile)
		if err != nil {
			return nil, err
		}
		return voucher.ParseJWKS(b)
	}
	if keysDir == "" {
		keysDir = filepath.Join(dataDir, "keys")
	}
	if names, _ := filepath.Glob(filepath.Join(keysDir, "ed25519-*.pem")); len(names) == 0 {
		return nil, fmt.Errorf("no signing keys in %s: give --jwks with the server's public keys", keysDir)
	}
	return voucher.LoadKeyRing(keysDir)
}

func verifyRegions(ctx context.Context, w *os.File, st store.Store, keys *voucher.KeyRing, only string) error {
	var ids []string
	if only != "" {
		ids = strings.Split(only, ",")
	} else {
		rs, err := st.Regions(ctx)
		if err != nil {
			return err
		}
		for _, r := range rs {
			ids = append(ids, r.ID)
		}
	}
	var entries uint64
	failed := 0
	for _, id := range ids {
		rep, err := settlement.Verify(ctx, st, keys, id)
		if err != nil {
			return fmt.Errorf("verify %s: %w", id, err)
		}
		entries += rep.Entries
		status := "ok"
		if !rep.OK {
			status = "FAILED"
			failed++
		}
		fmt.Fprintf(w, "%-28s %-6s %8d entries %4d checkpoints %7d accounts\n", id, status, rep.Entries, rep.Checkpoints, rep.Accounts)
		for _, p := range rep.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
	fmt.Fprintf(w, "%d regions, %d entries: %d failed\n", len(ids), entries, failed)
	if failed > 0 {
		return fmt.Errorf("verification failed in %d regions", failed)
	}
	return nil
}
