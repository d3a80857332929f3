package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// answer is what the HTTP API answered to one request.
type answer struct {
	status int
	id     string // of a stored comment
	code   string
	header http.Header
}

// send sends a request with a bearer token (none when empty) and a JSON
// body (none when empty) to the HTTP API at addr.
func send(t testing.TB, addr, method, path, token, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var e struct {
		ID    string `json:"id"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&e)
	return answer{status: resp.StatusCode, id: e.ID, code: e.Error.Code, header: resp.Header}
}

func (a answer) is(status int, code string) bool { return a.status == status && a.code == code }

func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestServePolicy runs serve with a token secret, limits, a spam window
// and a word filter set by flags, and checks each reaches the HTTP API.
func TestServePolicy(t *testing.T) {
	words := filepath.Join(t.TempDir(), "words.txt")
	writeFile(t, words, "# words\nbadword\n")
	n := startNode(t, "serve", "--jwt-secret", testSecret, "--user-rate", "0.5", "--user-burst", "3",
		"--spam-window", "1m", "--filter-file", words, "--filter-action", "mask")
	const path = "/v1/rooms/r/danmaku"
	if a := send(t, n.apiAddr, http.MethodPost, path, "", `{"text":"hi"}`); !a.is(401, "unauthorized") {
		t.Errorf("POST without a token: %+v; want 401 unauthorized", a)
	}
	user := mintToken(t, "--sub", "u1")
	if a := send(t, n.apiAddr, http.MethodPost, path, user, `{"text":"a BADWORD"}`); a.status != http.StatusCreated {
		t.Errorf("POST with a token: %+v; want 201", a)
	}
	if a := send(t, n.apiAddr, http.MethodPost, path, user, `{"text":"a badword"}`); !a.is(429, "spam") {
		t.Errorf("repeat: %+v; want 429 spam", a)
	}
	if a := send(t, n.apiAddr, http.MethodPost, path, user, `{"text":"third"}`); a.status != http.StatusCreated {
		t.Errorf("third post: %+v; want 201", a)
	}
	if a := send(t, n.apiAddr, http.MethodPost, path, user, `{"text":"fourth"}`); !a.is(429, "rate_limited") || a.header.Get("Retry-After") == "" {
		t.Errorf("fourth post: %+v; want 429 rate_limited with Retry-After", a)
	}
	admin := mintToken(t, "--sub", "mod", "--role", "admin")
	if a := send(t, n.apiAddr, http.MethodPut, "/v1/rooms/r/slowmode", admin, `{"seconds":10}`); a.status != http.StatusNoContent {
		t.Errorf("PUT slowmode as admin: %+v; want 204", a)
	}
	if a := send(t, n.apiAddr, http.MethodPut, "/v1/rooms/r/slowmode", user, `{"seconds":10}`); !a.is(403, "forbidden") {
		t.Errorf("PUT slowmode as a viewer: %+v; want 403 forbidden", a)
	}
	if strings.Contains(n.output.String(), "OPEN DEVELOPMENT MODE") {
		t.Error("warned of open mode with a secret set")
	}
}

// TestForgedForwardedFor runs serve behind a proxy, the test, that
// appends its own X-Forwarded-For line: a client that sends a line of its
// own, a new address each time, still gets its address's limit.
func TestForgedForwardedFor(t *testing.T) {
	t.Setenv("DANMU_TRUSTED_PROXIES", "127.0.0.1, ::1")
	n := startNode(t, "serve", "--ip-rate", "0.5", "--ip-burst", "1", "--client-ip-header", "X-Forwarded-For")
	post := func(lines ...string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, "http://"+n.apiAddr+"/v1/rooms/r/danmaku", strings.NewReader(`{"text":"hi"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header["X-Forwarded-For"] = lines
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, step := range []struct {
		lines []string
		want  int
	}{
		{[]string{"203.0.113.1", "192.0.2.1"}, http.StatusCreated},
		{[]string{"203.0.113.2", "192.0.2.1"}, http.StatusTooManyRequests},
		{[]string{"203.0.113.3, 192.0.2.1"}, http.StatusTooManyRequests},
		{[]string{"192.0.2.2"}, http.StatusCreated},
	} {
		if got := post(step.lines...); got != step.want {
			t.Errorf("X-Forwarded-For lines %q: status %d; want %d", step.lines, got, step.want)
		}
	}
}

// TestServeOpenMode checks serve without a secret warns loudly and lets
// anyone post.
func TestServeOpenMode(t *testing.T) {
	t.Setenv("DANMU_JWT_SECRET", "")
	n := startNode(t, "serve")
	mustPost(t, n.apiAddr, "r", "hello")
	if !strings.Contains(n.output.String(), "OPEN DEVELOPMENT MODE") {
		t.Errorf("no open mode warning in:\n%s", n.output)
	}
}

// TestServeBadPolicyFlags checks flags the API cannot start with.
func TestServeBadPolicyFlags(t *testing.T) {
	words := filepath.Join(t.TempDir(), "words.txt")
	writeFile(t, words, "badword\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--jwt-secret", "short"}, "secret too short"},
		{[]string{"--filter-file", filepath.Join(t.TempDir(), "missing.txt")}, "--filter-file"},
		{[]string{"--filter-file", words, "--filter-action", "drop"}, "filter action"},
	} {
		status, _, stderr := runArgs(append([]string{"serve", "--ws-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}, tc.args...)...)
		if status != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("danmu serve %s = %d, stderr %q; want 1 and %q", strings.Join(tc.args, " "), status, stderr, tc.want)
		}
	}
}

// TestFilterReloadOnHangup changes the word list of a running serve
// process and sends it SIGHUP: the new list takes effect, and the process
// lives on.
func TestFilterReloadOnHangup(t *testing.T) {
	words := filepath.Join(t.TempDir(), "words.txt")
	writeFile(t, words, "oldword\n")
	n := startProcess(t, "serve", "--filter-file", words)
	const path = "/v1/rooms/r/danmaku"
	if a := send(t, n.apiAddr, http.MethodPost, path, "", `{"text":"oldword"}`); !a.is(422, "content_rejected") {
		t.Fatalf("listed word: %+v; want 422 content_rejected", a)
	}
	writeFile(t, words, "newword\n")
	if err := n.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, waitTimeout, "the new word list", func() bool {
		return send(t, n.apiAddr, http.MethodPost, path, "", `{"text":"newword"}`).is(422, "content_rejected")
	})
	if a := send(t, n.apiAddr, http.MethodPost, path, "", `{"text":"oldword"}`); a.status != http.StatusCreated {
		t.Errorf("word of the old list: %+v; want 201", a)
	}
	// A list that cannot be read leaves the previous one in force.
	writeFile(t, words, "bad\xffutf8\n")
	if err := n.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, waitTimeout, "the failed reload to be logged", func() bool {
		return strings.Contains(n.output.String(), "reloading the word list failed")
	})
	if a := send(t, n.apiAddr, http.MethodPost, path, "", `{"text":"newword"}`); !a.is(422, "content_rejected") {
		t.Errorf("after a failed reload: %+v; want 422 content_rejected", a)
	}
	if err := n.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the process died: %v", err)
	}
}

// TestProductionDefaults: with token keys set the per-user rate (1/s) and
// the spam window (30 s) are on unless given, by flag or environment, 0
// included; in open development mode both stay off.
func TestProductionDefaults(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	parse := func(args ...string) options {
		t.Helper()
		var o options
		fs := commandFlags("serve", commandRoles["serve"], &o)
		if err := parseFlags(fs, args, io.Discard); err != nil {
			t.Fatalf("parse %q: %v", args, err)
		}
		productionDefaults(fs, &o)
		return o
	}
	for _, tc := range []struct {
		name   string
		env    map[string]string
		args   []string
		rate   float64
		window time.Duration
	}{
		{"open mode", nil, nil, 0, 0},
		{"secret", nil, []string{"--jwt-secret", secret}, 1, 30 * time.Second},
		{"secret, limits off by flag", nil, []string{"--jwt-secret", secret, "--user-rate", "0", "--spam-window", "0"}, 0, 0},
		{"secret, rate by environment", map[string]string{"DANMU_USER_RATE": "0.5"}, []string{"--jwt-secret", secret}, 0.5, 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			o := parse(tc.args...)
			if o.ingest.Policy.UserLimit.Rate != tc.rate || o.ingest.Policy.SpamWindow != tc.window {
				t.Errorf("user rate %v, spam window %v; want %v, %v", o.ingest.Policy.UserLimit.Rate, o.ingest.Policy.SpamWindow, tc.rate, tc.window)
			}
		})
	}
}
