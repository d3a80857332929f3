package ingest

import (
	"bytes"
	"context"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/attribute"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/internal/telemetry"
	"github.com/danmu-dev/danmu/policy"
)

// postComment serves POST /v1/rooms/{room}/danmaku: it validates the
// comment and publishes it. It answers 201 {"id":"<ms>-<seq>","ts":<unix
// ms>} only once the entry is stored; a failed or late append is
// 503 unavailable (the client may retry), and a new room beyond the
// embedded stream's cap 503 too_many_rooms.
func (s *Server) postComment(ctx *fasthttp.RequestCtx, room string) {
	tctx, span := s.startPost(ctx, spanPost, routePost)
	defer endPost(ctx, span)
	if !isJSON(ctx.Request.Header.ContentType()) {
		writeError(ctx, errUnsupportedMediaType)
		return
	}
	_, validate := telemetry.Start(tctx, spanValidate, telemetry.Internal)
	msg, apiErr := decodeComment(ctx.PostBody(), &s.cfg, &s.limitErrors)
	endRefused(validate, apiErr)
	if apiErr != nil {
		writeError(ctx, apiErr)
		return
	}
	c := s.newComment(ctx, room, msg)
	id, apiErr := s.publish(tctx, c)
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
// posting goes through it, so every post meets the same rules. ctx holds
// the post's span when it is traced (startPost); the hooks and the append
// are its children, and a sampled post's record carries the append's
// trace context, for the batches that deliver it to link to.
func (s *Server) publish(ctx context.Context, c *policy.Comment) (codec.ID, *Error) {
	hookCtx := startDeadline(ctx, s.cfg.HookTimeout)
	apiErr := s.runBefore(hookCtx, c)
	hookCtx.cancel()
	if apiErr != nil {
		return codec.ID{}, apiErr
	}
	c.Message.TS = time.Now().UnixMilli()
	appendCtx, span := telemetry.Start(ctx, spanAppend, telemetry.Producer)
	var opts codec.StoreOptions
	if span.Recording() {
		span.SetAttributes(attribute.String("danmu.room", c.Room))
		opts.Trace = new(codec.TraceContext)
		if !span.StoredTrace(opts.Trace) {
			opts.Trace = nil
		}
	}
	data, err := codec.EncodeStored(c.Message, opts)
	if err != nil {
		span.Fail(err)
		span.End()
		s.logger.ErrorContext(ctx, "ingest: encoding a validated comment failed", "room", c.Room, "err", err)
		return codec.ID{}, errInternal
	}
	appendDeadline := startDeadline(appendCtx, s.cfg.AppendTimeout)
	id, err := s.log.Append(appendDeadline, c.Room, data)
	appendDeadline.cancel()
	if err != nil {
		span.Fail(err)
		span.End()
		s.stats.AppendErrors.Add(1)
		s.logger.WarnContext(ctx, "ingest: append failed", "room", c.Room, "err", err)
		return codec.ID{}, appendError(err)
	}
	if span.Recording() {
		span.SetAttributes(attribute.String("danmu.message.id", id.String()))
	}
	span.End()
	hookCtx = startDeadline(ctx, s.cfg.HookTimeout)
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
