package edge

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/fanout"
)

// TestBiliProtocol enters a room in each encoding, heartbeats, and gets the
// room's comments as DANMU_MSG in post order, with a delete as
// RECALL_DANMU_MSG.
func TestBiliProtocol(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{})
	for _, protover := range []int{0, 1, 2, 3} {
		t.Run(fmt.Sprintf("protover %d", protover), func(t *testing.T) {
			roomid := uint64(4200 + protover)
			room := fmt.Sprint(roomid)
			rc := env.biliConnect(t, roomid, protover)
			rc.expectEnterReply(codec.BiliCodeOK)
			if n := rc.heartbeat(); n != 1 {
				t.Errorf("heartbeat reply = %d; want 1 viewer", n)
			}
			var ids []string
			for i := range 3 {
				ids = append(ids, env.post(t, room, fmt.Sprintf("c%d", i)).String())
			}
			var got []string
			for len(got) < len(ids) {
				for _, c := range rc.readCommands(protover) {
					if c.Cmd != "DANMU_MSG" {
						t.Fatalf("got %s; want DANMU_MSG", c.Cmd)
					}
					if want := ids[len(got)]; c.IDStr != want {
						t.Fatalf("DANMU_MSG id_str %q; want %q", c.IDStr, want)
					}
					got = append(got, c.text(t))
				}
			}
			if strings.Join(got, ",") != "c0,c1,c2" {
				t.Errorf("texts %v; want c0 c1 c2", got)
			}
			if _, err := env.log.Append(t.Context(), room, mustDelete(t, ids[1])); err != nil {
				t.Fatal(err)
			}
			cmds := rc.readCommands(protover)
			if len(cmds) != 1 || cmds[0].Cmd != "RECALL_DANMU_MSG" || cmds[0].Data.IDStr != ids[1] {
				t.Errorf("got %+v; want RECALL_DANMU_MSG of %s", cmds, ids[1])
			}
		})
	}
}

func mustDelete(t testing.TB, id string) []byte {
	t.Helper()
	rec, err := codec.EncodeDelete(id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestBiliSharedBytes checks that viewers of one room and encoding get the
// same bytes (each batch is encoded once per encoding), and that native
// and /sub viewers of the room get it at the same time.
func TestBiliSharedBytes(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{})
	const roomid = 77
	viewers := map[int][]*rawClient{}
	for _, protover := range []int{1, 2, 3} {
		for range 3 {
			rc := env.biliConnect(t, roomid, protover)
			rc.expectEnterReply(codec.BiliCodeOK)
			viewers[protover] = append(viewers[protover], rc)
		}
	}
	native := env.dial(t, "?room=77")
	expectReply(t, native, "joined", "77", "")
	if n := viewers[1][0].heartbeat(); n != 10 {
		t.Errorf("heartbeat reply = %d; want 10 viewers", n)
	}
	env.post(t, "77", "shared")
	if m := readMessage(t, native); m.Type != "batch" || len(m.Msgs) != 1 || m.Msgs[0].Text != "shared" {
		t.Fatalf("native viewer got %+v", m)
	}
	for protover, group := range viewers {
		var first []byte
		for i, rc := range group {
			h, payload := rc.readFrame()
			if h.OpCode != ws.OpBinary {
				t.Fatalf("protover %d viewer %d: opcode %v", protover, i, h.OpCode)
			}
			if i == 0 {
				first = payload
				continue
			}
			if !bytes.Equal(payload, first) {
				t.Errorf("protover %d: viewer %d got other bytes than viewer 0", protover, i)
			}
		}
		packets := splitBili(t, first, 0)
		if len(packets) != 1 || !bytes.Contains(packets[0].body, []byte(`"shared"`)) {
			t.Errorf("protover %d: got %d packets; want the one DANMU_MSG", protover, len(packets))
		}
	}
}

// TestBiliOnlineCount checks the online count sent every OnlineInterval,
// as ONLINE_RANK_COUNT and WATCHED_CHANGE in one message.
func TestBiliOnlineCount(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{fanout: fanout.Config{OnlineInterval: 50 * time.Millisecond}})
	rc := env.biliConnect(t, 5, 2)
	rc.expectEnterReply(codec.BiliCodeOK)
	cmds := rc.readCommands(2)
	if len(cmds) != 2 || cmds[0].Cmd != "ONLINE_RANK_COUNT" || cmds[0].Data.Count != 1 || cmds[1].Cmd != "WATCHED_CHANGE" || cmds[1].Data.Num != 1 {
		t.Errorf("got %+v; want ONLINE_RANK_COUNT and WATCHED_CHANGE of 1", cmds)
	}
}

// TestBiliMalformed checks that a /sub connection that breaks the protocol
// is closed with a close frame of the right code.
func TestBiliMalformed(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{edge: Config{MaxMessageBytes: 256}})
	enter := biliPacket(codec.BiliOpEnter, enterBody(9, 1))
	heartbeat := biliPacket(codec.BiliOpHeartbeat, "")
	lying := func(length uint32, headerSize uint16, op codec.BiliOp) []byte {
		p := biliPacket(op, "")
		binary.BigEndian.PutUint32(p, length)
		binary.BigEndian.PutUint16(p[4:], headerSize)
		return p
	}
	tests := []struct {
		name   string
		frames [][]byte
		reply  int // an enter reply with this code comes first, when not 0; readClose skips a code 0 one
		code   ws.StatusCode
	}{
		{"length 0", [][]byte{binaryFrame(lying(0, 16, codec.BiliOpEnter))}, 0, ws.StatusProtocolError},
		{"length under the header", [][]byte{binaryFrame(lying(12, 16, codec.BiliOpEnter))}, 0, ws.StatusProtocolError},
		{"header length 20", [][]byte{binaryFrame(lying(16, 20, codec.BiliOpHeartbeat))}, 0, ws.StatusProtocolError},
		{"length past the message", [][]byte{binaryFrame(lying(40, 16, codec.BiliOpHeartbeat))}, 0, ws.StatusProtocolError},
		{"oversize body", [][]byte{binaryFrame(lying(16+1000, 16, codec.BiliOpEnter))}, 0, ws.StatusMessageTooBig},
		{"packet cut in two messages", [][]byte{binaryFrame(enter[:20]), binaryFrame(enter[20:])}, 0, ws.StatusProtocolError},
		{"unknown operation", [][]byte{binaryFrame(biliPacket(99, ""))}, 0, ws.StatusProtocolError},
		{"server operation", [][]byte{binaryFrame(biliPacket(codec.BiliOpMessage, "{}"))}, 0, ws.StatusProtocolError},
		{"unknown operation after enter", [][]byte{binaryFrame(append(append([]byte{}, enter...), biliPacket(4, "")...))}, 0, ws.StatusProtocolError},
		{"text message", [][]byte{textFrame(string(enter))}, 0, ws.StatusUnsupportedData},
		{"heartbeat before enter", [][]byte{binaryFrame(heartbeat)}, 0, ws.StatusProtocolError},
		{"second enter", [][]byte{binaryFrame(enter), binaryFrame(enter)}, 0, ws.StatusProtocolError},
		{"roomid 0", [][]byte{binaryFrame(biliPacket(codec.BiliOpEnter, enterBody(0, 1)))}, codec.BiliCodeBadRequest, ws.StatusPolicyViolation},
		{"roomid not a number", [][]byte{binaryFrame(biliPacket(codec.BiliOpEnter, `{"roomid":"lobby"}`))}, codec.BiliCodeBadRequest, ws.StatusPolicyViolation},
		{"protover 4", [][]byte{binaryFrame(biliPacket(codec.BiliOpEnter, enterBody(9, 4)))}, codec.BiliCodeBadRequest, ws.StatusPolicyViolation},
		{"enter not JSON", [][]byte{binaryFrame(biliPacket(codec.BiliOpEnter, "\x78\x9c"))}, codec.BiliCodeBadRequest, ws.StatusPolicyViolation},
		{"message over MaxMessageBytes", [][]byte{binaryFrame(bytes.Repeat([]byte{0}, 300))}, 0, ws.StatusMessageTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := env.rawUpgrade(t, "/sub")
			for _, f := range tt.frames {
				rc.write(f)
			}
			if tt.reply != 0 {
				rc.expectEnterReply(tt.reply)
			}
			if code, reason := rc.readClose(); code != tt.code {
				t.Errorf("closed with %d %q; want %d", code, reason, tt.code)
			}
		})
	}
}

// TestBiliDeadlines checks the enter deadline and the idle timeout of /sub,
// and that /sub connections get no pings.
func TestBiliDeadlines(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{edge: Config{
		SweepInterval: 20 * time.Millisecond,
		PingInterval:  50 * time.Millisecond,
		Bili:          BiliConfig{EnterTimeout: 300 * time.Millisecond, IdleTimeout: 600 * time.Millisecond},
	}})
	silent := env.rawUpgrade(t, "/sub")
	start := time.Now()
	if code, reason := silent.readClose(); code != ws.StatusPolicyViolation {
		t.Errorf("no enter: closed with %d %q; want 1008", code, reason)
	}
	if took := time.Since(start); took < 250*time.Millisecond {
		t.Errorf("closed %v after the upgrade; want EnterTimeout (300ms)", took)
	}

	idle := env.biliConnect(t, 3, 1)
	idle.expectEnterReply(codec.BiliCodeOK)
	// Heartbeats keep it open past IdleTimeout.
	for range 4 {
		time.Sleep(200 * time.Millisecond)
		idle.heartbeat()
	}
	// Then silence closes it, with no ping before.
	if code, reason := idle.readClose(); code != ws.StatusGoingAway || reason != "idle timeout" {
		t.Errorf("silent: closed with %d %q; want 1001 idle timeout", code, reason)
	}
}

// TestBiliKey checks viewer tokens on /sub: the key of the enter packet.
func TestBiliKey(t *testing.T) {
	t.Parallel()
	verifier, mint := testTokens(t)
	valid := mint(time.Hour)
	env := startEnv(t, envConfig{edge: Config{Tokens: verifier}})
	for _, tt := range []struct {
		name string
		key  string
		code int
	}{
		{"valid key", valid, codec.BiliCodeOK},
		{"no key", "", codec.BiliCodeUnauthorized},
		{"bad key", valid + "x", codec.BiliCodeUnauthorized},
	} {
		rc := env.rawUpgrade(t, "/sub")
		body := `{"roomid":8,"protover":1,"key":"` + tt.key + `"}`
		rc.write(binaryFrame(biliPacket(codec.BiliOpEnter, body)))
		rc.expectEnterReply(tt.code)
		if tt.code == codec.BiliCodeOK {
			if n := rc.heartbeat(); n != 1 {
				t.Errorf("%s: heartbeat reply %d; want 1", tt.name, n)
			}
			continue
		}
		if code, _ := rc.readClose(); code != ws.StatusPolicyViolation {
			t.Errorf("%s: closed with %d; want 1008", tt.name, code)
		}
	}
}

// TestBiliDeclinesDeflate checks that /sub never negotiates
// permessage-deflate: its packets carry their own compression.
func TestBiliDeclinesDeflate(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{})
	rc := env.rawConn(t)
	rc.write([]byte(withHeaders("/sub", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n")))
	resp, _ := rc.readResponse()
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Extensions") != "" {
		t.Fatalf("status %d, extensions %q; want 101 and none", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Extensions"))
	}
}
