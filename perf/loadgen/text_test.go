package loadgen

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestText(t *testing.T) {
	tests := []struct {
		lane      int
		seq, sent int64
		want      string
	}{
		{0, 0, 0, "p0:0:0"},
		{3, 1234, 1700000000123456789, "p3:1234:1700000000123456789"},
		{63, 1<<62 + 5, 1<<63 - 1, "p63:4611686018427387909:9223372036854775807"},
	}
	for _, tt := range tests {
		got := string(appendText(nil, tt.lane, tt.seq, tt.sent))
		if got != tt.want {
			t.Errorf("appendText(%d, %d, %d) = %q; want %q", tt.lane, tt.seq, tt.sent, got, tt.want)
		}
		if n := utf8.RuneCountInString(got); n > 100 {
			t.Errorf("appendText(%d, %d, %d) has %d runes; danmu takes at most 100", tt.lane, tt.seq, tt.sent, n)
		}
		lane, seq, sent, ok := parseText([]byte(got))
		if !ok || lane != tt.lane || seq != tt.seq || sent != tt.sent {
			t.Errorf("parseText(%q) = %d, %d, %d, %v; want %d, %d, %d, true", got, lane, seq, sent, ok, tt.lane, tt.seq, tt.sent)
		}
	}
}

func TestParseTextRejects(t *testing.T) {
	for _, in := range []string{
		"", "p", "p1", "p1:", "p1:2", "p1:2:", "q1:2:3", "p1:2:3:", "p1:2:3x", "p-1:2:3", "p1::3", "p:1:2",
		"p1:2:99999999999999999999", "p1:2:9223372036854775808", "p9999999999:1:1", "hello", "p1:2:3 ",
	} {
		if lane, seq, sent, ok := parseText([]byte(in)); ok {
			t.Errorf("parseText(%q) = %d, %d, %d, true; want false", in, lane, seq, sent)
		}
	}
}

func FuzzParseText(f *testing.F) {
	for _, seed := range []string{"p0:0:0", "p3:1234:1700000000123456789", "p1:2:3:", "p:1:2", "hello"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		lane, seq, sent, ok := parseText([]byte(in))
		if !ok {
			return
		}
		if lane < 0 || seq < 0 || sent < 0 {
			t.Fatalf("parseText(%q) = %d, %d, %d: negative", in, lane, seq, sent)
		}
		// Leading zeros parse too, so compare the round trip of the values.
		again := string(appendText(nil, lane, seq, sent))
		l2, s2, t2, ok2 := parseText([]byte(again))
		if !ok2 || l2 != lane || s2 != seq || t2 != sent {
			t.Fatalf("round trip of %q through %q = %d, %d, %d, %v", in, again, l2, s2, t2, ok2)
		}
		if !strings.HasPrefix(in, "p") {
			t.Fatalf("parseText(%q) accepted a text without the p prefix", in)
		}
	})
}
