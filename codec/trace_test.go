package codec

import (
	"bytes"
	"strings"
	"testing"
)

var sampleTrace = TraceContext{
	TraceID: [16]byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
	SpanID:  [8]byte{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
	Flags:   1,
	State:   "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
}

// TestStoredTraceRoundTrip: a record stored with a trace context reads
// back with it, and with the same message and native JSON as without.
func TestStoredTraceRoundTrip(t *testing.T) {
	noState := sampleTrace
	noState.State = ""
	for _, tc := range []TraceContext{sampleTrace, noState} {
		for _, m := range sampleMessages {
			plain := DecodeEntry(ID{MS: 7, Seq: 1}, mustStore(m))
			data, err := EncodeStored(m, StoreOptions{Trace: &tc})
			if err != nil {
				t.Fatal(err)
			}
			e := DecodeEntry(ID{MS: 7, Seq: 1}, data)
			if e.Kind != EntryMessage || e.Item.Trace == nil || *e.Item.Trace != tc {
				t.Fatalf("DecodeEntry(EncodeStored(%+v, %+v)) = %+v; want the trace back", m, tc, e)
			}
			if e.Item.Message != plain.Item.Message || !bytes.Equal(e.Item.JSON, plain.Item.JSON) {
				t.Errorf("with a trace: %+v %s; without: %+v %s", e.Item.Message, e.Item.JSON, plain.Item.Message, plain.Item.JSON)
			}
			if got, err := DecodeStored(data); err != nil || got != m {
				t.Errorf("DecodeStored = %+v, %v; want %+v", got, err, m)
			}
			if plain.Item.Trace != nil {
				t.Errorf("a record without a trace decodes with %+v", plain.Item.Trace)
			}
		}
	}
}

// TestStoredTraceLeftOut: what cannot be stored of a trace context is
// left out, never the comment: all-zero IDs leave out the extension, an
// oversized or unprintable tracestate leaves out the state.
func TestStoredTraceLeftOut(t *testing.T) {
	m := sampleMessages[0]
	plain := mustStore(m)
	for _, tc := range []TraceContext{{}, {TraceID: sampleTrace.TraceID}, {SpanID: sampleTrace.SpanID, Flags: 1}} {
		data, err := EncodeStored(m, StoreOptions{Trace: &tc})
		if err != nil || !bytes.Equal(data, plain) {
			t.Errorf("EncodeStored(%+v) = %q, %v; want %q, the record without a trace", tc, data, err, plain)
		}
	}
	for _, state := range []string{strings.Repeat("k=v,", MaxTraceState/4+1), "k=\x01", "k=\u00e9"} {
		tc := sampleTrace
		tc.State = state
		data, err := EncodeStored(m, StoreOptions{Trace: &tc})
		if err != nil {
			t.Fatal(err)
		}
		want := tc
		want.State = ""
		if e := DecodeEntry(ID{MS: 1}, data); e.Item.Trace == nil || *e.Item.Trace != want {
			t.Errorf("state %q: decoded %+v; want %+v", state, e.Item.Trace, want)
		}
	}
	long := sampleTrace
	long.State = strings.Repeat("a", MaxTraceState)
	data, err := EncodeStored(m, StoreOptions{Trace: &long})
	if err != nil {
		t.Fatal(err)
	}
	if e := DecodeEntry(ID{MS: 1}, data); e.Item.Trace == nil || *e.Item.Trace != long {
		t.Errorf("a state of %d bytes: decoded %+v; want it kept", len(long.State), e.Item.Trace)
	}
}

// TestBrokenTraceIgnored: a trace extension that does not decode leaves
// the message as it is, without a trace.
func TestBrokenTraceIgnored(t *testing.T) {
	good := appendField(appendField([]byte{0}, "c"), "u")
	body := `{"name":"n","text":"t","color":"#ffffff","mode":"scroll","ts":5}`
	valid := appendTrace(nil, &sampleTrace)[2:] // the value alone
	zeroTrace := append(make([]byte, 16), valid[16:]...)
	zeroSpan := append(append(append([]byte{}, valid[:16]...), make([]byte, 8)...), valid[24:]...)
	for name, value := range map[string][]byte{
		"short":         valid[:traceFixed-1],
		"zero trace id": zeroTrace,
		"zero span id":  zeroSpan,
		"unprintable":   append(append([]byte{}, valid[:traceFixed]...), 0x7f),
		"state too long": append(append([]byte{}, valid[:traceFixed]...),
			strings.Repeat("a", MaxTraceState+1)...),
	} {
		fields := appendField(append(append([]byte{}, good...), extTrace), string(value))
		e := DecodeEntry(ID{MS: 1}, record(fields, body))
		if e.Kind != EntryMessage || e.Item.Trace != nil || e.Item.Message.Text != "t" {
			t.Errorf("%s: DecodeEntry = kind %d, trace %+v, %+v; want the message without a trace", name, e.Kind, e.Item.Trace, e.Item.Message)
		}
	}
}

// TestStoredAllocs locks in that the trace extension costs a record
// without one nothing: EncodeStored allocates as often with no options,
// empty options or a trace (the header is built on the stack): once, the
// record, and AppendStored into a buffer large enough not at all;
// DecodeEntry of a record without a trace: 1 (the item's buffer) for a
// body in ingest's form, 4 for one the general decoder reads (a quote in
// the name). With the race detector sync.Pool drops items at random, so
// sonic refills its pools now and then: the counts may then be a few
// higher.
func TestStoredAllocs(t *testing.T) {
	m := sampleMessages[1]
	data, plain := mustStore(m), mustStore(sampleMessages[0])
	buf := make([]byte, 0, 512)
	counts := []struct {
		what string
		got  float64
		want float64
	}{
		{"EncodeStored(m)", testing.AllocsPerRun(100, func() { _, _ = EncodeStored(m) }), 1},
		{"EncodeStored(m, StoreOptions{})", testing.AllocsPerRun(100, func() { _, _ = EncodeStored(m, StoreOptions{}) }), 1},
		{"EncodeStored(m, trace)", testing.AllocsPerRun(100, func() { _, _ = EncodeStored(m, StoreOptions{Trace: &sampleTrace}) }), 1},
		{"AppendStored(buf, m, trace)", testing.AllocsPerRun(100, func() { buf, _ = AppendStored(buf[:0], &m, StoreOptions{Trace: &sampleTrace}) }), 0},
		{"DecodeEntry(record without a trace)", testing.AllocsPerRun(100, func() { DecodeEntry(ID{MS: 1}, plain) }), 1},
		{"DecodeEntry(record without a trace, escapes)", testing.AllocsPerRun(100, func() { DecodeEntry(ID{MS: 1}, data) }), 4},
	}
	for _, c := range counts {
		if c.got != c.want && !(raceEnabled && c.got >= c.want && c.got <= c.want+4) {
			t.Errorf("%s allocates %v times; want %v", c.what, c.got, c.want)
		}
	}
}
