package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// MaxKeySetKeys is the most usable keys a key set may hold. Identity
// providers publish a handful (the current key and the next or the
// previous one); a token without a kid is tried against every key of its
// algorithm, so the count bounds what one such token costs.
const MaxKeySetKeys = 100

// jwk is what danmu reads of a JSON Web Key (RFC 7517; RFC 7518 for RSA
// and EC, RFC 8037 for OKP). x5c and the other members are ignored.
type jwk struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Use    string   `json:"use"`
	Alg    string   `json:"alg"`
	KeyOps []string `json:"key_ops"`
	Crv    string   `json:"crv"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
	// D is the private part of an RSA, EC or OKP key, K a symmetric key.
	// A key set that publishes either is refused key by key.
	D string `json:"d"`
	K string `json:"k"`
}

// parseKeySet returns the usable keys of a JWK Set document, and why each
// other key was skipped: keys for encryption, of other algorithms or
// curves, symmetric or private ones are skipped, so that one key danmu
// cannot use does not cost it the whole set. A document that is not a JWK
// Set, holds no usable key or more than MaxKeySetKeys wraps ErrKeySet.
func parseKeySet(data []byte) (keys []verificationKey, skipped []string, err error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, nil, fmt.Errorf("%w: not a JWK Set: %w", ErrKeySet, err)
	}
	for i, raw := range set.Keys {
		key, err := parseJWK(raw)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("key %d: %v", i, err))
			continue
		}
		keys = append(keys, key)
	}
	switch {
	case len(keys) == 0 && len(skipped) > 0:
		return nil, skipped, fmt.Errorf("%w: no usable key (%s)", ErrKeySet, strings.Join(skipped, "; "))
	case len(keys) == 0:
		return nil, nil, fmt.Errorf("%w: no keys", ErrKeySet)
	case len(keys) > MaxKeySetKeys:
		return nil, skipped, fmt.Errorf("%w: %d usable keys, more than %d", ErrKeySet, len(keys), MaxKeySetKeys)
	}
	return keys, skipped, nil
}

// parseJWK returns the verification key of one JWK, or why it is not one.
func parseJWK(raw json.RawMessage) (verificationKey, error) {
	var k jwk
	if err := json.Unmarshal(raw, &k); err != nil {
		return verificationKey{}, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	switch {
	case k.D != "" || k.K != "":
		return verificationKey{}, fmt.Errorf("%w: kid %q: private or symmetric key material published", ErrBadKey, k.Kid)
	case k.Use != "" && k.Use != "sig":
		return verificationKey{}, fmt.Errorf("%w: kid %q: use %q", ErrBadKey, k.Kid, k.Use)
	case k.KeyOps != nil && !slices.Contains(k.KeyOps, "verify"):
		return verificationKey{}, fmt.Errorf("%w: kid %q: key_ops %q", ErrBadKey, k.Kid, k.KeyOps)
	}
	key, err := k.publicKey()
	if err != nil {
		return verificationKey{}, fmt.Errorf("kid %q: %w", k.Kid, err)
	}
	v, err := newVerificationKey(k.Kid, key)
	if err != nil {
		return verificationKey{}, fmt.Errorf("kid %q: %w", k.Kid, err)
	}
	if k.Alg != "" && k.Alg != v.alg {
		return verificationKey{}, fmt.Errorf("%w: kid %q: alg %q: want %s for this key type", ErrBadKey, k.Kid, k.Alg, v.alg)
	}
	return v, nil
}

// publicKey decodes the key material of k by its kty.
func (k *jwk) publicKey() (crypto.PublicKey, error) {
	switch k.Kty {
	case "RSA":
		n, err := decodeMember("n", k.N, 0)
		if err != nil {
			return nil, err
		}
		e, err := decodeMember("e", k.E, 0)
		if err != nil {
			return nil, err
		}
		if len(e) > 4 {
			return nil, fmt.Errorf("%w: RSA exponent of %d bytes", ErrBadKey, len(e))
		}
		exponent := 0
		for _, b := range e {
			exponent = exponent<<8 | int(b)
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exponent}, nil
	case "EC":
		if k.Crv != "P-256" {
			return nil, fmt.Errorf("%w: EC curve %q: want P-256", ErrBadKey, k.Crv)
		}
		x, err := decodeMember("x", k.X, 32)
		if err != nil {
			return nil, err
		}
		y, err := decodeMember("y", k.Y, 32)
		if err != nil {
			return nil, err
		}
		key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
		}
		return key, nil
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, fmt.Errorf("%w: OKP curve %q: want Ed25519", ErrBadKey, k.Crv)
		}
		x, err := decodeMember("x", k.X, ed25519.PublicKeySize)
		if err != nil {
			return nil, err
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, fmt.Errorf("%w: kty %q: want RSA, EC or OKP", ErrBadKey, k.Kty)
}

// decodeMember decodes the base64url member name of a JWK (RFC 7518
// wants it unpadded; trailing padding is tolerated) and checks its length
// when size is not zero.
func decodeMember(name, value string, size int) ([]byte, error) {
	value = strings.TrimRight(value, "=")
	if value == "" {
		return nil, fmt.Errorf("%w: %s is empty", ErrBadKey, name)
	}
	b, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadKey, name, err)
	}
	if size != 0 && len(b) != size {
		return nil, fmt.Errorf("%w: %s of %d bytes: want %d", ErrBadKey, name, len(b), size)
	}
	return b, nil
}
