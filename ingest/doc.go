// Package ingest is the HTTP API (fasthttp) through which comments enter
// danmu: it validates a posted comment, appends its stored form to the
// room's stream and answers with the entry ID; it also serves a room's
// recent history and online count. It imports codec and stream only; it
// must not import fanout or edge (the online count comes through the
// Presence interface declared here).
package ingest
