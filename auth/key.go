package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math"

	"github.com/golang-jwt/jwt/v5"
)

// The signing algorithms a Verifier knows. Each key type verifies exactly
// one of them, so the algorithm a token names can never make a key serve
// another algorithm: the classic confusion of an RSA public key used as
// an HS256 secret cannot happen.
const (
	algHS256 = "HS256" // the shared secret
	algRS256 = "RS256" // an RSA key
	algES256 = "ES256" // an ECDSA key on P-256
	algEdDSA = "EdDSA" // an Ed25519 key
)

// Sizes of the RSA keys accepted. Below 2048 bits a key is too weak
// (NIST SP 800-131A); above 8192 bits verifying costs more than any
// identity provider's key is worth.
const (
	MinRSABits = 2048
	MaxRSABits = 8192
)

// verificationKey is a public key and the one algorithm it verifies.
type verificationKey struct {
	kid string // its id in its key set; "" for a key from a file
	alg string // algRS256, algES256 or algEdDSA
	key crypto.PublicKey
}

// newVerificationKey checks key and returns it with the algorithm its
// type allows: RS256 for *rsa.PublicKey of MinRSABits to MaxRSABits with a
// small odd exponent, ES256 for *ecdsa.PublicKey on P-256, EdDSA for
// ed25519.PublicKey. Any other key wraps ErrBadKey.
func newVerificationKey(kid string, key crypto.PublicKey) (verificationKey, error) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return verificationKey{}, fmt.Errorf("%w: empty RSA key", ErrBadKey)
		}
		if bits := k.N.BitLen(); bits < MinRSABits || bits > MaxRSABits {
			return verificationKey{}, fmt.Errorf("%w: RSA key of %d bits: want %d to %d", ErrBadKey, bits, MinRSABits, MaxRSABits)
		}
		if k.E < 3 || k.E > math.MaxInt32 || k.E%2 == 0 {
			return verificationKey{}, fmt.Errorf("%w: RSA exponent %d", ErrBadKey, k.E)
		}
		return verificationKey{kid: kid, alg: algRS256, key: k}, nil
	case *ecdsa.PublicKey:
		if k == nil || k.Curve != elliptic.P256() {
			return verificationKey{}, fmt.Errorf("%w: ECDSA key not on P-256 (ES256 is the only ECDSA algorithm accepted)", ErrBadKey)
		}
		return verificationKey{kid: kid, alg: algES256, key: k}, nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return verificationKey{}, fmt.Errorf("%w: Ed25519 key of %d bytes", ErrBadKey, len(k))
		}
		return verificationKey{kid: kid, alg: algEdDSA, key: k}, nil
	}
	return verificationKey{}, fmt.Errorf("%w: key type %T: want RSA, ECDSA P-256 or Ed25519", ErrBadKey, key)
}

// equal reports whether k and other are the same key with the same kid.
func (k verificationKey) equal(other verificationKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := k.key.(equaler)
	return ok && k.kid == other.kid && k.alg == other.alg && e.Equal(other.key)
}

// appendMatching appends to dst the keys of keys that verify alg and
// carry kid; an empty kid matches every key.
func appendMatching(dst []jwt.VerificationKey, keys []verificationKey, kid, alg string) []jwt.VerificationKey {
	for _, k := range keys {
		if k.alg == alg && (kid == "" || k.kid == kid) {
			dst = append(dst, k.key)
		}
	}
	return dst
}

// ParsePublicKeys returns the public keys of the PEM blocks in data, for
// Config.PublicKeys: PUBLIC KEY (PKIX: RSA, ECDSA P-256 or Ed25519), RSA
// PUBLIC KEY (PKCS #1) and CERTIFICATE (its key is used; the certificate's
// validity is not checked). Text around the blocks is ignored. A private
// key is refused: a server that verifies tokens needs only the public one.
// Errors wrap ErrBadKey.
func ParsePublicKeys(data []byte) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for n := 1; ; n++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		key, err := parsePEMBlock(block)
		if err == nil {
			_, err = newVerificationKey("", key)
		}
		if err != nil {
			return nil, fmt.Errorf("PEM block %d (%s): %w", n, block.Type, err)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no PEM block", ErrBadKey)
	}
	return keys, nil
}

func parsePEMBlock(block *pem.Block) (crypto.PublicKey, error) {
	switch block.Type {
	case "PUBLIC KEY":
		key, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
		}
		return key, nil
	case "RSA PUBLIC KEY":
		key, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
		}
		return key, nil
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
		}
		return cert.PublicKey, nil
	case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY":
		return nil, fmt.Errorf("%w: a private key; give the public key (openssl pkey -pubout)", ErrBadKey)
	}
	return nil, fmt.Errorf("%w: unknown PEM block type", ErrBadKey)
}
