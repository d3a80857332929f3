// Package fanout follows the stream of every room that has local viewers
// and delivers it in batches: one batch per room per flush window, encoded
// once per wire format, the same bytes written to every viewer of that
// format. Viewers are sharded by the goroutine that owns them (an event
// loop); fanout hands each batch to each shard once, never once per viewer.
//
// It imports codec, stream and internal/telemetry (a span per traced
// batch), and never the edge: it declares the small
// interfaces it needs (Executor, Viewer, Encoder) and the edge satisfies
// them.
package fanout
