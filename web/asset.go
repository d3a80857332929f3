package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"path"
	"strings"

	"github.com/valyala/fasthttp"
)

// files are the page and its assets. Tests, node_modules and the Go files
// beside them are not served. The client is the file the npm package in
// client/ ships, so the page loads exactly what users install.
//
//go:embed index.html demo.css demo.js client/danmu.js favicon.svg
var files embed.FS

// embedPaths maps the names of the files served under another name than
// their path in files to that path.
var embedPaths = map[string]string{"danmu.js": "client/danmu.js"}

// contentTypes maps the extensions of files to their Content-Type.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".json": "application/json",
}

// Cache-Control values. Versioned asset URLs never change content, so a
// browser keeps them for a year; the page and the unversioned client are
// revalidated (cheaply, by ETag) on every load so a new binary shows up at
// once; config.json depends on the request and is never stored.
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
	cacheNever      = "no-store"
)

// asset is one served file, prepared once: its bytes and headers never
// change, so a request costs no encoding or hashing.
type asset struct {
	body         []byte
	contentType  string
	etag         string // a strong validator: a hash of body, quoted
	cacheControl string
}

func newAsset(body []byte, name, cacheControl string) *asset {
	contentType, ok := contentTypes[path.Ext(name)]
	if !ok {
		panic("web: no content type for " + name)
	}
	sum := sha256.Sum256(body)
	return &asset{
		body:         body,
		contentType:  contentType,
		etag:         `"` + hex.EncodeToString(sum[:8]) + `"`,
		cacheControl: cacheControl,
	}
}

// serve answers with a, or 304 Not Modified when the request's
// If-None-Match already names a's ETag.
func (a *asset) serve(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Set(fasthttp.HeaderCacheControl, a.cacheControl)
	h.Set(fasthttp.HeaderETag, a.etag)
	h.Set(fasthttp.HeaderXContentTypeOptions, "nosniff")
	if etagMatches(ctx.Request.Header.Peek(fasthttp.HeaderIfNoneMatch), a.etag) {
		ctx.NotModified()
		return
	}
	ctx.SetContentType(a.contentType)
	ctx.SetBody(a.body)
}

// etagMatches reports whether the If-None-Match header value header names
// etag: "*", or a comma-separated list of entity tags, weak ones ("W/...")
// included, as RFC 9110 section 13.1.2 asks for a GET.
func etagMatches(header []byte, etag string) bool {
	for tag := range strings.SplitSeq(string(header), ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
			return true
		}
	}
	return false
}

// readFile returns the embedded file served as name. Every file is listed
// in the embed directive, so a failure is a bug in this package.
func readFile(name string) []byte {
	if p, ok := embedPaths[name]; ok {
		name = p
	}
	b, err := files.ReadFile(name)
	if err != nil {
		panic("web: " + err.Error())
	}
	return b
}

// version is a hash of every embedded file: the versioned asset URLs
// (/static/<version>/...) change whenever any file does, so the page
// never mixes old and new assets.
func version() string {
	h := sha256.New()
	for _, name := range staticNames {
		h.Write([]byte(name))
		h.Write([]byte{0})
		h.Write(readFile(name))
	}
	h.Write(readFile(indexName))
	return hex.EncodeToString(h.Sum(nil)[:6])
}
