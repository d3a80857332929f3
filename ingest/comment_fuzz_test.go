package ingest

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/danmu-dev/danmu/codec"
)

// FuzzDecodeComment checks that decodeComment never panics, that whatever
// it accepts is valid, re-encodes to valid UTF-8 and decodes back to the
// same values, and that the message as readers are sent it is itself an
// acceptable body.
func FuzzDecodeComment(f *testing.F) {
	for _, seed := range []string{
		`{"text":"hello"}`,
		`{"text":"弾幕 ok","color":"#A1b2C3","mode":"top","name":"小明","uid":"u-42"}`,
		`{"uid":"u","name":"n","text":"t","color":"#ffffff","mode":"scroll","ts":5}`,
		`{"text":"\u00e9\ud83d\ude00 \"q\" \\ /","extra":[1,{"a":null}]}`,
		`{"text":"\ud800\udc00\ud800"}`,
		`{"text":"a\nb"}`,
		`{"text":"` + strings.Repeat("é", 101) + `"}`,
		`{"text":"x","color":"#fff","mode":"left"}`,
		`{"text":"x","name":"\t","uid":"a b"}`,
		"{\"text\":\"h\xffi\"}",
		`{"text":1}`,
		`[]`,
		`null`,
		``,
		`{"text":"a"} {}`,
		`{"TEXT":"case","Color":"#000000"}`,
	} {
		f.Add([]byte(seed))
	}
	cfg, errs := defaultConfig()
	large := *cfg
	large.MaxBodyBytes = 1 << 20
	f.Fuzz(func(t *testing.T, body []byte) {
		msg, apiErr := decodeComment(body, cfg, errs)
		if apiErr != nil {
			if apiErr.status < 400 || apiErr.code == "" || msg != (codec.Message{}) {
				t.Fatalf("decodeComment(%q) = %+v, %+v", body, msg, apiErr)
			}
			return
		}
		if err := codec.CheckText(msg.Text, cfg.MaxTextRunes); err != nil {
			t.Fatalf("decodeComment(%q) accepted text %q: %v", body, msg.Text, err)
		}
		if err := codec.CheckText(msg.Name, cfg.MaxNameRunes); err != nil {
			t.Fatalf("decodeComment(%q) accepted name %q: %v", body, msg.Name, err)
		}
		if codec.CheckColor(msg.Color) != nil || codec.CheckMode(msg.Mode) != nil || !codec.ValidRoom(msg.UID) || msg.ID != "" || msg.TS != 0 {
			t.Fatalf("decodeComment(%q) accepted %+v", body, msg)
		}
		msg.TS = 1700000000000
		stored, err := codec.EncodeStored(msg)
		if err != nil {
			t.Fatalf("EncodeStored(%+v): %v", msg, err)
		}
		back, err := codec.DecodeStored(stored)
		if err != nil || back != msg {
			t.Fatalf("DecodeStored(%q) = %+v, %v; want %+v", stored, back, err, msg)
		}
		sent := codec.DecodeEntry(codec.ID{MS: 1}, stored).Item.JSON
		if !utf8.Valid(sent) {
			t.Fatalf("native JSON of %+v = %q: not UTF-8", msg, sent)
		}
		again, apiErr := decodeComment(sent, &large, errs)
		msg.TS = 0
		if apiErr != nil || again != msg {
			t.Fatalf("decodeComment(sent %q) = %+v, %+v; want %+v", sent, again, apiErr, msg)
		}
	})
}
