package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/danmu-dev/danmu/internal/redistest"
)

// TestFleetIntegration runs one ingest node and two edges on one Redis,
// then on a Redis Cluster of three masters: viewers on both edges get every
// comment posted to any room, the same sequence on every edge, in id order.
func TestFleetIntegration(t *testing.T) {
	t.Run("Redis", func(t *testing.T) {
		srv := redistest.Start(t)
		testFleetDelivery(t, srv.Addr())
	})
	t.Run("RedisCluster", func(t *testing.T) {
		c := redistest.StartCluster(t)
		testFleetDelivery(t, strings.Join(c.Addrs, ","))
	})
}

// testFleetDelivery posts comments to several rooms from concurrent
// publishers (so that posts share pipelined round trips, and rooms of a
// cluster sit on different nodes) and checks what two viewers on each of
// two edges get.
func testFleetDelivery(t *testing.T, redis string) {
	const (
		publishers = 3
		perRoom    = 20 // posts per publisher and room
	)
	rooms := []string{"lobby", "stage", "backstage"}
	api := startNode(t, "ingest", "--redis", redis)
	edges := []*node{
		startNode(t, "edge", "--redis", redis, "--max-batch", "1000"),
		startNode(t, "edge", "--redis", redis, "--max-batch", "1000"),
	}
	viewers := make(map[string][]*viewer)
	for _, room := range rooms {
		for e, edge := range edges {
			for i := range 2 {
				name := fmt.Sprintf("%s@edge%d#%d", room, e, i)
				viewers[room] = append(viewers[room], watch(t, name, edge.wsAddr, room, ""))
			}
		}
	}

	var mu sync.Mutex
	texts := make(map[string]map[string]string) // room → id → text
	for _, room := range rooms {
		texts[room] = make(map[string]string)
	}
	var wg sync.WaitGroup
	for _, room := range rooms {
		for p := range publishers {
			wg.Go(func() {
				for i := range perRoom {
					text := fmt.Sprintf("%s %d/%d", room, p, i)
					res := post(api.apiAddr, room, text)
					if res.transErr != nil || res.status != 201 {
						t.Errorf("POST %q = %d %q %v; want 201", text, res.status, res.code, res.transErr)
						return
					}
					mu.Lock()
					texts[room][res.id] = text
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	for _, room := range rooms {
		ids := make([]string, 0, len(texts[room]))
		for id := range texts[room] {
			ids = append(ids, id)
		}
		if len(ids) != publishers*perRoom {
			t.Fatalf("room %s: %d distinct ids for %d posts", room, len(ids), publishers*perRoom)
		}
		want := sortedIDs(t, ids)
		waitHas(t, viewers[room], ids)
		for _, v := range viewers[room] {
			comments, gapsAt, dropped := v.snapshot()
			if len(gapsAt) > 0 || dropped > 0 {
				t.Errorf("viewer %s: gaps at %v, %d dropped; want none", v.name, gapsAt, dropped)
			}
			if len(comments) != len(want) {
				t.Errorf("viewer %s got %d comments; want the %d posted", v.name, len(comments), len(want))
				continue
			}
			for i, c := range comments {
				if c.id != want[i] || c.text != texts[room][c.id.String()] {
					t.Errorf("viewer %s: comment %d is %v %q; want %v %q", v.name, i, c.id, c.text, want[i], texts[room][want[i].String()])
					break
				}
			}
		}
	}
}
