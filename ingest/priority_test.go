package ingest

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/danmu-dev/danmu/auth"
	"github.com/danmu-dev/danmu/codec"
)

func TestPriority(t *testing.T) {
	mem := newMemory()
	ts := startServer(t, authConfig(t, Config{}), mem, nil, nil)
	admin := mint(t, "mod", "Moderator", auth.RoleAdmin)
	viewer := mint(t, "u1", "", "")

	id := ts.postAs(t, "r", admin, `{"text":"pinned","prio":5}`)
	if m := storedMessage(t, mem, "r", id); m.Prio != 5 || m.UID != "mod" {
		t.Errorf("admin's comment stored as %+v; want prio 5", m)
	}
	stored := lastEntry(t, mem, "r").Data
	if !bytes.HasPrefix(stored, []byte(`{"prio":5,`)) || !codec.IsPriority(stored) {
		t.Errorf("stored form %s does not start with its prio", stored)
	}

	checkError(t, "viewer with prio", ts.send(t, http.MethodPost, "/v1/rooms/r/danmaku", viewer, `{"text":"me first","prio":1}`),
		http.StatusForbidden, CodeForbidden)
	id = ts.postAs(t, "r", viewer, `{"text":"plain","prio":0}`)
	stored = lastEntry(t, mem, "r").Data
	if m := storedMessage(t, mem, "r", id); m.Prio != 0 || codec.IsPriority(stored) || bytes.Contains(stored, []byte("prio")) {
		t.Errorf("viewer's comment stored as %s", stored)
	}
}
