package edge

import "sync/atomic"

// Stats counts what the edge did. All fields are safe for concurrent use.
type Stats struct {
	// Accepted counts TCP connections accepted; Open those open now.
	Accepted atomic.Uint64
	Open     atomic.Int64
	// Upgraded counts completed WebSocket handshakes; Rejected the
	// handshakes answered with an HTTP error.
	Upgraded atomic.Uint64
	Rejected atomic.Uint64
	// FramesSent counts batch frames written to viewers; FramesSkipped
	// those skipped because the viewer's backlog passed SoftOutbound; and
	// SlowClosed the viewers disconnected past HardOutbound.
	FramesSent    atomic.Uint64
	FramesSkipped atomic.Uint64
	SlowClosed    atomic.Uint64
}
