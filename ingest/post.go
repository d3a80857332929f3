package ingest

import (
	"bytes"
	"context"
	"net/netip"
	"strconv"
	"sync"
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
	p := s.newPost(ctx, room, msg)
	id, apiErr := s.publish(tctx, p, time.Now())
	if apiErr != nil {
		writeError(ctx, apiErr)
		return
	}
	var buf [64]byte
	b := append(buf[:0], `{"id":"`...)
	b = id.AppendTo(b)
	b = append(b, `","ts":`...)
	b = strconv.AppendInt(b, p.comment.Message.TS, 10)
	b = append(b, '}')
	ctx.SetStatusCode(fasthttp.StatusCreated)
	ctx.SetContentType(contentTypeJSON)
	ctx.SetBody(b)
}

// post is one comment on its way through stage and finish, with what it
// needs up to its answer in one allocation (there were five;
// docs/performance.md): the comment the hooks see, its stored record and
// the deadlines of its hooks. It is never reused: a hook may keep a step's
// ctx, and the comment's strings are the Message's own (decodeComment).
// A post published on its own is a single, which adds its append's
// deadline; the staged posts of a batch share the batch's (appendStaged)
// and are that much smaller.
type post struct {
	comment policy.Comment

	// record holds the comment's stored record, set by stage, until
	// releaseRecord gives it back once the record is appended.
	record *recordBuffer
	span   telemetry.Span // the append's

	// The contexts of the Before and the After hooks.
	beforeHooks, afterHooks deadline
}

// single is a post published on its own (publish), with the context of
// its append, a child of span. It takes at most 512 bytes, the
// allocator's faster path.
type single struct {
	post
	appendStep deadline
}

// recordBuffer is a buffer a record is encoded into.
type recordBuffer struct{ data []byte }

// recordBuffers holds the buffers of the records of the posts in flight. A
// log keeps its own copy of what it appends (stream.Log.Append), so a
// buffer is free again once the append returns: pooled, it spares each
// post an allocation as large as the rest of it.
var recordBuffers = sync.Pool{New: func() any { return &recordBuffer{data: make([]byte, 0, 512)} }}

// maxPooledRecord is the largest buffer put back in recordBuffers: a
// record is at most a body's text and name, escaped, and a header.
const maxPooledRecord = 4 << 10

// releaseRecord gives p's record buffer back, once the record is
// appended or failed to encode; p.record is then gone.
func (p *post) releaseRecord() {
	if cap(p.record.data) <= maxPooledRecord {
		p.record.data = p.record.data[:0]
		recordBuffers.Put(p.record)
	}
	p.record = nil
}

// newPost returns the comment msg posted to room by the request ctx, with
// the poster's address and, when tokens are checked, bearer token.
func (s *Server) newPost(ctx *fasthttp.RequestCtx, room string, msg codec.Message) *single {
	return &single{post: post{comment: s.poster(ctx).comment(room, msg)}}
}

// poster is who posts a request's comments: the address and, when tokens
// are checked, the bearer token. A batch finds it once for all of them.
type poster struct {
	ip    netip.Addr
	token string
}

func (s *Server) poster(ctx *fasthttp.RequestCtx) poster {
	who := poster{ip: s.clientIP(ctx)}
	if s.cfg.Auth != nil {
		who.token = bearer(ctx)
	}
	return who
}

// comment returns msg posted to room by who.
func (who poster) comment(room string, msg codec.Message) policy.Comment {
	return policy.Comment{Room: room, Message: msg, ClientIP: who.ip, Token: who.token}
}

// publish runs the hook chain over a validated comment (auth, limits,
// filter, ... and the hooks added with Use), stamps it with the ingest
// time and appends it to the room's stream, then runs the After hooks. It
// returns the entry ID once stored, or the answer to give. Every way of
// posting goes through it (or through stage and finish, which it is), so
// every post meets the same rules. ctx holds the post's span when it is
// traced (startPost); the hooks and the append are its children, and a
// sampled post's record carries the append's trace context, for the
// batches that deliver it to link to.
// now is a reading of the clock taken just before, which the deadline of
// the Before hooks counts from.
func (s *Server) publish(ctx context.Context, p *single, now time.Time) (codec.ID, *Error) {
	if apiErr := s.stage(ctx, &p.post, &p.appendStep, now); apiErr != nil {
		return codec.ID{}, apiErr
	}
	id, err := s.log.Append(&p.appendStep, p.comment.Room, p.record.data)
	p.appendStep.cancel()
	p.releaseRecord()
	return s.finish(ctx, &p.post, id, err)
}

// stage runs the Before hooks over p's comment from now on, stamps it,
// starts appendStep, unless nil, as the deadline of p's own append, and
// encodes its record: publish up to the append. The stamp and the
// append's deadline share one reading of the clock, which is slow enough
// on some VMs to count, and the caller passes the one it has. A batch's
// staged posts pass nil: their append has a deadline for all
// (appendStaged).
func (s *Server) stage(ctx context.Context, p *post, appendStep *deadline, now time.Time) *Error {
	c := &p.comment
	p.beforeHooks.start(ctx, now.Add(s.cfg.HookTimeout))
	apiErr := s.runBefore(&p.beforeHooks, c)
	p.beforeHooks.cancel()
	if apiErr != nil {
		return apiErr
	}
	now = time.Now()
	c.Message.TS = now.UnixMilli()
	appendCtx, span := telemetry.Start(ctx, spanAppend, telemetry.Producer)
	if appendStep != nil {
		appendStep.start(appendCtx, now.Add(s.cfg.AppendTimeout))
	}
	var opts codec.StoreOptions
	var err error
	if span.Recording() {
		span.SetAttributes(attribute.String("danmu.room", c.Room))
		opts.Trace = new(codec.TraceContext)
		if !span.StoredTrace(opts.Trace) {
			opts.Trace = nil
		}
	}
	p.record = recordBuffers.Get().(*recordBuffer)
	p.record.data, err = codec.AppendStored(p.record.data, &c.Message, opts)
	if err != nil {
		p.releaseRecord()
		span.Fail(err)
		span.End()
		s.logger.ErrorContext(ctx, "ingest: encoding a validated comment failed", "room", c.Room, "err", err)
		return errInternal
	}
	p.span = span
	return nil
}

// finish takes a staged post past its append, which returned id or err:
// publish from the append on. The After hooks get a deadline only when
// there are hooks added with Use (Server.added); the built-in hooks act
// in Before, their After does nothing, and it saves a reading of the
// clock per post.
func (s *Server) finish(ctx context.Context, p *post, id codec.ID, err error) (codec.ID, *Error) {
	c, span := &p.comment, p.span
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
	if !s.added {
		s.runAfter(ctx, c, id)
		return id, nil
	}
	p.afterHooks.start(ctx, time.Now().Add(s.cfg.HookTimeout))
	s.runAfter(&p.afterHooks, c, id)
	p.afterHooks.cancel()
	return id, nil
}

// isJSON reports whether a Content-Type names application/json; parameters
// such as charset=utf-8 are allowed.
func isJSON(contentType []byte) bool {
	mediaType, _, _ := bytes.Cut(contentType, []byte{';'})
	return bytes.EqualFold(bytes.TrimSpace(mediaType), []byte(contentTypeJSON))
}
