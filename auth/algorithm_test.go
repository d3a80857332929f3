package auth

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// signAs signs claims as s with its algorithm, naming kid in the header
// when it is not empty.
func signAs(t testing.TB, s testSigner, kid string, claims jwt.Claims) string {
	t.Helper()
	token := jwt.NewWithClaims(jwt.GetSigningMethod(s.alg), claims)
	if kid != "" {
		token.Header["kid"] = kid
	}
	signed, err := token.SignedString(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// signHeader signs claims as s with a header of its own making: alg is
// s's, the rest is header.
func signHeader(t testing.TB, s testSigner, header map[string]any, claims jwt.Claims) string {
	t.Helper()
	token := jwt.NewWithClaims(jwt.GetSigningMethod(s.alg), claims)
	for k, v := range header {
		token.Header[k] = v
	}
	signed, err := token.SignedString(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// keySetOf returns a KeySet holding keys, as if fetched, without a
// server: Run is never started, so a request for a fetch stays queued.
func keySetOf(t testing.TB, keys ...verificationKey) *KeySet {
	t.Helper()
	s, err := NewKeySet(KeySetConfig{URL: "http://idp.invalid/jwks.json"})
	if err != nil {
		t.Fatal(err)
	}
	s.install(keys)
	return s
}

// setKey returns test key i of alg as the key set lists it under kid.
func setKey(t testing.TB, alg string, i int, kid string) verificationKey {
	t.Helper()
	k, err := newVerificationKey(kid, signer(alg, i).public())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fetchRequested reports whether a fetch was asked of s, and takes the
// request.
func fetchRequested(s *KeySet) bool {
	select {
	case <-s.wanted:
		return true
	default:
		return false
	}
}

// TestVerifyAlgorithms checks a token of each algorithm is accepted, with
// a key from a file (no kid) or from a key set (by kid, or any key of the
// algorithm when the token names none).
func TestVerifyAlgorithms(t *testing.T) {
	set := keySetOf(t, setKey(t, algRS256, 0, "r0"), setKey(t, algES256, 1, "e1"), setKey(t, algEdDSA, 0, "d0"))
	v := newTestVerifier(t, Config{
		Secret:     testSecret,
		PublicKeys: []crypto.PublicKey{signer(algES256, 0).public(), signer(algEdDSA, 2).public()},
		KeySet:     set,
		CacheSize:  -1,
	})
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	claims := func(sub string) *tokenClaims {
		return &tokenClaims{Name: "N " + sub, RegisteredClaims: registered(sub, exp, time.Time{}, time.Now())}
	}
	tests := []struct {
		name  string
		token string
	}{
		{"HS256 with the secret", sign(t, jwt.SigningMethodHS256, testSecret, claims("hs"))},
		{"RS256 from the set, by kid", signAs(t, signer(algRS256, 0), "r0", claims("rs"))},
		{"RS256 from the set, no kid", signAs(t, signer(algRS256, 0), "", claims("rs-nokid"))},
		{"ES256 from the set, by kid", signAs(t, signer(algES256, 1), "e1", claims("es"))},
		{"ES256 from a file", signAs(t, signer(algES256, 0), "", claims("es-file"))},
		{"ES256 from a file, a kid the set lacks", signAs(t, signer(algES256, 0), "file-key", claims("es-file-kid"))},
		{"EdDSA from the set, by kid", signAs(t, signer(algEdDSA, 0), "d0", claims("ed"))},
		{"EdDSA from a file", signAs(t, signer(algEdDSA, 2), "", claims("ed-file"))},
	}
	for _, tt := range tests {
		c, err := v.Verify(tt.token)
		if err != nil {
			t.Errorf("%s: Verify: %v", tt.name, err)
			continue
		}
		if c.Sub == "" || c.Name != "N "+c.Sub || c.Role != RoleViewer || !c.Expires.Equal(exp) {
			t.Errorf("%s: Verify = %+v", tt.name, c)
		}
	}
}

// TestVerifyRefusesConfusion checks that no token verifies with a key of
// another algorithm than its own, or with a key the token picks itself.
func TestVerifyRefusesConfusion(t *testing.T) {
	rs, es, ed := signer(algRS256, 0), signer(algES256, 0), signer(algEdDSA, 0)
	set := keySetOf(t, setKey(t, algRS256, 0, "r0"), setKey(t, algES256, 0, "e0"), setKey(t, algEdDSA, 0, "d0"))
	keysOnly := newTestVerifier(t, Config{Secret: []byte{}, KeySet: set})
	withSecret := newTestVerifier(t, Config{KeySet: set})

	now := time.Now()
	good := &tokenClaims{RegisteredClaims: registered("u1", now.Add(time.Hour), time.Time{}, now)}
	pkix, err := x509.MarshalPKIXPublicKey(rs.public())
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pemOf(t, "PUBLIC KEY", rs)
	b64 := base64.RawURLEncoding.EncodeToString
	payload := strings.Split(signAs(t, rs, "r0", good), ".")[1]
	unsigned := func(header string) string { return b64([]byte(header)) + "." + payload + "." }
	attacker := signer(algRS256, 1)
	embedded, err := json.Marshal(jwkOf("", attacker.public()))
	if err != nil {
		t.Fatal(err)
	}
	var embeddedJWK map[string]any
	if err := json.Unmarshal(embedded, &embeddedJWK); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"HS256 keyed with the RSA key's PEM", sign(t, jwt.SigningMethodHS256, pemKey, good), nil},
		{"HS256 keyed with the RSA key's DER", sign(t, jwt.SigningMethodHS256, pkix, good), nil},
		{"HS256 keyed with the RSA modulus", sign(t, jwt.SigningMethodHS256, rs.public().(*rsa.PublicKey).N.Bytes(), good), nil},
		{"alg none", unsigned(`{"alg":"none","typ":"JWT","kid":"r0"}`), nil},
		{"alg None", unsigned(`{"alg":"None","kid":"r0"}`), nil},
		{"alg missing", unsigned(`{"kid":"r0"}`), nil},
		{"RS256 naming the EC key's kid", signAs(t, signer(algRS256, 2), "e0", good), ErrUnknownKey},
		{"ES256 naming the RSA key's kid", signAs(t, signer(algES256, 2), "r0", good), ErrUnknownKey},
		{"EdDSA naming the RSA key's kid", signAs(t, signer(algEdDSA, 2), "r0", good), ErrUnknownKey},
		{"RS256 by another key, naming a known kid", signAs(t, attacker, "r0", good), nil},
		{"RS256 by another key, no kid", signAs(t, attacker, "", good), nil},
		{"ES256 by another key, naming a known kid", signAs(t, signer(algES256, 1), "e0", good), nil},
		{"EdDSA by another key, naming a known kid", signAs(t, signer(algEdDSA, 1), "d0", good), nil},
		{"RS512 by the RSA key", signAs(t, testSigner{"RS512", rs.key}, "r0", good), nil},
		{"PS256 by the RSA key", signAs(t, testSigner{"PS256", rs.key}, "r0", good), nil},
		{"the attacker's key embedded as jwk", signHeader(t, attacker, map[string]any{"jwk": embeddedJWK}, good), nil},
		{"the attacker's key set as jku", signHeader(t, attacker, map[string]any{"jku": "https://evil.test/jwks.json", "kid": "evil"}, good), ErrUnknownKey},
		{"kid not a string", signHeader(t, rs, map[string]any{"kid": 7}, good), nil},
		{"crit header", signHeader(t, rs, map[string]any{"kid": "r0", "crit": []string{"exp"}, "exp": 1}, good), nil},
		{"expired", signAs(t, es, "e0", &tokenClaims{RegisteredClaims: registered("u1", now.Add(-time.Hour), time.Time{}, time.Time{})}), ErrExpired},
		{"not yet valid", signAs(t, ed, "d0", &tokenClaims{RegisteredClaims: registered("u1", now.Add(time.Hour), now.Add(time.Hour), time.Time{})}), ErrNotYetValid},
		{"no exp", signAs(t, rs, "r0", &tokenClaims{RegisteredClaims: jwt.RegisteredClaims{Subject: "u1"}}), nil},
		{"no sub", signAs(t, rs, "r0", &tokenClaims{RegisteredClaims: registered("", now.Add(time.Hour), time.Time{}, time.Time{})}), ErrInvalidClaim},
		{"signature of another token", strings.Join(append(strings.Split(signAs(t, rs, "r0", good), ".")[:2], strings.Split(signAs(t, rs, "r0", &tokenClaims{Role: "admin", RegisteredClaims: good.RegisteredClaims}), ".")[2]), "."), nil},
	}
	for _, v := range []*Verifier{keysOnly, withSecret} {
		for _, tt := range tests {
			c, err := v.Verify(tt.token)
			if !errors.Is(err, ErrInvalidToken) || c != (Claims{}) {
				t.Errorf("%s: Verify = %+v, %v; want ErrInvalidToken", tt.name, c, err)
				continue
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("%s: Verify error %v; want it to wrap %v", tt.name, err, tt.want)
			}
		}
	}
	if _, err := keysOnly.Verify(signAs(t, rs, "r0", good)); err != nil {
		t.Errorf("the genuine RS256 token: %v", err)
	}
}

// TestVerifyFetchRequests checks that only a kid the set lacks asks for a
// fetch: a known kid of another algorithm does not.
func TestVerifyFetchRequests(t *testing.T) {
	set := keySetOf(t, setKey(t, algRS256, 0, "r0"), setKey(t, algEdDSA, 0, "d0"))
	v := newTestVerifier(t, Config{KeySet: set})
	claims := &tokenClaims{RegisteredClaims: registered("u1", time.Now().Add(time.Hour), time.Time{}, time.Time{})}
	tests := []struct {
		name  string
		token string
		fetch bool
	}{
		{"known kid", signAs(t, signer(algRS256, 0), "r0", claims), false},
		{"known kid of another algorithm", signAs(t, signer(algES256, 0), "d0", claims), false},
		{"no kid", signAs(t, signer(algES256, 0), "", claims), false},
		{"unknown kid", signAs(t, signer(algRS256, 1), "r1", claims), true},
		{"HS256", sign(t, jwt.SigningMethodHS256, testSecret, claims), false},
	}
	for _, tt := range tests {
		_, err := v.Verify(tt.token)
		if got := fetchRequested(set); got != tt.fetch {
			t.Errorf("%s: Verify = %v and asked for a fetch: %v; want %v", tt.name, err, got, tt.fetch)
		}
	}
}

func TestVerifyIssuerAudiencePublicKey(t *testing.T) {
	rs := signer(algRS256, 0)
	v := newTestVerifier(t, Config{PublicKeys: []crypto.PublicKey{rs.public()}, Issuer: "https://idp.test/", Audience: "danmu"})
	exp := jwt.NewNumericDate(time.Now().Add(time.Hour))
	tests := []struct {
		name string
		rc   jwt.RegisteredClaims
		ok   bool
	}{
		{"iss and aud", jwt.RegisteredClaims{Subject: "u", Issuer: "https://idp.test/", Audience: jwt.ClaimStrings{"danmu"}, ExpiresAt: exp}, true},
		{"aud among others", jwt.RegisteredClaims{Subject: "u", Issuer: "https://idp.test/", Audience: jwt.ClaimStrings{"api", "danmu"}, ExpiresAt: exp}, true},
		{"other aud", jwt.RegisteredClaims{Subject: "u", Issuer: "https://idp.test/", Audience: jwt.ClaimStrings{"api"}, ExpiresAt: exp}, false},
		{"no aud", jwt.RegisteredClaims{Subject: "u", Issuer: "https://idp.test/", ExpiresAt: exp}, false},
		{"iss without the slash", jwt.RegisteredClaims{Subject: "u", Issuer: "https://idp.test", Audience: jwt.ClaimStrings{"danmu"}, ExpiresAt: exp}, false},
		{"no iss", jwt.RegisteredClaims{Subject: "u", Audience: jwt.ClaimStrings{"danmu"}, ExpiresAt: exp}, false},
	}
	for _, tt := range tests {
		_, err := v.Verify(signAs(t, rs, "", &tokenClaims{RegisteredClaims: tt.rc}))
		if (err == nil) != tt.ok {
			t.Errorf("%s: Verify = %v; want ok %v", tt.name, err, tt.ok)
		}
	}
}

// roleClaims is a payload with a role claim of any JSON type, under any
// name.
type roleClaims struct {
	jwt.RegisteredClaims
	claim string
	value any
}

func (r roleClaims) MarshalJSON() ([]byte, error) {
	registered, err := json.Marshal(r.RegisteredClaims)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(registered, &m); err != nil {
		return nil, err
	}
	if r.claim != "" {
		m[r.claim] = r.value
	}
	return json.Marshal(m)
}

// TestVerifyRoles checks how roles map: danmu's HS256 tokens carry
// "role", viewer or admin and nothing else; an identity provider's tokens
// carry the configured claim, and hold the admin role or not.
func TestVerifyRoles(t *testing.T) {
	rc := registered("u1", time.Now().Add(time.Hour), time.Time{}, time.Time{})
	ed := signer(algEdDSA, 0)
	defaults := newTestVerifier(t, Config{Secret: testSecret, PublicKeys: []crypto.PublicKey{ed.public()}})
	groups := newTestVerifier(t, Config{Secret: testSecret, PublicKeys: []crypto.PublicKey{ed.public()}, RoleClaim: "https://danmu.example/roles", AdminRole: "danmu-admin"})
	tests := []struct {
		name  string
		v     *Verifier
		hs256 bool
		claim string
		value any
		want  string // "" for a refusal
	}{
		{"HS256 admin", defaults, true, "role", "admin", RoleAdmin},
		{"HS256 viewer", defaults, true, "role", "viewer", RoleViewer},
		{"HS256 no role", defaults, true, "", nil, RoleViewer},
		{"HS256 empty role", defaults, true, "role", "", RoleViewer},
		{"HS256 null role", defaults, true, "role", nil, RoleViewer},
		{"HS256 unknown role", defaults, true, "role", "editor", ""},
		{"HS256 role list", defaults, true, "role", []string{"admin"}, ""},
		{"HS256 role number", defaults, true, "role", 1, ""},
		{"HS256 ignores the renamed claim", groups, true, "https://danmu.example/roles", []string{"danmu-admin"}, RoleViewer},
		{"HS256 keeps role with a renamed claim", groups, true, "role", "admin", RoleAdmin},
		{"IdP admin", defaults, false, "role", "admin", RoleAdmin},
		{"IdP admin in a list", defaults, false, "role", []string{"editor", "admin"}, RoleAdmin},
		{"IdP other role", defaults, false, "role", "editor", RoleViewer},
		{"IdP other roles", defaults, false, "role", []string{"editor", "Admin"}, RoleViewer},
		{"IdP no role", defaults, false, "", nil, RoleViewer},
		{"IdP role object", defaults, false, "role", map[string]any{"admin": true}, ""},
		{"IdP role list of numbers", defaults, false, "role", []int{1}, ""},
		{"renamed claim admin", groups, false, "https://danmu.example/roles", []string{"staff", "danmu-admin"}, RoleAdmin},
		{"renamed claim, one string", groups, false, "https://danmu.example/roles", "danmu-admin", RoleAdmin},
		{"renamed claim, other role", groups, false, "https://danmu.example/roles", []string{"admin"}, RoleViewer},
		{"renamed claim ignores role", groups, false, "role", "danmu-admin", RoleViewer},
		{"renamed claim ignores a bad role", groups, false, "role", map[string]any{}, RoleViewer},
		{"renamed claim of a bad type", groups, false, "https://danmu.example/roles", 7, ""},
	}
	for _, tt := range tests {
		claims := roleClaims{RegisteredClaims: rc, claim: tt.claim, value: tt.value}
		var token string
		if tt.hs256 {
			token = sign(t, jwt.SigningMethodHS256, testSecret, claims)
		} else {
			token = signAs(t, ed, "", claims)
		}
		c, err := tt.v.Verify(token)
		switch {
		case tt.want == "" && !errors.Is(err, ErrInvalidClaim):
			t.Errorf("%s: Verify = %+v, %v; want ErrInvalidClaim", tt.name, c, err)
		case tt.want != "" && (err != nil || c.Role != tt.want):
			t.Errorf("%s: Verify = %+v, %v; want role %s", tt.name, c, err, tt.want)
		}
	}
}
