package ingest

import (
	"strconv"
	"testing"
)

// TestRoomNames checks that a valid name comes back equal, from its slot
// the second time without allocating, that an invalid one is refused and
// never kept, and that ever new names leave no more than roomSlots kept.
func TestRoomNames(t *testing.T) {
	r := newRoomNames()
	for _, name := range []string{"a", "room-1", "x.y:z_w", "弹幕", "a b", "", string(make([]byte, 65))} {
		got, ok := r.name([]byte(name))
		if want := validRoomName(name); ok != want || ok && got != name {
			t.Errorf("name(%q) = %q, %v; want %v", name, got, ok, want)
		}
	}
	b := []byte("room-1")
	if n := testing.AllocsPerRun(100, func() { r.name(b) }); n != 0 {
		t.Errorf("name of a kept room allocates %v times; want 0", n)
	}
	if got, _ := r.name(b); string(b) != got {
		t.Errorf("name(%q) = %q", b, got)
	}
	b[0] = 'R' // the path's bytes are reused by the next request
	if got, ok := r.name([]byte("room-1")); !ok || got != "room-1" {
		t.Errorf("after the path changed, name(room-1) = %q, %v", got, ok)
	}
	for i := range 10 * roomSlots {
		r.name([]byte("r" + strconv.Itoa(i)))
	}
	kept := 0
	for i := range r.slots {
		if p := r.slots[i].Load(); p != nil {
			kept++
			if !validRoomName(*p) {
				t.Errorf("kept invalid %q", *p)
			}
		}
	}
	if kept > roomSlots {
		t.Errorf("%d names kept; want at most %d", kept, roomSlots)
	}
}

// validRoomName is codec.ValidRoom, spelled out for the test.
func validRoomName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}
