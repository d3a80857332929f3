package codec

import "encoding/binary"

// TraceContext is the W3C trace context (traceparent and tracestate) of
// the post that stored a comment, kept in its stored record so that every
// node delivering the comment can link to that trace. codec knows nothing
// of tracing libraries: the context is plain bytes here.
type TraceContext struct {
	// TraceID and SpanID identify the span that appended the comment.
	TraceID [16]byte
	SpanID  [8]byte
	// Flags are the W3C trace flags; bit 0 is "sampled".
	Flags byte
	// State is the W3C tracestate header, or empty. One longer than
	// MaxTraceState, or holding other than printable ASCII, is not stored.
	State string
}

// MaxTraceState is the longest tracestate a stored record keeps: the
// length every W3C propagator must pass on.
const MaxTraceState = 512

// traceFixed is the length of a trace extension without its state: the
// trace ID, the span ID and the flags.
const traceFixed = 16 + 8 + 1

// Sampled reports whether the trace's sampled flag is set.
func (t *TraceContext) Sampled() bool { return t.Flags&1 != 0 }

// valid reports whether t names a span: neither ID is all zeros, as W3C
// requires.
func (t *TraceContext) valid() bool {
	return t.TraceID != [16]byte{} && t.SpanID != [8]byte{}
}

// storedState returns the state a record keeps of t: the whole of it, or
// nothing when it is too long or not printable ASCII.
func (t *TraceContext) storedState() string {
	if len(t.State) > MaxTraceState || !printableASCII(t.State) {
		return ""
	}
	return t.State
}

// appendTrace appends the trace extension of t: its tag, length and value
// (trace ID, span ID, flags, then the state's bytes).
func appendTrace(dst []byte, t *TraceContext) []byte {
	state := t.storedState()
	dst = append(dst, extTrace)
	dst = binary.AppendUvarint(dst, uint64(traceFixed+len(state)))
	dst = append(dst, t.TraceID[:]...)
	dst = append(dst, t.SpanID[:]...)
	dst = append(dst, t.Flags)
	return append(dst, state...)
}

// parseTrace decodes the value of a trace extension, and reports false for
// one that is not a valid trace context.
func parseTrace(value []byte) (*TraceContext, bool) {
	if len(value) < traceFixed || len(value) > traceFixed+MaxTraceState {
		return nil, false
	}
	t := &TraceContext{Flags: value[24]}
	copy(t.TraceID[:], value[:16])
	copy(t.SpanID[:], value[16:24])
	state := value[traceFixed:]
	if !t.valid() || !printableASCII(state) {
		return nil, false
	}
	if len(state) > 0 {
		t.State = string(state)
	}
	return t, true
}

// printableASCII reports whether s holds only printable ASCII, as
// tracestate does.
func printableASCII[S string | []byte](s S) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
