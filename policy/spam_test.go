package policy

import "testing"

func TestTextSum(t *testing.T) {
	same := [][]string{
		{"abc", "ABC", "ａｂｃ", " a b c ", "a\u3000bc"},
		{"弾幕", "弾 幕"},
	}
	for _, group := range same {
		for _, s := range group[1:] {
			if textSum(s) != textSum(group[0]) {
				t.Errorf("textSum(%q) != textSum(%q)", s, group[0])
			}
		}
	}
	for _, pair := range [][2]string{{"abc", "abd"}, {"ab", "abc"}, {"", "a"}, {"弾幕", "幕弾"}} {
		if textSum(pair[0]) == textSum(pair[1]) {
			t.Errorf("textSum(%q) == textSum(%q)", pair[0], pair[1])
		}
	}
}
