package codec

import (
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
		// The key survives the stored record: readers find the same.
		data, err := EncodeStored(tt.m)
		if err != nil {
			if tt.want != "" {
				t.Fatalf("EncodeStored(%+v): %v", tt.m, err)
			}
			continue
		}
		e := DecodeEntry(ID{MS: 1}, data)
		if got := RetryKey(&e.Item.Message); got != tt.want {
			t.Errorf("RetryKey of the record of %+v = %q; want %q", tt.m, got, tt.want)
		}
	}
}

// TestRetryKeyAnyFieldOrder: a legacy record's cid and uid are found
// wherever they stand in its JSON.
func TestRetryKeyAnyFieldOrder(t *testing.T) {
	for _, in := range []string{`{"cid":"b","uid":"a"}`, `{"uid":"a","cid":"b"}`, `{"prio":1,"n":2,"uid":"a","text":"x","cid":"b"}`} {
		e := DecodeEntry(ID{MS: 1}, []byte(in))
		if got := RetryKey(&e.Item.Message); got != `b","uid":"a` {
			t.Errorf("RetryKey of %s = %q; want b and a", in, got)
		}
	}
}
