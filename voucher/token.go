package voucher

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/regie-nl/regie"
)

// TokenType is the JWS typ header of a voucher; access tokens have another, so
// that one can never be used as the other.
const TokenType = "voucher+jwt"

// TokenLine is one product line as carried in the voucher token.
type TokenLine struct {
	Product   string      `json:"product"`
	Units     regie.Units `json:"units"`
	MaxAmount regie.Cents `json:"max_amount"`
}

// Claims are the contents of a voucher token: a pseudonymous subject, region,
// law, product lines, validity (nbf/exp) and the voucher id (jti). Nothing else;
// no name, no BSN, no diagnosis.
type Claims struct {
	jwt.RegisteredClaims
	Region string      `json:"region"`
	Law    Law         `json:"law"`
	Lines  []TokenLine `json:"lines"`
}

// claimsOf builds the token claims of v. The token is valid from the first day
// of validity through the end of the last day, Amsterdam time.
func claimsOf(v *Voucher, issuer string) *Claims {
	c := &Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   v.Subject,
			ID:        v.ID,
			IssuedAt:  jwt.NewNumericDate(v.IssuedAt.Truncate(time.Second)),
			NotBefore: jwt.NewNumericDate(v.ValidFrom.Time()),
			ExpiresAt: jwt.NewNumericDate(v.ValidTo.AddDays(1).Time()),
		},
		Region: v.Region,
		Law:    v.Law,
	}
	for _, l := range v.Lines {
		c.Lines = append(c.Lines, TokenLine{Product: l.Product, Units: l.Units, MaxAmount: l.MaxAmount})
	}
	return c
}
