package ingest

import (
	"strconv"

	"github.com/valyala/fasthttp"
)

// reloadFilter serves POST /v1/admin/filter/reload: an admin has the word
// list file read again. It answers {"words":N}; on an error the previous
// list stays in force.
func (s *Server) reloadFilter(ctx *fasthttp.RequestCtx) {
	admin, apiErr := s.admin(ctx)
	if apiErr != nil {
		writeError(ctx, apiErr)
		return
	}
	filter := s.cfg.Policy.Filter
	if filter == nil {
		writeError(ctx, errNoFilter)
		return
	}
	n, err := filter.Reload()
	if err != nil {
		s.logger.Error("ingest: reloading the word list failed; the previous list stays", "err", err)
		writeError(ctx, errReloadFailed)
		return
	}
	s.logAdmin(ctx, admin, "filter_reload", "", "words", n)
	ctx.SetContentType(contentTypeJSON)
	ctx.SetBody(strconv.AppendInt([]byte(`{"words":`), int64(n), 10))
	ctx.Response.AppendBodyString("}")
}
