package soak

import (
	"slices"
	"testing"

	"github.com/danmu-dev/danmu/perf/loadgen"
)

func TestParseText(t *testing.T) {
	tests := []struct {
		in       string
		seq, due int64
		ok       bool
	}{
		{"soak:0:1", 0, 1, true},
		{"soak:42:1795633890065000000", 42, 1795633890065000000, true},
		{"soak:42", 0, 0, false},
		{"soak::1", 0, 0, false},
		{"soak:-1:1", 0, 0, false},
		{"soak:1:-1", 0, 0, false},
		{"soak:1:2:3", 0, 0, false},
		{"p0:1:2", 0, 0, false},
		{"soak:99999999999999999999:1", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		seq, due, ok := parseText(tt.in)
		if seq != tt.seq || due != tt.due || ok != tt.ok {
			t.Errorf("parseText(%q) = %d, %d, %v; want %d, %d, %v", tt.in, seq, due, ok, tt.seq, tt.due, tt.ok)
		}
	}
}

func FuzzParseText(f *testing.F) {
	for _, s := range []string{"soak:0:1", "soak:42:1795633890065000000", "soak:1:2:3", "soak:", "p0:1:2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		seq, due, ok := parseText(in)
		if !ok {
			return
		}
		if seq < 0 || due < 0 {
			t.Fatalf("parseText(%q) = %d, %d: negative", in, seq, due)
		}
		again, dueAgain, ok := parseText(string(appendText(nil, seq, due)))
		if !ok || again != seq || dueAgain != due {
			t.Fatalf("round trip of %q: %d, %d, %v", in, again, dueAgain, ok)
		}
	})
}

func TestBitsetMissing(t *testing.T) {
	var want, got loadgen.Bitset
	for i := range int64(200) {
		want.Set(i)
		if i%50 != 7 {
			got.Set(i)
		}
	}
	got.Set(500) // received but not wanted: not missing
	n, first := missing(got, want, 3)
	if n != 4 || !slices.Equal(first, []int64{7, 57, 107}) {
		t.Errorf("missing = %d, %v; want 4, [7 57 107]", n, first)
	}
	var empty loadgen.Bitset
	if n, first := missing(empty, want, 2); n != 200 || !slices.Equal(first, []int64{0, 1}) {
		t.Errorf("empty.missing = %d, %v; want 200, [0 1]", n, first)
	}
	if n, _ := missing(want, empty, 2); n != 0 {
		t.Errorf("missing nothing = %d; want 0", n)
	}
	if got.Count() != 197 || !got.Has(500) || got.Has(7) {
		t.Errorf("count = %d, has(500) = %v, has(7) = %v", got.Count(), got.Has(500), got.Has(7))
	}
}
