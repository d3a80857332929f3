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
	last := lastEntry(t, mem, "r")
	if e := codec.DecodeEntry(last.ID, last.Data); !e.Item.Priority() {
		t.Errorf("stored form %q does not carry its prio", last.Data)
	}

	checkError(t, "viewer with prio", ts.send(t, http.MethodPost, "/v1/rooms/r/danmaku", viewer, `{"text":"me first","prio":1}`),
		http.StatusForbidden, CodeForbidden)
	id = ts.postAs(t, "r", viewer, `{"text":"plain","prio":0}`)
	last = lastEntry(t, mem, "r")
	if m, e := storedMessage(t, mem, "r", id), codec.DecodeEntry(last.ID, last.Data); m.Prio != 0 || e.Item.Priority() || bytes.Contains(e.Item.JSON, []byte("prio")) {
		t.Errorf("viewer's comment stored as %q", last.Data)
	}
}
