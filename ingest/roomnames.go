package ingest

import (
	"hash/maphash"
	"sync/atomic"

	"github.com/danmu-dev/danmu/codec"
)

// roomSlots is how many room names roomNames keeps: enough for the rooms
// a node takes posts for at once, 8 KiB of pointers.
const roomSlots = 1024

// roomNames keeps the names of the rooms recently named by requests, so
// that a request naming one of them gets the name as a string without
// converting (allocating) the path's bytes, which was 4 % of the server's
// CPU under load. It keeps valid names only, each in the slot
// its hash picks, replacing whatever was there: clients that name ever
// new rooms cannot grow it, only make the others miss. It is safe for
// concurrent use, without a lock.
type roomNames struct {
	seed  maphash.Seed
	slots [roomSlots]atomic.Pointer[string]
}

func newRoomNames() *roomNames { return &roomNames{seed: maphash.MakeSeed()} }

// name returns b, a room id from a path, as a string of its own (the path
// dies with the request), and false when it is not a valid room id.
func (r *roomNames) name(b []byte) (string, bool) {
	slot := &r.slots[maphash.Bytes(r.seed, b)%roomSlots]
	if kept := slot.Load(); kept != nil && *kept == string(b) {
		return *kept, true
	}
	room := string(b)
	if !codec.ValidRoom(room) {
		return "", false
	}
	slot.Store(&room)
	return room, true
}
