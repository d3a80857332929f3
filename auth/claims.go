package auth

import (
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims is what a valid token says about its bearer.
type Claims struct {
	// Sub is the user id. It is never empty in a verified token.
	Sub string
	// Name is the display name; it may be empty.
	Name string
	// Role is RoleViewer or RoleAdmin.
	Role string
	// Expires is when the token stops being valid (its exp). A connection
	// authenticated by it should end then.
	Expires time.Time
}

// Admin reports whether the claims carry the admin role.
func (c Claims) Admin() bool { return c.Role == RoleAdmin }

// tokenClaims is the JSON payload of a token.
type tokenClaims struct {
	Name string `json:"name,omitempty"`
	Role string `json:"role,omitempty"`
	jwt.RegisteredClaims
}

// Validate checks the claims danmu adds; the jwt parser calls it after
// the registered claims.
func (t *tokenClaims) Validate() error {
	if t.Subject == "" {
		return fmt.Errorf("%w: sub is empty", ErrInvalidClaim)
	}
	if t.Role != "" && t.Role != RoleViewer && t.Role != RoleAdmin {
		return fmt.Errorf("%w: role %q", ErrInvalidClaim, t.Role)
	}
	return nil
}
