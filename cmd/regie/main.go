// Command regie is the one binary of regie: it serves the API (serve), mints
// access tokens (token), and more subcommands as they are built. This package
// only wires: it reads flags and REGIE_* environment variables, opens the store
// by URL and starts the web server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // dates of care are Europe/Amsterdam, also in a scratch image
)

const usage = `regie — person-following care budgets (persoonsvolgende bekostiging)

Usage:
  regie serve [flags]     serve the API (--demo loads demo data)
  regie token [flags]     mint an access token from the server's key
  regie verify [flags]    recompute every journal, checkpoint and balance; fail on a difference
  regie loadgen [flags]   drive a --demo server with claims, then check its books
  regie help COMMAND      show the flags of a command

Every flag can also be set as a REGIE_* environment variable:
--store is REGIE_STORE, --data-dir is REGIE_DATA_DIR, and so on.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "regie:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return flag.ErrHelp
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return runServe(ctx, rest)
	case "token":
		return runToken(rest)
	case "verify":
		return runVerify(ctx, rest)
	case "loadgen":
		return runLoadgen(ctx, rest)
	case "help", "-h", "--help":
		if len(rest) == 1 && rest[0] != "help" {
			return run(ctx, []string{rest[0], "-h"})
		}
		fmt.Fprint(os.Stdout, usage)
		return nil
	default:
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// parseFlags parses args after applying REGIE_* environment variables as
// defaults, so that a flag on the command line wins over the environment.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "REGIE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && err == nil {
			if serr := f.Value.Set(v); serr != nil {
				err = fmt.Errorf("%s=%q: %w", name, v, serr)
			}
		}
	})
	if err != nil {
		return err
	}
	return fs.Parse(args)
}
