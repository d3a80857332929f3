package edge

import (
	"context"
	"math"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
	"github.com/panjf2000/gnet/v2"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/fanout"
	"github.com/danmu-dev/danmu/internal/proxyproto"
)

// loop is the state of one event loop.
type loop struct {
	// Immutable after newLoop.
	server   *Server
	el       gnet.EventLoop
	shard    *shard
	upgrader ws.Upgrader
	counters *loopCounters // of the frames this loop writes

	// Owned by this event loop: touch only inside gnet callbacks or a func
	// passed to Execute.
	conns   map[*conn]struct{}
	in      []byte        // unmasked payloads; valid until the frame is handled
	out     []byte        // frames being built; valid until written
	tmp     []byte        // JSON bodies being built
	request handshakeIO   // the upgrade request being parsed
	target  upgradeTarget // what the request being parsed asked for
	// deflate negotiates permessage-deflate for the request being parsed.
	deflate wsflate.Extension
	// inflater and inflated inflate compressed client messages; inflated
	// is valid until the next message.
	inflater codec.Inflater
	inflated []byte
	// drainTotal is the number of connections open when the drain began,
	// and drainClosed how many of them the drain has closed; both stay
	// zero until the drain's first step on this loop.
	drainTotal  int
	drainClosed int
	draining    bool
}

// upgradeTarget is what an upgrade request named and proved: the room and
// resume position, and the origin and token access control checks.
type upgradeTarget struct {
	room    string
	since   *codec.ID
	origin  string
	token   string
	expires int64 // Unix ns when the viewer's token expires, or zero
	bili    bool  // the path is /sub: the Bilibili-compatible protocol
	deflate bool  // permessage-deflate was negotiated
	// tier is what max_rate asked for: full or a thinned tier.
	tier fanout.Tier
}

func newLoop(s *Server, el gnet.EventLoop) *loop {
	l := &loop{server: s, el: el, conns: make(map[*conn]struct{}), counters: s.stats.newLoopCounters()}
	l.deflate.Parameters = deflateParameters
	l.shard = newShard(s.hub, l, &s.stats)
	l.upgrader = ws.Upgrader{
		OnRequest:       l.onRequest,
		OnHeader:        l.onHeader,
		OnBeforeUpgrade: l.onBeforeUpgrade,
		Negotiate:       l.negotiate,
	}
	return l
}

// Execute runs fn on this loop: its shard hands the hub's Frames over
// with it.
func (l *loop) Execute(fn func()) {
	err := l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		fn()
		return nil
	}))
	if err != nil {
		l.server.logger.Debug("edge: loop is gone; task dropped", "err", err)
	}
}

// onRequest checks the request target of an upgrade: /ws?room=R&since=ID,
// or /sub for the Bilibili-compatible protocol, whose client names its room
// in the enter packet (its query is ignored).
func (l *loop) onRequest(uri []byte) error {
	path, rawQuery, _ := strings.Cut(string(uri), "?")
	switch path {
	case "/ws":
	case "/sub":
		l.target.bili = true
		return nil
	default:
		return ws.RejectConnectionError(ws.RejectionStatus(404), ws.RejectionReason("not found: the WebSocket endpoints are /ws and /sub"))
	}
	if r := l.target.parseQuery(rawQuery); r != nil {
		return r.upgradeError()
	}
	return nil
}

// rejection is why a request is refused: an HTTP status and a reason.
type rejection struct {
	status int
	reason string
}

func (r *rejection) upgradeError() error {
	return ws.RejectConnectionError(ws.RejectionStatus(r.status), ws.RejectionReason(r.reason))
}

// parseQuery reads the query of /ws or /sse into t: room, since, token
// and max_rate.
func (t *upgradeTarget) parseQuery(rawQuery string) *rejection {
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return &rejection{400, "malformed query string"}
	}
	if room := query.Get("room"); room != "" || query.Has("room") {
		if !codec.ValidRoom(room) {
			return &rejection{400, "invalid room: 1-64 characters of A-Z a-z 0-9 _ . : -"}
		}
		t.room = room
	}
	if query.Has("since") {
		if t.room == "" {
			return &rejection{400, "since needs a room"}
		}
		id, err := codec.ParseID(query.Get("since"))
		if err != nil {
			return &rejection{400, "invalid since: want <ms>-<seq>"}
		}
		t.since = &id
	}
	if query.Has("max_rate") {
		rate, err := strconv.Atoi(query.Get("max_rate"))
		if err != nil || rate < 0 {
			return &rejection{400, "invalid max_rate: want comments per second, 0 for no limit"}
		}
		t.tier = fanout.RateTier(rate)
	}
	t.token = query.Get("token")
	return nil
}

// pingAfter returns how long a connection may be silent before it is
// pinged: a time drawn once per connection in the upper half of interval.
// Viewers that connected together, as after a reconnect storm, and answer
// every ping together, would otherwise be pinged in the same sweep every
// interval, tens of thousands of writes in one burst that delayed the
// comments behind it: with 1 000 rooms of 10 viewers over a minute,
// p99.9 was 186–228 ms, 24–25 ms once spread (docs/performance.md,
// "Pings, spread").
func pingAfter(interval time.Duration) int64 {
	half := int64(interval) / 2
	return int64(interval) - rand.Int64N(half+1)
}

// sweep enforces handshake deadlines, pings silent connections and closes
// idle ones.
func (l *loop) sweep() {
	cfg := &l.server.cfg
	now := time.Now().UnixNano()
	for cn := range l.conns {
		switch cn.state {
		case stateProxy:
			if now-cn.opened > int64(cfg.HandshakeTimeout) {
				cn.refuseProxy(proxyproto.ErrIncomplete)
			}
		case stateHandshake:
			if now-cn.opened > int64(cfg.HandshakeTimeout) {
				cn.rejectHTTP(408, "Request Timeout", "handshake timeout")
			}
		case stateOpen:
			silent := now - cn.lastSeen
			switch {
			case cn.slowSince != 0 && now-cn.slowSince > int64(cfg.SlowTimeout) &&
				cn.c.OutboundBuffered() > cfg.SoftOutbound:
				cn.closeSlow()
			case cn.expires != 0 && now > cn.expires:
				cn.closeWith(ws.StatusPolicyViolation, "token expired")
			case cn.bili != nil:
				cn.sweepBili(now, silent)
			case cn.transport == TransportSSE:
				cn.sweepSSE(now)
			case silent > int64(cfg.IdleTimeout):
				cn.closeWith(ws.StatusGoingAway, "idle timeout")
			case silent > cn.pingAfter && now-cn.lastPing > cn.pingAfter:
				cn.lastPing = now
				cn.reply(codec.AppendPing(l.out[:0], nil))
			}
		}
	}
}

// drainShare is one step of the drain: on its first call it answers the
// connections still in their handshake with 503, and each call closes
// open connections with 1001 until share (0 to 1) of those open at the
// first call have been closed.
func (l *loop) drainShare(share float64) {
	if !l.draining {
		l.draining = true
		for cn := range l.conns {
			switch cn.state {
			case stateProxy:
				cn.state = stateClosing
				cn.shut()
			case stateHandshake:
				cn.rejectHTTP(503, "Service Unavailable", "server shutting down")
			case stateOpen:
				l.drainTotal++
			}
		}
	}
	target := int(math.Ceil(share * float64(l.drainTotal)))
	for cn := range l.conns {
		if l.drainClosed >= target {
			return
		}
		if cn.state == stateOpen {
			cn.closeWith(ws.StatusGoingAway, "server shutting down")
			l.drainClosed++
		}
	}
}
