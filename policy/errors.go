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
