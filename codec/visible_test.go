package codec

import (
	"slices"
	"testing"
)

func TestValidStored(t *testing.T) {
	for in, want := range map[string]bool{
		`{}`: true, `{"a":1}`: true, `{"a":"弹幕"}`: true,
		``: false, `{`: false, `{ }`: false, `{oops}`: false, `{"a":1}{"b":2}`: false,
		`{"a":"}`: false, "{\"a\":\"\xff\"}": false, `[1]`: false,
	} {
		if got := ValidStored([]byte(in)); got != want {
			t.Errorf("ValidStored(%q) = %v; want %v", in, got, want)
		}
	}
}

func TestVisible(t *testing.T) {
	del := func(id string) []byte { b, _ := EncodeDelete(id); return b }
	items := []Item{
		{ID: "1-0", Stored: []byte(`{"n":1}`)},
		{ID: "2-0", Stored: []byte(`{"cid":"c","uid":"alice","n":2}`)},
		{ID: "3-0", Stored: []byte(`{oops}`)},
		{ID: "4-0", Stored: []byte(`{"cid":"c","uid":"alice","n":2}`)}, // a retried copy
		{ID: "5-0", Stored: del("1-0")},
		{ID: "6-0", Stored: []byte(`{"op":"delete","id":"x"}`)},
		{ID: "7-0", Stored: []byte(`{"n":7}`)},
		{ID: "8-0", Stored: del("0-9")},                                          // names a message outside the run
		{ID: "9-0", Stored: []byte(`{"cid":"c","uid":"mallory","n":9}`)},         // another author's cid
		{ID: "10-0", Stored: []byte(`{"prio":1,"cid":"c","uid":"alice","n":2}`)}, // a copy still
	}
	messages, deletes, skipped := Visible(items)
	var ids []string
	for _, m := range messages {
		ids = append(ids, m.ID)
	}
	if !slices.Equal(ids, []string{"2-0", "7-0", "9-0"}) || !slices.Equal(deletes, []string{"1-0", "0-9"}) || skipped != 2 {
		t.Errorf("Visible = %v, %v, %d; want [2-0 7-0 9-0], [1-0 0-9], 2", ids, deletes, skipped)
	}
}

// TestVisibleKeepsEveryAuthorsCID: a cid is its author's, so the posts of
// different users with the same cid are all shown, in order, whoever
// posted first; a retried copy of each is not.
func TestVisibleKeepsEveryAuthorsCID(t *testing.T) {
	var items []Item
	for i, uid := range []string{"mallory", "alice", "alice", "bob", "mallory"} {
		data, err := EncodeStored(Message{CID: "1", UID: uid, Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, Item{ID: string(rune('1'+i)) + "-0", Stored: data})
	}
	messages, _, _ := Visible(items)
	var ids []string
	for _, m := range messages {
		ids = append(ids, m.ID)
	}
	if want := []string{"1-0", "2-0", "4-0"}; !slices.Equal(ids, want) {
		t.Errorf("Visible shows %v; want %v", ids, want)
	}
}
