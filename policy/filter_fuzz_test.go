package policy

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// naiveMask marks every rune of text inside an occurrence of a word,
// comparing folded runes at every position: the definition the automaton
// must agree with.
func naiveMask(words []string, text string) (string, bool) {
	runes := []rune(text)
	folded := make([]rune, len(runes))
	for i, r := range runes {
		folded[i] = fold(r)
	}
	marked := make([]bool, len(runes))
	found := false
	for _, w := range words {
		var fw []rune
		for _, r := range w {
			fw = append(fw, fold(r))
		}
		for start := 0; start+len(fw) <= len(folded); start++ {
			if string(folded[start:start+len(fw)]) == string(fw) {
				found = true
				for j := start; j < start+len(fw); j++ {
					marked[j] = true
				}
			}
		}
	}
	for i := range runes {
		if marked[i] {
			runes[i] = '*'
		}
	}
	return string(runes), found
}

// FuzzFilter checks the automaton against naiveMask: the same verdict and
// the same masked text, for word lists parsed like a file.
func FuzzFilter(f *testing.F) {
	seeds := []struct{ words, text string }{
		{"bad\nworse", "this is bad, worse, BAD"},
		{"he\nshe\nhis\nhers", "ushers and his"},
		{"弾幕\nＦＯＯ", "弾幕 foo ｆｏｏ"},
		{"aa\na", "aaaa"},
		{"# comment\n\n x y \n", "x y x  y"},
		{"É\nσ", "éΣ"},
		{"", "nothing"},
	}
	for _, s := range seeds {
		f.Add(s.words, s.text)
	}
	f.Fuzz(func(t *testing.T, list, text string) {
		if len(list) > 4096 || len(text) > 1024 {
			return // naiveMask is quadratic
		}
		words, err := parseWordList(strings.NewReader(list))
		if err != nil || !utf8.ValidString(text) {
			return
		}
		m := newMatcher(words)
		want, found := naiveMask(words, text)
		if got := m.contains(text); got != found {
			t.Fatalf("words %q, text %q: contains = %v; want %v", words, text, got, found)
		}
		if got := m.mask(text); got != want {
			t.Fatalf("words %q, text %q: mask = %q; want %q", words, text, got, want)
		}
	})
}
