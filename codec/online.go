package codec

import (
	"strconv"

	"github.com/gobwas/ws"
)

const onlinePrefix = `{"type":"online","room":"`

// AppendOnlineJSON appends {"type":"online","room":"R","count":N}, the
// number of viewers of room over the whole fleet. room must be valid
// (ValidRoom), which needs no escaping. A negative count is written as 0.
func AppendOnlineJSON(dst []byte, room string, count int) []byte {
	count = max(count, 0)
	dst = append(dst, onlinePrefix...)
	dst = append(dst, room...)
	dst = append(dst, `","count":`...)
	dst = strconv.AppendInt(dst, int64(count), 10)
	return append(dst, '}')
}

// AppendOnlineFrame appends the online message as one WebSocket text frame.
func AppendOnlineFrame(dst []byte, room string, count int) []byte {
	n := len(onlinePrefix) + len(room) + len(`","count":`) + decimalLen(max(count, 0)) + 1
	dst = AppendFrameHeader(dst, ws.OpText, n)
	return AppendOnlineJSON(dst, room, count)
}
