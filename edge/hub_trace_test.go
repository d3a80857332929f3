package edge_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/fanout"
	"github.com/danmu-dev/danmu/internal/telemetry"
	"github.com/danmu-dev/danmu/internal/telemetry/telemetrytest"
	"github.com/danmu-dev/danmu/stream"
)

// flushAllocs is what delivering one batch of 20 messages allocates with
// tracing off (the follower's read, decoding the entries, sorting,
// encoding, the hand-off to two loops): as many as without tracing
// (BenchmarkFlush10kViewers, TestFlushAllocsDoNotGrowWithViewers).
const flushAllocs = 34

// TestFlushTracingOffAllocs locks in that tracing, off, costs a batch
// nothing.
func TestFlushTracingOffAllocs(t *testing.T) {
	rig := newFlushRig(t, 100)
	got := testing.AllocsPerRun(20, rig.deliver)
	if got != flushAllocs && !(raceEnabled && got >= flushAllocs && got <= flushAllocs+50) {
		t.Errorf("a batch with tracing off allocates %v times; want %d, as without tracing", got, flushAllocs)
	}
	rig.check(t)
}

// tracedEntries returns the rig's entries with the message at index
// traced carrying the stored context of span id n of a sampled trace.
func tracedEntries(entries []stream.Entry, traced int, n byte) []stream.Entry {
	out := append([]stream.Entry(nil), entries...)
	e := codec.DecodeEntry(out[traced].ID, out[traced].Data)
	m := e.Item.Message
	m.ID = ""
	tc := codec.TraceContext{TraceID: [16]byte{1, n}, SpanID: [8]byte{2, n}, Flags: 1}
	data, err := codec.EncodeStored(m, codec.StoreOptions{Trace: &tc})
	if err != nil {
		panic(err)
	}
	out[traced].Data = data
	return out
}

// TestFlushTraced: a batch holding a sampled post has one span on the
// node, linked to the post, ended once both shards have written it, even
// though the sampler samples no batch of its own.
func TestFlushTraced(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr := telemetry.New(sdktrace.ParentBased(sdktrace.NeverSample()), sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	rig := newFlushRigConfig(t, 10, fanout.Config{Tracer: tr})
	plain := rig.entries
	rig.deliver()
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("a batch of unsampled posts exported %d spans; want none", n)
	}
	rig.entries = tracedEntries(plain, 3, 9)
	rig.deliver()
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans exported; want the batch's", len(spans))
	}
	s := spans[0]
	attrs := make(map[string]int64)
	for _, kv := range s.Attributes {
		attrs[string(kv.Key)] = kv.Value.AsInt64()
	}
	if s.Name != "fanout batch" || len(s.Links) != 1 || s.Links[0].SpanContext.SpanID() != [8]byte{2, 9} ||
		attrs["danmu.batch.size"] != 20 || attrs["danmu.batch.viewers"] != 10 || attrs["danmu.batch.shards"] != 2 ||
		attrs["danmu.batch.encodings"] != 1 || attrs["danmu.batch.append_to_write_max_ms"] <= 0 {
		t.Errorf("batch span %s, links %+v, attributes %v; want one link, 20 messages, 10 viewers on 2 shards, 1 encoding", s.Name, s.Links, attrs)
	}
	rig.check(t)
}

// BenchmarkFlush10kViewersTraced is BenchmarkFlush10kViewers with tracing
// on as an operator would run it: OTLP/HTTP to a collector on loopback,
// parentbased_traceidratio at 1 %. One post in a hundred is sampled at
// ingest and carries its trace context: a fifth of the batches of 20 hold
// one and are traced, the others are left to the 1 % sampler.
func BenchmarkFlush10kViewersTraced(b *testing.B) {
	const viewers = 10000
	collector := telemetrytest.Start(b)
	telemetrytest.Setenv(b, collector.URL, "parentbased_traceidratio", "0.01")
	b.Setenv("OTEL_BSP_SCHEDULE_DELAY", "") // the default (5 s), as in production
	tr, err := telemetry.Setup(context.Background(), "edge", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || tr == nil {
		b.Fatalf("telemetry.Setup = %v, %v", tr, err)
	}
	b.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	rig := newFlushRigConfig(b, viewers, fanout.Config{Tracer: tr})
	plain := rig.entries
	sets := make([][]stream.Entry, 100)
	for i := range sets {
		sets[i] = plain
		if i%5 == 0 {
			sets[i] = tracedEntries(plain, i%len(plain), byte(i))
		}
	}
	rig.deliver()
	b.SetBytes(int64(rig.frameSize() * viewers))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		rig.entries = sets[i%len(sets)]
		i++
		rig.deliver()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*viewers), "ns/viewer")
	rig.check(b)
}
