package codec

import (
	"bytes"
	"errors"
	"strconv"
	"testing"
)

// fuzzBiliPackets parses buf as the edge parses one message's packets and
// returns their headers and bodies, the bytes they took and the error that
// stopped it.
func fuzzBiliPackets(buf []byte, maxBody int) ([]BiliHeader, [][]byte, int, error) {
	var headers []BiliHeader
	var bodies [][]byte
	consumed := 0
	for {
		h, body, n, err := ParseBiliPacket(buf[consumed:], maxBody)
		if err != nil || n == 0 {
			return headers, bodies, consumed, err
		}
		headers = append(headers, h)
		bodies = append(bodies, body)
		consumed += n
	}
}

func FuzzParseBiliPacket(f *testing.F) {
	seeds := [][]byte{
		clientPacket(BiliOpEnter, `{"uid":0,"roomid":42,"protover":2,"platform":"web","type":2}`),
		clientPacket(BiliOpHeartbeat, "[object Object]"),
		append(clientPacket(BiliOpEnter, `{"roomid":1,"protover":3,"key":"k"}`), clientPacket(BiliOpHeartbeat, "")...),
		AppendBiliHeartbeatReply(nil, 7, 1),
		AppendBiliOnline(nil, 3),
		biliPacket(0, 16, 1, 2, 1, ""),
		biliPacket(15, 16, 1, 2, 1, ""),
		biliPacket(16, 8, 1, 2, 1, ""),
		biliPacket(0xffffffff, 16, 1, 7, 1, "{}"),
		biliPacket(16, 16, 1, 99, 1, ""),
	}
	for i, s := range seeds {
		f.Add(s, uint(i*5))
	}
	const maxBody = 4096
	f.Fuzz(func(t *testing.T, data []byte, split uint) {
		headers, bodies, consumed, err := fuzzBiliPackets(data, maxBody)
		if err != nil {
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FrameError", err)
			}
		}
		// Every packet parsed is well formed, and writing it back gives
		// the same bytes.
		var rebuilt []byte
		for i, h := range headers {
			if h.Length < BiliHeaderSize || len(bodies[i]) != int(h.Length)-BiliHeaderSize || len(bodies[i]) > maxBody {
				t.Fatalf("packet %+v with a body of %d bytes", h, len(bodies[i]))
			}
			rebuilt = AppendBiliPacket(rebuilt, h.Version, h.Op, h.Seq, bodies[i])
		}
		if !bytes.Equal(rebuilt, data[:consumed]) {
			t.Fatalf("packets written back = %x; want %x", rebuilt, data[:consumed])
		}
		// Fed in two parts, the parser finds the same packets: a packet
		// cut by the split is reported incomplete, never wrong.
		cut := int(split % uint(len(data)+1))
		first, _, firstConsumed, firstErr := fuzzBiliPackets(data[:cut], maxBody)
		if len(first) > len(headers) || firstConsumed > consumed {
			t.Fatalf("a prefix of %d bytes gave %d packets (%d bytes); the whole gave %d (%d bytes)", cut, len(first), firstConsumed, len(headers), consumed)
		}
		if firstErr != nil && (err == nil || firstErr.Error() != err.Error()) {
			t.Fatalf("a prefix of %d bytes failed with %v; the whole with %v", cut, firstErr, err)
		}
		rest, _, restConsumed, restErr := fuzzBiliPackets(data[firstConsumed:], maxBody)
		if firstErr == nil && (len(first)+len(rest) != len(headers) || firstConsumed+restConsumed != consumed || (restErr == nil) != (err == nil)) {
			t.Fatalf("resuming after %d bytes gave %d+%d packets, %v; want %d packets, %v", firstConsumed, len(first), len(rest), restErr, len(headers), err)
		}
	})
}

func FuzzDecodeBiliEnter(f *testing.F) {
	for _, s := range []string{
		`{"uid":7,"roomid":42,"protover":2,"platform":"web","type":2,"key":"tok"}`,
		`{"roomid":"42","protover":3}`,
		`{"roomid":0}`,
		`{"roomid":1e3}`,
		`{"roomid":42,"protover":9}`,
		`{"roomid":42,"roomid":43}`,
		"{\"roomid\":42,\"key\":\"\xff\"}",
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := DecodeBiliEnter(body)
		if err != nil {
			if !errors.Is(err, ErrBiliEnter) && !errors.Is(err, ErrBiliRoom) && !errors.Is(err, ErrBiliProtover) {
				t.Fatalf("DecodeBiliEnter(%q) error %v wraps none of the enter errors", body, err)
			}
			return
		}
		if e.RoomID == 0 || !ValidRoom(e.Room()) || e.Protover < 0 || e.Protover > 3 {
			t.Fatalf("DecodeBiliEnter(%q) = %+v, room %q", body, e, e.Room())
		}
	})
}

// FuzzAppendBiliDanmuJSON checks that a DANMU_MSG is valid JSON whatever
// the comment holds, that its extra is valid JSON too, and that clients
// reading it the typed way get the comment back.
func FuzzAppendBiliDanmuJSON(f *testing.F) {
	f.Add("42", "Ann", "hello 弹幕 [doge]", "#ff8800", ModeTop, int64(1795633890065), 0)
	f.Add("u-1", "\"quoted\" \\ </script>", "line\nnext\t\x00 \u2028 \U0001F600 [笑哭]", "#FFFFFF", ModeBottom, int64(0), 3)
	f.Add("9007199254740993", "\xff\xfe", "\xe5\xbc", "red", "sideways", int64(-1), 1)
	f.Fuzz(func(t *testing.T, uid, name, text, color, mode string, ts int64, prio int) {
		m := Message{UID: uid, Name: name, Text: text, Color: color, Mode: mode, TS: ts, Prio: prio}
		body := AppendBiliDanmuJSON(nil, "1795633890065-1", &m)
		d := decodeBiliDanmu(t, body)
		// Each byte of invalid UTF-8 is written as U+FFFD, as a
		// conversion to runes reads it.
		want, wantName := string([]rune(text)), string([]rune(name))
		if d.Text != want || d.ExtraContent != want || d.Name != wantName || d.ModeInfoName != wantName ||
			d.UID != biliUID(uid) || d.ModeInfoUID != d.UID || d.Mode != biliMode(mode) || d.ExtraPlayerMode != d.Mode ||
			d.Color != biliColor(color) || d.ExtraColor != d.Color || d.TS != ts || d.IDStr != "1795633890065-1" ||
			d.ExtraIDStr != d.IDStr || (d.Admin == 1) != (prio > 0) || d.ExtraUserHash != strconv.FormatUint(uint64(biliUserHash(uid)), 10) {
			t.Fatalf("AppendBiliDanmuJSON(%+v) read back as %+v: %s", m, d, body)
		}
	})
}
