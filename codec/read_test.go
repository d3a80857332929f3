package codec

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gobwas/ws"
)

var testMask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// clientFrame returns the bytes of a masked client frame carrying payload.
func clientFrame(t testing.TB, fin bool, op ws.OpCode, payload []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	h := ws.Header{Fin: fin, OpCode: op, Masked: true, Mask: testMask, Length: int64(len(payload))}
	if err := ws.WriteHeader(&buf, h); err != nil {
		t.Fatal(err)
	}
	return append(buf.Bytes(), AppendUnmasked(nil, payload, testMask)...)
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want ws.Header
		n    int
		err  error
	}{
		{"empty", nil, ws.Header{}, 0, nil},
		{"one byte", []byte{0x81}, ws.Header{}, 0, nil},
		{"short mask", []byte{0x81, 0x85, 1, 2, 3}, ws.Header{}, 0, nil},
		{"short 16-bit length", []byte{0x82, 0xfe, 0x01}, ws.Header{}, 0, nil},
		{"short 64-bit length", []byte{0x82, 0xff, 0, 0, 0, 0, 0, 1, 0}, ws.Header{}, 0, nil},
		{
			"unmasked text", []byte{0x81, 0x05, 'h', 'e'},
			ws.Header{Fin: true, OpCode: ws.OpText, Length: 5}, 2, nil,
		},
		{
			"masked text", []byte{0x81, 0x85, 1, 2, 3, 4, 'x'},
			ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: 5}, 6, nil,
		},
		{
			"rsv and opcode bits", []byte{0x7a, 0x80, 9, 9, 9, 9},
			ws.Header{Rsv: 7, OpCode: ws.OpPong, Masked: true, Mask: [4]byte{9, 9, 9, 9}}, 6, nil,
		},
		{
			"16-bit length", []byte{0x02, 0xfe, 0x01, 0x00, 1, 2, 3, 4},
			ws.Header{OpCode: ws.OpBinary, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: 256}, 8, nil,
		},
		{
			"smallest 16-bit length", []byte{0x81, 0x7e, 0x00, 0x7e},
			ws.Header{Fin: true, OpCode: ws.OpText, Length: 126}, 4, nil,
		},
		{
			"64-bit length", []byte{0x80, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 5, 6, 7, 8},
			ws.Header{Fin: true, OpCode: ws.OpContinuation, Masked: true, Mask: [4]byte{5, 6, 7, 8}, Length: 1 << 16}, 14, nil,
		},
		{
			"largest 64-bit length", []byte{0x81, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			ws.Header{Fin: true, OpCode: ws.OpText, Length: 1<<63 - 1}, 10, nil,
		},
		{"64-bit length MSB", []byte{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}, ws.Header{}, 0, ErrLengthMSB},
		{"16-bit length under 126", []byte{0x81, 0xfe, 0x00, 0x7d, 1, 2, 3, 4}, ws.Header{}, 0, ErrLengthNotMinimal},
		{"64-bit length under 65536", []byte{0x81, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4}, ws.Header{}, 0, ErrLengthNotMinimal},
	}
	for _, tt := range tests {
		h, n, err := ParseHeader(tt.in)
		if h != tt.want || n != tt.n || err != tt.err {
			t.Errorf("%s: ParseHeader(%x) = %+v, %d, %v; want %+v, %d, %v", tt.name, tt.in, h, n, err, tt.want, tt.n, tt.err)
		}
	}
}

func TestCheckClientHeader(t *testing.T) {
	const maxMessage = 1000
	masked := func(fin bool, op ws.OpCode, length int64) ws.Header {
		return ws.Header{Fin: fin, OpCode: op, Masked: true, Mask: testMask, Length: length}
	}
	tests := []struct {
		name      string
		h         ws.Header
		inMessage bool
		received  int64
		err       error
		code      ws.StatusCode
	}{
		{"text", masked(true, ws.OpText, 10), false, 0, nil, 0},
		{"binary at the limit", masked(true, ws.OpBinary, maxMessage), false, 0, nil, 0},
		{"first fragment", masked(false, ws.OpText, 10), false, 0, nil, 0},
		{"continuation", masked(false, ws.OpContinuation, 10), true, 500, nil, 0},
		{"last continuation at the limit", masked(true, ws.OpContinuation, 500), true, 500, nil, 0},
		{"ping inside a message", masked(true, ws.OpPing, 125), true, 999, nil, 0},
		{"close", masked(true, ws.OpClose, 2), false, 0, nil, 0},
		{"pong", masked(true, ws.OpPong, 0), false, 0, nil, 0},
		{"unmasked", ws.Header{Fin: true, OpCode: ws.OpText, Length: 1}, false, 0, ErrUnmasked, 1002},
		{"rsv1", ws.Header{Fin: true, Rsv: 4, OpCode: ws.OpText, Masked: true}, false, 0, ErrReservedBits, 1002},
		{"rsv3", ws.Header{Fin: true, Rsv: 1, OpCode: ws.OpText, Masked: true}, false, 0, ErrReservedBits, 1002},
		{"opcode 3", masked(true, 3, 0), false, 0, ErrReservedOpCode, 1002},
		{"opcode 7", masked(true, 7, 0), false, 0, ErrReservedOpCode, 1002},
		{"opcode 0xb", masked(true, 0xb, 0), false, 0, ErrReservedOpCode, 1002},
		{"opcode 0xf", masked(true, 0xf, 0), false, 0, ErrReservedOpCode, 1002},
		{"ping over 125", masked(true, ws.OpPing, 126), false, 0, ErrControlTooLong, 1002},
		{"close over 125", masked(true, ws.OpClose, 1<<20), false, 0, ErrControlTooLong, 1002},
		{"fragmented ping", masked(false, ws.OpPing, 0), false, 0, ErrControlFragmented, 1002},
		{"fragmented close", masked(false, ws.OpClose, 2), true, 10, ErrControlFragmented, 1002},
		{"continuation first", masked(true, ws.OpContinuation, 1), false, 0, ErrContinuationUnexpected, 1002},
		{"text inside a message", masked(true, ws.OpText, 1), true, 10, ErrContinuationExpected, 1002},
		{"binary inside a message", masked(false, ws.OpBinary, 1), true, 10, ErrContinuationExpected, 1002},
		{"frame over the limit", masked(true, ws.OpText, maxMessage+1), false, 0, ErrMessageTooBig, 1009},
		{"huge frame", masked(true, ws.OpBinary, 1<<63-1), false, 0, ErrMessageTooBig, 1009},
		{"fragments over the limit", masked(false, ws.OpContinuation, 501), true, 500, ErrMessageTooBig, 1009},
		{"huge continuation", masked(true, ws.OpContinuation, 1<<63-1), true, 999, ErrMessageTooBig, 1009},
	}
	for _, tt := range tests {
		err := CheckClientHeader(tt.h, tt.inMessage, tt.received, maxMessage)
		if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("%s: CheckClientHeader(%+v, %v, %d) = %v; want %v", tt.name, tt.h, tt.inMessage, tt.received, err, tt.err)
			continue
		}
		if err == nil {
			continue
		}
		var fe *FrameError
		if !errors.As(err, &fe) || fe.Code != tt.code {
			t.Errorf("%s: CheckClientHeader(%+v) = %v; want close code %d", tt.name, tt.h, err, tt.code)
		}
	}
}

func TestFrameErrorMessage(t *testing.T) {
	if got, want := ErrUnmasked.Error(), "codec: websocket 1002: unmasked client frame"; got != want {
		t.Errorf("ErrUnmasked.Error() = %q; want %q", got, want)
	}
}

func TestAppendUnmasked(t *testing.T) {
	for _, size := range []int{0, 1, 3, 4, 15, 16, 17, 100, 1 << 12} {
		plain := make([]byte, size)
		for i := range plain {
			plain[i] = byte(i * 7)
		}
		masked := AppendUnmasked(nil, plain, testMask)
		for i := range masked {
			if masked[i] != plain[i]^testMask[i%4] {
				t.Fatalf("size %d: byte %d = %#x; want %#x", size, i, masked[i], plain[i]^testMask[i%4])
			}
		}
		source := bytes.Clone(masked)
		got := AppendUnmasked([]byte("prefix"), masked, testMask)
		if !bytes.Equal(masked, source) {
			t.Fatalf("size %d: AppendUnmasked modified its source", size)
		}
		if want := append([]byte("prefix"), plain...); !bytes.Equal(got, want) {
			t.Errorf("size %d: AppendUnmasked = %x; want %x", size, got, want)
		}
	}
}

// frame is one frame as a reader sees it: its header and unmasked payload.
type frame struct {
	h       ws.Header
	payload []byte
}

// readFrames consumes the complete frames at the start of buf the way the
// edge does with a connection's inbound buffer, and returns them and the
// number of bytes consumed.
func readFrames(t testing.TB, buf []byte) ([]frame, int) {
	t.Helper()
	var frames []frame
	consumed := 0
	for {
		h, n, err := ParseHeader(buf[consumed:])
		if err != nil {
			t.Fatalf("ParseHeader at %d: %v", consumed, err)
		}
		if n == 0 || int64(len(buf)-consumed-n) < h.Length {
			return frames, consumed
		}
		payload := buf[consumed+n : consumed+n+int(h.Length)]
		frames = append(frames, frame{h, AppendUnmasked(nil, payload, h.Mask)})
		consumed += n + int(h.Length)
	}
}

func TestParseHeaderByteByByte(t *testing.T) {
	payloads := []struct {
		fin bool
		op  ws.OpCode
		p   []byte
	}{
		{true, ws.OpText, []byte(`{"type":"join","room":"lobby"}`)},
		{true, ws.OpPing, []byte("ping")},
		{false, ws.OpBinary, bytes.Repeat([]byte{0xab}, 125)},
		{false, ws.OpContinuation, bytes.Repeat([]byte{0xcd}, 126)},
		{true, ws.OpPong, nil},
		{false, ws.OpContinuation, bytes.Repeat([]byte{0xef}, 0xffff)},
		{true, ws.OpContinuation, bytes.Repeat([]byte{0x12}, 0x10000)},
		{true, ws.OpText, nil},
		{true, ws.OpClose, []byte{0x03, 0xe8, 'b', 'y', 'e'}},
	}
	var stream []byte
	for _, p := range payloads {
		stream = append(stream, clientFrame(t, p.fin, p.op, p.p)...)
	}

	var got []frame
	var buffered []byte
	for i := range stream {
		buffered = append(buffered, stream[i])
		complete, n := readFrames(t, buffered)
		got = append(got, complete...)
		buffered = buffered[n:]
	}
	if len(buffered) != 0 {
		t.Fatalf("%d bytes left unparsed", len(buffered))
	}
	if len(got) != len(payloads) {
		t.Fatalf("parsed %d frames; want %d", len(got), len(payloads))
	}
	for i, p := range payloads {
		want := ws.Header{Fin: p.fin, OpCode: p.op, Masked: true, Mask: testMask, Length: int64(len(p.p))}
		if got[i].h != want {
			t.Errorf("frame %d: header %+v; want %+v", i, got[i].h, want)
		}
		if !bytes.Equal(got[i].payload, p.p) {
			t.Errorf("frame %d: payload differs (%d bytes; want %d)", i, len(got[i].payload), len(p.p))
		}
	}
}

func TestParseHeaderAllocs(t *testing.T) {
	frames := [][]byte{
		{0x81, 0x85, 1, 2, 3, 4},
		{0x82, 0xfe, 0x01, 0x00, 1, 2, 3, 4},
		{0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4},
		{0x82, 0xff, 0x80, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4},
		{0x81},
	}
	for _, b := range frames {
		allocs := testing.AllocsPerRun(100, func() {
			h, n, err := ParseHeader(b)
			if n > 0 {
				err = CheckClientHeader(h, false, 0, 1<<20)
			}
			if err != nil && err != ErrLengthMSB {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("ParseHeader(%x) allocates %v times; want 0", b, allocs)
		}
	}
}

func BenchmarkParseHeader(b *testing.B) {
	frames := [][]byte{
		{0x81, 0x85, 1, 2, 3, 4},
		{0x82, 0xfe, 0x01, 0x00, 1, 2, 3, 4},
		{0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4},
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range frames {
			h, _, err := ParseHeader(f)
			if err != nil || !h.Masked {
				b.Fatal(h, err)
			}
		}
	}
}
