// Package matching is where a client finds and chooses care: the providers and
// what they offer, their qualification by each funder (criteria, evidence,
// expiry), the search for qualifying providers near a place, the lifecycle of
// a choice (requested, accepted, declined or lapsed), the waiting list, and
// the client's history of choices.
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
	// Regions are the budget regions in which the provider works and asks to
	// be qualified. Where and when it is qualified is Qualifications' answer;
	// see QualifiedIn.
	Regions []string `json:"regions"`
	// Qualified is true when the provider was qualified in at least one region
	// on the day of its last evaluation. For a record without Qualifications
	// (imported straight into the store) it is the whole answer, together
	// with Regions; see QualifiedIn.
	Qualified bool `json:"qualified"`
	// Qualifications is the provider's standing per region, kept by Evaluate:
	// the days on which it was, is or will be qualified there.
	Qualifications []Qualification `json:"qualifications,omitempty"`
	// Languages are ISO 639 codes ("nl", "tr", "pap"); Expertise, Identity and
	// Settings are codes from the vocabularies of this package (Expertises,
	// Identities, Settings), so that a client can filter on them.
	Languages []string `json:"languages,omitempty"`
	Expertise []string `json:"expertise,omitempty"`
	Identity  []string `json:"identity,omitempty"`
	Settings  []string `json:"settings,omitempty"`
	TeamSize  int      `json:"team_size,omitempty"`
	// Professionals are the first names of the people who give the care.
	Professionals []string `json:"professionals,omitempty"`
	OpenPlaces    int      `json:"open_places"`
	WaitingWeeks  int      `json:"waiting_weeks"`
	// Version counts the writes of the record; the store sets it.
	Version      int64     `json:"version"`
	RegisteredAt time.Time `json:"registered_at,omitzero"`
	UpdatedAt    time.Time `json:"updated_at,omitzero"`
}

// Location is a place where a provider delivers care, or from where it works.
type Location struct {
	Name     string  `json:"name,omitempty"`
	Address  string  `json:"address,omitempty"`
	Postcode string  `json:"postcode,omitempty"`
	City     string  `json:"city"`
	Lat      float64 `json:"lat"`
	Lon      float64 `json:"lon"`
}

// Offer is a product a provider delivers, at its own tariff per unit (never
// above the maximum tariff).
type Offer struct {
	Product string      `json:"product"`
	Tariff  regie.Cents `json:"tariff"`
}

// QualifiedIn reports whether the provider is qualified in region on the given
// day: it may then be found, chosen, and paid for care on that day. It is the
// one question search, choice and the claim rules ask.
//
// The answer comes from the provider's qualification record for the region
// (its periods, see Evaluate), so that it turns false by itself on the day
// after the first required evidence expires. A provider without a record for
// the region is qualified there only when the record carries the region in
// Regions and Qualified is set: the form of providers imported without
// evidence. The service never writes such a provider: it keeps a record for
// every region a provider lists.
func (p *Provider) QualifiedIn(region string, on regie.Date) bool {
	for i := range p.Qualifications {
		if q := &p.Qualifications[i]; q.Region == region {
			return q.Covers(on)
		}
	}
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
	Lapsed    ChoiceStatus = "lapsed"    // the provider did not answer before AnswerBy
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
	// AnswerBy is when a requested choice lapses unanswered; zero means never.
	AnswerBy  time.Time `json:"answer_by,omitzero"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
}

// Covers reports whether the choice is an assignment for the whole period.
func (c *Choice) Covers(from, to regie.Date) bool {
	return c.Status == Accepted && c.From <= from && (c.To.IsZero() || to <= c.To)
}

// Overdue reports whether the choice is requested and its answer deadline
// has passed at now: it has lapsed, whether or not that is recorded yet.
func (c *Choice) Overdue(now time.Time) bool {
	return c.Status == Requested && !c.AnswerBy.IsZero() && now.After(c.AnswerBy)
}

// Dossier is what UpdateProvider hands to its function, all read in one
// transaction: the provider, its evidence, and the funders' criteria.
type Dossier struct {
	// Provider is the stored provider; the function changes it in place.
	Provider *Provider
	// Evidence is the provider's evidence, oldest first. The function may
	// change items and append new ones; every item is written back.
	Evidence []*Evidence
	// Criteria reads the criteria a funder set for a region, nil when it set
	// none, within the same transaction.
	Criteria func(region string) (*Criteria, error)
}

// Store persists providers, their evidence, the funders' criteria, choices and
// the waiting list.
type Store interface {
	// PutProvider creates or replaces a provider and sets p.Version to the
	// stored version plus one. It is for imports and fixtures: it judges
	// nothing, and notifies no one.
	PutProvider(ctx context.Context, p *Provider) error

	// PutProviders is PutProvider for many providers in one transaction.
	PutProviders(ctx context.Context, ps []*Provider) error

	// CreateProvider stores a new provider with Version 1.
	// Returns Conflict "provider_exists" when the AGB code is taken.
	CreateProvider(ctx context.Context, p *Provider) error

	// UpdateProvider reads the provider with the AGB code, its evidence and
	// the funders' criteria, runs fn on them, and writes the provider
	// (Version plus one) and every evidence item, in one transaction. An
	// error from fn is returned as it is, and nothing is written. When the
	// update takes OpenPlaces from 0 to more, every open entry on the
	// provider's waiting list (waiting or notified) is marked notified at
	// the given time in the same transaction. fn must not change the AGB
	// code. Returns the provider as written; NotFound "provider_not_found".
	UpdateProvider(ctx context.Context, agb string, at time.Time, fn func(d *Dossier) error) (*Provider, error)

	// Provider returns one provider. Returns NotFound "provider_not_found".
	Provider(ctx context.Context, agb string) (*Provider, error)

	// Providers returns every provider, ordered by AGB code.
	Providers(ctx context.Context) ([]*Provider, error)

	// PutEvidence creates or replaces evidence items in one transaction. It
	// is for imports and fixtures: it judges nothing.
	PutEvidence(ctx context.Context, es []*Evidence) error

	// EvidenceOf returns the evidence of one provider, oldest first.
	EvidenceOf(ctx context.Context, agb string) ([]*Evidence, error)

	// EvidenceInRegion returns the evidence submitted for a region by every
	// provider, ordered by submission time, then id.
	EvidenceInRegion(ctx context.Context, region string) ([]*Evidence, error)

	// PutCriteria creates or replaces the criteria of c.Region.
	PutCriteria(ctx context.Context, c *Criteria) error

	// CriteriaOf returns the criteria a funder set for a region, or nil
	// when none were set.
	CriteriaOf(ctx context.Context, region string) (*Criteria, error)

	// CreateChoice stores a new choice unless the voucher already has a
	// requested choice for the same product, or an accepted one that c does
	// not start after (a switch must start after the assignment it replaces
	// began): Conflict "choice_active".
	// A requested choice whose AnswerBy is before c.CreatedAt does not count:
	// it is recorded as Lapsed (decided at its AnswerBy) in the same
	// transaction. Returns Conflict "choice_exists" when the id is taken.
	CreateChoice(ctx context.Context, c *Choice) error

	// Choice returns one choice. Returns NotFound "choice_not_found".
	Choice(ctx context.Context, id string) (*Choice, error)

	// DecideChoice moves a requested choice to Accepted, Declined or Lapsed,
	// atomically. Accepting a switch ends, on the day before it starts, the
	// accepted choice of the same line it replaces, in the same transaction.
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

	// CreateWaiting puts a new entry on a provider's waiting list, unless the
	// voucher already has an open entry (waiting or notified) for the same
	// product and provider: Conflict "waiting_active". Returns Conflict
	// "waiting_exists" when the id is taken.
	CreateWaiting(ctx context.Context, w *Waiting) error

	// WaitingEntry returns one entry. Returns NotFound "waiting_not_found".
	WaitingEntry(ctx context.Context, id string) (*Waiting, error)

	// WaitingByVoucher returns the entries of one voucher, oldest first.
	WaitingByVoucher(ctx context.Context, voucherID string) ([]*Waiting, error)

	// WaitingByProvider returns the entries on one provider's list, oldest first.
	WaitingByProvider(ctx context.Context, agb string) ([]*Waiting, error)

	// CloseWaiting moves an open entry to Withdrawn or Fulfilled at the given
	// time, atomically. Returns NotFound "waiting_not_found"; Conflict
	// "waiting_closed" when the entry is closed already.
	CloseWaiting(ctx context.Context, id string, to WaitingStatus, at time.Time) (*Waiting, error)
}
