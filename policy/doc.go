// Package policy owns the rules a posted comment must pass, as hooks of
// the chain that ingest runs (Hook, Comment; Hooks makes the built-in
// ones): only admins may raise a prio, banned users may not post, rate
// limits per user, client address and room, the sensitive-word filter
// (Filter), spam repeats and slow mode. A rule refuses with one of the
// errors of errors.go, which ingest answers with an HTTP status and code.
//
// It also owns the state behind the rules: token buckets, first-in-a-window
// claims, slow modes and bans. Memory keeps it in the process, for one
// node; Redis keeps it in Redis, on the process's rdb.Client, so that every
// ingest node of a fleet enforces the same limits. Both implement Store
// with the same semantics.
//
// Its webhooks are hooks that call an HTTP backend: PublishHook asks it
// about every comment before it is stored, StoredHook tells it about every
// stored one, in the background (docs/hooks.md, "Webhooks").
//
// It imports only codec, stream (entry IDs), auth (roles) and rdb of this
// module; never ingest, which imports it.
package policy
