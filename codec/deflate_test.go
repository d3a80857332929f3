package codec

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// inflateStd inflates a permessage-deflate payload with the standard
// library, as a client would.
func inflateStd(t testing.TB, payload []byte) []byte {
	t.Helper()
	r := flate.NewReader(io.MultiReader(bytes.NewReader(payload), bytes.NewReader(deflateTail)))
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("inflate %x: %v", payload, err)
	}
	return out
}

// deflateStd compresses a client message payload with the standard
// library, as a browser does without context takeover.
func deflateStd(t testing.TB, payload []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.DefaultCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(payload); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
}

func TestDeflaterAppendFrames(t *testing.T) {
	b := Batch{Room: "lobby", Items: sampleItems(30), Deletes: []string{"1-0"}}
	run := AppendBatchFrame(nil, &b)
	run = AppendOnlineFrame(run, "lobby", 3)
	run = AppendPing(run, nil)
	d, err := NewDeflater(flate.BestSpeed, 64)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a reused Deflater starts afresh: no context takeover
		out := d.AppendFrames([]byte("x"), run)[1:]
		var got [][]byte
		compressed := 0
		for len(out) > 0 {
			h, n, err := ParseHeader(out)
			if err != nil || n == 0 || !h.Fin || h.Masked {
				t.Fatalf("ParseHeader = %+v, %d, %v", h, n, err)
			}
			payload := out[n : n+int(h.Length)]
			if h.Rsv == 4 { // RSV1
				compressed++
				payload = inflateStd(t, payload)
			} else if h.Rsv != 0 {
				t.Fatalf("frame with RSV %03b", h.Rsv)
			}
			got = append(got, payload)
			out = out[n+int(h.Length):]
		}
		// The batch is compressed; the delete, the online count and the
		// ping are under 64 bytes and are not.
		if len(got) != 4 || compressed != 1 {
			t.Fatalf("got %d frames, %d compressed; want 4, 1", len(got), compressed)
		}
		if want := AppendBatchJSON(nil, &Batch{Room: "lobby", Items: b.Items}); !bytes.Equal(got[0], want) {
			t.Errorf("batch inflated to %q; want %q", got[0], want)
		}
		if want := AppendDeleteJSON(nil, "lobby", "1-0"); !bytes.Equal(got[1], want) {
			t.Errorf("delete = %q; want %q", got[1], want)
		}
	}
	if _, err := NewDeflater(42, 1); err == nil {
		t.Error("NewDeflater(42, 1) succeeded; want an error")
	}
}

func TestInflater(t *testing.T) {
	var f Inflater
	big := []byte(strings.Repeat(`{"type":"join","room":"lobby"}`, 100))
	tests := []struct {
		name    string
		payload []byte
		max     int64
		want    []byte
		wantErr error
	}{
		{"join", deflateStd(t, []byte(`{"type":"join","room":"lobby"}`)), 4096, []byte(`{"type":"join","room":"lobby"}`), nil},
		{"empty", deflateStd(t, nil), 4096, []byte{}, nil},
		{"at the limit", deflateStd(t, big), int64(len(big)), big, nil},
		{"over the limit", deflateStd(t, big), int64(len(big)) - 1, nil, ErrMessageTooBig},
		{"bomb", deflateStd(t, make([]byte, 10<<20)), 4096, nil, ErrMessageTooBig},
		{"stored block", []byte{0x00, 0x02, 0x00, 0xfd, 0xff, 'h', 'i', 0x00}, 4096, []byte("hi"), nil},
		{"garbage", []byte{0xff, 0xff, 0xff}, 4096, nil, ErrInflate},
		{"final block, the rest ignored", []byte{0x01, 0x02, 0x00, 0xfd, 0xff, 'h', 'i', 0xff}, 4096, []byte("hi"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.AppendInflated([]byte("x"), tt.payload, tt.max)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("AppendInflated error = %v; want %v", err, tt.wantErr)
			}
			if err != nil {
				if string(got) != "x" {
					t.Errorf("AppendInflated failed but appended %q", got[1:])
				}
				return
			}
			if !bytes.Equal(got[1:], tt.want) {
				t.Errorf("AppendInflated = %q; want %q", got[1:], tt.want)
			}
		})
	}
	var fe *FrameError
	if !errors.As(ErrInflate, &fe) || fe.Code != ws.StatusInvalidFramePayloadData {
		t.Errorf("ErrInflate closes with %v; want 1007", fe)
	}
}

func FuzzInflater(f *testing.F) {
	f.Add([]byte{0x00, 0x02, 0x00, 0xfd, 0xff, 'h', 'i', 0x00})
	f.Add([]byte{0xff})
	f.Add([]byte{})
	d, err := NewDeflater(1, 1)
	if err != nil {
		f.Fatal(err)
	}
	frame := d.AppendFrames(nil, AppendFrame(nil, ws.OpText, []byte(`{"type":"join","room":"lobby"}`)))
	f.Add(frame[2:])
	f.Fuzz(func(t *testing.T, payload []byte) {
		var in Inflater
		const limit = 1024
		got, err := in.AppendInflated(nil, payload, limit)
		if err != nil {
			var fe *FrameError
			if !errors.As(err, &fe) || len(got) != 0 {
				t.Fatalf("AppendInflated(%x) = %d bytes, %v; want nothing and a *FrameError", payload, len(got), err)
			}
			return
		}
		if len(got) > limit {
			t.Fatalf("AppendInflated(%x) = %d bytes past the limit", payload, len(got))
		}
		if len(got) == 0 {
			return // sent uncompressed: nothing to inflate
		}
		// What inflates deflates back to a payload that inflates the same.
		re := d.AppendFrames(nil, AppendFrame(nil, ws.OpText, got))
		h, n, err := ParseHeader(re)
		if err != nil {
			t.Fatal(err)
		}
		again, err := in.AppendInflated(nil, re[n:n+int(h.Length)], limit)
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("round trip of %q = %q, %v", got, again, err)
		}
	})
}
