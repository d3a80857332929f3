package ingest

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/danmu-dev/danmu/auth"
)

func TestSlowMode(t *testing.T) {
	var logs syncBuffer
	ts := startServer(t, authConfig(t, Config{}), newMemory(), nil, slog.New(slog.NewTextHandler(&logs, nil)))
	admin := mint(t, "mod", "", auth.RoleAdmin)
	u1, u2 := mint(t, "u1", "", ""), mint(t, "u2", "", "")
	for range 3 {
		ts.postAs(t, "r", u1, `{"text":"no slow mode yet"}`)
	}
	if r := ts.send(t, http.MethodPut, "/v1/rooms/r/slowmode", admin, `{"seconds":60}`); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("PUT slowmode: %d %s; want 204", r.status, r.body)
	}
	ts.postAs(t, "r", u1, `{"text":"first under slow mode"}`)
	r := ts.send(t, http.MethodPost, "/v1/rooms/r/danmaku", u1, `{"text":"too soon"}`)
	checkError(t, "second post under slow mode", r, http.StatusTooManyRequests, CodeSlowMode)
	checkRetryAfter(t, "second post under slow mode", r, 59, 60)
	ts.postAs(t, "r", u2, `{"text":"another user"}`)
	ts.postAs(t, "r2", u1, `{"text":"another room"}`)
	ts.postAs(t, "r", admin, `{"text":"admins"}`)
	ts.postAs(t, "r", admin, `{"text":"are not slowed"}`)

	if r := ts.send(t, http.MethodPut, "/v1/rooms/r/slowmode", admin, `{"seconds":0}`); r.status != http.StatusNoContent {
		t.Fatalf("PUT slowmode 0: %d %s", r.status, r.body)
	}
	ts.postAs(t, "r", u1, `{"text":"slow mode is off"}`)
	ts.postAs(t, "r", u1, `{"text":"and stays off"}`)

	log := logs.String()
	if !strings.Contains(log, "action=slowmode room=r admin=mod") || !strings.Contains(log, "seconds=60") {
		t.Errorf("admin action not logged:\n%s", log)
	}
	if strings.Contains(log, admin) {
		t.Error("the admin token is in the log")
	}
}

// TestSecondsBody checks the bodies of the admin requests that set a
// duration.
func TestSecondsBody(t *testing.T) {
	ts := startServer(t, authConfig(t, Config{MaxSlowMode: 600e9, MaxBan: 3600e9}), newMemory(), nil, nil)
	admin := mint(t, "mod", "", auth.RoleAdmin)
	tests := []struct {
		path, contentType, body string
		status                  int
		code                    string
	}{
		{"/v1/rooms/r/slowmode", "application/json", `{"seconds":600}`, 204, ""},
		{"/v1/rooms/r/slowmode", "application/json", `{"seconds":601}`, 400, CodeInvalidSeconds},
		{"/v1/rooms/r/slowmode", "application/json", `{"seconds":-1}`, 400, CodeInvalidSeconds},
		{"/v1/rooms/r/slowmode", "application/json", `{}`, 400, CodeInvalidSeconds},
		{"/v1/rooms/r/slowmode", "application/json", `{"seconds":null}`, 400, CodeInvalidSeconds},
		{"/v1/rooms/r/slowmode", "application/json", `{"seconds":"5"}`, 400, CodeInvalidJSON},
		{"/v1/rooms/r/slowmode", "application/json", `{"seconds":1.5}`, 400, CodeInvalidJSON},
		{"/v1/rooms/r/slowmode", "application/json", `[5]`, 400, CodeInvalidJSON},
		{"/v1/rooms/r/slowmode", "application/json", ``, 400, CodeInvalidJSON},
		{"/v1/rooms/r/slowmode", "text/plain", `{"seconds":5}`, 415, CodeUnsupportedMediaType},
		{"/v1/rooms/bad%20room/slowmode", "application/json", `{"seconds":5}`, 400, CodeInvalidRoom},
		{"/v1/rooms/r/bans/u1", "application/json", `{"seconds":3600}`, 204, ""},
		{"/v1/rooms/r/bans/u1", "application/json", `{"seconds":3601}`, 400, CodeInvalidSeconds},
		{"/v1/rooms/r/bans/u1", "application/json", `{"seconds":0}`, 400, CodeInvalidSeconds},
		{"/v1/rooms/r/bans/a%20b", "application/json", `{"seconds":5}`, 400, CodeInvalidUID},
		{"/v1/rooms/bad%20room/bans/u1", "application/json", `{"seconds":5}`, 400, CodeInvalidRoom},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(http.MethodPut, ts.base+tt.path, strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", tt.contentType)
		req.Header.Set("Authorization", "Bearer "+admin)
		r := ts.roundTrip(t, req)
		what := "PUT " + tt.path + " " + tt.body
		if tt.code == "" {
			if r.status != tt.status {
				t.Errorf("%s: status %d; want %d (%s)", what, r.status, tt.status, r.body)
			}
			continue
		}
		checkError(t, what, r, tt.status, tt.code)
	}
}
