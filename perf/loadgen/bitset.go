package loadgen

import (
	"encoding/binary"
	"math/bits"
)

// bitset is a growable set of non-negative integers.
type bitset []uint64

func (s *bitset) set(i int64) {
	w := int(i >> 6)
	if w >= len(*s) {
		grown := make(bitset, max(w+1, 2*len(*s)))
		copy(grown, *s)
		*s = grown
	}
	(*s)[w] |= 1 << (uint(i) & 63)
}

func (s bitset) has(i int64) bool {
	w := int(i >> 6)
	return w < len(s) && s[w]&(1<<(uint(i)&63)) != 0
}

func (s bitset) count() int64 {
	var n int
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return int64(n)
}

// each calls fn with every member, in increasing order.
func (s bitset) each(fn func(i int64)) {
	for w, word := range s {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			fn(int64(w)<<6 | int64(b))
			word &= word - 1
		}
	}
}

// bytes returns s as little-endian words, for a worker's report.
func (s bitset) bytes() []byte {
	b := make([]byte, 0, 8*len(s))
	for _, w := range s {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	return b
}

// bitsetFromBytes decodes what bytes returned; a trailing partial word is
// read as if zero-padded.
func bitsetFromBytes(b []byte) bitset {
	s := make(bitset, (len(b)+7)/8)
	for i := range s {
		var word [8]byte
		copy(word[:], b[8*i:])
		s[i] = binary.LittleEndian.Uint64(word[:])
	}
	return s
}
