package ingest

import (
	"context"
	"errors"
	"runtime/debug"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/internal/telemetry"
	"github.com/danmu-dev/danmu/policy"
)

// link is a hook of the chain: ingest's auth hook, the built-in hooks of
// package policy, then those added with Use.
type link struct {
	hook policy.Hook
	// added marks a hook added with Use: its changes to the comment are
	// checked, since it may come from anywhere.
	added bool
	// spanBefore and spanAfter name the spans of the hook's calls.
	spanBefore, spanAfter string
}

func newLink(h policy.Hook, added bool) link {
	return link{hook: h, added: added, spanBefore: "hook " + h.Name(), spanAfter: "hook " + h.Name() + " after"}
}

// Use appends hooks to the chain, after the built-in ones and those added
// before (see policy.Hook for what a hook may do and how its errors are
// answered). Call it before Serve; it is not safe to call while serving.
func (s *Server) Use(hooks ...policy.Hook) {
	for _, h := range hooks {
		if h == nil {
			panic("ingest: Use: nil hook")
		}
		s.chain = append(s.chain, newLink(h, true))
		s.added = true
	}
}

// runBefore runs Before of every hook in order and returns the answer of
// the first that refuses c, or nil.
func (s *Server) runBefore(ctx context.Context, c *policy.Comment) *Error {
	for i := range s.chain {
		if answer := s.before(ctx, &s.chain[i], c); answer != nil {
			return answer
		}
	}
	return nil
}

func (s *Server) before(ctx context.Context, l *link, c *policy.Comment) (answer *Error) {
	ctx, span := telemetry.Start(ctx, l.spanBefore, telemetry.Internal)
	defer func() {
		if v := recover(); v != nil {
			s.logger.ErrorContext(ctx, "ingest: hook panicked in Before", "hook", l.hook.Name(), "room", c.Room,
				"panic", v, "stack", string(debug.Stack()))
			answer = errInternal
		}
		endRefused(span, answer)
	}()
	err := l.hook.Before(ctx, c)
	if err == nil {
		if !l.added {
			return nil // trusted: the built-in hooks keep a comment valid
		}
		if err := c.Message.Check(s.cfg.limits(&c.Message)); err != nil {
			s.logger.ErrorContext(ctx, "ingest: hook left an invalid comment", "hook", l.hook.Name(), "room", c.Room, "err", err)
			return errInternal
		}
		return nil
	}
	if answer := answerOf(err); answer != nil {
		return answer
	}
	switch {
	case errors.Is(err, policy.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		s.logger.WarnContext(ctx, "ingest: hook unavailable", "hook", l.hook.Name(), "room", c.Room, "err", err)
		return errUnavailable
	default:
		span.Fail(err)
		s.logger.ErrorContext(ctx, "ingest: hook failed", "hook", l.hook.Name(), "room", c.Room, "err", err)
		return errInternal
	}
}

// runAfter runs After of every hook in order.
func (s *Server) runAfter(ctx context.Context, c *policy.Comment, id codec.ID) {
	for i := range s.chain {
		s.after(ctx, &s.chain[i], c, id)
	}
}

func (s *Server) after(ctx context.Context, l *link, c *policy.Comment, id codec.ID) {
	ctx, span := telemetry.Start(ctx, l.spanAfter, telemetry.Internal)
	defer func() {
		if v := recover(); v != nil {
			s.logger.ErrorContext(ctx, "ingest: hook panicked in After", "hook", l.hook.Name(), "room", c.Room,
				"id", id.String(), "panic", v, "stack", string(debug.Stack()))
			span.Refuse("panic")
		}
		span.End()
	}()
	l.hook.After(ctx, c, id)
}

// answerOf returns the answer a hook chose by returning err: an *Error, a
// refusal of package policy or a rejection by its publish webhook; nil for
// any other error.
func answerOf(err error) *Error {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr
	}
	var rejection *policy.Rejection
	if errors.As(err, &rejection) {
		return rejectionAnswer(rejection)
	}
	for _, r := range refusals {
		if !errors.Is(err, r.err) {
			continue
		}
		var retry *policy.RetryError
		if errors.As(err, &retry) {
			return r.answer.WithRetryAfter(retry.RetryAfter)
		}
		return r.answer
	}
	return nil
}
