package edge

import (
	"bytes"
	"io"
	"strconv"
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
	l.request = handshakeIO{request: buf[:size], response: l.out[:0]}
	_, err := l.upgrader.Upgrade(&l.request)
	response := l.request.response
	l.out = response[:0]
	l.request = handshakeIO{}
	if err != nil {
		l.server.stats.Rejected.Add(1)
		if len(response) == 0 {
			cn.rejectHTTP(400, "Bad Request", "malformed upgrade request")
			return false
		}
		cn.c.Write(response)
		cn.state = stateClosing
		cn.c.Close()
		return false
	}
	cn.c.Discard(size)
	cn.c.Write(response)
	cn.state = stateOpen
	l.server.stats.Upgraded.Add(1)
	if target := l.target; target.room != "" {
		l.target = upgradeTarget{}
		cn.join(target.room, target.since)
	}
	return true
}

// rejectHTTP answers a failed handshake with a plain HTTP error and closes.
func (cn *conn) rejectHTTP(status int, text, body string) {
	l := cn.loop
	b := append(l.out[:0], "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, text...)
	b = append(b, "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)+1), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	b = append(b, '\n')
	cn.c.Write(b)
	l.out = b[:0]
	l.server.stats.Rejected.Add(1)
	cn.state = stateClosing
	cn.c.Close()
}
