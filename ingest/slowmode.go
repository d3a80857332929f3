package ingest

import (
	"context"
	"time"

	"github.com/danmu-dev/danmu/codec"
	"github.com/valyala/fasthttp"
)

// putSlowMode serves PUT /v1/rooms/{room}/slowmode {"seconds":N}: an admin
// sets the shortest time between two comments of one user in the room,
// 0 turning slow mode off. It answers 204.
func (s *Server) putSlowMode(ctx *fasthttp.RequestCtx, room []byte) {
	admin, r, ok := s.adminRoom(ctx, room)
	if !ok {
		return
	}
	interval, apiErr := decodeSeconds(ctx, 0, s.cfg.MaxSlowMode, s.limitErrors.invalidSlowMode)
	if apiErr != nil {
		writeError(ctx, apiErr)
		return
	}
	queryCtx, cancel := context.WithTimeout(context.Background(), s.cfg.QueryTimeout)
	err := s.policy.SetSlowMode(queryCtx, r, interval)
	cancel()
	if err != nil {
		s.logger.Warn("ingest: setting slow mode failed", "room", r, "err", err)
		writeError(ctx, errUnavailable)
		return
	}
	s.logAdmin(ctx, admin, "slowmode", r, "seconds", int64(interval/time.Second))
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// secondsBody is the body of the admin requests that set a duration.
type secondsBody struct {
	Seconds *int64 `json:"seconds"`
}

// decodeSeconds decodes a {"seconds":N} body with N in [lowest, highest]
// (a duration in whole seconds), or returns the answer to give: bad, or
// unsupported_media_type.
func decodeSeconds(ctx *fasthttp.RequestCtx, lowest, highest time.Duration, bad *Error) (time.Duration, *Error) {
	if !isJSON(ctx.Request.Header.ContentType()) {
		return 0, errUnsupportedMediaType
	}
	body := ctx.PostBody()
	var in secondsBody
	if !isJSONObject(body) || codec.JSON.Unmarshal(body, &in) != nil {
		return 0, errInvalidJSON
	}
	if in.Seconds == nil || *in.Seconds < int64(lowest/time.Second) || *in.Seconds > int64(highest/time.Second) {
		return 0, bad
	}
	return time.Duration(*in.Seconds) * time.Second, nil
}
