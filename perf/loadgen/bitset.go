package loadgen

import (
	"encoding/binary"
	"math/bits"
)

// Bitset is a growable set of non-negative integers: the sequence numbers
// of the comments a publisher had accepted or a viewer received. The zero
// value is the empty set.
type Bitset []uint64

// Set adds i, which must not be negative.
func (s *Bitset) Set(i int64) {
	w := int(i >> 6)
	if w >= len(*s) {
		grown := make(Bitset, max(w+1, 2*len(*s)))
		copy(grown, *s)
		*s = grown
	}
	(*s)[w] |= 1 << (uint(i) & 63)
}

// Has reports whether i is a member.
func (s Bitset) Has(i int64) bool {
	w := int(i >> 6)
	return w < len(s) && s[w]&(1<<(uint(i)&63)) != 0
}

// Count returns the number of members.
func (s Bitset) Count() int64 {
	var n int
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return int64(n)
}

// Each calls fn with every member, in increasing order.
func (s Bitset) Each(fn func(i int64)) {
	for w, word := range s {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			fn(int64(w)<<6 | int64(b))
			word &= word - 1
		}
	}
}

// bytes returns s as little-endian words, for a worker's report.
func (s Bitset) bytes() []byte {
	b := make([]byte, 0, 8*len(s))
	for _, w := range s {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	return b
}

// bitsetFromBytes decodes what bytes returned; a trailing partial word is
// read as if zero-padded.
func bitsetFromBytes(b []byte) Bitset {
	s := make(Bitset, (len(b)+7)/8)
	for i := range s {
		var word [8]byte
		copy(word[:], b[8*i:])
		s[i] = binary.LittleEndian.Uint64(word[:])
	}
	return s
}
