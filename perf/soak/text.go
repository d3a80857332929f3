package soak

import (
	"math/bits"
	"strconv"
	"strings"

	"github.com/danmu-dev/danmu/perf/loadgen"
)

// textPrefix begins the text of every comment the soak posts.
const textPrefix = "soak:"

// appendText appends the text of the room's comment number seq, due at
// due (unix ns): "soak:<seq>:<due>".
func appendText(dst []byte, seq, due int64) []byte {
	dst = append(dst, textPrefix...)
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, ':')
	return strconv.AppendInt(dst, due, 10)
}

// parseText parses a text made by appendText; ok is false for any other.
func parseText(text string) (seq, due int64, ok bool) {
	rest, found := strings.CutPrefix(text, textPrefix)
	if !found {
		return 0, 0, false
	}
	s, d, found := strings.Cut(rest, ":")
	if !found {
		return 0, 0, false
	}
	seqU, err1 := strconv.ParseUint(s, 10, 62)
	dueU, err2 := strconv.ParseUint(d, 10, 63)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return int64(seqU), int64(dueU), true
}

// missing returns how many members of want got lacks, and the first few
// of them (at most limit).
func missing(got, want loadgen.Bitset, limit int) (n int64, first []int64) {
	for w, word := range want {
		if w < len(got) {
			word &^= got[w]
		}
		n += int64(bits.OnesCount64(word))
		for word != 0 && len(first) < limit {
			b := bits.TrailingZeros64(word)
			first = append(first, int64(w)<<6|int64(b))
			word &= word - 1
		}
	}
	return n, first
}
