package codec

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gobwas/ws"
)

// parsedFrame is what the stream reader of fuzzFrames saw of one frame.
type parsedFrame struct {
	h ws.Header
	n int
}

// fuzzFrames reads frames from buf like the edge does and returns those
// complete, the bytes they took, and the header error that stopped it.
func fuzzFrames(buf []byte) ([]parsedFrame, int, error) {
	var frames []parsedFrame
	consumed := 0
	for {
		h, n, err := ParseHeader(buf[consumed:])
		if err != nil {
			return frames, consumed, err
		}
		if n == 0 || int64(len(buf)-consumed-n) < h.Length {
			return frames, consumed, nil
		}
		frames = append(frames, parsedFrame{h, n})
		consumed += n + int(h.Length)
	}
}

func FuzzParseHeader(f *testing.F) {
	seeds := [][]byte{
		clientFrame(f, true, ws.OpText, []byte(`{"type":"join","room":"lobby","since":"1700000000000-0"}`)),
		clientFrame(f, true, ws.OpPing, []byte("keepalive")),
		clientFrame(f, true, ws.OpClose, []byte{0x03, 0xe9}),
		clientFrame(f, false, ws.OpBinary, bytes.Repeat([]byte{'a'}, 300)),
		append(clientFrame(f, false, ws.OpText, []byte("he")), clientFrame(f, true, ws.OpContinuation, []byte("llo"))...),
		{0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4},
		{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4},
		{0x81, 0xfe, 0x00, 0x05, 1, 2, 3, 4},
		{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'},
	}
	for i, s := range seeds {
		f.Add(s, uint(i*3))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint) {
		h, n, err := ParseHeader(data)
		if n < 0 || n > len(data) || n > ws.MaxHeaderSize {
			t.Fatalf("ParseHeader(%x) n = %d for %d bytes", data, n, len(data))
		}
		if err != nil {
			var fe *FrameError
			if n != 0 || !errors.As(err, &fe) {
				t.Fatalf("ParseHeader(%x) = %d, %v; want n == 0 and a *FrameError", data, n, err)
			}
		}
		if h.Length < 0 {
			t.Fatalf("ParseHeader(%x) length %d", data, h.Length)
		}

		// A prefix either is too short or gives the same answer.
		k := int(split % uint(len(data)+1))
		ph, pn, perr := ParseHeader(data[:k])
		if (pn != 0 || perr != nil) && (ph != h || pn != n || perr != err) {
			t.Fatalf("ParseHeader(%x) = %+v, %d, %v; on its first %d bytes %+v, %d, %v", data, h, n, err, k, ph, pn, perr)
		}
		if pn == 0 && perr == nil && k >= ws.MaxHeaderSize {
			t.Fatalf("ParseHeader(%x) wants more than %d bytes", data[:k], k)
		}

		if n > 0 {
			for _, inMessage := range []bool{false, true} {
				err := CheckClientHeader(h, inMessage, 7, 1<<20)
				var fe *FrameError
				if err != nil && !errors.As(err, &fe) {
					t.Fatalf("CheckClientHeader(%+v) = %v; want a *FrameError", h, err)
				}
			}
			var buf bytes.Buffer
			if err := ws.WriteHeader(&buf, h); err != nil {
				t.Fatalf("ws.WriteHeader(%+v): %v", h, err)
			}
			if !bytes.Equal(buf.Bytes(), data[:n]) {
				t.Fatalf("header %+v parsed from %x encodes as %x", h, data[:n], buf.Bytes())
			}
			rh, rn, rerr := ParseHeader(buf.Bytes())
			if rh != h || rn != n || rerr != nil {
				t.Fatalf("ParseHeader(WriteHeader(%+v)) = %+v, %d, %v", h, rh, rn, rerr)
			}
		}

		// Reading the stream in two pieces finds the same frames as reading
		// it whole.
		whole, wholeUsed, wholeErr := fuzzFrames(data)
		first, used, firstErr := fuzzFrames(data[:k])
		pieces := first
		if firstErr == nil {
			var rest []parsedFrame
			var restUsed int
			rest, restUsed, firstErr = fuzzFrames(data[used:])
			pieces = append(pieces, rest...)
			used += restUsed
		}
		if used != wholeUsed || firstErr != wholeErr || len(pieces) != len(whole) {
			t.Fatalf("split at %d: %d frames, %d bytes, %v; whole: %d frames, %d bytes, %v",
				k, len(pieces), used, firstErr, len(whole), wholeUsed, wholeErr)
		}
		for i := range whole {
			if pieces[i] != whole[i] {
				t.Fatalf("split at %d: frame %d is %+v; whole: %+v", k, i, pieces[i], whole[i])
			}
		}
	})
}
