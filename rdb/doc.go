// Package rdb owns danmu's connection to Redis. A process makes one
// Client, from one Config (addresses, ACL user, password, key prefix), and
// hands it to everything it keeps in Redis: the stream, the policy state
// and the online counts. rdb owns the key scheme they share, in which
// every key of a room carries the room as a Redis Cluster hash tag
// ("<prefix>{<room>}:<name>", so that a room's keys sit in one slot), and
// what counts as Redis being unavailable (ErrUnavailable).
//
// It imports no other package of this module.
package rdb
