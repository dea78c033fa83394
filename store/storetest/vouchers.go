package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/voucher"
)

// diffVoucher describes how two vouchers differ, or returns "".
func diffVoucher(got, want *voucher.Voucher) string {
	if got == nil || want == nil {
		if got != want {
			return fmt.Sprintf("got %+v, want %+v", got, want)
		}
		return ""
	}
	g, w := *got, *want
	if !g.IssuedAt.Equal(w.IssuedAt) {
		return fmt.Sprintf("IssuedAt %v, want %v", g.IssuedAt, w.IssuedAt)
	}
	g.IssuedAt = w.IssuedAt
	if !reflect.DeepEqual(g, w) {
		return fmt.Sprintf("got %+v\nwant %+v", g, w)
	}
	return ""
}

func testVouchers(t *testing.T, o Opener) {
	t.Run("create and read back", func(t *testing.T) {
		s := o.fresh(t)
		ctx := t.Context()
		f := NewFixture("a")
		want := f.NewVoucher("v-1")
		// Live figures are returned as stored.
		want.Lines[0].Remaining -= 1234
		want.Lines[0].UnitsClaimed, want.Lines[0].ClaimedThrough = 250, Day(12)
		must(t, s.CreateVoucher(ctx, want, "header.payload.sig"), "CreateVoucher")
		got, err := s.Voucher(ctx, "v-1")
		must(t, err, "Voucher")
		if d := diffVoucher(got, want); d != "" {
			t.Fatalf("Voucher: %s", d)
		}
		tok, err := s.VoucherToken(ctx, "v-1")
		must(t, err, "VoucherToken")
		if tok != "header.payload.sig" {
			t.Fatalf("VoucherToken = %q", tok)
		}
		// What the store returns is a copy: changing it changes nothing stored.
		got.Lines[0].Remaining = 0
		got.State = voucher.Revoked
		again, err := s.Voucher(ctx, "v-1")
		must(t, err, "Voucher")
		if d := diffVoucher(again, want); d != "" {
			t.Fatalf("Voucher after changing a returned copy: %s", d)
		}
	})

	t.Run("unknown id", func(t *testing.T) {
		s := o.fresh(t)
		ctx := t.Context()
		_, err := s.Voucher(ctx, "v-missing")
		wantErr(t, err, regie.NotFound, "voucher_not_found")
		_, err = s.VoucherToken(ctx, "v-missing")
		wantErr(t, err, regie.NotFound, "voucher_not_found")
		_, err = s.SetVoucherState(ctx, "v-missing", voucher.Suspended)
		wantErr(t, err, regie.NotFound, "voucher_not_found")
	})

	t.Run("duplicate id is a conflict and changes nothing", func(t *testing.T) {
		s := o.fresh(t)
		ctx := t.Context()
		f := NewFixture("a")
		first := f.NewVoucher("v-1")
		must(t, s.CreateVoucher(ctx, first, "token-1"), "CreateVoucher")
		other := NewFixture("b").NewVoucher("v-1") // another subject and region
		err := s.CreateVoucher(ctx, other, "token-2")
		wantErr(t, err, regie.Conflict, "voucher_exists")
		got, err := s.Voucher(ctx, "v-1")
		must(t, err, "Voucher")
		if d := diffVoucher(got, first); d != "" {
			t.Fatalf("Voucher after a refused duplicate: %s", d)
		}
		if tok, _ := s.VoucherToken(ctx, "v-1"); tok != "token-1" {
			t.Fatalf("VoucherToken after a refused duplicate = %q", tok)
		}
		bySubject, err := s.VouchersBySubject(ctx, other.Subject)
		must(t, err, "VouchersBySubject")
		if len(bySubject) != 0 {
			t.Fatalf("the refused voucher's subject has %d vouchers, want 0", len(bySubject))
		}
		bySubject, err = s.VouchersBySubject(ctx, first.Subject)
		must(t, err, "VouchersBySubject")
		if len(bySubject) != 1 {
			t.Fatalf("the first voucher's subject has %d vouchers, want 1", len(bySubject))
		}
	})

	t.Run("by subject, oldest first", func(t *testing.T) {
		s := o.fresh(t)
		ctx := t.Context()
		f := NewFixture("a")
		base := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
		// Ids sort opposite to issue times, so that neither id order nor
		// insertion order gives the right answer by accident.
		issued := map[string]time.Time{
			"v-c": base, "v-a": base.Add(48 * time.Hour), "v-d": base.Add(24 * time.Hour), "v-b": base.Add(72 * time.Hour),
		}
		for _, id := range []string{"v-a", "v-d", "v-b", "v-c"} {
			v := f.NewVoucher(id)
			v.Subject = "subj-x"
			v.IssuedAt = issued[id]
			must(t, s.CreateVoucher(ctx, v, "t"), "CreateVoucher")
		}
		// Subjects that share a prefix with subj-x, and an id that sorts in between.
		for _, sv := range []struct{ id, subject string }{{"v-e", "subj-xy"}, {"v-f", "subj-"}, {"v-bb", "subj-y"}} {
			v := f.NewVoucher(sv.id)
			v.Subject = sv.subject
			must(t, s.CreateVoucher(ctx, v, "t"), "CreateVoucher")
		}
		got, err := s.VouchersBySubject(ctx, "subj-x")
		must(t, err, "VouchersBySubject")
		var ids []string
		for _, v := range got {
			ids = append(ids, v.ID)
			if v.Subject != "subj-x" {
				t.Errorf("voucher %s has subject %q", v.ID, v.Subject)
			}
			if len(v.Lines) != 2 || v.Lines[0].Remaining != v.Lines[0].MaxAmount {
				t.Errorf("voucher %s came back without its lines: %+v", v.ID, v.Lines)
			}
		}
		if want := []string{"v-c", "v-d", "v-a", "v-b"}; !slices.Equal(ids, want) {
			t.Fatalf("VouchersBySubject = %v, want %v", ids, want)
		}
		none, err := s.VouchersBySubject(ctx, "subj-nobody")
		must(t, err, "VouchersBySubject")
		if len(none) != 0 {
			t.Fatalf("VouchersBySubject of an unknown subject = %d vouchers", len(none))
		}
	})

	t.Run("state changes", func(t *testing.T) {
		s, f := o.withFixture(t, "a")
		ctx := t.Context()
		id := f.Voucher.ID
		// A settlement first, so that a state change must keep the live balance.
		d, _, err := s.Settle(ctx, f.Claim("c-1", Day(3)), f.Now)
		must(t, err, "Settle")
		if d.Status != "accepted" {
			t.Fatalf("claim %s: %s %s", d.ClaimID, d.Status, d.Reason)
		}
		before, err := s.Voucher(ctx, id)
		must(t, err, "Voucher")

		for _, st := range []voucher.Status{voucher.Suspended, voucher.Active, voucher.Suspended, voucher.Revoked} {
			got, err := s.SetVoucherState(ctx, id, st)
			must(t, err, fmt.Sprintf("SetVoucherState %s", st))
			want := *before
			want.State = st
			if d := diffVoucher(got, &want); d != "" {
				t.Fatalf("SetVoucherState %s returned %s", st, d)
			}
			stored, err := s.Voucher(ctx, id)
			must(t, err, "Voucher")
			if d := diffVoucher(stored, &want); d != "" {
				t.Fatalf("after SetVoucherState %s: %s", st, d)
			}
		}
		for _, st := range []voucher.Status{voucher.Active, voucher.Suspended} {
			_, err := s.SetVoucherState(ctx, id, st)
			wantErr(t, err, regie.Conflict, "voucher_revoked")
			v, err := s.Voucher(ctx, id)
			must(t, err, "Voucher")
			if v.State != voucher.Revoked {
				t.Fatalf("after a refused change to %s the state is %s, want revoked", st, v.State)
			}
		}
	})
}

func testTariffs(t *testing.T, o Opener) {
	s := o.fresh(t)
	ctx := t.Context()
	empty, err := s.Tariffs(ctx)
	must(t, err, "Tariffs")
	if len(empty) != 0 {
		t.Fatalf("Tariffs of an empty store = %v", empty)
	}
	table := NewFixture("a").Tariffs
	for _, i := range []int{2, 0, 1} { // not in product order
		must(t, s.PutTariff(ctx, table[i]), "PutTariff")
	}
	want := slices.Clone(table)
	slices.SortFunc(want, func(a, b voucher.Tariff) int {
		if a.Product < b.Product {
			return -1
		}
		if a.Product > b.Product {
			return 1
		}
		return 0
	})
	got, err := s.Tariffs(ctx)
	must(t, err, "Tariffs")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Tariffs = %+v\nwant %+v", got, want)
	}
	// Replacing a tariff keeps one row per product.
	changed := table[0]
	changed.MaxPrice, changed.Name = changed.MaxPrice+100, "renamed"
	must(t, s.PutTariff(ctx, changed), "PutTariff")
	got, err = s.Tariffs(ctx)
	must(t, err, "Tariffs")
	for i := range want {
		if want[i].Product == changed.Product {
			want[i] = changed
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Tariffs after a replacement = %+v\nwant %+v", got, want)
	}
}
