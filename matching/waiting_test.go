package matching_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/voucher"
)

// full is a qualified provider in r1 with no open place.
func full(agb string) *matching.Provider {
	p := provider(agb, 1, 8)
	p.OpenPlaces = 0
	return p
}

// secondClient issues another voucher in r1, to another client.
func (e *env) secondClient(t *testing.T) (*voucher.Voucher, regie.Principal) {
	t.Helper()
	v, _, err := e.vouchers.Issue(context.Background(), regie.Principal{Role: regie.RoleAssessor, Subject: "a", Regions: []string{"r1"}}, voucher.Indication{
		BSN: "111222333", Law: voucher.Wmo, Region: "r1",
		Lines:     []voucher.IndicationLine{{Product: "H300", UnitsPerWeek: 400}},
		ValidFrom: mustDate(t, "2026-01-01"), ValidTo: mustDate(t, "2026-12-31"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return v, regie.Principal{Role: regie.RoleClient, Subject: v.Subject}
}

func TestService_Wait(t *testing.T) {
	ctx := context.Background()
	wait := func(e *env, who regie.Principal, voucherID, agb string, u matching.Urgency) (*matching.Waiting, error) {
		return e.svc.Wait(ctx, who, voucherID, matching.WaitRequest{Product: "H300", ProviderAGB: agb, Urgency: u})
	}

	t.Run("registers, urgent first on the list", func(t *testing.T) {
		e := newEnv(t)
		e.put(t, full("10000001"))
		v2, client2 := e.secondClient(t)
		first, err := wait(e, e.client, e.v.ID, "10000001", matching.Preference)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(first.ID, "wl") || first.Status != matching.WaitingOpen || first.Position != 1 || first.Region != "r1" ||
			first.Subject != e.v.Subject || !first.CreatedAt.Equal(e.now.Truncate(time.Second)) {
			t.Errorf("entry %+v", first)
		}
		e.now = e.now.Add(time.Hour)
		urgent, err := wait(e, client2, v2.ID, "10000001", matching.Urgent)
		if err != nil {
			t.Fatal(err)
		}
		if urgent.Position != 1 {
			t.Errorf("an urgent entry is at %d, want 1", urgent.Position)
		}
		list, err := e.svc.WaitingList(ctx, self("10000001"))
		if err != nil || len(list) != 2 || list[0].ID != urgent.ID || list[1].ID != first.ID || list[1].Position != 2 {
			t.Errorf("provider's list %+v, %v", list, err)
		}
		mine, err := e.svc.WaitingList(ctx, e.client)
		if err != nil || len(mine) != 1 || mine[0].Position != 2 {
			t.Errorf("client's list %+v, %v", mine, err)
		}
		if other, _ := e.svc.WaitingList(ctx, self("10000002")); len(other) != 0 {
			t.Errorf("another provider sees %d entries", len(other))
		}
		_, err = e.svc.WaitingList(ctx, funderR1)
		wantErr(t, err, regie.Forbidden, "role_forbidden")
	})

	for _, tc := range []struct {
		name    string
		who     func(e *env) regie.Principal
		voucher string
		req     matching.WaitRequest
		kind    regie.Kind
		code    string
	}{
		{"provider", func(*env) regie.Principal { return self("10000001") }, "", matching.WaitRequest{Product: "H300", ProviderAGB: "10000001", Urgency: matching.Urgent}, regie.Forbidden, "role_forbidden"},
		{"another client", func(*env) regie.Principal { return regie.Principal{Role: regie.RoleClient, Subject: "cother"} }, "", matching.WaitRequest{Product: "H300", ProviderAGB: "10000001", Urgency: matching.Urgent}, regie.Forbidden, "scope_forbidden"},
		{"unknown voucher", nil, "vnope", matching.WaitRequest{Product: "H300", ProviderAGB: "10000001", Urgency: matching.Urgent}, regie.NotFound, "voucher_not_found"},
		{"product not indicated", nil, "", matching.WaitRequest{Product: "VV04", ProviderAGB: "10000001", Urgency: matching.Urgent}, regie.Invalid, "product_not_indicated"},
		{"no urgency", nil, "", matching.WaitRequest{Product: "H300", ProviderAGB: "10000001"}, regie.Invalid, "urgency_invalid"},
		{"unknown urgency", nil, "", matching.WaitRequest{Product: "H300", ProviderAGB: "10000001", Urgency: "asap"}, regie.Invalid, "urgency_invalid"},
		{"unknown provider", nil, "", matching.WaitRequest{Product: "H300", ProviderAGB: "99999999", Urgency: matching.Urgent}, regie.NotFound, "provider_not_found"},
		{"unqualified provider", nil, "", matching.WaitRequest{Product: "H300", ProviderAGB: "20000001", Urgency: matching.Urgent}, regie.Invalid, "provider_not_qualified"},
		{"product not offered", nil, "", matching.WaitRequest{Product: "H531", ProviderAGB: "10000001", Urgency: matching.Urgent}, regie.Invalid, "product_not_offered"},
		{"provider has places", nil, "", matching.WaitRequest{Product: "H300", ProviderAGB: "10000003", Urgency: matching.Urgent}, regie.Conflict, "provider_has_places"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			unqualified := full("20000001")
			unqualified.Qualified = false
			open := provider("10000003", 1, 0)
			open.OpenPlaces = 2
			e.put(t, full("10000001"), unqualified, open)
			who := e.client
			if tc.who != nil {
				who = tc.who(e)
			}
			id := e.v.ID
			if tc.voucher != "" {
				id = tc.voucher
			}
			_, err := e.svc.Wait(ctx, who, id, tc.req)
			wantErr(t, err, tc.kind, tc.code)
			if ws, _ := e.db.WaitingByVoucher(ctx, e.v.ID); len(ws) != 0 {
				t.Errorf("a refused request stored %d entries", len(ws))
			}
		})
	}

	t.Run("once per provider and line", func(t *testing.T) {
		e := newEnv(t)
		e.put(t, full("10000001"), full("10000002"))
		w, err := wait(e, e.client, e.v.ID, "10000001", matching.Urgent)
		if err != nil {
			t.Fatal(err)
		}
		_, err = wait(e, e.client, e.v.ID, "10000001", matching.Preference)
		wantErr(t, err, regie.Conflict, "waiting_active")
		if _, err := wait(e, e.client, e.v.ID, "10000002", matching.Preference); err != nil {
			t.Errorf("waiting for a second provider: %v", err)
		}
		// Withdrawn: free to wait again.
		got, err := e.svc.Withdraw(ctx, e.client, w.ID)
		if err != nil || got.Status != matching.WaitingWithdrawn || got.ClosedAt.IsZero() {
			t.Fatalf("Withdraw = %+v, %v", got, err)
		}
		_, err = e.svc.Withdraw(ctx, e.client, w.ID)
		wantErr(t, err, regie.Conflict, "waiting_closed")
		if _, err := wait(e, e.client, e.v.ID, "10000001", matching.Preference); err != nil {
			t.Errorf("waiting again after withdrawing: %v", err)
		}
	})

	t.Run("withdraw errors", func(t *testing.T) {
		e := newEnv(t)
		e.put(t, full("10000001"))
		w, err := wait(e, e.client, e.v.ID, "10000001", matching.Urgent)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Withdraw(ctx, regie.Principal{Role: regie.RoleClient, Subject: "cother"}, w.ID)
		wantErr(t, err, regie.Forbidden, "scope_forbidden")
		_, err = e.svc.Withdraw(ctx, self("10000001"), w.ID)
		wantErr(t, err, regie.Forbidden, "role_forbidden")
		_, err = e.svc.Withdraw(ctx, e.client, "wlnope")
		wantErr(t, err, regie.NotFound, "waiting_not_found")
	})

	t.Run("notified when a place opens", func(t *testing.T) {
		e := newEnv(t).withIndex(t)
		in := profile("87654321")
		in.OpenPlaces = 0
		p := e.register(t, in)
		e.qualify(t, p.AGB, "r1", funderR1, mustDate(t, "2026-12-31"))
		v2, client2 := e.secondClient(t)
		a, err := wait(e, e.client, e.v.ID, p.AGB, matching.Preference)
		if err != nil {
			t.Fatal(err)
		}
		b, err := wait(e, client2, v2.ID, p.AGB, matching.Urgent)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Withdraw(ctx, client2, b.ID); err != nil {
			t.Fatal(err)
		}
		// Waiting weeks change, no place: nobody is notified.
		if _, err := e.svc.SetAvailability(ctx, self(p.AGB), p.AGB, 0, 3); err != nil {
			t.Fatal(err)
		}
		if w, _ := e.db.WaitingEntry(ctx, a.ID); w.Status != matching.WaitingOpen {
			t.Fatalf("notified without a place: %+v", w)
		}
		e.now = e.now.Add(48 * time.Hour)
		if _, err := e.svc.SetAvailability(ctx, self(p.AGB), p.AGB, 2, 0); err != nil {
			t.Fatal(err)
		}
		mine, err := e.svc.WaitingList(ctx, e.client)
		if err != nil || len(mine) != 1 {
			t.Fatalf("WaitingList = %v, %v", mine, err)
		}
		if w := mine[0]; w.Status != matching.WaitingNotified || !w.NotifiedAt.Equal(e.now.Truncate(time.Second)) || w.OpenPlaces != 2 || w.Position != 1 {
			t.Errorf("entry after a place opened %+v", w)
		}
		if w, _ := e.db.WaitingEntry(ctx, b.ID); w.Status != matching.WaitingWithdrawn || !w.NotifiedAt.IsZero() {
			t.Errorf("a withdrawn entry was notified: %+v", w)
		}
		// More places: no second notice. Full, then a place again: notified again.
		notifiedAt := e.now.Truncate(time.Second)
		e.now = e.now.Add(time.Hour)
		if _, err := e.svc.SetAvailability(ctx, self(p.AGB), p.AGB, 3, 0); err != nil {
			t.Fatal(err)
		}
		if w, _ := e.db.WaitingEntry(ctx, a.ID); !w.NotifiedAt.Equal(notifiedAt) {
			t.Errorf("notified again on 2 → 3 places: %+v", w)
		}
		if _, err := e.svc.SetAvailability(ctx, self(p.AGB), p.AGB, 0, 4); err != nil {
			t.Fatal(err)
		}
		in.OpenPlaces = 1
		e.now = e.now.Add(time.Hour)
		if _, err := e.svc.UpdateProfile(ctx, self(p.AGB), p.AGB, in); err != nil {
			t.Fatal(err)
		}
		if w, _ := e.db.WaitingEntry(ctx, a.ID); !w.NotifiedAt.Equal(e.now.Truncate(time.Second)) || w.OpenPlaces != 1 {
			t.Errorf("not notified through a profile update: %+v", w)
		}
		// Choosing the provider takes the client off the list.
		if _, err := e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H300", ProviderAGB: p.AGB}); err != nil {
			t.Fatal(err)
		}
		if w, _ := e.db.WaitingEntry(ctx, a.ID); w.Status != matching.WaitingChosen {
			t.Errorf("entry after choosing %+v", w)
		}
		if list, _ := e.svc.WaitingList(ctx, self(p.AGB)); len(list) != 0 {
			t.Errorf("the provider's list still has %d entries", len(list))
		}
	})
}

func TestService_Lapse(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*env, *matching.Choice) {
		e := newEnv(t)
		e.put(t, provider("10000001", 1, 0), provider("10000002", 1, 0))
		c, err := e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000001"})
		if err != nil {
			t.Fatal(err)
		}
		return e, c
	}

	t.Run("the deadline", func(t *testing.T) {
		e, c := setup(t)
		if want := c.CreatedAt.Add(7 * 24 * time.Hour); !c.AnswerBy.Equal(want) {
			t.Errorf("AnswerBy %v, want %v", c.AnswerBy, want)
		}
		other := provider("10000003", 1, 0)
		other.Offers = []matching.Offer{{Product: "H531", Tariff: 4000}}
		e.put(t, other)
		e.svc.AnswerDays = 2
		c2, err := e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H531", ProviderAGB: "10000003"})
		if err != nil {
			t.Fatal(err)
		}
		if want := c2.CreatedAt.Add(48 * time.Hour); !c2.AnswerBy.Equal(want) {
			t.Errorf("AnswerBy with AnswerDays 2: %v, want %v", c2.AnswerBy, want)
		}
	})

	t.Run("answered on the last second", func(t *testing.T) {
		e, c := setup(t)
		e.now = c.AnswerBy
		if _, err := e.svc.Decide(ctx, self("10000001"), c.ID, true, ""); err != nil {
			t.Errorf("accept at the deadline: %v", err)
		}
	})

	t.Run("lapses after the deadline", func(t *testing.T) {
		e, c := setup(t)
		e.now = c.AnswerBy.Add(time.Second)
		_, err := e.svc.Decide(ctx, self("10000001"), c.ID, true, "")
		wantErr(t, err, regie.Conflict, "choice_lapsed")
		stored, _ := e.db.Choice(ctx, c.ID)
		if stored.Status != matching.Lapsed || !stored.DecidedAt.Equal(c.AnswerBy) {
			t.Errorf("stored %+v", stored)
		}
		_, err = e.svc.Decide(ctx, self("10000001"), c.ID, false, "te laat")
		wantErr(t, err, regie.Conflict, "choice_decided")
		// The provider no longer sees the voucher; the client may choose again.
		_, err = e.vouchers.Voucher(ctx, self("10000001"), e.v.ID)
		wantErr(t, err, regie.Forbidden, "scope_forbidden")
		if _, err := e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000002"}); err != nil {
			t.Errorf("choosing again: %v", err)
		}
	})

	t.Run("recorded when the lists are read", func(t *testing.T) {
		for _, who := range []string{"client", "provider"} {
			e, c := setup(t)
			e.now = c.AnswerBy.Add(time.Minute)
			p := e.client
			if who == "provider" {
				p = self("10000001")
			}
			cs, err := e.svc.Choices(ctx, p)
			if err != nil || len(cs) != 1 || cs[0].Status != matching.Lapsed {
				t.Errorf("%s's Choices = %+v, %v", who, cs, err)
			}
			if stored, _ := e.db.Choice(ctx, c.ID); stored.Status != matching.Lapsed {
				t.Errorf("%s's Choices did not record the lapse: %s", who, stored.Status)
			}
		}
	})

	t.Run("a new choice on the line records the lapse", func(t *testing.T) {
		e, c := setup(t)
		e.now = c.AnswerBy.Add(time.Hour)
		if _, err := e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000002"}); err != nil {
			t.Fatal(err)
		}
		if stored, _ := e.db.Choice(ctx, c.ID); stored.Status != matching.Lapsed || !stored.DecidedAt.Equal(c.AnswerBy) {
			t.Errorf("old choice %+v", stored)
		}
	})
}

func TestService_History(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.put(t, provider("10000001", 1, 0), full("10000002"), provider("10000003", 2, 0))
	t0 := e.now.Truncate(time.Second)
	first, err := e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000001"})
	if err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(time.Hour)
	if _, err := e.svc.Decide(ctx, self("10000001"), first.ID, false, "team vol"); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(time.Hour)
	w, err := e.svc.Wait(ctx, e.client, e.v.ID, matching.WaitRequest{Product: "H300", ProviderAGB: "10000002", Urgency: matching.Urgent})
	if err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(time.Hour)
	second, err := e.svc.Choose(ctx, e.client, e.v.ID, matching.ChoiceRequest{Product: "H300", ProviderAGB: "10000003"})
	if err != nil {
		t.Fatal(err)
	}
	e.now = second.AnswerBy.Add(time.Hour) // the second lapses
	events, err := e.svc.History(ctx, e.client, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range events {
		got = append(got, ev.Event+" "+ev.ProviderAGB+" "+ev.At.Sub(t0).String())
	}
	want := []string{
		"choice_requested 10000001 0s",
		"choice_declined 10000001 1h0m0s",
		"waiting_registered 10000002 2h0m0s",
		"choice_requested 10000003 3h0m0s",
		"choice_lapsed 10000003 171h0m0s",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if events[1].Reason != "team vol" || events[0].ProviderName != "Zorg 10000001" || events[2].Urgency != matching.Urgent || events[2].WaitingID != w.ID ||
		events[0].From != e.v.ValidFrom || events[0].ChoiceID != first.ID {
		t.Errorf("events %+v", events)
	}
	one, err := e.svc.History(ctx, e.client, e.v.ID)
	if err != nil || len(one) != len(events) {
		t.Errorf("History of one voucher = %d events, %v", len(one), err)
	}
	_, err = e.svc.History(ctx, regie.Principal{Role: regie.RoleClient, Subject: "cother"}, e.v.ID)
	wantErr(t, err, regie.Forbidden, "scope_forbidden")
	_, err = e.svc.History(ctx, self("10000001"), "")
	wantErr(t, err, regie.Forbidden, "role_forbidden")
	if none, err := e.svc.History(ctx, regie.Principal{Role: regie.RoleClient, Subject: "cother"}, ""); err != nil || none == nil || len(none) != 0 {
		t.Errorf("another client's history = %v, %v", none, err)
	}
}
