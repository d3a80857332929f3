package codec

import (
	"errors"
	"io"

	"github.com/gobwas/ws"
	"github.com/klauspost/compress/flate"
)

// permessage-deflate (RFC 7692) as the edge negotiates it: with
// server_no_context_takeover and client_no_context_takeover, so that every
// message is compressed on its own. A server message can then be compressed
// once and written to every viewer, and a client message inflated without
// keeping a window per connection.

// ErrInflate reports a compressed client message that does not inflate.
var ErrInflate = &FrameError{ws.StatusInvalidFramePayloadData, "invalid compressed message"}

// deflateTail is what RFC 7692 section 7.2.2 has the receiver append to a
// message before inflating it (the end of a sync flush), followed by an
// empty final stored block so that the inflater ends with io.EOF.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// appendBuffer is an io.Writer that appends to a byte slice.
type appendBuffer struct{ buf []byte }

func (a *appendBuffer) Write(p []byte) (int, error) {
	a.buf = append(a.buf, p...)
	return len(p), nil
}

// Deflater compresses server frames for permessage-deflate. It is not safe
// for concurrent use; reuse it, it keeps its buffers.
type Deflater struct {
	w       *flate.Writer
	out     appendBuffer
	minSize int
}

// NewDeflater returns a Deflater that compresses with level (flate.BestSpeed
// to flate.BestCompression) the data frames whose payload has at least
// minSize bytes.
func NewDeflater(level, minSize int) (*Deflater, error) {
	w, err := flate.NewWriter(nil, level)
	if err != nil {
		return nil, err
	}
	return &Deflater{w: w, minSize: max(minSize, 1)}, nil
}

// AppendFrames appends to dst the frames of run, a run of complete final
// unmasked server frames such as AppendBatchFrame builds, each data frame
// whose payload has at least the Deflater's minimum size compressed (RSV1
// set), the others as they are. The result is the same for every viewer
// that negotiated permessage-deflate without server context takeover.
func (d *Deflater) AppendFrames(dst, run []byte) []byte {
	for len(run) > 0 {
		h, n, err := ParseHeader(run)
		total := n + int(h.Length)
		if err != nil || n == 0 || total > len(run) {
			panic("codec: Deflater.AppendFrames: run is not a run of complete frames")
		}
		payload := run[n:total]
		if h.OpCode.IsData() && len(payload) >= d.minSize {
			dst = d.appendCompressed(dst, h.OpCode, payload)
		} else {
			dst = append(dst, run[:total]...)
		}
		run = run[total:]
	}
	return dst
}

// appendCompressed appends a final frame of op whose payload is payload
// compressed, RSV1 set.
func (d *Deflater) appendCompressed(dst []byte, op ws.OpCode, payload []byte) []byte {
	d.out.buf = d.out.buf[:0]
	d.w.Reset(&d.out)
	// Writes to an appendBuffer cannot fail.
	_, _ = d.w.Write(payload)
	_ = d.w.Flush()
	// A sync flush ends with 00 00 ff ff, which RFC 7692 has the sender
	// strip.
	compressed := d.out.buf[:len(d.out.buf)-4]
	start := len(dst)
	dst = AppendFrameHeader(dst, op, len(compressed))
	dst[start] |= 0x40 // RSV1: this message is compressed
	return append(dst, compressed...)
}

// Inflater inflates client messages of permessage-deflate. It is not safe
// for concurrent use; reuse it.
type Inflater struct {
	r   io.ReadCloser
	src tailReader
}

// AppendInflated appends the inflation of the payload of a compressed
// client message to dst. More than maxBytes is ErrMessageTooBig, found
// after inflating at most maxBytes+1 bytes; data that does not inflate is
// ErrInflate.
func (f *Inflater) AppendInflated(dst, payload []byte, maxBytes int64) ([]byte, error) {
	f.src = tailReader{parts: [2][]byte{payload, deflateTail}}
	if f.r == nil {
		f.r = flate.NewReader(&f.src)
	} else if err := f.r.(flate.Resetter).Reset(&f.src, nil); err != nil {
		return dst, ErrInflate
	}
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		room := dst[len(dst):cap(dst)]
		if limit := maxBytes + 1 - int64(len(dst)-start); int64(len(room)) > limit {
			room = room[:limit]
		}
		n, err := f.r.Read(room)
		dst = dst[:len(dst)+n]
		if int64(len(dst)-start) > maxBytes {
			return dst[:start], ErrMessageTooBig
		}
		if errors.Is(err, io.EOF) {
			return dst, nil
		}
		if err != nil {
			return dst[:start], ErrInflate
		}
	}
}

// tailReader reads parts[0], then parts[1].
type tailReader struct{ parts [2][]byte }

func (t *tailReader) Read(p []byte) (int, error) {
	for i := range t.parts {
		if len(t.parts[i]) > 0 {
			n := copy(p, t.parts[i])
			t.parts[i] = t.parts[i][n:]
			return n, nil
		}
	}
	return 0, io.EOF
}

// ReadByte lets the inflater read without a bufio.Reader of its own.
func (t *tailReader) ReadByte() (byte, error) {
	for i := range t.parts {
		if len(t.parts[i]) > 0 {
			b := t.parts[i][0]
			t.parts[i] = t.parts[i][1:]
			return b, nil
		}
	}
	return 0, io.EOF
}
