package edge

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/danmu-dev/danmu/fanout"
)

func TestAddrPortZero(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{})
	c := env.dial(t, "?room=lobby")
	expectReply(t, c, "joined", "lobby", "")
	if got := env.srv.Stats().Upgraded.Load(); got != 1 {
		t.Errorf("Stats().Upgraded = %d; want 1", got)
	}
}

// viewer is one connection of TestManyViewers and the rooms it watches.
type viewer struct {
	conn  *websocket.Conn
	rooms []string
}

// TestManyViewers checks that every viewer gets every message of its rooms
// in post order, and nothing of other rooms, with viewers spread over the
// event loops, some watching one room from the URL and some two rooms
// joined by message.
func TestManyViewers(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{})
	rooms := []string{"alpha", "beta", "gamma"}
	const viewersPerShape = 10
	var viewers []viewer
	for i, room := range rooms {
		for range viewersPerShape {
			c := env.dial(t, "?room="+room)
			viewers = append(viewers, viewer{conn: c, rooms: []string{room}})
		}
		pair := []string{room, rooms[(i+1)%len(rooms)]}
		for range viewersPerShape {
			c := env.dial(t, "")
			for _, r := range pair {
				send(t, c, `{"type":"join","room":"`+r+`"}`)
			}
			viewers = append(viewers, viewer{conn: c, rooms: pair})
		}
	}
	for _, v := range viewers {
		var joined []string
		for range v.rooms {
			m := readMessage(t, v.conn)
			if m.Type != "joined" {
				t.Fatalf("got %+v; want joined", m)
			}
			joined = append(joined, m.Room)
		}
		slices.Sort(joined)
		want := slices.Sorted(slices.Values(v.rooms))
		if !slices.Equal(joined, want) {
			t.Fatalf("joined %v; want %v", joined, want)
		}
	}

	// One poster per room, all at once: the order within a room is the
	// order of its posts.
	const perRoom = 40
	posted := make(map[string][]string)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, room := range rooms {
		wg.Go(func() {
			var ids []string
			for i := range perRoom {
				id, err := env.appendComment(room, fmt.Sprintf("%s %d", room, i))
				if err != nil {
					t.Error(err)
					return
				}
				ids = append(ids, id.String())
			}
			mu.Lock()
			posted[room] = ids
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	for i, v := range viewers {
		wg.Go(func() {
			got := make(map[string][]string)
			for !receivedAll(got, v.rooms, perRoom) {
				m, err := readMessageErr(v.conn)
				if err != nil {
					t.Errorf("viewer %d: %v", i, err)
					return
				}
				if m.Type != "batch" || m.Dropped != 0 || m.Gap {
					t.Errorf("viewer %d: got %+v; want a batch with nothing dropped", i, m)
					return
				}
				if !slices.Contains(v.rooms, m.Room) {
					t.Errorf("viewer %d of %v got a batch of %s", i, v.rooms, m.Room)
					return
				}
				for _, it := range m.Msgs {
					if !strings.HasPrefix(it.Text, m.Room+" ") {
						t.Errorf("viewer %d: message %q in a batch of %s", i, it.Text, m.Room)
					}
					got[m.Room] = append(got[m.Room], it.ID)
				}
			}
			for _, room := range v.rooms {
				if !slices.Equal(got[room], posted[room]) {
					t.Errorf("viewer %d got %s: %v; want %v", i, room, got[room], posted[room])
				}
			}
		})
	}
	wg.Wait()
	if got := env.srv.Stats().FramesSkipped.Load(); got != 0 {
		t.Errorf("Stats().FramesSkipped = %d; want 0", got)
	}
}

// receivedAll reports whether got holds at least n messages of each room.
func receivedAll(got map[string][]string, rooms []string, n int) bool {
	for _, r := range rooms {
		if len(got[r]) < n {
			return false
		}
	}
	return true
}

// TestJoinLeave checks the replies to join and leave messages, and the
// errors for refused ones.
func TestJoinLeave(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{edge: Config{MaxRooms: 2}})
	c := env.dial(t, "")
	send(t, c, `{"type":"join","room":"a"}`)
	expectReply(t, c, "joined", "a", "")
	send(t, c, `{"type":"join","room":"a"}`)
	expectReply(t, c, "error", "a", "already_joined")
	send(t, c, `{"type":"leave","room":"b"}`)
	expectReply(t, c, "error", "b", "not_joined")
	send(t, c, `{"type":"join","room":"b","extra":[1,2]}`)
	expectReply(t, c, "joined", "b", "")
	send(t, c, `{"type":"join","room":"c"}`)
	expectReply(t, c, "error", "c", "too_many_rooms")
	send(t, c, `{"type":"leave","room":"a"}`)
	expectReply(t, c, "left", "a", "")
	send(t, c, `{"type":"join","room":"c"}`)
	expectReply(t, c, "joined", "c", "")

	// Errors name the room of the refused message, if it had one.
	long := strings.Repeat("x", 65)
	refused := []struct {
		msg, room, code string
	}{
		{`{"type":"join"`, "", "invalid_message"},
		{`not json`, "", "invalid_message"},
		{`[]`, "", "invalid_message"},
		{``, "", "invalid_message"},
		{`{"type":"join","room":7}`, "", "invalid_message"},
		{`{"type":"join","room":"no spaces"}`, "no spaces", "invalid_room"},
		{`{"type":"join","room":""}`, "", "invalid_room"},
		{`{"type":"leave"}`, "", "invalid_room"},
		// An error names at most the first 64 bytes of the room.
		{`{"type":"join","room":"` + long + `"}`, long[:64], "invalid_room"},
		{`{"type":"join","room":"` + strings.Repeat("y", 4000) + `"}`, strings.Repeat("y", 64), "invalid_room"},
		{`{"type":"join","room":"d","since":"yesterday"}`, "d", "invalid_since"},
		{`{"type":"join","room":"d","since":"-1"}`, "d", "invalid_since"},
		{`{"type":"join","room":"d","since":"1-2-3"}`, "d", "invalid_since"},
		{`{"type":"join","room":"d","since":"18446744073709551616-0"}`, "d", "invalid_since"},
		{`{"type":"dance","room":"d"}`, "d", "unknown_type"},
		{`{"room":"d"}`, "d", "unknown_type"},
	}
	for _, tt := range refused {
		send(t, c, tt.msg)
		m := expectReply(t, c, "error", tt.room, tt.code)
		if m.Message == "" {
			t.Errorf("error for %q has no message", tt.msg)
		}
	}

	// Still watching b and c, and only them.
	env.post(t, "a", "a 0")
	idB := env.post(t, "b", "b 0")
	idC := env.post(t, "c", "c 0")
	got := make(map[string][]string)
	for !receivedAll(got, []string{"b", "c"}, 1) {
		m := readMessage(t, c)
		if m.Type != "batch" {
			t.Fatalf("got %+v; want a batch", m)
		}
		for _, it := range m.Msgs {
			got[m.Room] = append(got[m.Room], it.ID)
		}
	}
	want := map[string][]string{"b": {idB.String()}, "c": {idC.String()}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v; want %v", got, want)
	}
}

// TestOnlineCounts: every OnlineInterval, each viewer is sent the viewer
// count of each of its rooms.
func TestOnlineCounts(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{fanout: fanout.Config{OnlineInterval: 20 * time.Millisecond}})
	one := env.dial(t, "?room=a")
	expectReply(t, one, "joined", "a", "")
	two := env.dial(t, "?room=a")
	expectReply(t, two, "joined", "a", "")
	send(t, two, `{"type":"join","room":"b"}`)
	waitOnline := func(c *websocket.Conn, want map[string]int) {
		t.Helper()
		for len(want) > 0 {
			m := readMessage(t, c)
			switch {
			case m.Type == "joined":
			case m.Type != "online":
				t.Fatalf("got %+v; want online counts", m)
			case m.Count == want[m.Room]:
				delete(want, m.Room)
			}
		}
	}
	waitOnline(one, map[string]int{"a": 2})
	waitOnline(two, map[string]int{"a": 2, "b": 1})
	if err := one.Close(); err != nil {
		t.Fatal(err)
	}
	waitOnline(two, map[string]int{"a": 1})
}
