package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func FuzzDecodeClientMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"join","room":"lobby"}`,
		`{"type":"join","room":"live:42","since":"1700000000000-3"}`,
		`{"type":"leave","room":"live:42"}`,
		`{"type":"join","room":"a","since":"1700000000000","extra":[1,{"b":null}]}`,
		`{"type":"join","room":"a\u0062","since":"1-"}`,
		`{"type":"send","room":"a"}`,
		"{\"type\":\"join\",\"room\":\"\xff\"}",
		`null`,
		`{"type":"join","room":"a"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeClientMessage(p)
		if err != nil {
			if errors.Is(err, ErrInvalidMessage) && m != (ClientMessage{}) {
				t.Fatalf("DecodeClientMessage(%q) = %+v with error %v", p, m, err)
			}
			for _, sentinel := range []error{ErrInvalidMessage, ErrUnknownType, ErrInvalidRoom, ErrInvalidSince} {
				if errors.Is(err, sentinel) {
					return
				}
			}
			t.Fatalf("DecodeClientMessage(%q) = %v; want one of the client message errors", p, err)
		}
		if m.Type != TypeJoin && m.Type != TypeLeave || !ValidRoom(m.Room) || m.Since != "" && m.SinceID() == nil {
			t.Fatalf("DecodeClientMessage(%q) accepted %+v", p, m)
		}
		// What decodes is accepted the same by encoding/json, and encodes
		// back to a message that decodes the same.
		var std ClientMessage
		if err := json.Unmarshal(p, &std); err != nil || std != m {
			t.Fatalf("DecodeClientMessage(%q) = %+v; encoding/json: %+v, %v", p, m, std, err)
		}
		again, err := JSON.Marshal(&m)
		if err != nil {
			t.Fatal(err)
		}
		if m2, err := DecodeClientMessage(again); m2 != m || err != nil {
			t.Fatalf("DecodeClientMessage(%s) = %+v, %v; want %+v", again, m2, err, m)
		}
	})
}

func FuzzAppendErrorJSON(f *testing.F) {
	f.Add("", "invalid_room", "codec: invalid room id: \"a b\"")
	f.Add("r", "c", "line\nnext\t\x00 \"quoted\" \\ <&>")
	f.Add("弹\xff", "c", "弹幕 \u2028 \xff\xe5\xbc")
	f.Fuzz(func(t *testing.T, room, code, message string) {
		got := AppendErrorJSON([]byte("x"), room, code, message)
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(struct {
			Type    string `json:"type"`
			Room    string `json:"room,omitempty"`
			Code    string `json:"code"`
			Message string `json:"message"`
		}{"error", room, code, message}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[1:], bytes.TrimSuffix(want.Bytes(), []byte("\n"))) || got[0] != 'x' {
			t.Fatalf("AppendErrorJSON(%q, %q, %q) = %s; encoding/json: %s", room, code, message, got, want.Bytes())
		}
	})
}
