package loadgen

import (
	"bytes"
	"context"
	"errors"
	"net"
	"time"

	"github.com/danmu-dev/danmu/codec"
)

var (
	idMarker      = []byte(`{"id":"`)
	droppedMarker = []byte(`"dropped":`)
	joinedMarker  = []byte(`"type":"joined"`)

	errNotJoined    = errors.New("loadgen: first message is not joined")
	errServerClosed = errors.New("loadgen: server sent close")
)

// viewer is one WebSocket viewer. The event loop that serves it owns it;
// the worker reads its results only after the loop ended.
type viewer struct {
	w     *worker
	index int // global viewer number
	room  string
	local net.IP

	// Owned by the viewer's loop.
	first    bool // the first join is still to come
	joined   bool // the first join succeeded
	attempts int  // failed connects since the last join
	msgs     int64
	sample   *sample // nil unless sampled
	out      []byte  // scratch for the upgrade request, pongs and closes

	// The connection, while state is not stateIdle.
	state    int
	fd       int
	src      fdReader
	r        *wsReader
	key      string    // Sec-WebSocket-Key of the upgrade
	headRead bool      // the 101 was read and checked
	start    time.Time // when the connect began
	gen      int64     // the worker's forceGen when it joined
}

// sample is the extra state of a sampled viewer.
type sample struct {
	received Bitset
	dups     int64
	foreign  int64 // messages whose text the generator did not write
	lat      []int64
}

// wireFrame is what a sampled viewer decodes of a server message.
type wireFrame struct {
	Type string `json:"type"`
	Msgs []struct {
		Text string `json:"text"`
	} `json:"msgs"`
}

// onMessage counts the messages of a data message read at readAt (unix
// ns); a sampled viewer also decodes it.
func (v *viewer) onMessage(payload []byte, readAt int64) {
	w := v.w
	n := int64(bytes.Count(payload, idMarker))
	v.msgs += n
	w.counters.frames.Add(1)
	w.counters.msgs.Add(n)
	w.counters.bytes.Add(int64(len(payload)))
	// danmu ends a batch with `],"dropped":N}` or `],"dropped":N,"gap":true}`:
	// look only at the tail.
	tail := payload[max(0, len(payload)-48):]
	if i := bytes.LastIndex(tail, droppedMarker); i >= 0 {
		if dropped, _, ok := parseDecimal(tail[i+len(droppedMarker):], 0); ok {
			w.counters.dropped.Add(dropped)
		}
	}
	if v.sample != nil {
		v.decode(payload, readAt)
	}
}

// decode decodes each JSON object of payload (the baseline joins queued
// messages with newlines) and records every message's sequence number and
// latency.
func (v *viewer) decode(payload []byte, readAt int64) {
	s := v.sample
	s.lat = s.lat[:0]
	for line := range bytes.SplitSeq(payload, []byte{'\n'}) {
		var f wireFrame
		if err := codec.JSON.Unmarshal(line, &f); err != nil {
			v.w.counters.malformed.Add(1)
			continue
		}
		for _, m := range f.Msgs {
			_, seq, sent, ok := parseText([]byte(m.Text))
			if !ok {
				s.foreign++
				continue
			}
			if s.received.Has(seq) {
				s.dups++
				continue
			}
			s.received.Set(seq)
			s.lat = append(s.lat, readAt-sent)
		}
	}
	v.w.recordLatency(s.lat)
}

// isProtocolError reports whether err means the server broke RFC 6455,
// as opposed to the connection ending.
func isProtocolError(err error) bool {
	var frameErr *codec.FrameError
	if errors.As(err, &frameErr) {
		return true
	}
	for _, target := range []error{errMaskedFrame, errReservedBits, errReservedOpcode, errBadControlFrame, errBadFragment, errMessageTooLarge} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// SleepCtx sleeps for d and reports whether ctx is still live. A d of
// zero or less does not sleep.
func SleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
