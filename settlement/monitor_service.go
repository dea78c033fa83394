package settlement

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/regie-nl/regie"
)

// The monitoring side of Service: live figures with their outlook, drill-downs,
// the daily series, alerts and their settings, the provider's view and
// exports. Every method checks the caller's role and scope first; the
// methods without a principal serve the server's own event stream and
// webhook sender.

// today is the service clock's civil date.
func (s *Service) today() regie.Date { return regie.DateOf(s.now()) }

// live reads a region's figures with their outlook as of today.
func (s *Service) live(ctx context.Context, region string) (Figures, error) {
	today := s.today()
	r, st, u, err := s.Ledger.Outlook(ctx, region, today)
	if err != nil {
		return Figures{}, err
	}
	r.Roll(today)
	f := r.Figures()
	f.Outlook = Project(&r, u, st.CrossedOn, today)
	return f, nil
}

// withOutlook adds the outlook as of today to figures a lever answered; the
// counters are the lever's own (atomic with it), the run-rate window is read
// now.
func (s *Service) withOutlook(ctx context.Context, f Figures) (Figures, error) {
	today := s.today()
	_, st, u, err := s.Ledger.Outlook(ctx, f.Region, today)
	if err != nil {
		return Figures{}, err
	}
	r := RegionState{Region: Region{ID: f.Region, Year: f.Year, Budget: f.Budget}, Settled: f.Settled, Held: f.Held, Committed: f.Committed}
	f.Outlook = Project(&r, u, st.CrossedOn, today)
	return f, nil
}

// LiveFigures returns a region's figures with their outlook, without a role
// check: for the server's event stream, which checked its listener when it
// connected. Errors: NotFound "region_not_found".
func (s *Service) LiveFigures(ctx context.Context, region string) (Figures, error) {
	return s.live(ctx, region)
}

// Watch calls fn after every commit that changed a region (see
// Monitoring.Watch); fn must not block.
func (s *Service) Watch(fn func(Change)) (stop func()) { return s.Ledger.Watch(fn) }

// monitorScope checks a funder or auditor of the region.
func monitorScope(p regie.Principal, region string) error {
	return regionScope(p, region, regie.RoleFunder, regie.RoleAuditor)
}

// ProviderFigures are one provider's totals in a region: the drill-down of
// the region's figures per provider.
type ProviderFigures struct {
	ProviderAGB string      `json:"provider_agb"`
	Settled     regie.Cents `json:"settled"`
	Held        regie.Cents `json:"held"`
	Paid        regie.Cents `json:"paid"`
	Claims      int64       `json:"claims"`
	Uncommitted regie.Cents `json:"uncommitted"`
	// Share is settled / the region's settled.
	Share Share `json:"share"`
}

// ProductFigures are one product's totals in a region.
type ProductFigures struct {
	Product   string      `json:"product"`
	Settled   regie.Cents `json:"settled"`
	Held      regie.Cents `json:"held"`
	Committed regie.Cents `json:"committed"`
	// Paid excludes year-end prorata adjustments, which are per provider.
	Paid        regie.Cents `json:"paid"`
	Claims      int64       `json:"claims"`
	Uncommitted regie.Cents `json:"uncommitted"`
	// Share is settled + held / the region's settled + held.
	Share Share `json:"share"`
}

// Breakdown is the drill-down of a region's figures.
type Breakdown[T any] struct {
	Region  string  `json:"region"`
	Figures Figures `json:"figures"`
	Items   []T     `json:"items"`
}

// ProviderBreakdown returns the region's figures per provider, largest
// settled first, to its funders and auditors.
// Errors: Forbidden "role_forbidden" / "scope_forbidden"; NotFound "region_not_found".
func (s *Service) ProviderBreakdown(ctx context.Context, p regie.Principal, region string) (Breakdown[ProviderFigures], error) {
	if err := monitorScope(p, region); err != nil {
		return Breakdown[ProviderFigures]{}, err
	}
	f, err := s.live(ctx, region)
	if err != nil {
		return Breakdown[ProviderFigures]{}, err
	}
	ts, err := s.Ledger.ProviderTallies(ctx, region)
	if err != nil {
		return Breakdown[ProviderFigures]{}, err
	}
	items := make([]ProviderFigures, 0, len(ts))
	for _, t := range ts {
		items = append(items, ProviderFigures{
			ProviderAGB: t.Key, Settled: t.Settled, Held: t.Held, Paid: t.Paid, Claims: t.Claims,
			Uncommitted: t.Uncommitted, Share: ShareOf(t.Settled, f.Settled),
		})
	}
	slices.SortStableFunc(items, func(a, b ProviderFigures) int {
		if a.Settled != b.Settled {
			return cmpDesc(a.Settled, b.Settled)
		}
		return strings.Compare(a.ProviderAGB, b.ProviderAGB)
	})
	return Breakdown[ProviderFigures]{Region: region, Figures: f, Items: items}, nil
}

// ProductBreakdown returns the region's figures per product, by product, to
// its funders and auditors. Errors as ProviderBreakdown.
func (s *Service) ProductBreakdown(ctx context.Context, p regie.Principal, region string) (Breakdown[ProductFigures], error) {
	if err := monitorScope(p, region); err != nil {
		return Breakdown[ProductFigures]{}, err
	}
	f, err := s.live(ctx, region)
	if err != nil {
		return Breakdown[ProductFigures]{}, err
	}
	ts, err := s.Ledger.ProductTallies(ctx, region)
	if err != nil {
		return Breakdown[ProductFigures]{}, err
	}
	items := make([]ProductFigures, 0, len(ts))
	for _, t := range ts {
		items = append(items, ProductFigures{
			Product: t.Key, Settled: t.Settled, Held: t.Held, Committed: t.Committed, Paid: t.Paid,
			Claims: t.Claims, Uncommitted: t.Uncommitted, Share: ShareOf(t.Settled+t.Held, f.Settled+f.Held),
		})
	}
	return Breakdown[ProductFigures]{Region: region, Figures: f, Items: items}, nil
}

func cmpDesc(a, b regie.Cents) int {
	if a > b {
		return -1
	}
	return 1
}

// SeriesDay is one day of a region's series: what changed that day (the
// flows, by booking day in Europe/Amsterdam) and the running totals at its end.
type SeriesDay struct {
	Day regie.Date `json:"day"`
	Tally
	Totals Tally `json:"totals"`
}

// Series is a region's daily time series, one element per day from From
// through To.
type Series struct {
	Region string      `json:"region"`
	From   regie.Date  `json:"from"`
	To     regie.Date  `json:"to"`
	Days   []SeriesDay `json:"days"`
}

// MaxSeriesDays is the longest series one request may ask for.
const MaxSeriesDays = 731

// Series returns the region's daily series from–to to its funders and
// auditors. A zero from is 1 January of the region's year; a zero to is 31
// December of it, or today when that is later (claims for the year arrive
// after it ends), at most MaxSeriesDays after from.
// Errors: Forbidden; NotFound "region_not_found"; Invalid "period_invalid".
func (s *Service) Series(ctx context.Context, p regie.Principal, region string, from, to regie.Date) (Series, error) {
	if err := monitorScope(p, region); err != nil {
		return Series{}, err
	}
	f, err := s.live(ctx, region)
	if err != nil {
		return Series{}, err
	}
	if from.IsZero() {
		from = regie.DateOf(time.Date(f.Year, 1, 1, 12, 0, 0, 0, regie.Amsterdam))
	}
	if to.IsZero() {
		last := regie.DateOf(time.Date(f.Year, 12, 31, 12, 0, 0, 0, regie.Amsterdam))
		to = min(max(last, s.today()), from.AddDays(MaxSeriesDays-1))
	}
	if to < from || from.DaysThrough(to) > MaxSeriesDays {
		return Series{}, regie.FieldError("to", "period_invalid", "a series runs from a day through a later one, at most %d days", MaxSeriesDays)
	}
	before, days, err := s.Ledger.Days(ctx, region, from, to)
	if err != nil {
		return Series{}, err
	}
	out := Series{Region: region, From: from, To: to, Days: make([]SeriesDay, 0, from.DaysThrough(to))}
	total := before
	i := 0
	for d := from; d <= to; d++ {
		day := SeriesDay{Day: d}
		if i < len(days) && days[i].Day == d {
			day.Tally = days[i].Tally
			i++
		}
		total.Add(day.Tally)
		day.Totals = total
		out.Days = append(out.Days, day)
	}
	return out, nil
}

// AlertSettings are a region's alert settings as its funders and auditors see
// them: never the webhook's secret.
type AlertSettings struct {
	Region     string     `json:"region"`
	Thresholds Thresholds `json:"thresholds"`
	// Default is set while the funder has set no thresholds.
	Default bool         `json:"default"`
	Webhook *WebhookView `json:"webhook"`
	// Above are the thresholds the figures are at or above now.
	Above      Thresholds `json:"above"`
	LastAlert  uint64     `json:"last_alert_seq"`
	SettingsBy string     `json:"settings_by,omitempty"`
	SettingsAt time.Time  `json:"settings_at,omitzero"`
}

// WebhookView is a webhook without its secret.
type WebhookView struct {
	URL       string `json:"url"`
	SecretSet bool   `json:"secret_set"`
}

func settingsView(region string, st MonitorState) AlertSettings {
	v := AlertSettings{
		Region: region, Thresholds: st.EffectiveThresholds(), Default: st.Thresholds == nil,
		Above: st.Above.normal(), LastAlert: st.AlertSeq, SettingsBy: st.SettingsBy, SettingsAt: st.SettingsAt,
	}
	if st.Webhook != nil {
		v.Webhook = &WebhookView{URL: st.Webhook.URL, SecretSet: st.Webhook.Secret != ""}
	}
	return v
}

// AlertSettingsInput replaces a region's alert settings. Thresholds nil means
// the defaults; Webhook nil means no webhook. A webhook without a secret
// keeps the secret already set.
type AlertSettingsInput struct {
	Thresholds *Thresholds `json:"thresholds"`
	Webhook    *Webhook    `json:"webhook"`
}

// Alerts reads a region's alert settings, for its funders and auditors.
func (s *Service) AlertSettings(ctx context.Context, p regie.Principal, region string) (AlertSettings, error) {
	if err := monitorScope(p, region); err != nil {
		return AlertSettings{}, err
	}
	st, err := s.Ledger.Monitor(ctx, region)
	if err != nil {
		return AlertSettings{}, err
	}
	return settingsView(region, st), nil
}

// SetAlertSettings lets a funder of the region set its thresholds and
// webhook. The thresholds are evaluated at once: one the figures already
// reach fires now. Errors: Forbidden; NotFound "region_not_found"; Invalid
// "threshold_invalid", "webhook_invalid", "secret_invalid".
func (s *Service) SetAlertSettings(ctx context.Context, p regie.Principal, region string, in AlertSettingsInput) (AlertSettings, error) {
	if err := regionScope(p, region, regie.RoleFunder); err != nil {
		return AlertSettings{}, err
	}
	if in.Thresholds != nil {
		if err := in.Thresholds.Validate(); err != nil {
			return AlertSettings{}, err
		}
		th := in.Thresholds.normal()
		in.Thresholds = &th
	}
	if in.Webhook != nil {
		if err := checkWebhookURL(in.Webhook.URL); err != nil {
			return AlertSettings{}, err
		}
		if n := utf8.RuneCountInString(in.Webhook.Secret); in.Webhook.Secret != "" && (n < 16 || n > 256) {
			return AlertSettings{}, regie.FieldError("webhook.secret", "secret_invalid", "a webhook secret has 16–256 characters")
		}
	}
	st, err := s.Ledger.UpdateMonitor(ctx, region, func(st *MonitorState) error {
		st.Thresholds = in.Thresholds
		if in.Webhook == nil {
			st.Webhook = nil
			return nil
		}
		wh := *in.Webhook
		if wh.Secret == "" {
			if st.Webhook == nil || st.Webhook.Secret == "" {
				return regie.FieldError("webhook.secret", "secret_invalid", "a new webhook needs a secret of 16–256 characters")
			}
			wh.Secret = st.Webhook.Secret
		}
		st.Webhook = &wh
		return nil
	}, "funder:"+p.Subject, s.now())
	if err != nil {
		return AlertSettings{}, err
	}
	return settingsView(region, st), nil
}

func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(raw) > 2000 || u.User != nil || u.Fragment != "" {
		return regie.FieldError("webhook.url", "webhook_invalid", "a webhook is an absolute http(s) URL without credentials, at most 2000 characters")
	}
	return nil
}

// MaxPage is the most items one page of alerts, deliveries or claims holds.
const MaxPage = 1000

func pageSize(limit int) (int, error) {
	switch {
	case limit == 0:
		return 100, nil
	case limit < 0 || limit > MaxPage:
		return 0, regie.FieldError("limit", "query_invalid", "limit must be 1–%d", MaxPage)
	}
	return limit, nil
}

// Alerts returns a region's alerts with a seq above after, oldest first, to
// its funders and auditors. Errors: Forbidden; NotFound; Invalid "query_invalid".
func (s *Service) Alerts(ctx context.Context, p regie.Principal, region string, after uint64, limit int) ([]Alert, error) {
	if err := monitorScope(p, region); err != nil {
		return nil, err
	}
	n, err := pageSize(limit)
	if err != nil {
		return nil, err
	}
	return s.Ledger.Alerts(ctx, region, after, n)
}

// AlertsSince returns alerts without a role check, for the server's event
// stream (a reconnecting listener's Last-Event-ID) and webhook sender.
func (s *Service) AlertsSince(ctx context.Context, region string, after uint64, limit int) ([]Alert, error) {
	return s.Ledger.Alerts(ctx, region, after, limit)
}

// Deliveries returns the newest webhook delivery attempts of a region, newest
// first, to its funders and auditors.
func (s *Service) Deliveries(ctx context.Context, p regie.Principal, region string, limit int) ([]DeliveryAttempt, error) {
	if err := monitorScope(p, region); err != nil {
		return nil, err
	}
	n, err := pageSize(limit)
	if err != nil {
		return nil, err
	}
	return s.Ledger.Deliveries(ctx, region, n)
}

// DueDeliveries and RecordDelivery serve the server's webhook sender, which
// keeps its own (wall) clock for retries: now is its time.
func (s *Service) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error) {
	return s.Ledger.DueDeliveries(ctx, now, limit)
}

// RecordDelivery records one attempt of the webhook sender.
func (s *Service) RecordDelivery(ctx context.Context, a DeliveryAttempt) error {
	return s.Ledger.RecordDelivery(ctx, a)
}

// Funding statuses of a claim in the provider's view.
const (
	FundingWithin   = "within_budget" // settled and paid in full, within the budget
	FundingBeyond   = "beyond_budget" // settled beyond the budget (monitor), while the region still is beyond it
	FundingHeld     = "held"          // held under the hold policy: not payable until released
	FundingAdjusted = "adjusted"      // paid at a reduced rate: prorata, provisional or final
	FundingReversed = "reversed"      // undone: not funded
	FundingRejected = "rejected"      // never funded
)

// FundingOf is the funding status of a recorded claim in the region as it is now.
func FundingOf(rec *ClaimRecord, r *RegionState) string {
	switch rec.State {
	case StateRejected:
		return FundingRejected
	case StateReversed:
		return FundingReversed
	case StateHeld:
		return FundingHeld
	}
	if rec.Paid < rec.Amount && !(r.Closed && r.FinalRate >= 100*RateScale) {
		return FundingAdjusted
	}
	if rec.BeyondBudget && r.Settled+r.Held > r.Budget {
		return FundingBeyond
	}
	return FundingWithin
}

// What a claim sent to a region now would get, for the provider's view.
const (
	NewClaimsPaid         = "paid"                      // settled and paid in full
	NewClaimsBeyondBudget = "paid_beyond_budget"        // monitor: settled, but the budget is used up
	NewClaimsProvisional  = "paid_provisionally"        // prorata: a provisional share now, the final rate at year end
	NewClaimsHeld         = "held"                      // hold: beyond the threshold, held until the funder releases
	NewClaimsRejected     = "rejected_budget_exhausted" // cap: the budget is used up
	NewClaimsClosed       = "rejected_year_closed"
)

// NewClaims says what a claim sent to the region now would get, by its policy
// of today and its figures (a claim of any amount above zero).
func NewClaims(r *RegionState, today regie.Date) string {
	pol := r.PolicyAt(today)
	used := r.Settled + r.Held
	switch {
	case r.Closed:
		return NewClaimsClosed
	case pol.Kind == Cap && used >= r.Budget:
		return NewClaimsRejected
	case pol.Kind == Hold && used >= pol.HoldThreshold.Of(r.Budget):
		return NewClaimsHeld
	case pol.Kind == ProRata:
		return NewClaimsProvisional
	case used >= r.Budget:
		return NewClaimsBeyondBudget
	}
	return NewClaimsPaid
}

// ProviderRegion is a provider's position in one region, and the region's.
type ProviderRegion struct {
	Region string `json:"region"`
	Name   string `json:"name"`
	Year   int    `json:"year"`
	Policy Policy `json:"policy"`
	Closed bool   `json:"closed"`
	// The provider in the region: settled (claimed), held, paid, claims.
	Claimed regie.Cents `json:"claimed"`
	Held    regie.Cents `json:"held"`
	Paid    regie.Cents `json:"paid"`
	Claims  int64       `json:"claims"`
	// Share is claimed / the region's settled.
	Share Share `json:"share"`
	// The region.
	Budget      regie.Cents `json:"budget"`
	Settled     regie.Cents `json:"region_settled"`
	Remaining   regie.Cents `json:"remaining"`
	Utilisation Share       `json:"utilisation"`
	Projection  Projection  `json:"projection"`
	// NewClaims is what a claim sent now would get (NewClaims).
	NewClaims string `json:"new_claims"`
}

// ProviderFunding is the provider's view of its funding.
type ProviderFunding struct {
	ProviderAGB string           `json:"provider_agb"`
	AsOf        regie.Date       `json:"as_of"`
	Regions     []ProviderRegion `json:"regions"`
}

// ownProvider checks that the caller is the provider agb.
func ownProvider(p regie.Principal, agb string) error {
	if err := p.Require(regie.RoleProvider); err != nil {
		return err
	}
	if p.Subject != agb {
		return regie.Errorf(regie.Forbidden, "scope_forbidden", "you may see your own funding only")
	}
	return nil
}

// ProviderFunding returns a provider's share and position in every region it
// claimed in or is qualified in, to that provider.
// Errors: Forbidden "role_forbidden" / "scope_forbidden".
func (s *Service) ProviderFunding(ctx context.Context, p regie.Principal, agb string) (ProviderFunding, error) {
	if err := ownProvider(p, agb); err != nil {
		return ProviderFunding{}, err
	}
	ts, err := s.Ledger.ProviderRegions(ctx, agb)
	if err != nil {
		return ProviderFunding{}, err
	}
	today := s.today()
	out := ProviderFunding{ProviderAGB: agb, AsOf: today, Regions: make([]ProviderRegion, 0, len(ts))}
	for _, t := range ts {
		r, st, u, err := s.Ledger.Outlook(ctx, t.Key, today)
		if err != nil {
			return ProviderFunding{}, err
		}
		r.Roll(today)
		o := Project(&r, u, st.CrossedOn, today)
		out.Regions = append(out.Regions, ProviderRegion{
			Region: r.ID, Name: r.Name, Year: r.Year, Policy: r.Policy, Closed: r.Closed,
			Claimed: t.Settled, Held: t.Held, Paid: t.Paid, Claims: t.Claims, Share: ShareOf(t.Settled, r.Settled),
			Budget: r.Budget, Settled: r.Settled, Remaining: r.Budget - r.Settled - r.Held,
			Utilisation: o.Utilisation, Projection: o.Projection, NewClaims: NewClaims(&r, today),
		})
	}
	return out, nil
}

// ProviderClaim is a recorded claim with its funding status now.
type ProviderClaim struct {
	ClaimRecord
	Funding string `json:"funding"`
}

// ProviderClaims returns one page of a provider's claims with their funding
// status, in claim id order after after, only those of region when set; next
// is the claim id to pass as after for the next page, "" at the end.
// Errors: Forbidden; Invalid "query_invalid".
func (s *Service) ProviderClaims(ctx context.Context, p regie.Principal, agb, region, after string, limit int) (claims []ProviderClaim, next string, err error) {
	if err := ownProvider(p, agb); err != nil {
		return nil, "", err
	}
	n, err := pageSize(limit)
	if err != nil {
		return nil, "", err
	}
	recs, err := s.Ledger.ProviderClaims(ctx, agb, region, after, n)
	if err != nil {
		return nil, "", err
	}
	regions := map[string]*RegionState{}
	today := s.today()
	out := make([]ProviderClaim, 0, len(recs))
	for i := range recs {
		rec := &recs[i]
		r, ok := regions[rec.Region]
		if !ok && rec.Region != "" {
			st, err := s.Ledger.Region(ctx, rec.Region)
			if err != nil {
				return nil, "", err
			}
			st.Roll(today)
			r, regions[rec.Region] = &st, &st
		}
		pc := ProviderClaim{ClaimRecord: *rec, Funding: FundingRejected}
		if r != nil {
			pc.Funding = FundingOf(rec, r)
		}
		out = append(out, pc)
	}
	if len(recs) == n {
		next = recs[n-1].ClaimID
	}
	return out, next, nil
}

// Export streams rows of an export; see ExportClaims.
type Export[T any] func(ctx context.Context, fn func(T) error) error

// checkExport checks the caller and the period of an export.
func (s *Service) checkExport(ctx context.Context, p regie.Principal, region string, from, to regie.Date) error {
	if err := monitorScope(p, region); err != nil {
		return err
	}
	if !from.IsZero() && !to.IsZero() && to < from {
		return regie.FieldError("to", "period_invalid", "to lies before from")
	}
	_, err := s.Ledger.Monitor(ctx, region) // the region exists
	return err
}

// ExportClaims checks that the caller (funder or auditor of the region) may
// export the region's claims decided from–to (zero for no bound) and returns
// the stream of them, in order of decision day; nothing is read until it is
// called. Errors: Forbidden; NotFound "region_not_found"; Invalid "period_invalid".
func (s *Service) ExportClaims(ctx context.Context, p regie.Principal, region string, from, to regie.Date) (Export[ClaimRecord], error) {
	if err := s.checkExport(ctx, p, region, from, to); err != nil {
		return nil, err
	}
	return func(ctx context.Context, fn func(ClaimRecord) error) error {
		return s.Ledger.ExportClaims(ctx, region, from, to, fn)
	}, nil
}

// ExportJournal is ExportClaims for the region's journal entries booked from–to.
func (s *Service) ExportJournal(ctx context.Context, p regie.Principal, region string, from, to regie.Date) (Export[Entry], error) {
	if err := s.checkExport(ctx, p, region, from, to); err != nil {
		return nil, err
	}
	return func(ctx context.Context, fn func(Entry) error) error {
		return s.Ledger.ExportJournal(ctx, region, from, to, fn)
	}, nil
}
