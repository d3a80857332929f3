package ingest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/policy"
	"github.com/danmu-dev/danmu/stream"
	"github.com/valyala/fasthttp"
)

const benchBody = `{"text":"这个太好笑了 lol","color":"#ff8800","mode":"scroll","name":"viewer","uid":"u-123456"}`

// BenchmarkPostComment runs the POST handler in-process, without a
// network: routing, decoding, validation, encoding, the append to an
// embedded Memory log and the 201 answer.
func BenchmarkPostComment(b *testing.B) { benchmarkPost(b, Config{}) }

// benchmarkPost posts benchBody to a server of cfg on an embedded log,
// in-process, once per iteration.
func benchmarkPost(b *testing.B, cfg Config) {
	benchmarkRequest(b, cfg, "/v1/rooms/bench/danmaku", benchBody, fasthttp.StatusCreated)
}

// BenchmarkPostBatch runs the batch handler in-process with 20 copies of
// benchBody, on an embedded log: per comment as BenchmarkPostComment, plus
// the batch's own decoding and answer.
func BenchmarkPostBatch(b *testing.B) {
	body := batchOf(slices.Repeat([]string{benchBody}, 20)...)
	benchmarkRequest(b, Config{}, "/v1/rooms/bench/danmaku:batch", body, fasthttp.StatusOK)
}

// benchmarkRequest posts body to path on a server of cfg on an embedded
// log, in-process, once per iteration, and checks the answer's status.
func benchmarkRequest(b *testing.B, cfg Config, path, body string, status int) {
	srv := New(cfg, stream.NewMemory(stream.MemoryConfig{MaxLen: 1024}), fixedPresence{}, nil)
	h := srv.Handler()
	ctx := newRequestCtx(fasthttp.MethodPost, path, "application/json", body)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		h(ctx)
		if ctx.Response.StatusCode() != status {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
		ctx.Response.Reset()
	}
}

// BenchmarkDecodeComment measures decoding and validating one body.
func BenchmarkDecodeComment(b *testing.B) {
	cfg, errs := defaultConfig()
	body := []byte(benchBody)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, apiErr := decodeComment(body, cfg, errs); apiErr != nil {
			b.Fatal(apiErr.code)
		}
	}
}

// BenchmarkHistory serves the newest 50 comments of a room in-process.
func BenchmarkHistory(b *testing.B) {
	mem := stream.NewMemory(stream.MemoryConfig{})
	srv := New(Config{}, mem, fixedPresence{}, nil)
	post := srv.Handler()
	for i := range 50 {
		ctx := newRequestCtx(fasthttp.MethodPost, "/v1/rooms/bench/danmaku", "application/json",
			`{"text":"comment `+strconv.Itoa(i)+`"}`)
		post(ctx)
	}
	if last, err := mem.Last(context.Background(), "bench"); err != nil || last.IsZero() {
		b.Fatalf("room not filled: %v %v", last, err)
	}
	h := srv.Handler()
	ctx := newRequestCtx(fasthttp.MethodGet, "/v1/rooms/bench/danmaku?limit=50", "", "")
	b.ReportAllocs()
	for b.Loop() {
		h(ctx)
		if ctx.Response.StatusCode() != fasthttp.StatusOK {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
		ctx.Response.Reset()
	}
}

// BenchmarkPostCommentChain runs the POST handler in-process with every
// built-in hook on: a token to verify, user, address and room limits, a
// word filter of 1000 words, the spam window and ban and slow mode
// checks, all on a policy.Memory. Each post has its own text, so the spam
// check passes.
func BenchmarkPostCommentChain(b *testing.B) {
	words := make([]string, 1000)
	for i := range words {
		words[i] = "badword" + strconv.Itoa(i)
	}
	f, err := policy.LoadFilter(writeWordsB(b, words), policy.FilterMask)
	if err != nil {
		b.Fatal(err)
	}
	unlimited := policy.Limit{Rate: 1e9, Burst: 1}
	cfg := authConfig(b, Config{Policy: policy.Config{UserLimit: unlimited, IPLimit: unlimited, RoomLimit: unlimited,
		SpamWindow: time.Millisecond, Filter: f}})
	srv := New(cfg, stream.NewMemory(stream.MemoryConfig{MaxLen: 1024}), fixedPresence{}, nil)
	h := srv.Handler()
	ctx := newRequestCtx(fasthttp.MethodPost, "/v1/rooms/bench/danmaku", "application/json", benchBody)
	ctx.Request.Header.Set(fasthttp.HeaderAuthorization, "Bearer "+mint(b, "u-123456", "viewer", ""))
	body := make([]byte, 0, 128)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		body = append(body[:0], `{"text":"这个太好笑了 lol `...)
		body = strconv.AppendInt(body, int64(n), 10)
		body = append(body, `","color":"#ff8800","mode":"scroll"}`...)
		ctx.Request.SetBody(body)
		h(ctx)
		if ctx.Response.StatusCode() != fasthttp.StatusCreated {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
		ctx.Response.Reset()
	}
}

// writeWordsB writes a word list file for a benchmark.
func writeWordsB(b *testing.B, words []string) string {
	path := filepath.Join(b.TempDir(), "words.txt")
	if err := os.WriteFile(path, []byte(strings.Join(words, "\n")), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}
