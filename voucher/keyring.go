package voucher

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// KeyRing holds the server's Ed25519 signing keys. The newest key signs; every
// key in the ring verifies and is published in the JWKS, so that tokens signed
// before a rotation stay verifiable until their last one expires.
type KeyRing struct {
	keys    []signingKey // oldest first; the last one is active
	byKeyID map[string]ed25519.PublicKey
}

type signingKey struct {
	id      string
	private ed25519.PrivateKey
}

// keyID is the first 16 bytes of the SHA-256 of the public key, base64url.
func keyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// NewKeyRing returns a ring of the given private keys, oldest first.
func NewKeyRing(keys ...ed25519.PrivateKey) (*KeyRing, error) {
	if len(keys) == 0 {
		return nil, errors.New("key ring needs at least one key")
	}
	r := &KeyRing{byKeyID: make(map[string]ed25519.PublicKey)}
	for _, k := range keys {
		pub := k.Public().(ed25519.PublicKey)
		id := keyID(pub)
		r.keys = append(r.keys, signingKey{id: id, private: k})
		r.byKeyID[id] = pub
	}
	return r, nil
}

// GenerateKeyRing returns a ring with one fresh key, for tests and tools.
func GenerateKeyRing() (*KeyRing, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return NewKeyRing(priv)
}

// keyFilePrefix names key files "ed25519-<unix nanoseconds>.pem", so that
// sorting by name sorts by age.
const keyFilePrefix = "ed25519-"

// LoadKeyRing reads every key file in dir. When there is none it creates one,
// with mode 0600, so that a first start needs no setup.
func LoadKeyRing(dir string) (*KeyRing, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("key directory: %w", err)
	}
	names, err := filepath.Glob(filepath.Join(dir, keyFilePrefix+"*.pem"))
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	if len(names) == 0 {
		name, err := CreateKeyFile(dir)
		if err != nil {
			return nil, err
		}
		names = []string{name}
	}
	sort.Strings(names)
	var keys []ed25519.PrivateKey
	for _, name := range names {
		k, err := readKeyFile(name)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return NewKeyRing(keys...)
}

// CreateKeyFile writes a new Ed25519 key to dir with mode 0600 and returns its
// path. The next LoadKeyRing makes it the active key.
func CreateKeyFile(dir string) (string, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("encode key: %w", err)
	}
	name := filepath.Join(dir, fmt.Sprintf("%s%d.pem", keyFilePrefix, time.Now().UnixNano()))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("create key file: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return "", fmt.Errorf("write key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("sync key file: %w", err)
	}
	return name, f.Close()
}

func readKeyFile(name string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("key %s: no PEM block", filepath.Base(name))
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", filepath.Base(name), err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key %s: not an Ed25519 key", filepath.Base(name))
	}
	return priv, nil
}

// ParseJWKS returns a verify-only ring of the Ed25519 keys in a JSON Web Key
// Set, such as the one served at /.well-known/jwks.json: enough to check
// vouchers and journal checkpoints without any private key.
func ParseJWKS(data []byte) (*KeyRing, error) {
	var set JWKSet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	r := &KeyRing{byKeyID: make(map[string]ed25519.PublicKey)}
	for _, k := range set.Keys {
		if k.KeyType != "OKP" || k.Curve != "Ed25519" {
			continue
		}
		pub, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("jwks: key %q is not an Ed25519 public key", k.KeyID)
		}
		if keyID(pub) != k.KeyID {
			return nil, fmt.Errorf("jwks: key id %q does not match its key", k.KeyID)
		}
		r.byKeyID[k.KeyID] = ed25519.PublicKey(pub)
	}
	if len(r.byKeyID) == 0 {
		return nil, errors.New("jwks: no Ed25519 keys")
	}
	return r, nil
}

// ActiveKeyID is the kid of the key that signs ("" for a verify-only ring).
func (r *KeyRing) ActiveKeyID() string {
	if len(r.keys) == 0 {
		return ""
	}
	return r.keys[len(r.keys)-1].id
}

// Sign returns a compact JWS of claims, signed with the active key, with the
// kid and typ headers set.
func (r *KeyRing) Sign(typ string, claims jwt.Claims) (string, error) {
	if len(r.keys) == 0 {
		return "", errors.New("sign: the key ring holds public keys only")
	}
	k := r.keys[len(r.keys)-1]
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = k.id
	t.Header["typ"] = typ
	s, err := t.SignedString(k.private)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return s, nil
}

// Parse verifies a compact JWS made by Sign: only EdDSA, a kid in the ring, the
// expected typ, and (unless opts say otherwise) a present and unexpired exp.
func (r *KeyRing) Parse(typ, token string, claims jwt.Claims, opts ...jwt.ParserOption) (*jwt.Token, error) {
	opts = append([]jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithExpirationRequired(),
	}, opts...)
	return jwt.NewParser(opts...).ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		if got, _ := t.Header["typ"].(string); !strings.EqualFold(got, typ) {
			return nil, fmt.Errorf("token type %q, want %q", got, typ)
		}
		kid, _ := t.Header["kid"].(string)
		pub, ok := r.byKeyID[kid]
		if !ok {
			return nil, fmt.Errorf("unknown key id %q", kid)
		}
		return pub, nil
	})
}

// JWK is one public key in a JSON Web Key Set (RFC 8037, OKP Ed25519).
type JWK struct {
	KeyType string `json:"kty"`
	Curve   string `json:"crv"`
	X       string `json:"x"`
	KeyID   string `json:"kid"`
	Alg     string `json:"alg"`
	Use     string `json:"use"`
}

// JWKSet is a JSON Web Key Set, as served at /.well-known/jwks.json.
type JWKSet struct {
	Keys []JWK `json:"keys"`
}

// JWKS returns the public keys of the ring, newest first.
func (r *KeyRing) JWKS() JWKSet {
	var set JWKSet
	for i := len(r.keys) - 1; i >= 0; i-- {
		k := r.keys[i]
		set.Keys = append(set.Keys, JWK{
			KeyType: "OKP", Curve: "Ed25519", Alg: "EdDSA", Use: "sig", KeyID: k.id,
			X: base64.RawURLEncoding.EncodeToString(k.private.Public().(ed25519.PublicKey)),
		})
	}
	return set
}
