// Package stream owns the per-room append-only log that ingest writes and
// fan-out follows: the Log interface, entry IDs in Redis Stream form
// ("<ms>-<seq>"), the embedded in-process implementation (Memory) and the
// Redis Streams one, which runs on the process's rdb.Client. It imports
// only rdb and metric of this module.
package stream
