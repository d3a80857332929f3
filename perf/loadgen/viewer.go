package loadgen

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync/atomic"
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

// viewer is one WebSocket viewer. Its goroutine owns it; the worker reads
// its results only after the goroutine ended.
type viewer struct {
	w     *worker
	index int // global viewer number
	room  string
	local net.IP

	// conn is the open connection, stored before the viewer checks for
	// stop so that stop, which cancels first and then loads conn, always
	// reaches a connection that blocks.
	conn atomic.Pointer[net.TCPConn]

	// Owned by the viewer's goroutine.
	joined bool // the first join succeeded
	msgs   int64
	sample *sample // nil unless sampled
	out    []byte  // scratch for pongs and close frames
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

// run connects, reads until stop, and reconnects after a lost connection
// when the plan says so. joined is called once, when the first join
// succeeded or failed for good.
func (v *viewer) run(ctx context.Context, joined func(ok bool)) {
	w := v.w
	first := true
	for attempt := 0; ; attempt++ {
		conn, r, err := v.connect(ctx, first)
		if err != nil {
			if ctx.Err() != nil || (first && attempt >= 2) {
				if first {
					w.counters.failed.Add(1)
					w.logf("viewer %d: %v", v.index, err)
					joined(false)
				}
				return
			}
			if !SleepCtx(ctx, time.Duration(50+rand.IntN(100))*time.Millisecond) {
				if first {
					w.counters.failed.Add(1)
					joined(false)
				}
				return
			}
			continue
		}
		if first {
			first = false
			v.joined = true
			joined(true)
		} else {
			w.counters.reconnects.Add(1)
			w.noteReconnect(time.Now().UnixNano())
		}
		attempt = 0
		w.counters.open.Add(1)
		gen := w.forceGen.Load()
		err = v.read(conn, r)
		w.counters.open.Add(-1)
		if ctx.Err() != nil {
			v.closePolitely(conn)
			return
		}
		_ = conn.Close()
		if w.forceGen.Load() == gen {
			w.counters.disconnects.Add(1)
			if !errors.Is(err, errServerClosed) {
				w.logf("viewer %d: disconnected: %v", v.index, err)
			}
		}
		if !w.plan.Reconnect {
			return
		}
	}
}

// connect dials, upgrades and reads the joined message.
func (v *viewer) connect(ctx context.Context, first bool) (*net.TCPConn, *wsReader, error) {
	w := v.w
	select {
	case w.dialSlots <- struct{}{}:
		defer func() { <-w.dialSlots }()
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	start := time.Now()
	if first {
		w.noteDial(start.UnixNano())
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: v.local}, Timeout: w.plan.ConnectTimeout}
	c, err := d.DialContext(ctx, "tcp", w.plan.WSAddr)
	if err != nil {
		return nil, nil, err
	}
	conn := c.(*net.TCPConn)
	v.conn.Store(conn)
	if ctx.Err() != nil {
		_ = conn.Close()
		return nil, nil, ctx.Err()
	}
	_ = conn.SetDeadline(start.Add(w.plan.ConnectTimeout))
	r, err := v.upgrade(conn)
	if err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	if ctx.Err() != nil {
		_ = conn.Close()
		return nil, nil, ctx.Err()
	}
	if first {
		w.noteJoin(start, time.Unix(0, r.readAt))
	}
	return conn, r, nil
}

// upgrade sends the upgrade request and reads the answer and the joined
// message, which must be the first message.
func (v *viewer) upgrade(conn *net.TCPConn) (*wsReader, error) {
	w := v.w
	var raw [16]byte
	binary.LittleEndian.PutUint64(raw[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(raw[8:], rand.Uint64())
	key := base64.StdEncoding.EncodeToString(raw[:])
	target := "/ws?room=" + v.room
	if rate := w.plan.Layout.maxRate(v.index); rate > 0 {
		target += "&max_rate=" + strconv.Itoa(rate)
	}
	v.out = appendUpgradeRequest(v.out[:0], w.plan.WSAddr, target, key)
	if _, err := conn.Write(v.out); err != nil {
		return nil, err
	}
	r := newWSReader(conn, 1024, w.plan.MaxMessage)
	head, err := r.readHead(8 << 10)
	if err != nil {
		return nil, err
	}
	if err := checkUpgradeResponse(head, acceptKey(key)); err != nil {
		return nil, err
	}
	for {
		op, payload, err := r.next()
		if err != nil {
			return nil, err
		}
		switch op {
		case opPing, opPong:
			continue
		case opClose:
			return nil, fmt.Errorf("%w before joined: code %d", errServerClosed, closeCode(payload))
		}
		if !bytes.Contains(payload, joinedMarker) {
			return nil, fmt.Errorf("%w: %.80q", errNotJoined, payload)
		}
		v.onMessage(payload, r.readAt)
		return r, nil
	}
}

// read processes frames until the connection ends.
func (v *viewer) read(conn *net.TCPConn, r *wsReader) error {
	for {
		op, payload, err := r.next()
		if err != nil {
			if isProtocolError(err) {
				v.w.counters.malformed.Add(1)
			}
			return err
		}
		switch op {
		case opText, opBinary:
			v.onMessage(payload, r.readAt)
		case opPing:
			if err := v.send(conn, opPong, payload); err != nil {
				return err
			}
		case opClose:
			code := closeCode(payload)
			_ = v.send(conn, opClose, payload[:min(2, len(payload))])
			return fmt.Errorf("%w: code %d", errServerClosed, code)
		}
	}
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

// send writes one masked frame.
func (v *viewer) send(conn *net.TCPConn, op byte, payload []byte) error {
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], rand.Uint32())
	v.out = appendClientFrame(v.out[:0], op, payload, key)
	_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, err := conn.Write(v.out)
	return err
}

// closePolitely sends close 1000 and closes the connection.
func (v *viewer) closePolitely(conn *net.TCPConn) {
	_ = v.send(conn, opClose, []byte{0x03, 0xE8})
	_ = conn.Close()
}

// isProtocolError reports whether err means the server broke RFC 6455,
// as opposed to the connection ending.
func isProtocolError(err error) bool {
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
