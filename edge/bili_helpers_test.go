package edge

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"strconv"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/gobwas/ws"
	"github.com/klauspost/compress/zlib"

	"github.com/danmu-dev/danmu/codec"
)

// biliPacket returns a client packet: version 1, sequence 1.
func biliPacket(op codec.BiliOp, body string) []byte {
	return codec.AppendBiliPacket(nil, codec.BiliVersionControl, op, 1, []byte(body))
}

// enterBody is the body of an enter packet for roomid and protover.
func enterBody(roomid uint64, protover int) string {
	return `{"uid":0,"roomid":` + strconv.FormatUint(roomid, 10) + `,"protover":` + strconv.Itoa(protover) + `,"platform":"web","type":2}`
}

// binaryFrame returns a final masked binary frame.
func binaryFrame(payload []byte) []byte { return clientFrame(true, ws.OpBinary, payload) }

// biliReceived is one packet the server sent, compressed ones unwrapped.
type biliReceived struct {
	h    codec.BiliHeader
	body []byte
	// wrapped is the version of the packet this one came in, or the
	// packet's own for packets sent as they are.
	wrapped codec.BiliVersion
}

// readBili reads one server message of a /sub connection and returns its
// packets, unwrapping compressed ones. Each message must be binary and
// hold whole packets, none empty.
func (rc *rawClient) readBili() []biliReceived {
	rc.t.Helper()
	h, payload := rc.readFrame()
	if h.OpCode != ws.OpBinary {
		rc.t.Fatalf("got a frame of opcode %v (%q); want binary", h.OpCode, payload)
	}
	return splitBili(rc.t, payload, 0)
}

func splitBili(t testing.TB, payload []byte, wrapped codec.BiliVersion) []biliReceived {
	t.Helper()
	if len(payload) == 0 {
		t.Fatal("an empty message: the protocol has no empty packet")
	}
	var out []biliReceived
	for len(payload) > 0 {
		h, body, n, err := codec.ParseBiliPacket(payload, 1<<24)
		if err != nil || n == 0 {
			t.Fatalf("packets %x: %d, %v; want whole packets", payload, n, err)
		}
		payload = payload[n:]
		switch h.Version {
		case codec.BiliVersionZlib, codec.BiliVersionBrotli:
			if wrapped != 0 {
				t.Fatalf("a compressed packet inside a compressed packet")
			}
			out = append(out, splitBili(t, decompress(t, h.Version, body), h.Version)...)
		default:
			v := wrapped
			if v == 0 {
				v = h.Version
			}
			out = append(out, biliReceived{h: h, body: body, wrapped: v})
		}
	}
	return out
}

func decompress(t testing.TB, v codec.BiliVersion, body []byte) []byte {
	t.Helper()
	var r io.Reader
	if v == codec.BiliVersionZlib {
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("zlib: %v", err)
		}
		r = zr
	} else {
		r = brotli.NewReader(bytes.NewReader(body))
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decompress version %d: %v", v, err)
	}
	return out
}

// biliEnter upgrades to /sub and sends an enter packet; the test reads the
// reply.
func (e *testEnv) biliConnect(t testing.TB, roomid uint64, protover int) *rawClient {
	t.Helper()
	rc := e.rawUpgrade(t, "/sub")
	rc.write(binaryFrame(biliPacket(codec.BiliOpEnter, enterBody(roomid, protover))))
	return rc
}

// expectEnterReply reads the enter reply and checks its code.
func (rc *rawClient) expectEnterReply(code int) {
	rc.t.Helper()
	packets := rc.readBili()
	if len(packets) != 1 {
		rc.t.Fatalf("got %d packets; want the enter reply", len(packets))
	}
	p := packets[0]
	want := `{"code":` + strconv.Itoa(code) + `}`
	if p.h.Op != codec.BiliOpEnterReply || p.h.Version != codec.BiliVersionControl || string(p.body) != want {
		rc.t.Fatalf("got packet %+v %q; want a version-1 enter reply %s", p.h, p.body, want)
	}
}

// heartbeat sends a heartbeat and returns the online count of the reply.
func (rc *rawClient) heartbeat() int {
	rc.t.Helper()
	rc.write(binaryFrame(biliPacket(codec.BiliOpHeartbeat, "[object Object]")))
	packets := rc.readBili()
	if len(packets) != 1 {
		rc.t.Fatalf("got %d packets; want the heartbeat reply", len(packets))
	}
	p := packets[0]
	if p.h.Op != codec.BiliOpHeartbeatReply || p.h.Version != codec.BiliVersionControl || len(p.body) != 4 {
		rc.t.Fatalf("got packet %+v %x; want a version-1 heartbeat reply of 4 bytes", p.h, p.body)
	}
	return int(binary.BigEndian.Uint32(p.body))
}

// biliCommand is an operation-5 command as clients decode it.
type biliCommand struct {
	Cmd   string            `json:"cmd"`
	Info  []json.RawMessage `json:"info"`
	IDStr string            `json:"id_str"`
	Data  struct {
		Count int    `json:"count"`
		Num   int    `json:"num"`
		IDStr string `json:"id_str"`
	} `json:"data"`
}

// text returns a DANMU_MSG's text.
func (c *biliCommand) text(t testing.TB) string {
	t.Helper()
	var s string
	if len(c.Info) < 2 || json.Unmarshal(c.Info[1], &s) != nil {
		t.Fatalf("DANMU_MSG info %s has no text", c.Info)
	}
	return s
}

// readCommands reads one message of operation-5 commands, each of which
// must have come in the encoding of protover.
func (rc *rawClient) readCommands(protover int) []biliCommand {
	rc.t.Helper()
	want := codec.BiliVersion(protover)
	if protover <= 1 {
		want = codec.BiliVersionJSON
	}
	var out []biliCommand
	for _, p := range rc.readBili() {
		if p.h.Op != codec.BiliOpMessage || p.h.Version != codec.BiliVersionJSON || p.wrapped != want {
			rc.t.Fatalf("got packet %+v in version %d; want operation 5, version 0, in version %d", p.h, p.wrapped, want)
		}
		var c biliCommand
		if err := json.Unmarshal(p.body, &c); err != nil {
			rc.t.Fatalf("command %q: %v", p.body, err)
		}
		out = append(out, c)
	}
	return out
}
