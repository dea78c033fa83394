package settlement_test

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/bolt"
	"github.com/regie-nl/regie/voucher"
)

// env is the settlement service on a real bolt store, with a voucher of 4
// hours a week of H300 in r1 for 2026 and provider 10000001 assigned to it.
type env struct {
	db     *bolt.DB
	svc    *settlement.Service
	now    time.Time
	v      *voucher.Voucher
	keys   *voucher.KeyRing
	client regie.Principal // the voucher's client
	choice string          // the accepted choice of 10000001 for the voucher's H300 line
}

var (
	assigned   = regie.Principal{Role: regie.RoleProvider, Subject: "10000001"}
	unassigned = regie.Principal{Role: regie.RoleProvider, Subject: "10000002"}
	funderR1   = regie.Principal{Role: regie.RoleFunder, Subject: "zk1", Regions: []string{"r1"}}
)

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "r.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{db: db, now: time.Date(2026, 3, 15, 12, 0, 0, 0, regie.Amsterdam)}
	clock := func() time.Time { return e.now }

	ring, err := voucher.GenerateKeyRing()
	if err != nil {
		t.Fatal(err)
	}
	ps, err := voucher.NewPseudonymiser(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	vs := &voucher.Service{Store: db, Regions: db, Assignments: db, Keys: ring, Pseudonyms: ps, Issuer: "test", Now: clock}
	ms := &matching.Service{Store: db, Vouchers: vs, Now: clock}
	e.svc = &settlement.Service{Ledger: db, Vouchers: vs, Choices: db, Keys: ring, Now: clock}
	e.keys = ring

	for _, r := range []settlement.Region{
		{ID: "r1", Name: "Amstelland", Funder: "zk1", Year: 2026, Budget: 1_000_000_00},
		{ID: "r2", Name: "Utrecht", Funder: "zk2", Year: 2026, Budget: 500_000_00},
	} {
		if err := db.PutRegion(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PutTariff(ctx, voucher.Tariff{Product: "H300", Law: voucher.Wmo, Unit: "hour", MaxPrice: 6500}); err != nil {
		t.Fatal(err)
	}
	for _, agb := range []string{"10000001", "10000002"} {
		if err := db.PutProvider(ctx, &matching.Provider{
			AGB: agb, Name: "Zorg " + agb, Qualified: true, Regions: []string{"r1"},
			Locations: []matching.Location{{City: "Amsterdam", Lat: 52.37, Lon: 4.89}},
			Offers:    []matching.Offer{{Product: "H300", Tariff: 6000}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	e.v, _, err = vs.Issue(ctx, regie.Principal{Role: regie.RoleAssessor, Subject: "a", Regions: []string{"r1"}}, voucher.Indication{
		BSN: "123456782", Law: voucher.Wmo, Region: "r1",
		Lines:     []voucher.IndicationLine{{Product: "H300", UnitsPerWeek: 400}},
		ValidFrom: mustDate(t, "2026-01-01"), ValidTo: mustDate(t, "2026-12-31"),
	})
	if err != nil {
		t.Fatal(err)
	}
	client := regie.Principal{Role: regie.RoleClient, Subject: e.v.Subject}
	ch, err := ms.Choose(ctx, client, e.v.ID, matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000001"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ms.Decide(ctx, assigned, ch.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	e.client, e.choice = client, ch.ID
	return e
}

// february is 16 hours in February 2026 at 60.00 = 960.00.
func (e *env) february(t *testing.T) settlement.Claim {
	return settlement.Claim{
		ClaimID: "feb-1", VoucherID: e.v.ID, Product: "H300",
		From: mustDate(t, "2026-02-01"), To: mustDate(t, "2026-02-28"), Units: 1600, UnitPrice: 6000,
	}
}

func wantErr(t *testing.T, err error, kind regie.Kind, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s %s", kind, code)
	}
	if regie.ErrorKind(err) != kind || regie.ErrorCode(err) != code {
		t.Fatalf("got %v (kind %s), want %s %s", err, regie.ErrorKind(err), kind, code)
	}
}

func (e *env) remaining(t *testing.T) regie.Cents {
	t.Helper()
	v, err := e.db.Voucher(context.Background(), e.v.ID)
	if err != nil {
		t.Fatal(err)
	}
	return v.Line("H300").Remaining
}

func (e *env) journal(t *testing.T, region string) []settlement.Entry {
	t.Helper()
	var out []settlement.Entry
	if err := e.db.Journal(context.Background(), region, func(en settlement.Entry) error {
		out = append(out, en)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func entryTypes(entries []settlement.Entry) []settlement.EntryType {
	var out []settlement.EntryType
	for _, e := range entries {
		out = append(out, e.Type)
	}
	return out
}

func TestService_Submit(t *testing.T) {
	ctx := context.Background()

	t.Run("accepts, debits and journals", func(t *testing.T) {
		e := newEnv(t)
		before := e.remaining(t)
		j0 := e.journal(t, "r1")
		// Before any claim: the budget (revision 1), the voucher's issue, and
		// the reservation of its line when the provider accepted.
		if types := entryTypes(j0); !slices.Equal(types, []settlement.EntryType{settlement.EntryRevision, settlement.EntryIssue, settlement.EntryReserve}) {
			t.Fatalf("journal before claims = %v", types)
		}
		d, replay, err := e.svc.Submit(ctx, assigned, e.february(t), false)
		if err != nil {
			t.Fatal(err)
		}
		if replay {
			t.Error("first submission reported as a replay")
		}
		if d.Status != settlement.Accepted || d.Amount != 96000 || d.Payable != 96000 || d.Region != "r1" || d.ProviderAGB != "10000001" || d.JournalSeq != uint64(len(j0)+1) {
			t.Errorf("decision = %+v", d)
		}
		if !d.DecidedAt.Equal(e.now) || d.DecidedAt.Location() != time.UTC {
			t.Errorf("DecidedAt = %v, want %v in UTC", d.DecidedAt, e.now)
		}
		if got := e.remaining(t); got != before-96000 {
			t.Errorf("remaining %s, want %s", got, before-96000)
		}
		f, err := e.svc.Figures(ctx, funderR1, "r1")
		if err != nil {
			t.Fatal(err)
		}
		// The claim turns part of the line's commitment into settled.
		if f.Settled != 96000 || f.Paid != 96000 || f.Claims != 1 || f.Remaining != 1_000_000_00-96000 || f.Budget != 1_000_000_00 ||
			f.Committed != before-96000 || f.Free != 1_000_000_00-before {
			t.Errorf("figures = %+v", f)
		}
		j := e.journal(t, "r1")
		if len(j) != len(j0)+1 {
			t.Fatalf("journal has %d entries after one claim, had %d", len(j), len(j0))
		}
		last := j[len(j)-1]
		if last.Type != settlement.EntrySettle || last.Seq != d.JournalSeq || last.Amount != 96000 || last.ClaimID != "feb-1" || last.ProviderAGB != "10000001" {
			t.Fatalf("journal entry = %+v", last)
		}
		if err := last.CheckSeal(j0[len(j0)-1].Hash); err != nil {
			t.Errorf("journal entry: %v", err)
		}
	})

	t.Run("a retry replays and changes nothing", func(t *testing.T) {
		e := newEnv(t)
		first, _, err := e.svc.Submit(ctx, assigned, e.february(t), false)
		if err != nil {
			t.Fatal(err)
		}
		j1 := e.journal(t, "r1")
		e.now = e.now.Add(time.Hour)
		again, replay, err := e.svc.Submit(ctx, assigned, e.february(t), false)
		if err != nil {
			t.Fatal(err)
		}
		if !replay || again.Status != first.Status || again.Amount != first.Amount || !again.DecidedAt.Equal(first.DecidedAt) || again.JournalSeq != first.JournalSeq {
			t.Errorf("retry = %+v (replay %v), want %+v", again, replay, first)
		}
		if f, _ := e.svc.Figures(ctx, funderR1, "r1"); f.Settled != 96000 || f.Claims != 1 {
			t.Errorf("figures after retry = %+v", f)
		}
		if j := e.journal(t, "r1"); len(j) != len(j1) || j[len(j)-1].Hash != j1[len(j1)-1].Hash {
			t.Errorf("journal has %d entries after a retry, had %d", len(j), len(j1))
		}
	})

	t.Run("a reused claim id with other content is a conflict", func(t *testing.T) {
		e := newEnv(t)
		if _, _, err := e.svc.Submit(ctx, assigned, e.february(t), false); err != nil {
			t.Fatal(err)
		}
		c := e.february(t)
		c.Units = 800
		_, _, err := e.svc.Submit(ctx, assigned, c, false)
		wantErr(t, err, regie.Conflict, "claim_id_conflict")
		if got := e.remaining(t); got != e.v.Lines[0].MaxAmount-96000 {
			t.Errorf("remaining %s after a conflict", got)
		}
	})

	t.Run("double billing is rejected", func(t *testing.T) {
		e := newEnv(t)
		j0 := e.journal(t, "r1")
		first, _, err := e.svc.Submit(ctx, assigned, e.february(t), false)
		if err != nil {
			t.Fatal(err)
		}
		c := e.february(t)
		c.ClaimID, c.From, c.Units = "feb-2", mustDate(t, "2026-02-15"), 800
		d, _, err := e.svc.Submit(ctx, assigned, c, false)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != settlement.Rejected || d.Reason != settlement.ReasonPeriodOverlap || d.Amount != 0 {
			t.Errorf("overlapping claim = %+v", d)
		}
		c.ClaimID, c.From, c.To = "mar-1", mustDate(t, "2026-03-01"), mustDate(t, "2026-03-14")
		d, _, err = e.svc.Submit(ctx, assigned, c, false)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != settlement.Accepted || d.JournalSeq != first.JournalSeq+1 {
			t.Errorf("next period = %+v, want accepted at seq %d", d, first.JournalSeq+1)
		}
		j := e.journal(t, "r1")
		if len(j) != len(j0)+2 {
			t.Fatalf("journal has %d entries, want %d (rejections are not journalled)", len(j), len(j0)+2)
		}
		prev := ""
		for _, en := range j {
			if err := en.CheckSeal(prev); err != nil {
				t.Error(err)
			}
			prev = en.Hash
		}
	})

	t.Run("the provider is the caller", func(t *testing.T) {
		e := newEnv(t)
		c := e.february(t)
		c.ProviderAGB = "10000001" // 10000002 claims in the name of the assigned provider
		d, _, err := e.svc.Submit(ctx, unassigned, c, false)
		if err != nil {
			t.Fatal(err)
		}
		if d.ProviderAGB != "10000002" {
			t.Errorf("decision names provider %s, want the caller 10000002", d.ProviderAGB)
		}
		if d.Status != settlement.Rejected || d.Reason != settlement.ReasonProviderNotAssigned {
			t.Errorf("decision = %s %s, want rejected provider_not_assigned", d.Status, d.Reason)
		}
		if _, err := e.db.Decision(ctx, "10000001", "feb-1"); regie.ErrorCode(err) != "claim_not_found" {
			t.Errorf("a claim was recorded under the impersonated provider: %v", err)
		}
		if rec, err := e.db.Decision(ctx, "10000002", "feb-1"); err != nil || rec.Status != settlement.Rejected {
			t.Errorf("recorded under the caller: %+v, %v", rec, err)
		}
		if got := e.remaining(t); got != e.v.Lines[0].MaxAmount {
			t.Errorf("remaining %s, want untouched", got)
		}
		// The assigned provider's own claim with the same id is unaffected.
		d, replay, err := e.svc.Submit(ctx, assigned, e.february(t), false)
		if err != nil || replay || d.Status != settlement.Accepted {
			t.Errorf("assigned provider's claim = %+v, %v, %v", d, replay, err)
		}
	})

	t.Run("only providers submit", func(t *testing.T) {
		e := newEnv(t)
		for _, p := range []regie.Principal{
			{Role: regie.RoleClient, Subject: e.v.Subject},
			funderR1,
			{Role: regie.RoleAssessor, Subject: "a", Regions: []string{regie.AllRegions}},
			{Role: regie.RoleAuditor, Subject: "a", Regions: []string{regie.AllRegions}},
			{Role: regie.RoleAdmin, Subject: "10000001"},
			{Subject: "10000001"},
		} {
			c := e.february(t)
			c.ProviderAGB = "10000001"
			d, _, err := e.svc.Submit(ctx, p, c, false)
			wantErr(t, err, regie.Forbidden, "role_forbidden")
			if d.Status != "" {
				t.Errorf("%s got decision %+v", p.Role, d)
			}
		}
		if _, err := e.db.Decision(ctx, "10000001", "feb-1"); regie.ErrorCode(err) != "claim_not_found" {
			t.Errorf("a refused submission was recorded: %v", err)
		}
		if got := e.remaining(t); got != e.v.Lines[0].MaxAmount {
			t.Errorf("remaining %s, want untouched", got)
		}
	})

	t.Run("an invalid claim is an error and is not recorded", func(t *testing.T) {
		e := newEnv(t)
		c := e.february(t)
		c.Units = 0
		_, _, err := e.svc.Submit(ctx, assigned, c, false)
		wantErr(t, err, regie.Invalid, "units_invalid")
		if _, err := e.db.Decision(ctx, "10000001", "feb-1"); regie.ErrorCode(err) != "claim_not_found" {
			t.Errorf("an invalid claim was recorded: %v", err)
		}
	})
}

func TestService_Decision(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	sub, _, err := e.svc.Submit(ctx, assigned, e.february(t), false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Decision(ctx, assigned, "feb-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != sub.Status || got.Amount != sub.Amount || got.ClaimID != "feb-1" {
		t.Errorf("Decision = %+v, want %+v", got, sub)
	}
	_, err = e.svc.Decision(ctx, unassigned, "feb-1")
	wantErr(t, err, regie.NotFound, "claim_not_found")
	_, err = e.svc.Decision(ctx, assigned, "nope")
	wantErr(t, err, regie.NotFound, "claim_not_found")
	_, err = e.svc.Decision(ctx, funderR1, "feb-1")
	wantErr(t, err, regie.Forbidden, "role_forbidden")
}

func TestService_Figures(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tests := []struct {
		name   string
		p      regie.Principal
		region string
		kind   regie.Kind
		code   string
	}{
		{"funder of the region", funderR1, "r1", "", ""},
		{"national funder", regie.Principal{Role: regie.RoleFunder, Subject: "vws", Regions: []string{regie.AllRegions}}, "r2", "", ""},
		{"auditor of the region", regie.Principal{Role: regie.RoleAuditor, Subject: "acc", Regions: []string{"r2"}}, "r2", "", ""},
		{"funder of another region", funderR1, "r2", regie.Forbidden, "scope_forbidden"},
		{"auditor of another region", regie.Principal{Role: regie.RoleAuditor, Subject: "acc", Regions: []string{"r2"}}, "r1", regie.Forbidden, "scope_forbidden"},
		{"funder without scope", regie.Principal{Role: regie.RoleFunder, Subject: "zk"}, "r1", regie.Forbidden, "scope_forbidden"},
		{"provider", assigned, "r1", regie.Forbidden, "role_forbidden"},
		{"client", regie.Principal{Role: regie.RoleClient, Subject: "c"}, "r1", regie.Forbidden, "role_forbidden"},
		{"assessor", regie.Principal{Role: regie.RoleAssessor, Subject: "a", Regions: []string{"r1"}}, "r1", regie.Forbidden, "role_forbidden"},
		{"admin", regie.Principal{Role: regie.RoleAdmin, Subject: "root", Regions: []string{regie.AllRegions}}, "r1", regie.Forbidden, "role_forbidden"},
		{"unknown region", regie.Principal{Role: regie.RoleFunder, Subject: "vws", Regions: []string{regie.AllRegions}}, "r9", regie.NotFound, "region_not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := e.svc.Figures(ctx, tc.p, tc.region)
			if tc.code != "" {
				wantErr(t, err, tc.kind, tc.code)
				if f != (settlement.Figures{}) {
					t.Errorf("Figures returned %+v with an error", f)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Region != tc.region || f.Year != 2026 || f.Remaining != f.Budget-f.Settled {
				t.Errorf("figures = %+v", f)
			}
		})
	}
}

func TestService_Regions(t *testing.T) {
	e := newEnv(t)
	rs, err := e.svc.Regions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].ID != "r1" || rs[1].ID != "r2" || rs[1].Budget != 500_000_00 {
		t.Errorf("Regions = %+v", rs)
	}
}
