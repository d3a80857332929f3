package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/danmu-dev/danmu/codec"
)

// Kind is the kind of a span.
type Kind = trace.SpanKind

// The kinds of danmu's spans.
const (
	Internal = trace.SpanKindInternal
	Server   = trace.SpanKindServer
	Client   = trace.SpanKindClient
	Producer = trace.SpanKindProducer
	Consumer = trace.SpanKindConsumer
)

// Span is a span that records, or the zero Span, which records nothing:
// every method is then a no-op that allocates nothing. Guard the
// attributes with Recording, so that they are not even built.
type Span struct{ span trace.Span }

// Recording reports whether the span records.
func (s Span) Recording() bool { return s.span != nil }

// End ends the span.
func (s Span) End() {
	if s.span != nil {
		s.span.End()
	}
}

// SetAttributes sets attributes of the span.
func (s Span) SetAttributes(kv ...attribute.KeyValue) {
	if s.span != nil {
		s.span.SetAttributes(kv...)
	}
}

// Fail records err on the span and marks it failed.
func (s Span) Fail(err error) {
	if s.span != nil && err != nil {
		s.span.RecordError(err)
		s.span.SetStatus(codes.Error, err.Error())
	}
}

// Refuse marks the span failed with the reason, such as an error code of
// the API.
func (s Span) Refuse(reason string) {
	if s.span != nil {
		s.span.SetStatus(codes.Error, reason)
	}
}

// StoredTrace fills tc with the span's context, for the stored record of
// the comment it appends, and reports whether it did: only for a sampled
// span, since a link to a trace that is not exported leads nowhere.
func (s Span) StoredTrace(tc *codec.TraceContext) bool {
	if s.span == nil {
		return false
	}
	sc := s.span.SpanContext()
	if !sc.IsSampled() {
		return false
	}
	tc.TraceID, tc.SpanID, tc.Flags = sc.TraceID(), sc.SpanID(), byte(sc.TraceFlags())
	tc.State = sc.TraceState().String()
	return true
}

// Start starts a child of the span in ctx, when that span records, and
// returns a context holding it; otherwise it returns ctx and the zero
// Span, allocating nothing. A post that is not sampled thus costs no span
// below its first.
func Start(ctx context.Context, name string, kind Kind) (context.Context, Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, Span{}
	}
	ctx, span := parent.TracerProvider().Tracer(scope).Start(ctx, name, trace.WithSpanKind(kind))
	return ctx, Span{span}
}

// Carrier gives the W3C trace context headers of a request.
type Carrier interface {
	// Header returns the value of the request header key, or "".
	Header(key string) string
}

// carrier adapts a Carrier to the propagator's interface; it only reads.
type carrier struct{ Carrier }

func (c carrier) Get(key string) string { return c.Header(key) }
func (c carrier) Set(string, string)    {}
func (c carrier) Keys() []string        { return []string{"traceparent", "tracestate"} }

// StartRequest starts the server span of a request whose headers h gives:
// a child of the trace its traceparent and tracestate name, or the root of
// a new trace. The sampler decides whether it records; the context it
// returns holds the span either way, so that the trace ID goes on.
func (t *Tracer) StartRequest(ctx context.Context, name string, h Carrier) (context.Context, Span) {
	if t == nil {
		return ctx, Span{}
	}
	ctx = t.propagator.Extract(ctx, carrier{h})
	ctx, span := t.tracer.Start(ctx, name, trace.WithSpanKind(Server))
	if !span.IsRecording() {
		return ctx, Span{}
	}
	return ctx, Span{span}
}

// StartLinked starts a root span linked to the stored trace of each item
// that has one (a batch has many parents: links are how OpenTelemetry
// tells it). It is sampled when any of those traces is, else as the
// sampler says.
func (t *Tracer) StartLinked(name string, kind Kind, items []codec.Item) Span {
	if t == nil {
		return Span{}
	}
	var links []trace.Link
	for i := range items {
		if tc := items[i].Trace; tc != nil {
			links = append(links, trace.Link{
				SpanContext: spanContext(tc),
				Attributes:  []attribute.KeyValue{attribute.String("danmu.message.id", items[i].Message.ID)},
			})
		}
	}
	_, span := t.tracer.Start(context.Background(), name, trace.WithSpanKind(kind), trace.WithLinks(links...), trace.WithNewRoot())
	if !span.IsRecording() {
		return Span{}
	}
	return Span{span}
}

// spanContext returns the remote span context a stored trace names.
func spanContext(tc *codec.TraceContext) trace.SpanContext {
	state, _ := trace.ParseTraceState(tc.State) // a bad state is left out
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    tc.TraceID,
		SpanID:     tc.SpanID,
		TraceFlags: trace.TraceFlags(tc.Flags),
		TraceState: state,
		Remote:     true,
	})
}
