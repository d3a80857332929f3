package ingest

import (
	"context"
	"time"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/policy"
	"github.com/danmu-dev/danmu/stream"
	"github.com/valyala/fasthttp"
)

// putBan serves PUT /v1/rooms/{room}/bans/{uid} {"seconds":N}: an admin
// bans the user from posting to the room for N seconds, replacing any ban
// in force. It answers 204.
func (s *Server) putBan(ctx *fasthttp.RequestCtx, room, uid []byte) {
	admin, r, u, ok := s.banTarget(ctx, room, uid)
	if !ok {
		return
	}
	d, apiErr := decodeSeconds(ctx, time.Second, s.cfg.MaxBan, s.limitErrors.invalidBan)
	if apiErr != nil {
		writeError(ctx, apiErr)
		return
	}
	queryCtx, cancel := context.WithTimeout(context.Background(), s.cfg.QueryTimeout)
	err := s.policy.Ban(queryCtx, r, u, d)
	cancel()
	if err != nil {
		s.logger.Warn("ingest: ban failed", "room", r, "uid", u, "err", err)
		writeError(ctx, errUnavailable)
		return
	}
	s.logAdmin(ctx, admin, "ban", r, "uid", u, "seconds", int64(d/time.Second))
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// deleteBan serves DELETE /v1/rooms/{room}/bans/{uid}: an admin lifts the
// user's ban from the room, if any. It answers 204.
func (s *Server) deleteBan(ctx *fasthttp.RequestCtx, room, uid []byte) {
	admin, r, u, ok := s.banTarget(ctx, room, uid)
	if !ok {
		return
	}
	queryCtx, cancel := context.WithTimeout(context.Background(), s.cfg.QueryTimeout)
	err := s.policy.Unban(queryCtx, r, u)
	cancel()
	if err != nil {
		s.logger.Warn("ingest: unban failed", "room", r, "uid", u, "err", err)
		writeError(ctx, errUnavailable)
		return
	}
	s.logAdmin(ctx, admin, "unban", r, "uid", u)
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// banTarget checks the admin, room and user id of a ban request, or
// answers.
func (s *Server) banTarget(ctx *fasthttp.RequestCtx, room, uid []byte) (policy.User, string, string, bool) {
	admin, r, ok := s.adminRoom(ctx, room)
	if !ok {
		return policy.User{}, "", "", false
	}
	u := string(uid)
	if !codec.ValidUID(u) {
		writeError(ctx, errInvalidUID)
		return policy.User{}, "", "", false
	}
	return admin, r, u, true
}

// deleteComment serves DELETE /v1/rooms/{room}/danmaku/{id}: an admin
// deletes a stored comment. A delete control record (codec.EncodeDelete)
// is appended to the room's stream, from which fan-out tells the viewers;
// history then leaves the comment out. It answers 204, or 404 when the room's stream
// has no comment with that id (never stored, or trimmed by retention).
func (s *Server) deleteComment(ctx *fasthttp.RequestCtx, room, rawID []byte) {
	admin, r, ok := s.adminRoom(ctx, room)
	if !ok {
		return
	}
	id, err := codec.ParseID(string(rawID))
	if err != nil || id.IsZero() {
		writeError(ctx, errInvalidID)
		return
	}
	queryCtx, cancel := context.WithTimeout(context.Background(), s.cfg.QueryTimeout)
	page, err := s.log.Range(queryCtx, stream.Query{Room: r, After: previousID(id), Through: id, Limit: 1})
	cancel()
	if err != nil {
		s.logger.Warn("ingest: looking up a comment to delete failed", "room", r, "id", id.String(), "err", err)
		writeError(ctx, errUnavailable)
		return
	}
	if len(page.Entries) != 1 || page.Entries[0].ID != id || codec.IsControl(page.Entries[0].Data) {
		writeError(ctx, errNoSuchComment)
		return
	}
	record, err := codec.EncodeDelete(id.String())
	if err != nil {
		s.logger.Error("ingest: encoding a delete record failed", "room", r, "id", id.String(), "err", err)
		writeError(ctx, errInternal)
		return
	}
	appendCtx, cancel := context.WithTimeout(context.Background(), s.cfg.AppendTimeout)
	_, err = s.log.Append(appendCtx, r, record)
	cancel()
	if err != nil {
		s.logger.Warn("ingest: appending a delete record failed", "room", r, "id", id.String(), "err", err)
		writeError(ctx, appendError(err))
		return
	}
	s.logAdmin(ctx, admin, "delete", r, "id", id.String())
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// previousID returns the greatest ID below id, which must not be zero.
func previousID(id codec.ID) codec.ID {
	if id.Seq > 0 {
		return codec.ID{MS: id.MS, Seq: id.Seq - 1}
	}
	return codec.ID{MS: id.MS - 1, Seq: ^uint64(0)}
}

// adminRoom checks that a request to the admin API carries an admin's
// token and names a valid room, and returns both, or answers.
func (s *Server) adminRoom(ctx *fasthttp.RequestCtx, room []byte) (policy.User, string, bool) {
	admin, apiErr := s.admin(ctx)
	if apiErr != nil {
		writeError(ctx, apiErr)
		return policy.User{}, "", false
	}
	r, ok := s.checkRoom(ctx, room)
	return admin, r, ok
}

// logAdmin records an admin action: who, from where, what, in which room.
// Tokens are never logged.
func (s *Server) logAdmin(ctx *fasthttp.RequestCtx, admin policy.User, action, room string, attrs ...any) {
	s.logger.Info("ingest: admin action",
		append([]any{"action", action, "room", room, "admin", admin.ID, "client", s.clientIP(ctx).String()}, attrs...)...)
}
