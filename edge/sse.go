package edge

import (
	"bytes"
	"net/http"
	"slices"
	"strings"

	"github.com/gobwas/ws"

	"github.com/danmu-dev/danmu/auth"
	"github.com/danmu-dev/danmu/codec"
)

// Server-Sent Events (GET /sse?room=R) serve the native protocol to
// viewers whose proxies block WebSocket. The request is plain HTTP, parsed
// from the peeked bytes on the loop like an upgrade; the answer is a
// response with no length, the events of the room following it until
// either side closes. An SSE connection is one more conn of the loop, with
// no goroutine of its own: the hub encodes its events once per batch
// (codec.SSEEncoder), and the same outbound limits, tiers, caps, Origin
// check and tokens apply as on /ws. The client sends nothing after its
// request: what it sends is ignored, and its liveness is its reading (see
// sweepSSE).

// sseState is the state of a /sse connection, owned by its loop.
type sseState struct {
	// backlog is the unsent bytes the last sweep saw: a backlog that
	// shrinks, or is empty, shows that the client reads.
	backlog int
}

// ssePath is the endpoint of Server-Sent Events.
const ssePath = "/sse"

// isSSE reports whether a complete request is for /sse: its target's path
// is ssePath, whatever the method, which parseSSERequest checks.
func isSSE(req []byte) bool {
	_, rest, ok := bytes.Cut(req, []byte{' '})
	return ok && bytes.HasPrefix(rest, []byte(ssePath)) && len(rest) > len(ssePath) &&
		(rest[len(ssePath)] == ' ' || rest[len(ssePath)] == '?')
}

// sseRequest is what an SSE request says that the edge reads.
type sseRequest struct {
	// query is the request target's query, without '?'.
	query         string
	origin        string
	lastEventID   string
	authorization string
}

// parseSSERequest parses a complete GET request for /sse, blank line
// included: HTTP/1.0 or 1.1, headers without folding, each value free of
// control characters, Origin, Last-Event-ID and Authorization at most
// once.
func parseSSERequest(req []byte) (sseRequest, *rejection) {
	var r sseRequest
	line, rest, ok := bytes.Cut(req, []byte("\r\n"))
	if !ok {
		return r, &rejection{400, "malformed request"}
	}
	method, line, _ := bytes.Cut(line, []byte{' '})
	target, version, _ := bytes.Cut(line, []byte{' '})
	switch {
	case string(version) != "HTTP/1.1" && string(version) != "HTTP/1.0":
		return r, &rejection{400, "malformed request line"}
	case string(method) != http.MethodGet:
		return r, &rejection{405, "method not allowed: GET /sse?room=R"}
	}
	path, query, _ := bytes.Cut(target, []byte{'?'})
	if string(path) != ssePath || !printable(query) {
		return r, &rejection{400, "malformed request target"}
	}
	r.query = string(query)
	seen := [3]bool{}
	for {
		line, rest, ok = bytes.Cut(rest, []byte("\r\n"))
		if !ok {
			return r, &rejection{400, "malformed request"}
		}
		if len(line) == 0 {
			if len(rest) != 0 {
				return r, &rejection{400, "unexpected bytes after the request"}
			}
			return r, nil
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok || !token(name) {
			return r, &rejection{400, "malformed header"}
		}
		value = bytes.Trim(value, " \t")
		if !printable(value) {
			return r, &rejection{400, "malformed header value"}
		}
		var field *string
		var i int
		switch {
		case strings.EqualFold(string(name), "Origin"):
			field, i = &r.origin, 0
		case strings.EqualFold(string(name), "Last-Event-ID"):
			field, i = &r.lastEventID, 1
		case strings.EqualFold(string(name), "Authorization"):
			field, i = &r.authorization, 2
		default:
			continue
		}
		if seen[i] {
			return r, &rejection{400, "repeated header " + string(name)}
		}
		seen[i] = true
		*field = string(value)
	}
}

// token reports whether b is a header name (RFC 9110 token).
func token(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// printable reports whether b holds no control character but tab.
func printable(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// openSSE answers the complete request req for /sse and subscribes the
// connection to its room. It reports whether the connection is open.
func (cn *conn) openSSE(req []byte) bool {
	l := cn.loop
	l.target = upgradeTarget{}
	r, rej := parseSSERequest(req)
	if rej == nil {
		rej = l.target.fromSSE(&r)
	}
	if rej == nil {
		rej = l.admit()
	}
	if rej != nil {
		l.target = upgradeTarget{}
		cn.rejectHTTP(rej.status, http.StatusText(rej.status), rej.reason)
		return false
	}
	target := l.target
	l.target = upgradeTarget{}
	cn.c.Discard(len(req))
	cn.state = stateOpen
	response := appendSSEResponse(l.out[:0], l.server.cfg.AllowedOrigins, target.origin)
	l.out = response[:0]
	if !cn.put(response) {
		return false // the peer is gone: OnClose ran inside the write
	}
	l.server.stats.Upgraded.Add(1)
	cn.establish(TransportSSE)
	cn.enc, cn.tier, cn.expires = l.server.encSSE, target.tier, target.expires
	cn.join(target.room, target.since)
	return true
}

// fromSSE fills t from an SSE request: the query as on /ws, a room
// required, Last-Event-ID (an EventSource's reconnection) in place of
// since, and a bearer token in Authorization over the query's.
func (t *upgradeTarget) fromSSE(r *sseRequest) *rejection {
	if rej := t.parseQuery(r.query); rej != nil {
		return rej
	}
	if t.room == "" {
		return &rejection{400, "a room is required: /sse?room=R"}
	}
	if r.lastEventID != "" {
		id, err := codec.ParseID(r.lastEventID)
		if err != nil {
			return &rejection{400, "invalid Last-Event-ID: want <ms>-<seq>"}
		}
		t.since = &id
	}
	if token, ok := auth.BearerToken(r.authorization); ok {
		t.token = token
	}
	t.origin = r.origin
	return nil
}

// appendSSEResponse appends the head of the answer to an SSE request from
// origin ("" for none), which admit allowed: the events follow it until
// the connection closes, never cached or buffered by a proxy.
func appendSSEResponse(dst []byte, allowed []string, origin string) []byte {
	dst = append(dst, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"+
		"Cache-Control: no-cache, no-store\r\nX-Accel-Buffering: no\r\nConnection: close\r\n"...)
	if origin != "" {
		dst = append(dst, "Access-Control-Allow-Origin: "...)
		if len(allowed) == 0 || slices.Contains(allowed, "*") {
			dst = append(dst, '*')
		} else {
			dst = append(dst, origin...) // one of allowed, exactly
		}
		dst = append(dst, "\r\nVary: Origin\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// sweepSSE keeps an SSE connection alive and ends a dead one. An SSE
// client sends nothing: it is alive while it reads, which shows as an
// empty or shrinking backlog. One that has not read for IdleTimeout is
// closed; a quiet stream gets a heartbeat comment after its own share of
// PingInterval (pingAfter), so that proxies keep it open and a vanished
// client shows as a backlog.
func (cn *conn) sweepSSE(now int64) {
	cfg := &cn.loop.server.cfg
	backlog := cn.c.OutboundBuffered()
	if backlog == 0 || backlog < cn.sse.backlog {
		cn.lastSeen = now
	}
	cn.sse.backlog = backlog
	switch {
	case now-cn.lastSeen > int64(cfg.IdleTimeout):
		cn.closeWith(ws.StatusGoingAway, "idle timeout")
	case now-cn.lastPing > cn.pingAfter:
		cn.lastPing = now
		cn.send(codec.SSEPing)
	}
}

// closeSSE closes an SSE connection: the response just ends, code only
// saying why in the metrics. A browser's EventSource reconnects on its
// own, with Last-Event-ID.
func (cn *conn) closeSSE(code ws.StatusCode) {
	cn.closeCode = code
	if cn.closeReason == CloseDropped {
		cn.closeReason = cn.loop.server.reasonFor(code)
	}
	cn.state = stateClosing
	cn.shut()
}
