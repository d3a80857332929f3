package ingest

import (
	"bytes"
	"strconv"
	"time"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/policy"
	"github.com/valyala/fasthttp"
)

// postComment serves POST /v1/rooms/{room}/danmaku: it validates the
// comment and publishes it. It answers 201 {"id":"<ms>-<seq>","ts":<unix
// ms>} only once the entry is stored; a failed or late append is
// 503 unavailable (the client may retry), and a new room beyond the
// embedded stream's cap 503 too_many_rooms.
func (s *Server) postComment(ctx *fasthttp.RequestCtx, room string) {
	if !isJSON(ctx.Request.Header.ContentType()) {
		writeError(ctx, errUnsupportedMediaType)
		return
	}
	msg, apiErr := decodeComment(ctx.PostBody(), &s.cfg, &s.limitErrors)
	if apiErr != nil {
		writeError(ctx, apiErr)
		return
	}
	c := s.newComment(ctx, room, msg)
	id, apiErr := s.publish(c)
	if apiErr != nil {
		writeError(ctx, apiErr)
		return
	}
	var buf [64]byte
	b := append(buf[:0], `{"id":"`...)
	b = id.AppendTo(b)
	b = append(b, `","ts":`...)
	b = strconv.AppendInt(b, c.Message.TS, 10)
	b = append(b, '}')
	ctx.SetStatusCode(fasthttp.StatusCreated)
	ctx.SetContentType(contentTypeJSON)
	ctx.SetBody(b)
}

// newComment returns the comment msg posted to room by the request ctx,
// with the poster's address and, when tokens are checked, bearer token.
func (s *Server) newComment(ctx *fasthttp.RequestCtx, room string, msg codec.Message) *policy.Comment {
	c := &policy.Comment{Room: room, Message: msg, ClientIP: s.clientIP(ctx)}
	if s.cfg.Auth != nil {
		c.Token = bearer(ctx)
	}
	return c
}

// publish runs the hook chain over a validated comment (auth, limits,
// filter, ... and the hooks added with Use), stamps it with the ingest
// time and appends it to the room's stream, then runs the After hooks. It
// returns the entry ID once stored, or the answer to give. Every way of
// posting goes through it, so every post meets the same rules.
func (s *Server) publish(c *policy.Comment) (codec.ID, *Error) {
	hookCtx := startDeadline(s.cfg.HookTimeout)
	apiErr := s.runBefore(hookCtx, c)
	hookCtx.cancel()
	if apiErr != nil {
		return codec.ID{}, apiErr
	}
	c.Message.TS = time.Now().UnixMilli()
	data, err := codec.EncodeStored(c.Message)
	if err != nil {
		s.logger.Error("ingest: encoding a validated comment failed", "room", c.Room, "err", err)
		return codec.ID{}, errInternal
	}
	appendCtx := startDeadline(s.cfg.AppendTimeout)
	id, err := s.log.Append(appendCtx, c.Room, data)
	appendCtx.cancel()
	if err != nil {
		s.stats.AppendErrors.Add(1)
		s.logger.Warn("ingest: append failed", "room", c.Room, "err", err)
		return codec.ID{}, appendError(err)
	}
	hookCtx = startDeadline(s.cfg.HookTimeout)
	s.runAfter(hookCtx, c, id)
	hookCtx.cancel()
	return id, nil
}

// isJSON reports whether a Content-Type names application/json; parameters
// such as charset=utf-8 are allowed.
func isJSON(contentType []byte) bool {
	mediaType, _, _ := bytes.Cut(contentType, []byte{';'})
	return bytes.EqualFold(bytes.TrimSpace(mediaType), []byte(contentTypeJSON))
}
