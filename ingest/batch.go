package ingest

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/internal/telemetry"
	"github.com/danmu-dev/danmu/stream"
	"github.com/valyala/fasthttp"
)

// batchBody is the JSON body of POST /v1/rooms/{room}/danmaku:batch as
// read: the elements of its "comments" array, each kept raw and decoded as
// a single post's body is (decodeComment), so that it meets the same rules
// and gets the same answers. It is read by hand (sonic's splitting was a
// fifth of a batch's allocated bytes; docs/performance.md), as sonic read
// it into struct{ Comments []sonic.NoCopyRawMessage }
// (FuzzDecodeBatchSonic): the key matches in any case (foldKey), the last
// "comments" wins, null is no comments, and unknown keys and each element
// are checked as sonic skips a value (skipValue). Only the first limit
// elements are kept, so that a body of many short ones grows no list
// beyond MaxBatch: it is refused.
type batchBody struct {
	comments [][]byte // from base on, the elements kept, each aliasing the body
	base     int
	count    int // the elements, kept or not
	limit    int
}

// scanValue reads the value of key.
func (b *batchBody) scanValue(s *jsonScanner, key jsonString) bool {
	var lower [len("comments")]byte
	if string(lower[:max(foldKey(lower[:], key), 0)]) != "comments" {
		return s.skipValue()
	}
	b.comments, b.count = b.comments[:b.base], 0
	switch s.skipSpace() {
	case 'n':
		return s.skipLiteral("null")
	case '[':
		s.pos++
	default:
		return false
	}
	if s.consume(']') {
		return true
	}
	for {
		s.skipSpace()
		start := s.pos
		if !s.skipValue() {
			return false
		}
		if b.count < b.limit {
			b.comments = append(b.comments, s.data[start:s.pos])
		}
		b.count++
		switch s.skipSpace() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return true
		default:
			return false
		}
	}
}

// decodeBatch checks a batch body as a whole, appends its comments to dst
// and returns it, each comment still to be decoded with decodeComment and
// aliasing body; on an error dst is returned as it was, perhaps with more
// capacity. The body must be UTF-8 (as a single post's) and at most
// MaxBatchBytes, and hold 1 to MaxBatch comments.
func decodeBatch(dst [][]byte, body []byte, cfg *Config, errs *limitErrors) ([][]byte, *Error) {
	if len(body) > cfg.MaxBatchBytes {
		return dst, errs.batchTooLarge
	}
	in := batchBody{comments: dst, base: len(dst), limit: cfg.MaxBatch}
	s := jsonScanner{data: body}
	if !utf8.Valid(body) || !s.scanObject(func(key jsonString) bool { return in.scanValue(&s, key) }) {
		return in.comments[:len(dst)], errInvalidJSON
	}
	if in.count == 0 || in.count > cfg.MaxBatch {
		return in.comments[:len(dst)], errs.invalidBatch
	}
	return in.comments, nil
}

// postBatch serves POST /v1/rooms/{room}/danmaku:batch, for backends that
// relay comments in bulk: {"comments":[{...},...]}, each comment the body
// POST .../danmaku takes. Each is decoded, checked and published in order
// as a single post is (decodeComment, then publish: the same hooks, the
// same append), and answered 200. On a log that appends a batch in one
// round trip (stream.BatchAppender: Redis), the comments pass the Before
// hooks one after the other (stage), are appended together, in order, and
// pass the After hooks (finish): one round trip for the batch, where each
// would have had its own. The rules keep their state in Before, so they
// judge each comment with the ones before it in the batch counted.
//
//	{"results":[{"status":201,"id":"<ms>-<seq>","ts":<unix ms>},
//	            {"status":429,"error":{"code":"...","message":"..."},"retry_after":3}, ...]}
//
// with one result per comment, in the order posted, once every comment
// has its outcome: a comment's id is there only once it is stored, and its
// error is the status and body a single post would have got (Retry-After
// as "retry_after", in seconds). After a comment is answered 5xx, or once
// the batch has taken as long as one post may (HookTimeout twice and
// AppendTimeout), the comments not yet tried are answered 503 unavailable
// and were not stored: the client may send them again. A body that is
// not a batch is answered as a single post's would be (415, 413
// body_too_large, 400 invalid_json), or 400 invalid_batch.
func (s *Server) postBatch(ctx *fasthttp.RequestCtx, room string) {
	tctx, span := s.startPost(ctx, spanBatch, routeBatch)
	defer endPost(ctx, span)
	if !isJSON(ctx.Request.Header.ContentType()) {
		writeError(ctx, errUnsupportedMediaType)
		return
	}
	scratch := batchScratches.Get().(*batchScratch)
	defer scratch.release()
	comments, apiErr := decodeBatch(scratch.comments, ctx.PostBody(), &s.cfg, &s.limitErrors)
	scratch.comments = comments
	if apiErr != nil {
		writeError(ctx, apiErr)
		return
	}
	giveUpAt := time.Now().Add(2*s.cfg.HookTimeout + s.cfg.AppendTimeout)
	batcher, pipelined := s.log.(stream.BatchAppender)
	scratch.results = append(scratch.results, make([]outcome, len(comments))...)
	results := scratch.results
	scratch.waiting = slices.Grow(scratch.waiting, len(comments))
	// The posts, one allocation for all: staged, when the log appends a
	// batch at once; published one at a time otherwise.
	var posts []post
	var singles []single
	if pipelined {
		posts = make([]post, len(comments))
	} else {
		singles = make([]single, len(comments))
	}
	who := s.poster(ctx)
	failed := false // a comment was answered 5xx: try no more
	for i, raw := range comments {
		now := time.Now()
		if failed || now.After(giveUpAt) {
			results[i].err = errUnavailable
			continue
		}
		_, validate := telemetry.Start(tctx, spanValidate, telemetry.Internal)
		msg, apiErr := decodeComment(raw, &s.cfg, &s.limitErrors)
		endRefused(validate, apiErr)
		if apiErr == nil {
			if pipelined {
				p := &posts[i]
				p.comment = who.comment(room, msg)
				if apiErr = s.stage(tctx, p, nil, now); apiErr == nil {
					results[i].staged = p
					scratch.waiting = append(scratch.waiting, i)
				}
			} else {
				p := &singles[i]
				p.comment = who.comment(room, msg)
				results[i].id, apiErr = s.publish(tctx, p, now)
				results[i].ts = p.comment.Message.TS
			}
		}
		if apiErr != nil {
			results[i].err = apiErr
			failed = apiErr.status >= fasthttp.StatusInternalServerError
		}
	}
	if len(scratch.waiting) > 0 {
		s.appendStaged(tctx, batcher, room, scratch)
	}
	b := append(slices.Grow(scratch.answer, 64*len(comments)+16), `{"results":[`...)
	for i := range results {
		if i > 0 {
			b = append(b, ',')
		}
		if r := &results[i]; r.err != nil {
			b = appendBatchError(b, r.err)
		} else {
			b = appendBatchCreated(b, r.id, r.ts)
		}
	}
	b = append(b, "]}"...)
	scratch.answer = b
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType(contentTypeJSON)
	ctx.SetBody(b)
}

// outcome is what became of one comment of a batch.
type outcome struct {
	staged *post // passed the Before hooks; its append is to come
	id     codec.ID
	ts     int64
	err    *Error
}

// batchScratch holds what a batch needs only until it is answered, all
// empty between batches: pooled (batchScratches), it spares each batch as
// many allocations, and leaves it allocating only what may outlive it
// (its posts, their strings, the append's deadline, what the log keeps).
// The answer is copied into fasthttp's pooled response buffer, which
// pools it only where batch answers are not rare (docs/performance.md,
// "Batches split by hand").
type batchScratch struct {
	comments [][]byte  // raw, aliasing the request's body (decodeBatch)
	results  []outcome // one per comment, in order
	waiting  []int     // the staged comments whose append is to come, in order
	records  [][]byte  // their records, handed to AppendBatch
	answer   []byte    // the answer's body, copied into the response
}

// batchScratches holds the scratch of the batches in flight. Its lists
// are at most MaxBatch long (decodeBatch keeps no more comments).
var batchScratches = sync.Pool{New: func() any { return new(batchScratch) }}

// maxPooledAnswer is the largest answer buffer put back in batchScratches:
// a batch's answer is some 64 bytes per comment, a few hundred for
// comments refused.
const maxPooledAnswer = 64 << 10

// release empties b, forgetting what its lists point to (the request's
// body, posts, records given back), and puts it back in batchScratches.
func (b *batchScratch) release() {
	clear(b.comments)
	clear(b.results)
	clear(b.records)
	b.comments, b.results, b.waiting, b.records = b.comments[:0], b.results[:0], b.waiting[:0], b.records[:0]
	b.answer = b.answer[:0]
	if cap(b.answer) > maxPooledAnswer {
		b.answer = nil
	}
	batchScratches.Put(b)
}

// appendStaged appends the staged comments of b.results listed in
// b.waiting with one round trip, and finishes each as publish would have.
func (s *Server) appendStaged(ctx context.Context, batcher stream.BatchAppender, room string, b *batchScratch) {
	b.records = slices.Grow(b.records, len(b.waiting))
	for _, i := range b.waiting {
		b.records = append(b.records, b.results[i].staged.record.data)
	}
	appendDeadline := startDeadline(ctx, s.cfg.AppendTimeout)
	ids, errs := batcher.AppendBatch(appendDeadline, room, b.records)
	appendDeadline.cancel()
	for k, i := range b.waiting {
		r := &b.results[i]
		r.staged.releaseRecord()
		r.id, r.err = s.finish(ctx, r.staged, ids[k], errs[k])
		r.ts = r.staged.comment.Message.TS
	}
}

// appendBatchCreated appends the result of a stored comment.
func appendBatchCreated(b []byte, id codec.ID, ts int64) []byte {
	b = append(b, `{"status":201,"id":"`...)
	b = id.AppendTo(b)
	b = append(b, `","ts":`...)
	b = strconv.AppendInt(b, ts, 10)
	return append(b, '}')
}

// appendBatchError appends the result of a refused comment: e's status
// and body, whose one member "error" is spliced in, and its Retry-After.
func appendBatchError(b []byte, e *Error) []byte {
	b = append(b, `{"status":`...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, ',')
	b = append(b, e.body[1:len(e.body)-1]...)
	if e.retryAfter > 0 {
		b = append(b, `,"retry_after":`...)
		b = strconv.AppendInt(b, int64(retryAfterSeconds(e.retryAfter)), 10)
	}
	return append(b, '}')
}
