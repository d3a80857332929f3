package policy

import "time"

// Config configures the built-in hooks (Hooks). Its zero value checks
// only the prio of posts (and, with moderation, bans and slow modes).
type Config struct {
	// Store keeps the rate limits, slow modes, bans and spam windows. Nil
	// means a Memory of this process alone; every node of a fleet must
	// share one Redis for the limits to hold across it.
	Store Store
	// UserLimit, IPLimit and RoomLimit are token buckets per user id, per
	// client address (per /64 for IPv6) and per room. Over any of them a
	// post is refused with ErrRateLimited (429 rate_limited). A zero Rate
	// means no limit (the default).
	UserLimit Limit
	IPLimit   Limit
	RoomLimit Limit
	// SpamWindow is how long a user may not post the same text to the
	// same room again (ErrSpam, 429 spam); the text is compared
	// case-folded, full-width forms folded and spaces ignored. Zero means
	// no check.
	SpamWindow time.Duration
	// Filter is the sensitive-word filter for text and name. Nil means none.
	Filter *Filter
}
