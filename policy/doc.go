// Package policy keeps the state behind ingest's abuse rules: token
// buckets (rate limits), first-in-a-window claims (spam repeats), per-room
// slow mode and per-room bans. Memory keeps it in the process, for one
// node; Redis keeps it in Redis, so that every ingest node of a fleet
// enforces the same limits. Both implement Store with the same semantics.
//
// It imports no other package of this module.
package policy
