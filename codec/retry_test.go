package codec

import (
	"bytes"
	"strings"
	"testing"
)

func TestRetryKey(t *testing.T) {
	long := strings.Repeat("x", MaxRoomLen)
	tests := []struct {
		m    Message
		want string
	}{
		{Message{UID: "alice", Text: "x"}, ""},
		{Message{CID: "1", UID: "alice", Text: "x"}, `1","uid":"alice`},
		{Message{CID: "1", UID: "mallory", Text: "x"}, `1","uid":"mallory`},
		{Message{Prio: 12, CID: "abc.def", UID: "u:1", Text: "x"}, `abc.def","uid":"u:1`},
		{Message{Prio: 3, UID: "alice", Text: "x"}, ""},
		{Message{CID: long, UID: long}, long + `","uid":"` + long},
		{Message{CID: "1", Text: "x"}, ""},                  // no uid
		{Message{CID: "a b", UID: "alice"}, ""},             // not ids: never
		{Message{CID: "1", UID: `a"b`}, ""},                 // taken for a copy
		{Message{CID: long + "x", UID: "alice"}, ""},        // too long
		{Message{CID: "1", UID: "弾幕"}, ""},                  // not ASCII
		{Message{CID: `1","uid":"alice`, UID: "alice"}, ""}, // a forged key
	}
	for _, tt := range tests {
		if got := RetryKey(&tt.m); got != tt.want {
			t.Errorf("RetryKey(%+v) = %q; want %q", tt.m, got, tt.want)
		}
		data, err := EncodeStored(tt.m)
		if err != nil {
			t.Fatal(err)
		}
		got := StoredRetryKey(data)
		if string(got) != tt.want || (got == nil) != (tt.want == "") {
			t.Errorf("StoredRetryKey(%s) = %q; want %q", data, got, tt.want)
		}
	}
}

func TestStoredRetryKeyRejects(t *testing.T) {
	for _, in := range []string{
		``, `{`, `{"prio":1`, `{"cid":"`, `{"cid":""}`, `{"cid":"1"}`,
		`{"cid":"1","uid":"`, `{"cid":"1","uid":""}`, `{"cid":"1","name":"a","uid":"b"}`,
		`{"uid":"a","cid":"b"}`, `{"prio":1,"uid":"a","cid":"b"}`, `{"n":1,"cid":"1","uid":"a"}`,
		`{"cid":"a\"b","uid":"c"}`, `{"cid":"1","uid":"a\"b"}`, `{"cid":"1","uid":"\u0061"}`,
		`{"cid": "1","uid":"a"}`, `{"cid":"1", "uid":"a"}`,
	} {
		if got := StoredRetryKey([]byte(in)); got != nil {
			t.Errorf("StoredRetryKey(%q) = %q; want nil", in, got)
		}
	}
}

// TestStoredRetryKeyAllocs locks in that fan-out finds the key of each
// message it reads without allocating.
func TestStoredRetryKeyAllocs(t *testing.T) {
	data := []byte(`{"prio":1,"cid":"c-1","uid":"u1","name":"n","text":"t","color":"#ffffff","mode":"scroll","ts":1}`)
	if n := testing.AllocsPerRun(100, func() { StoredRetryKey(data) }); n != 0 {
		t.Errorf("StoredRetryKey allocates %v times; want 0", n)
	}
}

// FuzzStoredRetryKey checks that a key found in any input names a valid
// cid and uid, and that for any stored message that decodes, the key of
// its stored form is RetryKey's.
func FuzzStoredRetryKey(f *testing.F) {
	for _, m := range []Message{
		{CID: "c-1", UID: "alice", Name: "Alice", Text: "弾幕", Color: DefaultColor, Mode: ModeScroll, TS: 1700000000000},
		{Prio: 3, CID: "retry.1", UID: "u:42", Name: "mod", Text: "x", Color: "#ff0000", Mode: ModeTop, TS: 1},
		{UID: "anonymous", Name: "guest", Text: "no cid", Color: DefaultColor, Mode: ModeScroll},
	} {
		data, err := EncodeStored(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"cid":"1","uid":"a","uid":"b"}`))
	f.Add([]byte(`{"prio":1,"cid":"a\"b","uid":"c"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if key := StoredRetryKey(data); key != nil {
			cid, uid, ok := bytes.Cut(key, []byte(retryKeySeparator))
			if !ok || !validID(cid) || !validID(uid) || !bytes.Contains(data, key) {
				t.Fatalf("StoredRetryKey(%q) = %q; want a valid cid and uid", data, key)
			}
		}
		m, err := DecodeStored(data)
		if err != nil {
			return
		}
		again, err := EncodeStored(m)
		if err != nil {
			t.Fatalf("EncodeStored(%+v): %v", m, err)
		}
		if got, want := StoredRetryKey(again), RetryKey(&m); string(got) != want || (got == nil) != (want == "") {
			t.Fatalf("StoredRetryKey(%s) = %q; RetryKey = %q", again, got, want)
		}
	})
}

// BenchmarkRetryKey finds the key of a stored message that fan-out
// de-duplicates retried copies by.
func BenchmarkRetryKey(b *testing.B) {
	data, err := EncodeStored(Message{Prio: 1, CID: "c-1700000000000-7", UID: "u1234567", Name: "viewer", Text: "弾幕コメント", Color: DefaultColor, Mode: ModeScroll, TS: 1700000000000})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if StoredRetryKey(data) == nil {
			b.Fatal("no key")
		}
	}
}
