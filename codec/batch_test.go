package codec

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

func sampleItems(n int) []Item {
	items := make([]Item, n)
	for i := range items {
		stored, err := EncodeStored(Message{UID: "u" + fmt.Sprint(i), Name: "观众", Text: fmt.Sprintf("comment %d 弹幕 \"quoted\"", i), Color: DefaultColor, Mode: ModeScroll, TS: 1700000000000 + int64(i)})
		if err != nil {
			panic(err)
		}
		items[i] = storedItem(fmt.Sprintf("17000000000%02d-%d", i, i%3), string(stored))
	}
	return items
}

type decodedBatch struct {
	Type    string    `json:"type"`
	Room    string    `json:"room"`
	Msgs    []Message `json:"msgs"`
	Dropped int       `json:"dropped"`
	Gap     bool      `json:"gap"`
}

func TestAppendBatchJSON(t *testing.T) {
	tests := []struct {
		name string
		b    Batch
		want string
	}{
		{"empty", Batch{Room: "r"}, `{"type":"batch","room":"r","msgs":[]}`},
		{"gap", Batch{Room: "r", Gap: true}, `{"type":"batch","room":"r","msgs":[],"gap":true}`},
		{"dropped", Batch{Room: "r", Dropped: 12, Items: []Item{storedItem("1-0", `{"a":1}`)}},
			`{"type":"batch","room":"r","msgs":[{"id":"1-0","a":1}],"dropped":12}`},
		{"empty object", Batch{Room: "r", Items: []Item{storedItem("1-0", `{}`)}},
			`{"type":"batch","room":"r","msgs":[{"id":"1-0"}]}`},
		{"two", Batch{Room: "a.b:c_d-e", Items: []Item{storedItem("1-0", `{"x":"y"}`), storedItem("1-1", `{"z":[1]}`)}, Gap: true, Dropped: 3},
			`{"type":"batch","room":"a.b:c_d-e","msgs":[{"id":"1-0","x":"y"},{"id":"1-1","z":[1]}],"dropped":3,"gap":true}`},
	}
	for _, tt := range tests {
		got := string(AppendBatchJSON([]byte("x"), &tt.b))
		if got != "x"+tt.want {
			t.Errorf("%s: AppendBatchJSON = %s; want x%s", tt.name, got, tt.want)
		}
		if n := batchJSONLen(&tt.b); n != len(tt.want) {
			t.Errorf("%s: batchJSONLen = %d; want %d", tt.name, n, len(tt.want))
		}
	}
}

func TestAppendBatchFrameDecodes(t *testing.T) {
	for _, n := range []int{0, 1, 10, 50, 400} {
		b := Batch{Room: "room-1", Items: sampleItems(n), Dropped: n % 7}
		frame := AppendBatchFrame(nil, &b)
		h, hn, err := ParseHeader(frame)
		if err != nil || !h.Fin || h.OpCode != ws.OpText || int(h.Length) != len(frame)-hn {
			t.Fatalf("n=%d: header %+v (%d bytes), err %v, frame %d bytes", n, h, hn, err, len(frame))
		}
		var got decodedBatch
		if err := json.Unmarshal(frame[hn:], &got); err != nil {
			t.Fatalf("n=%d: payload does not decode: %v", n, err)
		}
		if got.Type != "batch" || got.Room != "room-1" || len(got.Msgs) != n || got.Dropped != n%7 {
			t.Fatalf("n=%d: decoded %+v", n, got)
		}
		for i, m := range got.Msgs {
			if want := b.Items[i].Message; m != want {
				t.Errorf("n=%d: message %d = %+v; want %+v", n, i, m, want)
			}
		}
	}
}

func TestAppendBatchFrameDeletes(t *testing.T) {
	b := Batch{Room: "r", Items: sampleItems(1), Deletes: []string{"5-0", "6-1"}}
	frames := splitFrames(t, AppendBatchFrame(nil, &b))
	if len(frames) != 3 || !strings.HasPrefix(frames[0], `{"type":"batch"`) ||
		frames[1] != `{"type":"delete","room":"r","id":"5-0"}` || frames[2] != `{"type":"delete","room":"r","id":"6-1"}` {
		t.Errorf("frames = %q; want the batch then two deletes", frames)
	}
	only := Batch{Room: "r", Deletes: []string{"5-0"}}
	if frames := splitFrames(t, AppendBatchFrame(nil, &only)); len(frames) != 1 || frames[0] != `{"type":"delete","room":"r","id":"5-0"}` {
		t.Errorf("deletes only: frames = %q; want one delete", frames)
	}
}

// splitFrames returns the payloads of consecutive server frames.
func splitFrames(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	for len(b) > 0 {
		h, n, err := ParseHeader(b)
		if err != nil || n == 0 || int64(len(b)-n) < h.Length {
			t.Fatalf("bad frame at %q: %v", b, err)
		}
		out = append(out, string(b[n:n+int(h.Length)]))
		b = b[n+int(h.Length):]
	}
	return out
}

func TestAppendBatchFrameAllocs(t *testing.T) {
	b := Batch{Room: "room", Items: sampleItems(50)}
	buf := make([]byte, 0, 64<<10)
	if n := testing.AllocsPerRun(100, func() { buf = AppendBatchFrame(buf[:0], &b) }); n != 0 {
		t.Errorf("AppendBatchFrame allocates %v times per batch; want 0", n)
	}
}

func BenchmarkEncodeBatch(b *testing.B) {
	for _, n := range []int{1, 10, 50, 100} {
		b.Run(fmt.Sprintf("msgs=%d", n), func(b *testing.B) {
			batch := Batch{Room: "hot-room", Items: sampleItems(n)}
			buf := make([]byte, 0, 64<<10)
			b.ReportAllocs()
			b.SetBytes(int64(len(AppendBatchFrame(nil, &batch))))
			for b.Loop() {
				buf = AppendBatchFrame(buf[:0], &batch)
			}
		})
	}
}
