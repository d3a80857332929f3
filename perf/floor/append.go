package floor

import (
	"bytes"
	"context"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/danmu-dev/danmu/rdb"
	"github.com/danmu-dev/danmu/stream"
)

// appendMaxLen is the XADD MAXLEN ~ of every append: danmu's default.
var appendMaxLen = strconv.Itoa(stream.DefaultMaxLen)

// AppendHandler is the floor of ingest with Redis: it answers a POST with
// 201 and CreatedBody once Redis has acknowledged one XADD MAXLEN ~ of the
// body, as field "d", to the stream of the room named by the path
// (/v1/rooms/{room}/..., keyed as danmu keys it: client.RoomKey(room,
// "s")), and with 503 when Redis fails; any other method gets 405. The
// client is danmu's (rdb.New: the same auto-pipelining and flush delay).
// Nothing else: no reading of the body, no checks, no expiry, and no
// deadline (a server that must answer in bounded time waits with a timer;
// this one waits as long as Redis takes), so that what danmu spends above
// it is danmu's own work.
func AppendHandler(client *rdb.Client) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if !ctx.IsPost() {
			ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
			return
		}
		cmd := client.B().Xadd().Key(client.RoomKey(roomOf(ctx.Path()), "s")).
			Maxlen().Almost().Threshold(appendMaxLen).Id("*").
			FieldValue().FieldValue("d", string(ctx.PostBody())).Build()
		if err := client.Do(context.Background(), cmd).Error(); err != nil {
			ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
			return
		}
		ctx.SetStatusCode(fasthttp.StatusCreated)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(CreatedBody)
	}
}

// roomOf returns the room of a path /v1/rooms/{room}/..., or "floor" for
// any other path.
func roomOf(path []byte) string {
	rest, ok := bytes.CutPrefix(path, []byte("/v1/rooms/"))
	if !ok {
		return "floor"
	}
	room, _, _ := bytes.Cut(rest, []byte("/"))
	if len(room) == 0 {
		return "floor"
	}
	return string(room)
}
