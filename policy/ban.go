package policy

import "context"

// banHook refuses the posts of a user banned from the room; admins are
// never banned.
type banHook struct {
	builtin
	store Store
}

func (banHook) Name() string { return "ban" }

func (h banHook) Before(ctx context.Context, c *Comment) error {
	if c.User.Admin() {
		return nil
	}
	left, err := h.store.Banned(ctx, c.Room, c.User.ID)
	switch {
	case err != nil:
		return err
	case left > 0:
		return ErrBanned
	}
	return nil
}
