package codec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidID reports an entry ID that is not of the form "<ms>-<seq>".
var ErrInvalidID = errors.New("codec: invalid entry id")

// ID identifies an entry of one room's log the way Redis Streams does: the
// append time in Unix milliseconds and a sequence number within that
// millisecond. IDs of one room are strictly increasing. The zero ID ("0-0")
// sorts before every entry.
type ID struct {
	MS  uint64
	Seq uint64
}

// ParseID parses "<ms>-<seq>". A bare "<ms>" means "<ms>-0", as in Redis
// range queries.
func ParseID(s string) (ID, error) {
	msPart, seqPart, hasSeq := strings.Cut(s, "-")
	ms, err := strconv.ParseUint(msPart, 10, 64)
	if err != nil || msPart == "" || msPart[0] == '+' {
		return ID{}, fmt.Errorf("%w: %q", ErrInvalidID, s)
	}
	if !hasSeq {
		return ID{MS: ms}, nil
	}
	seq, err := strconv.ParseUint(seqPart, 10, 64)
	if err != nil || seqPart == "" || seqPart[0] == '+' {
		return ID{}, fmt.Errorf("%w: %q", ErrInvalidID, s)
	}
	return ID{MS: ms, Seq: seq}, nil
}

// String returns the "<ms>-<seq>" form.
func (id ID) String() string { return string(id.AppendTo(make([]byte, 0, 24))) }

// AppendTo appends the "<ms>-<seq>" form to dst.
func (id ID) AppendTo(dst []byte) []byte {
	dst = strconv.AppendUint(dst, id.MS, 10)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, id.Seq, 10)
}

// Less reports whether id sorts before o.
func (id ID) Less(o ID) bool {
	return id.MS < o.MS || (id.MS == o.MS && id.Seq < o.Seq)
}

// IsZero reports whether id is "0-0".
func (id ID) IsZero() bool { return id == ID{} }

// Next returns the smallest ID greater than id.
func (id ID) Next() ID {
	if id.Seq == ^uint64(0) {
		return ID{MS: id.MS + 1}
	}
	return ID{MS: id.MS, Seq: id.Seq + 1}
}
