package fanout

import (
	"slices"
	"testing"

	"github.com/danmu-dev/danmu/codec"
)

func ids(entries []codec.Entry) []uint64 {
	out := make([]uint64, len(entries))
	for i, e := range entries {
		out[i] = e.ID.MS
	}
	return out
}

func run(from, through uint64) []codec.Entry {
	var out []codec.Entry
	for ms := from; ms <= through; ms++ {
		out = append(out, codec.Entry{ID: codec.ID{MS: ms}})
	}
	return out
}

func id(ms uint64) codec.ID { return codec.ID{MS: ms} }

func TestRecent(t *testing.T) {
	rc := recent{capacity: 4}
	rc.reset(id(10))
	rc.add(run(11, 13), false)
	for _, tc := range []struct {
		since, through uint64
		want           []uint64
		ok             bool
	}{
		{10, 13, []uint64{11, 12, 13}, true},
		{11, 13, []uint64{12, 13}, true},
		{12, 12, nil, true},
		{11, 12, []uint64{12}, true},
		{9, 13, nil, false},  // before the ring
		{10, 14, nil, false}, // past what was read
	} {
		got, ok := rc.span(id(tc.since), id(tc.through))
		if ok != tc.ok || (ok && !slices.Equal(ids(got), tc.want)) {
			t.Errorf("span(%d, %d) = %v, %v; want %v, %v", tc.since, tc.through, ids(got), ok, tc.want, tc.ok)
		}
	}

	rc.add(run(14, 16), false)
	if rc.from != id(12) || !slices.Equal(ids(rc.entries), []uint64{13, 14, 15, 16}) {
		t.Errorf("after overflow: from %v, entries %v; want 12 and 13..16", rc.from, ids(rc.entries))
	}
	rc.add(run(17, 17), true)
	if rc.from != id(17) || len(rc.entries) != 0 {
		t.Errorf("after a gap: from %v, entries %v; want 17 and none", rc.from, ids(rc.entries))
	}
}

func TestRecentSeed(t *testing.T) {
	for _, tc := range []struct {
		name           string
		since, through uint64
		page           []codec.Entry
		wantFrom       uint64
		want           []uint64
	}{
		{"meets the ring", 5, 12, run(6, 12), 5, []uint64{6, 7, 8, 9, 10, 11, 12}},
		{"past the capacity", 1, 12, run(2, 12), 3, []uint64{4, 5, 6, 7, 8, 9, 10, 11, 12}},
		{"a hole before the ring", 5, 9, run(6, 9), 10, []uint64{11, 12}},
		{"nothing older", 10, 12, run(11, 12), 10, []uint64{11, 12}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := recent{capacity: 9}
			rc.reset(id(10))
			rc.add(run(11, 12), false)
			rc.seed(id(tc.since), id(tc.through), tc.page)
			if rc.from != id(tc.wantFrom) || !slices.Equal(ids(rc.entries), tc.want) {
				t.Errorf("from %v entries %v; want %d and %v", rc.from, ids(rc.entries), tc.wantFrom, tc.want)
			}
		})
	}
}
