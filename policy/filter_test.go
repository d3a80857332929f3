package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFold(t *testing.T) {
	tests := []struct{ in, want rune }{
		{'a', 'a'}, {'Z', 'z'}, {'!', '!'},
		{'Ａ', 'a'}, {'ｚ', 'z'}, {'！', '!'}, {'～', '~'}, {'０', '0'},
		{'\u3000', ' '}, {'É', 'é'}, {'Σ', 'σ'}, {'弾', '弾'}, {'\uFF5F', '\uFF5F'},
	}
	for _, tt := range tests {
		if got := fold(tt.in); got != tt.want {
			t.Errorf("fold(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestMatcher(t *testing.T) {
	m := newMatcher([]string{"bad", "BADDER", "he", "she", "his", "hers", "弾幕", "ＦＯＯ bar", "a"})
	tests := []struct {
		text     string
		contains bool
		masked   string
	}{
		{"", false, ""},
		{"good", false, "good"},
		{"bad", true, "***"},
		{"BaD", true, "***"},
		{"ｂａｄ", true, "***"},
		{"Ｂａｄｄｅｒ!", true, "******!"},
		{"ushers", true, "u*****"},
		{"this 弾幕 ok", true, "t*** ** ok"},
		{"foo bar", true, "*******"},
		{"ｆｏｏ\u3000ｂａｒ", true, "*******"},
		{"foo  bar", true, "foo  b*r"},
		{"xyz", false, "xyz"},
		{"😀a😀", true, "😀*😀"},
	}
	for _, tt := range tests {
		if got := m.contains(tt.text); got != tt.contains {
			t.Errorf("contains(%q) = %v; want %v", tt.text, got, tt.contains)
		}
		if got := m.mask(tt.text); got != tt.masked {
			t.Errorf("mask(%q) = %q; want %q", tt.text, got, tt.masked)
		}
	}
	if empty := newMatcher(nil); empty.contains("anything") || empty.mask("anything") != "anything" {
		t.Error("an empty list matched")
	}
}

func TestParseWordList(t *testing.T) {
	words, err := parseWordList(strings.NewReader("# comment\n\n  bad  \r\nworse\n\t#not a comment? no: a comment\n弾幕\nlast"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"bad", "worse", "弾幕", "last"}; strings.Join(words, "|") != strings.Join(want, "|") {
		t.Errorf("words %q; want %q", words, want)
	}
	for name, in := range map[string]string{
		"invalid UTF-8": "ok\nb\xffd\n",
		"long line":     "ok\n" + strings.Repeat("x", maxWordBytes+1) + "\n",
	} {
		if _, err := parseWordList(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// writeWords writes a word list file and returns its path.
func writeWords(t *testing.T, path string, words ...string) string {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "words.txt")
	}
	if err := os.WriteFile(path, []byte(strings.Join(words, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadFilter(t *testing.T) {
	path := writeWords(t, "", "bad", "worse")
	f, err := LoadFilter(path, FilterMask)
	if err != nil {
		t.Fatal(err)
	}
	if f.Words() != 2 || f.Action() != FilterMask {
		t.Errorf("Words %d, Action %q", f.Words(), f.Action())
	}
	if _, err := LoadFilter(path, "drop"); err == nil {
		t.Error("LoadFilter accepted action drop")
	}
	if _, err := LoadFilter(filepath.Join(t.TempDir(), "missing"), FilterReject); !errors.Is(err, ErrWordList) {
		t.Errorf("missing file: %v; want ErrWordList", err)
	}
	if err := os.WriteFile(path, []byte("b\xffd\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Reload(); !errors.Is(err, ErrWordList) {
		t.Errorf("Reload of an invalid file: %v; want ErrWordList", err)
	}
	if f.Words() != 2 || !f.current.Load().contains("worse") {
		t.Error("a failed Reload changed the list in force")
	}
}
