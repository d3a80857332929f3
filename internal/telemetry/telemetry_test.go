package telemetry

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/danmu-dev/danmu/codec"
)

func TestFromEnv(t *testing.T) {
	tests := []struct {
		env      map[string]string
		enabled  bool
		protocol string
		sampler  string
		err      bool
	}{
		{env: nil},
		{env: map[string]string{"OTEL_SERVICE_NAME": "x", "OTEL_TRACES_SAMPLER": "always_on"}},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, enabled: true, protocol: ProtocolHTTP, sampler: "ParentBased{root:AlwaysOnSampler"},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, enabled: true, protocol: ProtocolHTTP},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, enabled: true, protocol: ProtocolHTTP},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, err: true},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, enabled: true, protocol: ProtocolGRPC},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, enabled: true, protocol: ProtocolHTTP},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, err: true},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.01"},
			enabled: true, protocol: ProtocolHTTP, sampler: "ParentBased{root:TraceIDRatioBased{0.01}"},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "traceidratio"}, enabled: true, protocol: ProtocolHTTP, sampler: "TraceIDRatioBased{1}"},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "always_off"}, enabled: true, protocol: ProtocolHTTP, sampler: "AlwaysOffSampler"},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}, err: true},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "jaeger_remote"}, err: true},
	}
	for _, tt := range tests {
		s, err := FromEnv(func(k string) string { return tt.env[k] })
		if tt.err {
			if !errors.Is(err, ErrConfig) {
				t.Errorf("FromEnv(%v) = %v; want ErrConfig", tt.env, err)
			}
			continue
		}
		if err != nil || s.Enabled != tt.enabled || s.Protocol != tt.protocol {
			t.Errorf("FromEnv(%v) = %+v, %v; want enabled %v protocol %q", tt.env, s, err, tt.enabled, tt.protocol)
		}
		if tt.sampler != "" && !strings.HasPrefix(s.Sampler.Description(), tt.sampler) {
			t.Errorf("FromEnv(%v) sampler %s; want %s", tt.env, s.Sampler.Description(), tt.sampler)
		}
	}
}

// newTestTracer returns a Tracer sampling with sampler (wrapped as Setup
// wraps it) and the exporter its spans end in.
func newTestTracer(t *testing.T, sampler sdktrace.Sampler) (*Tracer, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	tr := New(sampler, sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr, exp
}

type headers map[string]string

func (h headers) Header(key string) string { return h[key] }

const (
	parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	parentSpan  = "00f067aa0ba902b7"
)

// TestRequestToBatch follows a post as ingest and fan-out trace it: the
// request continues the posted traceparent, its child's context is stored
// and read back, and the batch span links to it, sampled because the post
// is even though the sampler samples no root.
func TestRequestToBatch(t *testing.T) {
	tr, exp := newTestTracer(t, sdktrace.ParentBased(sdktrace.NeverSample()))
	ctx, req := tr.StartRequest(context.Background(), "POST", headers{
		"traceparent": "00-" + parentTrace + "-" + parentSpan + "-01",
		"tracestate":  "congo=t61rcWkgMzE",
	})
	if !req.Recording() {
		t.Fatal("a request with a sampled traceparent is not recorded")
	}
	_, appendSpan := Start(ctx, "append", Producer)
	var tc codec.TraceContext
	if !appendSpan.StoredTrace(&tc) {
		t.Fatal("StoredTrace of a sampled span = false")
	}
	appendSpan.End()
	req.End()
	if trace.TraceID(tc.TraceID).String() != parentTrace || tc.State != "congo=t61rcWkgMzE" || tc.Flags != 1 {
		t.Fatalf("stored %+v; want trace %s, the state, sampled", tc, parentTrace)
	}
	data, err := codec.EncodeStored(codec.Message{UID: "u", Text: "hi"}, codec.StoreOptions{Trace: &tc})
	if err != nil {
		t.Fatal(err)
	}
	item := codec.DecodeEntry(codec.ID{MS: 1}, data).Item
	batch := tr.StartLinked("batch", Consumer, []codec.Item{item, {}})
	if !batch.Recording() {
		t.Fatal("a batch linked to a sampled post is not recorded")
	}
	batch.End()
	if unlinked := tr.StartLinked("batch", Consumer, []codec.Item{{}}); unlinked.Recording() {
		t.Error("a batch of unsampled posts is recorded by a sampler that samples no root")
	}

	spans := exp.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans exported; want 3", len(spans))
	}
	post, appended, flushed := spans[1], spans[0], spans[2]
	if post.Parent.SpanID().String() != parentSpan || post.SpanContext.TraceID().String() != parentTrace {
		t.Errorf("request span %s/%s; want a child of %s in %s", post.SpanContext.TraceID(), post.Parent.SpanID(), parentSpan, parentTrace)
	}
	if appended.Parent.SpanID() != post.SpanContext.SpanID() || appended.SpanKind != Producer {
		t.Errorf("append span's parent %s, kind %v; want %s, producer", appended.Parent.SpanID(), appended.SpanKind, post.SpanContext.SpanID())
	}
	if len(flushed.Links) != 1 || flushed.Links[0].SpanContext.SpanID() != appended.SpanContext.SpanID() ||
		flushed.Links[0].SpanContext.TraceID().String() != parentTrace || flushed.Parent.IsValid() {
		t.Errorf("batch span: parent %v, links %+v; want a root linked to the append span", flushed.Parent, flushed.Links)
	}
}

// TestUnsampled: a post the sampler drops records no span, stores no trace
// context, and starts no child.
func TestUnsampled(t *testing.T) {
	tr, exp := newTestTracer(t, sdktrace.ParentBased(sdktrace.AlwaysSample()))
	ctx, req := tr.StartRequest(context.Background(), "POST", headers{"traceparent": "00-" + parentTrace + "-" + parentSpan + "-00"})
	if req.Recording() {
		t.Fatal("a request whose parent is not sampled is recorded")
	}
	child, span := Start(ctx, "append", Producer)
	var tc codec.TraceContext
	if span.Recording() || span.StoredTrace(&tc) || child != ctx {
		t.Errorf("a child of an unsampled request: recording %v, stored %v", span.Recording(), tc)
	}
	req.End()
	span.End()
	if n := len(exp.GetSpans()); n != 0 {
		t.Errorf("%d spans exported; want none", n)
	}
}

// TestOffAllocatesNothing: with tracing off (a nil Tracer, a context
// without a span) starting, using and ending spans allocates nothing.
func TestOffAllocatesNothing(t *testing.T) {
	var tr *Tracer
	ctx := context.Background()
	h := headers{}
	items := []codec.Item{{}}
	n := testing.AllocsPerRun(100, func() {
		c, req := tr.StartRequest(ctx, "POST", h)
		_, child := Start(c, "append", Producer)
		var tc codec.TraceContext
		child.StoredTrace(&tc)
		child.Refuse("no")
		child.End()
		req.End()
		tr.StartLinked("batch", Consumer, items).End()
	})
	if n != 0 {
		t.Errorf("tracing off allocates %v times; want 0", n)
	}
}

func TestLogHandler(t *testing.T) {
	tr, _ := newTestTracer(t, sdktrace.AlwaysSample())
	var buf bytes.Buffer
	logger := slog.New(LogHandler(slog.NewTextHandler(&buf, nil))).With("node", "n1")
	ctx, span := tr.StartRequest(context.Background(), "POST", headers{"traceparent": "00-" + parentTrace + "-" + parentSpan + "-01"})
	defer span.End()
	logger.WarnContext(ctx, "traced")
	logger.Warn("untraced")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "trace_id="+parentTrace) || !strings.Contains(lines[0], "node=n1") ||
		strings.Contains(lines[1], "trace_id") {
		t.Errorf("log lines:\n%s\nwant trace_id=%s on the first alone", buf.String(), parentTrace)
	}
}
