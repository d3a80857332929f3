package policy

import (
	"context"
	"net/netip"
)

// limitHook takes a token from the poster's user, client address and room
// buckets; admins pass freely.
type limitHook struct {
	builtin
	store               Store
	user, address, room Limit
}

func (limitHook) Name() string { return "ratelimit" }

func (h limitHook) Before(ctx context.Context, c *Comment) error {
	if c.User.Admin() {
		return nil
	}
	var buf [3]Bucket
	buckets := buf[:0]
	if h.user.Enabled() {
		buckets = append(buckets, Bucket{Key: Key{Name: "user:" + c.User.ID}, Limit: h.user})
	}
	if h.address.Enabled() {
		buckets = append(buckets, Bucket{Key: Key{Name: "ip:" + addressKey(c.ClientIP)}, Limit: h.address})
	}
	if h.room.Enabled() {
		buckets = append(buckets, Bucket{Key: Key{Room: c.Room, Name: "rate"}, Limit: h.room})
	}
	wait, err := h.store.Take(ctx, buckets)
	switch {
	case err != nil:
		return err
	case wait > 0:
		return &RetryError{Err: ErrRateLimited, RetryAfter: wait}
	}
	return nil
}

// addressKey names the bucket of a client address: the address for IPv4,
// its /64 for IPv6, which one subscriber usually holds whole.
func addressKey(addr netip.Addr) string {
	if addr.Is6() {
		prefix, err := addr.Prefix(64)
		if err == nil {
			return prefix.String()
		}
	}
	return addr.String()
}
