package auth

import (
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Mint returns an HS256 token for c signed with cfg's secret: sub, name,
// role, exp from c.Expires, iat now, and iss and aud when cfg sets them.
// c.Sub and c.Expires are required; an empty Role mints a viewer's token.
// Check Sub and Name against the rules of the service the token is for
// (ingest refuses a token whose sub is not a valid user id). Tokens
// verified with public keys are minted by whoever holds the private key,
// the identity provider: never by danmu.
func Mint(cfg Config, c Claims) (string, error) {
	if err := cfg.checkSecret(); err != nil {
		return "", err
	}
	switch {
	case c.Sub == "":
		return "", fmt.Errorf("%w: sub is empty", ErrInvalidClaim)
	case c.Expires.IsZero():
		return "", fmt.Errorf("%w: no expiry", ErrInvalidClaim)
	case c.Role != "" && c.Role != RoleViewer && c.Role != RoleAdmin:
		return "", fmt.Errorf("%w: role %q: want %s or %s", ErrInvalidClaim, c.Role, RoleViewer, RoleAdmin)
	}
	tc := tokenClaims{
		Name: c.Name,
		Role: c.Role,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   c.Sub,
			Issuer:    cfg.Issuer,
			ExpiresAt: jwt.NewNumericDate(c.Expires),
			IssuedAt:  jwt.NewNumericDate(time.Now()),
		},
	}
	if cfg.Audience != "" {
		tc.Audience = jwt.ClaimStrings{cfg.Audience}
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, &tc).SignedString(cfg.Secret)
	if err != nil {
		return "", fmt.Errorf("auth: signing: %w", err)
	}
	return token, nil
}
