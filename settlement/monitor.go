package settlement

import (
	"context"
	"math/big"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/regie-nl/regie"
)

// Monitoring: the live picture of a region's budget (docs/monitoring.md).
//
// Every figure here is kept by counters that the store changes in the same
// atomic step as the journal entry that changes them: a store calls TallyOf
// on every entry it appends and adds the result to the region's tally of the
// entry's day, of its product and of its provider. Nothing is computed by
// scanning the journal, so every figure answers in time independent of the
// journal's length.

// Tally is what journal entries changed in a region's figures: the flow of one
// day, or the running total of one product or one provider.
type Tally struct {
	Budget    regie.Cents `json:"budget"`
	Settled   regie.Cents `json:"settled"`
	Held      regie.Cents `json:"held"`
	Committed regie.Cents `json:"committed"`
	Paid      regie.Cents `json:"paid"`
	// Claims counts settled and held claims, less reversals.
	Claims int64 `json:"claims"`
	// Uncommitted is the part of claims that no commitment covered: for each
	// settled or held claim, its amount less what it took from the line's
	// commitment. It feeds the run-rate of the projection.
	Uncommitted regie.Cents `json:"uncommitted"`
}

// Add adds o to t.
func (t *Tally) Add(o Tally) {
	t.Budget += o.Budget
	t.Settled += o.Settled
	t.Held += o.Held
	t.Committed += o.Committed
	t.Paid += o.Paid
	t.Claims += o.Claims
	t.Uncommitted += o.Uncommitted
}

// IsZero reports whether t changes nothing.
func (t Tally) IsZero() bool { return t == Tally{} }

// ForProvider is t as a provider's tally: budget and commitments belong to the
// region and its voucher lines, not to a provider (a switch hands a line's
// commitment on without an entry), so they are left out.
func (t Tally) ForProvider() Tally {
	t.Budget, t.Committed = 0, 0
	return t
}

// ForProduct is t as a product's tally: a budget is not per product.
func (t Tally) ForProduct() Tally {
	t.Budget = 0
	return t
}

// TallyOf returns what one journal entry changes in its region's figures, read
// from its postings to the region's accounts (budget, settled, held,
// committed, paid), plus the claim count (settle and hold +1, reverse −1) and
// the uncommitted part of a settled or held claim (its amount plus the change
// of committed it posted, which is minus what it took from the commitment).
// A store adds it to the entry's region tallies: its day (the
// Europe/Amsterdam date of At), its product (when it has one) and its provider
// (when it has one).
func TallyOf(e *Entry) Tally {
	var t Tally
	for _, p := range e.Postings {
		switch regionFigure(p.Account, e.Region) {
		case "budget":
			t.Budget += p.Amount
		case "settled":
			t.Settled += p.Amount
		case "held":
			t.Held += p.Amount
		case "committed":
			t.Committed += p.Amount
		case "paid":
			t.Paid += p.Amount
		}
	}
	switch e.Type {
	case EntrySettle, EntryHold:
		t.Claims = 1
		t.Uncommitted = e.Amount + t.Committed
	case EntryReverse:
		t.Claims = -1
	}
	return t
}

// regionFigure returns the figure of a region account of region ("settled"
// of "region:r1:settled"), or "" for any other account.
func regionFigure(account, region string) string {
	rest, ok := strings.CutPrefix(account, "region:")
	if !ok {
		return ""
	}
	if rest, ok = strings.CutPrefix(rest, region); !ok || len(rest) < 2 || rest[0] != ':' {
		return ""
	}
	switch f := rest[1:]; f {
	case "budget", "settled", "held", "committed", "paid":
		return f
	}
	return "" // a provider account: region:<r>:provider:<agb>:…
}

// Share is a percentage of a whole, in hundredths of a percent, or no value
// when the whole is zero (a share of a zero budget): JSON "85.50" or null.
type Share struct {
	Rate  Rate
	Valid bool
}

// ShareOf returns part / whole as a percentage rounded half-up to hundredths
// (floor((2·part·10000 + whole) / (2·whole))), or no value when whole ≤ 0.
func ShareOf(part, whole regie.Cents) Share {
	if whole <= 0 {
		return Share{}
	}
	n := new(big.Int).Mul(big.NewInt(int64(part)), big.NewInt(2*100*RateScale))
	n.Add(n, big.NewInt(int64(whole)))
	n.Div(n, big.NewInt(2*int64(whole))) // Euclidean: floor for a positive divisor
	return Share{Rate: Rate(n.Int64()), Valid: true}
}

// MarshalJSON writes the percentage as a string, or null.
func (s Share) MarshalJSON() ([]byte, error) {
	if !s.Valid {
		return []byte("null"), nil
	}
	return s.Rate.MarshalJSON()
}

// UnmarshalJSON reads a percentage string or null.
func (s *Share) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = Share{}
		return nil
	}
	if err := s.Rate.UnmarshalJSON(b); err != nil {
		return err
	}
	s.Valid = true
	return nil
}

// String is the percentage ("85.50"), or "" without a value.
func (s Share) String() string {
	if !s.Valid {
		return ""
	}
	return s.Rate.String()
}

// reaches reports whether amount is at least threshold percent of budget,
// exactly (no rounding). Against a zero budget anything above zero reaches
// every threshold and nothing does at zero.
func reaches(amount, budget regie.Cents, threshold Rate) bool {
	if budget <= 0 {
		return amount > 0
	}
	if amount <= 0 {
		return threshold <= 0
	}
	// amount × 100·RateScale ≥ threshold × budget, in 128 bits.
	hi1, lo1 := bits.Mul64(uint64(amount), 100*RateScale)
	hi2, lo2 := bits.Mul64(uint64(max(threshold, 0)), uint64(budget))
	return hi1 > hi2 || (hi1 == hi2 && lo1 >= lo2)
}

// RunRateWindow is the number of days over which the projection measures
// the run-rate of uncommitted claims.
const RunRateWindow = 28

// ProjectionMethod names the projection method of docs/monitoring.md, so that
// an answer says how it was computed.
const ProjectionMethod = "committed+uncommitted-run-rate-28d"

// Window returns the days whose uncommitted claims make the run-rate as of
// today for a budget year: the last RunRateWindow days through today, within
// the year (through its last day when today lies after it). from > to when
// the year has not begun. daysLeft is the number of days after today through
// 31 December, zero once the year is over.
func Window(year int, today regie.Date) (from, to regie.Date, daysLeft int) {
	first := regie.DateOf(time.Date(year, 1, 1, 12, 0, 0, 0, regie.Amsterdam))
	last := regie.DateOf(time.Date(year, 12, 31, 12, 0, 0, 0, regie.Amsterdam))
	to = min(today, last)
	from = max(to.AddDays(-(RunRateWindow - 1)), first)
	if today < first {
		return first, first.AddDays(-1), first.DaysThrough(last)
	}
	if today < last {
		daysLeft = int(last - today)
	}
	return from, to, daysLeft
}

// Outlook is what a region's figures mean for its budget year, as of a day.
type Outlook struct {
	AsOf regie.Date `json:"as_of"`
	// Used is settled + held: what claims took from the budget.
	Used regie.Cents `json:"used"`
	// Utilisation is used / budget (benutting).
	Utilisation Share `json:"utilisation"`
	// UtilisationCommitted is (used + committed) / budget.
	UtilisationCommitted Share `json:"utilisation_committed"`
	// CrossedOn is the day used went beyond the budget (as regie saw it), while it is.
	CrossedOn  regie.Date `json:"crossed_on"`
	Projection Projection `json:"projection"`
}

// Projection is the expected total of the budget year at its end.
type Projection struct {
	Method string `json:"method"`
	// The run-rate window and the uncommitted claims booked in it.
	WindowFrom  regie.Date  `json:"window_from"`
	WindowTo    regie.Date  `json:"window_to"`
	WindowDays  int         `json:"window_days"`
	Uncommitted regie.Cents `json:"uncommitted_in_window"`
	// DaysLeft is the number of days after the day of the outlook through
	// 31 December; RunRate is Uncommitted × DaysLeft / WindowDays.
	DaysLeft int         `json:"days_left"`
	RunRate  regie.Cents `json:"run_rate"`
	// YearEnd is settled + held + committed + RunRate.
	YearEnd     regie.Cents `json:"year_end"`
	Utilisation Share       `json:"utilisation"`
	// Overrun is YearEnd − budget when positive, else zero.
	Overrun regie.Cents `json:"overrun"`
	// CrossesOn is the day used would pass the budget if it grew evenly from
	// today to YearEnd on 31 December; null when YearEnd stays within the
	// budget, when used is beyond it already (see CrossedOn), or when no day
	// of the year is left.
	CrossesOn regie.Date `json:"crosses_on"`
}

// Project computes the outlook of a region as of today from its counters,
// the uncommitted claims booked in Window(r.Year, today) and the day it
// crossed its budget (MonitorState.CrossedOn). It reads nothing else.
func Project(r *RegionState, uncommitted regie.Cents, crossedOn regie.Date, today regie.Date) Outlook {
	used := r.Settled + r.Held
	o := Outlook{
		AsOf: today, Used: used,
		Utilisation:          ShareOf(used, r.Budget),
		UtilisationCommitted: ShareOf(used+r.Committed, r.Budget),
	}
	if used > r.Budget {
		o.CrossedOn = crossedOn
	}
	from, to, left := Window(r.Year, today)
	p := Projection{Method: ProjectionMethod, WindowFrom: from, WindowTo: to, DaysLeft: left}
	if to >= from {
		p.WindowDays = from.DaysThrough(to)
		p.Uncommitted = max(uncommitted, 0)
		p.RunRate = mulDivHalfUp(p.Uncommitted, regie.Cents(left), regie.Cents(p.WindowDays))
	}
	p.YearEnd = used + r.Committed + p.RunRate
	p.Utilisation = ShareOf(p.YearEnd, r.Budget)
	p.Overrun = max(p.YearEnd-r.Budget, 0)
	if used <= r.Budget && p.YearEnd > r.Budget && left > 0 {
		// used + (YearEnd − used)·k/left > budget for the first k.
		k := mulDivFloor(r.Budget-used, regie.Cents(left), p.YearEnd-used) + 1
		p.CrossesOn = today.AddDays(int(k))
	}
	o.Projection = p
	return o
}

// mulDivFloor is a × b / c rounded down, for non-negative a, b and positive c.
func mulDivFloor(a, b, c regie.Cents) regie.Cents {
	n := new(big.Int).Mul(big.NewInt(int64(a)), big.NewInt(int64(b)))
	return regie.Cents(n.Quo(n, big.NewInt(int64(c))).Int64())
}

// Metric is what an alert threshold watches.
type Metric string

const (
	// MetricUtilisation is used (settled + held) against the budget.
	MetricUtilisation Metric = "utilisation"
	// MetricProjected is the projected year-end total against the budget.
	MetricProjected Metric = "projected"
)

// Thresholds are a region's alert thresholds, percentages of the budget.
type Thresholds struct {
	Utilisation []Rate `json:"utilisation"`
	Projected   []Rate `json:"projected"`
}

// DefaultThresholds hold for a region whose funder set none.
var DefaultThresholds = Thresholds{
	Utilisation: []Rate{80 * RateScale, 90 * RateScale, 100 * RateScale},
	Projected:   []Rate{80 * RateScale, 90 * RateScale, 100 * RateScale},
}

// MaxThresholds is the most thresholds per metric.
const MaxThresholds = 10

// Validate checks the thresholds: each above 0 and at most 1000%, at most
// MaxThresholds per metric.
func (th Thresholds) Validate() error {
	for _, l := range [][]Rate{th.Utilisation, th.Projected} {
		if len(l) > MaxThresholds {
			return regie.FieldError("thresholds", "threshold_invalid", "at most %d thresholds per metric", MaxThresholds)
		}
		for _, r := range l {
			if r <= 0 || r > 1000*RateScale {
				return regie.FieldError("thresholds", "threshold_invalid", "a threshold is a percentage above 0 and at most 1000")
			}
		}
	}
	return nil
}

// normal returns the thresholds sorted and without duplicates, never nil.
func (th Thresholds) normal() Thresholds {
	n := func(l []Rate) []Rate {
		out := slices.Clone(l)
		slices.Sort(out)
		out = slices.Compact(out)
		if out == nil {
			out = []Rate{}
		}
		return out
	}
	return Thresholds{Utilisation: n(th.Utilisation), Projected: n(th.Projected)}
}

func (th *Thresholds) list(m Metric) *[]Rate {
	if m == MetricProjected {
		return &th.Projected
	}
	return &th.Utilisation
}

// Webhook is where a region's alerts are posted: a JSON POST signed with
// HMAC-SHA256 of the body under Secret.
type Webhook struct {
	URL    string `json:"url"`
	Secret string `json:"secret,omitempty"`
}

// MonitorState is a region's monitoring settings and alert state, kept by the
// store next to the region and changed in the same transactions.
type MonitorState struct {
	// Thresholds set by the funder; nil means DefaultThresholds.
	Thresholds *Thresholds `json:"thresholds,omitempty"`
	Webhook    *Webhook    `json:"webhook,omitempty"`
	// Above are the thresholds the figures are at or above now; an alert
	// fires when one is reached that is not in it, and it re-arms when the
	// figure falls below one that is.
	Above    Thresholds `json:"above"`
	AlertSeq uint64     `json:"alert_seq"`
	// CrossedOn is the day used went beyond the budget; zero while within.
	CrossedOn regie.Date `json:"crossed_on,omitzero"`
	// SettingsBy and SettingsAt tell who changed the settings last, when.
	SettingsBy string    `json:"settings_by,omitempty"`
	SettingsAt time.Time `json:"settings_at,omitzero"`
}

// EffectiveThresholds are the thresholds that hold for the region.
func (m *MonitorState) EffectiveThresholds() Thresholds {
	if m.Thresholds == nil {
		return DefaultThresholds.normal()
	}
	return m.Thresholds.normal()
}

// Alert is one crossing of a threshold: upward (the figure reached it) or
// downward (it fell back below, and the threshold is armed again).
type Alert struct {
	Region    string    `json:"region"`
	Seq       uint64    `json:"seq"`
	At        time.Time `json:"at"`
	Metric    Metric    `json:"metric"`
	Threshold Rate      `json:"threshold"`
	Direction string    `json:"direction"` // AlertUp or AlertDown
	// Value is the metric now: utilisation, or projected utilisation.
	Value Share `json:"value"`
	// Amount is used (settled + held), or the projected year-end total.
	Amount regie.Cents `json:"amount"`
	Budget regie.Cents `json:"budget"`
	// JournalSeq is the region's journal head in the step that caused it.
	JournalSeq uint64 `json:"journal_seq"`
}

// Directions of an alert.
const (
	AlertUp   = "up"
	AlertDown = "down"
)

// Evaluate compares the region's figures and outlook with the thresholds,
// updates m (Above, CrossedOn) and returns the crossings since the last
// evaluation, without sequence numbers (the store numbers them). A store
// calls it at the end of every transaction that appended an entry of the
// region, and when the settings change.
func (m *MonitorState) Evaluate(r *RegionState, o Outlook, at time.Time) []Alert {
	th := m.EffectiveThresholds()
	above := m.Above.normal()
	var out []Alert
	for _, c := range []struct {
		metric Metric
		amount regie.Cents
		value  Share
	}{
		{MetricUtilisation, o.Used, o.Utilisation},
		{MetricProjected, o.Projection.YearEnd, o.Projection.Utilisation},
	} {
		was := *above.list(c.metric)
		now := []Rate{}
		for _, t := range *th.list(c.metric) {
			reached, in := reaches(c.amount, r.Budget, t), slices.Contains(was, t)
			if reached {
				now = append(now, t)
			}
			switch {
			case reached && !in:
				out = append(out, Alert{Metric: c.metric, Threshold: t, Direction: AlertUp, Value: c.value, Amount: c.amount})
			case !reached && in:
				out = append(out, Alert{Metric: c.metric, Threshold: t, Direction: AlertDown, Value: c.value, Amount: c.amount})
			}
		}
		*above.list(c.metric) = now // thresholds no longer set are forgotten
	}
	m.Above = above
	switch used := r.Settled + r.Held; {
	case used > r.Budget && m.CrossedOn.IsZero():
		m.CrossedOn = regie.DateOf(at)
	case used <= r.Budget:
		m.CrossedOn = 0
	}
	for i := range out {
		out[i].Region, out[i].At, out[i].Budget, out[i].JournalSeq = r.ID, at.UTC(), r.Budget, r.JournalSeq
	}
	return out
}

// Change tells that a commit changed a region: its figures, policy or journal.
type Change struct {
	Region string
	// Alerts is the number of alerts the commit recorded, the last of them
	// with seq LastAlert.
	Alerts    int
	LastAlert uint64
}

// Delivery is an alert waiting to be posted to its region's webhook.
type Delivery struct {
	Alert Alert
	// Webhook is the region's webhook now (nil when it was removed).
	Webhook *Webhook
	// Attempts made so far.
	Attempts int
	NextAt   time.Time
}

// DeliveryAttempt is one attempt to post an alert, as the delivery log keeps it.
type DeliveryAttempt struct {
	Region   string    `json:"region"`
	AlertSeq uint64    `json:"alert_seq"`
	Attempt  int       `json:"attempt"`
	At       time.Time `json:"at"`
	URL      string    `json:"url"`
	// Status is the receiver's HTTP status; 0 when there was no answer.
	Status     int    `json:"status,omitempty"`
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	// Outcome is delivered (2xx), retry (another attempt at NextAt), failed
	// (no attempts left) or dropped (the region has no webhook any more).
	Outcome string    `json:"outcome"`
	NextAt  time.Time `json:"next_at,omitzero"`
}

// Outcomes of a delivery attempt.
const (
	OutcomeDelivered = "delivered"
	OutcomeRetry     = "retry"
	OutcomeFailed    = "failed"
	OutcomeDropped   = "dropped"
)

// KeyedTally is a tally with what it is of: a provider's AGB code, a product,
// or a region.
type KeyedTally struct {
	Key string
	Tally
}

// DayTally is the tally of one day.
type DayTally struct {
	Day regie.Date
	Tally
}

// Monitoring is the store side of monitoring. The tallies it reads are
// changed in the same transaction as every journal entry (TallyOf); the
// alert state is evaluated at the end of each such transaction.
type Monitoring interface {
	// Outlook reads in one view the region, its monitoring state, and the sum
	// of Uncommitted of its day tallies in Window(year, today).
	// Returns NotFound "region_not_found".
	Outlook(ctx context.Context, region string, today regie.Date) (RegionState, MonitorState, regie.Cents, error)

	// ProviderTallies returns the region's running totals per provider, by
	// AGB code. Returns NotFound "region_not_found".
	ProviderTallies(ctx context.Context, region string) ([]KeyedTally, error)

	// ProductTallies returns the region's running totals per product, by
	// product. Returns NotFound "region_not_found".
	ProductTallies(ctx context.Context, region string) ([]KeyedTally, error)

	// Days returns the region's day tallies from–to (days without entries
	// have none), oldest first, and the sum of all its day tallies before
	// from. Returns NotFound "region_not_found".
	Days(ctx context.Context, region string, from, to regie.Date) (before Tally, days []DayTally, err error)

	// ProviderRegions returns a provider's tally in every region where it
	// has one or is qualified (a zero tally), by region.
	ProviderRegions(ctx context.Context, agb string) ([]KeyedTally, error)

	// ProviderClaims returns up to limit recorded claims of a provider with a
	// claim id after after, in claim id order; with region set, only those
	// decided in that region.
	ProviderClaims(ctx context.Context, agb, region, after string, limit int) ([]ClaimRecord, error)

	// Monitor returns the region's monitoring state.
	// Returns NotFound "region_not_found".
	Monitor(ctx context.Context, region string) (MonitorState, error)

	// UpdateMonitor changes the region's monitoring settings with fn and
	// evaluates the alerts at once, in one transaction, as of now.
	// Returns NotFound "region_not_found", or fn's error.
	UpdateMonitor(ctx context.Context, region string, fn func(*MonitorState) error, by string, now time.Time) (MonitorState, error)

	// Alerts returns up to limit alerts of the region with a seq above after,
	// oldest first. Returns NotFound "region_not_found".
	Alerts(ctx context.Context, region string, after uint64, limit int) ([]Alert, error)

	// DueDeliveries returns up to limit alerts waiting for their webhook
	// whose next attempt is due at now, with the region's webhook now.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error)

	// RecordDelivery appends an attempt to the delivery log and, by its
	// outcome, removes the alert from the waiting ones or sets its next attempt.
	RecordDelivery(ctx context.Context, a DeliveryAttempt) error

	// Deliveries returns the region's newest delivery attempts, newest
	// first, at most limit. Returns NotFound "region_not_found".
	Deliveries(ctx context.Context, region string, limit int) ([]DeliveryAttempt, error)

	// ExportClaims calls fn with the region's recorded claims decided from–to
	// (Europe/Amsterdam dates; zero for no bound): the settled and held ones
	// in journal order, then the rejected ones by decision day. It reads in
	// short transactions, so that a slow fn holds no transaction open, and
	// stops at fn's error and returns it. Returns NotFound "region_not_found".
	ExportClaims(ctx context.Context, region string, from, to regie.Date, fn func(ClaimRecord) error) error

	// ExportJournal calls fn with the region's journal entries booked from–to
	// in sequence order, in short transactions like ExportClaims.
	ExportJournal(ctx context.Context, region string, from, to regie.Date, fn func(Entry) error) error

	// Watch calls fn after every commit that changed a region, on the
	// committing goroutine: fn must not block. stop ends the calls.
	Watch(fn func(Change)) (stop func())
}

// String describes an alert for logs: "r1 #3 utilisation up 90.00%".
func (a Alert) String() string {
	return a.Region + " #" + strconv.FormatUint(a.Seq, 10) + " " + string(a.Metric) + " " + a.Direction + " " + a.Threshold.String() + "%"
}
