package loadgen

import (
	"net"
	"strconv"
)

// layout places viewers in rooms, picks the sampled ones and their source
// addresses. The coordinator and every worker compute the same answers
// from it. Viewers are numbered 0..Viewers-1; room k holds the contiguous
// block [start(k), start(k+1)), so rooms differ in size by at most one, and
// SamplePerRoom viewers of each room, spread evenly over its block, are
// sampled.
type layout struct {
	Viewers       int      `json:"viewers"`
	Rooms         []string `json:"rooms"`
	SamplePerRoom int      `json:"sample_per_room"`
	SourceIPs     int      `json:"source_ips"` // 127.0.0.1 .. 127.0.0.SourceIPs
	// MaxRates are the max_rate values given in turn to the viewers that
	// are not sampled; empty (or 0) for the full stream.
	MaxRates []int `json:"max_rates,omitempty"`
}

// roomOf returns the room index of viewer i.
func (l *layout) roomOf(i int) int {
	return int(int64(i) * int64(len(l.Rooms)) / int64(l.Viewers))
}

// start returns the first viewer of room k.
func (l *layout) start(k int) int {
	k64, n, rooms := int64(k), int64(l.Viewers), int64(len(l.Rooms))
	return int((k64*n + rooms - 1) / rooms)
}

// roomSize returns the number of viewers of room k.
func (l *layout) roomSize(k int) int {
	return l.start(k+1) - l.start(k)
}

// sampled reports whether viewer i decodes every frame: the first viewer
// of each of SamplePerRoom equal parts of its room's block, the parts
// starting at a phase of the room's own. Viewers join, and a server writes
// each frame to a room's viewers, about in the order they are numbered,
// so the first viewers alone would see only the start of each burst of
// writes and understate the latency of the rest (a quiet room of 10 000
// viewers: p99 13 ms for the first 100, 99 ms for all); and with one
// sampled viewer per room, the phases make the rooms' samples cover every
// position of a burst.
func (l *layout) sampled(i int) bool {
	k := l.roomOf(i)
	n, s := int64(l.roomSize(k)), int64(l.SamplePerRoom)
	j := (int64(i-l.start(k)) + int64(k)*n/int64(len(l.Rooms))) % n
	return s >= n || j == 0 || j*s/n != (j-1)*s/n
}

// maxRate returns the max_rate viewer i asks for, 0 for the full stream.
// Sampled viewers, which check every comment, take the full stream.
func (l *layout) maxRate(i int) int {
	if len(l.MaxRates) == 0 || l.sampled(i) {
		return 0
	}
	return l.MaxRates[i%len(l.MaxRates)]
}

// sourceIP returns the local address viewer i connects from.
func (l *layout) sourceIP(i int) net.IP {
	return net.IPv4(127, 0, 0, byte(1+i%max(1, l.SourceIPs)))
}

// samplePerRoom returns how many viewers of each of rooms rooms to sample
// so that about fraction of all viewers, and at least minimum of them in
// all, decode every frame.
func samplePerRoom(viewers, rooms int, fraction float64, minimum int) int {
	if viewers == 0 || rooms == 0 {
		return 0
	}
	want := max(int(float64(viewers)*fraction+0.5), minimum)
	return min(max(1, (want+rooms-1)/rooms), (viewers+rooms-1)/rooms)
}

// roomNames returns n room names with prefix: prefix for one room,
// prefix-0 .. prefix-(n-1) for more.
func roomNames(prefix string, n int) []string {
	if n == 1 {
		return []string{prefix}
	}
	names := make([]string, n)
	for i := range names {
		names[i] = prefix + "-" + strconv.Itoa(i)
	}
	return names
}

// split divides n viewers into the fewest workers holding at most
// perWorker each, as evenly as possible; it returns each worker's first
// viewer and count.
func split(n, perWorker int) [][2]int {
	if n == 0 {
		return nil
	}
	workers := (n + perWorker - 1) / perWorker
	parts := make([][2]int, workers)
	for w := range parts {
		first, next := w*n/workers, (w+1)*n/workers
		parts[w] = [2]int{first, next - first}
	}
	return parts
}
