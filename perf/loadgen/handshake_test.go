package loadgen

import (
	"errors"
	"strings"
	"testing"
)

func TestAcceptKey(t *testing.T) {
	// The example of RFC 6455, section 1.3.
	if got, want := acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; got != want {
		t.Errorf("acceptKey = %q; want %q", got, want)
	}
}

func TestUpgradeRequest(t *testing.T) {
	got := string(appendUpgradeRequest(nil, "127.0.0.1:7070", "/ws?room=a", "KEY"))
	want := "GET /ws?room=a HTTP/1.1\r\nHost: 127.0.0.1:7070\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: KEY\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if got != want {
		t.Errorf("appendUpgradeRequest = %q; want %q", got, want)
	}
}

func TestCheckUpgradeResponse(t *testing.T) {
	const accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
	tests := []struct {
		head string
		want error
	}{
		{"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n", nil},
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nsec-websocket-accept:" + accept + "  \r\n\r\n", nil},
		{"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", errUpgradeStatus},
		{"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: wrong\r\n\r\n", errUpgradeAccept},
		{"HTTP/1.1 101 Switching Protocols\r\n\r\n", errUpgradeAccept},
		{"", errUpgradeStatus},
	}
	for _, tt := range tests {
		if err := checkUpgradeResponse([]byte(tt.head), accept); !errors.Is(err, tt.want) {
			t.Errorf("checkUpgradeResponse(%q) = %v; want %v", tt.head, err, tt.want)
		}
	}
}

func FuzzCheckUpgradeResponse(f *testing.F) {
	const accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
	f.Add("HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n")
	f.Add("HTTP/1.1 400 Bad Request\r\n\r\n")
	f.Fuzz(func(t *testing.T, head string) {
		if checkUpgradeResponse([]byte(head), accept) == nil && (!strings.HasPrefix(head, "HTTP/1.1 101") || !strings.Contains(head, accept)) {
			t.Fatalf("checkUpgradeResponse(%q) accepted a response without status 101 and the key", head)
		}
	})
}
