// Package stream owns the per-room append-only log that ingest writes and
// fan-out follows: the Log interface, entry IDs in Redis Stream form
// ("<ms>-<seq>"), the embedded in-process implementation (Memory) and the
// Redis Streams one. It imports no other package of this module.
package stream
