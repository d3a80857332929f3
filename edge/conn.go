package edge

import (
	"errors"
	"net/netip"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/fanout"
)

// statusTryAgainLater (RFC 6455 registry, 1013) closes a viewer that fell
// too far behind: it may reconnect and resume.
const statusTryAgainLater ws.StatusCode = 1013

type connState uint8

// A connection moves through these states in order, never back.
const (
	// stateProxy: the connection comes through a load balancer that
	// speaks the PROXY protocol (Config.ProxyProtocol), and its header
	// has not been read yet (proxy.go).
	stateProxy connState = iota
	stateHandshake
	stateOpen
	// stateClosing: the server sent its close (a close frame or an HTTP
	// error) and asked gnet to close; nothing more is written.
	stateClosing
	// stateClosed: OnClose ran. gnet may have given the file descriptor
	// number to another connection, so the gnet.Conn must never be
	// touched again: put and shut are the only places that touch it, and
	// both check this state.
	stateClosed
)

// conn is one client connection, and the viewer its shard writes to.
type conn struct {
	// Immutable after OnOpen.
	c      gnet.Conn
	loop   *loop
	opened int64 // Unix ns

	// Owned by the loop.
	// peer is the client's address: the TCP peer's, then, once a PROXY
	// protocol header is read, the one it carries. Limits, logs and
	// metrics use it.
	peer netip.Addr
	// counted is the address under which admission holds a per-address
	// place for the connection, or the zero Addr while it holds none (a
	// trusted load balancer's connection before its header is read).
	counted netip.Addr

	state    connState
	lastSeen int64 // Unix ns of the last bytes received
	lastPing int64
	// pingAfter is the silence (ns) after which the connection is pinged:
	// its own share of PingInterval (pingAfter).
	pingAfter int64
	// expires is when the viewer's token expires (Unix ns), or zero.
	expires int64
	// slowSince is when the viewer's backlog last went past SoftOutbound,
	// or zero while it is below.
	slowSince int64
	// closeReason and closeCode say why the connection is closing, once
	// it is; OnClose counts them.
	closeReason CloseReason
	closeCode   ws.StatusCode
	// messages and joins bound the requests the client makes
	// (Config.MessageRate, Config.JoinRate).
	messages bucket
	joins    bucket
	subs     []*member
	fragOp   ws.OpCode // first opcode of a fragmented message in progress
	frag     []byte    // its payload so far
	fragging bool

	// enc is the hub encoder of the connection's one encoding, chosen at
	// the upgrade (/ws, with or without permessage-deflate) or by the
	// enter packet (/sub).
	enc int
	// deflate is set when permessage-deflate was negotiated; compressed
	// tells whether the client message being received is compressed.
	deflate    bool
	compressed bool
	// bili is the state of a /sub connection, nil on /ws.
	bili *biliConn
	// transport is set at the handshake; tier is the one the viewer's
	// subscriptions ask for (max_rate).
	transport Transport
	// inTransport is set once the connection is counted open in its
	// transport (establish).
	inTransport bool
	tier        fanout.Tier
	// sse is the state of a /sse connection (sse.go).
	sse sseState
}

// onTraffic handles what the peer sent: the upgrade request, then frames,
// as many complete ones as have arrived. A partial frame stays in gnet's
// inbound buffer until more bytes come.
func (cn *conn) onTraffic() {
	l := cn.loop
	cn.lastSeen = time.Now().UnixNano()
	if cn.state == stateProxy && !cn.readProxy() {
		return
	}
	if cn.state == stateHandshake && !cn.handshake() {
		return
	}
	if cn.transport == TransportSSE {
		// An SSE client has nothing more to say.
		cn.c.Discard(cn.c.InboundBuffered())
		return
	}
	maxMessage := l.server.cfg.MaxMessageBytes
	for cn.state == stateOpen {
		buf, _ := cn.c.Peek(-1)
		h, n, err := codec.ParseHeader(buf)
		if err != nil {
			cn.fail(err)
			break
		}
		if n == 0 {
			break
		}
		if cn.deflate {
			if h, err = cn.takeCompressionBit(h); err != nil {
				cn.fail(err)
				break
			}
		}
		if err := codec.CheckClientHeader(h, cn.fragging, int64(len(cn.frag)), maxMessage); err != nil {
			cn.fail(err)
			break
		}
		total := n + int(h.Length)
		if len(buf) < total {
			break
		}
		if !cn.takeMessage() {
			break
		}
		l.in = codec.AppendUnmasked(l.in[:0], buf[n:total], h.Mask)
		cn.c.Discard(total)
		cn.onFrame(h, l.in)
	}
	if cn.state == stateClosing {
		cn.c.Discard(cn.c.InboundBuffered())
	}
}

// takeMessage counts one request of the client against MessageRate, and
// closes the connection (1008) when it is past it.
func (cn *conn) takeMessage() bool {
	cfg := &cn.loop.server.cfg
	if cn.messages.take(cn.lastSeen, cfg.MessageRate, cfg.MessageBurst) {
		return true
	}
	cn.loop.server.stats.RateLimited.Add(1)
	cn.closeWith(ws.StatusPolicyViolation, "too many messages")
	return false
}

// onFrame handles one complete, unmasked frame.
func (cn *conn) onFrame(h ws.Header, payload []byte) {
	switch h.OpCode {
	case ws.OpPing:
		cn.reply(codec.AppendPong(cn.loop.out[:0], payload))
	case ws.OpPong:
		// Liveness only: lastSeen is already updated.
	case ws.OpClose:
		cn.onClose(payload)
	case ws.OpText, ws.OpBinary:
		if !h.Fin {
			cn.fragging, cn.fragOp = true, h.OpCode
			cn.frag = append(cn.frag[:0], payload...)
			return
		}
		cn.onMessage(h.OpCode, payload)
	case ws.OpContinuation:
		cn.frag = append(cn.frag, payload...)
		if !h.Fin {
			return
		}
		cn.fragging = false
		msg := cn.frag
		cn.frag = nil
		cn.onMessage(cn.fragOp, msg)
	}
}

// onClose answers the peer's close frame and closes the connection.
func (cn *conn) onClose(payload []byte) {
	code, _, err := codec.ParseCloseBody(payload)
	if err != nil {
		cn.fail(err)
		return
	}
	if code == ws.StatusNoStatusRcvd {
		code = ws.StatusNormalClosure
	}
	if cn.state == stateOpen {
		cn.closeReason = ClosePeer
	}
	cn.closeWith(code, "")
}

// onMessage handles one complete client message.
func (cn *conn) onMessage(op ws.OpCode, payload []byte) {
	if cn.compressed {
		var ok bool
		if payload, ok = cn.inflate(payload); !ok {
			return
		}
	}
	if cn.bili != nil {
		cn.onBiliMessage(op, payload)
		return
	}
	if op == ws.OpBinary {
		cn.closeWith(ws.StatusUnsupportedData, "binary messages are not supported")
		return
	}
	if !utf8.Valid(payload) {
		cn.closeWith(ws.StatusInvalidFramePayloadData, "invalid UTF-8 in text message")
		return
	}
	msg, err := codec.DecodeClientMessage(payload)
	if err != nil {
		// The reply never echoes more than a short prefix of what the
		// client sent (the error's text quotes a prefix too).
		cn.sendError(codec.ShortPrefix(msg.Room, maxEchoBytes), errorCode(err), err.Error())
		return
	}
	switch msg.Type {
	case codec.TypeJoin:
		cn.join(msg.Room, msg.SinceID())
	case codec.TypeLeave:
		cn.leave(msg.Room)
	}
}

// join subscribes the connection to room.
func (cn *conn) join(room string, since *codec.ID) {
	if cn.state != stateOpen {
		return
	}
	if cn.sub(room) >= 0 {
		cn.sendError(room, "already_joined", "already watching room "+room)
		return
	}
	cfg := &cn.loop.server.cfg
	if len(cn.subs) >= cfg.MaxRooms {
		cn.sendError(room, "too_many_rooms", "this connection watches the most rooms it may")
		return
	}
	if !cn.joins.take(cn.lastSeen, cfg.JoinRate, cfg.JoinBurst) {
		cn.loop.server.stats.RateLimited.Add(1)
		cn.sendError(room, "too_many_joins", "too many joins: wait a moment")
		return
	}
	m := cn.loop.shard.join(room, cn, cn.enc, cn.tier, since)
	if cn.state == stateClosed {
		// join may report the subscription live at once, and a failed
		// write of that report closes the connection, before release
		// could see the subscription.
		cn.loop.shard.leave(m)
		return
	}
	cn.subs = append(cn.subs, m)
}

// leave ends the subscription to room.
func (cn *conn) leave(room string) {
	i := cn.sub(room)
	if i < 0 {
		cn.sendError(room, "not_joined", "not watching room "+room)
		return
	}
	cn.loop.shard.leave(cn.subs[i])
	cn.subs = append(cn.subs[:i], cn.subs[i+1:]...)
	l := cn.loop
	l.tmp = codec.AppendLeftJSON(l.tmp[:0], room)
	cn.reply(codec.AppendFrame(l.out[:0], ws.OpText, l.tmp))
}

func (cn *conn) sub(room string) int {
	for i, m := range cn.subs {
		if m.room == room {
			return i
		}
	}
	return -1
}

// Send writes a batch frame within the outbound limits (see send), an
// urgent one within HardOutbound (sendUrgent). It satisfies audience.
func (cn *conn) Send(frame []byte, urgent bool) bool {
	if len(frame) == 0 {
		return cn.state == stateOpen // an encoding with nothing to say about this batch
	}
	if urgent && !cn.sendUrgent(frame) || !urgent && !cn.send(frame) {
		return false
	}
	cn.loop.counters.sent[cn.transport].Add(1)
	return true
}

// sendUrgent writes a frame of the priority-only tier: what a viewer gets
// even past SoftOutbound. A viewer past HardOutbound cannot take even that
// and is disconnected (1013).
func (cn *conn) sendUrgent(frame []byte) bool {
	if cn.state != stateOpen {
		return false
	}
	if cn.c.OutboundBuffered() > cn.loop.server.cfg.HardOutbound {
		cn.loop.server.stats.FramesSkipped.Add(1)
		cn.closeSlow()
		return false
	}
	return cn.put(frame)
}

// Drained reports whether the backlog is down to half of SoftOutbound, for
// a viewer moved to the priority-only tier to return to its own. It
// satisfies audience.
func (cn *conn) Drained() bool {
	return cn.state == stateOpen && cn.c.OutboundBuffered() <= cn.loop.server.cfg.SoftOutbound/2
}

// send writes one frame, a batch or a reply, unless the client is too far
// behind, so that no client makes the server buffer without limit: past
// SoftOutbound unsent bytes the frame is skipped (fan-out then tells the
// viewer of the gap), and a client that stays past it for SlowTimeout, or
// passes HardOutbound, is disconnected with 1013 (it may reconnect and
// resume). A client that sends requests and never reads the replies is
// cut the same way. send reports whether the frame was written.
func (cn *conn) send(frame []byte) bool {
	if cn.state != stateOpen {
		return false
	}
	cfg := &cn.loop.server.cfg
	backlog := cn.c.OutboundBuffered()
	if backlog <= cfg.SoftOutbound {
		cn.slowSince = 0
		return cn.put(frame)
	}
	cn.loop.server.stats.FramesSkipped.Add(1)
	now := time.Now().UnixNano()
	if cn.slowSince == 0 {
		cn.slowSince = now
	}
	if backlog > cfg.HardOutbound || now-cn.slowSince > int64(cfg.SlowTimeout) {
		cn.closeSlow()
	}
	return false
}

// put writes b to the socket unless the connection is closed, and reports
// whether it is still open afterwards. Every byte the server sends goes
// through put. A write that fails (the peer reset the connection) closes
// the connection, and runs OnClose, inside the write: callers must check
// the result before they do anything more with the connection.
func (cn *conn) put(b []byte) bool {
	if cn.state == stateClosed {
		return false
	}
	_, _ = cn.c.Write(b)
	return cn.state != stateClosed
}

// shut asks gnet to close the connection once its outbound bytes are
// written, unless it is closed already.
func (cn *conn) shut() {
	if cn.state != stateClosed {
		_ = cn.c.Close()
	}
}

// closeSlow disconnects a viewer that fell too far behind.
func (cn *conn) closeSlow() {
	cn.loop.server.stats.SlowClosed.Add(1)
	cn.closeWith(statusTryAgainLater, "too slow: the server dropped this connection")
}

// Joined tells the viewer that its subscription to room is live.
func (cn *conn) Joined(room string) {
	if cn.state != stateOpen {
		return
	}
	if cn.bili != nil {
		cn.biliJoined()
		return
	}
	l := cn.loop
	l.tmp = codec.AppendJoinedJSON(l.tmp[:0], room)
	if cn.transport == TransportSSE {
		cn.reply(codec.AppendSSEEvent(l.out[:0], codec.ID{}, l.tmp))
		return
	}
	cn.reply(codec.AppendFrame(l.out[:0], ws.OpText, l.tmp))
}

// sendError tells the client that a message of its about room was refused.
func (cn *conn) sendError(room, code, message string) {
	l := cn.loop
	l.tmp = codec.AppendErrorJSON(l.tmp[:0], room, code, message)
	cn.reply(codec.AppendFrame(l.out[:0], ws.OpText, l.tmp))
}

// reply writes a frame built in the loop's out buffer within the outbound
// limits (see send), and keeps the buffer.
func (cn *conn) reply(frame []byte) {
	cn.send(frame)
	cn.loop.out = frame[:0]
}

// fail closes the connection for a protocol violation.
func (cn *conn) fail(err error) {
	var fe *codec.FrameError
	if errors.As(err, &fe) {
		cn.closeWith(fe.Code, fe.Reason)
		return
	}
	cn.closeWith(ws.StatusProtocolError, "protocol error")
}

// closeWith sends a close frame and closes the connection once it is
// written. From now on nothing more is sent to it. Its subscriptions end
// in OnClose (release): later, on the loop, or at once when writing the
// close frame fails. closeWith runs inside Send when a viewer is too slow,
// so OnClose may then leave the rooms while the shard walks the room's
// members, which shard.leave allows.
func (cn *conn) closeWith(code ws.StatusCode, reason string) {
	if cn.state != stateOpen {
		return
	}
	if cn.transport == TransportSSE {
		cn.closeSSE(code)
		return
	}
	// The close frame is written past the outbound limits: it is the
	// last frame, and small.
	frame := codec.AppendClose(cn.loop.out[:0], code, reason)
	cn.loop.out = frame[:0]
	cn.closeCode = code
	if cn.closeReason == CloseDropped {
		cn.closeReason = cn.loop.server.reasonFor(code)
	}
	if !cn.put(frame) {
		return
	}
	cn.state = stateClosing
	cn.shut()
}

// establish counts the connection open in transport t once its handshake
// succeeded.
func (cn *conn) establish(t Transport) {
	cn.transport, cn.inTransport = t, true
	cn.loop.server.stats.open[t].Add(1)
}

// release marks the connection closed and ends its subscriptions. OnClose
// calls it, and nothing touches the gnet.Conn afterwards.
func (cn *conn) release() {
	if cn.inTransport {
		cn.loop.server.stats.open[cn.transport].Add(-1)
	}
	cn.state = stateClosed
	for _, m := range cn.subs {
		cn.loop.shard.leave(m)
	}
	cn.subs = nil
	cn.frag = nil
}

// maxEchoBytes caps what an error reply repeats of a client's input: the
// longest valid room name.
const maxEchoBytes = 64

// errorCode maps a client message error to its wire error code.
func errorCode(err error) string {
	switch {
	case errors.Is(err, codec.ErrInvalidRoom):
		return "invalid_room"
	case errors.Is(err, codec.ErrInvalidSince):
		return "invalid_since"
	case errors.Is(err, codec.ErrUnknownType):
		return "unknown_type"
	}
	return "invalid_message"
}
