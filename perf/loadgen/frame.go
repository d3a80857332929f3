package loadgen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/danmu-dev/danmu/codec"
)

// WebSocket opcodes (RFC 6455, section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// Errors of a server's frame stream.
var (
	errMaskedFrame       = errors.New("loadgen: server frame is masked")
	errReservedBits      = errors.New("loadgen: frame sets reserved bits")
	errReservedOpcode    = errors.New("loadgen: reserved opcode")
	errBadControlFrame   = errors.New("loadgen: fragmented or oversized control frame")
	errBadFragment       = errors.New("loadgen: continuation without a started message, or a new message inside one")
	errMessageTooLarge   = errors.New("loadgen: message too large")
	errHandshakeTooLarge = errors.New("loadgen: upgrade response too large")
)

// frameHeader is a parsed frame header.
type frameHeader struct {
	fin    bool
	op     byte
	length int64 // payload length
	size   int   // header length
}

// parseFrameHeader parses the header of an unmasked (server) frame at the
// start of b with codec.ParseHeader, the parser of the edge, which also
// refuses lengths not in their shortest encoding. complete is false while
// b holds only part of the header.
func parseFrameHeader(b []byte) (h frameHeader, complete bool, err error) {
	if len(b) >= 2 && b[0]&0x70 != 0 {
		return h, false, errReservedBits
	}
	if len(b) >= 2 && b[1]&0x80 != 0 {
		return h, false, errMaskedFrame
	}
	wh, n, err := codec.ParseHeader(b)
	if err != nil || n == 0 {
		return h, false, err
	}
	return frameHeader{fin: wh.Fin, op: byte(wh.OpCode), length: wh.Length, size: n}, true, nil
}

// appendClientFrame appends a final frame with opcode op and payload,
// masked with key as RFC 6455 requires of clients.
func appendClientFrame(dst []byte, op byte, payload []byte, key [4]byte) []byte {
	dst = append(dst, 0x80|op)
	switch n := len(payload); {
	case n <= 125:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xFFFF:
		dst = append(dst, 0x80|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = append(dst, key[:]...)
	for i, c := range payload {
		dst = append(dst, c^key[i&3])
	}
	return dst
}

// closeCode returns the status code of a close frame's payload, 1005 (no
// status) when it has none.
func closeCode(payload []byte) int {
	if len(payload) < 2 {
		return 1005
	}
	return int(binary.BigEndian.Uint16(payload))
}

// wsReader reads a server's frame stream: complete messages (fragments
// joined) and control frames, with the time of the read that completed
// each.
type wsReader struct {
	src        io.Reader
	maxMessage int

	buf        []byte // buf[start:end] is read and not yet returned
	start, end int
	readAt     int64 // unix ns when the last read returned data

	// A fragmented message being joined.
	fragmented bool
	msgOp      byte
	msg        []byte
}

func newWSReader(src io.Reader, size, maxMessage int) *wsReader {
	return &wsReader{src: src, buf: make([]byte, size), maxMessage: maxMessage}
}

// fill reads once, first making room for at least need unread bytes.
func (r *wsReader) fill(need int) error {
	if need > len(r.buf)-r.start || r.end == len(r.buf) {
		if need > len(r.buf) {
			grown := make([]byte, max(need, 2*len(r.buf)))
			r.end = copy(grown, r.buf[r.start:r.end])
			r.buf = grown
		} else {
			r.end = copy(r.buf, r.buf[r.start:r.end])
		}
		r.start = 0
	}
	n, err := r.src.Read(r.buf[r.end:])
	if n > 0 {
		r.end += n
		r.readAt = time.Now().UnixNano()
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// readHead reads the HTTP response head, through the blank line, and
// returns it. Bytes after it stay buffered: they are frames.
func (r *wsReader) readHead(maxBytes int) ([]byte, error) {
	scanned := 0
	for {
		b := r.buf[r.start:r.end]
		if i := indexCRLFCRLF(b, scanned); i >= 0 {
			r.start += i + 4
			return b[:i+4], nil
		}
		scanned = max(0, len(b)-3)
		if len(b) >= maxBytes {
			return nil, errHandshakeTooLarge
		}
		if err := r.fill(len(b) + 1); err != nil {
			return nil, err
		}
	}
}

func indexCRLFCRLF(b []byte, from int) int {
	for i := from; i+3 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' && b[i+2] == '\r' && b[i+3] == '\n' {
			return i
		}
	}
	return -1
}

// next returns the next data message (text or binary, fragments joined) or
// control frame. The payload is valid until the next call.
func (r *wsReader) next() (op byte, payload []byte, err error) {
	for {
		b := r.buf[r.start:r.end]
		h, complete, err := parseFrameHeader(b)
		if err != nil {
			return 0, nil, err
		}
		if !complete || int64(len(b)-h.size) < h.length {
			need := len(b) + 1
			if complete {
				if h.length > int64(r.maxMessage) {
					return 0, nil, fmt.Errorf("%w: %d bytes", errMessageTooLarge, h.length)
				}
				need = h.size + int(h.length)
			}
			if err := r.fill(need); err != nil {
				return 0, nil, err
			}
			continue
		}
		frameLen := h.size + int(h.length)
		payload := b[h.size:frameLen]
		r.start += frameLen
		switch h.op {
		case opClose, opPing, opPong:
			if !h.fin || h.length > 125 {
				return 0, nil, errBadControlFrame
			}
			return h.op, payload, nil
		case opText, opBinary:
			if r.fragmented {
				return 0, nil, errBadFragment
			}
			if h.fin {
				return h.op, payload, nil
			}
			r.fragmented, r.msgOp = true, h.op
			r.msg = append(r.msg[:0], payload...)
		case opContinuation:
			if !r.fragmented {
				return 0, nil, errBadFragment
			}
			if len(r.msg)+len(payload) > r.maxMessage {
				return 0, nil, fmt.Errorf("%w: over %d bytes", errMessageTooLarge, r.maxMessage)
			}
			r.msg = append(r.msg, payload...)
			if h.fin {
				r.fragmented = false
				return r.msgOp, r.msg, nil
			}
		default:
			return 0, nil, fmt.Errorf("%w: %#x", errReservedOpcode, h.op)
		}
	}
}
