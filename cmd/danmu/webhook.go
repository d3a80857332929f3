package main

import (
	"cmp"
	"flag"
	"fmt"
	"log/slog"

	"github.com/danmu-dev/danmu/ingest"
	"github.com/danmu-dev/danmu/policy"
)

// webhookOptions are the flags of the webhooks; an empty URL means none.
type webhookOptions struct {
	publish     policy.PublishHookConfig
	publishFail string
	stored      policy.StoredHookConfig
}

// webhookFlags are the flags of the publish and stored webhooks
// (docs/hooks.md, "Webhooks").
func webhookFlags(fs *flag.FlagSet, o *options) {
	w := &o.webhooks
	fs.StringVar(&w.publish.URL, "publish-hook-url", "", "URL danmu POSTs every comment to before storing it; the answer accepts, rejects or rewrites it (empty: none)")
	fs.DurationVar(&w.publish.Timeout, "publish-hook-timeout", policy.DefaultWebhookTimeout, "bound of one call to --publish-hook-url")
	fs.IntVar(&w.publish.Retries, "publish-hook-retries", 1, "calls to --publish-hook-url made again after a transport error or a 5xx")
	fs.StringVar(&w.publishFail, "publish-hook-fail", "closed", "when --publish-hook-url gives no usable answer: closed refuses the comment (503 hook_unavailable), open accepts it")
	fs.IntVar(&w.publish.BreakerFailures, "publish-hook-breaker-failures", policy.DefaultBreakerFailures, "failed calls in a row after which --publish-hook-url is not called for --publish-hook-breaker-cooldown")
	fs.DurationVar(&w.publish.BreakerCooldown, "publish-hook-breaker-cooldown", policy.DefaultBreakerCooldown, "how long the failing --publish-hook-url is not called before one probe")
	fs.StringVar(&w.stored.URL, "stored-hook-url", "", "URL danmu POSTs every stored comment to, with its id, in the background; best effort (empty: none)")
	fs.DurationVar(&w.stored.Timeout, "stored-hook-timeout", 2*policy.DefaultWebhookTimeout, "bound of one call to --stored-hook-url")
	fs.IntVar(&w.stored.Retries, "stored-hook-retries", 2, "calls to --stored-hook-url made again after a transport error or a 5xx")
	fs.IntVar(&w.stored.Queue, "stored-hook-queue", policy.DefaultStoredHookQueue, "stored comments waiting for --stored-hook-url; more are dropped and counted")
	fs.IntVar(&w.stored.Workers, "stored-hook-workers", policy.DefaultStoredHookWorkers, "calls to --stored-hook-url made at once")
	fs.Func("hook-secret", "key of the X-Danmu-Signature HMAC of every webhook call (prefer the environment variable; empty: unsigned)",
		func(s string) error {
			w.publish.Secret = []byte(s)
			w.stored.Secret = []byte(s)
			return nil
		})
}

// webhooks are the webhooks of a node; either may be nil.
type webhooks struct {
	publish *policy.PublishHook
	stored  *policy.StoredHook
}

// hooks returns the webhooks to add to the HTTP API's chain.
func (w webhooks) hooks() []policy.Hook {
	var hooks []policy.Hook
	if w.publish != nil {
		hooks = append(hooks, w.publish)
	}
	if w.stored != nil {
		hooks = append(hooks, w.stored)
	}
	return hooks
}

// openWebhooks makes the webhooks o asks for.
func openWebhooks(o *options, logger *slog.Logger) (webhooks, error) {
	var w webhooks
	if o.webhooks.publish.URL != "" {
		switch o.webhooks.publishFail {
		case "closed":
		case "open":
			o.webhooks.publish.FailOpen = true
		default:
			return w, usageError{fmt.Errorf("--publish-hook-fail must be closed or open, not %q", o.webhooks.publishFail)}
		}
		// A post's hooks share one deadline: a longer call would only
		// ever end with it.
		if limit := cmp.Or(o.ingest.HookTimeout, ingest.DefaultHookTimeout); o.webhooks.publish.Timeout >= limit {
			return w, usageError{fmt.Errorf("--publish-hook-timeout must be below %v, the time a post's hooks may take", limit)}
		}
		cfg := o.webhooks.publish
		cfg.MaxTextRunes = o.ingest.MaxTextRunes
		cfg.Logger = logger
		h, err := policy.NewPublishHook(cfg)
		if err != nil {
			return w, usageError{fmt.Errorf("--publish-hook-url: %w", err)}
		}
		w.publish = h
	}
	if o.webhooks.stored.URL != "" {
		cfg := o.webhooks.stored
		cfg.Logger = logger
		h, err := policy.NewStoredHook(cfg)
		if err != nil {
			return w, usageError{fmt.Errorf("--stored-hook-url: %w", err)}
		}
		w.stored = h
	}
	return w, nil
}
