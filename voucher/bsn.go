package voucher

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"errors"

	"github.com/regie-nl/regie"
)

// CheckBSN validates a burgerservicenummer: nine digits that pass the 11-proof
// (9·d1 + 8·d2 + … + 2·d8 − 1·d9 is a multiple of 11, and not zero). The error
// never repeats the number.
func CheckBSN(bsn string) error {
	if len(bsn) != 9 {
		return regie.FieldError("bsn", "bsn_invalid", "a BSN has nine digits")
	}
	sum := 0
	for i := 0; i < 9; i++ {
		c := bsn[i]
		if c < '0' || c > '9' {
			return regie.FieldError("bsn", "bsn_invalid", "a BSN has nine digits")
		}
		w := 9 - i
		if i == 8 {
			w = -1
		}
		sum += w * int(c-'0')
	}
	if sum == 0 || sum%11 != 0 {
		return regie.FieldError("bsn", "bsn_invalid", "the BSN fails the 11-proof")
	}
	return nil
}

// Pseudonymiser turns a BSN into a stable pseudonym with a keyed HMAC. Without
// the key a pseudonym cannot be linked back to a BSN, even by trying all 10⁹.
type Pseudonymiser struct{ key []byte }

// NewPseudonymiser returns a pseudonymiser with a secret key of at least 32 bytes.
func NewPseudonymiser(key []byte) (*Pseudonymiser, error) {
	if len(key) < 32 {
		return nil, errors.New("pseudonym key must be at least 32 bytes")
	}
	return &Pseudonymiser{key: append([]byte(nil), key...)}, nil
}

var pseudonymEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Pseudonym checks bsn and returns its pseudonym: "c" and 32 base32 characters
// (160 bits of HMAC-SHA256).
func (p *Pseudonymiser) Pseudonym(bsn string) (string, error) {
	if err := CheckBSN(bsn); err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, p.key)
	mac.Write([]byte("regie/bsn/v1:"))
	mac.Write([]byte(bsn))
	return "c" + pseudonymEncoding.EncodeToString(mac.Sum(nil)[:20]), nil
}
