package codec

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// mustStore returns the stored record of m.
func mustStore(m Message) []byte {
	data, err := EncodeStored(m)
	if err != nil {
		panic(err)
	}
	return data
}

// storedEntry decodes stored, the record of the entry id, as readers do.
func storedEntry(id, stored string) Entry {
	parsed, err := ParseID(id)
	if err != nil {
		panic(err)
	}
	return DecodeEntry(parsed, []byte(stored))
}

// storedItem is the Item of the stored message of entry id.
func storedItem(id, stored string) Item {
	e := storedEntry(id, stored)
	if e.Kind != EntryMessage {
		panic("not a stored message: " + stored)
	}
	return e.Item
}

var sampleMessages = []Message{
	{UID: "anonymous", Name: "guest", Text: "hi", Color: DefaultColor, Mode: ModeScroll, TS: 1700000000000},
	{Prio: 3, CID: "retry.1", UID: "u:42", Name: "mod \"q\"", Text: "弾幕 <b>&", Color: "#ff0000", Mode: ModeTop, TS: 1},
	{CID: "c-1", UID: "alice", Name: "", Text: "", Color: "", Mode: "", TS: 0},
}

// TestStoredRoundTrip: what ingest stores reads back the same, and its
// native JSON is what the legacy (JSON) record of the same message gave,
// byte for byte: clients see no difference.
func TestStoredRoundTrip(t *testing.T) {
	for _, m := range sampleMessages {
		data := mustStore(m)
		if data[0] != recordVersion {
			t.Fatalf("EncodeStored(%+v) = %q; want version %d first", m, data, recordVersion)
		}
		got, err := DecodeStored(data)
		if err != nil || got != m {
			t.Errorf("DecodeStored(EncodeStored(%+v)) = %+v, %v", m, got, err)
		}
		legacy, err := JSON.Marshal(&m)
		if err != nil {
			t.Fatal(err)
		}
		newer, older := DecodeEntry(ID{MS: 7, Seq: 1}, data), DecodeEntry(ID{MS: 7, Seq: 1}, legacy)
		if newer.Kind != EntryMessage || older.Kind != EntryMessage || string(newer.Item.JSON) != string(older.Item.JSON) {
			t.Errorf("native JSON of %+v: record %s, legacy %s", m, newer.Item.JSON, older.Item.JSON)
		}
		want := m
		want.ID = "7-1"
		if newer.Item.Message != want || older.Item.Message != want {
			t.Errorf("decoded %+v and %+v; want %+v", newer.Item.Message, older.Item.Message, want)
		}
	}
}

func TestEncodeStoredRejects(t *testing.T) {
	for _, m := range []Message{
		{Text: "no uid"}, {UID: "a b"}, {UID: "a", CID: `c"`}, {UID: "a", Prio: -1},
		{UID: strings.Repeat("u", MaxIDLen+1)},
	} {
		if _, err := EncodeStored(m); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("EncodeStored(%+v) = %v; want ErrInvalidRecord", m, err)
		}
	}
}

// record builds a version-1 record from raw header fields and a body.
func record(fields []byte, body string) []byte {
	out := []byte{recordVersion}
	out = binary.AppendUvarint(out, uint64(len(fields)))
	return append(append(out, fields...), body...)
}

func TestDecodeStoredRecords(t *testing.T) {
	field := func(dst []byte, s string) []byte { return appendField(dst, s) }
	good := field(field([]byte{2}, "c"), "u")
	body := `{"name":"n","text":"t","color":"#ffffff","mode":"scroll","ts":5}`
	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"plain", record(good, body), true},
		{"unknown extension skipped", record(field(append(good, 't'), "trace"), body), true},
		{"empty body object", record(good, `{}`), true},
		{"no uid", record(field([]byte{0}, ""), body), false},
		{"empty uid", record(field(field([]byte{0}, ""), ""), body), false},
		{"uid not an id", record(field(field([]byte{0}, ""), `a"b`), body), false},
		{"cid not an id", record(field(field([]byte{0}, "a b"), "u"), body), false},
		{"cut extension", record(append(good, 't', 5, 'x'), body), false},
		{"header past the end", append([]byte{recordVersion, 100}, good...), false},
		{"prio overflow", record(field(field([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, ""), "u"), body), false},
		{"body not JSON", record(good, `{oops}`), false},
		{"body two objects", record(good, `{"a":1}{"b":2}`), false},
		{"body not UTF-8", record(good, "{\"text\":\"\xff\"}"), false},
		{"body wrong type", record(good, `{"text":5}`), false},
		{"body with a header field", record(good, `{"uid":"x"}`), false},
		{"body with an unknown key", record(good, `{"a":1}`), false},
		{"body missing", record(good, ``), false},
		{"unknown version", append([]byte{2}, record(good, body)[1:]...), false},
		{"empty", nil, false},
		{"legacy", []byte(`{"uid":"u","text":"t"}`), true},
		{"legacy wrong type", []byte(`{"text":5}`), false},
		{"legacy with an id", []byte(`{"id":"","uid":"u"}`), false},
		{"control record", []byte(`{"op":"delete","id":"1-0"}`), false},
	}
	for _, tt := range tests {
		m, err := DecodeStored(tt.data)
		if (err == nil) != tt.ok || err != nil && !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("%s: DecodeStored(%q) = %+v, %v; want ok %v", tt.name, tt.data, m, err, tt.ok)
		}
		if e := DecodeEntry(ID{MS: 1}, tt.data); (e.Kind == EntryMessage) != tt.ok {
			t.Errorf("%s: DecodeEntry kind %d; want a message: %v", tt.name, e.Kind, tt.ok)
		}
	}
	if e := DecodeEntry(ID{MS: 3}, []byte(`{"op":"delete","id":"1-0"}`)); e.Kind != EntryDelete || e.Deleted != "1-0" {
		t.Errorf("DecodeEntry(delete) = %+v; want a delete of 1-0", e)
	}
}

// TestDecodeEntryDoesNotAlias: an entry outlives the read buffer it was
// decoded from.
func TestDecodeEntryDoesNotAlias(t *testing.T) {
	data := mustStore(sampleMessages[1])
	e := DecodeEntry(ID{MS: 1}, data)
	want := string(e.Item.JSON)
	for i := range data {
		data[i] = 'x'
	}
	if string(e.Item.JSON) != want || e.Item.Message.CID != sampleMessages[1].CID || e.Item.Message.UID != sampleMessages[1].UID {
		t.Errorf("entry changed with its buffer: %s %+v", e.Item.JSON, e.Item.Message)
	}
}

// FuzzDecodeStored: whatever a shared stream holds, a record that decodes
// gives native JSON that is one valid object holding the decoded message,
// and its message stores and reads back the same.
func FuzzDecodeStored(f *testing.F) {
	for _, m := range sampleMessages {
		f.Add(mustStore(m))
		legacy, _ := JSON.Marshal(&m)
		f.Add(legacy)
	}
	f.Add(record(appendField(appendField([]byte{1, 't', 1, 'x'}, "c"), "u"), `{}`))
	traced, _ := EncodeStored(sampleMessages[1], StoreOptions{Trace: &sampleTrace})
	f.Add(traced)
	f.Add([]byte(`{"op":"delete","id":"1-0"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e := DecodeEntry(ID{MS: 9, Seq: 2}, data)
		m, err := DecodeStored(data)
		if (err == nil) != (e.Kind == EntryMessage) {
			t.Fatalf("DecodeStored(%q) = %v but DecodeEntry kind %d", data, err, e.Kind)
		}
		if err != nil {
			return
		}
		var got Message
		if err := json.Unmarshal(e.Item.JSON, &got); err != nil || got.ID != "9-2" {
			t.Fatalf("native JSON %q of %q: %+v, %v", e.Item.JSON, data, got, err)
		}
		m.ID = "9-2"
		if got != m || e.Item.Message != m {
			t.Fatalf("native JSON of %q decodes to %+v; entry %+v; want %+v", data, got, e.Item.Message, m)
		}
		again, err := EncodeStored(m, StoreOptions{Trace: e.Item.Trace})
		if err != nil {
			return // a legacy record may hold ids ingest would refuse
		}
		if back, err := DecodeStored(again); err != nil || back.ID != "" || func() bool { back.ID = m.ID; return back != m }() {
			t.Fatalf("EncodeStored(%+v) reads back %+v, %v", m, back, err)
		}
		if back := DecodeEntry(ID{MS: 9, Seq: 2}, again); (back.Item.Trace == nil) != (e.Item.Trace == nil) ||
			e.Item.Trace != nil && *back.Item.Trace != *e.Item.Trace {
			t.Fatalf("trace %+v of %q reads back as %+v", e.Item.Trace, data, back.Item.Trace)
		}
	})
}

// BenchmarkDecodeEntry is the work each node does once per message it
// reads, whatever the number of viewers and encodings.
func BenchmarkDecodeEntry(b *testing.B) {
	data := mustStore(Message{Prio: 1, CID: "c-1700000000000-7", UID: "u1234567", Name: "viewer", Text: "弾幕コメント", Color: DefaultColor, Mode: ModeScroll, TS: 1700000000000})
	b.ReportAllocs()
	for b.Loop() {
		if DecodeEntry(ID{MS: 1700000000000, Seq: 7}, data).Kind != EntryMessage {
			b.Fatal("not a message")
		}
	}
}

// BenchmarkAppendStored is ingest's encoding of each comment it stores,
// into a buffer it reuses.
func BenchmarkAppendStored(b *testing.B) {
	m := Message{Prio: 1, CID: "c-1700000000000-7", UID: "u1234567", Name: "viewer", Text: "弾幕コメント \"quoted\"", Color: DefaultColor, Mode: ModeScroll, TS: 1700000000000}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendStored(buf[:0], &m, StoreOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
