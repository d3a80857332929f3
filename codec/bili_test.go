package codec

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
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
		{`{"uid":7,"roomid":42,"protover":2,"platform":"web","type":2,"key":"tok"}`, BiliEnter{RoomID: 42, Protover: 2, Key: "tok"}, "42", nil},
		{`{"roomid":1}`, BiliEnter{RoomID: 1, Protover: 0, Key: ""}, "1", nil},
		{`{"roomid":1,"max_rate":20}`, BiliEnter{RoomID: 1, MaxRate: 20}, "1", nil},
		{`{"roomid":1,"max_rate":-3}`, BiliEnter{RoomID: 1}, "1", nil},
		{`{"roomid":"42","protover":3}`, BiliEnter{RoomID: 42, Protover: 3, Key: ""}, "42", nil},
		{`{"roomid":"0042"}`, BiliEnter{}, "", ErrBiliEnter},
		{`{"roomid":18446744073709551615,"protover":1}`, BiliEnter{RoomID: 1<<64 - 1, Protover: 1, Key: ""}, "18446744073709551615", nil},
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
	m := Message{Prio: 2, UID: "6088969", Name: `Ann "A" <3`, Text: "hello 弹幕 [doge] \\ \u2028", Color: "#FF8800", Mode: ModeTop, TS: 1795633890065}
	got := string(AppendBiliDanmuJSON(nil, "1795633890065-3", &m))
	want := `{"cmd":"DANMU_MSG","dm_v2":"","info":[[0,5,25,16746496,1795633890065,1795633890,0,"0bc8acd0",0,0,0,"",0,"{}","{}",` +
		`{"mode":0,"show_player_type":0,"extra":"{\"send_from_me\":false,\"mode\":0,\"color\":16746496,\"dm_type\":0,` +
		`\"font_size\":25,\"player_mode\":5,\"show_player_type\":0,\"content\":\"hello 弹幕 [doge] \\\\ \\u2028\",` +
		`\"user_hash\":\"197700816\",\"emoticon_unique\":\"\",\"bulge_display\":0,\"recommend_score\":0,` +
		`\"main_state_dm_color\":\"\",\"objective_state_dm_color\":\"\",\"direction\":0,\"pk_direction\":0,` +
		`\"quartet_direction\":0,\"anniversary_crowd\":0,\"yeah_space_type\":\"\",\"yeah_space_url\":\"\",` +
		`\"jump_to_url\":\"\",\"space_type\":\"\",\"space_url\":\"\",\"animation\":{},\"emots\":null,` +
		`\"is_audited\":false,\"id_str\":\"1795633890065-3\",\"icon\":null,\"show_reply\":true,\"reply_mid\":0,` +
		`\"reply_uname\":\"\",\"reply_uname_color\":\"\",\"reply_is_mystery\":false,\"reply_type_enum\":0,` +
		`\"hit_combo\":0,\"esports_jump_url\":\"\"}",` +
		`"user":{"uid":6088969,"base":{"name":"Ann \"A\" <3","face":"","name_color":0,"name_color_str":"","is_mystery":false,` +
		`"risk_ctrl_info":null,"origin_info":{"name":"Ann \"A\" <3","face":""},"official_info":{"role":0,"title":"","desc":"","type":-1}},` +
		`"medal":null,"wealth":null,"title":{"old_title_css_id":"","title_css_id":""},"guard":null,"uhead_frame":null,` +
		`"guard_leader":{"is_guard_leader":false}}},{"activity_identity":"","activity_source":0,"not_show":0},0],` +
		`"hello 弹幕 [doge] \\ \u2028",[6088969,"Ann \"A\" <3",1,0,0,10000,1,""],[],[0,0,9868950,">50000",0],["",""],0,0,null,` +
		`{"ts":1795633890,"ct":""},0,0,null,null,0,0,[0],null],"id_str":"1795633890065-3"}`
	if got != want {
		t.Errorf("AppendBiliDanmuJSON =\n%s\nwant\n%s", got, want)
	}
	d := decodeBiliDanmu(t, []byte(got))
	wantD := biliDanmu{Mode: 5, FontSize: 25, Color: 0xff8800, TS: m.TS, Rnd: 1795633890, Hash: "0bc8acd0",
		Text: m.Text, UID: 6088969, Name: m.Name, Admin: 1, ExtraContent: m.Text, ExtraColor: 0xff8800,
		ExtraPlayerMode: 5, ExtraUserHash: "197700816", ExtraIDStr: "1795633890065-3", ModeInfoUID: 6088969,
		ModeInfoName: m.Name, Seconds: 1795633890, IDStr: "1795633890065-3"}
	if d != wantD {
		t.Errorf("decoded DANMU_MSG = %+v; want %+v", d, wantD)
	}
}

// biliDanmu is what clients read from a DANMU_MSG, at the positions
// blivedm's DanmakuMessage.from_command and blive-message-listener's
// parser read.
type biliDanmu struct {
	Mode, FontSize, Color int
	TS, Rnd               int64
	Hash                  string
	Text                  string
	UID                   uint64
	Name                  string
	Admin                 int
	ExtraContent          string
	ExtraColor            int
	ExtraPlayerMode       int
	ExtraUserHash         string
	ExtraIDStr            string
	ModeInfoUID           uint64
	ModeInfoName          string
	Seconds               int64
	IDStr                 string
}

// decodeBiliDanmu decodes a DANMU_MSG as typed clients do, failing when a
// position they read is missing or of another type.
func decodeBiliDanmu(t testing.TB, body []byte) biliDanmu {
	t.Helper()
	var raw struct {
		Cmd     string            `json:"cmd"`
		IDStr   string            `json:"id_str"`
		RawInfo []json.RawMessage `json:"info"`
	}
	var modeInfo struct {
		Mode           *int   `json:"mode"`
		ShowPlayerType *int   `json:"show_player_type"`
		Extra          string `json:"extra"`
		User           struct {
			UID  uint64 `json:"uid"`
			Base struct {
				Name string `json:"name"`
				Face string `json:"face"`
			} `json:"base"`
		} `json:"user"`
	}
	var activity map[string]any
	fail := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("DANMU_MSG %s: %v in %s", what, err, body)
		}
	}
	fail("JSON", json.Unmarshal(body, &raw))
	if raw.Cmd != "DANMU_MSG" || len(raw.RawInfo) != 18 {
		t.Fatalf("DANMU_MSG cmd %q with %d info entries; want DANMU_MSG and 18: %s", raw.Cmd, len(raw.RawInfo), body)
	}
	var meta []json.RawMessage
	fail("info[0]", json.Unmarshal(raw.RawInfo[0], &meta))
	if len(meta) != 18 {
		t.Fatalf("info[0] has %d entries; want 18: %s", len(meta), raw.RawInfo[0])
	}
	var d biliDanmu
	var emoticon, voice string
	fail("info[0][1]", json.Unmarshal(meta[1], &d.Mode))
	fail("info[0][2]", json.Unmarshal(meta[2], &d.FontSize))
	fail("info[0][3]", json.Unmarshal(meta[3], &d.Color))
	fail("info[0][4]", json.Unmarshal(meta[4], &d.TS))
	fail("info[0][5]", json.Unmarshal(meta[5], &d.Rnd))
	fail("info[0][7]", json.Unmarshal(meta[7], &d.Hash))
	fail("info[0][13]", json.Unmarshal(meta[13], &emoticon))
	fail("info[0][14]", json.Unmarshal(meta[14], &voice))
	mi := &modeInfo
	fail("info[0][15]", json.Unmarshal(meta[15], mi))
	fail("info[0][16]", json.Unmarshal(meta[16], &activity))
	var extra struct {
		Content    string `json:"content"`
		Color      int    `json:"color"`
		Mode       *int   `json:"mode"`
		DMType     *int   `json:"dm_type"`
		PlayerMode int    `json:"player_mode"`
		UserHash   string `json:"user_hash"`
		IDStr      string `json:"id_str"`
		Emots      any    `json:"emots"`
	}
	fail("info[0][15].extra", json.Unmarshal([]byte(mi.Extra), &extra))
	if mi.Mode == nil || mi.ShowPlayerType == nil || extra.Mode == nil || extra.DMType == nil || extra.Emots != nil || emoticon != "{}" || voice != "{}" || len(activity) != 3 {
		t.Fatalf("info[0][15] %s, info[0][13] %q, info[0][14] %q, info[0][16] %v: want mode and show_player_type, extra with mode and dm_type and emots null, {} and {}, the activity", meta[15], emoticon, voice, activity)
	}
	d.ExtraContent, d.ExtraColor, d.ExtraPlayerMode, d.ExtraUserHash, d.ExtraIDStr = extra.Content, extra.Color, extra.PlayerMode, extra.UserHash, extra.IDStr
	d.ModeInfoUID, d.ModeInfoName = mi.User.UID, mi.User.Base.Name
	fail("info[1]", json.Unmarshal(raw.RawInfo[1], &d.Text))
	var user []json.RawMessage
	fail("info[2]", json.Unmarshal(raw.RawInfo[2], &user))
	if len(user) != 8 {
		t.Fatalf("info[2] = %s; want 8 entries", raw.RawInfo[2])
	}
	fail("info[2][0]", json.Unmarshal(user[0], &d.UID))
	fail("info[2][1]", json.Unmarshal(user[1], &d.Name))
	fail("info[2][2]", json.Unmarshal(user[2], &d.Admin))
	var level []json.RawMessage
	fail("info[4]", json.Unmarshal(raw.RawInfo[4], &level))
	var userLevel, levelColor, rank int
	var levelRank string
	if len(level) != 5 {
		t.Fatalf("info[4] = %s; want 5 entries", raw.RawInfo[4])
	}
	fail("info[4][0]", json.Unmarshal(level[0], &userLevel))
	fail("info[4][2]", json.Unmarshal(level[2], &levelColor))
	fail("info[4][3]", json.Unmarshal(level[3], &levelRank))
	fail("info[4][4]", json.Unmarshal(level[4], &rank))
	var medal []any
	var titles []string
	var guard int
	fail("info[3]", json.Unmarshal(raw.RawInfo[3], &medal))
	fail("info[5]", json.Unmarshal(raw.RawInfo[5], &titles))
	fail("info[7]", json.Unmarshal(raw.RawInfo[7], &guard))
	if len(medal) != 0 || len(titles) != 2 {
		t.Fatalf("info[3] = %s, info[5] = %s; want no medal and two titles", raw.RawInfo[3], raw.RawInfo[5])
	}
	var check struct {
		TS int64  `json:"ts"`
		CT string `json:"ct"`
	}
	fail("info[9]", json.Unmarshal(raw.RawInfo[9], &check))
	d.Seconds = check.TS
	var wealth []int
	fail("info[16]", json.Unmarshal(raw.RawInfo[16], &wealth))
	if len(wealth) != 1 {
		t.Fatalf("info[16] = %s; want [wealth level]", raw.RawInfo[16])
	}
	d.IDStr = raw.IDStr
	return d
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
	b := Batch{Room: "42", Items: items, Deletes: []string{"1700000000000-0"}, Dropped: 4, Gap: true}
	bodies := splitPackets(t, AppendBiliBatch(nil, &b))
	if len(bodies) != 4 {
		t.Fatalf("got %d packets; want 3 DANMU_MSG and 1 RECALL_DANMU_MSG", len(bodies))
	}
	for i, body := range bodies[:3] {
		m := items[i].Message
		if d := decodeBiliDanmu(t, body); d.IDStr != m.ID || d.ExtraIDStr != m.ID || d.Text != m.Text || d.TS != m.TS {
			t.Errorf("packet %d = %s; want the DANMU_MSG of %s", i, body, m.ID)
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

func TestAppendBiliWatched(t *testing.T) {
	for _, tt := range []struct {
		count int
		text  string
	}{{0, "0"}, {-5, "0"}, {173, "173"}, {1127, "1127"}, {9999, "9999"}, {10000, "1.0万"}, {17903, "1.7万"},
		{95785, "9.5万"}, {120457, "12.0万"}, {1286571, "128.6万"}, {23970210, "2397.0万"}} {
		bodies := splitPackets(t, AppendBiliWatched(nil, tt.count))
		want := fmt.Sprintf(`{"cmd":"WATCHED_CHANGE","data":{"num":%d,"text_small":"%s","text_large":"%s人看过"}}`, max(tt.count, 0), tt.text, tt.text)
		if len(bodies) != 1 || string(bodies[0]) != want {
			t.Errorf("AppendBiliWatched(%d) = %s; want %s", tt.count, bodies, want)
		}
	}
}

func TestBiliUserHash(t *testing.T) {
	// The first two are pairs of a uid and its hash in real messages.
	for _, tt := range []struct {
		uid  string
		want uint32
	}{{"6088969", 0x0bc8acd0}, {"33713222", 0x9203f15b}, {"", 0}, {"anonymous", crc32.ChecksumIEEE([]byte("anonymous"))}} {
		if got := biliUserHash(tt.uid); got != tt.want {
			t.Errorf("biliUserHash(%q) = %#x; want %#x", tt.uid, got, tt.want)
		}
		if got := string(appendHash8(nil, tt.want)); got != fmt.Sprintf("%08x", tt.want) {
			t.Errorf("appendHash8(%#x) = %q", tt.want, got)
		}
	}
	if n := testing.AllocsPerRun(100, func() { biliUserHash("u-12345") }); n != 0 {
		t.Errorf("biliUserHash allocates %.0f times; want 0", n)
	}
}

func TestBiliNames(t *testing.T) {
	for _, tt := range []struct {
		rgb  int64
		want string
		ok   bool
	}{{0xffffff, "#ffffff", true}, {0, "#000000", true}, {0xff8800, "#ff8800", true}, {0x0a0b0c, "#0a0b0c", true},
		{-1, "", false}, {0x1000000, "", false}} {
		if got, ok := BiliColorName(tt.rgb); got != tt.want || ok != tt.ok {
			t.Errorf("BiliColorName(%d) = %q, %v; want %q, %v", tt.rgb, got, ok, tt.want, tt.ok)
		}
		if tt.ok && int64(biliColor(tt.want)) != tt.rgb {
			t.Errorf("biliColor(%q) = %d; want %d", tt.want, biliColor(tt.want), tt.rgb)
		}
	}
	for _, tt := range []struct {
		mode int
		want string
		ok   bool
	}{{1, ModeScroll, true}, {4, ModeBottom, true}, {5, ModeTop, true}, {0, "", false}, {2, "", false}, {6, "", false}} {
		if got, ok := BiliModeName(tt.mode); got != tt.want || ok != tt.ok {
			t.Errorf("BiliModeName(%d) = %q, %v; want %q, %v", tt.mode, got, ok, tt.want, tt.ok)
		}
		if tt.ok && biliMode(tt.want) != tt.mode {
			t.Errorf("biliMode(%q) = %d; want %d", tt.want, biliMode(tt.want), tt.mode)
		}
	}
}

func TestAppendBiliModeInfo(t *testing.T) {
	m := Message{UID: "42", Name: "Ann", Text: "hi [doge]", Color: "#00ff00", Mode: ModeBottom, TS: 1795633890065}
	var mi struct {
		Extra string `json:"extra"`
		User  struct {
			UID uint64 `json:"uid"`
		} `json:"user"`
	}
	info := AppendBiliModeInfo(nil, "1-0", &m, true)
	if err := json.Unmarshal(info, &mi); err != nil || mi.User.UID != 42 {
		t.Fatalf("AppendBiliModeInfo = %s, %v", info, err)
	}
	var extra struct {
		SendFromMe bool   `json:"send_from_me"`
		Content    string `json:"content"`
		PlayerMode int    `json:"player_mode"`
		Color      int    `json:"color"`
	}
	if err := json.Unmarshal([]byte(mi.Extra), &extra); err != nil || !extra.SendFromMe || extra.Content != m.Text || extra.PlayerMode != BiliModeBottom || extra.Color != 0x00ff00 {
		t.Errorf("extra = %s, %v", mi.Extra, err)
	}
	// The same object as in the DANMU_MSG, but for send_from_me.
	danmu := AppendBiliDanmuJSON(nil, "1-0", &m)
	if !bytes.Contains(danmu, bytes.Replace(info, []byte(`send_from_me\":true`), []byte(`send_from_me\":false`), 1)) {
		t.Errorf("DANMU_MSG %s does not hold mode_info %s", danmu, info)
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
