package loadgen

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
)

// wsGUID is the constant of RFC 6455 that the accept key is derived with.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

var (
	errUpgradeStatus = errors.New("loadgen: upgrade refused")
	errUpgradeAccept = errors.New("loadgen: wrong Sec-WebSocket-Accept")
)

// appendUpgradeRequest appends the HTTP request that opens a WebSocket to
// path on host.
func appendUpgradeRequest(dst []byte, host, path, key string) []byte {
	dst = append(dst, "GET "...)
	dst = append(dst, path...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, host...)
	dst = append(dst, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	dst = append(dst, key...)
	return append(dst, "\r\nSec-WebSocket-Version: 13\r\n\r\n"...)
}

// acceptKey returns the Sec-WebSocket-Accept value that answers key.
func acceptKey(key string) string {
	sum := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// checkUpgradeResponse checks a response head (status line and headers,
// through the blank line): status 101 and the accept key that answers the
// request's key.
func checkUpgradeResponse(head []byte, accept string) error {
	status, rest, _ := bytes.Cut(head, []byte("\r\n"))
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 101")) {
		return fmt.Errorf("%w: %q", errUpgradeStatus, status)
	}
	for line := range bytes.SplitSeq(rest, []byte("\r\n")) {
		name, value, found := bytes.Cut(line, []byte{':'})
		if found && bytes.EqualFold(bytes.TrimSpace(name), []byte("Sec-WebSocket-Accept")) {
			if string(bytes.TrimSpace(value)) == accept {
				return nil
			}
			return fmt.Errorf("%w: %q", errUpgradeAccept, value)
		}
	}
	return fmt.Errorf("%w: missing", errUpgradeAccept)
}
