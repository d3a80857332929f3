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
