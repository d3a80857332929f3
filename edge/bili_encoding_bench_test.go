package edge

import (
	"fmt"
	"testing"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/fanout"
)

// benchComments returns n comments as ingest stores them: mixed Chinese
// and ASCII text of typical length, numeric uids, varied colors and modes.
func benchComments(n int) []codec.Item {
	texts := []string{"哈哈哈哈哈哈", "前方高能预警!!!", "this stream is great", "主播好厉害 666", "2333333", "awsl 太可爱了吧", "第一次来, 关注了", "lol that was close"}
	modes := []string{codec.ModeScroll, codec.ModeScroll, codec.ModeScroll, codec.ModeTop, codec.ModeBottom}
	items := make([]codec.Item, n)
	for i := range items {
		stored, err := codec.EncodeStored(codec.Message{
			UID: fmt.Sprint(100000 + i*7919), Name: fmt.Sprintf("观众_%d", i%97),
			Text: texts[i%len(texts)], Color: fmt.Sprintf("#%06x", (i*2654435761)&0xffffff),
			Mode: modes[i%len(modes)], TS: 1795633890065 + int64(i)*13,
		})
		if err != nil {
			panic(err)
		}
		items[i] = codec.DecodeEntry(codec.ID{MS: 1795633890065 + uint64(i)*13, Seq: uint64(i % 2)}, stored).Item
	}
	return items
}

// benchEncoders are the wire variants a room's batch may be encoded in,
// built as New builds them with the default Config.
func benchEncoders() []struct {
	name string
	enc  fanout.Encoder
} {
	cfg := Config{}.withDefaults()
	e := cfg.encoders()
	return []struct {
		name string
		enc  fanout.Encoder
	}{
		{"native", e.native},
		{"native-deflate", e.deflate},
		{"bili-plain", e.biliPlain},
		{"bili-zlib", e.biliZlib},
		{"bili-brotli", e.biliBrotli},
	}
}

// BenchmarkEncodings measures, for each encoding and batch size, what one
// room batch costs: ns/op is the CPU to encode (and compress) the batch,
// paid once per room whatever its number of viewers; wire-B/comment is
// what each viewer receives per comment, frame header included; and
// ns/delivery@1k the encoding CPU per comment delivered to one viewer when
// the room has 1000 viewers (ns/op / 1000 / comments). Results are in
// docs/performance.md, "Encodings: bytes and CPU per delivery".
func BenchmarkEncodings(b *testing.B) {
	for _, e := range benchEncoders() {
		for _, n := range []int{1, 10, 50} {
			b.Run(fmt.Sprintf("%s/batch=%d", e.name, n), func(b *testing.B) {
				batch := codec.Batch{Room: "31415", Items: benchComments(n)}
				buf := make([]byte, 0, 64<<10)
				b.ReportAllocs()
				for b.Loop() {
					buf = e.enc.AppendBatch(buf[:0], &batch)
				}
				perBatch := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				b.ReportMetric(float64(len(buf))/float64(n), "wire-B/comment")
				b.ReportMetric(perBatch/1000/float64(n), "ns/delivery@1k")
			})
		}
	}
}
