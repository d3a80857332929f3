package ingest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/auth"
	"github.com/golang-jwt/jwt/v5"
)

// signed returns a token of claims signed with method and key, bypassing
// auth.Mint, to build tokens Mint never makes.
func signed(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPostToken posts with every kind of bad token over real HTTP: each
// gets 401 unauthorized with a Bearer challenge, and nothing is stored.
func TestPostToken(t *testing.T) {
	var logs syncBuffer
	mem := newMemory()
	ts := startServer(t, authConfig(t, Config{}), mem, nil, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	now := time.Now()
	hour := now.Add(time.Hour).Unix()
	claims := func(extra jwt.MapClaims) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "u1", "name": "Alice", "exp": hour}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	good := mint(t, "u1", "Alice", auth.RoleViewer)
	parts := strings.Split(good, ".")
	b64 := base64.RawURLEncoding.EncodeToString
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const challenge = `Bearer realm="danmu"`
	const invalid = `Bearer realm="danmu", error="invalid_token"`
	tests := []struct {
		name      string
		header    string // the Authorization header; none when empty
		challenge string
	}{
		{"no token", "", challenge},
		{"basic auth", "Basic dTE6cGFzcw==", challenge},
		{"empty bearer", "Bearer ", challenge},
		{"expired", "Bearer " + signed(t, jwt.SigningMethodHS256, testSecret, claims(jwt.MapClaims{"exp": now.Add(-time.Hour).Unix()})), invalid},
		{"not yet valid", "Bearer " + signed(t, jwt.SigningMethodHS256, testSecret, claims(jwt.MapClaims{"nbf": now.Add(time.Hour).Unix()})), invalid},
		{"no exp", "Bearer " + signed(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "u1"}), invalid},
		{"HS512", "Bearer " + signed(t, jwt.SigningMethodHS512, testSecret, claims(nil)), invalid},
		{"RS256", "Bearer " + signed(t, jwt.SigningMethodRS256, rsaKey, claims(nil)), invalid},
		{"alg none", "Bearer " + b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".", invalid},
		{"tampered", "Bearer " + parts[0] + "." + b64([]byte(`{"sub":"u1","name":"Alice","role":"admin","exp":`+strconv.FormatInt(hour, 10)+`}`)) + "." + parts[2], invalid},
		{"wrong secret", "Bearer " + signed(t, jwt.SigningMethodHS256, []byte("some-other-secret-of-32-bytes!!!"), claims(nil)), invalid},
		{"oversize", "Bearer " + signed(t, jwt.SigningMethodHS256, testSecret, claims(jwt.MapClaims{"pad": strings.Repeat("p", auth.DefaultMaxTokenBytes)})), invalid},
		{"sub not a user id", "Bearer " + signed(t, jwt.SigningMethodHS256, testSecret, claims(jwt.MapClaims{"sub": "a b"})), invalid},
		{"name too long", "Bearer " + signed(t, jwt.SigningMethodHS256, testSecret, claims(jwt.MapClaims{"name": strings.Repeat("n", 33)})), invalid},
		{"unknown role", "Bearer " + signed(t, jwt.SigningMethodHS256, testSecret, claims(jwt.MapClaims{"role": "root"})), invalid},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(http.MethodPost, ts.base+"/v1/rooms/r/danmaku", strings.NewReader(`{"text":"hi"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if tt.header != "" {
			req.Header.Set("Authorization", tt.header)
		}
		r := ts.roundTrip(t, req)
		checkError(t, tt.name, r, http.StatusUnauthorized, CodeUnauthorized)
		if got := r.header.Get("WWW-Authenticate"); got != tt.challenge {
			t.Errorf("%s: WWW-Authenticate %q; want %q", tt.name, got, tt.challenge)
		}
		if token, ok := strings.CutPrefix(tt.header, "Bearer "); ok && len(token) > 20 && strings.Contains(logs.String(), token) {
			t.Errorf("%s: the token is in the log", tt.name)
		}
	}
	if last, err := mem.Last(t.Context(), "r"); err != nil || !last.IsZero() {
		t.Errorf("room has entry %v (%v) after refused posts", last, err)
	}

	// The good token posts, and the identity is the token's.
	id := ts.postAs(t, "r", good, `{"text":"hi","uid":"evil","name":"Mallory"}`)
	if m := storedMessage(t, mem, "r", id); m.UID != "u1" || m.Name != "Alice" {
		t.Errorf("stored uid %q name %q; want the token's u1, Alice", m.UID, m.Name)
	}
	// The body's uid and name are not even checked.
	id = ts.postAs(t, "r", good, `{"text":"hi","uid":"not a uid","name":"two\nlines"}`)
	if m := storedMessage(t, mem, "r", id); m.UID != "u1" || m.Name != "Alice" {
		t.Errorf("stored uid %q name %q; want the token's u1, Alice", m.UID, m.Name)
	}
	// A token without a name shows the user id.
	id = ts.postAs(t, "r", mint(t, "u2", "", ""), `{"text":"hi"}`)
	if m := storedMessage(t, mem, "r", id); m.UID != "u2" || m.Name != "u2" {
		t.Errorf("stored uid %q name %q; want u2, u2", m.UID, m.Name)
	}
	// The scheme is case-insensitive.
	req, _ := http.NewRequest(http.MethodPost, ts.base+"/v1/rooms/r/danmaku", strings.NewReader(`{"text":"hi"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "bearer "+good)
	if r := ts.roundTrip(t, req); r.status != http.StatusCreated {
		t.Errorf("lower-case bearer: status %d (%s)", r.status, r.body)
	}
	if strings.Contains(logs.String(), good) {
		t.Error("a good token is in the log")
	}
}

// TestOpenMode checks a server without a Verifier: uid and name come from
// the body, tokens are ignored, and the admin API is off.
func TestOpenMode(t *testing.T) {
	mem := newMemory()
	ts := startServer(t, Config{}, mem, nil, nil)
	id := ts.postAs(t, "r", "", `{"text":"hi","uid":"u9","name":"Nine"}`)
	if m := storedMessage(t, mem, "r", id); m.UID != "u9" || m.Name != "Nine" {
		t.Errorf("stored %+v; want the body's uid and name", m)
	}
	admin := mint(t, "mod", "Mod", auth.RoleAdmin)
	ts.postAs(t, "r", admin, `{"text":"with a token"}`)
	checkError(t, "prio in open mode", ts.send(t, http.MethodPost, "/v1/rooms/r/danmaku", admin, `{"text":"hi","prio":1}`),
		http.StatusForbidden, CodeForbidden)
	for _, req := range adminRequests(id) {
		r := ts.send(t, req.method, req.path, admin, req.body)
		checkError(t, "open mode: "+req.method+" "+req.path, r, http.StatusForbidden, CodeForbidden)
	}
}

// adminRequest is a request of the admin API.
type adminRequest struct{ method, path, body string }

// adminRequests returns a valid request of each admin route, deleting id
// of room r.
func adminRequests(id string) []adminRequest {
	return []adminRequest{
		{http.MethodDelete, "/v1/rooms/r/danmaku/" + id, ""},
		{http.MethodPut, "/v1/rooms/r/slowmode", `{"seconds":5}`},
		{http.MethodPut, "/v1/rooms/r/bans/u1", `{"seconds":5}`},
		{http.MethodDelete, "/v1/rooms/r/bans/u1", ""},
		{http.MethodPost, "/v1/admin/filter/reload", ""},
	}
}

// TestAdminAuth checks every admin route needs an admin's token: 401
// without or with an invalid one, 403 with a viewer's.
func TestAdminAuth(t *testing.T) {
	mem := newMemory()
	ts := startServer(t, authConfig(t, Config{}), mem, nil, nil)
	viewer := mint(t, "u1", "", "")
	id := ts.postAs(t, "r", viewer, `{"text":"hi"}`)
	expired, err := auth.Mint(auth.Config{Secret: testSecret}, auth.Claims{Sub: "mod", Role: auth.RoleAdmin, Expires: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range adminRequests(id) {
		what := req.method + " " + req.path
		r := ts.send(t, req.method, req.path, "", req.body)
		checkError(t, what+" without a token", r, http.StatusUnauthorized, CodeUnauthorized)
		if r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s without a token: no WWW-Authenticate", what)
		}
		checkError(t, what+" with an expired admin token", ts.send(t, req.method, req.path, expired, req.body),
			http.StatusUnauthorized, CodeUnauthorized)
		checkError(t, what+" with a viewer token", ts.send(t, req.method, req.path, viewer, req.body),
			http.StatusForbidden, CodeForbidden)
	}
	if last, err := mem.Last(t.Context(), "r"); err != nil || last.String() != id {
		t.Errorf("newest entry %v (%v); want the comment %s alone", last, err, id)
	}
}
