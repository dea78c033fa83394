package settlement

import (
	"context"
	"time"

	"github.com/regie-nl/regie"
)

// Service takes claims from providers and shows budget figures to funders.
// Every method checks the caller's role and scope first.
type Service struct {
	Ledger Ledger
	Now    func() time.Time // the clock; time.Now when nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Submit decides a provider's claim. The provider is the caller; a claim in its
// name by anyone else is Forbidden. Errors: Forbidden "role_forbidden"; Invalid
// (see Claim.Validate); Conflict "claim_id_conflict". A rejected claim is a
// Decision, not an error.
func (s *Service) Submit(ctx context.Context, p regie.Principal, c Claim) (Decision, bool, error) {
	if err := p.Require(regie.RoleProvider); err != nil {
		return Decision{}, false, err
	}
	c.ProviderAGB = p.Subject
	if err := c.Validate(); err != nil {
		return Decision{}, false, err
	}
	return s.Ledger.Settle(ctx, c, s.now())
}

// Decision returns the calling provider's recorded decision on one of its claims.
// Errors: Forbidden "role_forbidden"; NotFound "claim_not_found".
func (s *Service) Decision(ctx context.Context, p regie.Principal, claimID string) (Decision, error) {
	if err := p.Require(regie.RoleProvider); err != nil {
		return Decision{}, err
	}
	return s.Ledger.Decision(ctx, p.Subject, claimID)
}

// Figures returns a region's live budget figures to its funders and auditors.
// Errors: Forbidden "role_forbidden" / "scope_forbidden"; NotFound "region_not_found".
func (s *Service) Figures(ctx context.Context, p regie.Principal, region string) (Figures, error) {
	if err := p.Require(regie.RoleFunder, regie.RoleAuditor); err != nil {
		return Figures{}, err
	}
	if err := p.RequireRegion(region); err != nil {
		return Figures{}, err
	}
	return s.Ledger.Figures(ctx, region)
}

// Regions lists the budget regions (names and budgets) to any authenticated caller.
func (s *Service) Regions(ctx context.Context) ([]Region, error) { return s.Ledger.Regions(ctx) }
