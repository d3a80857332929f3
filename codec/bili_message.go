package codec

import (
	"strconv"
)

// The commands danmu sends to Bilibili-compatible clients, in version-0
// operation-5 packets (one JSON object each):
//
//   - DANMU_MSG for a comment. A priority comment (Message.Prio above zero)
//     is a DANMU_MSG from a room admin (info[2][2] = 1), the closest thing
//     those clients know; fan-out already puts it first in its batch.
//   - RECALL_DANMU_MSG for a comment a moderator deleted. Its data names the
//     comment by "id_str", the danmu message ID that the comment's
//     DANMU_MSG carries in its own "id_str"; target_id is always 0.
//   - ONLINE_RANK_COUNT for a room's online count, sent every online
//     interval; the heartbeat reply carries the same count.
//
// A batch's "dropped" and "gap" have no equivalent and are not sent.
const (
	biliDanmuPrefix  = `{"cmd":"DANMU_MSG","info":[[0,`
	biliRecallPrefix = `{"cmd":"RECALL_DANMU_MSG","data":{"recall_type":0,"target_id":0,"id_str":"`
	biliOnlinePrefix = `{"cmd":"ONLINE_RANK_COUNT","data":{"count":`
)

// Display modes of DANMU_MSG (info[0][1]).
const (
	BiliModeScroll = 1
	BiliModeBottom = 4
	BiliModeTop    = 5
)

// biliFontSize is the font size of every DANMU_MSG (info[0][2]): the
// standard size of those clients.
const biliFontSize = 25

// AppendBiliBatch appends the version-0 message packets of b: one DANMU_MSG
// per item, then one RECALL_DANMU_MSG per deleted ID. An item whose stored
// JSON does not decode is left out. It appends nothing when b has neither
// items nor deletes: the protocol has no empty packet.
func AppendBiliBatch(dst []byte, b *Batch) []byte {
	for i := range b.Items {
		dst = appendBiliDanmuPacket(dst, &b.Items[i])
	}
	for _, id := range b.Deletes {
		var start int
		dst, start = beginBiliPacket(dst, BiliVersionJSON, BiliOpMessage)
		dst = append(dst, biliRecallPrefix...)
		dst = append(dst, id...)
		dst = append(dst, `"}}`...)
		dst = endBiliPacket(dst, start)
	}
	return dst
}

// appendBiliDanmuPacket appends the DANMU_MSG packet of it, or nothing when
// its stored JSON does not decode.
func appendBiliDanmuPacket(dst []byte, it *Item) []byte {
	m, err := DecodeStored(it.Stored)
	if err != nil {
		return dst
	}
	dst, start := beginBiliPacket(dst, BiliVersionJSON, BiliOpMessage)
	dst = AppendBiliDanmuJSON(dst, it.ID, &m)
	return endBiliPacket(dst, start)
}

// AppendBiliDanmuJSON appends the DANMU_MSG of comment m whose message ID
// is id:
//
//	{"cmd":"DANMU_MSG","info":[[0,mode,25,color,ts_ms,0,0,"",0,0,0],"text",
//	[uid,"name",admin,0,0,10000,1,""],[],[],[],0,0,null,{"ts":sec,"ct":""}],
//	"id_str":"id"}
//
// mode is BiliModeScroll, BiliModeBottom or BiliModeTop; color the RGB
// value of "#rrggbb" as a decimal integer (white when m.Color is not one);
// uid m.UID when it is a decimal integer below 2^53, else 0; admin 1 for a
// priority message. id must be a valid message ID, which needs no escaping.
func AppendBiliDanmuJSON(dst []byte, id string, m *Message) []byte {
	dst = append(dst, biliDanmuPrefix...)
	dst = strconv.AppendInt(dst, int64(biliMode(m.Mode)), 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, biliFontSize, 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(biliColor(m.Color)), 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, m.TS, 10)
	dst = append(dst, `,0,0,"",0,0,0],`...)
	dst = appendJSONString(dst, m.Text)
	dst = append(dst, ",["...)
	dst = strconv.AppendUint(dst, biliUID(m.UID), 10)
	dst = append(dst, ',')
	dst = appendJSONString(dst, m.Name)
	if m.Prio > 0 {
		dst = append(dst, `,1,`...)
	} else {
		dst = append(dst, `,0,`...)
	}
	dst = append(dst, `0,0,10000,1,""],[],[],[],0,0,null,{"ts":`...)
	dst = strconv.AppendInt(dst, m.TS/1000, 10)
	dst = append(dst, `,"ct":""}],"id_str":"`...)
	dst = append(dst, id...)
	return append(dst, `"}`...)
}

// AppendBiliOnline appends the version-0 ONLINE_RANK_COUNT packet telling
// that the room has count viewers (a negative count is written as 0):
//
//	{"cmd":"ONLINE_RANK_COUNT","data":{"count":N,"count_text":"N",
//	"online_count":N,"online_count_text":"N"}}
func AppendBiliOnline(dst []byte, count int) []byte {
	var digits [20]byte
	n := strconv.AppendInt(digits[:0], int64(max(count, 0)), 10)
	dst, start := beginBiliPacket(dst, BiliVersionJSON, BiliOpMessage)
	dst = append(dst, biliOnlinePrefix...)
	dst = append(dst, n...)
	dst = append(dst, `,"count_text":"`...)
	dst = append(dst, n...)
	dst = append(dst, `","online_count":`...)
	dst = append(dst, n...)
	dst = append(dst, `,"online_count_text":"`...)
	dst = append(dst, n...)
	dst = append(dst, `"}}`...)
	return endBiliPacket(dst, start)
}

func biliMode(mode string) int {
	switch mode {
	case ModeTop:
		return BiliModeTop
	case ModeBottom:
		return BiliModeBottom
	}
	return BiliModeScroll
}

// biliColor returns the RGB value of "#rrggbb", or white.
func biliColor(color string) int {
	if CheckColor(color) != nil {
		return 0xffffff
	}
	v, _ := strconv.ParseUint(color[1:], 16, 32)
	return int(v)
}

// biliUID returns uid as a number when it is a decimal integer that a
// JavaScript number holds exactly, else 0 (a guest, to those clients).
func biliUID(uid string) uint64 {
	const maxSafe = 1<<53 - 1
	if uid == "" || uid[0] < '0' || uid[0] > '9' {
		return 0
	}
	v, err := strconv.ParseUint(uid, 10, 64)
	if err != nil || v > maxSafe {
		return 0
	}
	return v
}
