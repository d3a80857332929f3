package ingest

import (
	"bytes"
	"runtime/debug"
	"strings"

	"github.com/valyala/fasthttp"
)

// Paths of the API. Room routes are /v1/rooms/{room},
// /v1/rooms/{room}/danmaku, /v1/rooms/{room}/danmaku:batch,
// /v1/rooms/{room}/danmaku/{id},
// /v1/rooms/{room}/slowmode and /v1/rooms/{room}/bans/{uid}.
const (
	apiPrefix       = "/v1/"
	roomsPrefix     = "/v1/rooms/"
	danmakuSegment  = "danmaku"
	batchSegment    = "danmaku:batch"
	slowModeSegment = "slowmode"
	bansSegment     = "bans"
	reloadPath      = "/v1/admin/filter/reload"
)

// Allow lists of the API routes, also sent as the CORS allowed methods.
const (
	allowRoom     = "GET, OPTIONS"
	allowDanmaku  = "GET, POST, OPTIONS"
	allowBatch    = "POST, OPTIONS"
	allowComment  = "DELETE, OPTIONS"
	allowSlowMode = "PUT, OPTIONS"
	allowBan      = "PUT, DELETE, OPTIONS"
	allowReload   = "POST, OPTIONS"
)

// route is an exact path added with Handle.
type route struct {
	methods []methodHandler
	allow   string // the Allow header of a 405
}

type methodHandler struct {
	method  string
	handler fasthttp.RequestHandler
}

// Handle serves requests for the exact path with method by h. Call it
// before Serve; it is not safe to call while serving. It panics if path
// does not start with "/", lies under /v1/rooms/ (the room routes), or
// already has a handler for method (GET /healthz is built in). A request for path with another
// method gets 405 method_not_allowed listing the registered methods.
func (s *Server) Handle(method, path string, h fasthttp.RequestHandler) {
	switch {
	case method == "" || h == nil:
		panic("ingest: Handle needs a method and a handler")
	case !strings.HasPrefix(path, "/") || strings.HasPrefix(path, roomsPrefix):
		panic("ingest: Handle: cannot route path " + path)
	}
	r := s.routes[path]
	if r == nil {
		r = &route{}
		s.routes[path] = r
	}
	for _, m := range r.methods {
		if m.method == method {
			panic("ingest: Handle: " + method + " " + path + " registered twice")
		}
	}
	r.methods = append(r.methods, methodHandler{method, h})
	if r.allow != "" {
		r.allow += ", "
	}
	r.allow += method
}

func (r *route) serve(ctx *fasthttp.RequestCtx) {
	method := ctx.Method()
	for i := range r.methods {
		if string(method) == r.methods[i].method {
			r.methods[i].handler(ctx)
			return
		}
	}
	methodNotAllowed(ctx, r.allow)
}

// handle is the root handler: it routes, lets any origin read every answer
// under /v1/ (routes added with Handle included) and turns a panic into
// 500 internal.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	defer s.stats.observe(ctx, ctx.Time())
	defer s.recoverPanic(ctx)
	path := ctx.Path()
	if bytes.HasPrefix(path, []byte(apiPrefix)) {
		allowAnyOrigin(ctx)
	}
	if r, ok := s.routes[string(path)]; ok {
		r.serve(ctx)
		return
	}
	rest, ok := bytes.CutPrefix(path, []byte(roomsPrefix))
	if !ok {
		writeError(ctx, errNotFound)
		return
	}
	room, sub, hasSub := bytes.Cut(rest, []byte{'/'})
	if len(room) == 0 {
		writeError(ctx, errNotFound)
		return
	}
	if !hasSub {
		s.serveRoom(ctx, room)
		return
	}
	segment, item, hasItem := bytes.Cut(sub, []byte{'/'})
	switch {
	case !hasItem && string(segment) == danmakuSegment:
		s.serveDanmaku(ctx, room)
	case !hasItem && string(segment) == batchSegment:
		s.serveBatch(ctx, room)
	case !hasItem && string(segment) == slowModeSegment:
		s.serveSlowMode(ctx, room)
	case !hasItem || len(item) == 0 || bytes.IndexByte(item, '/') >= 0:
		writeError(ctx, errNotFound)
	case string(segment) == danmakuSegment:
		s.serveComment(ctx, room, item)
	case string(segment) == bansSegment:
		s.serveBan(ctx, room, item)
	default:
		writeError(ctx, errNotFound)
	}
}

func (s *Server) serveRoom(ctx *fasthttp.RequestCtx, room []byte) {
	switch {
	case ctx.IsGet():
		if r, ok := s.checkRoom(ctx, room); ok {
			s.getOnline(ctx, r)
		}
	case ctx.IsOptions():
		preflight(ctx, allowRoom)
	default:
		methodNotAllowed(ctx, allowRoom)
	}
}

func (s *Server) serveDanmaku(ctx *fasthttp.RequestCtx, room []byte) {
	switch {
	case ctx.IsPost():
		if r, ok := s.checkRoom(ctx, room); ok {
			s.postComment(ctx, r)
		}
	case ctx.IsGet():
		if r, ok := s.checkRoom(ctx, room); ok {
			s.getHistory(ctx, r)
		}
	case ctx.IsOptions():
		preflight(ctx, allowDanmaku)
	default:
		methodNotAllowed(ctx, allowDanmaku)
	}
}

func (s *Server) serveBatch(ctx *fasthttp.RequestCtx, room []byte) {
	switch {
	case ctx.IsPost():
		if r, ok := s.checkRoom(ctx, room); ok {
			s.postBatch(ctx, r)
		}
	case ctx.IsOptions():
		preflight(ctx, allowBatch)
	default:
		methodNotAllowed(ctx, allowBatch)
	}
}

func (s *Server) serveComment(ctx *fasthttp.RequestCtx, room, id []byte) {
	switch {
	case ctx.IsDelete():
		s.deleteComment(ctx, room, id)
	case ctx.IsOptions():
		preflight(ctx, allowComment)
	default:
		methodNotAllowed(ctx, allowComment)
	}
}

func (s *Server) serveSlowMode(ctx *fasthttp.RequestCtx, room []byte) {
	switch {
	case ctx.IsPut():
		s.putSlowMode(ctx, room)
	case ctx.IsOptions():
		preflight(ctx, allowSlowMode)
	default:
		methodNotAllowed(ctx, allowSlowMode)
	}
}

func (s *Server) serveBan(ctx *fasthttp.RequestCtx, room, uid []byte) {
	switch {
	case ctx.IsPut():
		s.putBan(ctx, room, uid)
	case ctx.IsDelete():
		s.deleteBan(ctx, room, uid)
	case ctx.IsOptions():
		preflight(ctx, allowBan)
	default:
		methodNotAllowed(ctx, allowBan)
	}
}

// checkRoom returns the room id of a path as a string of its own (the
// path bytes die with the request), or answers invalid_room. A room
// recently named costs no allocation (roomNames).
func (s *Server) checkRoom(ctx *fasthttp.RequestCtx, b []byte) (string, bool) {
	room, ok := s.roomNames.name(b)
	if !ok {
		writeError(ctx, errInvalidRoom)
	}
	return room, ok
}

// allowAnyOrigin lets pages served from any origin (the demo page, an
// overlay on another port) call the API. The header's key is given in its
// canonical form, which spares fasthttp normalizing a copy of it on every
// request.
func allowAnyOrigin(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.SetCanonical(accessControlAllowOrigin, anyOrigin)
}

var (
	accessControlAllowOrigin = []byte(fasthttp.HeaderAccessControlAllowOrigin)
	anyOrigin                = []byte("*")
)

// allowHeaders are the request headers a page may send: the JSON body's
// type, and the bearer token.
const allowHeaders = fasthttp.HeaderContentType + ", " + fasthttp.HeaderAuthorization

// preflight answers a CORS preflight request for a route allowing allow.
func preflight(ctx *fasthttp.RequestCtx, allow string) {
	h := &ctx.Response.Header
	h.Set(fasthttp.HeaderAccessControlAllowMethods, allow)
	h.Set(fasthttp.HeaderAccessControlAllowHeaders, allowHeaders)
	h.Set(fasthttp.HeaderAccessControlMaxAge, "600")
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

func methodNotAllowed(ctx *fasthttp.RequestCtx, allow string) {
	ctx.Response.Header.Set(fasthttp.HeaderAllow, allow)
	writeError(ctx, errMethodNotAllowed)
}

// recoverPanic turns a handler panic into 500 internal, so one bad request
// never takes the process down (fasthttp does not recover).
func (s *Server) recoverPanic(ctx *fasthttp.RequestCtx) {
	v := recover()
	if v == nil {
		return
	}
	s.logger.Error("ingest: handler panicked",
		"method", string(ctx.Method()), "path", string(ctx.Path()),
		"panic", v, "stack", string(debug.Stack()))
	ctx.Response.Reset()
	if bytes.HasPrefix(ctx.Path(), []byte(apiPrefix)) {
		allowAnyOrigin(ctx)
	}
	writeError(ctx, errInternal)
}

func serveHealth(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType(contentTypeJSON)
	ctx.SetBodyString(`{"status":"ok"}`)
}
