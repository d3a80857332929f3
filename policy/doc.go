// Package policy keeps the state behind ingest's abuse rules: token
// buckets (rate limits), first-in-a-window claims (spam repeats), per-room
// slow mode and per-room bans. Memory keeps it in the process, for one
// node; Redis keeps it in Redis, on the process's rdb.Client, so that every
// ingest node of a fleet enforces the same limits. Both implement Store
// with the same semantics.
//
// It imports only rdb of this module.
package policy
