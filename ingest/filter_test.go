package ingest

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/danmu-dev/danmu/auth"
	"github.com/danmu-dev/danmu/policy"
)

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

func TestFilterReject(t *testing.T) {
	f, err := policy.LoadFilter(writeWords(t, "", "badword", "弾幕"), policy.FilterReject)
	if err != nil {
		t.Fatal(err)
	}
	mem := newMemory()
	ts := startServer(t, Config{Policy: policy.Config{Filter: f}}, mem, nil, nil)
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
	f, err := policy.LoadFilter(writeWords(t, "", "badword", "弾幕"), policy.FilterMask)
	if err != nil {
		t.Fatal(err)
	}
	mem := newMemory()
	ts := startServer(t, Config{Policy: policy.Config{Filter: f}}, mem, nil, nil)
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
	f, err := policy.LoadFilter(path, policy.FilterReject)
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, authConfig(t, Config{Policy: policy.Config{Filter: f}}), newMemory(), nil, nil)
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
