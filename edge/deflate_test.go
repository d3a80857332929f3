package edge

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"
)

const deflateOffer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"

// TestDeflateGorilla checks permessage-deflate with a client that
// compresses its own messages too: gorilla/websocket with compression.
func TestDeflateGorilla(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{edge: Config{Deflate: DeflateConfig{MinBytes: 1}}})
	d := websocket.Dialer{HandshakeTimeout: waitTimeout, EnableCompression: true}
	c, resp, err := d.Dial("ws://"+env.addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ext := resp.Header.Get("Sec-WebSocket-Extensions")
	if !strings.Contains(ext, "permessage-deflate") || !strings.Contains(ext, "server_no_context_takeover") || !strings.Contains(ext, "client_no_context_takeover") {
		t.Fatalf("Sec-WebSocket-Extensions = %q; want permessage-deflate without context takeover", ext)
	}
	// gorilla compresses what it sends: the join is inflated by the server.
	send(t, c, `{"type":"join","room":"zip"}`)
	expectReply(t, c, "joined", "zip", "")
	var want []string
	for i := range 20 {
		text := fmt.Sprintf("compressed comment %d", i)
		env.post(t, "zip", text)
		want = append(want, text)
	}
	var got []string
	for len(got) < len(want) {
		m := readMessage(t, c)
		for _, it := range m.Msgs {
			got = append(got, it.Text)
		}
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q; want %q", got, want)
	}
}

// deflatePayload compresses payload as a client does without context
// takeover.
func deflatePayload(t testing.TB, payload []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(payload)
	_ = w.Flush()
	return bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// inflatePayload inflates a compressed server message.
func inflatePayload(t testing.TB, payload []byte) []byte {
	t.Helper()
	r := flate.NewReader(io.MultiReader(bytes.NewReader(payload), bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff})))
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	return out
}

// TestDeflateFrames checks the frames on the wire: a batch of at least
// MinBytes is compressed (RSV1) and the same bytes go to every deflate
// viewer, smaller frames go out as they are, and viewers without the
// extension get plain frames of the same batch.
func TestDeflateFrames(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{edge: Config{Deflate: DeflateConfig{MinBytes: 200}}})
	var viewers []*rawClient
	for range 3 {
		rc := env.rawConn(t)
		rc.write([]byte(withHeaders("/ws?room=wire", deflateOffer)))
		resp, _ := rc.readResponse()
		if resp.StatusCode != http.StatusSwitchingProtocols || !strings.HasPrefix(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
			t.Fatalf("status %d extensions %q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Extensions"))
		}
		if m := rc.readMessage(); m.Type != "joined" {
			t.Fatalf("got %+v; want joined (short: not compressed)", m)
		}
		viewers = append(viewers, rc)
	}
	plain := env.rawUpgrade(t, "/ws?room=wire")
	if m := plain.readMessage(); m.Type != "joined" {
		t.Fatalf("got %+v; want joined", m)
	}
	env.post(t, "wire", strings.Repeat("long comment ", 20))
	var first []byte
	for i, rc := range viewers {
		_ = rc.conn.SetReadDeadline(time.Now().Add(waitTimeout))
		h, err := ws.ReadHeader(rc.br)
		if err != nil {
			t.Fatal(err)
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(rc.br, payload); err != nil {
			t.Fatal(err)
		}
		if h.Rsv != 0x4 {
			t.Fatalf("viewer %d: batch frame RSV %03b; want RSV1", i, h.Rsv)
		}
		if i == 0 {
			first = payload
		} else if !bytes.Equal(payload, first) {
			t.Errorf("viewer %d got other compressed bytes than viewer 0", i)
		}
	}
	m, err := decodeServerMessage(inflatePayload(t, first))
	if err != nil || m.Type != "batch" || len(m.Msgs) != 1 {
		t.Fatalf("inflated batch %+v, %v", m, err)
	}
	if pm := plain.readMessage(); pm.Type != "batch" || pm.Msgs[0].ID != m.Msgs[0].ID {
		t.Errorf("plain viewer got %+v; want the same batch", pm)
	}
	// A client's compressed join is inflated, and a short reply is sent
	// uncompressed.
	rc := viewers[0]
	rc.write(compressedFrame(deflatePayload(t, []byte(`{"type":"leave","room":"wire"}`))))
	if m := rc.readMessage(); m.Type != "left" {
		t.Errorf("got %+v; want left", m)
	}
}

// compressedFrame is a masked final text frame with RSV1.
func compressedFrame(payload []byte) []byte {
	return rawFrame(ws.Header{Fin: true, Rsv: 0x4, OpCode: ws.OpText, Masked: true, Mask: testMask, Length: int64(len(payload))}, payload)
}

// TestDeflateClientErrors checks the limits on what clients send
// compressed.
func TestDeflateClientErrors(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{edge: Config{MaxMessageBytes: 1024}})
	bomb := deflatePayload(t, make([]byte, 1<<20))
	tests := []struct {
		name    string
		deflate bool
		frames  [][]byte
		code    ws.StatusCode
	}{
		{"bomb", true, [][]byte{compressedFrame(bomb)}, ws.StatusMessageTooBig},
		{"just over the limit", true, [][]byte{compressedFrame(deflatePayload(t, bytes.Repeat([]byte("a"), 1025)))}, ws.StatusMessageTooBig},
		{"not deflate data", true, [][]byte{compressedFrame([]byte{0xff, 0xfe, 0xfd})}, ws.StatusInvalidFramePayloadData},
		{"RSV1 on a ping", true, [][]byte{rawFrame(ws.Header{Fin: true, Rsv: 0x4, OpCode: ws.OpPing, Masked: true, Mask: testMask}, nil)}, ws.StatusProtocolError},
		{"RSV1 on a continuation", true, [][]byte{
			clientFrame(false, ws.OpText, []byte(`{"type":`)),
			rawFrame(ws.Header{Fin: true, Rsv: 0x4, OpCode: ws.OpContinuation, Masked: true, Mask: testMask, Length: 2}, []byte("{}")),
		}, ws.StatusProtocolError},
		{"RSV2", true, [][]byte{rawFrame(ws.Header{Fin: true, Rsv: 0x2, OpCode: ws.OpText, Masked: true, Mask: testMask, Length: 2}, []byte("{}"))}, ws.StatusProtocolError},
		{"RSV1 without the extension", false, [][]byte{compressedFrame(deflatePayload(t, []byte(`{}`)))}, ws.StatusProtocolError},
		{"compressed invalid UTF-8", true, [][]byte{compressedFrame(deflatePayload(t, []byte("\xff\xfe")))}, ws.StatusInvalidFramePayloadData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := env.rawConn(t)
			if tt.deflate {
				rc.write([]byte(withHeaders("/ws", deflateOffer)))
			} else {
				rc.write([]byte(upgradeRequest("/ws")))
			}
			if resp, _ := rc.readResponse(); resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("status %d", resp.StatusCode)
			}
			for _, f := range tt.frames {
				rc.write(f)
			}
			if code, reason := rc.readClose(); code != tt.code {
				t.Errorf("closed with %d %q; want %d", code, reason, tt.code)
			}
		})
	}
}

// TestDeflateFragmented checks a compressed message sent in fragments:
// RSV1 on the first frame only, with a ping between.
func TestDeflateFragmented(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{})
	rc := env.rawConn(t)
	rc.write([]byte(withHeaders("/ws", deflateOffer)))
	if resp, _ := rc.readResponse(); resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	payload := deflatePayload(t, []byte(`{"type":"join","room":"frag"}`))
	half := len(payload) / 2
	rc.write(rawFrame(ws.Header{Rsv: 0x4, OpCode: ws.OpText, Masked: true, Mask: testMask, Length: int64(half)}, payload[:half]))
	rc.write(clientFrame(true, ws.OpPing, []byte("p")))
	rc.write(clientFrame(true, ws.OpContinuation, payload[half:]))
	if h, body := rc.readFrame(); h.OpCode != ws.OpPong || string(body) != "p" {
		t.Fatalf("got %v %q; want the pong", h.OpCode, body)
	}
	if m := rc.readMessage(); m.Type != "joined" || m.Room != "frag" {
		t.Errorf("got %+v; want joined frag", m)
	}
}

// TestDeflateOff checks that Off declines every offer.
func TestDeflateOff(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{edge: Config{Deflate: DeflateConfig{Off: true}}})
	rc := env.rawConn(t)
	rc.write([]byte(withHeaders("/ws?room=off", deflateOffer)))
	resp, _ := rc.readResponse()
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Extensions") != "" {
		t.Fatalf("status %d extensions %q; want 101 without extensions", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Extensions"))
	}
	if m := rc.readMessage(); m.Type != "joined" {
		t.Fatalf("got %+v", m)
	}
	env.post(t, "off", strings.Repeat("x", 500))
	if m := rc.readMessage(); m.Type != "batch" {
		t.Errorf("got %+v; want an uncompressed batch", m)
	}
}

// TestDeflateOffers checks offers the server declines or cannot parse:
// the connection opens without the extension.
func TestDeflateOffers(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{})
	for _, offer := range []string{
		"permessage-deflate; server_max_window_bits=10",
		"permessage-deflate; bogus",
		"permessage-deflate; client_max_window_bits=99",
		"x-webkit-deflate-frame",
	} {
		rc := env.rawConn(t)
		rc.write([]byte(withHeaders("/ws", "Sec-WebSocket-Extensions: "+offer+"\r\n")))
		resp, _ := rc.readResponse()
		if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Extensions") != "" {
			t.Errorf("offer %q: status %d extensions %q; want 101 without extensions", offer, resp.StatusCode, resp.Header.Get("Sec-WebSocket-Extensions"))
		}
	}
}
