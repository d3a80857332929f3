package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/danmu-dev/danmu/auth"
	"github.com/danmu-dev/danmu/policy"
	"github.com/danmu-dev/danmu/rdb"
)

// filterOptions are the flags of the word filter.
type filterOptions struct {
	path   string
	action string
}

// authFlags are the flags of the bearer tokens: their secret and the
// claims required of them. The HTTP API verifies tokens with them, and
// danmu token mints them.
func authFlags(fs *flag.FlagSet, o *options) {
	fs.Func("jwt-secret", "HS256 secret of the bearer tokens, at least 32 bytes (prefer the environment variable); without it, --jwt-public-key or --jwks-url the HTTP API runs in open development mode",
		func(s string) error {
			o.auth.Secret = []byte(s)
			return nil
		})
	fs.StringVar(&o.auth.Issuer, "jwt-issuer", "", "iss of the tokens: minted into them and required of them (empty: none)")
	fs.StringVar(&o.auth.Audience, "jwt-audience", "", "aud of the tokens: minted into them and required of them (empty: none)")
	fs.DurationVar(&o.auth.Leeway, "jwt-leeway", auth.DefaultLeeway, "clock skew allowed when checking a token's exp and nbf")
	fs.BoolVar(&o.viewerTokens, "viewer-tokens", false, "require every viewer to present a token (Authorization: Bearer, ?token= or the /sub enter key), checked with --jwt-secret, --jwt-public-key or --jwks-url; "+
		"closed with 1008 when it expires; the HTTP API's getDanmuInfo then answers -101 to callers without one")
}

// Production defaults: once tokens are checked (a secret or public keys
// are set), the node is taken to face the public, and the per-user rate
// and the spam window are on unless the operator set them, 0 included.
// About one comment a second a user, in bursts of --user-burst, is what
// large live platforms allow; 30 s covers a bot repeating a line.
const (
	productionUserRate   = "1"
	productionSpamWindow = "30s"
)

// productionDefaults applies the production defaults to the flags of fs
// that were not set, by flag or environment, when o has token keys.
func productionDefaults(fs *flag.FlagSet, o *options) {
	if !o.tokenKeys() || fs.Lookup("user-rate") == nil {
		return
	}
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, value := range map[string]string{"user-rate": productionUserRate, "spam-window": productionSpamWindow} {
		if !set[name] {
			_ = fs.Set(name, value) // constants that parse
		}
	}
}

// policyFlags are the flags of the HTTP API's abuse rules.
func policyFlags(fs *flag.FlagSet, o *options) {
	fs.Float64Var(&o.ingest.Policy.UserLimit.Rate, "user-rate", 0, "comments per second one user may post on average (0: no limit; "+
		"with token keys set, 1 unless given)")
	fs.IntVar(&o.ingest.Policy.UserLimit.Burst, "user-burst", 5, "comments one user may post at once before --user-rate applies")
	fs.Float64Var(&o.ingest.Policy.IPLimit.Rate, "ip-rate", 0, "comments per second one client address (an IPv6 /64) may post on average (0: no limit)")
	fs.IntVar(&o.ingest.Policy.IPLimit.Burst, "ip-burst", 20, "comments one client address may post at once before --ip-rate applies")
	fs.Float64Var(&o.ingest.Policy.RoomLimit.Rate, "room-rate", 0, "comments per second one room accepts on average (0: no limit)")
	fs.IntVar(&o.ingest.Policy.RoomLimit.Burst, "room-burst", 100, "comments one room accepts at once before --room-rate applies")
	fs.DurationVar(&o.ingest.Policy.SpamWindow, "spam-window", 0, "refuse a user's repeat of the same text in a room within this (0: no check; "+
		"with token keys set, 30s unless given)")
	fs.StringVar(&o.filter.path, "filter-file", "", "sensitive-word list, one word per line, reloaded on SIGHUP and by POST /v1/admin/filter/reload (empty: no filter)")
	fs.StringVar(&o.filter.action, "filter-action", string(policy.FilterReject), "what a listed word does to a comment: reject (422) or mask (each character becomes *)")
	fs.StringVar(&o.ingest.ClientIPHeader, "client-ip-header", "", "request header the reverse proxies in front set to the client address (X-Forwarded-For, X-Real-IP); "+
		"the client is its right-most address, across all its lines, that is not in --trusted-proxies; empty uses the TCP peer")
	fs.Var((*prefixList)(&o.ingest.TrustedProxies), "trusted-proxies", "addresses and CIDR prefixes of the reverse proxies in front, comma-separated (10.0.0.0/8,192.0.2.1,...): "+
		"--client-ip-header is believed only from them; empty takes the TCP peer for the one proxy in front, whoever it is")
}

// openPolicy sets the HTTP API's token verifier, word filter and, with a
// Redis client, policy store from o. Without a token key it warns loudly:
// the API then runs in open development mode.
func openPolicy(o *options, client *rdb.Client, logger *slog.Logger) error {
	if !o.tokenKeys() {
		logger.Warn("OPEN DEVELOPMENT MODE: no --jwt-secret (DANMU_JWT_SECRET), --jwt-public-key or --jwks-url is set, so anyone may post as anyone " +
			"and the admin API is off. Never expose this server; mint tokens with danmu token once a secret is set.")
	} else {
		v, err := auth.NewVerifier(o.auth)
		if err != nil {
			return fmt.Errorf("token keys: %w", err)
		}
		o.ingest.Auth = v
	}
	if o.filter.path != "" {
		f, err := policy.LoadFilter(o.filter.path, policy.FilterAction(o.filter.action))
		if err != nil {
			return fmt.Errorf("--filter-file: %w", err)
		}
		o.ingest.Policy.Filter = f
		logger.Info("word filter loaded", "file", o.filter.path, "words", f.Words(), "action", o.filter.action)
	}
	if client != nil {
		o.ingest.Policy.Store = policy.NewRedis(client)
	}
	return nil
}

// reloadOnHangup reloads the word filter on every SIGHUP until ctx ends.
// It starts listening before it returns, so a SIGHUP sent once the node
// serves never falls to the default action (ending the process).
func reloadOnHangup(ctx context.Context, wg *sync.WaitGroup, filter *policy.Filter, logger *slog.Logger) {
	hangups := make(chan os.Signal, 1)
	signal.Notify(hangups, syscall.SIGHUP)
	wg.Go(func() {
		defer signal.Stop(hangups)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hangups:
				n, err := filter.Reload()
				if err != nil {
					logger.Error("SIGHUP: reloading the word list failed; the previous list stays", "err", err)
					continue
				}
				logger.Info("SIGHUP: word list reloaded", "words", n)
			}
		}
	})
}
