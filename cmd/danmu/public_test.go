package main

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// TestPublicFlags checks --public-ws-url, --public-http-url,
// --proxy-protocol and the --redis-tls flags' checks.
func TestPublicFlags(t *testing.T) {
	o := parseServe(t, "--public-ws-url", "wss://live.example.test", "--public-http-url", "https://live.example.test/",
		"--proxy-protocol", "10.0.0.0/8, 192.0.2.1")
	o.finish()
	if o.public.pageWebSocket() != "wss://live.example.test/ws" || o.public.http != "https://live.example.test" {
		t.Errorf("public URLs: page %q, http %q", o.public.pageWebSocket(), o.public.http)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32")}
	if !slices.Equal(o.edge.ProxyProtocol, want) || !slices.Equal(o.ingest.ProxyProtocol, want) {
		t.Errorf("--proxy-protocol: edge %v, ingest %v; want %v for both", o.edge.ProxyProtocol, o.ingest.ProxyProtocol, want)
	}
	for _, args := range [][]string{
		{"--public-http-url", "ftp://live.example.test"},
		{"--public-http-url", "https://live.example.test/?a=b"},
		{"--public-http-url", "https://"},
		{"--proxy-protocol", "10.0.0.0/33"},
		{"--proxy-protocol", "balancer.example.test"},
	} {
		var o options
		if err := parseFlags(commandFlags("serve", commandRoles["serve"], &o), args, io.Discard); err == nil {
			t.Errorf("%q succeeded; want a usage error", args)
		}
	}
	for _, args := range [][]string{
		{"--redis-tls-ca", "/nonexistent"},
		{"--redis-tls", "--redis-tls-cert", "client.pem"},
		{"--redis-tls", "--redis-tls-ca", "/nonexistent"},
	} {
		o := parseServe(t, args...)
		if _, err := o.redisTLS.config(); err == nil {
			t.Errorf("%q: the TLS configuration was made; want an error", args)
		}
	}
	if cfg, err := parseServe(t, "--redis-tls", "--redis-tls-server-name", "redis.internal").redisTLS.config(); err != nil || cfg.ServerName != "redis.internal" {
		t.Errorf("--redis-tls: %+v, %v", cfg, err)
	}
}

// TestPublicURLs: with --public-ws-url the demo page's /config.json
// names the public URL of /ws and of the /sse beside it, and the banner gives the public URLs
// beside the addresses the node listens on.
func TestPublicURLs(t *testing.T) {
	n := startNode(t, "serve", "--public-ws-url", "wss://live.example.test", "--public-http-url", "https://live.example.test")
	resp, err := http.Get("http://" + n.apiAddr + "/config.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != `{"ws":"wss://live.example.test/ws","sse":"https://live.example.test/sse"}` {
		t.Errorf("/config.json = %s; want the public URLs", body)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var out bytes.Buffer
	printBanner(&out, slog.New(slog.DiscardHandler), "text", banner{api: ln, public: publicURLs{http: "https://live.example.test"}})
	for _, want := range []string{
		"HTTP API    http://" + ln.Addr().String() + "/v1/rooms/demo/danmaku",
		"Public API  https://live.example.test/v1/rooms/demo/danmaku",
		"Demo page   https://live.example.test/?room=demo",
		"' https://live.example.test/v1/rooms/demo/danmaku",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner has no %q:\n%s", want, &out)
		}
	}
}
