package fanout

import (
	"testing"
	"time"

	"github.com/danmu-dev/danmu/stream"
)

func TestReadPause(t *testing.T) {
	partial := []stream.Page{{Room: "a", Entries: make([]stream.Entry, 3)}, {Room: "b", Entries: make([]stream.Entry, 1)}}
	full := []stream.Page{{Room: "a", Entries: make([]stream.Entry, 1)}, {Room: "b", Entries: make([]stream.Entry, 4)}}
	for _, tc := range []struct {
		name  string
		rooms int
		pages []stream.Page
		want  time.Duration
	}{
		{"nothing read", 1000, nil, 0},
		{"one room", 1, partial, readPacePerRoom},
		{"a thousand rooms", 1000, partial, 1000 * readPacePerRoom},
		{"capped", 100_000, partial, maxReadPace},
		{"a full page: more to read", 1000, full, 0},
	} {
		if got := readPause(tc.rooms, tc.pages, 4); got != tc.want {
			t.Errorf("%s: readPause(%d rooms) = %v; want %v", tc.name, tc.rooms, got, tc.want)
		}
	}
}
