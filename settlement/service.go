package settlement

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/voucher"
)

// Service takes claims from providers, lets clients dispute them and gives
// funders and auditors the figures and the levers. Every method checks the
// caller's role and scope before it reads or writes anything.
type Service struct {
	Ledger   Ledger
	Vouchers *voucher.Service // for the voucher read scope of clients
	Choices  matching.Store   // for the scope of ending an assignment
	Keys     *voucher.KeyRing // signs checkpoints and verifies them
	Now      func() time.Time // the clock; time.Now when nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// MaxBatchLines is the most claim lines one batch may hold.
const MaxBatchLines = 10000

// Submit decides a provider's claim. The provider is the caller. With dryRun
// the decision is answered and nothing is written. Errors: Forbidden
// "role_forbidden"; Invalid (see Claim.Validate); Conflict
// "claim_id_conflict". A rejected claim is a Decision, not an error.
func (s *Service) Submit(ctx context.Context, p regie.Principal, c Claim, dryRun bool) (Decision, bool, error) {
	if err := p.Require(regie.RoleProvider); err != nil {
		return Decision{}, false, err
	}
	c.ProviderAGB = p.Subject
	if err := c.Validate(); err != nil {
		return Decision{}, false, err
	}
	if dryRun {
		return s.Ledger.DrySettle(ctx, c, s.now())
	}
	return s.Ledger.Settle(ctx, c, s.now())
}

// SubmitBatch decides up to MaxBatchLines claims of the calling provider, one
// result per line in order; a line that fails validation gets its error and
// does not stop the others. Errors: Forbidden; Invalid "batch_size".
func (s *Service) SubmitBatch(ctx context.Context, p regie.Principal, cs []Claim) ([]LineResult, error) {
	if err := p.Require(regie.RoleProvider); err != nil {
		return nil, err
	}
	if len(cs) == 0 || len(cs) > MaxBatchLines {
		return nil, regie.FieldError("claims", "batch_size", "a batch holds 1 to %d claims", MaxBatchLines)
	}
	out := make([]LineResult, len(cs))
	valid := make([]Claim, 0, len(cs))
	index := make([]int, 0, len(cs))
	for i := range cs {
		cs[i].ProviderAGB = p.Subject
		if err := cs[i].Validate(); err != nil {
			out[i].Err = err
			continue
		}
		valid = append(valid, cs[i])
		index = append(index, i)
	}
	if len(valid) == 0 {
		return out, nil
	}
	res, err := s.Ledger.SettleBatch(ctx, valid, s.now())
	if err != nil {
		return nil, err
	}
	for j, r := range res {
		out[index[j]] = r
	}
	return out, nil
}

// Decision returns the calling provider's recorded decision on one of its claims.
// Errors: Forbidden "role_forbidden"; NotFound "claim_not_found".
func (s *Service) Decision(ctx context.Context, p regie.Principal, claimID string) (Decision, error) {
	if err := p.Require(regie.RoleProvider); err != nil {
		return Decision{}, err
	}
	return s.Ledger.Decision(ctx, p.Subject, claimID)
}

// Claim returns a claim with its state now to its provider.
// Errors: Forbidden; NotFound "claim_not_found".
func (s *Service) Claim(ctx context.Context, p regie.Principal, claimID string) (ClaimRecord, error) {
	if err := p.Require(regie.RoleProvider); err != nil {
		return ClaimRecord{}, err
	}
	return s.Ledger.Claim(ctx, p.Subject, claimID)
}

// VoucherClaims is the statement of a voucher: every claim made on it, for
// whoever may read the voucher (its client first of all).
func (s *Service) VoucherClaims(ctx context.Context, p regie.Principal, voucherID string) ([]ClaimRecord, error) {
	if _, err := s.Vouchers.Voucher(ctx, p, voucherID); err != nil {
		return nil, err
	}
	recs, err := s.Ledger.VoucherClaims(ctx, voucherID)
	if err != nil || p.Role != regie.RoleProvider {
		return recs, err
	}
	// A provider sees only its own claims on a shared voucher.
	own := recs[:0]
	for _, r := range recs {
		if r.ProviderAGB == p.Subject {
			own = append(own, r)
		}
	}
	return own, nil
}

func checkReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > 500 {
		return "", regie.FieldError("reason", "reason_required", "a reason of 1–500 characters is required")
	}
	return reason, nil
}

// Reverse lets a provider undo one of its own settled or held claims, with a
// reason. Errors: Forbidden; Invalid "reason_required"; NotFound
// "claim_not_found"; Conflict "claim_not_reversible", "budget_year_closed".
func (s *Service) Reverse(ctx context.Context, p regie.Principal, claimID, reason string) (ClaimRecord, error) {
	if err := p.Require(regie.RoleProvider); err != nil {
		return ClaimRecord{}, err
	}
	reason, err := checkReason(reason)
	if err != nil {
		return ClaimRecord{}, err
	}
	return s.Ledger.Reverse(ctx, p.Subject, claimID, reason, "provider:"+p.Subject, s.now())
}

// Dispute lets the client of a voucher dispute a claim made on it within the
// region's dispute window. Errors: Forbidden; Invalid "reason_required";
// NotFound "claim_not_found"; Conflict "claim_not_disputable",
// "dispute_window_closed".
func (s *Service) Dispute(ctx context.Context, p regie.Principal, providerAGB, claimID, reason string) (ClaimRecord, error) {
	if err := p.Require(regie.RoleClient); err != nil {
		return ClaimRecord{}, err
	}
	reason, err := checkReason(reason)
	if err != nil {
		return ClaimRecord{}, err
	}
	rec, err := s.Ledger.Claim(ctx, providerAGB, claimID)
	if err != nil {
		return ClaimRecord{}, err
	}
	if _, err := s.Vouchers.Voucher(ctx, p, rec.VoucherID); err != nil {
		if regie.ErrorKind(err) == regie.Forbidden {
			// Another client's claim answers as one that does not exist, so
			// that claim ids cannot be probed.
			return ClaimRecord{}, regie.Errorf(regie.NotFound, "claim_not_found", "no such claim on your vouchers")
		}
		return ClaimRecord{}, err
	}
	return s.Ledger.OpenDispute(ctx, providerAGB, claimID, reason, s.now())
}

// ResolveDispute lets a funder of the region uphold (reverse the claim) or
// dismiss an open dispute of a claim in that region. Errors: Forbidden;
// Invalid "reason_required"; NotFound "claim_not_found"; Conflict
// "dispute_not_open".
func (s *Service) ResolveDispute(ctx context.Context, p regie.Principal, region, providerAGB, claimID string, uphold bool, resolution string) (ClaimRecord, error) {
	if err := regionScope(p, region, regie.RoleFunder); err != nil {
		return ClaimRecord{}, err
	}
	resolution, err := checkReason(resolution)
	if err != nil {
		return ClaimRecord{}, err
	}
	rec, err := s.Ledger.Claim(ctx, providerAGB, claimID)
	if err != nil {
		return ClaimRecord{}, err
	}
	if rec.Region != region {
		return ClaimRecord{}, regie.Errorf(regie.NotFound, "claim_not_found", "no such claim in region %s", region)
	}
	return s.Ledger.ResolveDispute(ctx, providerAGB, claimID, uphold, resolution, "funder:"+p.Subject, s.now())
}

// regionScope checks that the caller has one of the roles and the region in scope.
func regionScope(p regie.Principal, region string, roles ...regie.Role) error {
	if err := p.Require(roles...); err != nil {
		return err
	}
	return p.RequireRegion(region)
}

// Disputes lists the open disputes of a region to its funders and auditors.
func (s *Service) Disputes(ctx context.Context, p regie.Principal, region string) ([]ClaimRecord, error) {
	if err := regionScope(p, region, regie.RoleFunder, regie.RoleAuditor); err != nil {
		return nil, err
	}
	if _, err := s.Ledger.Region(ctx, region); err != nil {
		return nil, err // an unknown region is not one without disputes
	}
	return s.Ledger.Disputes(ctx, region)
}

// Figures returns a region's live budget figures with their outlook as of
// today (utilisation, projection; docs/monitoring.md) to its funders and
// auditors. Errors: Forbidden "role_forbidden" / "scope_forbidden"; NotFound "region_not_found".
func (s *Service) Figures(ctx context.Context, p regie.Principal, region string) (Figures, error) {
	if err := regionScope(p, region, regie.RoleFunder, regie.RoleAuditor); err != nil {
		return Figures{}, err
	}
	return s.live(ctx, region)
}

// Regions lists the budget regions (names and budgets) to any authenticated caller.
func (s *Service) Regions(ctx context.Context) ([]Region, error) { return s.Ledger.Regions(ctx) }

// ReviseBudget lets a funder of the region set a new budget with a reason.
// Errors: Forbidden; Invalid "budget_invalid", "reason_required"; NotFound.
func (s *Service) ReviseBudget(ctx context.Context, p regie.Principal, region string, budget regie.Cents, effective regie.Date, reason string) (Revision, error) {
	if err := regionScope(p, region, regie.RoleFunder); err != nil {
		return Revision{}, err
	}
	if budget < 0 {
		return Revision{}, regie.FieldError("budget", "budget_invalid", "a budget is not negative")
	}
	reason, err := checkReason(reason)
	if err != nil {
		return Revision{}, err
	}
	if effective.IsZero() {
		effective = regie.DateOf(s.now())
	}
	return s.Ledger.ReviseBudget(ctx, region, budget, effective, reason, "funder:"+p.Subject, s.now())
}

// Revisions lists a region's budget revisions to its funders and auditors.
func (s *Service) Revisions(ctx context.Context, p regie.Principal, region string) ([]Revision, error) {
	if err := regionScope(p, region, regie.RoleFunder, regie.RoleAuditor); err != nil {
		return nil, err
	}
	return s.Ledger.Revisions(ctx, region)
}

// SetPolicy lets a funder of the region choose its budget policy, at once or
// from a later day (Policy.Effective: until then the current one holds), and
// answers the figures after it. Errors: Forbidden; Invalid "policy_invalid",
// "effective_invalid" (a day before today); NotFound; Conflict "budget_year_closed".
func (s *Service) SetPolicy(ctx context.Context, p regie.Principal, region string, pol Policy) (Figures, error) {
	if err := regionScope(p, region, regie.RoleFunder); err != nil {
		return Figures{}, err
	}
	if err := pol.Validate(); err != nil {
		return Figures{}, err
	}
	if pol.Kind == "" {
		pol.Kind = Monitor
	}
	if !pol.Effective.IsZero() && pol.Effective < s.today() {
		return Figures{}, regie.FieldError("effective", "effective_invalid", "a policy takes effect today or on a later day, not before")
	}
	f, err := s.Ledger.SetPolicy(ctx, region, pol, "funder:"+p.Subject, s.now())
	if err != nil {
		return Figures{}, err
	}
	return s.withOutlook(ctx, f)
}

// ReleaseHeld lets a funder release held claims, oldest first, up to an amount.
// Errors: Forbidden; Invalid "amount_invalid"; NotFound.
func (s *Service) ReleaseHeld(ctx context.Context, p regie.Principal, region string, upTo regie.Cents) (Released, error) {
	if err := regionScope(p, region, regie.RoleFunder); err != nil {
		return Released{}, err
	}
	if upTo <= 0 {
		return Released{}, regie.FieldError("up_to", "amount_invalid", "up_to must be above zero")
	}
	out, err := s.Ledger.ReleaseHeld(ctx, region, upTo, "funder:"+p.Subject, s.now())
	if err != nil {
		return Released{}, err
	}
	out.Figures, err = s.withOutlook(ctx, out.Figures)
	if err != nil {
		return Released{}, err
	}
	return out, nil
}

// CloseYear lets a funder run the prorata year-end close of the region.
// Errors: Forbidden; NotFound; Conflict "policy_not_prorata", "budget_year_closed".
func (s *Service) CloseYear(ctx context.Context, p regie.Principal, region string) (Closed, error) {
	if err := regionScope(p, region, regie.RoleFunder); err != nil {
		return Closed{}, err
	}
	out, err := s.Ledger.CloseYear(ctx, region, "funder:"+p.Subject, s.now())
	if err != nil {
		return Closed{}, err
	}
	out.Figures, err = s.withOutlook(ctx, out.Figures)
	if err != nil {
		return Closed{}, err
	}
	return out, nil
}

// EndAssignment ends an accepted choice after lastDay, on behalf of its
// client or its provider; what the line had not used is released from the
// region's commitments. Errors: Forbidden; NotFound "choice_not_found";
// Conflict "choice_not_accepted"; Invalid "last_day_invalid".
func (s *Service) EndAssignment(ctx context.Context, p regie.Principal, choiceID string, lastDay regie.Date) (*matching.Choice, error) {
	if err := p.Require(regie.RoleClient, regie.RoleProvider); err != nil {
		return nil, err
	}
	ch, err := s.Choices.Choice(ctx, choiceID)
	if err != nil {
		return nil, err
	}
	if (p.Role == regie.RoleClient && ch.Subject != p.Subject) || (p.Role == regie.RoleProvider && ch.ProviderAGB != p.Subject) {
		return nil, regie.Errorf(regie.Forbidden, "scope_forbidden", "this choice is not yours")
	}
	return s.Ledger.EndAssignment(ctx, choiceID, lastDay, s.now())
}

// Verify recomputes a region's journal for its auditors and funders.
func (s *Service) Verify(ctx context.Context, p regie.Principal, region string) (Report, error) {
	if err := regionScope(p, region, regie.RoleAuditor, regie.RoleFunder); err != nil {
		return Report{}, err
	}
	if _, err := s.Ledger.Region(ctx, region); err != nil {
		return Report{}, err
	}
	return Verify(ctx, s.Ledger, s.Keys, region)
}

// Checkpoint signs the journal head of every region whose head moved since its
// last checkpoint. The server calls it periodically and on shutdown.
func (s *Service) Checkpoint(ctx context.Context) (int, error) {
	regions, err := s.Ledger.Regions(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, reg := range regions {
		r, err := s.Ledger.Region(ctx, reg.ID)
		if err != nil {
			return n, err
		}
		if r.JournalSeq == r.CheckpointSeq {
			continue
		}
		cp, err := SignCheckpoint(s.Keys, r.ID, r.JournalSeq, r.JournalHead, s.now())
		if err != nil {
			return n, err
		}
		if err := s.Ledger.PutCheckpoint(ctx, cp); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
