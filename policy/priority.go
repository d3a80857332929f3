package policy

import "context"

// priorityHook refuses a prio above 0 from anyone but an admin. Hooks
// added after the built-in ones run after it, so they may set one.
type priorityHook struct{ builtin }

func (priorityHook) Name() string { return "priority" }

func (priorityHook) Before(ctx context.Context, c *Comment) error {
	if c.Message.Prio > 0 && !c.User.Admin() {
		return ErrPrio
	}
	return nil
}
