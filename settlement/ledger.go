package settlement

import (
	"context"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
)

// ClaimState is where a recorded claim is now. The Decision keeps the answer
// the provider got; the state follows releases, reversals and disputes.
type ClaimState string

const (
	StateSettled  ClaimState = "settled"  // accepted, or held and released
	StateHeld     ClaimState = "held"     // recorded, not payable yet
	StateReversed ClaimState = "reversed" // undone by a reversal entry
	StateRejected ClaimState = "rejected" // never changed anything
)

// ClaimRecord is a recorded claim: the original decision and its state now.
type ClaimRecord struct {
	Decision
	State ClaimState `json:"state"`
	// Paid is what the provider is paid for this claim now.
	Paid     regie.Cents `json:"paid"`
	HeldSeq  uint64      `json:"held_seq,omitempty"` // order in the region's held queue
	Dispute  *Dispute    `json:"dispute,omitempty"`
	Reversal *Reversal   `json:"reversal,omitempty"`
}

// DisputeStatus is where a client's dispute of a claim is.
type DisputeStatus string

const (
	DisputeOpen      DisputeStatus = "open"
	DisputeUpheld    DisputeStatus = "upheld"    // the funder agreed: the claim was reversed
	DisputeDismissed DisputeStatus = "dismissed" // the funder disagreed: the claim stands
)

// Dispute is a client's objection to a claim made on their voucher.
type Dispute struct {
	Status     DisputeStatus `json:"status"`
	Reason     string        `json:"reason"`
	OpenedAt   time.Time     `json:"opened_at"`
	Resolution string        `json:"resolution,omitempty"`
	ResolvedBy string        `json:"resolved_by,omitempty"`
	ResolvedAt time.Time     `json:"resolved_at,omitzero"`
}

// Reversal records who undid a claim, why, and where in the journal.
type Reversal struct {
	Reason     string    `json:"reason"`
	By         string    `json:"by"`
	At         time.Time `json:"at"`
	JournalSeq uint64    `json:"journal_seq"`
}

// LineResult is the outcome of one line of a batch: a decision (new or
// replayed), or an error for that line alone.
type LineResult struct {
	Decision Decision
	Replay   bool
	Err      error
}

// Released is the outcome of releasing held claims.
type Released struct {
	Claims int         `json:"claims"`
	Amount regie.Cents `json:"amount"`
	// Figures are the region's figures after the release.
	Figures Figures `json:"figures"`
}

// Closed is the outcome of a prorata year-end close.
type Closed struct {
	FinalRate   Rate         `json:"final_rate"`
	Adjustments []Adjustment `json:"adjustments"`
	Figures     Figures      `json:"figures"`
}

// Adjustment is what a year-end close posts for one provider.
type Adjustment struct {
	ProviderAGB string      `json:"provider_agb"`
	Claimed     regie.Cents `json:"claimed"`
	Paid        regie.Cents `json:"paid_before"`
	Final       regie.Cents `json:"final"`
	Amount      regie.Cents `json:"adjustment"` // final − paid before
}

// Checkpoint is a signed statement of a region's journal head.
type Checkpoint struct {
	Region string    `json:"region"`
	Seq    uint64    `json:"seq"`
	Hash   string    `json:"hash"`
	At     time.Time `json:"at"`
	// Token is a compact JWS over region, seq and hash, made by the server's key ring.
	Token string `json:"token"`
}

// Ledger is the store side of settlement. Every method that changes money
// does it in one atomic step that also appends the sealed journal entries.
type Ledger interface {
	// PutRegion creates a region, or replaces its name, funder, year and policy
	// and keeps its counters. A new region, or a changed budget, is recorded
	// as a budget revision by "system".
	PutRegion(ctx context.Context, r Region) error

	// Regions returns every region ordered by id.
	Regions(ctx context.Context) ([]Region, error)

	// HasRegion reports whether the region exists.
	HasRegion(ctx context.Context, id string) (bool, error)

	// Region returns one region with its live counters.
	// Returns NotFound "region_not_found".
	Region(ctx context.Context, id string) (RegionState, error)

	// Settle decides a validated claim with Decide and, in one atomic step,
	// books it and records the decision. A retry of the same (provider, claim
	// id) with the same content returns the recorded decision with replay true
	// and changes nothing. Returns Conflict "claim_id_conflict" when the id was
	// used for a claim with other content.
	Settle(ctx context.Context, c Claim, now time.Time) (d Decision, replay bool, err error)

	// DrySettle answers what Settle would, and writes nothing.
	DrySettle(ctx context.Context, c Claim, now time.Time) (d Decision, replay bool, err error)

	// SettleBatch settles validated claims in order, each line atomic and
	// idempotent on its own, and answers one result per line. A line's
	// conflict is its own error; the error return is for the store failing.
	SettleBatch(ctx context.Context, cs []Claim, now time.Time) ([]LineResult, error)

	// Decision returns the recorded decision of one claim.
	// Returns NotFound "claim_not_found".
	Decision(ctx context.Context, providerAGB, claimID string) (Decision, error)

	// Claim returns the recorded claim with its state now.
	// Returns NotFound "claim_not_found".
	Claim(ctx context.Context, providerAGB, claimID string) (ClaimRecord, error)

	// VoucherClaims returns every recorded claim on a voucher, rejected ones
	// included, oldest first.
	VoucherClaims(ctx context.Context, voucherID string) ([]ClaimRecord, error)

	// Reverse undoes a settled or held claim with a reversal entry: the
	// voucher line gets the amount back, the region's and the provider's
	// figures go down, the period may be claimed again. Returns NotFound
	// "claim_not_found"; Conflict "claim_not_reversible" when the claim was
	// rejected or is reversed already.
	Reverse(ctx context.Context, providerAGB, claimID, reason, by string, now time.Time) (ClaimRecord, error)

	// OpenDispute records a client's dispute of a settled or held claim within
	// the region's dispute window. Returns NotFound "claim_not_found";
	// Conflict "claim_not_disputable" (rejected, reversed, or already
	// disputed), "dispute_window_closed".
	OpenDispute(ctx context.Context, providerAGB, claimID, reason string, now time.Time) (ClaimRecord, error)

	// ResolveDispute upholds (reversing the claim) or dismisses an open
	// dispute. Returns NotFound "claim_not_found"; Conflict "dispute_not_open",
	// and for an uphold those of Reverse ("budget_year_closed").
	ResolveDispute(ctx context.Context, providerAGB, claimID string, uphold bool, resolution, by string, now time.Time) (ClaimRecord, error)

	// Disputes returns the region's claims with an open dispute, oldest first.
	Disputes(ctx context.Context, region string) ([]ClaimRecord, error)

	// ReviseBudget sets a new budget as the next version, with its reason.
	// Returns NotFound "region_not_found"; Conflict "budget_year_closed".
	ReviseBudget(ctx context.Context, region string, budget regie.Cents, effective regie.Date, reason, by string, now time.Time) (Revision, error)

	// Revisions returns the region's budget revisions, oldest first.
	Revisions(ctx context.Context, region string) ([]Revision, error)

	// SetPolicy replaces the region's budget policy (journalled).
	// Returns NotFound "region_not_found"; Conflict "budget_year_closed".
	SetPolicy(ctx context.Context, region string, p Policy, by string, now time.Time) (Figures, error)

	// ReleaseHeld releases held claims of the region, oldest first, while
	// their amounts fit within upTo; each becomes settled and payable.
	// Returns NotFound "region_not_found"; Conflict "budget_year_closed".
	ReleaseHeld(ctx context.Context, region string, upTo regie.Cents, by string, now time.Time) (Released, error)

	// CloseYear runs the prorata year-end close: final rate min(1, budget /
	// settled), one adjustment entry per provider, and no more claims in the
	// region. Returns Conflict "policy_not_prorata", "budget_year_closed",
	// "held_claims_open" (held claims must be released or reversed first).
	CloseYear(ctx context.Context, region, by string, now time.Time) (Closed, error)

	// EndAssignment ends an accepted choice after lastDay. When no other
	// accepted choice of the line remains open, what was not used is released
	// from the region's committed figure. Returns NotFound "choice_not_found";
	// Conflict "choice_not_accepted"; Invalid "last_day_invalid".
	EndAssignment(ctx context.Context, choiceID string, lastDay regie.Date, now time.Time) (*matching.Choice, error)

	// Journal calls fn with the region's entries in order until fn returns an
	// error, which it returns. Returns NotFound "region_not_found".
	Journal(ctx context.Context, region string, fn func(Entry) error) error

	// Balances calls fn with every stored balance of the region's accounts
	// (see the account names in journal.go), for verification.
	Balances(ctx context.Context, region string, fn func(account string, balance regie.Cents) error) error

	// PutCheckpoint stores a signed checkpoint of a region's journal head and
	// notes its seq in the region's CheckpointSeq.
	PutCheckpoint(ctx context.Context, cp Checkpoint) error

	// Checkpoints calls fn with the region's checkpoints, oldest first.
	Checkpoints(ctx context.Context, region string, fn func(Checkpoint) error) error

	// Monitoring: tallies, alerts, webhook deliveries and exports (monitor.go).
	Monitoring
}
