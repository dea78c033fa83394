package settlement

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/voucher"
)

// CheckpointTokenType is the JWS typ header of a signed journal checkpoint.
const CheckpointTokenType = "checkpoint+jwt"

type checkpointClaims struct {
	jwt.RegisteredClaims
	Region string `json:"region"`
	Seq    uint64 `json:"seq"`
	Hash   string `json:"hash"`
}

// SignCheckpoint signs a region's journal head with the server's key ring.
func SignCheckpoint(keys *voucher.KeyRing, region string, seq uint64, hash string, at time.Time) (Checkpoint, error) {
	token, err := keys.Sign(CheckpointTokenType, &checkpointClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			IssuedAt: jwt.NewNumericDate(at),
			// Checkpoints are statements of fact; exp is required by the key
			// ring's parser, so it lies far ahead.
			ExpiresAt: jwt.NewNumericDate(at.AddDate(100, 0, 0)),
		},
		Region: region, Seq: seq, Hash: hash,
	})
	if err != nil {
		return Checkpoint{}, err
	}
	return Checkpoint{Region: region, Seq: seq, Hash: hash, At: at.UTC().Truncate(time.Second), Token: token}, nil
}

// CheckCheckpoint verifies a checkpoint's signature and that the signed
// region, seq and hash are the ones it states.
func CheckCheckpoint(keys *voucher.KeyRing, cp Checkpoint) error {
	var c checkpointClaims
	if _, err := keys.Parse(CheckpointTokenType, cp.Token, &c); err != nil {
		return fmt.Errorf("checkpoint %s@%d: signature: %w", cp.Region, cp.Seq, err)
	}
	if c.Region != cp.Region || c.Seq != cp.Seq || c.Hash != cp.Hash {
		return fmt.Errorf("checkpoint %s@%d: signed head differs from the stored one", cp.Region, cp.Seq)
	}
	return nil
}

// Report is the result of verifying one region's journal.
type Report struct {
	Region      string   `json:"region"`
	Entries     uint64   `json:"entries"`
	Checkpoints int      `json:"checkpoints"`
	Accounts    int      `json:"accounts"`
	Problems    []string `json:"problems"`
	OK          bool     `json:"ok"`
}

// Verify recomputes a region's journal: every entry's seal and its place in
// the hash chain, every checkpoint's signature and hash, and every stored
// balance against the sum of its postings. Differences are problems in the
// report; the error is for failing to read. It needs no trust in the store's
// counters: they are what it checks.
func Verify(ctx context.Context, l Ledger, keys *voucher.KeyRing, region string) (Report, error) {
	rep := Report{Region: region, Problems: []string{}}
	cps := map[uint64]Checkpoint{}
	err := l.Checkpoints(ctx, region, func(cp Checkpoint) error {
		rep.Checkpoints++
		if err := CheckCheckpoint(keys, cp); err != nil {
			rep.Problems = append(rep.Problems, err.Error())
			return nil
		}
		cps[cp.Seq] = cp
		return nil
	})
	if err != nil {
		return rep, err
	}
	sums := map[string]regie.Cents{}
	prev := ""
	err = l.Journal(ctx, region, func(e Entry) error {
		rep.Entries++
		if e.Seq != rep.Entries {
			rep.Problems = append(rep.Problems, fmt.Sprintf("entry %d of %s: expected sequence number %d", e.Seq, region, rep.Entries))
		}
		if err := e.CheckSeal(prev); err != nil {
			rep.Problems = append(rep.Problems, err.Error())
		}
		if cp, ok := cps[e.Seq]; ok {
			if cp.Hash != e.Hash {
				rep.Problems = append(rep.Problems, fmt.Sprintf("entry %d of %s: hash differs from the signed checkpoint", e.Seq, region))
			}
			delete(cps, e.Seq)
		}
		for _, p := range e.Postings {
			sums[p.Account] += p.Amount
		}
		prev = e.Hash
		return nil
	})
	if err != nil {
		return rep, err
	}
	for seq := range cps {
		rep.Problems = append(rep.Problems, fmt.Sprintf("checkpoint %s@%d: no such entry in the journal", region, seq))
	}
	stored := map[string]regie.Cents{}
	err = l.Balances(ctx, region, func(account string, balance regie.Cents) error {
		stored[account] = balance
		return nil
	})
	if err != nil {
		return rep, err
	}
	accounts := make([]string, 0, len(sums))
	for a := range sums {
		accounts = append(accounts, a)
	}
	for a := range stored {
		if _, ok := sums[a]; !ok {
			accounts = append(accounts, a)
		}
	}
	sort.Strings(accounts)
	rep.Accounts = len(accounts)
	for _, a := range accounts {
		if got, want := stored[a], sums[a]; got != want {
			rep.Problems = append(rep.Problems, fmt.Sprintf("account %s: stored balance %s, journal sum %s", a, got, want))
		}
	}
	rep.OK = len(rep.Problems) == 0
	return rep, nil
}
