package floor

import (
	"bytes"
	"strings"
	"testing"

	"github.com/danmu-dev/danmu/codec"
)

const sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="

func upgradeRequest(target, key string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
}

func TestParseUpgrade(t *testing.T) {
	for _, tc := range []struct {
		req       string
		room, key string // empty: refused
	}{
		{upgradeRequest("/ws?room=lobby", sampleKey), "lobby", sampleKey},
		{upgradeRequest("/ws?max_rate=5&room=r-1&since=0", sampleKey), "r-1", sampleKey},
		{"GET /ws?room=a HTTP/1.1\r\nsec-websocket-key:   k  \r\n\r\n", "a", "k"},
		{upgradeRequest("/ws", sampleKey), "", ""},
		{upgradeRequest("/ws?room=", sampleKey), "", ""},
		{upgradeRequest("/ws?room=a%20b", sampleKey), "", ""},
		{upgradeRequest("/ws?room=a", ""), "", ""},
		{upgradeRequest("/ws?room=a", "k\nInjected: 1"), "", ""},
		{"GET /ws?room=a\r\nSec-WebSocket-Key: k\r\n\r\n", "", ""},
		{"GET %zz HTTP/1.1\r\nSec-WebSocket-Key: k\r\n\r\n", "", ""},
		{"", "", ""},
	} {
		room, key, err := parseUpgrade([]byte(tc.req))
		if room != tc.room || key != tc.key || (err == nil) != (tc.room != "") {
			t.Errorf("parseUpgrade(%q) = %q, %q, %v; want %q, %q", tc.req, room, key, err, tc.room, tc.key)
		}
	}
}

// TestUpgradeAnswer checks the answer against RFC 6455's own example of
// a key and its accept value.
func TestUpgradeAnswer(t *testing.T) {
	got := string(appendUpgradeAnswer(nil, "lobby", sampleKey))
	head, frame, _ := strings.Cut(got, "\r\n\r\n")
	if !strings.HasPrefix(head, "HTTP/1.1 101 ") || !strings.Contains(head+"\r\n", "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") {
		t.Errorf("answer head %q", head)
	}
	if want := string(codec.AppendFrame(nil, 0x1, []byte(`{"type":"joined","room":"lobby"}`))); frame != want {
		t.Errorf("joined frame %q; want %q", frame, want)
	}
}

// FuzzParseUpgrade checks that parseUpgrade never panics and accepts only
// a valid room and a key without control characters, both from the
// request.
func FuzzParseUpgrade(f *testing.F) {
	for _, seed := range []string{
		upgradeRequest("/ws?room=lobby", sampleKey),
		upgradeRequest("/ws?room=a&room=b", sampleKey),
		"GET /ws?room=a HTTP/1.1\r\nSec-WebSocket-Key: k\r\nSec-WebSocket-Key: j\r\n\r\n",
		"GET http://h/ws?room=a HTTP/1.1\r\nSec-WebSocket-Key: \x00\r\n\r\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, req []byte) {
		room, key, err := parseUpgrade(req)
		if err != nil {
			if room != "" || key != "" {
				t.Fatalf("parseUpgrade(%q) = %q, %q and %v", req, room, key, err)
			}
			return
		}
		if !codec.ValidRoom(room) || key == "" || strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("parseUpgrade(%q) accepted room %q, key %q", req, room, key)
		}
		if !bytes.Contains(req, []byte(key)) {
			t.Fatalf("parseUpgrade(%q) returned key %q, not in the request", req, key)
		}
	})
}
