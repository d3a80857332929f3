package ingest

import (
	"context"
	"strconv"

	"github.com/valyala/fasthttp"
)

// Presence counts a room's viewers. Fan-out satisfies it; ingest declares
// it so that it need not import fanout.
type Presence interface {
	// Online returns how many viewers are watching room.
	Online(ctx context.Context, room string) (int, error)
}

// getOnline serves GET /v1/rooms/{room}: {"room":"R","online":N}.
func (s *Server) getOnline(ctx *fasthttp.RequestCtx, room string) {
	n, err := s.online(room)
	if err != nil {
		s.logger.Warn("ingest: online count failed", "room", room, "err", err)
		writeError(ctx, errUnavailable)
		return
	}
	var buf [128]byte
	b := append(buf[:0], `{"room":"`...)
	b = append(b, room...) // a valid room id needs no escaping
	b = append(b, `","online":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, '}')
	ctx.SetContentType(contentTypeJSON)
	ctx.SetBody(b)
}

// online returns the online count of room, within QueryTimeout.
func (s *Server) online(room string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.QueryTimeout)
	defer cancel()
	return s.presence.Online(ctx, room)
}
