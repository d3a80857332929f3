package fanout

import (
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/internal/telemetry"
)

// spanBatch names the span of one room batch on one node.
const spanBatch = "fanout batch"

// batchTrace is the span of one room batch on this node: it starts at the
// flush, links to the traces of the posts in the batch, and ends when the
// last shard has written the batch to its viewers. A nil *batchTrace is
// a batch that is not traced.
type batchTrace struct {
	span telemetry.Span
	// pending counts the shards that have not written the batch yet.
	pending atomic.Int32
	// oldestMS and newestMS are the stream times (Unix ms) of the batch's
	// oldest and newest messages, when they were appended; zero without
	// messages.
	oldestMS, newestMS uint64
}

// startBatchTrace starts the span of the batch of items going to shards
// shards, where viewers watch the room in the variants (encoding and tier)
// need marks. It
// returns nil, allocating nothing, when tracing is off or the sampler
// leaves the batch out (it keeps every batch that holds a sampled post).
func (r *room) startBatchTrace(items []codec.Item, shards int, need []bool, viewers int) *batchTrace {
	span := r.hub.cfg.Tracer.StartLinked(spanBatch, telemetry.Consumer, items)
	if !span.Recording() {
		return nil
	}
	encodings := 0
	for _, n := range need {
		if n {
			encodings++
		}
	}
	span.SetAttributes(
		attribute.String("danmu.room", r.name),
		attribute.Int("danmu.batch.size", len(items)),
		attribute.Int("danmu.batch.encodings", encodings),
		attribute.Int("danmu.batch.viewers", viewers),
		attribute.Int("danmu.batch.shards", shards),
	)
	bt := &batchTrace{span: span}
	bt.pending.Store(int32(shards))
	for i := range items {
		ms := items[i].ID.MS
		if bt.oldestMS == 0 || ms < bt.oldestMS {
			bt.oldestMS = ms
		}
		bt.newestMS = max(bt.newestMS, ms)
	}
	return bt
}

// written records that one shard has written the batch; the last one sets
// the time from the append of the batch's oldest and newest messages to
// the end of the loops' writes, and ends the span.
func (bt *batchTrace) written() {
	if bt == nil || bt.pending.Add(-1) > 0 {
		return
	}
	if bt.oldestMS > 0 {
		now := time.Now().UnixMilli()
		bt.span.SetAttributes(
			attribute.Int64("danmu.batch.append_to_write_max_ms", now-int64(bt.oldestMS)),
			attribute.Int64("danmu.batch.append_to_write_min_ms", now-int64(bt.newestMS)),
		)
	}
	bt.span.End()
}
