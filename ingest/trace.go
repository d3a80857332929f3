package ingest

import (
	"context"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/attribute"

	"github.com/danmu-dev/danmu/internal/telemetry"
)

// The routes that post, and the names of a post's spans.
const (
	routePost    = "/v1/rooms/{room}/danmaku"
	routeBatch   = "/v1/rooms/{room}/danmaku:batch"
	routeBili    = "/msg/send"
	spanPost     = "POST " + routePost
	spanBatch    = "POST " + routeBatch
	spanBili     = "POST " + routeBili
	spanValidate = "validate"
	spanAppend   = "append"
)

// requestHeaders gives telemetry the trace context headers of a request.
type requestHeaders struct{ header *fasthttp.RequestHeader }

func (r requestHeaders) Header(key string) string { return string(r.header.Peek(key)) }

// startPost starts the server span name of a post through route (its
// path pattern), continuing the trace its traceparent names. With tracing
// off it returns a context without a span and the zero Span.
func (s *Server) startPost(ctx *fasthttp.RequestCtx, name, route string) (context.Context, telemetry.Span) {
	tctx, span := s.cfg.Tracer.StartRequest(context.Background(), name, requestHeaders{&ctx.Request.Header})
	if span.Recording() {
		span.SetAttributes(
			attribute.String("http.request.method", fasthttp.MethodPost),
			attribute.String("http.route", route),
		)
	}
	return tctx, span
}

// endPost ends the server span of a post with the status of its answer.
func endPost(ctx *fasthttp.RequestCtx, span telemetry.Span) {
	if !span.Recording() {
		return
	}
	status := ctx.Response.StatusCode()
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= fasthttp.StatusInternalServerError {
		span.Refuse(fasthttp.StatusMessage(status))
	}
	span.End()
}

// endRefused ends span, marked failed with the answer's code when there
// is one.
func endRefused(span telemetry.Span, answer *Error) {
	if answer != nil {
		span.Refuse(answer.code)
	}
	span.End()
}
