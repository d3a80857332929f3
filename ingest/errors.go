package ingest

import (
	"errors"
	"net"
	"strconv"

	"github.com/danmu-dev/danmu/codec"
	"github.com/valyala/fasthttp"
)

// Error codes: the stable "code" of every error answer
//
//	{"error":{"code":"...","message":"..."}}
//
// Clients branch on the code; the message is for humans and may change.
const (
	CodeInvalidRoom          = "invalid_room"           // 400: room id not 1–64 of [A-Za-z0-9_.:-]
	CodeUnsupportedMediaType = "unsupported_media_type" // 415: POST body not application/json
	CodeBodyTooLarge         = "body_too_large"         // 413: POST body above MaxBodyBytes
	CodeInvalidJSON          = "invalid_json"           // 400: body not a JSON object, or not UTF-8
	CodeEmptyText            = "empty_text"             // 400: text missing or empty
	CodeTextTooLong          = "text_too_long"          // 400: text above MaxTextRunes
	CodeInvalidText          = "invalid_text"           // 400: text has control characters
	CodeInvalidColor         = "invalid_color"          // 400: color not "#rrggbb"
	CodeInvalidMode          = "invalid_mode"           // 400: mode not scroll, top or bottom
	CodeInvalidName          = "invalid_name"           // 400: name above MaxNameRunes or has control characters
	CodeInvalidUID           = "invalid_uid"            // 400: uid not 1–64 of [A-Za-z0-9_.:-]
	CodeInvalidSince         = "invalid_since"          // 400: since not an entry ID "<ms>-<seq>"
	CodeInvalidLimit         = "invalid_limit"          // 400: limit not 1..MaxHistoryLimit
	CodeBadRequest           = "bad_request"            // 400: malformed HTTP request
	CodeRequestTimeout       = "request_timeout"        // 408: request not read within ReadTimeout
	CodeHeaderTooLarge       = "header_too_large"       // 431: request headers too large
	CodeNotFound             = "not_found"              // 404: no such path
	CodeMethodNotAllowed     = "method_not_allowed"     // 405: path exists, method does not (see Allow)
	CodeUnavailable          = "unavailable"            // 503: stream or presence failed or timed out
	CodeInternal             = "internal"               // 500: a bug; the server logged it
)

// apiError is an error answer rendered once, so writing it allocates
// nothing.
type apiError struct {
	status int
	code   string
	body   []byte
}

func newAPIError(status int, code, message string) *apiError {
	type detail struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	type envelope struct {
		Error detail `json:"error"`
	}
	body, err := codec.JSON.Marshal(envelope{detail{code, message}})
	if err != nil {
		panic("ingest: cannot encode error " + code + ": " + err.Error())
	}
	return &apiError{status: status, code: code, body: body}
}

// Error answers whose message does not depend on the Config.
var (
	errInvalidRoom = newAPIError(fasthttp.StatusBadRequest, CodeInvalidRoom,
		"room id must be 1 to 64 characters of A-Z a-z 0-9 _ . : -")
	errUnsupportedMediaType = newAPIError(fasthttp.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
		"Content-Type must be application/json")
	errInvalidJSON = newAPIError(fasthttp.StatusBadRequest, CodeInvalidJSON,
		"body must be a JSON object of UTF-8 text")
	errEmptyText = newAPIError(fasthttp.StatusBadRequest, CodeEmptyText,
		"text must not be empty")
	errInvalidText = newAPIError(fasthttp.StatusBadRequest, CodeInvalidText,
		"text must be one line of valid characters, without control characters")
	errInvalidColor = newAPIError(fasthttp.StatusBadRequest, CodeInvalidColor,
		`color must be "#rrggbb"`)
	errInvalidMode = newAPIError(fasthttp.StatusBadRequest, CodeInvalidMode,
		`mode must be "scroll", "top" or "bottom"`)
	errInvalidUID = newAPIError(fasthttp.StatusBadRequest, CodeInvalidUID,
		"uid must be 1 to 64 characters of A-Z a-z 0-9 _ . : -")
	errInvalidSince = newAPIError(fasthttp.StatusBadRequest, CodeInvalidSince,
		`since must be an entry id "<ms>-<seq>"`)
	errBadRequest = newAPIError(fasthttp.StatusBadRequest, CodeBadRequest,
		"malformed HTTP request")
	errRequestTimeout = newAPIError(fasthttp.StatusRequestTimeout, CodeRequestTimeout,
		"request not received in time")
	errHeaderTooLarge = newAPIError(fasthttp.StatusRequestHeaderFieldsTooLarge, CodeHeaderTooLarge,
		"request headers too large")
	errNotFound = newAPIError(fasthttp.StatusNotFound, CodeNotFound,
		"no such path")
	errMethodNotAllowed = newAPIError(fasthttp.StatusMethodNotAllowed, CodeMethodNotAllowed,
		"method not allowed on this path; see the Allow header")
	errUnavailable = newAPIError(fasthttp.StatusServiceUnavailable, CodeUnavailable,
		"temporarily unavailable; retry later")
	errInternal = newAPIError(fasthttp.StatusInternalServerError, CodeInternal,
		"internal error")
)

// limitErrors are the error answers whose message names a Config limit.
type limitErrors struct {
	bodyTooLarge *apiError
	textTooLong  *apiError
	invalidName  *apiError
	invalidLimit *apiError
}

func newLimitErrors(cfg *Config) limitErrors {
	itoa := strconv.Itoa
	return limitErrors{
		bodyTooLarge: newAPIError(fasthttp.StatusRequestEntityTooLarge, CodeBodyTooLarge,
			"body must be at most "+itoa(cfg.MaxBodyBytes)+" bytes"),
		textTooLong: newAPIError(fasthttp.StatusBadRequest, CodeTextTooLong,
			"text must be at most "+itoa(cfg.MaxTextRunes)+" characters"),
		invalidName: newAPIError(fasthttp.StatusBadRequest, CodeInvalidName,
			"name must be 1 to "+itoa(cfg.MaxNameRunes)+" characters on one line"),
		invalidLimit: newAPIError(fasthttp.StatusBadRequest, CodeInvalidLimit,
			"limit must be 1 to "+itoa(cfg.MaxHistoryLimit)),
	}
}

const contentTypeJSON = "application/json"

// writeError answers with e, replacing any body set so far.
func writeError(ctx *fasthttp.RequestCtx, e *apiError) {
	ctx.SetStatusCode(e.status)
	ctx.SetContentType(contentTypeJSON)
	ctx.SetBody(e.body)
}

// readError answers a request fasthttp could not read (it calls this
// before any handler runs and then closes the connection). The path may
// not be parsed yet, so the CORS header goes on every such answer: a page
// posting a body that is far too large must still see the 413.
func (s *Server) readError(ctx *fasthttp.RequestCtx, err error) {
	allowAnyOrigin(ctx)
	var smallBuffer *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		writeError(ctx, s.limitErrors.bodyTooLarge)
	case errors.As(err, &smallBuffer):
		writeError(ctx, errHeaderTooLarge)
	case errors.As(err, &netErr) && netErr.Timeout():
		writeError(ctx, errRequestTimeout)
	default:
		writeError(ctx, errBadRequest)
	}
}
