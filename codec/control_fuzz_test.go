package codec

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

func FuzzParseCloseBody(f *testing.F) {
	for _, s := range [][]byte{
		nil,
		{0x03},
		closeBody(1000, ""),
		closeBody(1001, "going away"),
		closeBody(4000, "kicked"),
		closeBody(1005, ""),
		closeBody(1000, "\xff"),
		closeBody(3000, "房间关闭"),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		code, reason, err := ParseCloseBody(p)
		if err != nil {
			var fe *FrameError
			if !errors.As(err, &fe) || code != 0 || reason != "" {
				t.Fatalf("ParseCloseBody(%x) = %d, %q, %v", p, code, reason, err)
			}
			return
		}
		if len(p) == 0 {
			if code != ws.StatusNoStatusRcvd || reason != "" {
				t.Fatalf("ParseCloseBody(empty) = %d, %q", code, reason)
			}
			return
		}
		if !utf8.ValidString(reason) || len(reason) != len(p)-2 {
			t.Fatalf("ParseCloseBody(%x) reason %q", p, reason)
		}
		if len(reason) > 123 {
			return
		}
		// A valid close echoed back with AppendClose parses the same.
		frame := AppendClose(nil, code, reason)
		h, n, err := ParseHeader(frame)
		if err != nil || h.OpCode != ws.OpClose || int(h.Length) != len(frame)-n {
			t.Fatalf("AppendClose(%d, %q) = %x: %+v, %v", code, reason, frame, h, err)
		}
		rcode, rreason, rerr := ParseCloseBody(frame[n:])
		if rcode != code || rreason != reason || rerr != nil {
			t.Fatalf("ParseCloseBody(AppendClose(%d, %q)) = %d, %q, %v", code, reason, rcode, rreason, rerr)
		}
	})
}
