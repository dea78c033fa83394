// Package voucher turns an indication into a signed voucher: it checks and
// pseudonymises the BSN, prices the entitlement from the tariff table, signs a
// compact JWS with the server's Ed25519 key ring, publishes the public keys as a
// JWKS, and answers the live status and balance of a voucher.
//
// A voucher carries no personal data beyond a pseudonym. Anyone can check its
// signature offline; only the server knows whether it is still active and what
// is left of it.
package voucher

import (
	"context"
	"time"

	"github.com/regie-nl/regie"
)

// Law is the Dutch law under which care is indicated.
type Law string

const (
	Wlz      Law = "wlz" // Wet langdurige zorg, indicated by the CIZ
	Wmo      Law = "wmo" // Wet maatschappelijke ondersteuning, decided by a municipality
	Jeugdwet Law = "jw"  // Jeugdwet, decided by a municipality
)

// Valid reports whether l is a known law.
func (l Law) Valid() bool { return l == Wlz || l == Wmo || l == Jeugdwet }

// Status is the live status of a voucher.
type Status string

const (
	Active    Status = "active"
	Suspended Status = "suspended" // temporarily no claims, e.g. during a stay in hospital
	Revoked   Status = "revoked"   // withdrawn for good
	Expired   Status = "expired"   // past its validity plus the claim window
)

// ClaimWindow is how long after the last day of validity a provider may still
// claim care delivered within it: care is claimed monthly, after delivery.
const ClaimWindow = 90 // days

// Line is one product on a voucher: the indicated volume and what is left of it.
type Line struct {
	Product      string      `json:"product"`
	UnitsPerWeek regie.Units `json:"units_per_week"`
	// Units is the indicated volume over the whole validity.
	Units regie.Units `json:"units"`
	// MaxAmount is Units priced at the maximum tariff; it is the line's budget.
	MaxAmount regie.Cents `json:"max_amount"`
	// Remaining is the live balance of the line; only settlement changes it.
	Remaining regie.Cents `json:"remaining"`
	// UnitsClaimed and ClaimedThrough track what was claimed so far, so that
	// the volume rule holds over many small claims as well as one large one.
	UnitsClaimed   regie.Units `json:"units_claimed"`
	ClaimedThrough regie.Date  `json:"claimed_through"`
	// Reserved is true while an accepted choice commits the line on the
	// regional budget; Committed is what is committed now: the remaining
	// amount when reserved, less what was claimed since.
	Reserved  bool        `json:"reserved"`
	Committed regie.Cents `json:"committed"`
}

// Voucher is an issued entitlement. Subject is the client's pseudonym.
type Voucher struct {
	ID        string     `json:"id"`
	Subject   string     `json:"subject"`
	Law       Law        `json:"law"`
	Region    string     `json:"region"`
	Lines     []Line     `json:"lines"`
	ValidFrom regie.Date `json:"valid_from"`
	ValidTo   regie.Date `json:"valid_to"`
	IssuedAt  time.Time  `json:"issued_at"`
	KeyID     string     `json:"kid"`
	// State is what an assessor set: Active, Suspended or Revoked. The live
	// status also depends on the date; see StatusAt.
	State Status `json:"state"`
}

// Line returns the voucher's line for product, or nil.
func (v *Voucher) Line(product string) *Line {
	for i := range v.Lines {
		if v.Lines[i].Product == product {
			return &v.Lines[i]
		}
	}
	return nil
}

// StatusAt is the live status of v on date today.
func (v *Voucher) StatusAt(today regie.Date) Status {
	if v.State != Active {
		return v.State
	}
	if today > v.ValidTo.AddDays(ClaimWindow) {
		return Expired
	}
	return Active
}

// Balance is the sum of the remaining amounts of all lines.
func (v *Voucher) Balance() regie.Cents {
	var sum regie.Cents
	for _, l := range v.Lines {
		sum += l.Remaining
	}
	return sum
}

// Tariff is the maximum price of one unit of a product (NZa maximum tariff or a
// municipality's price).
type Tariff struct {
	Product  string      `json:"product"`
	Law      Law         `json:"law"`
	Name     string      `json:"name"`
	Unit     string      `json:"unit"` // "day", "hour" or "dagdeel"
	MaxPrice regie.Cents `json:"max_price"`
}

// Store persists vouchers and the tariff table.
type Store interface {
	// CreateVoucher stores a new voucher with its signed token.
	// Returns Conflict "voucher_exists" when the id is taken. In a known
	// region, issuing is journalled there.
	CreateVoucher(ctx context.Context, v *Voucher, token string) error

	// Voucher returns the voucher with the given id, balances included.
	// Returns NotFound "voucher_not_found".
	Voucher(ctx context.Context, id string) (*Voucher, error)

	// VoucherToken returns the signed token of the voucher.
	// Returns NotFound "voucher_not_found".
	VoucherToken(ctx context.Context, id string) (string, error)

	// VouchersBySubject returns the vouchers of one client, oldest first.
	VouchersBySubject(ctx context.Context, subject string) ([]*Voucher, error)

	// SetVoucherState sets Active, Suspended or Revoked. A revoked voucher
	// stays revoked: Conflict "voucher_revoked". Returns NotFound "voucher_not_found".
	SetVoucherState(ctx context.Context, id string, s Status) (*Voucher, error)

	// PutTariff creates or replaces the tariff of one product.
	PutTariff(ctx context.Context, t Tariff) error

	// Tariffs returns the whole tariff table ordered by product.
	Tariffs(ctx context.Context) ([]Tariff, error)
}

// Assignments tells whether a provider has been chosen for a voucher, so that
// it may see the voucher. The matching store implements it.
type Assignments interface {
	// ProviderChosen reports whether the provider with the AGB code has been
	// asked for or assigned to any line of the voucher.
	ProviderChosen(ctx context.Context, voucherID, agb string) (bool, error)
}
