package ingest

import (
	"context"
	"sync"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/stream"
	"github.com/valyala/fasthttp"
)

// getHistory serves GET /v1/rooms/{room}/danmaku?since=ID&limit=N, oldest
// first: with since, the first limit entries after since; without, the
// newest limit entries. "gap" is stream.Page.Gap: true when entries after
// since are missing from msgs, trimmed by retention or, without since, left
// out by the limit or trimmed (the room has older history than msgs shows).
func (s *Server) getHistory(ctx *fasthttp.RequestCtx, room string) {
	args := ctx.QueryArgs()
	q := stream.Query{Room: room, Limit: s.cfg.HistoryLimit, Newest: true}
	if args.Has("limit") {
		n, err := fasthttp.ParseUint(args.Peek("limit"))
		if err != nil || n < 1 || n > s.cfg.MaxHistoryLimit {
			writeError(ctx, s.limitErrors.invalidLimit)
			return
		}
		q.Limit = n
	}
	if args.Has("since") {
		since, err := codec.ParseID(string(args.Peek("since")))
		if err != nil {
			writeError(ctx, errInvalidSince)
			return
		}
		q.After, q.Newest = since, false
	}
	queryCtx, cancel := context.WithTimeout(context.Background(), s.cfg.QueryTimeout)
	page, err := s.log.Range(queryCtx, q)
	cancel()
	if err != nil {
		s.logger.Warn("ingest: history query failed", "room", room, "err", err)
		writeError(ctx, errUnavailable)
		return
	}
	scratch := historyScratchPool.Get().(*historyScratch)
	scratch.out = s.appendHistoryJSON(scratch, room, &page)
	ctx.SetContentType(contentTypeJSON)
	ctx.SetBody(scratch.out)
	scratch.reset()
	historyScratchPool.Put(scratch)
}

// historyScratch is the reusable memory of one history answer.
type historyScratch struct {
	entries []codec.Entry
	out     []byte
}

// reset drops the references to entries so a pooled scratch keeps no
// stream data alive.
func (h *historyScratch) reset() {
	clear(h.entries)
	h.entries = h.entries[:0]
	h.out = h.out[:0]
}

var historyScratchPool = sync.Pool{New: func() any { return new(historyScratch) }}

// appendHistoryJSON builds {"room":"R","msgs":[...],"gap":bool} into
// h.out with codec.AppendItemsJSON: each message as the native protocol
// sends it.
func (s *Server) appendHistoryJSON(h *historyScratch, room string, page *stream.Page) []byte {
	for i := range page.Entries {
		e := &page.Entries[i]
		h.entries = append(h.entries, codec.DecodeEntry(e.ID, e.Data))
	}
	// History shows what viewers are shown: no delete records, nor the
	// messages they delete, nor a retried POST's second copy; entries a
	// foreign writer left in a shared stream are skipped.
	messages, _, skipped := codec.Visible(h.entries)
	if skipped > 0 {
		s.logger.Warn("ingest: skipping stored entries that are not messages", "room", room, "count", skipped)
	}
	out := append(h.out, `{"room":"`...)
	out = append(out, room...) // a valid room id needs no escaping
	out = append(out, `","msgs":[`...)
	out = codec.AppendItemsJSON(out, messages)
	if page.Gap {
		out = append(out, `],"gap":true`...)
	} else {
		out = append(out, `],"gap":false`...)
	}
	// next is the last entry the page covered: delete records and retried
	// copies are left out of msgs, so a page may list fewer than it read,
	// even none; the next page starts after next.
	if n := len(page.Entries); n > 0 {
		out = append(out, `,"next":"`...)
		out = page.Entries[n-1].ID.AppendTo(out)
		out = append(out, '"')
	}
	return append(out, '}')
}
