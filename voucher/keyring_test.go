package voucher_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/regie-nl/regie/voucher"
)

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func newRing(t *testing.T, keys ...ed25519.PrivateKey) *voucher.KeyRing {
	t.Helper()
	r, err := voucher.NewKeyRing(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// kidOf is the documented key id: base64url of the first 16 bytes of the
// SHA-256 of the public key.
func kidOf(k ed25519.PrivateKey) string {
	sum := sha256.Sum256(k.Public().(ed25519.PublicKey))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

func futureClaims(id string) *voucher.Claims {
	now := time.Now()
	return &voucher.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        id,
			Subject:   "cabc",
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Hour)),
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		},
		Region: "r1",
		Law:    voucher.Wmo,
	}
}

// header decodes the JOSE header of a compact JWS.
func header(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestNewKeyRing(t *testing.T) {
	if _, err := voucher.NewKeyRing(); err == nil {
		t.Error("NewKeyRing() with no keys accepted")
	}
	k1, k2 := newKey(t), newKey(t)
	r := newRing(t, k1, k2)
	if got, want := r.ActiveKeyID(), kidOf(k2); got != want {
		t.Errorf("ActiveKeyID = %q, want the newest key %q", got, want)
	}
	if len(r.ActiveKeyID()) != 22 {
		t.Errorf("kid %q is not 16 bytes of base64url", r.ActiveKeyID())
	}
	g, err := voucher.GenerateKeyRing()
	if err != nil || g.ActiveKeyID() == "" {
		t.Errorf("GenerateKeyRing = %v, %v", g, err)
	}
}

func TestKeyRing_SignParse(t *testing.T) {
	key := newKey(t)
	ring := newRing(t, key)

	t.Run("round trip", func(t *testing.T) {
		in := futureClaims("v1")
		in.Lines = []voucher.TokenLine{{Product: "H300", Units: 20857, MaxAmount: 1355705}}
		token, err := ring.Sign(voucher.TokenType, in)
		if err != nil {
			t.Fatal(err)
		}
		h := header(t, token)
		if h["alg"] != "EdDSA" || h["kid"] != ring.ActiveKeyID() || h["typ"] != voucher.TokenType {
			t.Errorf("header = %v", h)
		}
		var out voucher.Claims
		tok, err := ring.Parse(voucher.TokenType, token, &out)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if !tok.Valid {
			t.Error("token not Valid")
		}
		if out.ID != "v1" || out.Subject != "cabc" || out.Region != "r1" || out.Law != voucher.Wmo {
			t.Errorf("claims = %+v", out)
		}
		if len(out.Lines) != 1 || out.Lines[0] != in.Lines[0] {
			t.Errorf("lines = %+v, want %+v", out.Lines, in.Lines)
		}
	})

	t.Run("typ is compared case-insensitively", func(t *testing.T) {
		token, err := ring.Sign("VOUCHER+JWT", futureClaims("v1"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ring.Parse(voucher.TokenType, token, &voucher.Claims{}); err != nil {
			t.Errorf("Parse: %v", err)
		}
	})

	refused := []struct {
		name  string
		token func(t *testing.T) string
		is    error // when set, errors.Is(err, is) must hold
	}{
		{"wrong typ", func(t *testing.T) string {
			s, err := ring.Sign("at+jwt", futureClaims("v1"))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, nil},
		{"no typ", func(t *testing.T) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, futureClaims("v1"))
			tok.Header["kid"] = ring.ActiveKeyID()
			delete(tok.Header, "typ")
			s, err := tok.SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, nil},
		{"unknown kid", func(t *testing.T) string {
			s, err := newRing(t, newKey(t)).Sign(voucher.TokenType, futureClaims("v1"))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, nil},
		{"no kid", func(t *testing.T) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, futureClaims("v1"))
			tok.Header["typ"] = voucher.TokenType
			s, err := tok.SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, nil},
		{"known kid, other key's signature", func(t *testing.T) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, futureClaims("v1"))
			tok.Header["typ"] = voucher.TokenType
			tok.Header["kid"] = ring.ActiveKeyID()
			s, err := tok.SignedString(newKey(t))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, jwt.ErrTokenSignatureInvalid},
		{"alg none", func(t *testing.T) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodNone, futureClaims("v1"))
			tok.Header["typ"] = voucher.TokenType
			tok.Header["kid"] = ring.ActiveKeyID()
			s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, jwt.ErrTokenSignatureInvalid},
		{"alg none, hand-made", func(t *testing.T) string {
			enc := base64.RawURLEncoding.EncodeToString
			h := `{"alg":"none","typ":"voucher+jwt","kid":"` + ring.ActiveKeyID() + `"}`
			p := `{"jti":"v1","exp":` + jwt.NewNumericDate(time.Now().Add(time.Hour)).String() + `}`
			return enc([]byte(h)) + "." + enc([]byte(p)) + "."
		}, nil},
		{"HS256 keyed with the public key", func(t *testing.T) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, futureClaims("v1"))
			tok.Header["typ"] = voucher.TokenType
			tok.Header["kid"] = ring.ActiveKeyID()
			s, err := tok.SignedString([]byte(key.Public().(ed25519.PublicKey)))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, jwt.ErrTokenSignatureInvalid},
		{"HS256 keyed with the JWKS x value", func(t *testing.T) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, futureClaims("v1"))
			tok.Header["typ"] = voucher.TokenType
			tok.Header["kid"] = ring.ActiveKeyID()
			s, err := tok.SignedString([]byte(ring.JWKS().Keys[0].X))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, jwt.ErrTokenSignatureInvalid},
		{"expired", func(t *testing.T) string {
			c := futureClaims("v1")
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute))
			s, err := ring.Sign(voucher.TokenType, c)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, jwt.ErrTokenExpired},
		{"no exp", func(t *testing.T) string {
			c := futureClaims("v1")
			c.ExpiresAt = nil
			s, err := ring.Sign(voucher.TokenType, c)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, jwt.ErrTokenRequiredClaimMissing},
		{"not yet valid", func(t *testing.T) string {
			c := futureClaims("v1")
			c.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour))
			s, err := ring.Sign(voucher.TokenType, c)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, jwt.ErrTokenNotValidYet},
		{"tampered payload", func(t *testing.T) string {
			s, err := ring.Sign(voucher.TokenType, futureClaims("v1"))
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(s, ".")
			c := futureClaims("v2")
			b, _ := json.Marshal(c)
			parts[1] = base64.RawURLEncoding.EncodeToString(b)
			return strings.Join(parts, ".")
		}, jwt.ErrTokenSignatureInvalid},
		{"tampered signature", func(t *testing.T) string {
			s, err := ring.Sign(voucher.TokenType, futureClaims("v1"))
			if err != nil {
				t.Fatal(err)
			}
			return flipSignature(t, s)
		}, jwt.ErrTokenSignatureInvalid},
		{"garbage", func(*testing.T) string { return "not.a.token" }, nil},
		{"empty", func(*testing.T) string { return "" }, nil},
	}
	for _, tc := range refused {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			token := tc.token(t)
			_, err := ring.Parse(voucher.TokenType, token, &voucher.Claims{})
			if err == nil {
				t.Fatalf("Parse accepted %s", token)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Parse error %v, want %v", err, tc.is)
			}
		})
	}
}

// flipSignature changes one bit of the signature of a compact JWS.
func flipSignature(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	sig[10] ^= 0x01
	parts[2] = base64.RawURLEncoding.EncodeToString(sig)
	return strings.Join(parts, ".")
}

func TestKeyRing_Rotation(t *testing.T) {
	oldKey, newKeyPriv := newKey(t), newKey(t)
	oldRing := newRing(t, oldKey)
	oldToken, err := oldRing.Sign(voucher.TokenType, futureClaims("old"))
	if err != nil {
		t.Fatal(err)
	}

	rotated := newRing(t, oldKey, newKeyPriv)
	if rotated.ActiveKeyID() != kidOf(newKeyPriv) || rotated.ActiveKeyID() == oldRing.ActiveKeyID() {
		t.Fatalf("after rotation the active kid is %q", rotated.ActiveKeyID())
	}
	newToken, err := rotated.Sign(voucher.TokenType, futureClaims("new"))
	if err != nil {
		t.Fatal(err)
	}
	if got := header(t, newToken)["kid"]; got != kidOf(newKeyPriv) {
		t.Errorf("new token kid = %v, want the newest key %s", got, kidOf(newKeyPriv))
	}
	if got := header(t, oldToken)["kid"]; got != kidOf(oldKey) {
		t.Errorf("old token kid = %v, want %s", got, kidOf(oldKey))
	}

	var c voucher.Claims
	if _, err := rotated.Parse(voucher.TokenType, oldToken, &c); err != nil || c.ID != "old" {
		t.Errorf("token of the older key: %v (%q)", err, c.ID)
	}
	if _, err := rotated.Parse(voucher.TokenType, newToken, &voucher.Claims{}); err != nil {
		t.Errorf("token of the newest key: %v", err)
	}
	if _, err := oldRing.Parse(voucher.TokenType, newToken, &voucher.Claims{}); err == nil {
		t.Error("the old ring verified a token of a key it does not hold")
	}
}

func TestKeyRing_JWKS(t *testing.T) {
	k1, k2, k3 := newKey(t), newKey(t), newKey(t)
	set := newRing(t, k1, k2, k3).JWKS()
	want := []ed25519.PrivateKey{k3, k2, k1} // newest first
	if len(set.Keys) != len(want) {
		t.Fatalf("JWKS has %d keys, want %d", len(set.Keys), len(want))
	}
	for i, k := range want {
		jwk := set.Keys[i]
		if jwk.KeyID != kidOf(k) {
			t.Errorf("key %d kid = %s, want %s", i, jwk.KeyID, kidOf(k))
		}
		if jwk.KeyType != "OKP" || jwk.Curve != "Ed25519" || jwk.Alg != "EdDSA" || jwk.Use != "sig" {
			t.Errorf("key %d = %+v", i, jwk)
		}
		x, err := base64.RawURLEncoding.DecodeString(jwk.X)
		if err != nil {
			t.Fatalf("key %d x: %v", i, err)
		}
		if !ed25519.PublicKey(x).Equal(k.Public()) {
			t.Errorf("key %d x is not the public key", i)
		}
	}

	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range raw.Keys {
		if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["kid"] == "" || k["x"] == "" {
			t.Errorf("JWK JSON = %v", k)
		}
		if _, ok := k["d"]; ok {
			t.Error("JWKS publishes a private key")
		}
	}
	if strings.Contains(string(b), base64.RawURLEncoding.EncodeToString(k1.Seed())) {
		t.Error("JWKS contains a private seed")
	}
}

func TestLoadKeyRing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	first, err := voucher.LoadKeyRing(dir)
	if err != nil {
		t.Fatalf("first LoadKeyRing: %v", err)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "ed25519-*.pem"))
	if len(names) != 1 {
		t.Fatalf("first LoadKeyRing created %v, want one key file", names)
	}
	fi, err := os.Stat(names[0])
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("key directory mode = %v, want 0700", di.Mode().Perm())
	}

	second, err := voucher.LoadKeyRing(dir)
	if err != nil {
		t.Fatalf("second LoadKeyRing: %v", err)
	}
	if second.ActiveKeyID() != first.ActiveKeyID() {
		t.Errorf("second LoadKeyRing loaded kid %s, want the same key %s", second.ActiveKeyID(), first.ActiveKeyID())
	}
	if again, _ := filepath.Glob(filepath.Join(dir, "ed25519-*.pem")); len(again) != 1 {
		t.Errorf("second LoadKeyRing left %v, want one key file", again)
	}
	token, err := first.Sign(voucher.TokenType, futureClaims("v1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := second.Parse(voucher.TokenType, token, &voucher.Claims{}); err != nil {
		t.Errorf("reloaded ring rejects a token of the same key: %v", err)
	}

	t.Run("rotation with CreateKeyFile", func(t *testing.T) {
		name, err := voucher.CreateKeyFile(dir)
		if err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(name); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("new key file: %v, %v", fi, err)
		}
		rotated, err := voucher.LoadKeyRing(dir)
		if err != nil {
			t.Fatal(err)
		}
		if rotated.ActiveKeyID() == first.ActiveKeyID() {
			t.Error("the new key file did not become the active key")
		}
		if keys := rotated.JWKS().Keys; len(keys) != 2 || keys[1].KeyID != first.ActiveKeyID() {
			t.Errorf("JWKS after rotation = %+v", keys)
		}
		if _, err := rotated.Parse(voucher.TokenType, token, &voucher.Claims{}); err != nil {
			t.Errorf("token of the older key: %v", err)
		}
	})

	t.Run("a broken key file is an error", func(t *testing.T) {
		bad := t.TempDir()
		if err := os.WriteFile(filepath.Join(bad, "ed25519-1.pem"), []byte("not pem"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := voucher.LoadKeyRing(bad); err == nil {
			t.Error("LoadKeyRing accepted a broken key file")
		}
	})
}
