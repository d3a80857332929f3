package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"
)

// testSigner is a private key of the tests and the algorithm it signs.
type testSigner struct {
	alg string
	key crypto.Signer
}

func (s testSigner) public() crypto.PublicKey { return s.key.Public() }

// testSigners returns three keys of each algorithm, generated once per
// test binary: RSA keys take a while to generate.
var testSigners = sync.OnceValue(func() map[string][]testSigner {
	m := make(map[string][]testSigner)
	for range 3 {
		r, err := rsa.GenerateKey(rand.Reader, MinRSABits)
		if err != nil {
			panic(err)
		}
		e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		_, ed, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		m[algRS256] = append(m[algRS256], testSigner{algRS256, r})
		m[algES256] = append(m[algES256], testSigner{algES256, e})
		m[algEdDSA] = append(m[algEdDSA], testSigner{algEdDSA, ed})
	}
	return m
})

// unusableKeys are keys of a type or size danmu refuses: ECDSA on P-384
// and RSA of 1024 bits.
var unusableKeys = sync.OnceValue(func() (keys struct {
	p384  *ecdsa.PrivateKey
	small *rsa.PrivateKey
}) {
	var err error
	if keys.p384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		panic(err)
	}
	if keys.small, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
		panic(err)
	}
	return keys
})

// signer returns test key i of alg.
func signer(alg string, i int) testSigner { return testSigners()[alg][i] }

// pemOf encodes public key as a PEM block of blockType: PUBLIC KEY
// (PKIX), RSA PUBLIC KEY (PKCS #1) or CERTIFICATE (self-signed by priv).
func pemOf(t testing.TB, blockType string, s testSigner) []byte {
	t.Helper()
	var der []byte
	var err error
	switch blockType {
	case "PUBLIC KEY":
		der, err = x509.MarshalPKIXPublicKey(s.public())
	case "RSA PUBLIC KEY":
		der = x509.MarshalPKCS1PublicKey(s.public().(*rsa.PublicKey))
	case "CERTIFICATE":
		template := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: "idp.test"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(-time.Minute), // expired: its key is used all the same
		}
		der, err = x509.CreateCertificate(rand.Reader, template, template, s.public(), s.key)
	}
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
}

func TestParsePublicKeys(t *testing.T) {
	rs, es, ed := signer(algRS256, 0), signer(algES256, 0), signer(algEdDSA, 0)
	tests := []struct {
		name string
		pem  []byte
		want []testSigner
	}{
		{"RSA PKIX", pemOf(t, "PUBLIC KEY", rs), []testSigner{rs}},
		{"RSA PKCS #1", pemOf(t, "RSA PUBLIC KEY", rs), []testSigner{rs}},
		{"EC P-256", pemOf(t, "PUBLIC KEY", es), []testSigner{es}},
		{"Ed25519", pemOf(t, "PUBLIC KEY", ed), []testSigner{ed}},
		{"certificate", pemOf(t, "CERTIFICATE", es), []testSigner{es}},
		{"several, with text between", append(append([]byte("current key:\n"), pemOf(t, "PUBLIC KEY", rs)...),
			append([]byte("next key:\n"), pemOf(t, "PUBLIC KEY", ed)...)...), []testSigner{rs, ed}},
	}
	for _, tt := range tests {
		keys, err := ParsePublicKeys(tt.pem)
		if err != nil {
			t.Errorf("%s: ParsePublicKeys: %v", tt.name, err)
			continue
		}
		if len(keys) != len(tt.want) {
			t.Errorf("%s: ParsePublicKeys returned %d keys; want %d", tt.name, len(keys), len(tt.want))
			continue
		}
		for i, want := range tt.want {
			k, err := newVerificationKey("", keys[i])
			if err != nil || k.alg != want.alg || !k.equal(verificationKey{alg: want.alg, key: want.public()}) {
				t.Errorf("%s: key %d = %T (%s, %v); want the %s key", tt.name, i, keys[i], k.alg, err, want.alg)
			}
		}
	}
}

func TestParsePublicKeysRefuses(t *testing.T) {
	p384, small := unusableKeys().p384, unusableKeys().small
	privateDER, err := x509.MarshalPKCS8PrivateKey(signer(algEdDSA, 0).key)
	if err != nil {
		t.Fatal(err)
	}
	good := pemOf(t, "PUBLIC KEY", signer(algRS256, 0))
	for name, data := range map[string][]byte{
		"empty":             nil,
		"no PEM":            []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI..."),
		"private key":       pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privateDER}),
		"P-384":             pemOf(t, "PUBLIC KEY", testSigner{"ES384", p384}),
		"RSA of 1024 bits":  pemOf(t, "PUBLIC KEY", testSigner{algRS256, small}),
		"unknown block":     pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: []byte{1}}),
		"garbled DER":       pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("not DER")}),
		"good then private": append(good, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privateDER})...),
	} {
		if keys, err := ParsePublicKeys(data); !errors.Is(err, ErrBadKey) {
			t.Errorf("%s: ParsePublicKeys = %d keys, %v; want ErrBadKey", name, len(keys), err)
		}
	}
}

// TestNewVerifierKeys checks the keys NewVerifier accepts and refuses.
func TestNewVerifierKeys(t *testing.T) {
	p384 := unusableKeys().p384
	rsaKey := signer(algRS256, 0).public().(*rsa.PublicKey)
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"nothing", Config{}, ErrNoKeys},
		{"short secret beside a key", Config{Secret: []byte("short"), PublicKeys: []crypto.PublicKey{rsaKey}}, ErrWeakSecret},
		{"P-384", Config{PublicKeys: []crypto.PublicKey{&p384.PublicKey}}, ErrBadKey},
		{"even RSA exponent", Config{PublicKeys: []crypto.PublicKey{&rsa.PublicKey{N: rsaKey.N, E: 65536}}}, ErrBadKey},
		{"RSA exponent 1", Config{PublicKeys: []crypto.PublicKey{&rsa.PublicKey{N: rsaKey.N, E: 1}}}, ErrBadKey},
		{"nil RSA key", Config{PublicKeys: []crypto.PublicKey{(*rsa.PublicKey)(nil)}}, ErrBadKey},
		{"short Ed25519", Config{PublicKeys: []crypto.PublicKey{ed25519.PublicKey{1, 2, 3}}}, ErrBadKey},
		{"a secret as a public key", Config{PublicKeys: []crypto.PublicKey{testSecret}}, ErrBadKey},
		{"private key", Config{PublicKeys: []crypto.PublicKey{signer(algRS256, 0).key}}, ErrBadKey},
	}
	for _, tt := range tests {
		if _, err := NewVerifier(tt.cfg); !errors.Is(err, tt.want) {
			t.Errorf("%s: NewVerifier = %v; want %v", tt.name, err, tt.want)
		}
	}
	for _, cfg := range []Config{
		{Secret: testSecret},
		{PublicKeys: []crypto.PublicKey{rsaKey}},
		{PublicKeys: []crypto.PublicKey{signer(algES256, 0).public(), signer(algEdDSA, 0).public()}},
	} {
		if _, err := NewVerifier(cfg); err != nil {
			t.Errorf("NewVerifier(%d public keys, secret %v): %v", len(cfg.PublicKeys), cfg.Secret != nil, err)
		}
	}
}
