package codec

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodeClientMessage(t *testing.T) {
	tests := []struct {
		in   string
		want ClientMessage
		err  error
	}{
		{`{"type":"join","room":"lobby"}`, ClientMessage{Type: TypeJoin, Room: "lobby"}, nil},
		{`{"type":"join","room":"live:42","since":"1700000000000-3"}`, ClientMessage{Type: TypeJoin, Room: "live:42", Since: "1700000000000-3"}, nil},
		{`{"type":"join","room":"a","since":"1700000000000"}`, ClientMessage{Type: TypeJoin, Room: "a", Since: "1700000000000"}, nil},
		{`{"type":"join","room":"a","since":"0-0"}`, ClientMessage{Type: TypeJoin, Room: "a", Since: "0-0"}, nil},
		{`{"type":"join","room":"a","since":"18446744073709551615-18446744073709551615"}`,
			ClientMessage{Type: TypeJoin, Room: "a", Since: "18446744073709551615-18446744073709551615"}, nil},
		{`{"type":"join","room":"a","since":""}`, ClientMessage{Type: TypeJoin, Room: "a"}, nil},
		{`{"type":"join","room":"a","since":null}`, ClientMessage{Type: TypeJoin, Room: "a"}, nil},
		{` { "room" : "Room_1.b-c" , "type" : "leave" } `, ClientMessage{Type: TypeLeave, Room: "Room_1.b-c"}, nil},
		{`{"type":"leave","room":"a","id":7,"extra":{"x":[1,"\u00e9"]},"token":"弹幕"}`, ClientMessage{Type: TypeLeave, Room: "a"}, nil},
		{`{"type":"join","room":"a","room":"b"}`, ClientMessage{Type: TypeJoin, Room: "b"}, nil},
		{`{"type":"join","room":"\u0061"}`, ClientMessage{Type: TypeJoin, Room: "a"}, nil},
		{"", ClientMessage{}, ErrInvalidMessage},
		{`{`, ClientMessage{}, ErrInvalidMessage},
		{`{"type":"join","room":"a"`, ClientMessage{}, ErrInvalidMessage},
		{`{"type":"join","room":"a"} {}`, ClientMessage{}, ErrInvalidMessage},
		{`[{"type":"join","room":"a"}]`, ClientMessage{}, ErrInvalidMessage},
		{`"join"`, ClientMessage{}, ErrInvalidMessage},
		{`{"type":1,"room":"a"}`, ClientMessage{}, ErrInvalidMessage},
		{`{"type":"join","room":["a"]}`, ClientMessage{}, ErrInvalidMessage},
		{`{"type":"join","room":"a","since":1700000000000}`, ClientMessage{}, ErrInvalidMessage},
		{"{\"type\":\"join\",\"room\":\"a\tb\"}", ClientMessage{}, ErrInvalidMessage},
		{"{\"type\":\"join\",\"room\":\"a\xffb\"}", ClientMessage{}, ErrInvalidUTF8},
		{"{\"type\":\"join\",\"room\":\"a\",\"name\":\"\xc3\"}", ClientMessage{}, ErrInvalidUTF8},
		{"{\"type\":\"join\",\"room\":\"a\",\"\xed\xa0\x80\":1}", ClientMessage{}, ErrInvalidUTF8},
		{`null`, ClientMessage{}, ErrUnknownType},
		{`{}`, ClientMessage{}, ErrUnknownType},
		{`{"room":"a"}`, ClientMessage{}, ErrUnknownType},
		{`{"type":"send","room":"a"}`, ClientMessage{}, ErrUnknownType},
		{`{"type":"JOIN!","room":"a"}`, ClientMessage{}, ErrUnknownType},
		{`{"type":"join"}`, ClientMessage{}, ErrInvalidRoom},
		{`{"type":"join","room":""}`, ClientMessage{}, ErrInvalidRoom},
		{`{"type":"leave","room":"a b"}`, ClientMessage{}, ErrInvalidRoom},
		{`{"type":"join","room":"房间"}`, ClientMessage{}, ErrInvalidRoom},
		{`{"type":"join","room":"a\ud800"}`, ClientMessage{}, ErrInvalidRoom},
		{`{"type":"join","room":"` + strings.Repeat("r", MaxRoomLen+1) + `"}`, ClientMessage{}, ErrInvalidRoom},
		{`{"type":"join","room":"a","since":"-"}`, ClientMessage{}, ErrInvalidSince},
		{`{"type":"join","room":"a","since":"1-"}`, ClientMessage{}, ErrInvalidSince},
		{`{"type":"join","room":"a","since":"-1"}`, ClientMessage{}, ErrInvalidSince},
		{`{"type":"join","room":"a","since":"1-2-3"}`, ClientMessage{}, ErrInvalidSince},
		{`{"type":"join","room":"a","since":"+1-2"}`, ClientMessage{}, ErrInvalidSince},
		{`{"type":"join","room":"a","since":"1-+2"}`, ClientMessage{}, ErrInvalidSince},
		{`{"type":"join","room":"a","since":"1_000-0"}`, ClientMessage{}, ErrInvalidSince},
		{`{"type":"join","room":"a","since":"0x10-0"}`, ClientMessage{}, ErrInvalidSince},
		{`{"type":"join","room":"a","since":"1 -2"}`, ClientMessage{}, ErrInvalidSince},
		{`{"type":"join","room":"a","since":"$"}`, ClientMessage{}, ErrInvalidSince},
		{`{"type":"join","room":"a","since":"18446744073709551616-0"}`, ClientMessage{}, ErrInvalidSince},
		{`{"type":"leave","room":"a","since":"x"}`, ClientMessage{}, ErrInvalidSince},
	}
	for _, tt := range tests {
		got, err := DecodeClientMessage([]byte(tt.in))
		if (tt.err == nil && got != tt.want) || !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
			t.Errorf("DecodeClientMessage(%q) = %+v, %v; want %+v, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestDecodeClientMessageErrorKeepsRoom(t *testing.T) {
	got, err := DecodeClientMessage([]byte(`{"type":"join","room":"r1","since":"x"}`))
	if !errors.Is(err, ErrInvalidSince) || got.Room != "r1" {
		t.Errorf("DecodeClientMessage(bad since) = %+v, %v; want room r1 and %v", got, err, ErrInvalidSince)
	}
}

func TestDecodeClientMessageInvalidUTF8IsInvalidMessage(t *testing.T) {
	_, err := DecodeClientMessage([]byte("{\"type\":\"join\",\"room\":\"\xff\"}"))
	if !errors.Is(err, ErrInvalidMessage) || !errors.Is(err, ErrInvalidUTF8) {
		t.Errorf("DecodeClientMessage(invalid UTF-8) = %v; want both %v and %v", err, ErrInvalidMessage, ErrInvalidUTF8)
	}
}

func TestDecodeClientMessageErrorIsShort(t *testing.T) {
	long := strings.Repeat("x", 10000)
	_, err := DecodeClientMessage([]byte(`{"type":"` + long + `","room":"a"}`))
	if !errors.Is(err, ErrUnknownType) || len(err.Error()) > 200 {
		t.Errorf("DecodeClientMessage(long type) = %d-byte error %v; want a short ErrUnknownType", len(err.Error()), err)
	}
}

func TestDecodeClientMessageCopies(t *testing.T) {
	p := []byte(`{"type":"join","room":"lobby","since":"12-34"}`)
	m, err := DecodeClientMessage(p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p {
		p[i] = 'z'
	}
	if want := (ClientMessage{Type: TypeJoin, Room: "lobby", Since: "12-34"}); m != want {
		t.Errorf("after overwriting the payload, message = %+v; want %+v", m, want)
	}
}

func TestAppendErrorJSON(t *testing.T) {
	tests := []struct {
		room, code, message, want string
	}{
		{"r1", "already_joined", "again", `{"type":"error","room":"r1","code":"already_joined","message":"again"}`},
		{"a\"b", "invalid_room", "x", `{"type":"error","room":"a\"b","code":"invalid_room","message":"x"}`},
		{"", "invalid_room", "codec: invalid room id", `{"type":"error","code":"invalid_room","message":"codec: invalid room id"}`},
		{"", "", "", `{"type":"error","code":"","message":""}`},
		{"", "q", `say "hi" \ bye`, `{"type":"error","code":"q","message":"say \"hi\" \\ bye"}`},
		{"", "c", "line\nnext\ttab\r\b\f\x00\x1f\x7f", `{"type":"error","code":"c","message":"line\nnext\ttab\r\b\f\u0000\u001f` + "\x7f" + `"}`},
		{"", "c", "<a href='x'>&</a>", `{"type":"error","code":"c","message":"<a href='x'>&</a>"}`},
		{"", "c", "弹幕 é \u2028\u2029", `{"type":"error","code":"c","message":"弹幕 é \u2028\u2029"}`},
		{"", "c", "bad \xff\xfe end \xe5\xbc", `{"type":"error","code":"c","message":"bad \ufffd\ufffd end \ufffd\ufffd"}`},
	}
	for _, tt := range tests {
		got := string(AppendErrorJSON([]byte("x"), tt.room, tt.code, tt.message))
		if got != "x"+tt.want {
			t.Errorf("AppendErrorJSON(%q, %q, %q) = %s; want x%s", tt.room, tt.code, tt.message, got, tt.want)
		}
	}
}

func TestAppendRoomJSON(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{string(AppendJoinedJSON(nil, "lobby")), `{"type":"joined","room":"lobby"}`},
		{string(AppendLeftJSON([]byte("x"), "live:42")), `x{"type":"left","room":"live:42"}`},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %s; want %s", tt.got, tt.want)
		}
		if !json.Valid([]byte(strings.TrimPrefix(tt.got, "x"))) {
			t.Errorf("%s is not valid JSON", tt.got)
		}
	}
}

func BenchmarkDecodeClientMessage(b *testing.B) {
	p := []byte(`{"type":"join","room":"live:42","since":"1700000000000-3"}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := DecodeClientMessage(p); err != nil {
			b.Fatal(err)
		}
	}
}

func TestShortPrefix(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"", 4, ""},
		{"room", 4, "room"},
		{"rooms", 4, "room"},
		{"ab弹幕", 4, "ab"}, // 弹 is 3 bytes: cutting inside it keeps none of it
		{"ab弹幕", 5, "ab弹"},
		{"弹", 2, ""},
	} {
		if got := ShortPrefix(tc.in, tc.max); got != tc.want {
			t.Errorf("ShortPrefix(%q, %d) = %q; want %q", tc.in, tc.max, got, tc.want)
		}
	}
}
