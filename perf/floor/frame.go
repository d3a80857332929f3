package floor

import (
	"strconv"

	"github.com/danmu-dev/danmu/codec"
)

// SampleFrame returns one batch frame of msgs comments as danmu's edge
// writes it to a viewer: a WebSocket text frame of codec's batch JSON,
// with the texts and fields the load generator posts. It panics only if
// codec cannot encode a valid message.
func SampleFrame(msgs int) []byte {
	b := codec.Batch{Room: "lgmiq0c2ab-0"}
	const ms = 1764720000000
	for i := range msgs {
		stored, err := codec.EncodeStored(codec.Message{
			UID: "anonymous", Name: "guest", Color: codec.DefaultColor, Mode: codec.ModeScroll, TS: ms + int64(i),
			Text: "p" + strconv.Itoa(i%64) + ":" + strconv.Itoa(100000+i) + ":" + strconv.FormatInt((ms+int64(i))*1e6, 10),
		})
		if err != nil {
			panic("floor: encoding a sample message: " + err.Error())
		}
		b.Items = append(b.Items, codec.DecodeEntry(codec.ID{MS: uint64(ms + i)}, stored).Item)
	}
	return codec.AppendBatchFrame(nil, &b)
}
