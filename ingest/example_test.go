package ingest_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/ingest"
	"github.com/danmu-dev/danmu/policy"
	"github.com/danmu-dev/danmu/stream"
	"github.com/valyala/fasthttp"
)

// supporters raises the prio of comments from users who paid for
// highlights, refuses links from everyone else, and counts what was
// stored.
type supporters struct {
	paid map[string]bool // user ids; read-only while serving

	mu     sync.Mutex
	stored int
}

var errNoLinks = ingest.NewError(http.StatusUnprocessableEntity, "no_links", "links are for supporters")

func (h *supporters) Name() string { return "supporters" }

func (h *supporters) Before(ctx context.Context, c *policy.Comment) error {
	if !h.paid[c.User.ID] {
		if strings.Contains(c.Message.Text, "://") {
			return errNoLinks
		}
		return nil
	}
	c.Message.Prio = 1
	c.Message.Color = "#ffd700"
	return nil
}

func (h *supporters) After(ctx context.Context, c *policy.Comment, id codec.ID) {
	h.mu.Lock()
	h.stored++
	h.mu.Unlock()
}

// onlineNobody is a Presence for the example: no viewers anywhere.
type onlineNobody struct{}

func (onlineNobody) Online(ctx context.Context, room string) (int, error) { return 0, nil }

func ExampleServer_Use() {
	log := stream.NewMemory(stream.MemoryConfig{})
	srv := ingest.New(ingest.Config{}, log, onlineNobody{}, slog.Default())
	hook := &supporters{paid: map[string]bool{"fan-1": true}}
	srv.Use(hook)

	// Post in-process; over HTTP, srv.Serve(listener).
	post := func(body string) {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(fasthttp.MethodPost)
		ctx.Request.SetRequestURI("/v1/rooms/lobby/danmaku")
		ctx.Request.Header.SetContentType("application/json")
		ctx.Request.SetBodyString(body)
		srv.Handler()(&ctx)
		fmt.Println(ctx.Response.StatusCode(), strings.Contains(string(ctx.Response.Body()), "no_links"))
	}
	post(`{"text":"see https://example.com","uid":"viewer-2"}`)
	post(`{"text":"see https://example.com","uid":"fan-1"}`)

	page, _ := log.Range(context.Background(), stream.Query{Room: "lobby"})
	stored, _ := codec.DecodeStored(page.Entries[0].Data)
	fmt.Println(len(page.Entries), stored.UID, stored.Prio, stored.Color, hook.stored)
	// Output:
	// 422 true
	// 201 false
	// 1 fan-1 1 #ffd700 1
}
