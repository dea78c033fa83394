// Package matching is where a client finds and chooses care: the providers and
// what they offer, the search for qualifying providers near a place, and the
// lifecycle of a choice (requested, accepted or declined by the provider).
//
// An accepted choice is an assignment: it lets the provider claim for that
// product of the voucher from its start date on.
package matching

import (
	"context"
	"slices"
	"time"

	"github.com/regie-nl/regie"
)

// Provider is a care provider, identified by its 8-digit AGB code.
type Provider struct {
	AGB         string     `json:"agb"`
	KvK         string     `json:"kvk"`
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	Locations   []Location `json:"locations"`
	Offers      []Offer    `json:"offers"`
	// Regions are the budget regions in which the provider is qualified.
	Regions []string `json:"regions"`
	// Qualified is false while a funder's criteria are not met; an unqualified
	// provider is not found in search, gets no choices and cannot claim.
	Qualified    bool     `json:"qualified"`
	Languages    []string `json:"languages,omitempty"`
	Expertise    []string `json:"expertise,omitempty"`
	Settings     []string `json:"settings,omitempty"`
	TeamSize     int      `json:"team_size,omitempty"`
	OpenPlaces   int      `json:"open_places"`
	WaitingWeeks int      `json:"waiting_weeks"`
}

// Location is a place where a provider delivers care.
type Location struct {
	Name string  `json:"name,omitempty"`
	City string  `json:"city"`
	Lat  float64 `json:"lat"`
	Lon  float64 `json:"lon"`
}

// Offer is a product a provider delivers, at its own tariff per unit (never
// above the maximum tariff).
type Offer struct {
	Product string      `json:"product"`
	Tariff  regie.Cents `json:"tariff"`
}

// QualifiedIn reports whether the provider is qualified in region on the given
// day: it may then be found, chosen, and paid for care on that day.
func (p *Provider) QualifiedIn(region string, on regie.Date) bool {
	return p.Qualified && slices.Contains(p.Regions, region)
}

// Offer returns the provider's offer of product, or nil.
func (p *Provider) Offer(product string) *Offer {
	for i := range p.Offers {
		if p.Offers[i].Product == product {
			return &p.Offers[i]
		}
	}
	return nil
}

// ChoiceStatus is where a choice is in its lifecycle.
type ChoiceStatus string

const (
	Requested ChoiceStatus = "requested" // the client chose; the provider has not answered
	Accepted  ChoiceStatus = "accepted"  // an assignment: the provider may claim
	Declined  ChoiceStatus = "declined"  // the provider said no, with a reason
)

// Choice is a client's choice of a provider for one product line of a voucher.
type Choice struct {
	ID          string       `json:"id"`
	VoucherID   string       `json:"voucher_id"`
	Product     string       `json:"product"`
	ProviderAGB string       `json:"provider_agb"`
	Subject     string       `json:"client"` // the client's pseudonym, for scope checks
	Region      string       `json:"region"`
	Status      ChoiceStatus `json:"status"`
	// From is the first day of care; To the last, or zero while open-ended.
	From      regie.Date `json:"from"`
	To        regie.Date `json:"to"`
	Reason    string     `json:"reason,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	DecidedAt time.Time  `json:"decided_at,omitzero"`
}

// Covers reports whether the choice is an assignment for the whole period.
func (c *Choice) Covers(from, to regie.Date) bool {
	return c.Status == Accepted && c.From <= from && (c.To.IsZero() || to <= c.To)
}

// Store persists providers and choices.
type Store interface {
	// PutProvider creates or replaces a provider.
	PutProvider(ctx context.Context, p *Provider) error

	// Provider returns one provider. Returns NotFound "provider_not_found".
	Provider(ctx context.Context, agb string) (*Provider, error)

	// Providers returns every provider, ordered by AGB code.
	Providers(ctx context.Context) ([]*Provider, error)

	// CreateChoice stores a new choice unless the voucher already has a
	// requested or accepted choice for the same product: Conflict "choice_active".
	// Returns Conflict "choice_exists" when the id is taken.
	CreateChoice(ctx context.Context, c *Choice) error

	// Choice returns one choice. Returns NotFound "choice_not_found".
	Choice(ctx context.Context, id string) (*Choice, error)

	// DecideChoice moves a requested choice to Accepted or Declined, atomically.
	// Returns NotFound "choice_not_found"; Conflict "choice_decided" when the
	// choice is no longer requested.
	DecideChoice(ctx context.Context, id string, to ChoiceStatus, reason string, at time.Time) (*Choice, error)

	// ChoicesByVoucher returns the choices of one voucher, oldest first.
	ChoicesByVoucher(ctx context.Context, voucherID string) ([]*Choice, error)

	// ChoicesByProvider returns the choices addressed to one provider, oldest first.
	ChoicesByProvider(ctx context.Context, agb string) ([]*Choice, error)

	// ProviderChosen reports whether the provider has a requested or accepted
	// choice on the voucher.
	ProviderChosen(ctx context.Context, voucherID, agb string) (bool, error)
}
