package ingest

import (
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/policy"
	"github.com/danmu-dev/danmu/stream"
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
	CodeBodyTooLarge         = "body_too_large"         // 413: POST body above MaxBodyBytes (a batch's above MaxBatchBytes)
	CodeInvalidJSON          = "invalid_json"           // 400: body not a JSON object, or not UTF-8
	CodeEmptyText            = "empty_text"             // 400: text missing or empty
	CodeTextTooLong          = "text_too_long"          // 400: text above MaxTextRunes
	CodeInvalidText          = "invalid_text"           // 400: text has control characters
	CodeInvalidColor         = "invalid_color"          // 400: color not "#rrggbb"
	CodeInvalidMode          = "invalid_mode"           // 400: mode not scroll, top or bottom
	CodeInvalidName          = "invalid_name"           // 400: name above MaxNameRunes or has control characters
	CodeInvalidUID           = "invalid_uid"            // 400: uid not 1–64 of [A-Za-z0-9_.:-]
	CodeInvalidCID           = "invalid_cid"            // 400: cid not 1–64 of [A-Za-z0-9_.:-]
	CodeInvalidSince         = "invalid_since"          // 400: since not an entry ID "<ms>-<seq>"
	CodeInvalidForm          = "invalid_form"           // 400: POST /msg/send: the body is not a valid form
	CodeInvalidLimit         = "invalid_limit"          // 400: limit not 1..MaxHistoryLimit
	CodeInvalidBatch         = "invalid_batch"          // 400: POST .../danmaku:batch: "comments" missing, empty or above MaxBatch
	CodeBadRequest           = "bad_request"            // 400: malformed HTTP request
	CodeRequestTimeout       = "request_timeout"        // 408: request not read within ReadTimeout
	CodeHeaderTooLarge       = "header_too_large"       // 431: request headers too large
	CodeNotFound             = "not_found"              // 404: no such path
	CodeMethodNotAllowed     = "method_not_allowed"     // 405: path exists, method does not (see Allow)
	CodeUnavailable          = "unavailable"            // 503: stream, presence or policy state failed or timed out
	CodeTooManyRooms         = "too_many_rooms"         // 503: the embedded stream holds its most rooms; rooms with comments still take posts
	CodeInternal             = "internal"               // 500: a bug or a failing hook; the server logged it

	CodeUnauthorized    = "unauthorized"     // 401: no bearer token, or an invalid one (see WWW-Authenticate)
	CodeForbidden       = "forbidden"        // 403: not an admin (admin API, prio above 0), or the admin API is off
	CodeBanned          = "banned"           // 403: the poster is banned from the room
	CodeRateLimited     = "rate_limited"     // 429: a user, client address or room rate limit (see Retry-After)
	CodeSlowMode        = "slow_mode"        // 429: the room's slow mode (see Retry-After)
	CodeSpam            = "spam"             // 429: the same text again within the spam window (see Retry-After)
	CodeContentRejected = "content_rejected" // 422: text or name has a word of the word list
	CodeRejected        = "rejected"         // 422: the publish webhook rejected the comment without a code of its own (it may send one)
	CodeHookUnavailable = "hook_unavailable" // 503: the publish webhook gave no usable answer and fails closed
	CodeInvalidPrio     = "invalid_prio"     // 400: prio not an integer >= 0
	CodeInvalidID       = "invalid_id"       // 400: message id not "<ms>-<seq>"
	CodeInvalidSeconds  = "invalid_seconds"  // 400: seconds missing or out of range
	CodeNoFilter        = "no_filter"        // 409: filter reload without a word list configured
	CodeReloadFailed    = "reload_failed"    // 500: the word list could not be read; the previous one stays
)

// Error is an error answer: an HTTP status, a stable code and a message
// for humans, rendered once so that writing it allocates nothing. A hook
// rejects a comment by returning one from Before (see NewError).
type Error struct {
	status  int
	code    string
	message string
	body    []byte
	// retryAfter, when positive, is sent as Retry-After (whole seconds,
	// rounded up).
	retryAfter time.Duration
	// authenticate, when set, is sent as WWW-Authenticate.
	authenticate string
}

// NewError returns the error answer {"error":{"code":code,"message":message}}
// with status, which must be a 4xx or 5xx.
func NewError(status int, code, message string) *Error {
	if status < 400 || status > 599 || code == "" {
		panic("ingest: NewError needs a 4xx or 5xx status and a code")
	}
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
	return &Error{status: status, code: code, message: message, body: body}
}

// Error returns "code: message".
func (e *Error) Error() string { return e.code + ": " + e.message }

// Status returns the HTTP status of the answer.
func (e *Error) Status() int { return e.status }

// Code returns the stable code of the answer.
func (e *Error) Code() string { return e.code }

// WithRetryAfter returns a copy of e answered with a Retry-After header of
// d, in whole seconds rounded up (at least 1).
func (e *Error) WithRetryAfter(d time.Duration) *Error {
	c := *e
	c.retryAfter = d
	return &c
}

// withAuthenticate returns a copy of e answered with WWW-Authenticate.
func (e *Error) withAuthenticate(challenge string) *Error {
	c := *e
	c.authenticate = challenge
	return &c
}

// Error answers whose message does not depend on the Config.
var (
	errInvalidRoom = NewError(fasthttp.StatusBadRequest, CodeInvalidRoom,
		"room id must be 1 to 64 characters of A-Z a-z 0-9 _ . : -")
	errUnsupportedMediaType = NewError(fasthttp.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
		"Content-Type must be application/json")
	errInvalidJSON = NewError(fasthttp.StatusBadRequest, CodeInvalidJSON,
		"body must be a JSON object of UTF-8 text")
	errEmptyText = NewError(fasthttp.StatusBadRequest, CodeEmptyText,
		"text must not be empty")
	errInvalidText = NewError(fasthttp.StatusBadRequest, CodeInvalidText,
		"text must be one line of valid characters, without control characters")
	errInvalidColor = NewError(fasthttp.StatusBadRequest, CodeInvalidColor,
		`color must be "#rrggbb"`)
	errInvalidMode = NewError(fasthttp.StatusBadRequest, CodeInvalidMode,
		`mode must be "scroll", "top" or "bottom"`)
	errInvalidUID = NewError(fasthttp.StatusBadRequest, CodeInvalidUID,
		"uid must be 1 to 64 characters of A-Z a-z 0-9 _ . : -")
	errInvalidCID = NewError(fasthttp.StatusBadRequest, CodeInvalidCID,
		"cid must be 1 to 64 characters of A-Z a-z 0-9 _ . : -")
	errInvalidSince = NewError(fasthttp.StatusBadRequest, CodeInvalidSince,
		`since must be an entry id "<ms>-<seq>"`)
	errBadRequest = NewError(fasthttp.StatusBadRequest, CodeBadRequest,
		"malformed HTTP request")
	errRequestTimeout = NewError(fasthttp.StatusRequestTimeout, CodeRequestTimeout,
		"request not received in time")
	errHeaderTooLarge = NewError(fasthttp.StatusRequestHeaderFieldsTooLarge, CodeHeaderTooLarge,
		"request headers too large")
	errNotFound = NewError(fasthttp.StatusNotFound, CodeNotFound,
		"no such path")
	errMethodNotAllowed = NewError(fasthttp.StatusMethodNotAllowed, CodeMethodNotAllowed,
		"method not allowed on this path; see the Allow header")
	errUnavailable = NewError(fasthttp.StatusServiceUnavailable, CodeUnavailable,
		"temporarily unavailable; retry later")
	errTooManyRooms = NewError(fasthttp.StatusServiceUnavailable, CodeTooManyRooms,
		"the server holds as many rooms as it may; rooms nobody uses are freed after a while, retry later")
	errInternal = NewError(fasthttp.StatusInternalServerError, CodeInternal,
		"internal error")

	errUnauthorized = NewError(fasthttp.StatusUnauthorized, CodeUnauthorized,
		"an Authorization: Bearer token is required").withAuthenticate(`Bearer realm="danmu"`)
	errInvalidToken = NewError(fasthttp.StatusUnauthorized, CodeUnauthorized,
		"the bearer token is invalid or expired").withAuthenticate(`Bearer realm="danmu", error="invalid_token"`)
	errForbidden = NewError(fasthttp.StatusForbidden, CodeForbidden,
		"this needs an admin token")
	errPrioForbidden = NewError(fasthttp.StatusForbidden, CodeForbidden,
		"only admins may post with prio above 0")
	errAdminDisabled = NewError(fasthttp.StatusForbidden, CodeForbidden,
		"the admin API is off: the server runs in open mode, without a JWT secret")
	errBanned = NewError(fasthttp.StatusForbidden, CodeBanned,
		"you are banned from this room")
	errRateLimited = NewError(fasthttp.StatusTooManyRequests, CodeRateLimited,
		"too many comments; retry after the time in Retry-After")
	errSlowMode = NewError(fasthttp.StatusTooManyRequests, CodeSlowMode,
		"the room is in slow mode; retry after the time in Retry-After")
	errSpam = NewError(fasthttp.StatusTooManyRequests, CodeSpam,
		"the same comment was just posted; post something else or retry after the time in Retry-After")
	errContentRejected = NewError(fasthttp.StatusUnprocessableEntity, CodeContentRejected,
		"the comment contains a word that is not allowed")
	errHookUnavailable = NewError(fasthttp.StatusServiceUnavailable, CodeHookUnavailable,
		"the comment could not be checked; retry later")
	errInvalidPrio = NewError(fasthttp.StatusBadRequest, CodeInvalidPrio,
		"prio must be an integer of at least 0")
	errInvalidID = NewError(fasthttp.StatusBadRequest, CodeInvalidID,
		`message id must be "<ms>-<seq>"`)
	errNoSuchComment = NewError(fasthttp.StatusNotFound, CodeNotFound,
		"no such comment in this room")
	errNoFilter = NewError(fasthttp.StatusConflict, CodeNoFilter,
		"no word list is configured")
	errReloadFailed = NewError(fasthttp.StatusInternalServerError, CodeReloadFailed,
		"the word list could not be read; the previous one stays in force (see the server log)")

	// POST /msg/send, which answers them in Bilibili's envelope.
	errInvalidRoomID = NewError(fasthttp.StatusBadRequest, CodeInvalidRoom,
		"roomid must be a positive integer")
	errInvalidForm = NewError(fasthttp.StatusBadRequest, CodeInvalidForm,
		"the body is not a valid multipart form")
	errUnsupportedForm = NewError(fasthttp.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
		"Content-Type must be application/x-www-form-urlencoded or multipart/form-data")
	errInvalidBiliColor = NewError(fasthttp.StatusBadRequest, CodeInvalidColor,
		"color must be a decimal RGB value from 0 to 16777215")
	errInvalidBiliMode = NewError(fasthttp.StatusBadRequest, CodeInvalidMode,
		"mode must be 1 (scroll), 4 (bottom) or 5 (top)")
)

// refusals are the answers to the refusals of package policy's hooks.
var refusals = [...]struct {
	err    error
	answer *Error
}{
	{policy.ErrPrio, errPrioForbidden},
	{policy.ErrBanned, errBanned},
	{policy.ErrRateLimited, errRateLimited},
	{policy.ErrContentRejected, errContentRejected},
	{policy.ErrSpam, errSpam},
	{policy.ErrSlowMode, errSlowMode},
	{policy.ErrHookUnavailable, errHookUnavailable},
}

// rejectionAnswer returns the answer to a rejection by the publish
// webhook: 422 with its code and message, or defaults for those it left
// empty.
func rejectionAnswer(r *policy.Rejection) *Error {
	code, message := r.Code, r.Message
	if code == "" {
		code = CodeRejected
	}
	if message == "" {
		message = "the comment was rejected"
	}
	return NewError(fasthttp.StatusUnprocessableEntity, code, message)
}

// limitErrors are the error answers whose message names a Config limit.
type limitErrors struct {
	bodyTooLarge    *Error
	textTooLong     *Error
	invalidName     *Error
	invalidLimit    *Error
	invalidSlowMode *Error
	invalidBan      *Error
	batchTooLarge   *Error
	invalidBatch    *Error
}

func newLimitErrors(cfg *Config) limitErrors {
	itoa := strconv.Itoa
	return limitErrors{
		bodyTooLarge: NewError(fasthttp.StatusRequestEntityTooLarge, CodeBodyTooLarge,
			"body must be at most "+itoa(cfg.MaxBodyBytes)+" bytes"),
		textTooLong: NewError(fasthttp.StatusBadRequest, CodeTextTooLong,
			"text must be at most "+itoa(cfg.MaxTextRunes)+" characters"),
		invalidName: NewError(fasthttp.StatusBadRequest, CodeInvalidName,
			"name must be 1 to "+itoa(cfg.MaxNameRunes)+" characters on one line"),
		invalidLimit: NewError(fasthttp.StatusBadRequest, CodeInvalidLimit,
			"limit must be 1 to "+itoa(cfg.MaxHistoryLimit)),
		invalidSlowMode: NewError(fasthttp.StatusBadRequest, CodeInvalidSeconds,
			`body must be {"seconds":N} with N from 0 (off) to `+itoa(int(cfg.MaxSlowMode/time.Second))),
		invalidBan: NewError(fasthttp.StatusBadRequest, CodeInvalidSeconds,
			`body must be {"seconds":N} with N from 1 to `+itoa(int(cfg.MaxBan/time.Second))),
		batchTooLarge: NewError(fasthttp.StatusRequestEntityTooLarge, CodeBodyTooLarge,
			"a batch body must be at most "+itoa(cfg.MaxBatchBytes)+" bytes"),
		invalidBatch: NewError(fasthttp.StatusBadRequest, CodeInvalidBatch,
			`body must be {"comments":[...]} with 1 to `+itoa(cfg.MaxBatch)+" comments"),
	}
}

// appendError returns the answer to a failed append to the stream.
func appendError(err error) *Error {
	if errors.Is(err, stream.ErrTooManyRooms) {
		return errTooManyRooms
	}
	return errUnavailable
}

const contentTypeJSON = "application/json"

// writeError answers with e, replacing any body set so far, and leaves e
// for Stats to count.
func writeError(ctx *fasthttp.RequestCtx, e *Error) {
	ctx.SetUserValue(errorKey{}, e)
	if e.retryAfter > 0 {
		ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(retryAfterSeconds(e.retryAfter)))
	}
	if e.authenticate != "" {
		ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, e.authenticate)
	}
	ctx.SetStatusCode(e.status)
	ctx.SetContentType(contentTypeJSON)
	ctx.SetBody(e.body)
}

// retryAfterSeconds returns d in whole seconds, rounded up, as
// Retry-After gives it.
func retryAfterSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// readError answers a request fasthttp could not read (it calls this
// before any handler runs and then closes the connection). The path may
// not be parsed yet, so the CORS header goes on every such answer: a page
// posting a body that is far too large must still see the 413.
func (s *Server) readError(ctx *fasthttp.RequestCtx, err error) {
	allowAnyOrigin(ctx)
	var smallBuffer *fasthttp.ErrSmallBuffer
	var netErr net.Error
	answer := errBadRequest
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		answer = s.limitErrors.bodyTooLarge
	case errors.As(err, &smallBuffer):
		answer = errHeaderTooLarge
	case errors.As(err, &netErr) && netErr.Timeout():
		answer = errRequestTimeout
	}
	writeError(ctx, answer)
	s.stats.count(answer.status, answer.code)
}

// invalidComment returns the answer to a comment that breaks the rule err
// names (codec.Message.Check). The name's rule comes first: its error wraps
// the text rule the name breaks.
func (e *limitErrors) invalidComment(err error) *Error {
	switch {
	case errors.Is(err, codec.ErrInvalidName):
		return e.invalidName
	case errors.Is(err, codec.ErrEmptyText):
		return errEmptyText
	case errors.Is(err, codec.ErrTextTooLong):
		return e.textTooLong
	case errors.Is(err, codec.ErrInvalidColor):
		return errInvalidColor
	case errors.Is(err, codec.ErrInvalidMode):
		return errInvalidMode
	case errors.Is(err, codec.ErrInvalidUID):
		return errInvalidUID
	case errors.Is(err, codec.ErrInvalidCID):
		return errInvalidCID
	case errors.Is(err, codec.ErrInvalidPrio):
		return errInvalidPrio
	}
	return errInvalidText
}
