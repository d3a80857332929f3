package policy

import (
	"context"
	"net/netip"

	"github.com/danmu-dev/danmu/auth"
	"github.com/danmu-dev/danmu/codec"
)

// Hook is one step of the chain every posted comment goes through before
// it is stored (docs/hooks.md). ingest runs the chain: its auth hook
// first, then the built-in hooks of this package (Hooks), then the hooks
// added with ingest's Server.Use, in order.
//
// A hook is called concurrently for different comments. It must not keep
// the *Comment past the call: copy what it needs.
type Hook interface {
	// Name names the hook in logs.
	Name() string
	// Before runs before the comment is stored. It may change the comment
	// (see Comment.Message) or refuse it. ingest answers a returned
	// *ingest.Error as it is, and a refusal of this package (ErrBanned,
	// ErrRateLimited, ..., in a RetryError for a Retry-After) with its
	// status and code; any other error answers 500 internal (503
	// unavailable for ErrUnavailable or an expired ctx) and is logged with
	// the hook's name. A panic answers 500 internal and is logged with the
	// hook's name and stack. The hooks after a refusing one do not run.
	Before(ctx context.Context, c *Comment) error
	// After runs once the comment is stored as id, before the answer is
	// sent, so it should be quick. A panic is logged; the answer is still
	// 201, since the comment is stored.
	After(ctx context.Context, c *Comment, id codec.ID)
}

// Comment is a posted comment on its way into a room.
type Comment struct {
	// Room is the room posted to.
	Room string
	// Message is what will be stored, without ID and TS, which are set
	// once the chain has passed it. A hook may change its UID, Name, Text,
	// Color, Mode and Prio (an added hook may raise Prio for anyone: see
	// docs/hooks.md). The result must still follow the rules of a posted
	// body (docs/protocol.md), or the post answers 500 internal and the
	// hook's name is logged.
	Message codec.Message
	// User is the poster, set by ingest's auth hook.
	User User
	// ClientIP is the poster's address (see ingest's Config.ClientIPHeader
	// and Config.TrustedProxies).
	ClientIP netip.Addr
	// Token is the bearer token sent with the post, for ingest's auth
	// hook alone: it runs first and clears Token, so that no other hook
	// sees it, nor can log it.
	Token string
}

// User is who posts a comment.
type User struct {
	// ID is the user id: the token's sub, or in open mode the body's uid.
	ID string
	// Name is the display name: the token's name (its sub when it has
	// none), or in open mode the body's name.
	Name string
	// Role is auth.RoleViewer or auth.RoleAdmin.
	Role string
	// Authenticated reports that ID, Name and Role come from a verified
	// token; it is false in open mode.
	Authenticated bool
}

// Admin reports whether the user has the admin role.
func (u User) Admin() bool { return u.Role == auth.RoleAdmin }

// Hooks returns the built-in hooks cfg calls for, in order: whether the
// poster may use their prio, whether they may post at all, whether they
// post too much, what they post. moderated says that admins can ban users
// and set slow modes (ingest's admin API is on); without it nobody can, so
// the ban and slow mode hooks are left out.
func Hooks(cfg Config, moderated bool) []Hook {
	if cfg.Store == nil {
		cfg.Store = NewMemory()
	}
	hooks := []Hook{priorityHook{}}
	if moderated {
		hooks = append(hooks, banHook{store: cfg.Store})
	}
	if cfg.UserLimit.Enabled() || cfg.IPLimit.Enabled() || cfg.RoomLimit.Enabled() {
		hooks = append(hooks, limitHook{store: cfg.Store, user: cfg.UserLimit, address: cfg.IPLimit, room: cfg.RoomLimit})
	}
	if cfg.Filter != nil {
		hooks = append(hooks, filterHook{filter: cfg.Filter})
	}
	if cfg.SpamWindow > 0 {
		hooks = append(hooks, spamHook{store: cfg.Store, window: cfg.SpamWindow})
	}
	if moderated {
		hooks = append(hooks, slowModeHook{store: cfg.Store})
	}
	return hooks
}

// builtin is the no-op After of the built-in hooks, which act in Before.
type builtin struct{}

func (builtin) After(ctx context.Context, c *Comment, id codec.ID) {}
