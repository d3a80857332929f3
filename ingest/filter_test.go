package ingest

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/danmu-dev/danmu/auth"
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

func TestFilterReject(t *testing.T) {
	f, err := LoadFilter(writeWords(t, "", "badword", "弾幕"), FilterReject)
	if err != nil {
		t.Fatal(err)
	}
	mem := newMemory()
	ts := startServer(t, Config{Filter: f}, mem, nil, nil)
	for _, body := range []string{
		`{"text":"a badword here"}`,
		`{"text":"a BADWORD here"}`,
		`{"text":"ｂａｄｗｏｒｄ"}`,
		`{"text":"ＢＡＤword"}`,
		`{"text":"弾幕!"}`,
		`{"text":"fine","name":"badword"}`,
	} {
		checkError(t, body, ts.post(t, "r", body), http.StatusUnprocessableEntity, CodeContentRejected)
	}
	if last, err := mem.Last(t.Context(), "r"); err != nil || !last.IsZero() {
		t.Errorf("a rejected comment was stored: %v %v", last, err)
	}
	ts.postAs(t, "r", "", `{"text":"bad word, spaced"}`)
}

func TestFilterMask(t *testing.T) {
	f, err := LoadFilter(writeWords(t, "", "badword", "弾幕"), FilterMask)
	if err != nil {
		t.Fatal(err)
	}
	mem := newMemory()
	ts := startServer(t, Config{Filter: f}, mem, nil, nil)
	tests := []struct{ body, text, name string }{
		{`{"text":"a badword here"}`, "a ******* here", "guest"},
		{`{"text":"ＢＡＤｗｏｒｄ!"}`, "*******!", "guest"},
		{`{"text":"弾幕弾幕","name":"x弾幕x"}`, "****", "x**x"},
		{`{"text":"clean"}`, "clean", "guest"},
	}
	for _, tt := range tests {
		id := ts.postAs(t, "r", "", tt.body)
		if m := storedMessage(t, mem, "r", id); m.Text != tt.text || m.Name != tt.name {
			t.Errorf("POST %s stored text %q name %q; want %q, %q", tt.body, m.Text, m.Name, tt.text, tt.name)
		}
	}
}

// TestFilterReload rewrites the word list and reloads it through the admin
// endpoint, and checks a failed reload keeps the list in force.
func TestFilterReload(t *testing.T) {
	path := writeWords(t, "", "old")
	f, err := LoadFilter(path, FilterReject)
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, authConfig(t, Config{Filter: f}), newMemory(), nil, nil)
	admin := mint(t, "mod", "", auth.RoleAdmin)
	user := mint(t, "u1", "", "")
	checkError(t, "old word", ts.send(t, http.MethodPost, "/v1/rooms/r/danmaku", user, `{"text":"old"}`), 422, CodeContentRejected)
	ts.postAs(t, "r", user, `{"text":"new"}`)

	writeWords(t, path, "new", "newer")
	r := ts.send(t, http.MethodPost, "/v1/admin/filter/reload", admin, "")
	if r.status != http.StatusOK || string(r.body) != `{"words":2}` || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("reload: %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	ts.postAs(t, "r", user, `{"text":"old"}`)
	checkError(t, "new word", ts.send(t, http.MethodPost, "/v1/rooms/r/danmaku", user, `{"text":"ｎｅｗ"}`), 422, CodeContentRejected)

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	checkError(t, "reload of a missing file", ts.send(t, http.MethodPost, "/v1/admin/filter/reload", admin, ""),
		http.StatusInternalServerError, CodeReloadFailed)
	checkError(t, "new word after a failed reload", ts.send(t, http.MethodPost, "/v1/rooms/r/danmaku", user, `{"text":"newer"}`),
		422, CodeContentRejected)

	plain := startServer(t, authConfig(t, Config{}), newMemory(), nil, nil)
	checkError(t, "reload without a filter", plain.send(t, http.MethodPost, "/v1/admin/filter/reload", admin, ""),
		http.StatusConflict, CodeNoFilter)
}
