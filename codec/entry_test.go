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
	for _, m := range []Message{{UID: "a", Text: "x"}, {Prio: 2, UID: "a", Text: "y"}} {
		data := mustStore(m)
		if IsControl(data) {
			t.Errorf("IsControl(%q) = true", data)
		}
		if got := DecodeEntry(ID{MS: 1}, data).Item.Priority(); got != (m.Prio > 0) {
			t.Errorf("Priority of %q = %v; want %v", data, got, m.Prio > 0)
		}
	}
	// Legacy records: the priority is read from the decoded JSON, in any
	// field order; a negative one is none.
	for in, want := range map[string]bool{`{"prio":0,"uid":"a"}`: false, `{"prio":-1,"uid":"a"}`: false, `{"uid":"a","prio":3}`: true, `{"prio":`: false} {
		if got := DecodeEntry(ID{MS: 1}, []byte(in)).Item.Priority(); got != want {
			t.Errorf("Priority of %s = %v; want %v", in, got, want)
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
