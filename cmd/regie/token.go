package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/web"
)

// runToken mints an access token from the server's signing key. For a client,
// --bsn is pseudonymised first, so the token carries the pseudonym only.
func runToken(args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	role := fs.String("role", "", "assessor, client, provider, funder, auditor or admin")
	sub := fs.String("sub", "", "subject: a provider's AGB code, a client's pseudonym, a user id")
	bsn := fs.String("bsn", "", "client only: a BSN to pseudonymise into the subject (not stored)")
	regions := fs.String("regions", "", "comma-separated region ids, or * for all (assessor, funder, auditor)")
	ttl := fs.Duration("ttl", 12*time.Hour, "lifetime of the token")
	dataDir, keysDir := secretFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sec, err := loadSecrets(*dataDir, *keysDir)
	if err != nil {
		return err
	}
	p := regie.Principal{Role: regie.Role(*role), Subject: *sub}
	if *regions != "" {
		p.Regions = strings.Split(*regions, ",")
	}
	if *bsn != "" {
		if p.Role != regie.RoleClient {
			return fmt.Errorf("--bsn is for the client role only")
		}
		if p.Subject, err = sec.pseudonyms.Pseudonym(*bsn); err != nil {
			return err
		}
	}
	token, err := web.IssueAccessToken(sec.keys, p, *ttl, time.Now())
	if err != nil {
		return err
	}
	fmt.Println(token)
	return nil
}
