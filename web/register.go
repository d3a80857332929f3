package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

// Registrar adds a handler for an exact path and method; the ingest
// server's Handle is one.
type Registrar interface {
	Handle(method, path string, h fasthttp.RequestHandler)
}

// DefaultEdgePort is the port the page connects to when Config.EdgeAddr is
// nil: the WebSocket edge's default.
const DefaultEdgePort = 7070

// Config says where the page finds the WebSocket edge.
type Config struct {
	// EdgeAddr returns the address the WebSocket edge listens on. It is
	// called for each request of the page or of /config.json, so it may
	// be known only once the edge runs, and it may block until then. When
	// the edge listens on every interface (0.0.0.0 or ::), the page
	// connects to the host it was loaded from. Nil means that host at
	// DefaultEdgePort.
	EdgeAddr func() net.Addr
	// WebSocketURL is the public URL of the edges' /ws the page connects
	// to (wss://live.example.com/ws), as the load balancer in front
	// serves it; their /sse is beside it (https://live.example.com/sse).
	// Empty derives both from EdgeAddr, with ws:// and http://.
	WebSocketURL string
}

// Names of the embedded files: the page, and the assets it loads from
// versioned URLs.
const indexName = "index.html"

var staticNames = []string{"danmu.js", "demo.js", "demo.css", "favicon.svg"}

// staticPlaceholder stands in index.html for the versioned assets' path.
const staticPlaceholder = "{{static}}"

// Register adds the page and its assets to r for GET and HEAD:
//
//	/                          the demo page (?room=R picks the room; "demo" by default)
//	/config.json               {"ws": URL of the edge's /ws, "sse": its /sse}, for the page
//	/danmu.js                  the client, at a stable URL other pages may import
//	/static/<version>/<file>   danmu.js, demo.js, demo.css, favicon.svg
//
// Call it before the server serves.
func Register(r Registrar, cfg Config) {
	v := version()
	prefix := "/static/" + v
	index := readFile(indexName)
	if !bytes.Contains(index, []byte(staticPlaceholder)) {
		panic("web: index.html does not mention " + staticPlaceholder)
	}
	index = bytes.ReplaceAll(index, []byte(staticPlaceholder), []byte(prefix))
	scriptHash := importMapHash(index)
	page := newAsset(index, indexName, cacheRevalidate)
	client := newAsset(readFile("danmu.js"), "danmu.js", cacheRevalidate)

	handle := func(path string, h fasthttp.RequestHandler) {
		r.Handle(fasthttp.MethodGet, path, h)
		r.Handle(fasthttp.MethodHead, path, h)
	}
	handle("/", func(ctx *fasthttp.RequestCtx) {
		ws, sse := cfg.edgeURLs(ctx)
		ctx.Response.Header.Set("Content-Security-Policy", contentSecurityPolicy(scriptHash, ws, sse))
		ctx.Response.Header.Set("Referrer-Policy", "no-referrer")
		page.serve(ctx)
	})
	handle("/config.json", func(ctx *fasthttp.RequestCtx) {
		ws, sse := cfg.edgeURLs(ctx)
		body, err := json.Marshal(pageConfig{WebSocket: ws, SSE: sse})
		if err != nil {
			panic("web: encode config: " + err.Error())
		}
		ctx.Response.Header.Set(fasthttp.HeaderCacheControl, cacheNever)
		ctx.SetContentType(contentTypes[".json"])
		ctx.SetBody(body)
	})
	handle("/danmu.js", func(ctx *fasthttp.RequestCtx) {
		// Pages of other origins may import the client as a module,
		// which takes CORS.
		ctx.Response.Header.Set(fasthttp.HeaderAccessControlAllowOrigin, "*")
		client.serve(ctx)
	})
	for _, name := range staticNames {
		a := newAsset(readFile(name), name, cacheImmutable)
		handle(prefix+"/"+name, a.serve)
	}
}

// pageConfig is the body of /config.json.
type pageConfig struct {
	WebSocket string `json:"ws"`
	SSE       string `json:"sse"`
}

// importMapOpen and scriptClose delimit the page's import map, its one
// inline script: it maps the client's package name, danmu-client, to the
// versioned danmu.js, so demo.js imports the client as any user would.
const (
	importMapOpen = `<script type="importmap">`
	scriptClose   = `</script>`
)

// importMapHash returns the CSP source ('sha256-...') that allows the
// import map of the page index, whose placeholders are already replaced.
func importMapHash(index []byte) string {
	_, rest, ok := bytes.Cut(index, []byte(importMapOpen))
	if !ok {
		panic("web: index.html has no " + importMapOpen)
	}
	importMap, _, ok := bytes.Cut(rest, []byte(scriptClose))
	if !ok {
		panic("web: index.html's import map is not closed")
	}
	sum := sha256.Sum256(importMap)
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// contentSecurityPolicy lets the page load its own assets, run the inline
// script whose hash is scriptHash (the import map) and talk to its own
// origin and to the edge at wsURL and sseURL, and nothing else: the page
// makes no request to any other host.
func contentSecurityPolicy(scriptHash, wsURL, sseURL string) string {
	return "default-src 'none'; script-src 'self' " + scriptHash + "; style-src 'self'; img-src 'self'; " +
		"connect-src 'self' " + wsURL + " " + sseURL + "; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// edgeURLs returns the URLs of the edge's /ws and /sse for a page loaded by
// the request ctx: WebSocketURL and the /sse beside it when it is set,
// else those of the edge at edgeHost.
func (c Config) edgeURLs(ctx *fasthttp.RequestCtx) (ws, sse string) {
	if c.WebSocketURL != "" {
		return c.WebSocketURL, SSEBeside(c.WebSocketURL)
	}
	host := c.edgeHost(ctx)
	return "ws://" + host + "/ws", "http://" + host + "/sse"
}

// SSEBeside returns the URL of the /sse the edges serve beside the
// WebSocket URL ws (scheme://host/ws): https for wss, http for ws.
func SSEBeside(ws string) string {
	sse, ok := strings.CutPrefix(ws, "wss://")
	if ok {
		sse = "https://" + sse
	} else {
		sse = "http://" + strings.TrimPrefix(ws, "ws://")
	}
	return strings.TrimSuffix(sse, "/ws") + "/sse"
}

// edgeHost returns the host and port of the edge for a page loaded by the
// request ctx.
func (c Config) edgeHost(ctx *fasthttp.RequestCtx) string {
	host, port := "", strconv.Itoa(DefaultEdgePort)
	if c.EdgeAddr != nil {
		addr := c.EdgeAddr()
		h, p, err := net.SplitHostPort(addr.String())
		if err != nil {
			panic("web: edge address " + addr.String() + ": " + err.Error())
		}
		port = p
		if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
			host = h
		}
	}
	if host == "" {
		host = pageHost(ctx.Host())
	}
	return net.JoinHostPort(host, port)
}

// pageHost returns the host name of a Host header value (without its
// port), or 127.0.0.1 when hostHeader is not a plain host name or IP
// address: the result is written into a header and a JSON document, so
// nothing else may pass.
func pageHost(hostHeader []byte) string {
	s := string(hostHeader)
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	} else if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	if ip := net.ParseIP(s); ip != nil {
		return s
	}
	if s == "" || len(s) > 253 {
		return "127.0.0.1"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return "127.0.0.1"
		}
	}
	return s
}
