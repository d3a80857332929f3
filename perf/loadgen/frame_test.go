package loadgen

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/danmu-dev/danmu/codec"
	"github.com/gobwas/ws"
)

// recordedDanmu is what a danmu server sent to a viewer of room demo that
// upgraded with the RFC 6455 sample key, after two comments were posted
// (captured from bin/danmu serve).
const recordedDanmu = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n" +
	"\x81\x1f" + `{"type":"joined","room":"demo"}` +
	"\x81~\x00\xb8" + `{"type":"batch","room":"demo","msgs":[{"id":"1795634664077-0","uid":"anonymous","name":"guest","text":"p0:7:1700000000000000000","color":"#ffffff","mode":"scroll","ts":1795634664075}]}` +
	"\x81~\x00\xb6" + `{"type":"batch","room":"demo","msgs":[{"id":"1795634664099-0","uid":"anonymous","name":"ann","text":"p1:8:1700000000000000001","color":"#ffffff","mode":"scroll","ts":1795634664099}]}`

func TestReadRecordedDanmuStream(t *testing.T) {
	for name, wrap := range map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
	} {
		r := newWSReader(wrap(strings.NewReader(recordedDanmu)), 16, 1<<20)
		head, err := r.readHead(8 << 10)
		if err != nil {
			t.Fatalf("%s: readHead: %v", name, err)
		}
		if err := checkUpgradeResponse(head, acceptKey("dGhlIHNhbXBsZSBub25jZQ==")); err != nil {
			t.Fatalf("%s: checkUpgradeResponse: %v", name, err)
		}
		var texts []string
		var ids int
		for {
			op, payload, err := r.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: next: %v", name, err)
			}
			if op != opText {
				t.Fatalf("%s: opcode %#x; want text", name, op)
			}
			ids += bytes.Count(payload, idMarker)
			texts = append(texts, string(payload))
		}
		if len(texts) != 3 || !strings.Contains(texts[0], `"type":"joined"`) || ids != 2 {
			t.Errorf("%s: read %d messages with %d ids: %q; want joined and two batches of one", name, len(texts), ids, texts)
		}
	}
}

func TestReadJoinsFragmentsAndPassesControlFrames(t *testing.T) {
	var stream bytes.Buffer
	write := func(fin bool, op ws.OpCode, payload string) {
		f := ws.NewFrame(op, fin, []byte(payload))
		if err := ws.WriteFrame(&stream, f); err != nil {
			t.Fatal(err)
		}
	}
	batch := codec.AppendBatchFrame(nil, &codec.Batch{Room: "r", Items: []codec.Item{codec.DecodeEntry(codec.ID{MS: 1}, []byte(`{"text":"a"}`)).Item}, Dropped: 3})
	stream.Write(batch)
	write(false, ws.OpText, `{"id":"1",`)
	write(true, ws.OpPing, "hi")
	write(false, ws.OpContinuation, `"x":1}`+"\n")
	write(true, ws.OpContinuation, `{"id":"2"}`)
	write(true, ws.OpClose, "\x03\xe8bye")

	type msg struct {
		op      byte
		payload string
	}
	want := []msg{
		{opText, `{"type":"batch","room":"r","msgs":[{"id":"1-0","text":"a"}],"dropped":3}`},
		{opPing, "hi"},
		{opText, `{"id":"1","x":1}` + "\n" + `{"id":"2"}`},
		{opClose, "\x03\xe8bye"},
	}
	r := newWSReader(iotest.OneByteReader(&stream), 4, 1<<10)
	for i, w := range want {
		op, payload, err := r.next()
		if err != nil || op != w.op || string(payload) != w.payload {
			t.Fatalf("message %d = %#x %q, %v; want %#x %q", i, op, payload, err, w.op, w.payload)
		}
	}
	if got := closeCode([]byte(want[3].payload)); got != 1000 {
		t.Errorf("closeCode = %d; want 1000", got)
	}
	if got := closeCode(nil); got != 1005 {
		t.Errorf("closeCode(nil) = %d; want 1005", got)
	}
}

func TestReadRejects(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  error
	}{
		{"masked", "\x81\x81abcdx", errMaskedFrame},
		{"reserved bits", "\xc1\x00", errReservedBits},
		{"reserved opcode", "\x83\x00", errReservedOpcode},
		{"fragmented ping", "\x09\x00", errBadControlFrame},
		{"long ping", "\x89\x7e\x00\x7e" + strings.Repeat("a", 126), errBadControlFrame},
		{"lone continuation", "\x80\x00", errBadFragment},
		{"text inside a message", "\x01\x01a\x81\x01b", errBadFragment},
		{"too large", "\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", errMessageTooLarge},
		{"absurd length", "\x81\x7f\x7f\x00\x00\x00\x00\x00\x00\x00", errMessageTooLarge},
		{"fragments too large", "\x01\x7e\x03\xe8" + strings.Repeat("a", 1000) + "\x80\x7e\x03\xe8" + strings.Repeat("a", 1000), errMessageTooLarge},
		{"length not minimal", "\x81\x7e\x00\x05hello", codec.ErrLengthNotMinimal},
		{"length with its top bit", "\x81\x7f\x80\x00\x00\x00\x00\x00\x00\x00", codec.ErrLengthMSB},
		{"truncated", "\x81\x05abc", io.EOF},
	}
	for _, tt := range tests {
		r := newWSReader(strings.NewReader(tt.input), 8, 1500)
		_, _, err := r.next()
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: next() error = %v; want %v", tt.name, err, tt.want)
		}
	}
}

func TestClientFrameRoundTrip(t *testing.T) {
	for _, size := range []int{0, 2, 125, 126, 65535, 65536} {
		payload := bytes.Repeat([]byte{'x'}, size)
		frame := appendClientFrame(nil, opPong, payload, [4]byte{1, 2, 3, 4})
		f, err := ws.ReadFrame(bytes.NewReader(frame))
		if err != nil {
			t.Fatalf("size %d: ws.ReadFrame: %v", size, err)
		}
		if !f.Header.Fin || f.Header.OpCode != ws.OpPong || !f.Header.Masked {
			t.Errorf("size %d: header %+v; want a final masked pong", size, f.Header)
		}
		ws.Cipher(f.Payload, f.Header.Mask, 0)
		if !bytes.Equal(f.Payload, payload) {
			t.Errorf("size %d: payload differs after unmasking", size)
		}
	}
}

func TestReadHead(t *testing.T) {
	r := newWSReader(iotest.OneByteReader(strings.NewReader("HTTP/1.1 101 OK\r\nA: b\r\n\r\n\x81\x00")), 4, 1<<10)
	head, err := r.readHead(1 << 10)
	if err != nil || string(head) != "HTTP/1.1 101 OK\r\nA: b\r\n\r\n" {
		t.Fatalf("readHead = %q, %v", head, err)
	}
	if op, payload, err := r.next(); err != nil || op != opText || len(payload) != 0 {
		t.Fatalf("frame after the head = %#x %q, %v; want an empty text frame", op, payload, err)
	}
	r = newWSReader(strings.NewReader(strings.Repeat("x", 100)), 16, 1<<10)
	if _, err := r.readHead(64); !errors.Is(err, errHandshakeTooLarge) {
		t.Errorf("readHead of 100 bytes without an end, limit 64: %v; want %v", err, errHandshakeTooLarge)
	}
}

func FuzzWSReader(f *testing.F) {
	f.Add([]byte(recordedDanmu[strings.Index(recordedDanmu, "\r\n\r\n")+4:]))
	f.Add([]byte("\x01\x01a\x89\x00\x80\x01b"))
	f.Add([]byte("\x81\x7e\x00\x05hello"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, src := range []io.Reader{bytes.NewReader(data), iotest.OneByteReader(bytes.NewReader(data))} {
			r := newWSReader(src, 8, 1<<12)
			var ops []byte
			var payloads []string
			for {
				op, payload, err := r.next()
				if err != nil {
					break
				}
				if len(payload) > 1<<12 {
					t.Fatalf("payload of %d bytes above the limit", len(payload))
				}
				ops = append(ops, op)
				payloads = append(payloads, string(payload))
			}
			// Re-encode what was read unfragmented: reading it again gives
			// the same messages.
			var again []byte
			for i, op := range ops {
				again = append(again, ws.MustCompileFrame(ws.NewFrame(ws.OpCode(op), true, []byte(payloads[i])))...)
			}
			r2 := newWSReader(bytes.NewReader(again), 8, 1<<12)
			for i := range ops {
				op, payload, err := r2.next()
				if err != nil || op != ops[i] || string(payload) != payloads[i] {
					t.Fatalf("re-read message %d = %#x %q, %v; want %#x %q", i, op, payload, err, ops[i], payloads[i])
				}
			}
		}
	})
}
