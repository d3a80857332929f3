package edge

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// concat joins frames into one write.
func concat(frames ...[]byte) []byte { return bytes.Join(frames, nil) }

// maskedHeader returns the header of a masked frame as raw bytes: first
// byte b0 and a length field written as given (lengthField is the 7-bit
// field, extended the extended length bytes, which may not be minimal).
func maskedHeader(b0, lengthField byte, extended []byte) []byte {
	b := append([]byte{b0, 0x80 | lengthField}, extended...)
	return append(b, testMask[:]...)
}

const testMaxMessage = 1024

// TestProtocolViolations sends each violation of RFC 6455 on a new
// connection and checks the close code the server answers with, read from
// its close frame, and that the server then closes the connection.
func TestProtocolViolations(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{edge: Config{MaxMessageBytes: testMaxMessage}})
	join := `{"type":"join","room":"a"}`
	fin := ws.Header{Fin: true, Masked: true, Mask: testMask}
	with := func(h ws.Header, mod func(*ws.Header)) ws.Header { mod(&h); return h }
	tests := []struct {
		name string
		sent []byte
		want ws.StatusCode
	}{
		{"unmasked frame", rawFrame(ws.Header{Fin: true, OpCode: ws.OpText, Length: int64(len(join))}, []byte(join)), ws.StatusProtocolError},
		{"unmasked ping", rawFrame(ws.Header{Fin: true, OpCode: ws.OpPing}, nil), ws.StatusProtocolError},
		{"RSV1", rawFrame(with(fin, func(h *ws.Header) { h.Rsv = ws.Rsv(true, false, false); h.OpCode = ws.OpText; h.Length = 2 }), []byte("{}")), ws.StatusProtocolError},
		{"RSV3 on a ping", rawFrame(with(fin, func(h *ws.Header) { h.Rsv = ws.Rsv(false, false, true); h.OpCode = ws.OpPing }), nil), ws.StatusProtocolError},
		{"reserved data opcode", clientFrame(true, 0x3, []byte("x")), ws.StatusProtocolError},
		{"reserved control opcode", clientFrame(true, 0xb, nil), ws.StatusProtocolError},
		{"ping over 125 bytes", clientFrame(true, ws.OpPing, bytes.Repeat([]byte("p"), 126)), ws.StatusProtocolError},
		{"close over 125 bytes", clientFrame(true, ws.OpClose, closeBody(ws.StatusNormalClosure, strings.Repeat("r", 124))), ws.StatusProtocolError},
		{"fragmented ping", clientFrame(false, ws.OpPing, []byte("x")), ws.StatusProtocolError},
		{"fragmented close", clientFrame(false, ws.OpClose, closeBody(ws.StatusNormalClosure, "")), ws.StatusProtocolError},
		{"continuation without start", clientFrame(true, ws.OpContinuation, []byte(join)), ws.StatusProtocolError},
		{"continuation after a complete message", concat(textFrame(join), clientFrame(true, ws.OpContinuation, []byte("x"))), ws.StatusProtocolError},
		{"text inside a fragmented message", concat(clientFrame(false, ws.OpText, []byte(join[:5])), clientFrame(true, ws.OpText, []byte(join[5:]))), ws.StatusProtocolError},
		{"binary inside a fragmented message", concat(clientFrame(false, ws.OpText, []byte(join[:5])), clientFrame(true, ws.OpBinary, []byte(join[5:]))), ws.StatusProtocolError},
		{"16-bit length not minimal", append(maskedHeader(0x81, 126, []byte{0, 2}), "{}"...), ws.StatusProtocolError},
		{"64-bit length not minimal", append(maskedHeader(0x81, 127, []byte{0, 0, 0, 0, 0, 0, 0, 2}), "{}"...), ws.StatusProtocolError},
		{"64-bit length with the top bit", maskedHeader(0x81, 127, []byte{0x80, 0, 0, 0, 0, 0, 0, 2}), ws.StatusProtocolError},
		{"invalid UTF-8", textFrame("{\"type\":\"join\",\"room\":\"a\",\"x\":\"\xff\"}"), ws.StatusInvalidFramePayloadData},
		{"invalid UTF-8 across fragments", concat(
			clientFrame(false, ws.OpText, []byte("{\"type\":\"join\",\"room\":\"a\",\"x\":\"\xe2\x82")),
			clientFrame(true, ws.OpContinuation, []byte(`"}`))), ws.StatusInvalidFramePayloadData},
		{"truncated rune at the end", concat(
			clientFrame(false, ws.OpText, []byte("\"\xe2")),
			clientFrame(true, ws.OpContinuation, []byte("\x82"))), ws.StatusInvalidFramePayloadData},
		// Only the header: the close must come before the payload does.
		{"message over the limit", maskedHeader(0x81, 126, binary.BigEndian.AppendUint16(nil, testMaxMessage+1)), ws.StatusMessageTooBig},
		{"64-bit length over the limit", maskedHeader(0x81, 127, binary.BigEndian.AppendUint64(nil, 1<<40)), ws.StatusMessageTooBig},
		{"fragments over the limit", concat(
			clientFrame(false, ws.OpText, bytes.Repeat([]byte(" "), testMaxMessage-10)),
			maskedHeader(0x00, 11, nil)), ws.StatusMessageTooBig},
		{"binary message", clientFrame(true, ws.OpBinary, []byte(join)), ws.StatusUnsupportedData},
		{"fragmented binary message", concat(clientFrame(false, ws.OpBinary, []byte("a")), clientFrame(true, ws.OpContinuation, []byte("b"))), ws.StatusUnsupportedData},
		{"close with one byte", clientFrame(true, ws.OpClose, []byte{3}), ws.StatusProtocolError},
		{"close code 999", clientFrame(true, ws.OpClose, closeBody(999, "")), ws.StatusProtocolError},
		{"close code 1004", clientFrame(true, ws.OpClose, closeBody(1004, "")), ws.StatusProtocolError},
		{"close code 1005", clientFrame(true, ws.OpClose, closeBody(ws.StatusNoStatusRcvd, "")), ws.StatusProtocolError},
		{"close code 1006", clientFrame(true, ws.OpClose, closeBody(ws.StatusAbnormalClosure, "")), ws.StatusProtocolError},
		{"close code 1015", clientFrame(true, ws.OpClose, closeBody(ws.StatusTLSHandshake, "")), ws.StatusProtocolError},
		{"close code 1016", clientFrame(true, ws.OpClose, closeBody(1016, "")), ws.StatusProtocolError},
		{"close code 2999", clientFrame(true, ws.OpClose, closeBody(2999, "")), ws.StatusProtocolError},
		{"close code 5000", clientFrame(true, ws.OpClose, closeBody(5000, "")), ws.StatusProtocolError},
		{"close reason not UTF-8", clientFrame(true, ws.OpClose, closeBody(ws.StatusNormalClosure, "bye\xc3")), ws.StatusInvalidFramePayloadData},
		// Valid closes: the code is echoed, an empty body answered with 1000.
		{"close 1000", clientFrame(true, ws.OpClose, closeBody(ws.StatusNormalClosure, "bye")), ws.StatusNormalClosure},
		{"close 1001", clientFrame(true, ws.OpClose, closeBody(ws.StatusGoingAway, "")), ws.StatusGoingAway},
		{"close 1011", clientFrame(true, ws.OpClose, closeBody(ws.StatusInternalServerError, "oops")), ws.StatusInternalServerError},
		{"close 1013", clientFrame(true, ws.OpClose, closeBody(1013, "")), 1013},
		{"close 3000", clientFrame(true, ws.OpClose, closeBody(3000, "")), 3000},
		{"close 4999", clientFrame(true, ws.OpClose, closeBody(4999, "ünïcode")), 4999},
		{"close without a body", clientFrame(true, ws.OpClose, nil), ws.StatusNormalClosure},
		{"close inside a fragmented message", concat(clientFrame(false, ws.OpText, []byte("{")), clientFrame(true, ws.OpClose, closeBody(4000, ""))), 4000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := env.rawUpgrade(t, "/ws")
			rc.write(tt.sent)
			if code, reason := rc.readClose(); code != tt.want {
				t.Errorf("close %d %q; want %d", code, reason, tt.want)
			}
		})
	}
	waitFor(t, "every connection to close", func() bool { return env.srv.Stats().Open.Load() == 0 })
}

// TestControlFrames checks pings, pongs and fragmentation that are valid.
func TestControlFrames(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{edge: Config{MaxMessageBytes: testMaxMessage}})
	rc := env.rawUpgrade(t, "/ws")
	expectPong := func(payload []byte) {
		t.Helper()
		h, got := rc.readFrame()
		if h.OpCode != ws.OpPong || !bytes.Equal(got, payload) {
			t.Fatalf("got %v %q; want pong %q", h.OpCode, got, payload)
		}
	}
	for _, payload := range [][]byte{nil, []byte("ping"), bytes.Repeat([]byte{0, 0xff}, 62), bytes.Repeat([]byte("x"), 125)} {
		rc.write(clientFrame(true, ws.OpPing, payload))
		expectPong(payload)
	}

	// An unsolicited pong gets no answer; a ping after it does.
	rc.write(concat(clientFrame(true, ws.OpPong, []byte("unasked")), clientFrame(true, ws.OpPing, []byte("next"))))
	expectPong([]byte("next"))

	// A join in three fragments, a rune split between two of them, with a
	// ping in the middle: the pong comes first, then the join.
	join := []byte(`{"type":"join","room":"frag","note":"€uro"}`)
	split := bytes.IndexRune(join, '€') + 1
	rc.write(concat(
		clientFrame(false, ws.OpText, join[:10]),
		clientFrame(false, ws.OpContinuation, join[10:split]),
		clientFrame(true, ws.OpPing, []byte("mid")),
		clientFrame(true, ws.OpContinuation, join[split:]),
	))
	expectPong([]byte("mid"))
	if m := rc.readMessage(); m.Type != "joined" || m.Room != "frag" {
		t.Fatalf("got %+v; want joined frag", m)
	}

	// Empty fragments, and a message exactly at the limit.
	pad := testMaxMessage - len(`{"type":"join","room":"full","pad":""}`)
	full := []byte(`{"type":"join","room":"full","pad":"` + strings.Repeat("z", pad) + `"}`)
	rc.write(concat(
		clientFrame(false, ws.OpText, nil),
		clientFrame(false, ws.OpContinuation, full[:testMaxMessage/2]),
		clientFrame(false, ws.OpContinuation, nil),
		clientFrame(true, ws.OpContinuation, full[testMaxMessage/2:]),
	))
	if m := rc.readMessage(); m.Type != "joined" || m.Room != "full" {
		t.Fatalf("got %+v; want joined full", m)
	}
	rc.write(textFrame(string(full)))
	if m := rc.readMessage(); m.Type != "error" || m.Code != "already_joined" {
		t.Fatalf("got %+v; want error already_joined", m)
	}

	rc.write(clientFrame(true, ws.OpClose, closeBody(ws.StatusNormalClosure, "")))
	if code, reason := rc.readClose(); code != ws.StatusNormalClosure {
		t.Errorf("close %d %q; want 1000", code, reason)
	}
}
