package edge

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strconv"
	"time"
)

// handshakeIO is the io.ReadWriter ws.Upgrader works on: it reads the
// peeked request bytes and collects the response.
type handshakeIO struct {
	request  []byte
	response []byte
}

func (h *handshakeIO) Read(p []byte) (int, error) {
	if len(h.request) == 0 {
		return 0, errEndOfRequest
	}
	n := copy(p, h.request)
	h.request = h.request[n:]
	return n, nil
}

func (h *handshakeIO) Write(p []byte) (int, error) {
	h.response = append(h.response, p...)
	return len(p), nil
}

var errEndOfRequest = io.EOF

var crlfcrlf = []byte("\r\n\r\n")

// handshake parses the upgrade request once it is complete, answers it and
// opens the connection. It reports whether the connection is open.
func (cn *conn) handshake() bool {
	l := cn.loop
	cfg := &l.server.cfg
	buf, _ := cn.c.Peek(-1)
	end := bytes.Index(buf, crlfcrlf)
	if end < 0 {
		if len(buf) >= cfg.MaxHandshakeBytes {
			cn.rejectHTTP(431, "Request Header Fields Too Large", "upgrade request too large")
		}
		return false
	}
	size := end + len(crlfcrlf)
	if size > cfg.MaxHandshakeBytes {
		cn.rejectHTTP(431, "Request Header Fields Too Large", "upgrade request too large")
		return false
	}
	if isSSE(buf) {
		return cn.openSSE(buf[:size])
	}
	response, ok := l.parseUpgrade(buf[:size])
	if !ok {
		cn.reject(response)
		return false
	}
	cn.c.Discard(size)
	cn.state = stateOpen
	if !cn.put(response) {
		return false // the peer is gone: OnClose ran inside the write
	}
	l.server.stats.Upgraded.Add(1)
	if l.server.logger.Enabled(context.Background(), slog.LevelDebug) {
		l.server.logger.Debug("edge: upgraded", "client", cn.peer)
	}
	target := l.target
	l.target = upgradeTarget{}
	cn.expires, cn.tier = target.expires, target.tier
	switch {
	case target.bili:
		cn.establish(TransportBili)
		cn.bili = &biliConn{upgraded: time.Now().UnixNano()}
	case target.deflate:
		cn.establish(TransportWS)
		cn.deflate, cn.enc = true, l.server.encDeflate
	default:
		cn.establish(TransportWS)
		cn.enc = l.server.encJSON
	}
	if target.room != "" {
		cn.join(target.room, target.since)
	}
	return true
}

// parseUpgrade answers the complete upgrade request req, blank line
// included: with the 101 response and true, after which l.target holds the
// room and resume position the request named; or with an HTTP error
// response and false. The response is built in l.out and valid until l.out
// is next used. It does no I/O.
func (l *loop) parseUpgrade(req []byte) (response []byte, ok bool) {
	l.target = upgradeTarget{}
	l.deflate.Reset()
	l.request = handshakeIO{request: req, response: l.out[:0]}
	_, err := l.upgrader.Upgrade(&l.request)
	_, l.target.deflate = l.deflate.Accepted()
	response = l.request.response
	l.request = handshakeIO{}
	if err != nil && len(response) == 0 {
		response = appendHTTPError(response, 400, "Bad Request", "malformed upgrade request")
	}
	l.out = response[:0]
	return response, err == nil
}

// rejectHTTP answers a failed handshake with a plain HTTP error and closes.
func (cn *conn) rejectHTTP(status int, text, body string) {
	cn.reject(appendHTTPError(cn.loop.out[:0], status, text, body))
}

// reject writes the HTTP error response of a failed handshake, built in the
// loop's out buffer, and closes.
func (cn *conn) reject(response []byte) {
	l := cn.loop
	l.out = response[:0]
	l.server.stats.Rejected.Add(1)
	cn.closeReason = CloseHandshake
	if !cn.put(response) {
		return
	}
	cn.state = stateClosing
	cn.shut()
}

// appendHTTPError appends a plain-text HTTP error response that closes the
// connection.
func appendHTTPError(dst []byte, status int, text, body string) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, text...)
	dst = append(dst, "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)+1), 10)
	dst = append(dst, "\r\n\r\n"...)
	dst = append(dst, body...)
	return append(dst, '\n')
}
