package policy

import (
	"errors"
	"time"

	"github.com/danmu-dev/danmu/rdb"
)

// ErrUnavailable reports that the state could not be read or written (Redis
// unreachable or too slow). Callers refuse the request rather than let it
// pass unchecked. It is rdb.ErrUnavailable, the one error of everything
// kept in Redis.
var ErrUnavailable = rdb.ErrUnavailable

// ErrWordList reports a word list file that cannot be used.
var ErrWordList = errors.New("policy: invalid word list")

// Refusals: what the built-in hooks return from Before to refuse a
// comment. ingest answers each with a status and a code of its own
// (docs/protocol.md), and a RetryError with a Retry-After too.
var (
	// ErrPrio refuses a prio above 0 from anyone but an admin
	// (403 forbidden).
	ErrPrio = errors.New("policy: only admins may post with prio above 0")
	// ErrBanned refuses the post of a user banned from the room
	// (403 banned).
	ErrBanned = errors.New("policy: banned from the room")
	// ErrRateLimited refuses a post over a user, client address or room
	// rate limit (429 rate_limited).
	ErrRateLimited = errors.New("policy: rate limited")
	// ErrContentRejected refuses a text or name with a word of the word
	// list (422 content_rejected).
	ErrContentRejected = errors.New("policy: a word of the word list")
	// ErrSpam refuses a text the user just posted to the room (429 spam).
	ErrSpam = errors.New("policy: the same text again within the spam window")
	// ErrSlowMode refuses a post sooner than the room's slow mode allows
	// (429 slow_mode).
	ErrSlowMode = errors.New("policy: slow mode")
)

// RetryError is a refusal that lifts with time: Err is ErrRateLimited,
// ErrSpam or ErrSlowMode, and RetryAfter how long until the same post
// could pass.
type RetryError struct {
	Err        error
	RetryAfter time.Duration
}

func (e *RetryError) Error() string {
	return e.Err.Error() + " (retry after " + e.RetryAfter.String() + ")"
}

func (e *RetryError) Unwrap() error { return e.Err }

// ErrHookUnavailable refuses a post when the publish webhook gave no
// usable answer (down, too slow, 5xx after its retries, an invalid
// answer, or its circuit breaker open) and it fails closed
// (503 hook_unavailable).
var ErrHookUnavailable = errors.New("policy: publish webhook unavailable")

// ErrWebhook reports a webhook call that failed: a transport error, a
// status other than 2xx, or an answer too large or not understood.
var ErrWebhook = errors.New("policy: webhook call failed")

// Rejection is the refusal of a comment by the publish webhook. ingest
// answers it with 422, Code (its own default when empty) and Message.
type Rejection struct {
	// Code is the webhook's code: 1 to 64 of [a-z0-9_], or empty.
	Code string
	// Message is the webhook's message for humans, or empty.
	Message string
}

func (e *Rejection) Error() string { return "policy: rejected by the publish webhook: " + e.Code }
