package voucher

import (
	"context"
	"crypto/rand"
	"encoding/base32"

	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/regie-nl/regie"
)

// Regions tells whether a region exists; the settlement ledger implements it.
type Regions interface {
	// HasRegion reports whether id names a known budget region.
	HasRegion(ctx context.Context, id string) (bool, error)
}

// Service issues, shows, suspends and verifies vouchers. Every method checks the
// caller's role and scope before it reads or writes anything.
type Service struct {
	Store       Store
	Regions     Regions
	Assignments Assignments
	Keys        *KeyRing
	Pseudonyms  *Pseudonymiser
	Issuer      string           // the iss claim, e.g. the server's public URL
	Now         func() time.Time // the clock; time.Now when nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Indication is what an assessor records. The BSN is checked and pseudonymised
// here and then dropped: it is never stored, logged or returned.
type Indication struct {
	BSN       string           `json:"bsn"`
	Law       Law              `json:"law"`
	Region    string           `json:"region"`
	Lines     []IndicationLine `json:"lines"`
	ValidFrom regie.Date       `json:"valid_from"`
	ValidTo   regie.Date       `json:"valid_to"`
}

// IndicationLine is one indicated product with its volume per week.
type IndicationLine struct {
	Product      string      `json:"product"`
	UnitsPerWeek regie.Units `json:"units_per_week"`
}

// Limits on an indication, so that a typing error cannot create a fortune.
const (
	maxLines        = 20
	maxValidityDays = 5*366 + 1
)

// maxPerWeek is the most units of one kind a week can hold.
var maxPerWeek = map[string]regie.Units{
	"day":     7 * regie.UnitScale,
	"dagdeel": 14 * regie.UnitScale,
	"hour":    168 * regie.UnitScale,
}

// Issue records an indication and returns the new voucher with its signed token.
// Only an assessor with the region in scope may issue. Errors: Forbidden
// "role_forbidden" / "scope_forbidden"; Invalid with codes "bsn_invalid",
// "law_invalid", "region_unknown", "lines_invalid", "product_unknown",
// "product_law_mismatch", "units_invalid", "validity_invalid".
func (s *Service) Issue(ctx context.Context, p regie.Principal, in Indication) (*Voucher, string, error) {
	if err := p.Require(regie.RoleAssessor); err != nil {
		return nil, "", err
	}
	if err := p.RequireRegion(in.Region); err != nil {
		return nil, "", err
	}
	subject, err := s.Pseudonyms.Pseudonym(in.BSN)
	if err != nil {
		return nil, "", err
	}
	if !in.Law.Valid() {
		return nil, "", regie.FieldError("law", "law_invalid", "law must be wlz, wmo or jw")
	}
	ok, err := s.Regions.HasRegion(ctx, in.Region)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", regie.FieldError("region", "region_unknown", "no region %q", in.Region)
	}
	if in.ValidFrom.IsZero() || in.ValidTo.IsZero() || in.ValidTo < in.ValidFrom ||
		in.ValidFrom.DaysThrough(in.ValidTo) > maxValidityDays {
		return nil, "", regie.FieldError("valid_to", "validity_invalid", "validity must run from valid_from through valid_to, at most five years")
	}
	lines, err := s.price(ctx, in)
	if err != nil {
		return nil, "", err
	}
	v := &Voucher{
		ID:        NewID("v"),
		Subject:   subject,
		Law:       in.Law,
		Region:    in.Region,
		Lines:     lines,
		ValidFrom: in.ValidFrom,
		ValidTo:   in.ValidTo,
		IssuedAt:  s.now().UTC().Truncate(time.Second),
		KeyID:     s.Keys.ActiveKeyID(),
		State:     Active,
	}
	token, err := s.Keys.Sign(TokenType, claimsOf(v, s.Issuer))
	if err != nil {
		return nil, "", err
	}
	if err := s.Store.CreateVoucher(ctx, v, token); err != nil {
		return nil, "", err
	}
	return v, token, nil
}

// price turns indicated volumes into entitled units and maximum amounts: units
// per week × days of validity / 7, rounded half-up to hundredths, priced at the
// maximum tariff and rounded half-up to cents once.
func (s *Service) price(ctx context.Context, in Indication) ([]Line, error) {
	if len(in.Lines) == 0 || len(in.Lines) > maxLines {
		return nil, regie.FieldError("lines", "lines_invalid", "an indication has 1 to %d product lines", maxLines)
	}
	table, err := s.Store.Tariffs(ctx)
	if err != nil {
		return nil, err
	}
	tariffs := make(map[string]Tariff, len(table))
	for _, t := range table {
		tariffs[t.Product] = t
	}
	days := int64(in.ValidFrom.DaysThrough(in.ValidTo))
	seen := make(map[string]bool)
	var lines []Line
	for _, il := range in.Lines {
		t, ok := tariffs[il.Product]
		if !ok {
			return nil, regie.FieldError("lines", "product_unknown", "no tariff for product %q", il.Product)
		}
		if t.Law != in.Law {
			return nil, regie.FieldError("lines", "product_law_mismatch", "product %s is not %s care", il.Product, in.Law)
		}
		if seen[il.Product] {
			return nil, regie.FieldError("lines", "lines_invalid", "product %s appears twice", il.Product)
		}
		seen[il.Product] = true
		if il.UnitsPerWeek <= 0 || il.UnitsPerWeek > maxPerWeek[t.Unit] {
			return nil, regie.FieldError("lines", "units_invalid", "units_per_week for %s must be above 0 and at most %s", il.Product, maxPerWeek[t.Unit])
		}
		units := regie.Units((2*int64(il.UnitsPerWeek)*days + 7) / 14)
		amount, ok := regie.LineAmount(units, t.MaxPrice)
		if !ok {
			return nil, regie.FieldError("lines", "units_invalid", "volume for %s is out of range", il.Product)
		}
		lines = append(lines, Line{Product: il.Product, UnitsPerWeek: il.UnitsPerWeek, Units: units, MaxAmount: amount, Remaining: amount})
	}
	return lines, nil
}

// Voucher returns a voucher to the client it belongs to, a provider chosen for
// it, the funder or assessor of its region, or an auditor of its region.
// Errors: NotFound "voucher_not_found"; Forbidden "scope_forbidden".
func (s *Service) Voucher(ctx context.Context, p regie.Principal, id string) (*Voucher, error) {
	v, err := s.Store.Voucher(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorizeRead(ctx, p, v); err != nil {
		return nil, err
	}
	return v, nil
}

func (s *Service) authorizeRead(ctx context.Context, p regie.Principal, v *Voucher) error {
	switch p.Role {
	case regie.RoleClient:
		if p.Subject == v.Subject {
			return nil
		}
	case regie.RoleProvider:
		ok, err := s.Assignments.ProviderChosen(ctx, v.ID, p.Subject)
		if err != nil || ok {
			return err
		}
	case regie.RoleFunder, regie.RoleAssessor, regie.RoleAuditor:
		if p.InRegion(v.Region) {
			return nil
		}
	}
	return regie.Errorf(regie.Forbidden, "scope_forbidden", "this voucher is outside your scope")
}

// Token returns the signed token of a voucher to whoever may read the voucher.
func (s *Service) Token(ctx context.Context, p regie.Principal, id string) (string, error) {
	if _, err := s.Voucher(ctx, p, id); err != nil {
		return "", err
	}
	return s.Store.VoucherToken(ctx, id)
}

// ClientVouchers returns the calling client's own vouchers.
// Errors: Forbidden "role_forbidden".
func (s *Service) ClientVouchers(ctx context.Context, p regie.Principal) ([]*Voucher, error) {
	if err := p.Require(regie.RoleClient); err != nil {
		return nil, err
	}
	return s.Store.VouchersBySubject(ctx, p.Subject)
}

// SetState suspends, reactivates or revokes a voucher. Only an assessor of the
// voucher's region may. Errors: Invalid "state_invalid"; NotFound
// "voucher_not_found"; Conflict "voucher_revoked"; Forbidden.
func (s *Service) SetState(ctx context.Context, p regie.Principal, id string, st Status) (*Voucher, error) {
	if err := p.Require(regie.RoleAssessor); err != nil {
		return nil, err
	}
	if st != Active && st != Suspended && st != Revoked {
		return nil, regie.FieldError("state", "state_invalid", "state must be active, suspended or revoked")
	}
	v, err := s.Store.Voucher(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := p.RequireRegion(v.Region); err != nil {
		return nil, err
	}
	return s.Store.SetVoucherState(ctx, id, st)
}

// Verification is the answer to "is this voucher genuine, and what is it worth now?".
type Verification struct {
	SignatureValid bool   `json:"signature_valid"`
	Problem        string `json:"problem,omitempty"`
	// Known is false when the signature is valid but this server has no record.
	Known   bool         `json:"known"`
	Status  Status       `json:"status,omitempty"`
	Balance *regie.Cents `json:"balance,omitempty"`
	Claims  *Claims      `json:"claims,omitempty"`
}

// Verify checks a voucher token's signature and reports its live status and
// remaining balance. A bad token is an answer, not an error; the only errors are
// Forbidden (role) and storage failures.
func (s *Service) Verify(ctx context.Context, p regie.Principal, token string) (*Verification, error) {
	if err := p.Require(regie.RoleProvider, regie.RoleFunder, regie.RoleAssessor, regie.RoleClient, regie.RoleAuditor); err != nil {
		return nil, err
	}
	claims := &Claims{}
	// Time claims are judged below, as a status, rather than as a bad signature.
	if _, err := s.Keys.Parse(TokenType, token, claims, jwt.WithoutClaimsValidation()); err != nil {
		return &Verification{Problem: "signature_invalid"}, nil
	}
	out := &Verification{SignatureValid: true, Claims: claims}
	v, err := s.Store.Voucher(ctx, claims.ID)
	if regie.ErrorKind(err) == regie.NotFound {
		out.Problem = "voucher_unknown"
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	out.Known = true
	out.Status = v.StatusAt(regie.DateOf(s.now()))
	balance := v.Balance()
	out.Balance = &balance
	return out, nil
}

// Tariffs returns the tariff table to any authenticated caller.
func (s *Service) Tariffs(ctx context.Context) ([]Tariff, error) { return s.Store.Tariffs(ctx) }

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns prefix and 26 characters of crypto-random base32 (128 bits),
// such as "v…" for vouchers or "ch…" for choices.
func NewID(prefix string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Errorf("crypto/rand: %w", err)) // never fails on Linux
	}
	return prefix + idEncoding.EncodeToString(b[:])
}
