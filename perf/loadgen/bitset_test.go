package loadgen

import (
	"slices"
	"testing"
)

func TestBitset(t *testing.T) {
	var s Bitset
	members := []int64{0, 1, 63, 64, 127, 1000, 4095}
	for _, i := range members {
		s.Set(i)
	}
	s.Set(63)
	for _, i := range members {
		if !s.Has(i) {
			t.Errorf("has(%d) = false after set", i)
		}
	}
	for _, i := range []int64{2, 62, 65, 999, 4096, 1 << 40} {
		if s.Has(i) {
			t.Errorf("has(%d) = true; never set", i)
		}
	}
	if got := s.Count(); got != int64(len(members)) {
		t.Errorf("count = %d; want %d", got, len(members))
	}
	var each []int64
	s.Each(func(i int64) { each = append(each, i) })
	if !slices.Equal(each, members) {
		t.Errorf("each = %v; want %v", each, members)
	}
	if back := bitsetFromBytes(s.bytes()); !slices.Equal(back[:len(s)], s) {
		t.Errorf("bitsetFromBytes(bytes()) = %v; want %v", back, s)
	}
	if got := orBits(Bitset{1}, Bitset{2, 4}); !slices.Equal(got, Bitset{3, 4}) {
		t.Errorf("orBits = %v; want [3 4]", got)
	}
}
