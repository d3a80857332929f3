package codec

import (
	"slices"
	"testing"
)

// TestLegacyRecords: a record written before the header existed is read
// when it is one JSON object that a frame can splice, and only then.
func TestLegacyRecords(t *testing.T) {
	for in, want := range map[string]bool{
		`{}`: true, `{"a":1}`: true, `{"a":"弹幕"}`: true,
		``: false, `{`: false, `{ }`: false, `{oops}`: false, `{"a":1}{"b":2}`: false,
		`{"a":"}`: false, "{\"a\":\"\xff\"}": false, `[1]`: false,
	} {
		if got := DecodeEntry(ID{MS: 1}, []byte(in)).Kind == EntryMessage; got != want {
			t.Errorf("DecodeEntry(%q) is a message: %v; want %v", in, got, want)
		}
	}
}

func TestVisible(t *testing.T) {
	del := func(id string) []byte { b, _ := EncodeDelete(id); return b }
	entries := []Entry{
		storedEntry("1-0", `{"n":1}`),
		storedEntry("2-0", `{"cid":"c","uid":"alice","n":2}`),
		storedEntry("3-0", `{oops}`),
		storedEntry("4-0", `{"cid":"c","uid":"alice","n":2}`), // a retried copy
		storedEntry("5-0", string(del("1-0"))),
		storedEntry("6-0", `{"op":"delete","id":"x"}`),
		storedEntry("7-0", `{"n":7}`),
		storedEntry("8-0", string(del("0-9"))),                                  // names a message outside the run
		storedEntry("9-0", `{"cid":"c","uid":"mallory","n":9}`),                 // another author's cid
		storedEntry("10-0", `{"prio":1,"cid":"c","uid":"alice","n":2}`),         // a copy still
		storedEntry("11-0", string(mustStore(Message{CID: "c", UID: "alice"}))), // a copy in a version-1 record
	}
	messages, deletes, skipped := Visible(entries)
	var ids []string
	for _, m := range messages {
		ids = append(ids, m.Message.ID)
	}
	if !slices.Equal(ids, []string{"2-0", "7-0", "9-0"}) || !slices.Equal(deletes, []string{"1-0", "0-9"}) || skipped != 2 {
		t.Errorf("Visible = %v, %v, %d; want [2-0 7-0 9-0], [1-0 0-9], 2", ids, deletes, skipped)
	}
}

// TestVisibleKeepsEveryAuthorsCID: a cid is its author's, so the posts of
// different users with the same cid are all shown, in order, whoever
// posted first; a retried copy of each is not.
func TestVisibleKeepsEveryAuthorsCID(t *testing.T) {
	var entries []Entry
	for i, uid := range []string{"mallory", "alice", "alice", "bob", "mallory"} {
		entries = append(entries, storedEntry(string(rune('1'+i))+"-0", string(mustStore(Message{CID: "1", UID: uid, Text: "x"}))))
	}
	messages, _, _ := Visible(entries)
	var ids []string
	for _, m := range messages {
		ids = append(ids, m.Message.ID)
	}
	if want := []string{"1-0", "2-0", "4-0"}; !slices.Equal(ids, want) {
		t.Errorf("Visible shows %v; want %v", ids, want)
	}
}
