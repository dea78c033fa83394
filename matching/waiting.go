package matching

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/voucher"
)

// Urgency is how a client waits for a provider.
type Urgency string

const (
	// Urgent: the client needs care soon and waits for this provider, with
	// bridging care elsewhere if need be (in the Wlz: "urgent" or "actief
	// wachtend"); urgent entries come first on the list.
	Urgent Urgency = "urgent"
	// Preference: the client is cared for, or can wait, and prefers this
	// provider ("wenswachtend").
	Preference Urgency = "preference"
)

// WaitingStatus is where a waiting-list entry is.
type WaitingStatus string

const (
	WaitingOpen      WaitingStatus = "waiting"   // on the list
	WaitingNotified  WaitingStatus = "notified"  // on the list; a place opened since
	WaitingWithdrawn WaitingStatus = "withdrawn" // the client left the list
	WaitingChosen    WaitingStatus = "chosen"    // the client chose the provider
)

// Waiting is a client's place on a provider's waiting list for one product
// line of a voucher.
type Waiting struct {
	ID          string        `json:"id"`
	VoucherID   string        `json:"voucher_id"`
	Product     string        `json:"product"`
	ProviderAGB string        `json:"provider_agb"`
	Subject     string        `json:"client"` // the client's pseudonym, for scope checks
	Region      string        `json:"region"`
	Urgency     Urgency       `json:"urgency"`
	Status      WaitingStatus `json:"status"`
	CreatedAt   time.Time     `json:"created_at"`
	// NotifiedAt is when a place last opened at the provider while the entry
	// was open, and OpenPlaces how many were open then: the notice the
	// client reads.
	NotifiedAt time.Time `json:"notified_at,omitzero"`
	OpenPlaces int       `json:"open_places,omitempty"`
	ClosedAt   time.Time `json:"closed_at,omitzero"`
	// Position is an open entry's place on the provider's list, 1 first. It
	// is worked out when the list is read, and not stored.
	Position int `json:"position,omitempty"`
}

// Open reports whether the entry is still on the list.
func (w *Waiting) Open() bool { return w.Status == WaitingOpen || w.Status == WaitingNotified }

// listOrder is the order of a provider's list: urgent first, then by the
// time of registration, then by id.
func listOrder(a, b *Waiting) int {
	if au, bu := a.Urgency == Urgent, b.Urgency == Urgent; au != bu {
		if au {
			return -1
		}
		return 1
	}
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// WaitRequest is a client's request to wait for a provider.
type WaitRequest struct {
	Product     string  `json:"product"`
	ProviderAGB string  `json:"provider_agb"`
	Urgency     Urgency `json:"urgency"`
}

// Wait puts the client on the waiting list of a provider that has no open
// place, for a product line of its voucher. The provider must be qualified
// today in the voucher's region and offer the product. A client may wait for
// several providers, also while another provider cares for it. When a place
// opens (open places go from 0 to more), every open entry is notified.
// Errors: Forbidden; NotFound "voucher_not_found", "provider_not_found";
// Invalid "voucher_not_active", "product_not_indicated", "urgency_invalid",
// "provider_not_qualified", "product_not_offered"; Conflict
// "provider_has_places", "waiting_active".
func (s *Service) Wait(ctx context.Context, p regie.Principal, voucherID string, req WaitRequest) (*Waiting, error) {
	if err := p.Require(regie.RoleClient); err != nil {
		return nil, err
	}
	v, err := s.Vouchers.Voucher(ctx, p, voucherID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	today := regie.DateOf(now)
	if st := v.StatusAt(today); st != voucher.Active {
		return nil, regie.Errorf(regie.Invalid, "voucher_not_active", "this voucher is %s", st)
	}
	if v.Line(req.Product) == nil {
		return nil, regie.FieldError("product", "product_not_indicated", "product %q is not on this voucher", req.Product)
	}
	if req.Urgency != Urgent && req.Urgency != Preference {
		return nil, regie.FieldError("urgency", "urgency_invalid", "urgency is urgent or preference")
	}
	pr, err := s.Store.Provider(ctx, req.ProviderAGB)
	if err != nil {
		return nil, err
	}
	if !pr.QualifiedIn(v.Region, today) {
		return nil, regie.FieldError("provider_agb", "provider_not_qualified", "this provider is not qualified in region %s", v.Region)
	}
	if pr.Offer(req.Product) == nil {
		return nil, regie.FieldError("product", "product_not_offered", "this provider does not offer %s", req.Product)
	}
	if pr.OpenPlaces > 0 {
		return nil, regie.Errorf(regie.Conflict, "provider_has_places", "this provider has %d open places: choose it instead", pr.OpenPlaces)
	}
	w := &Waiting{
		ID: voucher.NewID("wl"), VoucherID: v.ID, Product: req.Product, ProviderAGB: pr.AGB,
		Subject: v.Subject, Region: v.Region, Urgency: req.Urgency, Status: WaitingOpen,
		CreatedAt: now.UTC().Truncate(time.Second),
	}
	if err := s.Store.CreateWaiting(ctx, w); err != nil {
		return nil, err
	}
	if err := s.position(ctx, []*Waiting{w}); err != nil {
		return nil, err
	}
	return w, nil
}

// WaitingList returns, to a client, every entry on its vouchers (open and
// closed, oldest first, open ones with their position); to a provider, the
// open entries on its list in list order: urgent first, then oldest.
// Errors: Forbidden "role_forbidden".
func (s *Service) WaitingList(ctx context.Context, p regie.Principal) ([]*Waiting, error) {
	switch p.Role {
	case regie.RoleProvider:
		all, err := s.Store.WaitingByProvider(ctx, p.Subject)
		if err != nil {
			return nil, err
		}
		out := slices.DeleteFunc(all, func(w *Waiting) bool { return !w.Open() })
		slices.SortStableFunc(out, listOrder)
		for i, w := range out {
			w.Position = i + 1
		}
		return out, nil
	case regie.RoleClient:
		out, err := s.clientWaiting(ctx, p, "")
		if err != nil {
			return nil, err
		}
		return out, s.position(ctx, out)
	}
	return nil, p.Require(regie.RoleClient, regie.RoleProvider)
}

// clientWaiting returns the entries on the client's vouchers, or on one of
// them, oldest first.
func (s *Service) clientWaiting(ctx context.Context, p regie.Principal, voucherID string) ([]*Waiting, error) {
	ids, err := s.clientVoucherIDs(ctx, p, voucherID)
	if err != nil {
		return nil, err
	}
	var out []*Waiting
	for _, id := range ids {
		ws, err := s.Store.WaitingByVoucher(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, ws...)
	}
	slices.SortStableFunc(out, func(a, b *Waiting) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// clientVoucherIDs returns the ids of the client's vouchers, or just
// voucherID after checking that the client may read it.
func (s *Service) clientVoucherIDs(ctx context.Context, p regie.Principal, voucherID string) ([]string, error) {
	if voucherID != "" {
		v, err := s.Vouchers.Voucher(ctx, p, voucherID)
		if err != nil {
			return nil, err
		}
		return []string{v.ID}, nil
	}
	vs, err := s.Vouchers.ClientVouchers(ctx, p)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(vs))
	for _, v := range vs {
		ids = append(ids, v.ID)
	}
	return ids, nil
}

// position sets the Position of every open entry in ws from its provider's list.
func (s *Service) position(ctx context.Context, ws []*Waiting) error {
	lists := make(map[string][]*Waiting)
	for _, w := range ws {
		if !w.Open() {
			continue
		}
		list, ok := lists[w.ProviderAGB]
		if !ok {
			all, err := s.Store.WaitingByProvider(ctx, w.ProviderAGB)
			if err != nil {
				return err
			}
			list = slices.DeleteFunc(all, func(x *Waiting) bool { return !x.Open() })
			slices.SortStableFunc(list, listOrder)
			lists[w.ProviderAGB] = list
		}
		w.Position = slices.IndexFunc(list, func(x *Waiting) bool { return x.ID == w.ID }) + 1
	}
	return nil
}

// Withdraw takes the client's entry off the waiting list. Errors: Forbidden;
// NotFound "waiting_not_found"; Conflict "waiting_closed".
func (s *Service) Withdraw(ctx context.Context, p regie.Principal, id string) (*Waiting, error) {
	if err := p.Require(regie.RoleClient); err != nil {
		return nil, err
	}
	w, err := s.Store.WaitingEntry(ctx, id)
	if err != nil {
		return nil, err
	}
	if w.Subject != p.Subject {
		return nil, regie.Errorf(regie.Forbidden, "scope_forbidden", "this entry is another client's")
	}
	return s.Store.CloseWaiting(ctx, id, WaitingWithdrawn, s.now().UTC().Truncate(time.Second))
}

// Event is one step in the history of a client's choices.
type Event struct {
	At time.Time `json:"at"`
	// Event is one of choice_requested, choice_accepted, choice_declined,
	// choice_lapsed, waiting_registered, waiting_notified,
	// waiting_withdrawn, waiting_chosen.
	Event        string     `json:"event"`
	VoucherID    string     `json:"voucher_id"`
	Product      string     `json:"product"`
	ProviderAGB  string     `json:"provider_agb"`
	ProviderName string     `json:"provider_name,omitempty"`
	ChoiceID     string     `json:"choice_id,omitempty"`
	WaitingID    string     `json:"waiting_id,omitempty"`
	From         regie.Date `json:"from,omitzero"`
	To           regie.Date `json:"to,omitzero"`
	Urgency      Urgency    `json:"urgency,omitempty"`
	Reason       string     `json:"reason,omitempty"`
	OpenPlaces   int        `json:"open_places,omitempty"`
}

// History returns the history of the client's choices, on all its vouchers or
// on one: every choice made and how the provider answered (or that it
// lapsed), every wait and its notice and end, oldest first. Errors:
// Forbidden; NotFound "voucher_not_found".
func (s *Service) History(ctx context.Context, p regie.Principal, voucherID string) ([]Event, error) {
	if err := p.Require(regie.RoleClient); err != nil {
		return nil, err
	}
	ids, err := s.clientVoucherIDs(ctx, p, voucherID)
	if err != nil {
		return nil, err
	}
	var choices []*Choice
	for _, id := range ids {
		cs, err := s.Store.ChoicesByVoucher(ctx, id)
		if err != nil {
			return nil, err
		}
		choices = append(choices, cs...)
	}
	if choices, err = s.lapse(ctx, choices); err != nil {
		return nil, err
	}
	waiting, err := s.clientWaiting(ctx, p, voucherID)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string)
	name := func(agb string) (string, error) {
		if n, ok := names[agb]; ok {
			return n, nil
		}
		pr, err := s.Store.Provider(ctx, agb)
		if regie.ErrorKind(err) == regie.NotFound {
			err = nil
		} else if err == nil {
			names[agb] = pr.Name
		}
		return names[agb], err
	}
	var out []Event
	add := func(e Event) error {
		n, err := name(e.ProviderAGB)
		e.ProviderName = n
		out = append(out, e)
		return err
	}
	for _, c := range choices {
		base := Event{VoucherID: c.VoucherID, Product: c.Product, ProviderAGB: c.ProviderAGB, ChoiceID: c.ID}
		e := base
		e.At, e.Event, e.From, e.To = c.CreatedAt, "choice_requested", c.From, c.To
		if err := add(e); err != nil {
			return nil, err
		}
		if c.Status != Requested && !c.DecidedAt.IsZero() {
			e := base
			e.At, e.Event, e.Reason = c.DecidedAt, "choice_"+string(c.Status), c.Reason
			if err := add(e); err != nil {
				return nil, err
			}
		}
	}
	for _, w := range waiting {
		base := Event{VoucherID: w.VoucherID, Product: w.Product, ProviderAGB: w.ProviderAGB, WaitingID: w.ID}
		e := base
		e.At, e.Event, e.Urgency = w.CreatedAt, "waiting_registered", w.Urgency
		if err := add(e); err != nil {
			return nil, err
		}
		if !w.NotifiedAt.IsZero() {
			e := base
			e.At, e.Event, e.OpenPlaces = w.NotifiedAt, "waiting_notified", w.OpenPlaces
			if err := add(e); err != nil {
				return nil, err
			}
		}
		if !w.Open() && !w.ClosedAt.IsZero() {
			e := base
			e.At, e.Event = w.ClosedAt, "waiting_"+string(w.Status)
			if err := add(e); err != nil {
				return nil, err
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Event) int { return cmp.Compare(a.At.UnixNano(), b.At.UnixNano()) })
	if out == nil {
		out = []Event{}
	}
	return out, nil
}
