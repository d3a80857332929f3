package policy

import "context"

// slowModeHook holds each user to the room's slow mode; admins pass
// freely.
type slowModeHook struct {
	builtin
	store Store
}

func (slowModeHook) Name() string { return "slowmode" }

func (h slowModeHook) Before(ctx context.Context, c *Comment) error {
	if c.User.Admin() {
		return nil
	}
	wait, err := h.store.Pace(ctx, c.Room, c.User.ID)
	switch {
	case err != nil:
		return err
	case wait > 0:
		return &RetryError{Err: ErrSlowMode, RetryAfter: wait}
	}
	return nil
}
