package ingest

import (
	"bytes"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/internal/telemetry"
	"github.com/valyala/fasthttp"
)

// Content types of a POST /msg/send body: Bilibili's web client sends a
// form, as either.
const (
	contentTypeForm      = "application/x-www-form-urlencoded"
	contentTypeMultipart = "multipart/form-data"
)

// biliSendForm is what POST /msg/send reads of its form. Bilibili's other
// fields (fontsize, rnd, csrf, bubble, reply_mid, ...) are ignored: danmu
// has one font size, and a bearer token needs no CSRF token.
type biliSendForm struct {
	roomID []byte // roomid
	text   []byte // msg
	color  []byte // color, decimal RGB
	mode   []byte // mode: 1, 4 or 5
}

// biliSend serves POST /msg/send, the way Bilibili's web client posts a
// comment: the comment goes through the same checks, hooks and policy as
// POST /v1/rooms/{room}/danmaku (the bearer token included), to room
// "N" for roomid N. It answers in Bilibili's envelope (biliSendError maps
// the errors); the comment's ID is the id_str in data.mode_info.extra.
func (s *Server) biliSend(ctx *fasthttp.RequestCtx) {
	tctx, span := s.startPost(ctx, spanBili, routeBili)
	defer endPost(ctx, span)
	form, apiErr := s.readBiliSendForm(ctx)
	if apiErr != nil {
		s.biliSendError(ctx, apiErr)
		return
	}
	_, validate := telemetry.Start(tctx, spanValidate, telemetry.Internal)
	room, msg, apiErr := decodeBiliSend(form, &s.cfg, &s.limitErrors)
	endRefused(validate, apiErr)
	if apiErr != nil {
		s.biliSendError(ctx, apiErr)
		return
	}
	p := s.newPost(ctx, room, msg)
	id, apiErr := s.publish(tctx, p, time.Now())
	if apiErr != nil {
		s.biliSendError(ctx, apiErr)
		return
	}
	var idBuf [48]byte
	b := append(make([]byte, 0, 2048), `{"code":0,"data":{"mode_info":`...)
	b = codec.AppendBiliModeInfo(b, string(id.AppendTo(idBuf[:0])), &p.comment.Message, true)
	b = append(b, `,"dm_v2":null},"message":"","msg":""}`...)
	allowAnyOrigin(ctx)
	ctx.SetContentType(contentTypeJSON)
	ctx.SetBody(b)
}

// readBiliSendForm reads the form of a POST /msg/send. The form values
// alias the request: they are valid until the handler returns.
func (s *Server) readBiliSendForm(ctx *fasthttp.RequestCtx) (biliSendForm, *Error) {
	if len(ctx.PostBody()) > s.cfg.MaxBodyBytes {
		return biliSendForm{}, s.limitErrors.bodyTooLarge
	}
	mediaType, _, _ := bytes.Cut(ctx.Request.Header.ContentType(), []byte{';'})
	mediaType = bytes.TrimSpace(mediaType)
	switch {
	case bytes.EqualFold(mediaType, []byte(contentTypeForm)):
		args := ctx.PostArgs()
		return biliSendForm{roomID: args.Peek("roomid"), text: args.Peek("msg"), color: args.Peek("color"), mode: args.Peek("mode")}, nil
	case bytes.EqualFold(mediaType, []byte(contentTypeMultipart)):
		mf, err := ctx.MultipartForm()
		if err != nil {
			return biliSendForm{}, errInvalidForm
		}
		value := func(name string) []byte {
			if v := mf.Value[name]; len(v) > 0 {
				return []byte(v[0])
			}
			return nil
		}
		return biliSendForm{roomID: value("roomid"), text: value("msg"), color: value("color"), mode: value("mode")}, nil
	}
	return biliSendForm{}, errUnsupportedForm
}

// decodeBiliSend validates the form of a POST /msg/send into the room and
// a Message without ID or TS, as decodeComment does a JSON body: the text
// is UTF-8 and follows the text rules, color and mode, when present, are
// ones danmu has. The poster is the token's (or in open mode the default
// user: the form names none).
func decodeBiliSend(form biliSendForm, cfg *Config, errs *limitErrors) (string, codec.Message, *Error) {
	id, err := strconv.ParseUint(string(form.roomID), 10, 64)
	if err != nil || id == 0 {
		return "", codec.Message{}, errInvalidRoomID
	}
	if !utf8.Valid(form.text) {
		return "", codec.Message{}, errInvalidText
	}
	text := string(form.text)
	if err := codec.CheckText(text, cfg.MaxTextRunes); err != nil {
		return "", codec.Message{}, errs.invalidComment(err)
	}
	msg := codec.Message{UID: DefaultUID, Name: DefaultName, Text: text, Color: codec.DefaultColor, Mode: codec.ModeScroll}
	if len(form.color) > 0 {
		rgb, err := strconv.ParseInt(string(form.color), 10, 64)
		color, ok := codec.BiliColorName(rgb)
		if err != nil || !ok {
			return "", codec.Message{}, errInvalidBiliColor
		}
		msg.Color = color
	}
	if len(form.mode) > 0 {
		n, err := strconv.Atoi(string(form.mode))
		mode, ok := codec.BiliModeName(n)
		if err != nil || !ok {
			return "", codec.Message{}, errInvalidBiliMode
		}
		msg.Mode = mode
	}
	return strconv.FormatUint(id, 10), msg, nil
}

// biliSendError answers POST /msg/send with the Bilibili code of e
// (biliSendCode), HTTP 200, and e's code and message as the message. Stats
// count it under e's code, and a Retry-After goes out as it would on the
// native route.
func (s *Server) biliSendError(ctx *fasthttp.RequestCtx, e *Error) {
	writeError(ctx, e)
	ctx.Response.Header.Del(fasthttp.HeaderWWWAuthenticate)
	ctx.SetStatusCode(fasthttp.StatusOK)
	writeBiliError(ctx, biliSendCode(e), e.Error())
}

// biliSendCode returns the Bilibili code of the answer e.
func biliSendCode(e *Error) int {
	switch e.code {
	case CodeUnauthorized:
		return biliCodeNotLoggedIn
	case CodeForbidden, CodeBanned:
		return biliCodeForbidden
	case CodeRateLimited, CodeSlowMode, CodeSpam:
		return biliCodeTooFast
	case CodeTextTooLong:
		return biliCodeTooLong
	case CodeUnavailable, CodeTooManyRooms:
		return biliCodeUnavailable
	}
	if e.status >= 500 {
		return biliCodeInternal
	}
	return biliCodeBadRequest
}
