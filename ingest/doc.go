// Package ingest is the HTTP API (fasthttp) through which comments enter
// danmu: it validates a posted comment, runs the hook chain over it (its
// own auth hook, which sets the poster from the bearer token, then the
// rules of package policy: priority, bans, rate limits, the word filter,
// spam repeats and slow mode, then the hooks added with Server.Use),
// answers a refusal with its HTTP status and code, appends the comment's
// stored form to the room's stream and answers with the entry ID. It also
// serves a room's recent history and online count, and the admin API:
// deleting comments, bans, slow mode and reloading the word list.
//
// It imports codec, stream, auth (tokens), policy (the rules and their
// state) and internal/telemetry (tracing posts) only; it must not import fanout, edge or rdb (the online count
// comes through the Presence interface declared here).
package ingest
