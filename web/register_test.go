package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// mux is a Registrar that routes exact paths, as the ingest server does.
type mux map[string]fasthttp.RequestHandler

func (m mux) Handle(method, path string, h fasthttp.RequestHandler) {
	key := method + " " + path
	if _, ok := m[key]; ok {
		panic("registered twice: " + key)
	}
	m[key] = h
}

func (m mux) serve(ctx *fasthttp.RequestCtx) {
	if h, ok := m[string(ctx.Method())+" "+string(ctx.Path())]; ok {
		h(ctx)
		return
	}
	ctx.Error("not found", fasthttp.StatusNotFound)
}

// serve registers the page with cfg on a server listening on loopback and
// returns that server's address.
func serve(t *testing.T, cfg Config) (mux, string) {
	t.Helper()
	m := mux{}
	Register(m, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: m.serve}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return m, ln.Addr().String()
}

type answer struct {
	status int
	header map[string]string
	body   []byte
}

// get sends method path to addr with the extra header lines of headers
// ("Name: value") and returns the answer.
func get(t *testing.T, addr, method, path string, headers ...string) answer {
	t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + addr + path)
	req.Header.SetMethod(method)
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		if name == "Host" {
			req.UseHostHeader = true
		}
		req.Header.Set(name, value)
	}
	client := &fasthttp.Client{}
	if err := client.Do(req, resp); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	a := answer{status: resp.StatusCode(), header: map[string]string{}, body: bytes.Clone(resp.Body())}
	for name, value := range resp.Header.All() {
		a.header[string(name)] = string(value)
	}
	return a
}

func edgeAt(addr string) func() net.Addr {
	return func() net.Addr {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			panic(err)
		}
		return a
	}
}

var staticRef = regexp.MustCompile(`(?:href|src)="([^"]+)"`)

func TestPage(t *testing.T) {
	_, addr := serve(t, Config{EdgeAddr: edgeAt("127.0.0.1:7171")})
	a := get(t, addr, "GET", "/?room=lobby")
	if a.status != fasthttp.StatusOK {
		t.Fatalf("GET / = %d; want 200", a.status)
	}
	want := map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-cache",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
	}
	for name, value := range want {
		if got := a.header[name]; got != value {
			t.Errorf("GET /: %s = %q; want %q", name, got, value)
		}
	}
	csp := a.header["Content-Security-Policy"]
	for _, directive := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self' ws://127.0.0.1:7171/ws http://127.0.0.1:7171/sse"} {
		if !strings.Contains(csp, directive) {
			t.Errorf("GET /: Content-Security-Policy %q lacks %q", csp, directive)
		}
	}
	// The import map, the page's one inline script, maps the client's
	// package name to the versioned danmu.js, and the CSP allows exactly it.
	m := regexp.MustCompile(`<script type="importmap">(.*?)</script>`).FindSubmatch(a.body)
	if m == nil {
		t.Fatalf("GET /: no import map")
	}
	var importMap struct {
		Imports map[string]string `json:"imports"`
	}
	if err := json.Unmarshal(m[1], &importMap); err != nil {
		t.Fatalf("GET /: import map: %v", err)
	}
	if got, want := importMap.Imports["danmu-client"], "/static/"+version()+"/danmu.js"; got != want || len(importMap.Imports) != 1 {
		t.Errorf("GET /: import map = %v; want only danmu-client: %s", importMap.Imports, want)
	}
	sum := sha256.Sum256(m[1])
	if hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, "script-src 'self' "+hash+";") {
		t.Errorf("GET /: Content-Security-Policy %q does not allow the import map (%s)", csp, hash)
	}
	if n := bytes.Count(a.body, []byte("<script")); n != 2 {
		t.Errorf("GET /: %d scripts; want the import map and demo.js", n)
	}
	if a.header["Etag"] == "" {
		t.Errorf("GET /: no ETag")
	}
	if bytes.Contains(a.body, []byte(staticPlaceholder)) {
		t.Errorf("GET /: the page still holds %s", staticPlaceholder)
	}

	// Every asset the page refers to is served, from a versioned URL.
	refs := staticRef.FindAllSubmatch(a.body, -1)
	if len(refs) < 4 {
		t.Fatalf("GET /: found %d asset references; want at least 4", len(refs))
	}
	for _, ref := range refs {
		url := string(ref[1])
		if url[0] == '#' {
			continue
		}
		if !strings.HasPrefix(url, "/static/") {
			t.Errorf("the page refers to %s, outside /static/", url)
			continue
		}
		if got := get(t, addr, "GET", url); got.status != fasthttp.StatusOK {
			t.Errorf("GET %s = %d; want 200", url, got.status)
		}
	}
}

func TestAssets(t *testing.T) {
	_, addr := serve(t, Config{})
	page := get(t, addr, "GET", "/")
	prefix := regexp.MustCompile(`/static/[0-9a-f]{12}`).Find(page.body)
	if prefix == nil {
		t.Fatalf("GET /: no versioned asset path in the page")
	}
	tests := []struct {
		path, contentType, cacheControl, file string
	}{
		{string(prefix) + "/danmu.js", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "danmu.js"},
		{string(prefix) + "/demo.js", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "demo.js"},
		{string(prefix) + "/demo.css", "text/css; charset=utf-8", "public, max-age=31536000, immutable", "demo.css"},
		{string(prefix) + "/favicon.svg", "image/svg+xml", "public, max-age=31536000, immutable", "favicon.svg"},
		{"/danmu.js", "text/javascript; charset=utf-8", "no-cache", "danmu.js"},
	}
	for _, tt := range tests {
		a := get(t, addr, "GET", tt.path)
		if a.status != fasthttp.StatusOK {
			t.Errorf("GET %s = %d; want 200", tt.path, a.status)
			continue
		}
		if got := a.header["Content-Type"]; got != tt.contentType {
			t.Errorf("GET %s: Content-Type = %q; want %q", tt.path, got, tt.contentType)
		}
		if got := a.header["Cache-Control"]; got != tt.cacheControl {
			t.Errorf("GET %s: Cache-Control = %q; want %q", tt.path, got, tt.cacheControl)
		}
		if got := a.header["X-Content-Type-Options"]; got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options = %q; want nosniff", tt.path, got)
		}
		if !bytes.Equal(a.body, readFile(tt.file)) {
			t.Errorf("GET %s: body is not %s", tt.path, tt.file)
		}

		etag := a.header["Etag"]
		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
			got := get(t, addr, "GET", tt.path, "If-None-Match: "+inm)
			if got.status != fasthttp.StatusNotModified || len(got.body) != 0 {
				t.Errorf("GET %s with If-None-Match %s = %d with %d bytes; want 304, empty", tt.path, inm, got.status, len(got.body))
			}
		}
		if got := get(t, addr, "GET", tt.path, `If-None-Match: "other"`); got.status != fasthttp.StatusOK {
			t.Errorf("GET %s with another ETag = %d; want 200", tt.path, got.status)
		}

		head := get(t, addr, "HEAD", tt.path)
		if head.status != fasthttp.StatusOK || len(head.body) != 0 || head.header["Content-Type"] != tt.contentType {
			t.Errorf("HEAD %s = %d, %d bytes, %q; want 200, empty, %q", tt.path, head.status, len(head.body), head.header["Content-Type"], tt.contentType)
		}
	}
	if got := get(t, addr, "GET", "/danmu.js").header["Access-Control-Allow-Origin"]; got != "*" {
		t.Errorf("GET /danmu.js: Access-Control-Allow-Origin = %q; want *", got)
	}
	if got := get(t, addr, "GET", "/static/000000000000/demo.js"); got.status != fasthttp.StatusNotFound {
		t.Errorf("GET an asset of another version = %d; want 404", got.status)
	}
}

// TestNoExternalURLs checks that no served file names a URL of another
// host: the page must work offline and leak nothing.
func TestNoExternalURLs(t *testing.T) {
	external := regexp.MustCompile(`(?i)\bhttps?://|url\(\s*['"]?//|(?:src|href)="//`)
	// An XML namespace is a name, never fetched.
	namespace := []byte(`xmlns="http://www.w3.org/2000/svg"`)
	for _, name := range append([]string{indexName}, staticNames...) {
		body := bytes.ReplaceAll(readFile(name), namespace, nil)
		if loc := external.FindIndex(body); loc != nil {
			t.Errorf("%s refers to another host at byte %d: %q", name, loc[0], body[loc[0]:min(loc[1]+30, len(body))])
		}
	}
}

func TestConfigJSON(t *testing.T) {
	tests := []struct {
		name   string
		edge   func() net.Addr
		public string // Config.WebSocketURL
		host   string // Host header of the request; empty means the server's address
		want   string
	}{
		{"public URL", edgeAt("127.0.0.1:7070"), "wss://live.example.test/ws", "", `{"ws":"wss://live.example.test/ws","sse":"https://live.example.test/sse"}`},
		{"loopback edge", edgeAt("127.0.0.1:7070"), "", "", `{"ws":"ws://127.0.0.1:7070/ws","sse":"http://127.0.0.1:7070/sse"}`},
		{"edge on another port", edgeAt("127.0.0.1:9999"), "", "example.test:8080", `{"ws":"ws://127.0.0.1:9999/ws","sse":"http://127.0.0.1:9999/sse"}`},
		{"edge on every interface", edgeAt("0.0.0.0:7070"), "", "danmu.example.test:7080", `{"ws":"ws://danmu.example.test:7070/ws","sse":"http://danmu.example.test:7070/sse"}`},
		{"edge on every IPv6 interface", edgeAt("[::]:7070"), "", "10.1.2.3:7080", `{"ws":"ws://10.1.2.3:7070/ws","sse":"http://10.1.2.3:7070/sse"}`},
		{"IPv6 page host", edgeAt("0.0.0.0:7070"), "", "[::1]:7080", `{"ws":"ws://[::1]:7070/ws","sse":"http://[::1]:7070/sse"}`},
		{"IPv6 edge", edgeAt("[::1]:7075"), "", "", `{"ws":"ws://[::1]:7075/ws","sse":"http://[::1]:7075/sse"}`},
		{"no edge address", nil, "", "stream.example.test", `{"ws":"ws://stream.example.test:7070/ws","sse":"http://stream.example.test:7070/sse"}`},
		{"odd Host header", edgeAt("0.0.0.0:7070"), "", "bad\"host", `{"ws":"ws://127.0.0.1:7070/ws","sse":"http://127.0.0.1:7070/sse"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, addr := serve(t, Config{EdgeAddr: tt.edge, WebSocketURL: tt.public})
			var headers []string
			if tt.host != "" {
				headers = append(headers, "Host: "+tt.host)
			}
			a := get(t, addr, "GET", "/config.json", headers...)
			if a.status != fasthttp.StatusOK || string(a.body) != tt.want {
				t.Errorf("GET /config.json = %d %s; want 200 %s", a.status, a.body, tt.want)
			}
			if got := a.header["Content-Type"]; got != "application/json" {
				t.Errorf("Content-Type = %q; want application/json", got)
			}
			if got := a.header["Cache-Control"]; got != "no-store" {
				t.Errorf("Cache-Control = %q; want no-store", got)
			}
		})
	}
}

func TestRegisterRoutes(t *testing.T) {
	m := mux{}
	Register(m, Config{})
	var paths []string
	for key := range m {
		paths = append(paths, key)
	}
	// Each of the page, config, stable client and four assets, for GET and HEAD.
	if len(paths) != 2*7 {
		t.Errorf("Register added %d routes; want 14: %v", len(paths), paths)
	}
	for _, key := range []string{"GET /", "HEAD /", "GET /config.json", "GET /danmu.js"} {
		if m[key] == nil {
			t.Errorf("no route %s", key)
		}
	}
}

func TestEtagMatches(t *testing.T) {
	const etag = `"abc"`
	tests := []struct {
		header string
		want   bool
	}{
		{``, false},
		{`"abc"`, true},
		{`W/"abc"`, true},
		{`*`, true},
		{` "abc" `, true},
		{`"x", "abc"`, true},
		{`"x","abc"`, true},
		{`"x"`, false},
		{`abc`, false},
		{`"abcd"`, false},
		{`"ab"`, false},
		{`w/"abc"`, false},
		{`,,,`, false},
	}
	for _, tt := range tests {
		if got := etagMatches([]byte(tt.header), etag); got != tt.want {
			t.Errorf("etagMatches(%q, %q) = %v; want %v", tt.header, etag, got, tt.want)
		}
	}
}

func FuzzEtagMatches(f *testing.F) {
	for _, s := range []string{`"abc"`, `W/"abc"`, `*`, `"x", "abc"`, ``, `,`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		got := etagMatches([]byte(header), `"abc"`)
		// A list that names the tag matches whatever else it holds.
		if !etagMatches([]byte(header+`, "abc"`), `"abc"`) {
			t.Errorf("etagMatches(%q) = false", header+`, "abc"`)
		}
		if got && !strings.Contains(header, `"abc"`) && !strings.Contains(header, "*") {
			t.Errorf("etagMatches(%q) = true without the tag or *", header)
		}
	})
}

func TestPageHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"example.test", "example.test"},
		{"example.test:7080", "example.test"},
		{"Example-1.test", "Example-1.test"},
		{"10.0.0.1:80", "10.0.0.1"},
		{"[::1]:7080", "::1"},
		{"[::1]", "::1"},
		{"::1", "::1"},
		{"", "127.0.0.1"},
		{":7080", "127.0.0.1"},
		{"a b", "127.0.0.1"},
		{"evil;script-src *", "127.0.0.1"},
		{`x"y`, "127.0.0.1"},
		{"[fe80::1%eth0]:80", "127.0.0.1"},
		{strings.Repeat("a", 254), "127.0.0.1"},
	}
	for _, tt := range tests {
		if got := pageHost([]byte(tt.in)); got != tt.want {
			t.Errorf("pageHost(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzPageHost(f *testing.F) {
	for _, s := range []string{"example.test:7080", "[::1]:80", "10.0.0.1", "", "a b", "[x]"} {
		f.Add(s)
	}
	safe := regexp.MustCompile(`^[A-Za-z0-9.:-]+$`)
	f.Fuzz(func(t *testing.T, in string) {
		got := pageHost([]byte(in))
		// The result goes into a header and a URL: only host characters.
		if !safe.MatchString(got) {
			t.Errorf("pageHost(%q) = %q: not a plain host", in, got)
		}
		if net.ParseIP(got) == nil && net.JoinHostPort(got, "1") != got+":1" {
			t.Errorf("pageHost(%q) = %q: does not join with a port", in, got)
		}
	})
}

func TestSSEBeside(t *testing.T) {
	for ws, want := range map[string]string{
		"wss://live.example.com/ws":  "https://live.example.com/sse",
		"ws://127.0.0.1:7070/ws":     "http://127.0.0.1:7070/sse",
		"wss://edge.example:8443/ws": "https://edge.example:8443/sse",
	} {
		if got := SSEBeside(ws); got != want {
			t.Errorf("SSEBeside(%q) = %q; want %q", ws, got, want)
		}
	}
}
