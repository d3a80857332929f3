package auth

import (
	"encoding/json"
	"fmt"
	"slices"
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

// tokenClaims is the JSON payload of a token Mint signs.
type tokenClaims struct {
	Name string `json:"name,omitempty"`
	Role string `json:"role,omitempty"`
	jwt.RegisteredClaims
}

// parsedClaims is the JSON payload of a token being verified.
type parsedClaims struct {
	Name string     `json:"name"`
	Role roleValues `json:"role"`
	jwt.RegisteredClaims

	// roleClaim, set before decoding, names the claim holding the roles
	// of a token signed with a public key; mapped is its value when it is
	// not "role".
	roleClaim string
	mapped    roleValues
}

// UnmarshalJSON decodes the payload, and the claim roleClaim names when
// it is not "role": a second decoding, paid only by deployments that
// rename the claim, and only for tokens not in the cache.
func (p *parsedClaims) UnmarshalJSON(data []byte) error {
	type fields parsedClaims // without this method
	if err := json.Unmarshal(data, (*fields)(p)); err != nil {
		return err
	}
	if p.roleClaim == "" || p.roleClaim == "role" {
		return nil
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	if raw, ok := all[p.roleClaim]; ok {
		return json.Unmarshal(raw, &p.mapped)
	}
	return nil
}

// Validate checks the claims danmu requires besides the registered ones;
// the jwt parser calls it once the signature and times are checked.
func (p *parsedClaims) Validate() error {
	if p.Subject == "" {
		return fmt.Errorf("%w: sub is empty", ErrInvalidClaim)
	}
	return nil
}

// role returns the role of a token verified with alg. An HS256 token is
// danmu's own: its role claim is absent, "viewer" or "admin", and
// anything else refuses it, as before public keys were accepted. A token
// signed with a public key is an identity provider's, whose roles serve
// many applications: it is an admin's when its role claim holds
// adminRole, a viewer's otherwise.
func (p *parsedClaims) role(alg, adminRole string) (string, error) {
	if alg == algHS256 {
		r := p.Role
		switch {
		case r.invalid || r.list || len(r.values) > 1:
			return "", fmt.Errorf("%w: role is not one string", ErrInvalidClaim)
		case len(r.values) == 0:
			return RoleViewer, nil
		case r.values[0] == RoleViewer || r.values[0] == RoleAdmin:
			return r.values[0], nil
		}
		return "", fmt.Errorf("%w: role %q", ErrInvalidClaim, r.values[0])
	}
	r := p.Role
	if p.roleClaim != "role" {
		r = p.mapped
	}
	if r.invalid {
		return "", fmt.Errorf("%w: %s is neither a string nor a list of strings", ErrInvalidClaim, p.roleClaim)
	}
	if slices.Contains(r.values, adminRole) {
		return RoleAdmin, nil
	}
	return RoleViewer, nil
}

// roleValues is a role claim: one string or a list of strings, as
// identity providers write them. A value of another type is marked
// invalid rather than failing the decoding: whether it matters depends on
// which claim the deployment reads roles from.
type roleValues struct {
	values  []string
	list    bool // it was a list
	invalid bool // it was neither a string nor a list of strings
}

func (r *roleValues) UnmarshalJSON(data []byte) error {
	*r = roleValues{}
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		if one != "" {
			r.values = []string{one}
		}
		return nil
	}
	if err := json.Unmarshal(data, &r.values); err != nil {
		r.values, r.invalid = nil, true
	}
	r.list = true
	return nil
}
