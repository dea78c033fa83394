package regie

import "slices"

// Role is what an authenticated caller is allowed to do; see DESIGN.md, "Actors and roles".
type Role string

const (
	RoleAssessor Role = "assessor" // CIZ or a municipal consulent: indications, voucher status
	RoleClient   Role = "client"   // the client or their representative: own vouchers, choices
	RoleProvider Role = "provider" // a care provider (AGB code): accept choices, claims
	RoleFunder   Role = "funder"   // zorgkantoor or municipality: budgets, policies, monitoring
	RoleAuditor  Role = "auditor"  // read-only journal and figures
	RoleAdmin    Role = "admin"    // operator: keys and configuration
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	switch r {
	case RoleAssessor, RoleClient, RoleProvider, RoleFunder, RoleAuditor, RoleAdmin:
		return true
	}
	return false
}

// AllRegions is the region scope of a national actor, such as the CIZ.
const AllRegions = "*"

// Principal is the authenticated caller. Subject is the client's pseudonym, the
// provider's AGB code, or a staff member's user id; it is never a BSN.
type Principal struct {
	Role    Role
	Subject string
	// Regions limits assessors, funders and auditors; AllRegions means every region.
	Regions []string
}

// InRegion reports whether the principal's scope includes region.
func (p Principal) InRegion(region string) bool {
	return slices.Contains(p.Regions, AllRegions) || slices.Contains(p.Regions, region)
}

// Require returns a Forbidden error unless the principal has one of the roles.
func (p Principal) Require(roles ...Role) error {
	if slices.Contains(roles, p.Role) {
		return nil
	}
	return Errorf(Forbidden, "role_forbidden", "the %s role may not do this", p.Role)
}

// RequireRegion returns a Forbidden error unless region is in the principal's scope.
func (p Principal) RequireRegion(region string) error {
	if p.InRegion(region) {
		return nil
	}
	return Errorf(Forbidden, "scope_forbidden", "region %s is outside your scope", region)
}
