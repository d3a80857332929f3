package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/internal/redistest"
)

// TestOnlineCountIntegration checks the fleet's online counts as the HTTP
// API of an ingest node reports them and as viewers get them: the viewers
// of two edges add up, an edge that stops gracefully withdraws its count at
// once, and one that crashes (a child process killed with SIGKILL) stops
// counting within one --online-ttl.
func TestOnlineCountIntegration(t *testing.T) {
	const ttl = 1500 * time.Millisecond
	srv := redistest.Start(t)
	api := startNode(t, "ingest", "--redis", srv.Addr())
	edgeArgs := []string{"--redis", srv.Addr(), "--online-ttl", ttl.String(), "--online-interval", "100ms"}
	graceful := startNode(t, "edge", edgeArgs...)
	crashing := startProcess(t, "edge", edgeArgs...)

	var inHall, onCrashing []*viewer
	for i := range 2 {
		inHall = append(inHall, watch(t, fmt.Sprintf("graceful#%d", i), graceful.wsAddr, "hall", ""))
	}
	side := watch(t, "graceful-side", graceful.wsAddr, "side", "")
	for i := range 3 {
		onCrashing = append(onCrashing, watch(t, fmt.Sprintf("crashing#%d", i), crashing.wsAddr, "hall", ""))
	}
	inHall = append(inHall, onCrashing...)
	// Each edge publishes every ttl/3.
	waitOnline(t, api.apiAddr, "hall", 5)
	waitOnline(t, api.apiAddr, "side", 1)
	waitViewersOnline(t, inHall, 5)
	waitViewersOnline(t, []*viewer{side}, 1)
	if n, err := online(api.apiAddr, "empty"); err != nil || n != 0 {
		t.Errorf("online(empty) = %d, %v; want 0", n, err)
	}

	if err := graceful.stop(); err != nil {
		t.Fatalf("stopping an edge: %v", err)
	}
	for room, want := range map[string]int{"hall": 3, "side": 0} {
		if n, err := online(api.apiAddr, room); err != nil || n != want {
			t.Errorf("online(%s) right after an edge stopped = %d, %v; want %d", room, n, err, want)
		}
	}
	waitViewersOnline(t, onCrashing, 3)

	crashing.kill()
	killed := time.Now()
	// The crashed edge published at most ttl/3 before the kill, so its
	// count stays valid until at least 2*ttl/3 after it.
	n, err := online(api.apiAddr, "hall")
	if answered := time.Since(killed); answered < 2*ttl/3 && (err != nil || n != 3) {
		t.Errorf("online(hall) %v after an edge crashed = %d, %v; want 3 until its count expires", answered, n, err)
	}
	// Its last publication expired at most ttl after the kill.
	time.Sleep(time.Until(killed.Add(ttl)))
	if n, err := online(api.apiAddr, "hall"); err != nil || n != 0 {
		t.Errorf("online(hall) %v after the last edge crashed = %d, %v; want 0", ttl, n, err)
	}
}

// waitViewersOnline waits until every viewer got an online count of want
// for its room.
func waitViewersOnline(t *testing.T, viewers []*viewer, want int) {
	t.Helper()
	for _, v := range viewers {
		waitFor(t, waitTimeout, fmt.Sprintf("viewer %s told %d online", v.name, want), func() bool {
			return v.online() == want
		})
	}
}

// waitOnline waits until the HTTP API at addr counts want viewers in room.
func waitOnline(t *testing.T, addr, room string, want int) {
	t.Helper()
	waitFor(t, waitTimeout, fmt.Sprintf("online(%s) = %d", room, want), func() bool {
		n, err := online(addr, room)
		return err == nil && n == want
	})
}
