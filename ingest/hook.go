package ingest

import (
	"context"
	"errors"
	"net/netip"
	"runtime/debug"

	"github.com/danmu-dev/danmu/auth"
	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/policy"
	"github.com/danmu-dev/danmu/stream"
)

// Hook is one step of the pipeline every posted comment goes through
// (docs/hooks.md). The built-in hooks come first: auth, priority, ban,
// rate limit, filter, spam and slow mode (each present only when
// configured); then the hooks added with Use, in order.
//
// A hook is called concurrently for different comments. It must not keep
// the *Comment past the call: copy what it needs.
type Hook interface {
	// Name names the hook in logs.
	Name() string
	// Before runs before the comment is stored. It may change the comment
	// (see Comment.Message) or refuse it: a returned *Error is the answer;
	// any other error answers 500 internal (503 unavailable for
	// policy.ErrUnavailable or an expired ctx) and is logged with the
	// hook's name. A panic answers 500 internal and is logged with the
	// hook's name and stack. The hooks after a refusing one do not run.
	Before(ctx context.Context, c *Comment) error
	// After runs once the comment is stored as id, before the answer is
	// sent, so it should be quick. A panic is logged; the answer is still
	// 201, since the comment is stored.
	After(ctx context.Context, c *Comment, id stream.ID)
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
	// User is the poster, set by the auth hook.
	User User
	// ClientIP is the poster's address (see Config.ClientIPHeader and
	// Config.TrustedProxies).
	ClientIP netip.Addr

	// token is the bearer token sent with the post, read by the auth hook
	// only, so that no other hook can log it.
	token string
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

// link is a hook of the chain.
type link struct {
	hook Hook
	// added marks a hook added with Use: its changes to the comment are
	// checked, since it may come from anywhere.
	added bool
}

// Use appends hooks to the chain, after the built-in ones and those added
// before. Call it before Serve; it is not safe to call while serving.
func (s *Server) Use(hooks ...Hook) {
	for _, h := range hooks {
		if h == nil {
			panic("ingest: Use: nil hook")
		}
		s.chain = append(s.chain, link{hook: h, added: true})
	}
}

// runBefore runs Before of every hook in order and returns the answer of
// the first that refuses c, or nil.
func (s *Server) runBefore(ctx context.Context, c *Comment) *Error {
	for i := range s.chain {
		if answer := s.before(ctx, &s.chain[i], c); answer != nil {
			return answer
		}
	}
	return nil
}

func (s *Server) before(ctx context.Context, l *link, c *Comment) (answer *Error) {
	defer func() {
		if v := recover(); v != nil {
			s.logger.Error("ingest: hook panicked in Before", "hook", l.hook.Name(), "room", c.Room,
				"panic", v, "stack", string(debug.Stack()))
			answer = errInternal
		}
	}()
	err := l.hook.Before(ctx, c)
	if err == nil {
		if l.added && !s.validMessage(&c.Message) {
			s.logger.Error("ingest: hook left an invalid comment", "hook", l.hook.Name(), "room", c.Room)
			return errInternal
		}
		return nil
	}
	var apiErr *Error
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.Is(err, policy.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		s.logger.Warn("ingest: hook unavailable", "hook", l.hook.Name(), "room", c.Room, "err", err)
		return errUnavailable
	default:
		s.logger.Error("ingest: hook failed", "hook", l.hook.Name(), "room", c.Room, "err", err)
		return errInternal
	}
}

// runAfter runs After of every hook in order.
func (s *Server) runAfter(ctx context.Context, c *Comment, id stream.ID) {
	for i := range s.chain {
		s.after(ctx, &s.chain[i], c, id)
	}
}

func (s *Server) after(ctx context.Context, l *link, c *Comment, id stream.ID) {
	defer func() {
		if v := recover(); v != nil {
			s.logger.Error("ingest: hook panicked in After", "hook", l.hook.Name(), "room", c.Room,
				"id", id.String(), "panic", v, "stack", string(debug.Stack()))
		}
	}()
	l.hook.After(ctx, c, id)
}

// validMessage reports whether m follows the rules of a posted body.
func (s *Server) validMessage(m *codec.Message) bool {
	return codec.CheckText(m.Text, s.cfg.MaxTextRunes) == nil &&
		codec.CheckText(m.Name, s.cfg.MaxNameRunes) == nil &&
		codec.CheckColor(m.Color) == nil &&
		codec.CheckMode(m.Mode) == nil &&
		codec.ValidRoom(m.UID) &&
		(m.CID == "" || codec.ValidRoom(m.CID)) &&
		m.Prio >= 0
}

// builtin is the no-op After of the built-in hooks, which act in Before.
type builtin struct{}

func (builtin) After(ctx context.Context, c *Comment, id stream.ID) {}
