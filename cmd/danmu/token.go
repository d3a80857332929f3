package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/danmu-dev/danmu/auth"
	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/ingest"
)

// tokenOptions are the claims of danmu token.
type tokenOptions struct {
	sub  string
	name string
	role string
	ttl  time.Duration
}

// runToken mints a bearer token with the configured secret and prints it.
// tokenFlags returns the flags of danmu token, set into o and t.
func tokenFlags(o *options, t *tokenOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	authFlags(fs, o)
	fs.StringVar(&t.sub, "sub", "", "user id (required): 1 to 64 of A-Z a-z 0-9 _ . : -")
	fs.StringVar(&t.name, "name", "", "display name (empty: the user id shows)")
	fs.StringVar(&t.role, "role", auth.RoleViewer, "role: viewer, or admin for moderators (admin API, prio)")
	fs.DurationVar(&t.ttl, "ttl", time.Hour, "how long the token is valid")
	return fs
}

func runToken(args []string, stdout, stderr io.Writer) error {
	var o options
	var t tokenOptions
	fs := tokenFlags(&o, &t)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	switch {
	case len(o.auth.Secret) == 0:
		return usageError{errors.New("token needs --jwt-secret (or DANMU_JWT_SECRET), the secret the servers verify with")}
	case !codec.ValidUID(t.sub):
		return usageError{fmt.Errorf("--sub %q: want 1 to 64 of A-Z a-z 0-9 _ . : -", t.sub)}
	case t.name != "" && codec.CheckText(t.name, ingest.DefaultMaxNameRunes) != nil:
		return usageError{fmt.Errorf("--name %q: want 1 to %d characters on one line", t.name, ingest.DefaultMaxNameRunes)}
	case t.role != auth.RoleViewer && t.role != auth.RoleAdmin:
		return usageError{fmt.Errorf("--role %q: want %s or %s", t.role, auth.RoleViewer, auth.RoleAdmin)}
	case t.ttl <= 0:
		return usageError{fmt.Errorf("--ttl %v: want a positive duration", t.ttl)}
	}
	token, err := auth.Mint(o.auth, auth.Claims{Sub: t.sub, Name: t.name, Role: t.role, Expires: time.Now().Add(t.ttl)})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, token)
	return err
}
