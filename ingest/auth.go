package ingest

import (
	"context"

	"github.com/danmu-dev/danmu/auth"
	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/policy"
	"github.com/valyala/fasthttp"
)

// authHook sets Comment.User: from the bearer token when the server has a
// Verifier (the body's uid and name are then ignored), else from the body.
// It comes first in the chain and clears Comment.Token, so that no other
// hook sees the token.
type authHook struct {
	verifier     *auth.Verifier // nil in open mode
	maxNameRunes int
}

func (authHook) Name() string { return "auth" }

func (h authHook) Before(ctx context.Context, c *policy.Comment) error {
	token := c.Token
	c.Token = ""
	if h.verifier == nil {
		c.User = policy.User{ID: c.Message.UID, Name: c.Message.Name, Role: auth.RoleViewer}
		return nil
	}
	if token == "" {
		return errUnauthorized
	}
	claims, err := h.verifier.Verify(token)
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

func (authHook) After(ctx context.Context, c *policy.Comment, id codec.ID) {}

// userOf returns the user that verified claims describe, and false when
// the sub is not a valid user id or the name is not a valid display name:
// such a token was minted wrongly and is refused like a forged one.
func userOf(claims auth.Claims, maxNameRunes int) (policy.User, bool) {
	name := claims.Name
	if name == "" {
		name = claims.Sub
	}
	if !codec.ValidUID(claims.Sub) || codec.CheckText(name, maxNameRunes) != nil {
		return policy.User{}, false
	}
	return policy.User{ID: claims.Sub, Name: name, Role: claims.Role, Authenticated: true}, true
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

// admin checks that a request to the admin API carries an admin's token
// and returns the admin, or the answer to give.
func (s *Server) admin(ctx *fasthttp.RequestCtx) (policy.User, *Error) {
	if s.cfg.Auth == nil {
		return policy.User{}, errAdminDisabled
	}
	token := bearer(ctx)
	if token == "" {
		return policy.User{}, errUnauthorized
	}
	claims, err := s.cfg.Auth.Verify(token)
	if err != nil {
		return policy.User{}, errInvalidToken
	}
	user, ok := userOf(claims, s.cfg.MaxNameRunes)
	switch {
	case !ok:
		return policy.User{}, errInvalidToken
	case !user.Admin():
		return policy.User{}, errForbidden
	}
	return user, nil
}
