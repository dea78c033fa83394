package voucher_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/regie-nl/regie/voucher"
)

func TestParseJWKS(t *testing.T) {
	ring, err := voucher.GenerateKeyRing()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(ring.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	public, err := voucher.ParseJWKS(raw)
	if err != nil {
		t.Fatalf("ParseJWKS: %v", err)
	}

	t.Run("verifies what the full ring signed", func(t *testing.T) {
		token, err := ring.Sign("test+jwt", jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := public.Parse("test+jwt", token, &jwt.RegisteredClaims{}); err != nil {
			t.Errorf("Parse with the public ring: %v", err)
		}
	})
	t.Run("cannot sign", func(t *testing.T) {
		if _, err := public.Sign("test+jwt", jwt.RegisteredClaims{}); err == nil {
			t.Error("a public ring signed")
		}
		if public.ActiveKeyID() != "" {
			t.Errorf("ActiveKeyID = %q", public.ActiveKeyID())
		}
	})
	t.Run("refuses a key whose id does not match", func(t *testing.T) {
		bad := strings.Replace(string(raw), ring.ActiveKeyID(), "AAAAAAAAAAAAAAAAAAAAAA", 1)
		if _, err := voucher.ParseJWKS([]byte(bad)); err == nil {
			t.Error("a key with a wrong kid was accepted")
		}
	})
	t.Run("refuses a set without Ed25519 keys", func(t *testing.T) {
		if _, err := voucher.ParseJWKS([]byte(`{"keys":[{"kty":"RSA","kid":"x"}]}`)); err == nil {
			t.Error("an RSA-only set was accepted")
		}
		if _, err := voucher.ParseJWKS([]byte(`not json`)); err == nil {
			t.Error("garbage was accepted")
		}
	})
}
