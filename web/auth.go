package web

import (
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/voucher"
)

// AccessTokenType is the JWS typ header of an API access token. A voucher
// token (typ voucher+jwt) is refused as an access token and the reverse.
const AccessTokenType = "at+jwt"

// accessAudience is the aud claim every access token must carry.
const accessAudience = "regie-api"

// AccessClaims are the claims of an API access token: who (sub), in which role,
// and for assessors, funders and auditors in which regions. Never a BSN.
type AccessClaims struct {
	jwt.RegisteredClaims
	Role    regie.Role `json:"role"`
	Regions []string   `json:"regions,omitempty"`
}

// IssueAccessToken signs an access token for p, valid for ttl.
func IssueAccessToken(keys *voucher.KeyRing, p regie.Principal, ttl time.Duration, now time.Time) (string, error) {
	if err := checkPrincipal(p); err != nil {
		return "", err
	}
	return keys.Sign(AccessTokenType, &AccessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   p.Subject,
			Audience:  jwt.ClaimStrings{accessAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Role:    p.Role,
		Regions: p.Regions,
	})
}

// checkPrincipal refuses principals that could not act: an unknown role, no
// subject, or a regional role without regions.
func checkPrincipal(p regie.Principal) error {
	if !p.Role.Valid() {
		return regie.FieldError("role", "role_invalid", "unknown role %q", p.Role)
	}
	if p.Subject == "" || len(p.Subject) > 128 {
		return regie.FieldError("sub", "subject_invalid", "a subject of 1–128 characters is required")
	}
	switch p.Role {
	case regie.RoleAssessor, regie.RoleFunder, regie.RoleAuditor:
		if len(p.Regions) == 0 {
			return regie.FieldError("regions", "regions_required", "the %s role needs at least one region", p.Role)
		}
	}
	return nil
}

// authenticate reads the bearer token, verifies it and stores the principal
// in the request's locals. No token or a bad one is 401.
func (s *Server) authenticate(c *fiber.Ctx) error {
	scheme, raw, _ := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
	if !strings.EqualFold(scheme, "Bearer") || raw == "" { // the scheme is case-insensitive (RFC 9110 §11.1)
		return regie.Errorf(regie.Unauthorized, "token_missing", "send an access token as Authorization: Bearer …")
	}
	claims := &AccessClaims{}
	if _, err := s.keys.Parse(AccessTokenType, raw, claims, jwt.WithAudience(accessAudience), jwt.WithTimeFunc(s.now)); err != nil {
		return regie.Errorf(regie.Unauthorized, "token_invalid", "the access token is not valid")
	}
	p := regie.Principal{Role: claims.Role, Subject: claims.Subject, Regions: claims.Regions}
	if err := checkPrincipal(p); err != nil {
		return regie.Errorf(regie.Unauthorized, "token_invalid", "the access token is not valid: %v", err)
	}
	c.Locals(principalKey, p)
	return c.Next()
}

const principalKey = "regie.principal"

// principal returns the authenticated caller; authenticate guarantees one.
func principal(c *fiber.Ctx) regie.Principal {
	p, ok := c.Locals(principalKey).(regie.Principal)
	if !ok {
		panic(fmt.Sprintf("web: route %s is not behind authenticate", c.Path()))
	}
	return p
}
