package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store"
)

// runVerify recomputes every region's journal (or the named ones): hash
// chains, signed checkpoints, and every stored balance against the sum of its
// postings. It prints a short report and fails on any difference.
func runVerify(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	storeURL := fs.String("store", "bolt:./data/regie.db", "store URL")
	regions := fs.String("regions", "", "comma-separated region ids (default: all)")
	dataDir, keysDir := secretFlags(fs)
	if err := parseFlags(fs, args); err != nil {
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
	return verifyRegions(ctx, os.Stdout, st, sec, *regions)
}

func verifyRegions(ctx context.Context, w *os.File, st store.Store, sec *secrets, only string) error {
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
		rep, err := settlement.Verify(ctx, st, sec.keys, id)
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
