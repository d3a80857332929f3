package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerify checks that Verify never panics, refuses with errors wrapping
// ErrInvalidToken, and accepts only tokens carrying valid claims; and that
// a genuine token changed in one byte is always refused.
func FuzzVerify(f *testing.F) {
	now := time.Now()
	good, err := Mint(Config{Secret: testSecret}, Claims{Sub: "u1", Name: "Alice", Role: RoleAdmin, Expires: now.Add(time.Hour)})
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(good, ".")
	for _, seed := range []string{
		good,
		"",
		".",
		"..",
		"a.b.c",
		parts[0] + "." + parts[1] + ".",
		"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + ".",
		sign(f, jwt.SigningMethodHS512, testSecret, &tokenClaims{RegisteredClaims: registered("u1", now.Add(time.Hour), time.Time{}, time.Time{})}),
		sign(f, jwt.SigningMethodHS256, testSecret, &tokenClaims{RegisteredClaims: registered("u1", now.Add(-time.Hour), time.Time{}, time.Time{})}),
	} {
		f.Add(seed, 0, byte(0))
	}
	f.Add(good, 10, byte('x'))
	f.Add(good, len(good)-1, byte('A'))
	v := newTestVerifier(f, Config{})
	f.Fuzz(func(t *testing.T, token string, at int, b byte) {
		c, err := v.Verify(token)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) || c != (Claims{}) {
				t.Fatalf("Verify(%q) = %+v, %v", token, c, err)
			}
		} else if c.Sub == "" || (c.Role != RoleViewer && c.Role != RoleAdmin) || c.Expires.IsZero() {
			t.Fatalf("Verify(%q) accepted %+v", token, c)
		}

		// One byte of the genuine token changed.
		if at < 0 || at >= len(good) || good[at] == b {
			return
		}
		changed := good[:at] + string([]byte{b}) + good[at+1:]
		if c, err := v.Verify(changed); err == nil {
			t.Fatalf("Verify(%q), good with byte %d set to %q, accepted %+v", changed, at, b, c)
		}
	})
}
