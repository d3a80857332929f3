package codec

import (
	"encoding/binary"
	"encoding/json"

	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/bytedance/sonic"
)

// ErrInvalidRecord reports a stored record that cannot be decoded, or a
// message that cannot be stored.
var ErrInvalidRecord = errors.New("codec: invalid stored record")

// A comment is stored in its room's stream as a record: a small header
// that fan-out reads without touching the body, then the body.
//
//	0x01                  record version 1
//	uvarint h             the length of the header fields that follow
//	  uvarint             Prio
//	  uvarint n, n bytes  CID (n may be 0)
//	  uvarint n, n bytes  UID, the author
//	  extensions          each a tag byte, a uvarint length and as many
//	                      bytes; a reader skips the tags it does not know:
//	    0x01              the trace context (TraceContext): 16 bytes of
//	                      trace ID, 8 of span ID, 1 of flags, then the
//	                      tracestate's bytes (maybe none)
//	body                  a JSON object: {"name":..,"text":..,"color":..,"mode":..,"ts":..}
//
// The header's fields are ids (ValidCID, ValidUID) and a number, so they
// need no escaping wherever they are written. The body is escaped once, at
// ingest, and every reader splices it as it is.
//
// Records written before the header existed are the JSON object of a
// Message without ID (any field order); every reader still reads them. The
// first byte tells the two apart: a JSON object opens with '{'.
const recordVersion = 1

// extTrace tags the trace context extension.
const extTrace = 0x01

// maxRecordHeader bounds the header's length: its fields are two ids of at
// most MaxIDLen bytes and a number, with room for extensions.
const maxRecordHeader = 4096

// StoreOptions are the optional parts of a stored record.
type StoreOptions struct {
	// Trace is the trace context of the post, or nil. One whose IDs are
	// all zeros is left out.
	Trace *TraceContext
}

// EncodeStored returns the stored record of m (its ID is the stream's and
// left out), with the extensions of opts (at most one StoreOptions is
// read): AppendStored to a new slice.
func EncodeStored(m Message, opts ...StoreOptions) ([]byte, error) {
	var o StoreOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	return AppendStored(nil, &m, o)
}

// AppendStored appends the stored record of m (its ID is the stream's and
// left out), with the extensions of opts, to dst and returns the extended
// slice; on error dst is returned unchanged. m's ids must be valid
// (ValidUID, and ValidCID when it has a CID) and Prio not negative: ingest
// validates every comment first.
//
// The body is written by hand, byte for byte what sonic (JSON) wrote
// before it for every valid message (TestAppendStoredSonic,
// FuzzAppendStored): the keys in the order of the record's layout above,
// strings escaped as appendJSONString does. The two escape differently only \b, \f, U+2028
// and U+2029, which no valid message holds (CheckText).
func AppendStored(dst []byte, m *Message, opts StoreOptions) ([]byte, error) {
	if !ValidUID(m.UID) || m.CID != "" && !ValidCID(m.CID) || m.Prio < 0 {
		return dst, fmt.Errorf("%w: uid %s cid %s prio %d", ErrInvalidRecord, quoteShort(m.UID), quoteShort(m.CID), m.Prio)
	}
	var header [2*MaxIDLen + 4*binary.MaxVarintLen64 + 1 + traceFixed + MaxTraceState]byte
	h := binary.AppendUvarint(header[:0], uint64(m.Prio))
	h = appendField(h, m.CID)
	h = appendField(h, m.UID)
	if opts.Trace != nil && opts.Trace.valid() {
		h = appendTrace(h, opts.Trace)
	}
	// The body's keys and ts take under 64 bytes; escapes may need more.
	dst = slices.Grow(dst, 1+binary.MaxVarintLen64+len(h)+64+len(m.Name)+len(m.Text)+len(m.Color)+len(m.Mode))
	dst = append(dst, recordVersion)
	dst = binary.AppendUvarint(dst, uint64(len(h)))
	dst = append(dst, h...)
	return appendStoredBody(dst, m), nil
}

// appendStoredBody appends the body of m's record.
func appendStoredBody(dst []byte, m *Message) []byte {
	dst = append(dst, `{"name":`...)
	dst = appendJSONString(dst, m.Name)
	dst = append(dst, `,"text":`...)
	dst = appendJSONString(dst, m.Text)
	dst = append(dst, `,"color":`...)
	dst = appendJSONString(dst, m.Color)
	dst = append(dst, `,"mode":`...)
	dst = appendJSONString(dst, m.Mode)
	dst = append(dst, `,"ts":`...)
	dst = strconv.AppendInt(dst, m.TS, 10)
	return append(dst, '}')
}

func appendField(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// header is the decoded header of a record. cid, uid and trace alias the
// record.
type header struct {
	prio     int
	cid, uid []byte
	// trace is the value of the trace extension, or nil.
	trace []byte
}

// splitRecord returns the header and the body of a version-1 record.
func splitRecord(data []byte) (header, []byte, error) {
	bad := func(what string) (header, []byte, error) {
		return header{}, nil, fmt.Errorf("%w: %s", ErrInvalidRecord, what)
	}
	if len(data) == 0 || data[0] != recordVersion {
		return bad("unknown version")
	}
	n, size := binary.Uvarint(data[1:])
	if size <= 0 || n > maxRecordHeader || n > uint64(len(data)-1-size) {
		return bad("header length")
	}
	fields, body := data[1+size:1+size+int(n)], data[1+size+int(n):]
	var h header
	prio, size := binary.Uvarint(fields)
	if size <= 0 || prio > 1<<31-1 {
		return bad("prio")
	}
	h.prio, fields = int(prio), fields[size:]
	var ok bool
	if h.cid, fields, ok = cutField(fields); !ok || len(h.cid) > 0 && !validID(h.cid) {
		return bad("cid")
	}
	if h.uid, fields, ok = cutField(fields); !ok || !validID(h.uid) {
		return bad("uid")
	}
	for len(fields) > 0 {
		tag := fields[0]
		var value []byte
		if value, fields, ok = cutField(fields[1:]); !ok {
			return bad("extension")
		}
		if tag == extTrace {
			h.trace = value
		}
	}
	return h, body, nil
}

// cutField cuts a uvarint-length-prefixed field from the front of b.
func cutField(b []byte) (field, rest []byte, ok bool) {
	n, size := binary.Uvarint(b)
	if size <= 0 || n > uint64(len(b)-size) {
		return nil, nil, false
	}
	return b[size : size+int(n)], b[size+int(n):], true
}

// strictJSON decodes what holds only a Message's keys, and refuses any
// other: the native JSON of a version-1 record.
var strictJSON = sonic.Config{ValidateString: true, DisallowUnknownFields: true}.Froze()

// DecodeStored decodes a stored record, or a record written before the
// header existed, as readers do (DecodeEntry). The ID is not part of the
// record and is left empty.
func DecodeStored(data []byte) (Message, error) {
	if IsControl(data) {
		return Message{}, fmt.Errorf("%w: a control record", ErrInvalidRecord)
	}
	item, err := decodeItem(ID{}, data)
	item.Message.ID = ""
	return item.Message, err
}

// isObject reports whether data can be spliced into a frame as one JSON
// object opening with its first key (an ID is spliced in right after the
// brace). The stream may be shared, and an entry such as "{oops}" or
// "{"a":1}{"b":2}" would make a whole frame invalid JSON. The check is
// encoding/json's: sonic lets invalid UTF-8 and some invalid escapes in
// keys and skipped values through.
func isObject(data []byte) bool {
	return isObjectStart(data) && utf8.Valid(data) && json.Valid(data)
}

// isObjectStart reports whether data opens and closes like a JSON object
// whose first key follows the brace.
func isObjectStart(data []byte) bool {
	return len(data) >= 2 && data[0] == '{' && data[len(data)-1] == '}' && (data[1] == '"' || len(data) == 2)
}
