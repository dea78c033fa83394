package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store"
	"github.com/regie-nl/regie/voucher"
)

// VerifyOK runs settlement.Verify on a region and fails unless it reports no
// problem. It also checks, independently of Verify, that every stored balance
// is the sum of its postings, and that the report counts the region's entries
// and accounts. It returns the report.
func VerifyOK(t testing.TB, s store.Store, keys *voucher.KeyRing, region string) settlement.Report {
	t.Helper()
	rep, err := settlement.Verify(t.Context(), s, keys, region)
	must(t, err, "Verify")
	if !rep.OK || len(rep.Problems) != 0 || rep.Region != region {
		t.Fatalf("Verify(%s) = %+v, want OK", region, rep)
	}
	entries := ReadJournal(t, s, region)
	sums := Sums(entries)
	stored := map[string]regie.Cents{}
	err = s.Balances(t.Context(), region, func(account string, balance regie.Cents) error {
		if _, dup := stored[account]; dup {
			return fmt.Errorf("account %s listed twice", account)
		}
		stored[account] = balance
		return nil
	})
	must(t, err, "Balances")
	accounts := map[string]bool{}
	for a, sum := range sums {
		accounts[a] = true
		if stored[a] != sum {
			t.Fatalf("account %s: stored %s, journal sum %s", a, stored[a], sum)
		}
	}
	for a, b := range stored {
		accounts[a] = true
		if b != sums[a] {
			t.Fatalf("account %s: stored %s, journal sum %s", a, b, sums[a])
		}
		if !strings.HasPrefix(a, "region:"+region+":") && !strings.HasPrefix(a, "voucher:") {
			t.Fatalf("Balances of %s lists account %s", region, a)
		}
	}
	if rep.Entries != uint64(len(entries)) || rep.Accounts != len(accounts) {
		t.Fatalf("Verify(%s) counted %d entries and %d accounts, the journal has %d and %d", region, rep.Entries, rep.Accounts, len(entries), len(accounts))
	}
	return rep
}

// wantProblem fails unless the report is not OK and has a problem that
// contains each of the parts.
func wantProblem(t testing.TB, rep settlement.Report, parts ...string) {
	t.Helper()
	if rep.OK {
		t.Fatalf("Verify reported OK, want a problem with %q", parts)
	}
	for _, p := range rep.Problems {
		ok := true
		for _, part := range parts {
			ok = ok && strings.Contains(p, part)
		}
		if ok {
			return
		}
	}
	t.Fatalf("Verify problems %q: none contains %q", rep.Problems, parts)
}

// busyRegion puts a fixture and runs one of every change of money on it.
func busyRegion(t *testing.T, s store.Store, name string) *Fixture {
	t.Helper()
	ctx := t.Context()
	f := NewFixture(name)
	f.Region.Budget = 300_00
	f.Region.Policy = settlement.Policy{Kind: settlement.Hold, HoldThreshold: 100_00}
	f.Put(t, s)
	other := putOther(t, s, f)
	addVoucherOf(t, s, f, "v-2-"+name, other.AGB)
	dagdeelChoice(t, s, f, other.AGB, 0, 0, matching.Accepted)
	for i := range 4 {
		_, _, err := s.Settle(ctx, f.Claim(fmt.Sprint("c-", i), Day(i)), f.Now)
		must(t, err, "Settle")
	}
	for i := range 4 {
		_, _, err := s.Settle(ctx, claimBy(f, other.AGB, "v-2-"+name, fmt.Sprint("o-", i), Day(i)), f.Now)
		must(t, err, "Settle")
	}
	_, _, err := s.Settle(ctx, dagdeelClaim(f, other.AGB, "d-1", Day(3), Day(3)), f.Now)
	must(t, err, "Settle")
	_, err = s.Reverse(ctx, f.Provider.AGB, "c-0", "fout", "provider", f.Now)
	must(t, err, "Reverse")
	_, err = s.ReviseBudget(ctx, f.Region.ID, 400_00, Day(100), "ophoging", funder, f.Now)
	must(t, err, "ReviseBudget")
	_, err = s.ReleaseHeld(ctx, f.Region.ID, 100_00, funder, f.Now)
	must(t, err, "ReleaseHeld")
	_, err = s.OpenDispute(ctx, other.AGB, "o-3", "niet geleverd", f.Now)
	must(t, err, "OpenDispute")
	_, err = s.ResolveDispute(ctx, other.AGB, "o-3", true, "klopt", funder, f.Now)
	must(t, err, "ResolveDispute")
	_, err = s.EndAssignment(ctx, f.Choice.ID, Day(100), f.Now)
	must(t, err, "EndAssignment")
	_, err = s.SetPolicy(ctx, f.Region.ID, settlement.Policy{Kind: settlement.ProRata, ProvisionalRate: 90_00}, funder, f.Now)
	must(t, err, "SetPolicy")
	_, _, err = s.Settle(ctx, f.Claim("c-9", Day(9)), f.Now)
	must(t, err, "Settle")
	_, err = s.ReleaseHeld(ctx, f.Region.ID, 1_000_000_00, funder, f.Now) // the close needs none held
	must(t, err, "ReleaseHeld")
	_, err = s.CloseYear(ctx, f.Region.ID, funder, f.Now)
	must(t, err, "CloseYear")
	return f
}

func testVerify(t *testing.T, o Opener) {
	keys, err := voucher.GenerateKeyRing()
	must(t, err, "GenerateKeyRing")

	t.Run("every kind of entry verifies", func(t *testing.T) {
		s := o.fresh(t)
		fa := busyRegion(t, s, "a")
		fb := busyRegion(t, s, "b")
		types := map[settlement.EntryType]bool{}
		for _, e := range ReadJournal(t, s, fa.Region.ID) {
			types[e.Type] = true
		}
		for _, want := range []settlement.EntryType{settlement.EntryIssue, settlement.EntryReserve, settlement.EntryUnreserve,
			settlement.EntrySettle, settlement.EntryHold, settlement.EntryRelease, settlement.EntryReverse, settlement.EntryRevision,
			settlement.EntryPolicy, settlement.EntryProRataAdjust, settlement.EntryClose} {
			if !types[want] {
				t.Fatalf("the busy region's journal has no %s entry: %v", want, types)
			}
		}
		for _, f := range []*Fixture{fa, fb} {
			rep := VerifyOK(t, s, keys, f.Region.ID)
			if rep.Checkpoints != 0 {
				t.Fatalf("Verify counted %d checkpoints in a store without any", rep.Checkpoints)
			}
			CheckLedger(t, s, f.Region.ID, f.Voucher.ID, "v-2-"+f.Name)
		}
		err := s.Journal(t.Context(), "gm-missing", func(settlement.Entry) error { return nil })
		wantErr(t, err, regie.NotFound, "region_not_found")
	})

	t.Run("signed checkpoints verify", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		var cps []settlement.Checkpoint
		for round := range 2 {
			for i := range 3 {
				SettleAccepted(t, s, f.Claim(fmt.Sprint("c-", round, "-", i), Day(10*round+i)), f.Now)
			}
			r, err := s.Region(ctx, f.Region.ID)
			must(t, err, "Region")
			cp, err := settlement.SignCheckpoint(keys, r.ID, r.JournalSeq, r.JournalHead, f.Now.Add(time.Duration(round)*time.Hour))
			must(t, err, "SignCheckpoint")
			must(t, s.PutCheckpoint(ctx, cp), "PutCheckpoint")
			cps = append(cps, cp)
			r2, err := s.Region(ctx, f.Region.ID)
			must(t, err, "Region")
			if r2.CheckpointSeq != r.JournalSeq || r2.JournalSeq != r.JournalSeq || r2.JournalHead != r.JournalHead {
				t.Fatalf("region after PutCheckpoint: checkpoint seq %d, head %d %s; want checkpoint at %d, head unchanged",
					r2.CheckpointSeq, r2.JournalSeq, r2.JournalHead, r.JournalSeq)
			}
			j := ReadJournal(t, s, r.ID)
			if last := j[len(j)-1]; last.Seq != r.JournalSeq || last.Hash != r.JournalHead {
				t.Fatalf("region head %d %s, journal ends with %d %s", r.JournalSeq, r.JournalHead, last.Seq, last.Hash)
			}
		}
		var got []settlement.Checkpoint
		must(t, s.Checkpoints(ctx, f.Region.ID, func(cp settlement.Checkpoint) error {
			got = append(got, cp)
			return nil
		}), "Checkpoints")
		if len(got) != len(cps) {
			t.Fatalf("Checkpoints = %+v, want %+v", got, cps)
		}
		for i := range cps {
			if got[i].Region != cps[i].Region || got[i].Seq != cps[i].Seq || got[i].Hash != cps[i].Hash ||
				got[i].Token != cps[i].Token || !got[i].At.Equal(cps[i].At) {
				t.Fatalf("checkpoint %d = %+v, want %+v", i, got[i], cps[i])
			}
		}
		if rep := VerifyOK(t, s, keys, f.Region.ID); rep.Checkpoints != 2 {
			t.Fatalf("Verify counted %d checkpoints, want 2", rep.Checkpoints)
		}
		// The journal goes on past the last checkpoint.
		SettleAccepted(t, s, f.Claim("c-late", Day(50)), f.Now)
		VerifyOK(t, s, keys, f.Region.ID)
	})

	t.Run("a checkpoint that does not match", func(t *testing.T) {
		otherKeys, err := voucher.GenerateKeyRing()
		must(t, err, "GenerateKeyRing")
		cases := []struct {
			name  string
			make  func(t *testing.T, region string, j []settlement.Entry) settlement.Checkpoint
			parts func(region string, j []settlement.Entry) []string
		}{
			{"the hash of another entry",
				func(t *testing.T, region string, j []settlement.Entry) settlement.Checkpoint {
					cp, err := settlement.SignCheckpoint(keys, region, j[1].Seq, j[2].Hash, time.Now())
					must(t, err, "SignCheckpoint")
					return cp
				},
				func(region string, j []settlement.Entry) []string {
					return []string{fmt.Sprintf("entry %d of %s", j[1].Seq, region), "checkpoint"}
				}},
			{"signed by another key",
				func(t *testing.T, region string, j []settlement.Entry) settlement.Checkpoint {
					cp, err := settlement.SignCheckpoint(otherKeys, region, j[2].Seq, j[2].Hash, time.Now())
					must(t, err, "SignCheckpoint")
					return cp
				},
				func(region string, j []settlement.Entry) []string {
					return []string{fmt.Sprintf("checkpoint %s@%d", region, j[2].Seq), "signature"}
				}},
			{"stored hash differs from the signed one",
				func(t *testing.T, region string, j []settlement.Entry) settlement.Checkpoint {
					cp, err := settlement.SignCheckpoint(keys, region, j[2].Seq, j[1].Hash, time.Now())
					must(t, err, "SignCheckpoint")
					cp.Hash = j[2].Hash
					return cp
				},
				func(region string, j []settlement.Entry) []string {
					return []string{fmt.Sprintf("checkpoint %s@%d", region, j[2].Seq)}
				}},
			{"beyond the journal",
				func(t *testing.T, region string, j []settlement.Entry) settlement.Checkpoint {
					last := j[len(j)-1]
					cp, err := settlement.SignCheckpoint(keys, region, last.Seq+5, last.Hash, time.Now())
					must(t, err, "SignCheckpoint")
					return cp
				},
				func(region string, j []settlement.Entry) []string {
					return []string{fmt.Sprintf("checkpoint %s@%d", region, j[len(j)-1].Seq+5), "no such entry"}
				}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s, f := o.withFixture(t, "a")
				SettleAccepted(t, s, f.Claim("c-1", Day(1)), f.Now)
				VerifyOK(t, s, keys, f.Region.ID)
				j := ReadJournal(t, s, f.Region.ID)
				must(t, s.PutCheckpoint(t.Context(), tc.make(t, f.Region.ID, j)), "PutCheckpoint")
				rep, err := settlement.Verify(t.Context(), s, keys, f.Region.ID)
				must(t, err, "Verify")
				wantProblem(t, rep, tc.parts(f.Region.ID, j)...)
				if len(rep.Problems) != 1 {
					t.Fatalf("Verify problems %q, want exactly one", rep.Problems)
				}
			})
		}
	})
}
