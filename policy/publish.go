package policy

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/danmu-dev/danmu/codec"
)

// Actions of the publish webhook's answer.
const (
	ActionAccept  = "accept"
	ActionReject  = "reject"
	ActionRewrite = "rewrite"
)

// maxRejectionMessageRunes bounds the message of a rejection passed on to
// the poster.
const maxRejectionMessageRunes = 200

// PublishHookConfig configures the publish webhook (NewPublishHook).
type PublishHookConfig struct {
	Endpoint
	// FailOpen accepts the comment when the webhook gives no usable
	// answer. False (the default) refuses it with ErrHookUnavailable: the
	// platform's rules are never skipped.
	FailOpen bool
	// BreakerFailures is how many calls in a row must fail for the
	// circuit breaker to open. Zero means DefaultBreakerFailures.
	BreakerFailures int
	// BreakerCooldown is how long the open breaker fails calls at once
	// before it lets one probe through. Zero means DefaultBreakerCooldown.
	BreakerCooldown time.Duration
	// MaxTextRunes is the longest text a rewrite may set: that of ingest's
	// Config. Zero means 100, ingest's default.
	MaxTextRunes int
	// Logger logs failed calls and the breaker opening. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// PublishHook asks an HTTP backend about every comment before it is
// stored: the backend accepts, rejects or rewrites it (docs/hooks.md,
// "Webhooks"). Add it to ingest's chain with Use.
type PublishHook struct {
	// Immutable after NewPublishHook.
	webhook      *webhook
	failOpen     bool
	maxTextRunes int
	logger       *slog.Logger

	breaker *breaker
}

// NewPublishHook returns the publish webhook of cfg, or an error wrapping
// ErrWebhook when cfg.URL is not an http or https URL.
func NewPublishHook(cfg PublishHookConfig) (*PublishHook, error) {
	w, err := newWebhook(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	if cfg.MaxTextRunes <= 0 {
		cfg.MaxTextRunes = 100
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &PublishHook{
		webhook:      w,
		failOpen:     cfg.FailOpen,
		maxTextRunes: cfg.MaxTextRunes,
		logger:       cfg.Logger,
		breaker:      newBreaker(cfg.BreakerFailures, cfg.BreakerCooldown),
	}, nil
}

// publishRequest is the JSON the publish webhook receives.
type publishRequest struct {
	webhookComment
	ClientIP      string `json:"client_ip"`
	Role          string `json:"role"`
	Authenticated bool   `json:"authenticated"`
}

// publishAnswer is the JSON the publish webhook answers with. An empty
// body, or no action, accepts.
type publishAnswer struct {
	Action  string  `json:"action"`
	Text    *string `json:"text"`
	Prio    *int    `json:"prio"`
	Code    string  `json:"code"`
	Message string  `json:"message"`
}

func (h *PublishHook) Name() string { return "publish-webhook" }

// Before asks the backend about c. It returns a *Rejection when the
// backend rejects c, changes c's text or prio when it rewrites them, and
// applies the failure policy when the backend gives no usable answer.
func (h *PublishHook) Before(ctx context.Context, c *Comment) error {
	ok, probe := h.breaker.allow(time.Now())
	if !ok {
		return h.fail(fmt.Errorf("%w: circuit breaker open", ErrWebhook))
	}
	answer, err := h.ask(ctx, c)
	if h.breaker.done(probe, err == nil, time.Now()) {
		h.logger.Warn("policy: publish webhook failing, circuit breaker open", "url", h.webhook.endpoint.URL, "err", err)
	}
	if err != nil {
		h.logger.Warn("policy: publish webhook failed", "room", c.Room, "err", err)
		return h.fail(err)
	}
	switch answer.Action {
	case ActionReject:
		return answer.rejection()
	case ActionRewrite:
		if answer.Text != nil {
			c.Message.Text = *answer.Text
		}
		if answer.Prio != nil {
			c.Message.Prio = *answer.Prio
		}
	}
	return nil
}

// ask calls the backend about c and returns its valid answer.
func (h *PublishHook) ask(ctx context.Context, c *Comment) (publishAnswer, error) {
	req := publishRequest{webhookComment: webhookCommentOf(c), Role: c.User.Role, Authenticated: c.User.Authenticated}
	if c.ClientIP.IsValid() {
		req.ClientIP = c.ClientIP.String()
	}
	body, err := codec.JSON.Marshal(req)
	if err != nil {
		return publishAnswer{}, fmt.Errorf("%w: encoding the comment: %w", ErrWebhook, err)
	}
	data, err := h.webhook.call(ctx, body)
	if err != nil {
		return publishAnswer{}, err
	}
	var answer publishAnswer
	if len(bytes.TrimSpace(data)) > 0 {
		if err := codec.JSON.Unmarshal(data, &answer); err != nil {
			return publishAnswer{}, fmt.Errorf("%w: answer not a JSON object: %w", ErrWebhook, err)
		}
	}
	switch answer.Action {
	case "", ActionAccept, ActionReject:
	case ActionRewrite:
		if answer.Text != nil {
			if err := codec.CheckText(*answer.Text, h.maxTextRunes); err != nil {
				return publishAnswer{}, fmt.Errorf("%w: rewritten text: %w", ErrWebhook, err)
			}
		}
		if answer.Prio != nil && *answer.Prio < 0 {
			return publishAnswer{}, fmt.Errorf("%w: rewritten prio %d below 0", ErrWebhook, *answer.Prio)
		}
	default:
		return publishAnswer{}, fmt.Errorf("%w: unknown action %q", ErrWebhook, answer.Action)
	}
	return answer, nil
}

// rejection returns the refusal of a reject answer, keeping its code and
// message only when they are fit to pass on.
func (a *publishAnswer) rejection() *Rejection {
	r := &Rejection{}
	if validCode(a.Code) {
		r.Code = a.Code
	}
	if codec.CheckText(a.Message, maxRejectionMessageRunes) == nil {
		r.Message = a.Message
	}
	return r
}

// validCode reports whether code is 1 to 64 of [a-z0-9_].
func validCode(code string) bool {
	if code == "" || len(code) > 64 {
		return false
	}
	for i := 0; i < len(code); i++ {
		b := code[i]
		if (b < 'a' || b > 'z') && (b < '0' || b > '9') && b != '_' {
			return false
		}
	}
	return true
}

// fail applies the failure policy to a call that failed with err.
func (h *PublishHook) fail(err error) error {
	if h.failOpen {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrHookUnavailable, err)
}

// After does nothing: the publish webhook acts before the comment is
// stored (see StoredHook for after).
func (h *PublishHook) After(ctx context.Context, c *Comment, id codec.ID) {}
