package rdb

import (
	"strconv"
	"testing"

	"github.com/danmu-dev/danmu/internal/redistest"
)

func TestKeys(t *testing.T) {
	c := &Client{prefix: "app:"}
	if got := c.RoomKey("r1", "ban:u2"); got != "app:{r1}:ban:u2" {
		t.Errorf("RoomKey = %q; want app:{r1}:ban:u2", got)
	}
	if got := c.Key("ip:192.0.2.1"); got != "app:ip:192.0.2.1" {
		t.Errorf("Key = %q; want app:ip:192.0.2.1", got)
	}
	if Slot(c.RoomKey("r1", "s")) != Slot(c.RoomKey("r1", "online")) {
		t.Error("two keys of one room are in different slots")
	}
}

func TestSlot(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want uint16
	}{
		{"123456789", 0x31c3},
		{"foo", 12182},
		{"{foo}bar", 12182},
		{"bar{foo}", 12182},
		{"foo{bar}{zap}", Slot("bar")},
		{"foo{{bar}}zap", Slot("{bar")},
		{"foo{}{bar}", Slot("foo{}{bar}")},
		{"danmu:{lobby}:s", Slot("lobby")},
	} {
		if got := Slot(tc.key); got != tc.want {
			t.Errorf("Slot(%q) = %d; want %d", tc.key, got, tc.want)
		}
	}
}

// TestCluster checks Slot against the cluster's own CLUSTER KEYSLOT and
// that New detects a cluster from one of its nodes.
func TestCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	keys := []string{"123456789", "foo", "{foo}bar", "foo{bar}{zap}", "foo{{bar}}zap", "foo{}{bar}", "{}", "a}{b"}
	for i := range 50 {
		keys = append(keys, DefaultKeyPrefix+"{room-"+strconv.Itoa(i)+"}:s")
	}
	for _, key := range keys {
		reply := c.Nodes[0].MustDo("CLUSTER", "KEYSLOT", key)
		want, err := reply.AsInt64()
		if err != nil {
			t.Fatalf("CLUSTER KEYSLOT %q: %v", key, err)
		}
		if got := Slot(key); int64(got) != want {
			t.Errorf("Slot(%q) = %d; CLUSTER KEYSLOT says %d", key, got, want)
		}
	}
	client, err := New(Config{Addrs: c.Addrs[:1]})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if !client.Cluster() {
		t.Error("New on a cluster node did not detect the cluster")
	}
}
