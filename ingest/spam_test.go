package ingest

import (
	"net/http"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/auth"
	"github.com/danmu-dev/danmu/policy"
)

func TestSpam(t *testing.T) {
	ts := startServer(t, authConfig(t, Config{Policy: policy.Config{SpamWindow: time.Minute}}), newMemory(), nil, nil)
	u1, u2 := mint(t, "u1", "", ""), mint(t, "u2", "", "")
	ts.postAs(t, "r", u1, `{"text":"Hello world"}`)
	for _, body := range []string{
		`{"text":"Hello world"}`,
		`{"text":"hello WORLD","color":"#ff0000"}`,
		`{"text":"ＨＥＬＬＯ　ｗｏｒｌｄ"}`,
		`{"text":" hello  world "}`,
		`{"text":"helloworld"}`,
	} {
		r := ts.send(t, http.MethodPost, "/v1/rooms/r/danmaku", u1, body)
		checkError(t, "repeat "+body, r, http.StatusTooManyRequests, CodeSpam)
		checkRetryAfter(t, "repeat "+body, r, 59, 60)
	}
	ts.postAs(t, "r", u1, `{"text":"Hello world!"}`)
	ts.postAs(t, "r", u2, `{"text":"Hello world"}`)
	ts.postAs(t, "r2", u1, `{"text":"Hello world"}`)
	admin := mint(t, "mod", "", auth.RoleAdmin)
	ts.postAs(t, "r", admin, `{"text":"announcement"}`)
	ts.postAs(t, "r", admin, `{"text":"announcement"}`)
}

// TestSpamLetsRetriesThrough: a post retried with the same cid is not a
// repeat (its first attempt may have failed after claiming the text), but
// a new cid with the same text is.
func TestSpamLetsRetriesThrough(t *testing.T) {
	ts := startServer(t, authConfig(t, Config{Policy: policy.Config{SpamWindow: time.Minute}}), newMemory(), nil, nil)
	u1 := mint(t, "u1", "", "")
	ts.postAs(t, "r", u1, `{"text":"Hello","cid":"c1"}`)
	ts.postAs(t, "r", u1, `{"text":"Hello","cid":"c1"}`)
	r := ts.send(t, http.MethodPost, "/v1/rooms/r/danmaku", u1, `{"text":"Hello","cid":"c2"}`)
	checkError(t, "repeat with a new cid", r, http.StatusTooManyRequests, CodeSpam)
}

// TestSpamRefusedStaysRefused: a repeat refused as spam is refused again
// when retried with its cid, and an old cid does not make a new text a
// retry.
func TestSpamRefusedStaysRefused(t *testing.T) {
	ts := startServer(t, authConfig(t, Config{Policy: policy.Config{SpamWindow: time.Minute}}), newMemory(), nil, nil)
	u1 := mint(t, "u1", "", "")
	ts.postAs(t, "r", u1, `{"text":"Hello","cid":"c1"}`)
	ts.postAs(t, "r", u1, `{"text":"Other","cid":"c2"}`)
	for _, body := range []string{
		`{"text":"Hello","cid":"c3"}`,
		`{"text":"Hello","cid":"c3"}`, // the refused post, retried
		`{"text":"Hello","cid":"c2"}`, // a cid that passed with another text
	} {
		r := ts.send(t, http.MethodPost, "/v1/rooms/r/danmaku", u1, body)
		checkError(t, "repeat "+body, r, http.StatusTooManyRequests, CodeSpam)
	}
	ts.postAs(t, "r", u1, `{"text":"Hello","cid":"c1"}`) // a true retry
}

// TestSpamRetryIsTheAuthors: a post with another user's cid is no retry,
// even when the two user ids and cids run together the same way.
func TestSpamRetryIsTheAuthors(t *testing.T) {
	ts := startServer(t, authConfig(t, Config{Policy: policy.Config{SpamWindow: time.Minute}}), newMemory(), nil, nil)
	alice, mallory := mint(t, "a:b", "", ""), mint(t, "a", "", "")
	ts.postAs(t, "r", alice, `{"text":"Hello","cid":"c0"}`)
	ts.postAs(t, "r", mallory, `{"text":"first","cid":"1"}`)
	ts.postAs(t, "r", mallory, `{"text":"second","cid":"b:c"}`)
	for _, body := range []string{`{"text":"Hello","cid":"1"}`, `{"text":"Hello","cid":"c"}`} {
		r := ts.send(t, http.MethodPost, "/v1/rooms/r/danmaku", alice, body)
		checkError(t, "alice's repeat "+body, r, http.StatusTooManyRequests, CodeSpam)
	}
}

func TestSpamWindowEnds(t *testing.T) {
	ts := startServer(t, Config{Policy: policy.Config{SpamWindow: 50 * time.Millisecond}}, newMemory(), nil, nil)
	ts.postAs(t, "r", "", `{"text":"again","uid":"u1"}`)
	checkError(t, "repeat", ts.post(t, "r", `{"text":"again","uid":"u1"}`), http.StatusTooManyRequests, CodeSpam)
	time.Sleep(60 * time.Millisecond)
	ts.postAs(t, "r", "", `{"text":"again","uid":"u1"}`)
}
