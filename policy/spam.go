package policy

import (
	"context"
	"strconv"
	"time"
	"unicode"

	"github.com/danmu-dev/danmu/codec"
)

// spamHook refuses a text the same user posted to the same room within
// the window: the first post of a text claims it for the window. Texts are
// compared folded (see fold) and without spaces, so "Hello" and
// "ＨＥＬＬＯ " count as the same. Admins pass freely, and so does the retry
// of a post that passed: the same user's post with the same cid
// (codec.RetryKey) and the same text.
type spamHook struct {
	builtin
	store  Store
	window time.Duration
}

func (spamHook) Name() string { return "spam" }

func (h spamHook) Before(ctx context.Context, c *Comment) error {
	if c.User.Admin() {
		return nil
	}
	sum := strconv.AppendUint(make([]byte, 0, 16), textSum(c.Message.Text), 36)
	left, err := h.store.Claim(ctx, Key{Room: c.Room, Name: "spam:" + c.User.ID + ":" + string(sum)}, h.window)
	if err != nil {
		return err
	}
	key := codec.RetryKey(&c.Message)
	if key == "" {
		if left > 0 {
			return &RetryError{Err: ErrSpam, RetryAfter: left}
		}
		return nil
	}
	// A post that passes marks its key and text as passed, so that its
	// retries pass: the first attempt may have claimed the text and
	// still failed, and readers drop the copy if both were stored. Only
	// a post that passed marks it, so retrying a refused post, or putting
	// the cid of an earlier post on a repeated text, gets nowhere. The key
	// is the one readers use, so another user's cid never counts. (Two
	// attempts of one post at once may see the text claimed and no mark
	// yet: the second is then refused, which errs on the safe side.)
	passed := Key{Room: c.Room, Name: "spam-cid:" + key + ":" + string(sum)}
	if left == 0 {
		_, err := h.store.Claim(ctx, passed, h.window)
		return err
	}
	retry, err := h.store.Marked(ctx, passed)
	switch {
	case err != nil:
		return err
	case retry > 0:
		return nil
	}
	return &RetryError{Err: ErrSpam, RetryAfter: left}
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
