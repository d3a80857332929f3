package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func newTestVerifier(t testing.TB, cfg Config) *Verifier {
	t.Helper()
	if cfg.Secret == nil {
		cfg.Secret = testSecret
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sign signs claims with method and key, bypassing Mint, to build the
// tokens Mint would never make.
func sign(t testing.TB, method jwt.SigningMethod, key any, claims jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func registered(sub string, exp, nbf, iat time.Time) jwt.RegisteredClaims {
	rc := jwt.RegisteredClaims{Subject: sub, ExpiresAt: jwt.NewNumericDate(exp)}
	if !nbf.IsZero() {
		rc.NotBefore = jwt.NewNumericDate(nbf)
	}
	if !iat.IsZero() {
		rc.IssuedAt = jwt.NewNumericDate(iat)
	}
	return rc
}

func TestMintVerify(t *testing.T) {
	v := newTestVerifier(t, Config{})
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	tests := []struct {
		in   Claims
		want Claims
	}{
		{Claims{Sub: "u1", Name: "Alice", Expires: exp}, Claims{Sub: "u1", Name: "Alice", Role: RoleViewer, Expires: exp}},
		{Claims{Sub: "u2", Role: RoleViewer, Expires: exp}, Claims{Sub: "u2", Role: RoleViewer, Expires: exp}},
		{Claims{Sub: "mod", Name: "小明", Role: RoleAdmin, Expires: exp}, Claims{Sub: "mod", Name: "小明", Role: RoleAdmin, Expires: exp}},
	}
	for _, tt := range tests {
		token, err := Mint(Config{Secret: testSecret}, tt.in)
		if err != nil {
			t.Fatalf("Mint(%+v): %v", tt.in, err)
		}
		got, err := v.Verify(token)
		if err != nil {
			t.Fatalf("Verify(Mint(%+v)): %v", tt.in, err)
		}
		if got.Sub != tt.want.Sub || got.Name != tt.want.Name || got.Role != tt.want.Role || !got.Expires.Equal(tt.want.Expires) {
			t.Errorf("Verify(Mint(%+v)) = %+v; want %+v", tt.in, got, tt.want)
		}
		if got.Admin() != (tt.want.Role == RoleAdmin) {
			t.Errorf("%+v.Admin() = %v", got, got.Admin())
		}
	}
}

func TestMintRefuses(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	tests := []struct {
		name   string
		secret []byte
		claims Claims
		want   error
	}{
		{"short secret", []byte("short"), Claims{Sub: "u", Expires: exp}, ErrWeakSecret},
		{"no sub", testSecret, Claims{Expires: exp}, ErrInvalidClaim},
		{"no expiry", testSecret, Claims{Sub: "u"}, ErrInvalidClaim},
		{"unknown role", testSecret, Claims{Sub: "u", Role: "root", Expires: exp}, ErrInvalidClaim},
	}
	for _, tt := range tests {
		if _, err := Mint(Config{Secret: tt.secret}, tt.claims); !errors.Is(err, tt.want) {
			t.Errorf("%s: Mint = %v; want %v", tt.name, err, tt.want)
		}
	}
	if _, err := NewVerifier(Config{Secret: testSecret[:MinSecretBytes-1]}); !errors.Is(err, ErrWeakSecret) {
		t.Errorf("NewVerifier with a 31-byte secret: %v; want ErrWeakSecret", err)
	}
}

// TestVerifyRefuses checks every kind of bad token is refused with an
// error wrapping ErrInvalidToken (and the more precise error, if any).
func TestVerifyRefuses(t *testing.T) {
	v := newTestVerifier(t, Config{Leeway: 5 * time.Second})
	now := time.Now()
	hour := now.Add(time.Hour)
	good := sign(t, jwt.SigningMethodHS256, testSecret, &tokenClaims{Name: "A", RegisteredClaims: registered("u1", hour, time.Time{}, now)})
	parts := strings.Split(good, ".")

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// alg:none, as an attacker writes it: header and payload, empty signature.
	b64 := base64.RawURLEncoding.EncodeToString
	noneToken := b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	noneUpper := b64([]byte(`{"alg":"NONE","typ":"JWT"}`)) + "." + parts[1] + "."
	// The payload of good with the role raised to admin, signature unchanged.
	tampered := parts[0] + "." + b64([]byte(`{"name":"A","role":"admin","sub":"u1","exp":`+strconv.FormatInt(hour.Unix(), 10)+`}`)) + "." + parts[2]
	// The signature with its last character changed.
	lastSig := parts[0] + "." + parts[1] + "." + flipLast(parts[2])

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", nil},
		{"garbage", "not a token", nil},
		{"two parts", parts[0] + "." + parts[1], nil},
		{"expired", sign(t, jwt.SigningMethodHS256, testSecret, &tokenClaims{RegisteredClaims: registered("u1", now.Add(-time.Minute), time.Time{}, time.Time{})}), ErrExpired},
		{"not yet valid", sign(t, jwt.SigningMethodHS256, testSecret, &tokenClaims{RegisteredClaims: registered("u1", hour, now.Add(time.Minute), time.Time{})}), ErrNotYetValid},
		{"issued in the future", sign(t, jwt.SigningMethodHS256, testSecret, &tokenClaims{RegisteredClaims: registered("u1", hour, time.Time{}, now.Add(time.Minute))}), ErrNotYetValid},
		{"no exp", sign(t, jwt.SigningMethodHS256, testSecret, &tokenClaims{RegisteredClaims: jwt.RegisteredClaims{Subject: "u1"}}), nil},
		{"no sub", sign(t, jwt.SigningMethodHS256, testSecret, &tokenClaims{RegisteredClaims: registered("", hour, time.Time{}, time.Time{})}), ErrInvalidClaim},
		{"unknown role", sign(t, jwt.SigningMethodHS256, testSecret, &tokenClaims{Role: "root", RegisteredClaims: registered("u1", hour, time.Time{}, time.Time{})}), ErrInvalidClaim},
		{"wrong secret", sign(t, jwt.SigningMethodHS256, []byte("another secret of thirty-two bytes"), &tokenClaims{RegisteredClaims: registered("u1", hour, time.Time{}, time.Time{})}), nil},
		{"HS384", sign(t, jwt.SigningMethodHS384, testSecret, &tokenClaims{RegisteredClaims: registered("u1", hour, time.Time{}, time.Time{})}), nil},
		{"HS512", sign(t, jwt.SigningMethodHS512, testSecret, &tokenClaims{RegisteredClaims: registered("u1", hour, time.Time{}, time.Time{})}), nil},
		{"RS256", sign(t, jwt.SigningMethodRS256, rsaKey, &tokenClaims{RegisteredClaims: registered("u1", hour, time.Time{}, time.Time{})}), nil},
		{"alg none", noneToken, nil},
		{"alg NONE", noneUpper, nil},
		{"alg none signed by the library", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, &tokenClaims{RegisteredClaims: registered("u1", hour, time.Time{}, time.Time{})}), nil},
		{"tampered payload", tampered, nil},
		{"tampered signature", lastSig, nil},
		{"signature dropped", parts[0] + "." + parts[1] + ".", nil},
		{"padded", good + "=", nil},
		{"oversize", sign(t, jwt.SigningMethodHS256, testSecret, &tokenClaims{Name: strings.Repeat("n", DefaultMaxTokenBytes), RegisteredClaims: registered("u1", hour, time.Time{}, time.Time{})}), ErrTokenTooLarge},
	}
	for _, tt := range tests {
		c, err := v.Verify(tt.token)
		if !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: Verify = %+v, %v; want ErrInvalidToken", tt.name, c, err)
			continue
		}
		if tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: Verify error %v; want it to wrap %v", tt.name, err, tt.want)
		}
		if c != (Claims{}) {
			t.Errorf("%s: Verify returned claims %+v with its error", tt.name, c)
		}
	}
	if _, err := v.Verify(good); err != nil {
		t.Errorf("the untouched token: %v", err)
	}
}

// flipLast changes the last character of a base64url string to another
// valid one.
func flipLast(s string) string {
	last := s[len(s)-1]
	if last == 'A' {
		return s[:len(s)-1] + "Q"
	}
	return s[:len(s)-1] + "A"
}

func TestVerifyLeeway(t *testing.T) {
	v := newTestVerifier(t, Config{Leeway: time.Minute})
	now := time.Now()
	tests := []struct {
		name string
		rc   jwt.RegisteredClaims
		ok   bool
	}{
		{"expired within leeway", registered("u1", now.Add(-30*time.Second), time.Time{}, time.Time{}), true},
		{"expired beyond leeway", registered("u1", now.Add(-2*time.Minute), time.Time{}, time.Time{}), false},
		{"nbf within leeway", registered("u1", now.Add(time.Hour), now.Add(30*time.Second), time.Time{}), true},
		{"nbf beyond leeway", registered("u1", now.Add(time.Hour), now.Add(2*time.Minute), time.Time{}), false},
	}
	for _, tt := range tests {
		_, err := v.Verify(sign(t, jwt.SigningMethodHS256, testSecret, &tokenClaims{RegisteredClaims: tt.rc}))
		if (err == nil) != tt.ok {
			t.Errorf("%s: Verify = %v; want ok %v", tt.name, err, tt.ok)
		}
	}
}

func TestVerifyIssuerAudience(t *testing.T) {
	cfg := Config{Secret: testSecret, Issuer: "danmu-test", Audience: "ingest"}
	v := newTestVerifier(t, cfg)
	exp := time.Now().Add(time.Hour)
	token, err := Mint(cfg, Claims{Sub: "u1", Expires: exp})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(token); err != nil {
		t.Errorf("token with the configured iss and aud: %v", err)
	}
	for name, other := range map[string]Config{
		"no iss or aud": {Secret: testSecret},
		"other iss":     {Secret: testSecret, Issuer: "elsewhere", Audience: "ingest"},
		"other aud":     {Secret: testSecret, Issuer: "danmu-test", Audience: "edge"},
	} {
		token, err := Mint(other, Claims{Sub: "u1", Expires: exp})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(token); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: Verify = %v; want ErrInvalidToken", name, err)
		}
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Bearer abc.def.ghi", "abc.def.ghi", true},
		{"bearer abc", "abc", true},
		{"BEARER  abc", "abc", true},
		{"", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic dXNlcjpwYXNz", "", false},
		{"Bearer a b", "", false},
		{"Bearerabc", "", false},
		{"abc", "", false},
	}
	for _, tt := range tests {
		got, ok := BearerToken(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestVerifyCache(t *testing.T) {
	v := newTestVerifier(t, Config{CacheSize: 2})
	exp := time.Now().Add(time.Hour)
	tokens := make([]string, 3)
	for i := range tokens {
		var err error
		if tokens[i], err = Mint(Config{Secret: testSecret}, Claims{Sub: "u" + strconv.Itoa(i), Expires: exp}); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		for i, token := range tokens {
			if c, err := v.Verify(token); err != nil || c.Sub != "u"+strconv.Itoa(i) {
				t.Fatalf("Verify(token %d) = %+v, %v", i, c, err)
			}
		}
	}
	if n := len(v.cache.entries); n != 2 {
		t.Errorf("cache holds %d tokens; want its size, 2", n)
	}

	// A cached token is refused once it expires.
	v.cache.entries[tokens[0]] = cacheEntry{claims: Claims{Sub: "u0", Role: RoleViewer, Expires: time.Now().Add(-time.Hour)}}
	if _, err := v.Verify(tokens[0]); !errors.Is(err, ErrExpired) {
		t.Errorf("Verify of a cached token past its expiry: %v; want ErrExpired", err)
	}

	off := newTestVerifier(t, Config{CacheSize: -1})
	if _, err := off.Verify(tokens[0]); err != nil {
		t.Fatal(err)
	}
	if n := len(off.cache.entries); n != 0 {
		t.Errorf("cache off holds %d tokens", n)
	}
}

// BenchmarkVerify verifies one token again and again: after the first
// time, from the cache.
func BenchmarkVerify(b *testing.B) {
	benchmarkVerify(b, Config{})
}

// BenchmarkVerifyUncached verifies with the cache off: parsing, HMAC and
// claim checks every time.
func BenchmarkVerifyUncached(b *testing.B) {
	benchmarkVerify(b, Config{CacheSize: -1})
}

func benchmarkVerify(b *testing.B, cfg Config) {
	v := newTestVerifier(b, cfg)
	token, err := Mint(Config{Secret: testSecret}, Claims{Sub: "u-123456", Name: "viewer", Expires: time.Now().Add(time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(token); err != nil {
			b.Fatal(err)
		}
	}
}
