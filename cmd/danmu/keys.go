package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/danmu-dev/danmu/auth"
)

// keyOptions are the flags of the public keys that verify the tokens of
// an identity provider.
type keyOptions struct {
	files  []string          // --jwt-public-key
	keySet auth.KeySetConfig // --jwks-url and --jwks-refresh
}

// keyFlags are the flags of the public keys tokens are verified with, and
// of the roles those tokens carry. The servers have them; danmu token,
// which mints with the secret, does not.
func keyFlags(fs *flag.FlagSet, o *options) {
	fs.Var((*addrList)(&o.keys.files), "jwt-public-key", "PEM files, comma-separated, of the identity provider's public keys or certificates "+
		"(RSA, EC P-256, Ed25519): RS256, ES256 and EdDSA tokens are verified with them")
	fs.StringVar(&o.keys.keySet.URL, "jwks-url", "", "URL of the identity provider's JWK Set (its jwks_uri): RS256, ES256 and EdDSA tokens are verified with its keys, "+
		"fetched at startup (danmu stops if it cannot) and kept fresh; the last good set stays while the URL fails")
	fs.DurationVar(&o.keys.keySet.Refresh, "jwks-refresh", auth.DefaultKeySetRefresh, "longest time between two fetches of --jwks-url; "+
		"a shorter Cache-Control max-age is honoured, and a token naming an unknown kid fetches sooner, at most once every "+auth.DefaultKeySetMinRefresh.String())
	fs.StringVar(&o.auth.RoleClaim, "jwt-role-claim", auth.DefaultRoleClaim, "claim holding the roles of a token signed with a public key: a string or a list of strings")
	fs.StringVar(&o.auth.AdminRole, "jwt-admin-role", auth.DefaultAdminRole, "role, in --jwt-role-claim, that makes a token signed with a public key an admin's; any other role makes a viewer's")
}

// tokenKeys reports whether any key to verify tokens with is set.
func (o *options) tokenKeys() bool {
	return len(o.auth.Secret) > 0 || len(o.keys.files) > 0 || o.keys.keySet.URL != ""
}

// openKeys reads the public keys of --jwt-public-key into o.auth and
// fetches the key set of --jwks-url, which it returns for the caller to
// run (nil without --jwks-url). A key file that cannot be read or a key
// set that cannot be fetched stops the node: a wrong path or URL fails
// loudly at startup rather than as refused tokens later.
func openKeys(ctx context.Context, o *options, logger *slog.Logger) (*auth.KeySet, error) {
	for _, path := range o.keys.files {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--jwt-public-key: %w", err)
		}
		keys, err := auth.ParsePublicKeys(data)
		if err != nil {
			return nil, fmt.Errorf("--jwt-public-key %s: %w", path, err)
		}
		o.auth.PublicKeys = append(o.auth.PublicKeys, keys...)
	}
	if o.keys.keySet.URL == "" {
		return nil, nil
	}
	keySet, err := auth.NewKeySet(o.keys.keySet)
	if err != nil {
		return nil, fmt.Errorf("--jwks-url: %w", err)
	}
	if strings.HasPrefix(o.keys.keySet.URL, "http:") {
		logger.Warn("--jwks-url is plain http: whoever is on the path can replace the keys and sign any token; use https beyond a trusted network",
			"url", o.keys.keySet.URL)
	}
	if err := keySet.Fetch(ctx, logger); err != nil {
		return nil, fmt.Errorf("--jwks-url: %w", err)
	}
	o.auth.KeySet = keySet
	return keySet, nil
}
