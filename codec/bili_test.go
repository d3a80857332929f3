package codec

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/gobwas/ws"
	"github.com/klauspost/compress/zlib"
)

// biliPacket returns a packet with a header as given, lengths included, so
// that it may lie.
func biliPacket(length uint32, headerSize uint16, v BiliVersion, op BiliOp, seq uint32, body string) []byte {
	b := binary.BigEndian.AppendUint32(nil, length)
	b = binary.BigEndian.AppendUint16(b, headerSize)
	b = binary.BigEndian.AppendUint16(b, uint16(v))
	b = binary.BigEndian.AppendUint32(b, uint32(op))
	b = binary.BigEndian.AppendUint32(b, seq)
	return append(b, body...)
}

// clientPacket is a well-formed version-1 client packet.
func clientPacket(op BiliOp, body string) []byte {
	return biliPacket(uint32(BiliHeaderSize+len(body)), BiliHeaderSize, BiliVersionControl, op, 1, body)
}

func TestParseBiliPacket(t *testing.T) {
	enter := clientPacket(BiliOpEnter, `{"roomid":42}`)
	tests := []struct {
		name     string
		in       []byte
		wantN    int
		wantOp   BiliOp
		wantBody string
		wantErr  error
	}{
		{"enter", enter, len(enter), BiliOpEnter, `{"roomid":42}`, nil},
		{"heartbeat, empty body", clientPacket(BiliOpHeartbeat, ""), 16, BiliOpHeartbeat, "", nil},
		{"two packets: the first", append(clientPacket(BiliOpHeartbeat, "x"), enter...), 17, BiliOpHeartbeat, "x", nil},
		{"empty", nil, 0, 0, "", nil},
		{"length only", enter[:4], 0, 0, "", nil},
		{"header only", enter[:16], 0, 0, "", nil},
		{"body cut", enter[:len(enter)-1], 0, 0, "", nil},
		{"length 0", biliPacket(0, 16, 1, 2, 1, ""), 0, 0, "", ErrBiliLength},
		{"length 15", biliPacket(15, 16, 1, 2, 1, ""), 0, 0, "", ErrBiliLength},
		{"length under header, seen from 4 bytes", biliPacket(3, 16, 1, 2, 1, "")[:4], 0, 0, "", ErrBiliLength},
		{"too big, seen from 4 bytes", biliPacket(16+101, 16, 1, 7, 1, "")[:4], 0, 0, "", ErrBiliTooBig},
		{"largest length", biliPacket(0xffffffff, 16, 1, 7, 1, ""), 0, 0, "", ErrBiliTooBig},
		{"header size 12", biliPacket(16, 12, 1, 2, 1, ""), 0, 0, "", ErrBiliHeaderSize},
		{"header size 0", biliPacket(16, 0, 1, 2, 1, ""), 0, 0, "", ErrBiliHeaderSize},
		{"body at the limit", clientPacket(BiliOpHeartbeat, strings.Repeat("a", 100)), 116, BiliOpHeartbeat, strings.Repeat("a", 100), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, body, n, err := ParseBiliPacket(tt.in, 100)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseBiliPacket(%x) error = %v; want %v", tt.in, err, tt.wantErr)
			}
			if err != nil {
				var fe *FrameError
				if !errors.As(err, &fe) {
					t.Errorf("error %v is not a *FrameError", err)
				}
			}
			if n != tt.wantN || h.Op != tt.wantOp || string(body) != tt.wantBody {
				t.Errorf("ParseBiliPacket(%x) = op %d body %q n %d; want op %d body %q n %d", tt.in, h.Op, body, n, tt.wantOp, tt.wantBody, tt.wantN)
			}
			if n > 0 && (h.Length != uint32(n) || h.Version != BiliVersionControl || h.Seq != 1) {
				t.Errorf("header %+v; want length %d, version 1, seq 1", h, n)
			}
		})
	}
}

func TestParseBiliPacketCodes(t *testing.T) {
	for _, tt := range []struct {
		err  error
		code ws.StatusCode
	}{
		{ErrBiliLength, ws.StatusProtocolError},
		{ErrBiliHeaderSize, ws.StatusProtocolError},
		{ErrBiliTruncated, ws.StatusProtocolError},
		{ErrBiliOp, ws.StatusProtocolError},
		{ErrBiliTooBig, ws.StatusMessageTooBig},
	} {
		var fe *FrameError
		if !errors.As(tt.err, &fe) || fe.Code != tt.code {
			t.Errorf("%v: close code %v; want %d", tt.err, fe, tt.code)
		}
	}
}

func TestAppendBiliPacketRoundTrip(t *testing.T) {
	p := AppendBiliPacket([]byte("x"), BiliVersionJSON, BiliOpMessage, 9, []byte(`{"cmd":"X"}`))
	h, body, n, err := ParseBiliPacket(p[1:], 1<<20)
	if err != nil || n != len(p)-1 || string(body) != `{"cmd":"X"}` {
		t.Fatalf("ParseBiliPacket = %q, %d, %v", body, n, err)
	}
	if want := (BiliHeader{Length: 27, Version: BiliVersionJSON, Op: BiliOpMessage, Seq: 9}); h != want {
		t.Errorf("header %+v; want %+v", h, want)
	}
}

func TestAppendBiliReplies(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"enter ok", AppendBiliEnterReply(nil, BiliCodeOK, 1), biliPacket(26, 16, 1, 8, 1, `{"code":0}`)},
		{"enter refused", AppendBiliEnterReply(nil, BiliCodeUnauthorized, 3), biliPacket(29, 16, 1, 8, 3, `{"code":-101}`)},
		{"heartbeat", AppendBiliHeartbeatReply(nil, 258, 1), biliPacket(20, 16, 1, 3, 1, "\x00\x00\x01\x02")},
		{"heartbeat negative", AppendBiliHeartbeatReply(nil, -5, 1), biliPacket(20, 16, 1, 3, 1, "\x00\x00\x00\x00")},
		{"heartbeat clamped", AppendBiliHeartbeatReply(nil, 1<<40, 1), biliPacket(20, 16, 1, 3, 1, "\xff\xff\xff\xff")},
	}
	for _, tt := range tests {
		if !bytes.Equal(tt.got, tt.want) {
			t.Errorf("%s: got %x; want %x", tt.name, tt.got, tt.want)
		}
	}
}

func TestDecodeBiliEnter(t *testing.T) {
	tests := []struct {
		in       string
		want     BiliEnter
		wantRoom string
		wantErr  error
	}{
		{`{"uid":7,"roomid":42,"protover":2,"platform":"web","type":2,"key":"tok"}`, BiliEnter{42, 2, "tok"}, "42", nil},
		{`{"roomid":1}`, BiliEnter{1, 0, ""}, "1", nil},
		{`{"roomid":"42","protover":3}`, BiliEnter{42, 3, ""}, "42", nil},
		{`{"roomid":"0042"}`, BiliEnter{}, "", ErrBiliEnter},
		{`{"roomid":18446744073709551615,"protover":1}`, BiliEnter{1<<64 - 1, 1, ""}, "18446744073709551615", nil},
		{`{"roomid":0}`, BiliEnter{}, "", ErrBiliRoom},
		{`{"roomid":-1}`, BiliEnter{}, "", ErrBiliRoom},
		{`{"roomid":4.2e1}`, BiliEnter{}, "", ErrBiliRoom},
		{`{"roomid":18446744073709551616}`, BiliEnter{}, "", ErrBiliRoom},
		{`{"roomid":"lobby"}`, BiliEnter{}, "", ErrBiliEnter},
		{`{"protover":2}`, BiliEnter{}, "", ErrBiliRoom},
		{`{"roomid":null}`, BiliEnter{}, "", ErrBiliRoom},
		{`{"roomid":42,"protover":4}`, BiliEnter{}, "", ErrBiliProtover},
		{`{"roomid":42,"protover":-1}`, BiliEnter{}, "", ErrBiliProtover},
		{`{"roomid":42,"protover":"2"}`, BiliEnter{}, "", ErrBiliEnter},
		{`{"roomid":42,"key":5}`, BiliEnter{}, "", ErrBiliEnter},
		{`[42]`, BiliEnter{}, "", ErrBiliEnter},
		{``, BiliEnter{}, "", ErrBiliEnter},
		{"{\"roomid\":42,\"key\":\"\xff\"}", BiliEnter{}, "", ErrBiliEnter},
	}
	for _, tt := range tests {
		got, err := DecodeBiliEnter([]byte(tt.in))
		if !errors.Is(err, tt.wantErr) || got != tt.want {
			t.Errorf("DecodeBiliEnter(%q) = %+v, %v; want %+v, %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil && got.Room() != tt.wantRoom {
			t.Errorf("DecodeBiliEnter(%q).Room() = %q; want %q", tt.in, got.Room(), tt.wantRoom)
		}
		if err == nil && !ValidRoom(got.Room()) {
			t.Errorf("DecodeBiliEnter(%q).Room() = %q is not a valid room", tt.in, got.Room())
		}
	}
}

// danmuMsg is DANMU_MSG as clients read it.
type danmuMsg struct {
	Cmd   string            `json:"cmd"`
	Info  []json.RawMessage `json:"info"`
	IDStr string            `json:"id_str"`
}

// splitPackets splits a run of version-0 packets and decodes their bodies.
func splitPackets(t *testing.T, run []byte) []json.RawMessage {
	t.Helper()
	var bodies []json.RawMessage
	for len(run) > 0 {
		h, body, n, err := ParseBiliPacket(run, 1<<20)
		if err != nil || n == 0 {
			t.Fatalf("ParseBiliPacket(%x) = %d, %v", run, n, err)
		}
		if h.Version != BiliVersionJSON || h.Op != BiliOpMessage || len(body) == 0 {
			t.Fatalf("packet %+v body %q; want a version-0 operation-5 packet with a body", h, body)
		}
		if !json.Valid(body) {
			t.Fatalf("packet body %q is not JSON", body)
		}
		bodies = append(bodies, json.RawMessage(body))
		run = run[n:]
	}
	return bodies
}

func TestAppendBiliDanmuJSON(t *testing.T) {
	m := Message{Prio: 2, UID: "12345", Name: `Ann "A" <3`, Text: "hello 弹幕 \\ \u2028", Color: "#FF8800", Mode: ModeTop, TS: 1795633890065}
	got := string(AppendBiliDanmuJSON(nil, "1795633890065-3", &m))
	want := `{"cmd":"DANMU_MSG","info":[[0,5,25,16746496,1795633890065,0,0,"",0,0,0],"hello 弹幕 \\ \u2028",` +
		`[12345,"Ann \"A\" <3",1,0,0,10000,1,""],[],[],[],0,0,null,{"ts":1795633890,"ct":""}],"id_str":"1795633890065-3"}`
	if got != want {
		t.Errorf("AppendBiliDanmuJSON =\n%s\nwant\n%s", got, want)
	}
	var d danmuMsg
	if err := json.Unmarshal([]byte(got), &d); err != nil {
		t.Fatal(err)
	}
	var text string
	if err := json.Unmarshal(d.Info[1], &text); err != nil || text != m.Text {
		t.Errorf("info[1] = %q, %v; want %q", text, err, m.Text)
	}
}

func TestBiliFields(t *testing.T) {
	for _, tt := range []struct {
		mode string
		want int
	}{{ModeScroll, 1}, {ModeBottom, 4}, {ModeTop, 5}, {"", 1}, {"sideways", 1}} {
		if got := biliMode(tt.mode); got != tt.want {
			t.Errorf("biliMode(%q) = %d; want %d", tt.mode, got, tt.want)
		}
	}
	for _, tt := range []struct {
		color string
		want  int
	}{{"#ffffff", 0xffffff}, {"#000000", 0}, {"#0a0B0c", 0x0a0b0c}, {"", 0xffffff}, {"#fff", 0xffffff}, {"red", 0xffffff}} {
		if got := biliColor(tt.color); got != tt.want {
			t.Errorf("biliColor(%q) = %d; want %d", tt.color, got, tt.want)
		}
	}
	for _, tt := range []struct {
		uid  string
		want uint64
	}{{"42", 42}, {"0", 0}, {"9007199254740991", 1<<53 - 1}, {"9007199254740992", 0}, {"anonymous", 0}, {"u-42", 0}, {"+1", 0}, {"", 0}, {"12a", 0}} {
		if got := biliUID(tt.uid); got != tt.want {
			t.Errorf("biliUID(%q) = %d; want %d", tt.uid, got, tt.want)
		}
	}
}

func TestAppendBiliBatch(t *testing.T) {
	items := sampleItems(3)
	items = append(items, Item{ID: "1700000000099-0", Stored: []byte(`{"text":5}`)})
	b := Batch{Room: "42", Items: items, Deletes: []string{"1700000000000-0"}, Dropped: 4, Gap: true}
	bodies := splitPackets(t, AppendBiliBatch(nil, &b))
	if len(bodies) != 4 {
		t.Fatalf("got %d packets; want 3 DANMU_MSG (the undecodable item left out) and 1 RECALL_DANMU_MSG", len(bodies))
	}
	for i, body := range bodies[:3] {
		var d danmuMsg
		if err := json.Unmarshal(body, &d); err != nil || d.Cmd != "DANMU_MSG" || d.IDStr != items[i].ID || len(d.Info) != 10 {
			t.Errorf("packet %d = %s; want the DANMU_MSG of %s", i, body, items[i].ID)
		}
	}
	if want := `{"cmd":"RECALL_DANMU_MSG","data":{"recall_type":0,"target_id":0,"id_str":"1700000000000-0"}}`; string(bodies[3]) != want {
		t.Errorf("recall = %s; want %s", bodies[3], want)
	}
	for _, empty := range []Batch{{Room: "42"}, {Room: "42", Gap: true, Dropped: 3}} {
		if got := AppendBiliBatch([]byte("x"), &empty); string(got) != "x" {
			t.Errorf("AppendBiliBatch(%+v) appended %q; want nothing", empty, got[1:])
		}
	}
}

func TestAppendBiliOnline(t *testing.T) {
	for _, tt := range []struct {
		count int
		want  string
	}{
		{12, `{"cmd":"ONLINE_RANK_COUNT","data":{"count":12,"count_text":"12","online_count":12,"online_count_text":"12"}}`},
		{-1, `{"cmd":"ONLINE_RANK_COUNT","data":{"count":0,"count_text":"0","online_count":0,"online_count_text":"0"}}`},
	} {
		bodies := splitPackets(t, AppendBiliOnline(nil, tt.count))
		if len(bodies) != 1 || string(bodies[0]) != tt.want {
			t.Errorf("AppendBiliOnline(%d) = %s; want %s", tt.count, bodies, tt.want)
		}
	}
}

// decompressBili undoes a compressed packet of version v.
func decompressBili(t *testing.T, v BiliVersion, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch v {
	case BiliVersionZlib:
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case BiliVersionBrotli:
		r = brotli.NewReader(bytes.NewReader(body))
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decompress version %d: %v", v, err)
	}
	return out
}

func TestBiliCompressor(t *testing.T) {
	b := Batch{Room: "42", Items: sampleItems(20)}
	packets := AppendBiliBatch(nil, &b)
	for _, tt := range []struct {
		v     BiliVersion
		level int
	}{{BiliVersionZlib, 1}, {BiliVersionZlib, 6}, {BiliVersionBrotli, 0}, {BiliVersionBrotli, 4}, {BiliVersionBrotli, 11}} {
		c, err := NewBiliCompressor(tt.v, tt.level)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // a reused compressor starts afresh
			out := c.AppendPacket([]byte("x"), packets)
			h, body, n, err := ParseBiliPacket(out[1:], 1<<20)
			if err != nil || n != len(out)-1 || h.Version != tt.v || h.Op != BiliOpMessage {
				t.Fatalf("version %d level %d: packet %+v, %d, %v", tt.v, tt.level, h, n, err)
			}
			if len(body) >= len(packets) {
				t.Errorf("version %d level %d: %d bytes compressed to %d", tt.v, tt.level, len(packets), len(body))
			}
			if got := decompressBili(t, tt.v, body); !bytes.Equal(got, packets) {
				t.Fatalf("version %d level %d: round trip lost the packets", tt.v, tt.level)
			}
		}
		if got := c.AppendPacket([]byte("x"), nil); string(got) != "x" {
			t.Errorf("AppendPacket of nothing appended %q", got[1:])
		}
	}
	for _, tt := range []struct {
		v     BiliVersion
		level int
	}{{BiliVersionJSON, 1}, {BiliVersionControl, 1}, {BiliVersionZlib, 12}, {BiliVersionBrotli, 12}, {BiliVersionBrotli, -1}} {
		if _, err := NewBiliCompressor(tt.v, tt.level); err == nil {
			t.Errorf("NewBiliCompressor(%d, %d) succeeded; want an error", tt.v, tt.level)
		}
	}
}

func BenchmarkAppendBiliBatch(b *testing.B) {
	batch := Batch{Room: "42", Items: sampleItems(50)}
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendBiliBatch(buf[:0], &batch)
	}
	b.SetBytes(int64(len(buf)))
}
