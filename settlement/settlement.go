// Package settlement decides claims (declaraties) and keeps the money right.
//
// A claim is checked against the voucher, the provider's assignment, the tariff
// table, the remaining balance and earlier claims; when accepted, one atomic
// step debits the voucher line and the regional budget, credits the provider,
// appends a sealed journal entry and records the decision under (provider,
// claim id), so that a retry returns the same decision and never debits twice.
//
// The rules live here, in Decide; a store supplies the state it reads inside
// its transaction and applies the result (see Ledger).
package settlement

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/regie-nl/regie"
)

// Claim is one claim line from a provider.
type Claim struct {
	ProviderAGB string      `json:"provider_agb"`
	ClaimID     string      `json:"claim_id"`
	VoucherID   string      `json:"voucher_id"`
	Product     string      `json:"product"`
	From        regie.Date  `json:"from"`
	To          regie.Date  `json:"to"`
	Units       regie.Units `json:"units"`
	UnitPrice   regie.Cents `json:"unit_price"`
}

// Validate checks the shape of a claim, before any state is read. A claim that
// fails here is a bad request (400), not a rejected claim.
func (c *Claim) Validate() error {
	switch {
	case c.ClaimID == "" || len(c.ClaimID) > 64 || strings.IndexFunc(c.ClaimID, notPrintable) >= 0:
		return regie.FieldError("claim_id", "claim_id_invalid", "claim_id is 1–64 printable characters")
	case c.VoucherID == "" || len(c.VoucherID) > 64:
		return regie.FieldError("voucher_id", "field_required", "voucher_id is required")
	case c.Product == "" || len(c.Product) > 32:
		return regie.FieldError("product", "field_required", "product is required")
	case c.From.IsZero() || c.To.IsZero():
		return regie.FieldError("from", "field_required", "from and to are required")
	case c.To < c.From:
		return regie.FieldError("to", "period_invalid", "to lies before from")
	case c.From.DaysThrough(c.To) > 366:
		return regie.FieldError("to", "period_invalid", "a claim covers at most 366 days")
	case c.Units <= 0:
		return regie.FieldError("units", "units_invalid", "units must be above zero")
	case c.UnitPrice <= 0:
		return regie.FieldError("unit_price", "unit_price_invalid", "unit_price must be above zero")
	}
	if amount, ok := c.Amount(); !ok {
		return regie.FieldError("units", "amount_range", "units × unit_price is out of range")
	} else if amount == 0 {
		return regie.FieldError("units", "amount_zero", "units × unit_price rounds to 0.00")
	}
	return nil
}

func notPrintable(r rune) bool { return !unicode.IsPrint(r) }

// Amount is units × unit price, rounded half-up to cents once.
func (c *Claim) Amount() (regie.Cents, bool) { return regie.LineAmount(c.Units, c.UnitPrice) }

// Fingerprint identifies the content of a claim, so that a retry with the same
// claim id can be told from a different claim under a reused id.
func (c *Claim) Fingerprint() string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%s\x00%d\x00%d\x00%d\x00%d",
		c.ProviderAGB, c.ClaimID, c.VoucherID, c.Product, c.From, c.To, c.Units, c.UnitPrice))
	return hex.EncodeToString(sum[:16])
}

// Status is the outcome of a claim.
type Status string

const (
	Accepted Status = "accepted" // settled: debited and payable
	Held     Status = "held"     // debited and recorded, not payable until the funder releases it (policy hold)
	Rejected Status = "rejected" // nothing changed; Reason says why
)

// Reason codes of a rejected claim. They are stable and documented in docs/api.md.
const (
	ReasonVoucherUnknown        = "voucher_unknown"
	ReasonVoucherSuspended      = "voucher_suspended"
	ReasonVoucherRevoked        = "voucher_revoked"
	ReasonVoucherExpired        = "voucher_expired"
	ReasonPeriodOutsideValidity = "period_outside_validity"
	ReasonPeriodInFuture        = "period_in_future"
	ReasonProductNotIndicated   = "product_not_indicated"
	ReasonProviderNotAssigned   = "provider_not_assigned"
	ReasonProviderNotQualified  = "provider_not_qualified"
	ReasonUnitsAboveVolume      = "units_above_volume"
	ReasonPriceAboveTariff      = "unit_price_above_tariff"
	ReasonPriceAboveOwnTariff   = "unit_price_above_provider_tariff"
	ReasonPeriodOverlap         = "period_overlap"
	ReasonInsufficientBalance   = "insufficient_balance"
	ReasonBudgetExhausted       = "budget_exhausted"   // only under the cap policy
	ReasonBudgetYearClosed      = "budget_year_closed" // the region's year was closed
)

// Decision is the synchronous answer to a claim; it is recorded under
// (provider, claim id) and returned again on every retry.
type Decision struct {
	ProviderAGB string      `json:"provider_agb"`
	ClaimID     string      `json:"claim_id"`
	VoucherID   string      `json:"voucher_id"`
	Product     string      `json:"product"`
	From        regie.Date  `json:"from"`
	To          regie.Date  `json:"to"`
	Units       regie.Units `json:"units"`
	UnitPrice   regie.Cents `json:"unit_price"`
	Status      Status      `json:"status"`
	Reason      string      `json:"reason,omitempty"`
	// Amount is what was debited from the voucher: zero when rejected.
	Amount regie.Cents `json:"amount"`
	// Payable is what the provider is paid for it now: the amount, the
	// provisional share of it under prorata, zero while held.
	Payable regie.Cents `json:"payable"`
	Region  string      `json:"region,omitempty"`
	// BeyondBudget marks a claim that took the region's claimed total past its
	// budget (the monitor policy settles it all the same and alerts).
	BeyondBudget bool      `json:"beyond_budget,omitempty"`
	JournalSeq   uint64    `json:"journal_seq,omitempty"`
	DecidedAt    time.Time `json:"decided_at"`
	Fingerprint  string    `json:"-"`
}
