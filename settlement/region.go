package settlement

import (
	"strconv"
	"time"

	"github.com/regie-nl/regie"
	"github.com/shopspring/decimal"
)

// Region is a budget region: a zorgkantoor region (Wlz) or a municipality (Wmo,
// Jeugdwet), with its yearly budget (contracteerruimte) and budget policy.
type Region struct {
	ID     string      `json:"id"`
	Name   string      `json:"name"`
	Funder string      `json:"funder"`
	Year   int         `json:"year"`
	Budget regie.Cents `json:"budget"`
	Policy Policy      `json:"policy"`
}

// PolicyKind is how a region handles claims beyond its budget; the funder
// chooses it per region and year (DESIGN.md, "Budget policy").
type PolicyKind string

const (
	Monitor PolicyKind = "monitor" // always settle; mark what lands beyond the budget
	Hold    PolicyKind = "hold"    // beyond a threshold, record claims as held until released
	Cap     PolicyKind = "cap"     // reject beyond the budget (non-entitlement money only)
	ProRata PolicyKind = "prorata" // pay a provisional share; settle the final rate at year end
)

// Policy is a region's budget policy. The zero value is monitor.
type Policy struct {
	Kind PolicyKind `json:"kind"`
	// HoldThreshold is, under hold, the share of the budget beyond which
	// claims are held (100.00 = the whole budget).
	HoldThreshold Rate `json:"hold_threshold,omitzero"`
	// ProvisionalRate is, under prorata, the share of each claim paid now.
	ProvisionalRate Rate `json:"provisional_rate,omitzero"`
	// DisputeDays is how long a client may dispute an accepted claim; 14 when zero.
	DisputeDays int `json:"dispute_days,omitzero"`
	// Effective is the first day (Europe/Amsterdam) on which the policy holds;
	// zero means at once. A policy set with a later date is scheduled: until
	// that day the policy before it holds (RegionState.Roll).
	Effective regie.Date `json:"effective,omitzero"`
}

// Validate checks that the policy's parameters fit its kind.
func (p Policy) Validate() error {
	switch p.Kind {
	case "", Monitor, Cap:
	case Hold:
		if p.HoldThreshold <= 0 || p.HoldThreshold > 100*RateScale*10 {
			return regie.FieldError("hold_threshold", "policy_invalid", "hold needs a hold_threshold above 0 and at most 1000 (percent of the budget)")
		}
	case ProRata:
		if p.ProvisionalRate <= 0 || p.ProvisionalRate > 100*RateScale {
			return regie.FieldError("provisional_rate", "policy_invalid", "prorata needs a provisional_rate above 0 and at most 100 (percent)")
		}
	default:
		return regie.FieldError("kind", "policy_invalid", "policy kind must be monitor, hold, cap or prorata")
	}
	// A setting of another kind would be stored and never used: refused,
	// so that what a funder reads back is what applies.
	if p.Kind != Hold && p.HoldThreshold != 0 {
		return regie.FieldError("hold_threshold", "policy_invalid", "hold_threshold belongs to the hold policy only")
	}
	if p.Kind != ProRata && p.ProvisionalRate != 0 {
		return regie.FieldError("provisional_rate", "policy_invalid", "provisional_rate belongs to the prorata policy only")
	}
	if p.DisputeDays < 0 || p.DisputeDays > 366 {
		return regie.FieldError("dispute_days", "policy_invalid", "dispute_days must be 0–366")
	}
	return nil
}

// Disputable is the number of days in which a client may dispute a claim.
func (p Policy) Disputable() int {
	if p.DisputeDays == 0 {
		return 14
	}
	return p.DisputeDays
}

// Rate is a percentage in hundredths: Rate(8550) is 85.50%.
type Rate int64

// RateScale is the Rate of one percent.
const RateScale = 100

// Of returns the rate's share of an amount, rounded half-up to cents.
func (r Rate) Of(c regie.Cents) regie.Cents {
	return regie.Cents((int64(c)*int64(r) + 50*RateScale) / (100 * RateScale))
}

// String formats r as a percentage with two decimals: "85.50".
func (r Rate) String() string { return decimal.New(int64(r), -2).StringFixed(2) }

// MarshalJSON writes r as a JSON string, like amounts.
func (r Rate) MarshalJSON() ([]byte, error) { return strconv.AppendQuote(nil, r.String()), nil }

// UnmarshalJSON reads a JSON string with at most two decimals, e.g. "85.5".
func (r *Rate) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return regie.FieldError("", "rate_malformed", "percentages are JSON strings such as \"85.50\"")
	}
	u, err := regie.ParseUnits(s) // same format: non-negative, two decimals
	if err != nil {
		return regie.FieldError("", "rate_malformed", "%q is not a percentage with at most two decimals", s)
	}
	*r = Rate(u)
	return nil
}

// RegionState is a region with its live counters. A store keeps it in one
// record that every settlement of the region updates atomically, so figures
// never need a scan of the journal.
type RegionState struct {
	Region
	Settled   regie.Cents `json:"settled"`   // accepted claims (and released held ones)
	Held      regie.Cents `json:"held"`      // held claims, not payable yet
	Committed regie.Cents `json:"committed"` // reserved for accepted choices, not yet claimed
	Paid      regie.Cents `json:"paid"`      // payable to providers (below Settled under prorata)
	Claims    int64       `json:"claims"`    // accepted and held claims, less reversals
	Revision  int         `json:"revision"`  // budget version
	Closed    bool        `json:"closed"`
	FinalRate Rate        `json:"final_rate,omitzero"` // prorata, after the close
	// Scheduled is a policy set to take effect on a later day (its
	// Effective); the zero Policy when none is.
	Scheduled Policy `json:"scheduled_policy,omitzero"`
	// The head of the region's journal, and the last signed checkpoint.
	JournalSeq    uint64 `json:"journal_seq"`
	JournalHead   string `json:"journal_head"`
	CheckpointSeq uint64 `json:"checkpoint_seq"`
}

// Figures are a region's live budget figures.
type Figures struct {
	Region    string      `json:"region"`
	Name      string      `json:"name"`
	Year      int         `json:"year"`
	Policy    Policy      `json:"policy"`
	Budget    regie.Cents `json:"budget"`
	Settled   regie.Cents `json:"settled"`
	Held      regie.Cents `json:"held"`
	Committed regie.Cents `json:"committed"`
	// Remaining is budget − settled − held: what claims have not used yet.
	Remaining regie.Cents `json:"remaining"`
	// Free is budget − settled − held − committed: not yet promised to anyone.
	Free      regie.Cents `json:"free"`
	Paid      regie.Cents `json:"paid"`
	Claims    int64       `json:"claims"`
	Revision  int         `json:"revision"`
	Closed    bool        `json:"closed"`
	FinalRate Rate        `json:"final_rate,omitzero"`
	// ScheduledPolicy is a policy that takes effect on a later day.
	ScheduledPolicy Policy `json:"scheduled_policy,omitzero"`
	// Outlook is what the figures mean for the year: utilisation and the
	// projection (docs/monitoring.md). Service fills it as of its clock's
	// day; RegionState.Figures and the Ledger leave it zero.
	Outlook Outlook `json:"outlook,omitzero"`
}

// Figures returns the region's figures, computed from its counters only.
func (r *RegionState) Figures() Figures {
	return Figures{
		Region: r.ID, Name: r.Name, Year: r.Year, Policy: r.Policy,
		Budget: r.Budget, Settled: r.Settled, Held: r.Held, Committed: r.Committed,
		Remaining: r.Budget - r.Settled - r.Held,
		Free:      r.Budget - r.Settled - r.Held - r.Committed,
		Paid:      r.Paid, Claims: r.Claims, Revision: r.Revision, Closed: r.Closed, FinalRate: r.FinalRate,
		ScheduledPolicy: r.Scheduled,
	}
}

// PolicyAt returns the policy that holds on day: the scheduled one from its
// effective day on, the current one before.
func (r *RegionState) PolicyAt(day regie.Date) Policy {
	if r.Scheduled != (Policy{}) && day >= r.Scheduled.Effective {
		return r.Scheduled
	}
	return r.Policy
}

// Roll makes a scheduled policy whose day has come the current one, in
// memory; it reports whether it did. Every reader that acts on the policy
// rolls first, so a schedule takes effect on its day whether or not anything
// was written since; no journal entry is needed, because the policy entry
// that scheduled it carries its effective day.
func (r *RegionState) Roll(day regie.Date) bool {
	if r.Scheduled == (Policy{}) || day < r.Scheduled.Effective {
		return false
	}
	r.Policy, r.Scheduled = r.Scheduled, Policy{}
	return true
}

// Revision is one dated, versioned change of a region's budget.
type Revision struct {
	Region    string      `json:"region"`
	Version   int         `json:"version"`
	Budget    regie.Cents `json:"budget"`
	Delta     regie.Cents `json:"delta"`
	Effective regie.Date  `json:"effective"`
	Reason    string      `json:"reason"`
	By        string      `json:"by"`
	At        time.Time   `json:"at"`
}
