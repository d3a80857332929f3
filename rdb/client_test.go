package rdb

import (
	"context"
	"errors"
	"testing"

	"github.com/danmu-dev/danmu/internal/redistest"
)

func TestNew(t *testing.T) {
	srv := redistest.Start(t)
	c, err := New(Config{Addrs: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster() || c.RoomKey("lobby", "s") != "danmu:{lobby}:s" || c.Key("user:u1") != "danmu:user:u1" {
		t.Errorf("defaults: cluster %v, keys %q %q; want a single Redis and the prefix %q",
			c.Cluster(), c.RoomKey("lobby", "s"), c.Key("user:u1"), DefaultKeyPrefix)
	}
	ctx := context.Background()
	if err := c.Do(ctx, c.B().Ping().Build()).Error(); err != nil {
		t.Fatalf("PING: %v", err)
	}
	c.Close()
	if err := c.Do(ctx, c.B().Ping().Build()).Error(); err == nil {
		t.Error("PING after Close succeeded")
	}

	for _, cfg := range []Config{
		{},
		{Addrs: []string{srv.Addr()}, KeyPrefix: "a{b"},
		{Addrs: []string{srv.Addr()}, KeyPrefix: "}"},
	} {
		if c, err := New(cfg); err == nil {
			c.Close()
			t.Errorf("New(%+v) succeeded; want an error", cfg)
		}
	}
	down := redistest.Start(t)
	down.Kill()
	if _, err := New(Config{Addrs: []string{down.Addr()}}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("New(no server) = %v; want ErrUnavailable", err)
	}
	if c, err := New(Config{Addrs: []string{"127.0.0.1:1"}}); err == nil {
		c.Close()
		t.Error("New on a closed port succeeded")
	}
}

func TestNewAuth(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", "secret")
	if c, err := New(Config{Addrs: []string{srv.Addr()}}); err == nil {
		c.Close()
		t.Fatal("New without the password succeeded")
	}
	c, err := New(Config{Addrs: []string{srv.Addr()}, Password: "secret"})
	if err != nil {
		t.Fatalf("New with the password: %v", err)
	}
	defer c.Close()
	if err := c.Do(context.Background(), c.B().Ping().Build()).Error(); err != nil {
		t.Errorf("PING with the password: %v", err)
	}
}
