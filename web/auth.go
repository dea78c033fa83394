package web

import (
	"fmt"
	"strings"
	"sync"
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
	p, ok := s.tokens.get(raw, s.now())
	if !ok {
		claims := &AccessClaims{}
		if _, err := s.keys.Parse(AccessTokenType, raw, claims, jwt.WithAudience(accessAudience), jwt.WithTimeFunc(s.now)); err != nil {
			return regie.Errorf(regie.Unauthorized, "token_invalid", "the access token is not valid")
		}
		p = regie.Principal{Role: claims.Role, Subject: claims.Subject, Regions: claims.Regions}
		if err := checkPrincipal(p); err != nil {
			return regie.Errorf(regie.Unauthorized, "token_invalid", "the access token is not valid: %v", err)
		}
		s.tokens.put(raw, p, claims.ExpiresAt.Time)
	}
	c.Locals(principalKey, p)
	return c.Next()
}

// tokenCache remembers verified access tokens until they expire, so that a
// client sending many requests with one token pays for one Ed25519
// verification (a sixth of the CPU of a claim request, measured). A token is
// immutable and its signature cannot become invalid, so only its expiry is
// checked on a hit. The cache is bounded: when full, it starts afresh.
type tokenCache struct {
	mu sync.Mutex
	m  map[string]cachedToken
}

type cachedToken struct {
	p   regie.Principal
	exp time.Time
}

const tokenCacheSize = 10000

func (tc *tokenCache) get(raw string, now time.Time) (regie.Principal, bool) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	t, ok := tc.m[raw]
	if !ok || !now.Before(t.exp) {
		return regie.Principal{}, false
	}
	return t.p, true
}

func (tc *tokenCache) put(raw string, p regie.Principal, exp time.Time) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.m == nil || len(tc.m) >= tokenCacheSize {
		tc.m = make(map[string]cachedToken, 64)
	}
	tc.m[raw] = cachedToken{p: p, exp: exp}
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
