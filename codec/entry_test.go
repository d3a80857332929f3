package codec

import (
	"errors"
	"testing"
)

func TestControlRoundTrip(t *testing.T) {
	data, err := EncodeDelete("1700000000000-3")
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != `{"op":"delete","id":"1700000000000-3"}` || !IsControl(data) {
		t.Fatalf("EncodeDelete = %s; want a control record", data)
	}
	c, err := ParseControl(data)
	if err != nil || c != (Control{Op: OpDelete, ID: "1700000000000-3"}) {
		t.Errorf("ParseControl(%s) = %+v, %v", data, c, err)
	}
	if _, err := EncodeDelete("x"); !errors.Is(err, ErrInvalidControl) {
		t.Errorf("EncodeDelete(x) = %v; want ErrInvalidControl", err)
	}
}

func TestParseControlRejects(t *testing.T) {
	for _, in := range []string{``, `{}`, `{"op":"drop","id":"1-1"}`, `{"op":"delete","id":"nope"}`, `{"op":"delete"}`, `{"op":`} {
		if _, err := ParseControl([]byte(in)); !errors.Is(err, ErrInvalidControl) {
			t.Errorf("ParseControl(%q) = %v; want ErrInvalidControl", in, err)
		}
	}
}

func TestStoredMessagesAreNotControl(t *testing.T) {
	for _, m := range []Message{{Text: "x"}, {Prio: 2, Text: "y"}} {
		data, err := EncodeStored(m)
		if err != nil {
			t.Fatal(err)
		}
		if IsControl(data) {
			t.Errorf("IsControl(%s) = true", data)
		}
		if got := IsPriority(data); got != (m.Prio > 0) {
			t.Errorf("IsPriority(%s) = %v; want %v", data, got, m.Prio > 0)
		}
	}
	for _, in := range []string{`{"prio":0,"uid":"a"}`, `{"prio":-1,"uid":"a"}`, `{"uid":"a","prio":3}`, `{"prio":`} {
		if IsPriority([]byte(in)) {
			t.Errorf("IsPriority(%s) = true; want false", in)
		}
	}
}

func FuzzParseControl(f *testing.F) {
	f.Add([]byte(`{"op":"delete","id":"1-1"}`))
	f.Add([]byte(`{"op":"delete","id":"1-1","x":[1]}`))
	f.Add([]byte(`{"op":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseControl(data)
		if err != nil {
			return
		}
		again, err := EncodeDelete(c.ID)
		if err != nil {
			t.Fatalf("ParseControl(%q) accepted id %q that EncodeDelete refuses: %v", data, c.ID, err)
		}
		if c2, err := ParseControl(again); err != nil || c2 != c {
			t.Fatalf("round trip of %+v = %+v, %v", c, c2, err)
		}
	})
}

func TestStoredCID(t *testing.T) {
	tests := []struct {
		m    Message
		want string
	}{
		{Message{Text: "x"}, ""},
		{Message{CID: "c-1", Text: "x"}, "c-1"},
		{Message{Prio: 12, CID: "abc.def", Text: "x"}, "abc.def"},
		{Message{Prio: 3, Text: "x"}, ""},
	}
	for _, tt := range tests {
		data, err := EncodeStored(tt.m)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(StoredCID(data)); got != tt.want {
			t.Errorf("StoredCID(%s) = %q; want %q", data, got, tt.want)
		}
	}
	for _, in := range []string{``, `{`, `{"prio":1`, `{"cid":"`, `{"cid":""}`, `{"uid":"a","cid":"b"}`} {
		if got := StoredCID([]byte(in)); got != nil {
			t.Errorf("StoredCID(%q) = %q; want nil", in, got)
		}
	}
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
		if StoredCID(data) == nil {
			b.Fatal("no key")
		}
	}
}
