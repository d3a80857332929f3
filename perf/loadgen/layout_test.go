package loadgen

import (
	"net"
	"slices"
	"testing"
)

func TestLayoutRoomsAndSamples(t *testing.T) {
	tests := []struct {
		viewers, rooms, sample int
		wantSizes              []int
		wantSampled            []int
	}{
		{viewers: 10, rooms: 1, sample: 3, wantSizes: []int{10}, wantSampled: []int{0, 4, 7}},
		{viewers: 100, rooms: 1, sample: 4, wantSizes: []int{100}, wantSampled: []int{0, 25, 50, 75}},
		{viewers: 20, rooms: 2, sample: 2, wantSizes: []int{10, 10}, wantSampled: []int{0, 5, 10, 15}},
		{viewers: 6, rooms: 3, sample: 1, wantSizes: []int{2, 2, 2}, wantSampled: []int{0, 2, 5}},
		{viewers: 7, rooms: 3, sample: 1, wantSizes: []int{3, 2, 2}, wantSampled: []int{0, 3, 6}},
		// One per room: each room at its own position, so that together they cover them all.
		{viewers: 100, rooms: 10, sample: 1, wantSizes: slices.Repeat([]int{10}, 10), wantSampled: []int{0, 19, 28, 37, 46, 55, 64, 73, 82, 91}},
		{viewers: 5, rooms: 5, sample: 2, wantSizes: []int{1, 1, 1, 1, 1}, wantSampled: []int{0, 1, 2, 3, 4}},
	}
	for _, tt := range tests {
		l := layout{Viewers: tt.viewers, Rooms: roomNames("r", tt.rooms), SamplePerRoom: tt.sample}
		var sizes []int
		for k := range tt.rooms {
			sizes = append(sizes, l.roomSize(k))
		}
		var sampled []int
		counted := make([]int, tt.rooms)
		for i := range tt.viewers {
			counted[l.roomOf(i)]++
			if l.sampled(i) {
				sampled = append(sampled, i)
			}
		}
		if !slices.Equal(sizes, tt.wantSizes) || !slices.Equal(counted, tt.wantSizes) || !slices.Equal(sampled, tt.wantSampled) {
			t.Errorf("%d viewers in %d rooms: sizes %v, counted %v, sampled %v; want %v, %v",
				tt.viewers, tt.rooms, sizes, counted, sampled, tt.wantSizes, tt.wantSampled)
		}
	}
}

func TestSamplePerRoom(t *testing.T) {
	tests := []struct {
		viewers, rooms int
		fraction       float64
		minimum, want  int
	}{
		{10000, 1, 0.01, 50, 100},
		{2000, 1, 0.01, 50, 50},
		{20, 1, 0.01, 50, 20},
		{10000, 100, 0.01, 50, 1},
		{100, 100, 0.01, 50, 1},
		{18000, 1, 0.01, 50, 180},
		{0, 1, 0.01, 50, 0},
	}
	for _, tt := range tests {
		if got := samplePerRoom(tt.viewers, tt.rooms, tt.fraction, tt.minimum); got != tt.want {
			t.Errorf("samplePerRoom(%d, %d, %g, %d) = %d; want %d", tt.viewers, tt.rooms, tt.fraction, tt.minimum, got, tt.want)
		}
	}
}

func TestSourceIP(t *testing.T) {
	l := layout{SourceIPs: 3}
	for i, want := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.1"} {
		if got := l.sourceIP(i); !got.Equal(net.ParseIP(want)) {
			t.Errorf("sourceIP(%d) = %v; want %s", i, got, want)
		}
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		n, per int
		want   [][2]int
	}{
		{0, 9000, nil},
		{20, 9000, [][2]int{{0, 20}}},
		{9000, 9000, [][2]int{{0, 9000}}},
		{10000, 9000, [][2]int{{0, 5000}, {5000, 5000}}},
		{18001, 9000, [][2]int{{0, 6000}, {6000, 6000}, {12000, 6001}}},
	}
	for _, tt := range tests {
		if got := split(tt.n, tt.per); !slices.Equal(got, tt.want) {
			t.Errorf("split(%d, %d) = %v; want %v", tt.n, tt.per, got, tt.want)
		}
	}
}

func TestRoomNames(t *testing.T) {
	if got := roomNames("x", 1); !slices.Equal(got, []string{"x"}) {
		t.Errorf("roomNames(x, 1) = %v", got)
	}
	if got := roomNames("x", 3); !slices.Equal(got, []string{"x-0", "x-1", "x-2"}) {
		t.Errorf("roomNames(x, 3) = %v", got)
	}
}
