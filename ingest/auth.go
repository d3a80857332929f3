package ingest

import (
	"context"

	"github.com/danmu-dev/danmu/auth"
	"github.com/danmu-dev/danmu/codec"
	"github.com/valyala/fasthttp"
)

// authHook sets Comment.User: from the bearer token when the server has a
// Verifier (the body's uid and name are then ignored), else from the body.
type authHook struct {
	builtin
	verifier     *auth.Verifier // nil in open mode
	maxNameRunes int
}

func (authHook) Name() string { return "auth" }

func (h authHook) Before(ctx context.Context, c *Comment) error {
	if h.verifier == nil {
		c.User = User{ID: c.Message.UID, Name: c.Message.Name, Role: auth.RoleViewer}
		return nil
	}
	if c.token == "" {
		return errUnauthorized
	}
	claims, err := h.verifier.Verify(c.token)
	if err != nil {
		return errInvalidToken
	}
	user, ok := userOf(claims, h.maxNameRunes)
	if !ok {
		return errInvalidToken
	}
	c.User = user
	c.Message.UID, c.Message.Name = user.ID, user.Name
	return nil
}

// userOf returns the user that verified claims describe, and false when
// the sub is not a valid user id or the name is not a valid display name:
// such a token was minted wrongly and is refused like a forged one.
func userOf(claims auth.Claims, maxNameRunes int) (User, bool) {
	name := claims.Name
	if name == "" {
		name = claims.Sub
	}
	if !codec.ValidRoom(claims.Sub) || codec.CheckText(name, maxNameRunes) != nil {
		return User{}, false
	}
	return User{ID: claims.Sub, Name: name, Role: claims.Role, Authenticated: true}, true
}

// bearer returns the bearer token of a request, or "".
func bearer(ctx *fasthttp.RequestCtx) string {
	header := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
	if len(header) == 0 {
		return ""
	}
	token, _ := auth.BearerToken(string(header))
	return token
}

// priorityHook refuses a prio above 0 from anyone but an admin. Hooks
// added with Use run after it, so they may set one.
type priorityHook struct{ builtin }

func (priorityHook) Name() string { return "priority" }

func (priorityHook) Before(ctx context.Context, c *Comment) error {
	if c.Message.Prio > 0 && !c.User.Admin() {
		return errPrioForbidden
	}
	return nil
}

// admin checks that a request to the admin API carries an admin's token
// and returns the admin, or the answer to give.
func (s *Server) admin(ctx *fasthttp.RequestCtx) (User, *Error) {
	if s.cfg.Auth == nil {
		return User{}, errAdminDisabled
	}
	token := bearer(ctx)
	if token == "" {
		return User{}, errUnauthorized
	}
	claims, err := s.cfg.Auth.Verify(token)
	if err != nil {
		return User{}, errInvalidToken
	}
	user, ok := userOf(claims, s.cfg.MaxNameRunes)
	switch {
	case !ok:
		return User{}, errInvalidToken
	case !user.Admin():
		return User{}, errForbidden
	}
	return user, nil
}
