package floor

import (
	"github.com/valyala/fasthttp"

	"github.com/danmu-dev/danmu/ingest"
)

// CreatedBody is the body of every 201: the shape and size of danmu's
// answer to an accepted comment, so both servers write the same bytes.
const CreatedBody = `{"id":"1764720000000-0","ts":1764720000000}`

// NewServer returns a fasthttp server that answers every POST, whatever
// its path and body, with 201 CreatedBody, and any other method with 405.
// It has the timeouts, limits and options of danmu's ingest server with
// its defaults, so that the difference between the two is danmu's own
// work.
func NewServer() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                      handle,
		ReadTimeout:                  ingest.DefaultReadTimeout,
		WriteTimeout:                 ingest.DefaultWriteTimeout,
		IdleTimeout:                  ingest.DefaultIdleTimeout,
		MaxConnsPerIP:                ingest.DefaultMaxConnsPerIP,
		MaxRequestBodySize:           ingest.DefaultMaxBodyBytes,
		DisablePreParseMultipartForm: true,
		NoDefaultServerHeader:        true,
		CloseOnShutdown:              true,
	}
}

func handle(ctx *fasthttp.RequestCtx) {
	if !ctx.IsPost() {
		ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusCreated)
	ctx.SetContentType("application/json")
	ctx.SetBodyString(CreatedBody)
}
