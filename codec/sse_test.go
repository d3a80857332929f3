package codec

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSSEEncoder(t *testing.T) {
	items := []Item{
		{ID: ID{MS: 5, Seq: 1}, JSON: []byte(`{"id":"5-1","text":"a"}`)},
		{ID: ID{MS: 5, Seq: 2}, JSON: []byte("{\"id\":\"5-2\",\r\n\"text\":\"b\\nc\"}")},
	}
	tests := []struct {
		name string
		b    Batch
		want string
	}{
		{"batch", Batch{Room: "r", Items: items[:1], Last: ID{MS: 5, Seq: 3}},
			"id: 5-3\ndata: {\"type\":\"batch\",\"room\":\"r\",\"msgs\":[{\"id\":\"5-1\",\"text\":\"a\"}]}\n\n"},
		{"line breaks flattened", Batch{Room: "r", Items: items[1:], Last: ID{MS: 5, Seq: 2}},
			"id: 5-2\ndata: {\"type\":\"batch\",\"room\":\"r\",\"msgs\":[{\"id\":\"5-2\",  \"text\":\"b\\nc\"}]}\n\n"},
		{"gap notice has no id", Batch{Room: "r", Gap: true},
			"data: {\"type\":\"batch\",\"room\":\"r\",\"msgs\":[],\"gap\":true}\n\n"},
		{"deletes only: the first carries the id", Batch{Room: "r", Deletes: []string{"1-1", "1-2"}, Last: ID{MS: 9}},
			"id: 9-0\ndata: {\"type\":\"delete\",\"room\":\"r\",\"id\":\"1-1\"}\n\ndata: {\"type\":\"delete\",\"room\":\"r\",\"id\":\"1-2\"}\n\n"},
		{"batch then delete", Batch{Room: "r", Items: items[:1], Dropped: 2, Deletes: []string{"1-1"}, Last: ID{MS: 9}},
			"id: 9-0\ndata: {\"type\":\"batch\",\"room\":\"r\",\"msgs\":[{\"id\":\"5-1\",\"text\":\"a\"}],\"dropped\":2}\n\ndata: {\"type\":\"delete\",\"room\":\"r\",\"id\":\"1-1\"}\n\n"},
	}
	for _, tt := range tests {
		got := string(SSEEncoder{}.AppendBatch([]byte("x"), &tt.b))
		if got != "x"+tt.want {
			t.Errorf("%s: AppendBatch = %q; want %q", tt.name, got, "x"+tt.want)
		}
		for _, ev := range strings.Split(strings.TrimSuffix(got[1:], "\n\n"), "\n\n") {
			data := ev[strings.Index(ev, "data: ")+len("data: "):]
			if strings.ContainsAny(data, "\r\n") || !json.Valid([]byte(data)) {
				t.Errorf("%s: event data %q is not one line of JSON", tt.name, data)
			}
		}
	}
	if got, want := string(SSEEncoder{}.AppendOnline(nil, "r", 7)), "data: {\"type\":\"online\",\"room\":\"r\",\"count\":7}\n\n"; got != want {
		t.Errorf("AppendOnline = %q; want %q", got, want)
	}
}

func TestSSEEncoderAllocs(t *testing.T) {
	b := Batch{Room: "r", Items: []Item{{JSON: []byte(`{"id":"1-1"}`)}}, Deletes: []string{"1-1"}, Last: ID{MS: 1, Seq: 1}}
	dst := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { dst = SSEEncoder{}.AppendBatch(dst[:0], &b) }); n != 0 {
		t.Errorf("AppendBatch allocates %v times; want 0", n)
	}
}
