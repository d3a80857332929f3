package ingest

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/danmu-dev/danmu/auth"
	"github.com/danmu-dev/danmu/codec"
)

func TestBan(t *testing.T) {
	var logs syncBuffer
	ts := startServer(t, authConfig(t, Config{}), newMemory(), nil, slog.New(slog.NewTextHandler(&logs, nil)))
	admin := mint(t, "mod", "", auth.RoleAdmin)
	u1, u2 := mint(t, "u1", "", ""), mint(t, "u2", "", "")
	ts.postAs(t, "r", u1, `{"text":"before the ban"}`)
	if r := ts.send(t, http.MethodPut, "/v1/rooms/r/bans/u1", admin, `{"seconds":600}`); r.status != http.StatusNoContent {
		t.Fatalf("PUT ban: %d %s", r.status, r.body)
	}
	checkError(t, "banned user", ts.send(t, http.MethodPost, "/v1/rooms/r/danmaku", u1, `{"text":"banned"}`),
		http.StatusForbidden, CodeBanned)
	ts.postAs(t, "r", u2, `{"text":"another user"}`)
	ts.postAs(t, "r2", u1, `{"text":"another room"}`)
	// The ban follows the token's sub, whatever uid the body claims.
	checkError(t, "banned user claiming another uid", ts.send(t, http.MethodPost, "/v1/rooms/r/danmaku", u1, `{"text":"x","uid":"u2"}`),
		http.StatusForbidden, CodeBanned)

	if r := ts.send(t, http.MethodDelete, "/v1/rooms/r/bans/u1", admin, ""); r.status != http.StatusNoContent {
		t.Fatalf("DELETE ban: %d %s", r.status, r.body)
	}
	ts.postAs(t, "r", u1, `{"text":"after the ban"}`)
	if r := ts.send(t, http.MethodDelete, "/v1/rooms/r/bans/u1", admin, ""); r.status != http.StatusNoContent {
		t.Errorf("DELETE of no ban: %d %s; want 204", r.status, r.body)
	}
	// Admins are never banned.
	if r := ts.send(t, http.MethodPut, "/v1/rooms/r/bans/mod", admin, `{"seconds":600}`); r.status != http.StatusNoContent {
		t.Fatalf("PUT ban of an admin: %d %s", r.status, r.body)
	}
	ts.postAs(t, "r", admin, `{"text":"still here"}`)

	log := logs.String()
	for _, want := range []string{"action=ban room=r admin=mod", "uid=u1 seconds=600", "action=unban room=r admin=mod"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestDeleteComment(t *testing.T) {
	var logs syncBuffer
	mem := newMemory()
	ts := startServer(t, authConfig(t, Config{}), mem, nil, slog.New(slog.NewTextHandler(&logs, nil)))
	admin := mint(t, "mod", "", auth.RoleAdmin)
	viewer := mint(t, "u1", "", "")
	first := ts.postAs(t, "r", viewer, `{"text":"keep"}`)
	target := ts.postAs(t, "r", viewer, `{"text":"delete me"}`)

	if r := ts.send(t, http.MethodDelete, "/v1/rooms/r/danmaku/"+target, admin, ""); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("DELETE: %d %s; want 204", r.status, r.body)
	}
	last := lastEntry(t, mem, "r")
	if !codec.IsControl(last.Data) {
		t.Fatalf("newest entry %s is not a control record", last.Data)
	}
	c, err := codec.ParseControl(last.Data)
	if err != nil || c.Op != codec.OpDelete || c.ID != target {
		t.Errorf("control record %s = %+v, %v; want delete of %s", last.Data, c, err, target)
	}
	if !strings.Contains(logs.String(), "action=delete room=r admin=mod") || !strings.Contains(logs.String(), "id="+target) {
		t.Errorf("delete not logged:\n%s", logs.String())
	}

	firstID, _ := codec.ParseID(first)
	tests := []struct {
		name, path string
		status     int
		code       string
	}{
		{"unknown id", "/v1/rooms/r/danmaku/1-0", 404, CodeNotFound},
		{"id of another room", "/v1/rooms/r2/danmaku/" + first, 404, CodeNotFound},
		{"id of the control record", "/v1/rooms/r/danmaku/" + last.ID.String(), 404, CodeNotFound},
		{"id after every entry", "/v1/rooms/r/danmaku/" + codec.ID{MS: last.ID.MS + 1000}.String(), 404, CodeNotFound},
		{"zero id", "/v1/rooms/r/danmaku/0-0", 400, CodeInvalidID},
		{"word id", "/v1/rooms/r/danmaku/abc", 400, CodeInvalidID},
		{"negative seq", "/v1/rooms/r/danmaku/1--1", 400, CodeInvalidID},
		{"invalid room", "/v1/rooms/a%21b/danmaku/" + first, 400, CodeInvalidRoom},
	}
	for _, tt := range tests {
		checkError(t, tt.name, ts.send(t, http.MethodDelete, tt.path, admin, ""), tt.status, tt.code)
	}
	if got := lastEntry(t, mem, "r"); got.ID != last.ID {
		t.Errorf("refused deletes appended %s", got.Data)
	}
	// An id of the bare "<ms>" form names "<ms>-0", and the record names
	// the full id.
	ms, _, _ := strings.Cut(first, "-")
	if firstID.Seq == 0 {
		if r := ts.send(t, http.MethodDelete, "/v1/rooms/r/danmaku/"+ms, admin, ""); r.status != http.StatusNoContent {
			t.Fatalf("DELETE %s: %d %s", ms, r.status, r.body)
		}
		if c, err := codec.ParseControl(lastEntry(t, mem, "r").Data); err != nil || c.ID != first {
			t.Errorf("record of DELETE %s = %+v, %v; want id %s", ms, c, err, first)
		}
	}
}

func TestPreviousID(t *testing.T) {
	tests := []struct{ in, want codec.ID }{
		{codec.ID{MS: 5, Seq: 3}, codec.ID{MS: 5, Seq: 2}},
		{codec.ID{MS: 5, Seq: 0}, codec.ID{MS: 4, Seq: ^uint64(0)}},
		{codec.ID{MS: 0, Seq: 1}, codec.ID{}},
	}
	for _, tt := range tests {
		if got := previousID(tt.in); got != tt.want || got.Next() != tt.in {
			t.Errorf("previousID(%v) = %v; want %v", tt.in, got, tt.want)
		}
	}
}
