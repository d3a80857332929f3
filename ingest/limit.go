package ingest

import (
	"bytes"
	"context"
	"net/netip"

	"github.com/danmu-dev/danmu/policy"
	"github.com/valyala/fasthttp"
)

// limitHook takes a token from the poster's user, client address and room
// buckets; admins pass freely.
type limitHook struct {
	builtin
	store               policy.Store
	user, address, room policy.Limit
}

func (limitHook) Name() string { return "ratelimit" }

func (h limitHook) Before(ctx context.Context, c *Comment) error {
	if c.User.Admin() {
		return nil
	}
	var buf [3]policy.Bucket
	buckets := buf[:0]
	if h.user.Enabled() {
		buckets = append(buckets, policy.Bucket{Key: policy.Key{Name: "user:" + c.User.ID}, Limit: h.user})
	}
	if h.address.Enabled() {
		buckets = append(buckets, policy.Bucket{Key: policy.Key{Name: "ip:" + addressKey(c.ClientIP)}, Limit: h.address})
	}
	if h.room.Enabled() {
		buckets = append(buckets, policy.Bucket{Key: policy.Key{Room: c.Room, Name: "rate"}, Limit: h.room})
	}
	wait, err := h.store.Take(ctx, buckets)
	switch {
	case err != nil:
		return err
	case wait > 0:
		return errRateLimited.WithRetryAfter(wait)
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

// clientIP returns the address of the client: from Config.ClientIPHeader
// when it is set and holds one (the last of a comma-separated list, the
// one the proxy in front added), else the TCP peer's.
func (s *Server) clientIP(ctx *fasthttp.RequestCtx) netip.Addr {
	if s.cfg.ClientIPHeader != "" {
		value := ctx.Request.Header.Peek(s.cfg.ClientIPHeader)
		if i := bytes.LastIndexByte(value, ','); i >= 0 {
			value = value[i+1:]
		}
		if addr, err := netip.ParseAddr(string(bytes.TrimSpace(value))); err == nil {
			return addr.Unmap()
		}
	}
	addr, _ := netip.AddrFromSlice(ctx.RemoteIP())
	return addr.Unmap()
}
