package codec

import (
	"hash/crc32"
	"strconv"
)

// The commands danmu sends to Bilibili-compatible clients, in version-0
// operation-5 packets (one JSON object each):
//
//   - DANMU_MSG for a comment, in the full shape of the messages Bilibili
//     sends (docs/bilibili.md lists every position and where it comes
//     from). A priority comment (Message.Prio above zero) is a DANMU_MSG
//     from a room admin (info[2][2] = 1), the closest thing those clients
//     know; fan-out already puts it first in its batch.
//   - RECALL_DANMU_MSG for a comment a moderator deleted. Its data names the
//     comment by "id_str", the danmu message ID that the comment's
//     DANMU_MSG carries in its own "id_str"; target_id is always 0.
//   - ONLINE_RANK_COUNT and WATCHED_CHANGE for a room's online count, sent
//     every online interval; the heartbeat reply carries the same count.
//
// A batch's "dropped" and "gap" have no equivalent and are not sent.

// Display modes of DANMU_MSG (info[0][1]).
const (
	BiliModeScroll = 1
	BiliModeBottom = 4
	BiliModeTop    = 5
)

// BiliFontSize is the font size of every DANMU_MSG (info[0][2]): the
// standard size of those clients, and the one size danmu has.
const BiliFontSize = 25

// The constant runs of a DANMU_MSG. The values danmu has no notion of
// (medals, user levels, wealth, titles, emoticons, voice, reply targets)
// are the neutral ones real messages carry for a viewer who has none; the
// level array is that of a level-0 user.
const (
	biliDanmuPrefix = `{"cmd":"DANMU_MSG","dm_v2":"","info":[[0,`
	// After info[0][7], the user hash: info[0][8] to info[0][14], then
	// the mode_info object of info[0][15].
	biliDanmuMeta = `",0,0,0,"",0,"{}","{}",`
	// After mode_info: info[0][16] and info[0][17], then info[1].
	biliDanmuMetaEnd = `,{"activity_identity":"","activity_source":0,"not_show":0},0],`
	// After info[2][2] (admin): the rest of info[2], info[3] (no medal),
	// info[4] (user level), info[5] (titles), info[6] to info[8], then
	// info[9].ts.
	biliDanmuUserEnd = `,0,0,10000,1,""],[],[0,0,9868950,">50000",0],["",""],0,0,null,{"ts":`
	// After info[9].ts: info[9].ct, info[10] to info[17], then the
	// top-level id_str danmu adds.
	biliDanmuEnd = `,"ct":""},0,0,null,null,0,0,[0],null],"id_str":"`

	// mode_info (info[0][15]; the data.mode_info of POST /msg/send), with
	// extra as a JSON string: its quotes are escaped.
	biliModeInfoPrefix  = `{"mode":0,"show_player_type":0,"extra":"{\"send_from_me\":`
	biliExtraColor      = `,\"mode\":0,\"color\":`
	biliExtraPlayerMode = `,\"dm_type\":0,\"font_size\":25,\"player_mode\":`
	biliExtraContent    = `,\"show_player_type\":0,\"content\":\"`
	biliExtraUserHash   = `\",\"user_hash\":\"`
	biliExtraIDStr      = `\",\"emoticon_unique\":\"\",\"bulge_display\":0,\"recommend_score\":0,` +
		`\"main_state_dm_color\":\"\",\"objective_state_dm_color\":\"\",\"direction\":0,\"pk_direction\":0,` +
		`\"quartet_direction\":0,\"anniversary_crowd\":0,\"yeah_space_type\":\"\",\"yeah_space_url\":\"\",` +
		`\"jump_to_url\":\"\",\"space_type\":\"\",\"space_url\":\"\",\"animation\":{},\"emots\":null,` +
		`\"is_audited\":false,\"id_str\":\"`
	biliExtraEnd = `\",\"icon\":null,\"show_reply\":true,\"reply_mid\":0,\"reply_uname\":\"\",` +
		`\"reply_uname_color\":\"\",\"reply_is_mystery\":false,\"reply_type_enum\":0,\"hit_combo\":0,` +
		`\"esports_jump_url\":\"\"}","user":{"uid":`
	biliUserName    = `,"base":{"name":`
	biliUserOrigin  = `,"face":"","name_color":0,"name_color_str":"","is_mystery":false,"risk_ctrl_info":null,"origin_info":{"name":`
	biliModeInfoEnd = `,"face":""},"official_info":{"role":0,"title":"","desc":"","type":-1}},"medal":null,"wealth":null,` +
		`"title":{"old_title_css_id":"","title_css_id":""},"guard":null,"uhead_frame":null,"guard_leader":{"is_guard_leader":false}}}`
)

// Other commands.
const (
	biliRecallPrefix  = `{"cmd":"RECALL_DANMU_MSG","data":{"recall_type":0,"target_id":0,"id_str":"`
	biliOnlinePrefix  = `{"cmd":"ONLINE_RANK_COUNT","data":{"count":`
	biliWatchedPrefix = `{"cmd":"WATCHED_CHANGE","data":{"num":`
)

// AppendBiliBatch appends the version-0 message packets of b: one DANMU_MSG
// per item, then one RECALL_DANMU_MSG per deleted ID. It appends nothing when b has neither
// items nor deletes: the protocol has no empty packet.
func AppendBiliBatch(dst []byte, b *Batch) []byte {
	for i := range b.Items {
		var start int
		dst, start = beginBiliPacket(dst, BiliVersionJSON, BiliOpMessage)
		dst = AppendBiliDanmuJSON(dst, b.Items[i].Message.ID, &b.Items[i].Message)
		dst = endBiliPacket(dst, start)
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

// AppendBiliDanmuJSON appends the DANMU_MSG of comment m whose message ID
// is id. The positions danmu fills (docs/bilibili.md has the whole shape):
//
//	info[0][1]  mode: BiliModeScroll, BiliModeBottom or BiliModeTop
//	info[0][2]  BiliFontSize
//	info[0][3]  color: the RGB value of "#rrggbb" (white when m.Color is not one)
//	info[0][4]  m.TS, Unix milliseconds
//	info[0][5]  rnd: m.TS in seconds, what the web client sends as rnd
//	info[0][7]  the user hash: CRC-32 of m.UID, 8 lowercase hex digits
//	info[0][15] mode_info (AppendBiliModeInfo): the text, color, mode,
//	            user hash and id in its extra, the uid and name in its user
//	info[1]     m.Text
//	info[2]     [uid, m.Name, admin, 0, 0, 10000, 1, ""]: admin 1 for a
//	            priority message
//	info[9]     {"ts": m.TS in seconds, "ct": ""}
//	id_str      id, added by danmu (RECALL_DANMU_MSG names it)
//
// uid is m.UID when it is a decimal integer below 2^53, else 0. id must be
// a valid message ID, which needs no escaping. Text and name are escaped,
// twice inside extra, so the message is valid JSON, and so is extra,
// whatever they hold.
func AppendBiliDanmuJSON(dst []byte, id string, m *Message) []byte {
	mode, color, hash := biliMode(m.Mode), biliColor(m.Color), biliUserHash(m.UID)
	dst = append(dst, biliDanmuPrefix...)
	dst = strconv.AppendInt(dst, int64(mode), 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, BiliFontSize, 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(color), 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, m.TS, 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, m.TS/1000, 10)
	dst = append(dst, `,0,"`...)
	dst = appendHash8(dst, hash)
	dst = append(dst, biliDanmuMeta...)
	dst = appendBiliModeInfo(dst, id, m, false, mode, color, hash)
	dst = append(dst, biliDanmuMetaEnd...)
	dst = appendJSONString(dst, m.Text)
	dst = append(dst, ",["...)
	dst = strconv.AppendUint(dst, biliUID(m.UID), 10)
	dst = append(dst, ',')
	dst = appendJSONString(dst, m.Name)
	if m.Prio > 0 {
		dst = append(dst, ",1"...)
	} else {
		dst = append(dst, ",0"...)
	}
	dst = append(dst, biliDanmuUserEnd...)
	dst = strconv.AppendInt(dst, m.TS/1000, 10)
	dst = append(dst, biliDanmuEnd...)
	dst = append(dst, id...)
	return append(dst, `"}`...)
}

// AppendBiliModeInfo appends the mode_info object of comment m whose
// message ID is id: info[0][15] of its DANMU_MSG, and what POST /msg/send
// answers in data.mode_info, where sendFromMe is true.
func AppendBiliModeInfo(dst []byte, id string, m *Message, sendFromMe bool) []byte {
	return appendBiliModeInfo(dst, id, m, sendFromMe, biliMode(m.Mode), biliColor(m.Color), biliUserHash(m.UID))
}

func appendBiliModeInfo(dst []byte, id string, m *Message, sendFromMe bool, mode, color int, hash uint32) []byte {
	dst = append(dst, biliModeInfoPrefix...)
	dst = strconv.AppendBool(dst, sendFromMe)
	dst = append(dst, biliExtraColor...)
	dst = strconv.AppendInt(dst, int64(color), 10)
	dst = append(dst, biliExtraPlayerMode...)
	dst = strconv.AppendInt(dst, int64(mode), 10)
	dst = append(dst, biliExtraContent...)
	dst = appendJSONChars(dst, m.Text, true)
	dst = append(dst, biliExtraUserHash...)
	dst = strconv.AppendUint(dst, uint64(hash), 10)
	dst = append(dst, biliExtraIDStr...)
	dst = append(dst, id...)
	dst = append(dst, biliExtraEnd...)
	dst = strconv.AppendUint(dst, biliUID(m.UID), 10)
	dst = append(dst, biliUserName...)
	dst = appendJSONString(dst, m.Name)
	dst = append(dst, biliUserOrigin...)
	dst = appendJSONString(dst, m.Name)
	return append(dst, biliModeInfoEnd...)
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

// AppendBiliWatched appends the version-0 WATCHED_CHANGE packet of a room
// with count viewers (a negative count is written as 0), the count current
// web clients display:
//
//	{"cmd":"WATCHED_CHANGE","data":{"num":N,"text_small":"T","text_large":"T人看过"}}
//
// T is N in digits below 10 000, and from 10 000 on N in units of 万
// (10 000) with one decimal, cut, not rounded: 95785 is "9.5万", 120457
// "12.0万", as in the real messages.
func AppendBiliWatched(dst []byte, count int) []byte {
	var text [24]byte
	t := appendBiliCountText(text[:0], max(count, 0))
	dst, start := beginBiliPacket(dst, BiliVersionJSON, BiliOpMessage)
	dst = append(dst, biliWatchedPrefix...)
	dst = strconv.AppendInt(dst, int64(max(count, 0)), 10)
	dst = append(dst, `,"text_small":"`...)
	dst = append(dst, t...)
	dst = append(dst, `","text_large":"`...)
	dst = append(dst, t...)
	dst = append(dst, `人看过"}}`...)
	return endBiliPacket(dst, start)
}

// appendBiliCountText appends count as WATCHED_CHANGE writes it.
func appendBiliCountText(dst []byte, count int) []byte {
	const wan = 10000
	if count < wan {
		return strconv.AppendInt(dst, int64(count), 10)
	}
	dst = strconv.AppendInt(dst, int64(count/wan), 10)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, int64(count%wan/(wan/10)), 10)
	return append(dst, "万"...)
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

// BiliModeName returns the danmu mode of a DANMU_MSG mode, and false for a
// mode danmu does not have.
func BiliModeName(mode int) (string, bool) {
	switch mode {
	case BiliModeScroll:
		return ModeScroll, true
	case BiliModeBottom:
		return ModeBottom, true
	case BiliModeTop:
		return ModeTop, true
	}
	return "", false
}

// biliColor returns the RGB value of "#rrggbb", or white.
func biliColor(color string) int {
	if CheckColor(color) != nil {
		return 0xffffff
	}
	v, _ := strconv.ParseUint(color[1:], 16, 32)
	return int(v)
}

// BiliColorName returns the "#rrggbb" color of a DANMU_MSG color, and
// false when rgb is not a 24-bit RGB value.
func BiliColorName(rgb int64) (string, bool) {
	const hex = "0123456789abcdef"
	if rgb < 0 || rgb > 0xffffff {
		return "", false
	}
	c := [7]byte{'#'}
	for i := 6; i > 0; i-- {
		c[i] = hex[rgb&0xf]
		rgb >>= 4
	}
	return string(c[:]), true
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

// biliUserHash returns the user hash of a DANMU_MSG: the CRC-32 (IEEE) of
// the user id as text, which for Bilibili's numeric ids is what real
// messages carry (crc32("6088969") is 0x0bc8acd0, the hash of that user).
// It hashes the string in place: crc32.ChecksumIEEE would need a []byte,
// and the conversion would allocate.
func biliUserHash(uid string) uint32 {
	crc := ^uint32(0)
	for i := 0; i < len(uid); i++ {
		crc = crc32.IEEETable[byte(crc)^uid[i]] ^ crc>>8
	}
	return ^crc
}

// appendHash8 appends h as 8 lowercase hex digits.
func appendHash8(dst []byte, h uint32) []byte {
	const hex = "0123456789abcdef"
	for shift := 28; shift >= 0; shift -= 4 {
		dst = append(dst, hex[h>>uint(shift)&0xf])
	}
	return dst
}
