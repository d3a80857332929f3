package ingest

import (
	"context"
	"strconv"
	"time"
	"unicode"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/policy"
)

// spamHook refuses a text the same user posted to the same room within
// the window: the first post of a text claims it for the window. Texts are
// compared folded (see fold) and without spaces, so "Hello" and
// "ＨＥＬＬＯ " count as the same. Admins pass freely, and so does the retry
// of a post: the same user's post with the same cid (codec.RetryKey).
type spamHook struct {
	builtin
	store  policy.Store
	window time.Duration
}

func (spamHook) Name() string { return "spam" }

func (h spamHook) Before(ctx context.Context, c *Comment) error {
	if c.User.Admin() {
		return nil
	}
	if key := codec.RetryKey(&c.Message); key != "" {
		// A retry of a post (same user, same cid) is not a repeat: the
		// first attempt may have claimed the text and still failed, and
		// readers drop the copy if both were stored. The key is the one
		// readers use, so a post that passes here as a retry is one they
		// take for a copy, and another user's cid never counts.
		left, err := h.store.Claim(ctx, policy.Key{Room: c.Room, Name: "spam-cid:" + key}, h.window)
		if err != nil {
			return err
		}
		if left > 0 {
			return nil
		}
	}
	name := make([]byte, 0, 96)
	name = append(name, "spam:"...)
	name = append(name, c.User.ID...)
	name = append(name, ':')
	name = strconv.AppendUint(name, textSum(c.Message.Text), 36)
	left, err := h.store.Claim(ctx, policy.Key{Room: c.Room, Name: string(name)}, h.window)
	switch {
	case err != nil:
		return err
	case left > 0:
		return errSpam.WithRetryAfter(left)
	}
	return nil
}

// textSum is the 64-bit FNV-1a hash of text's folded runes, spaces left
// out. It must be the same on every node, so no seeded hash will do.
func textSum(text string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	sum := uint64(offset)
	for _, r := range text {
		r = fold(r)
		if unicode.IsSpace(r) {
			continue
		}
		for shift := 0; shift < 32; shift += 8 {
			sum ^= uint64(byte(r >> shift))
			sum *= prime
		}
	}
	return sum
}
