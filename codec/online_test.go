package codec

import (
	"encoding/json"
	"testing"

	"github.com/gobwas/ws"
)

func TestAppendOnline(t *testing.T) {
	for _, count := range []int{0, 7, 10, 99, 12345, -1, -30} {
		got := string(AppendOnlineJSON([]byte("x"), "room-1", count))
		count = max(count, 0)
		var v struct {
			Type  string `json:"type"`
			Room  string `json:"room"`
			Count int    `json:"count"`
		}
		if err := json.Unmarshal([]byte(got[1:]), &v); err != nil || got[0] != 'x' ||
			v.Type != "online" || v.Room != "room-1" || v.Count != count {
			t.Errorf("AppendOnlineJSON(%d) = %s (%v); want an online message", count, got, err)
		}
		frame := AppendOnlineFrame(nil, "room-1", count)
		h, n, err := ParseHeader(frame)
		if err != nil || h.OpCode != ws.OpText || !h.Fin || int(h.Length) != len(frame)-n || string(frame[n:]) != got[1:] {
			t.Errorf("AppendOnlineFrame(%d) = %q; want a text frame around %s", count, frame, got[1:])
		}
	}
}
