package ingest

import (
	"net/http"
	"testing"

	"github.com/danmu-dev/danmu/auth"
	"github.com/danmu-dev/danmu/policy"
)

// slowLimit allows a burst of 2, then one post every 2 seconds: a test
// never waits for a refill.
var slowLimit = policy.Limit{Rate: 0.5, Burst: 2}

func TestUserLimit(t *testing.T) {
	ts := startServer(t, authConfig(t, Config{Policy: policy.Config{UserLimit: slowLimit}}), newMemory(), nil, nil)
	u1, u2 := mint(t, "u1", "", ""), mint(t, "u2", "", "")
	ts.postAs(t, "r", u1, `{"text":"one"}`)
	ts.postAs(t, "r2", u1, `{"text":"two"}`)
	r := ts.send(t, http.MethodPost, "/v1/rooms/r/danmaku", u1, `{"text":"three"}`)
	checkError(t, "third post of u1", r, http.StatusTooManyRequests, CodeRateLimited)
	checkRetryAfter(t, "third post of u1", r, 1, 2)
	ts.postAs(t, "r", u2, `{"text":"u2 has its own bucket"}`)
	admin := mint(t, "mod", "", auth.RoleAdmin)
	for range 5 {
		ts.postAs(t, "r", admin, `{"text":"admins are not limited"}`)
	}
}

func TestIPLimit(t *testing.T) {
	ts := startServer(t, Config{Policy: policy.Config{IPLimit: slowLimit}}, newMemory(), nil, nil)
	ts.postAs(t, "r", "", `{"text":"a","uid":"u1"}`)
	ts.postAs(t, "r", "", `{"text":"b","uid":"u2"}`)
	r := ts.send(t, http.MethodPost, "/v1/rooms/r/danmaku", "", `{"text":"c","uid":"u3"}`)
	checkError(t, "third post from one address", r, http.StatusTooManyRequests, CodeRateLimited)
	checkRetryAfter(t, "third post from one address", r, 1, 2)
}

func TestRoomLimit(t *testing.T) {
	ts := startServer(t, authConfig(t, Config{Policy: policy.Config{RoomLimit: policy.Limit{Rate: 0.5, Burst: 3}}}), newMemory(), nil, nil)
	for i, user := range []string{"u1", "u2", "u3"} {
		ts.postAs(t, "busy", mint(t, user, "", ""), `{"text":"`+string(rune('a'+i))+`"}`)
	}
	r := ts.send(t, http.MethodPost, "/v1/rooms/busy/danmaku", mint(t, "u4", "", ""), `{"text":"d"}`)
	checkError(t, "fourth post to the room", r, http.StatusTooManyRequests, CodeRateLimited)
	checkRetryAfter(t, "fourth post to the room", r, 1, 2)
	ts.postAs(t, "quiet", mint(t, "u4", "", ""), `{"text":"another room"}`)
}
