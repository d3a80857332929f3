package loadgen

import (
	"math"
	"strconv"
)

// appendText appends the text of the comment with sequence number seq,
// posted by lane and due at sent (unix ns): "p<lane>:<seq>:<sent>".
func appendText(dst []byte, lane int, seq, sent int64) []byte {
	dst = append(dst, 'p')
	dst = strconv.AppendInt(dst, int64(lane), 10)
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, ':')
	return strconv.AppendInt(dst, sent, 10)
}

// parseText parses a text made by appendText. ok is false for any other
// text.
func parseText(b []byte) (lane int, seq, sent int64, ok bool) {
	if len(b) == 0 || b[0] != 'p' {
		return 0, 0, 0, false
	}
	b = b[1:]
	l, b, ok := parseDecimal(b, ':')
	if !ok || l > 1<<30 {
		return 0, 0, 0, false
	}
	seq, b, ok = parseDecimal(b, ':')
	if !ok {
		return 0, 0, 0, false
	}
	sent, b, ok = parseDecimal(b, 0)
	if !ok || len(b) != 0 {
		return 0, 0, 0, false
	}
	return int(l), seq, sent, true
}

// parseDecimal parses the non-negative decimal at the start of b, which
// must be followed by end (or by nothing when end is 0), and returns the
// rest after end.
func parseDecimal(b []byte, end byte) (int64, []byte, bool) {
	var n int64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := int64(b[i] - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, nil, false
		}
		n = n*10 + d
	}
	if i == 0 {
		return 0, nil, false
	}
	if end == 0 {
		return n, b[i:], true
	}
	if i == len(b) || b[i] != end {
		return 0, nil, false
	}
	return n, b[i+1:], true
}
