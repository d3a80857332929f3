// Package stream owns the per-room append-only log that ingest writes and
// fan-out follows: the Log interface, the embedded in-process implementation (Memory) and the
// Redis Streams one, which runs on the process's rdb.Client, and the
// Follower that reads what is appended to a set of rooms. Entries are
// identified by codec.ID, the Redis Stream form ("<ms>-<seq>"). It imports
// only codec, rdb, metric and internal/telemetry (a traced append's Redis
// round trip is a span of its own) of this module.
package stream
