package ingest

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/valyala/fasthttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/internal/telemetry"
	"github.com/danmu-dev/danmu/internal/telemetry/telemetrytest"
	"github.com/danmu-dev/danmu/stream"
)

const (
	testTraceID  = "4bf92f3577b34da6a3ce929d0e0e4736"
	testParentID = "00f067aa0ba902b7"
)

// postAllocs is what one POST allocates in-process with tracing off
// (routing, decoding, the hook chain, the stored record, the append to a
// Memory log, the answer), counted on this tree with no Tracer at all:
// tracing off adds none. They are the post (its comment and deadlines),
// the Message's strings, which hooks may keep, and the Memory log's copy
// of the record.
const postAllocs = 3

// storedEntry returns the newest entry of room in log, decoded.
func storedEntry(t *testing.T, log stream.Log, room string) codec.Entry {
	t.Helper()
	page, err := log.Range(context.Background(), stream.Query{Room: room, Newest: true, Limit: 1})
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("Range(%s) = %+v, %v; want one entry", room, page, err)
	}
	e := page.Entries[0]
	return codec.DecodeEntry(e.ID, e.Data)
}

// TestPostTracingOff: with tracing off a post allocates as before tracing
// existed, even when it carries a traceparent, and stores no trace
// context: its record is byte for byte the one without extensions.
func TestPostTracingOff(t *testing.T) {
	mem := stream.NewMemory(stream.MemoryConfig{MaxLen: 1024})
	srv := New(Config{}, mem, fixedPresence{}, nil)
	h := srv.Handler()
	ctx := newRequestCtx(fasthttp.MethodPost, "/v1/rooms/off/danmaku", "application/json", benchBody)
	ctx.Request.Header.Set("traceparent", "00-"+testTraceID+"-"+testParentID+"-01")
	checkAllocs(t, "a post with tracing off", h, ctx, fasthttp.StatusCreated, postAllocs, 6)
	e := storedEntry(t, mem, "off")
	if e.Item.Trace != nil {
		t.Errorf("tracing off stored trace context %+v", e.Item.Trace)
	}
	page, _ := mem.Range(context.Background(), stream.Query{Room: "off", Newest: true, Limit: 1})
	m := e.Item.Message
	m.ID = ""
	if plain, err := codec.EncodeStored(m); err != nil || string(plain) != string(page.Entries[0].Data) {
		t.Errorf("stored %q; want %q, the record without extensions", page.Entries[0].Data, plain)
	}
}

// tracedServer returns a handler tracing with sampler into an in-memory
// exporter, and its Memory log.
func tracedServer(t *testing.T, sampler sdktrace.Sampler) (fasthttp.RequestHandler, *stream.Memory, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	tr := telemetry.New(sampler, sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	mem := stream.NewMemory(stream.MemoryConfig{})
	return New(Config{Tracer: tr}, mem, fixedPresence{}, nil).Handler(), mem, exp
}

// TestPostTraced: a sampled post has a server span continuing its
// traceparent, spans for validation, each hook and the append below it,
// and its record carries the append span's context.
func TestPostTraced(t *testing.T) {
	h, mem, exp := tracedServer(t, sdktrace.ParentBased(sdktrace.NeverSample()))
	for _, tt := range []struct {
		path, contentType, body string
		server                  string
	}{
		{"/v1/rooms/traced/danmaku", "application/json", benchBody, spanPost},
		{"/msg/send", contentTypeForm, "roomid=7&msg=hi&color=16777215&mode=1", spanBili},
	} {
		exp.Reset()
		ctx := newRequestCtx(fasthttp.MethodPost, tt.path, tt.contentType, tt.body)
		ctx.Request.Header.Set("traceparent", "00-"+testTraceID+"-"+testParentID+"-01")
		ctx.Request.Header.Set("tracestate", "congo=t61rcWkgMzE")
		h(ctx)
		if status := ctx.Response.StatusCode(); status != fasthttp.StatusCreated && status != fasthttp.StatusOK {
			t.Fatalf("POST %s: status %d: %s", tt.path, status, ctx.Response.Body())
		}
		spans := exp.GetSpans()
		byName := make(map[string]tracetest.SpanStub)
		var names []string
		for _, s := range spans {
			byName[s.Name] = s
			names = append(names, s.Name)
			if s.SpanContext.TraceID().String() != testTraceID {
				t.Errorf("%s: span %s in trace %s; want %s", tt.path, s.Name, s.SpanContext.TraceID(), testTraceID)
			}
		}
		server, ok := byName[tt.server]
		if !ok || server.Parent.SpanID().String() != testParentID {
			t.Fatalf("%s: spans %v; want %q, a child of %s", tt.path, names, tt.server, testParentID)
		}
		for _, name := range []string{spanValidate, "hook auth", "hook auth after", spanAppend} {
			if s, ok := byName[name]; !ok || s.Parent.SpanID() != server.SpanContext.SpanID() {
				t.Errorf("%s: spans %v; want %q below the server span", tt.path, names, name)
			}
		}
		room := "traced"
		if tt.path == "/msg/send" {
			room = "7"
		}
		stored := storedEntry(t, mem, room).Item.Trace
		appended := byName[spanAppend].SpanContext
		if stored == nil || stored.TraceID != appended.TraceID() || stored.SpanID != appended.SpanID() || !stored.Sampled() ||
			stored.State != "congo=t61rcWkgMzE" {
			t.Errorf("%s: stored trace %+v; want the append span's context %v", tt.path, stored, appended)
		}
	}
}

// TestPostRefusedTraced: a refused post's spans say who refused it.
func TestPostRefusedTraced(t *testing.T) {
	h, _, exp := tracedServer(t, sdktrace.AlwaysSample())
	ctx := newRequestCtx(fasthttp.MethodPost, "/v1/rooms/r/danmaku", "application/json", `{"text":""}`)
	h(ctx)
	if ctx.Response.StatusCode() != fasthttp.StatusBadRequest {
		t.Fatalf("status %d; want 400", ctx.Response.StatusCode())
	}
	var names []string
	for _, s := range exp.GetSpans() {
		names = append(names, s.Name)
		if s.Name == spanValidate && s.Status.Description != CodeEmptyText {
			t.Errorf("validate span status %+v; want %s", s.Status, CodeEmptyText)
		}
	}
	if !slices.Equal(names, []string{spanValidate, spanPost}) {
		t.Errorf("spans %v; want validate and the server span alone", names)
	}
}

// TestPostUnsampled: a post the sampler leaves out records no span and
// stores no trace context.
func TestPostUnsampled(t *testing.T) {
	h, mem, exp := tracedServer(t, sdktrace.ParentBased(sdktrace.AlwaysSample()))
	ctx := newRequestCtx(fasthttp.MethodPost, "/v1/rooms/u/danmaku", "application/json", benchBody)
	ctx.Request.Header.Set("traceparent", "00-"+testTraceID+"-"+testParentID+"-00")
	h(ctx)
	if ctx.Response.StatusCode() != fasthttp.StatusCreated {
		t.Fatalf("status %d", ctx.Response.StatusCode())
	}
	if spans := exp.GetSpans(); len(spans) != 0 {
		t.Errorf("%d spans exported; want none", len(spans))
	}
	if tc := storedEntry(t, mem, "u").Item.Trace; tc != nil {
		t.Errorf("stored %+v; want no trace context", tc)
	}
}

// BenchmarkPostCommentTraced is BenchmarkPostComment with tracing on as
// an operator would run it: OTLP/HTTP to a collector on loopback,
// parentbased_traceidratio at 1 %, posts without a traceparent.
func BenchmarkPostCommentTraced(b *testing.B) {
	collector := telemetrytest.Start(b)
	telemetrytest.Setenv(b, collector.URL, "parentbased_traceidratio", "0.01")
	b.Setenv("OTEL_BSP_SCHEDULE_DELAY", "") // the default (5 s), as in production
	tr, err := telemetry.Setup(context.Background(), "ingest", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || tr == nil {
		b.Fatalf("telemetry.Setup = %v, %v", tr, err)
	}
	b.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	benchmarkPost(b, Config{Tracer: tr})
}

// checkAllocs checks that h, serving ctx with status, allocates want times
// per request, after a first request has warmed the room and the pools.
// sync.Pool drops items at random under the race detector, so that
// fasthttp and ingest's pools (record buffers, a batch's scratch) refill
// theirs: up to raceSlack more are allowed then.
func checkAllocs(t *testing.T, what string, h fasthttp.RequestHandler, ctx *fasthttp.RequestCtx, status int, want, raceSlack float64) {
	t.Helper()
	serve := func() {
		h(ctx)
		if ctx.Response.StatusCode() != status {
			t.Fatalf("%s: status %d: %s", what, ctx.Response.StatusCode(), ctx.Response.Body())
		}
		ctx.Response.Reset()
	}
	serve()
	if got := testing.AllocsPerRun(200, serve); got != want && !(raceEnabled && got >= want && got <= want+raceSlack) {
		t.Errorf("%s allocates %v times; want %v", what, got, want)
	}
}
