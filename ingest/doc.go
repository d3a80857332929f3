// Package ingest is the HTTP API (fasthttp) through which comments enter
// danmu: it validates a posted comment, passes it through the hook chain
// (auth, priority, bans, rate limits, the word filter, spam repeats, slow
// mode, then the hooks added with Server.Use), appends its stored form to
// the room's stream and answers with the entry ID. It also serves a room's
// recent history and online count, and the admin API: deleting comments,
// bans, slow mode and reloading the word list.
//
// It imports codec, stream, auth (tokens) and policy (the state behind
// limits and moderation) only; it must not import fanout or edge (the
// online count comes through the Presence interface declared here).
package ingest
