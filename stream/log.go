package stream

import (
	"context"
	"errors"
	"time"

	"github.com/danmu-dev/danmu/codec"

	"github.com/danmu-dev/danmu/rdb"
)

// ErrUnavailable reports that the log could not be reached or did not answer
// in time. An Append that fails with it may or may not have been stored. It
// is rdb.ErrUnavailable, the one error of everything kept in Redis.
var ErrUnavailable = rdb.ErrUnavailable

// ErrTooManyRooms reports that an Append to a room without entries failed
// because MemoryConfig.MaxRooms rooms hold entries. Nothing was stored.
var ErrTooManyRooms = errors.New("stream: too many rooms")

// Entry is one stored record. Data is the opaque payload given to Append; it
// is shared and must not be modified.
type Entry struct {
	ID   codec.ID
	Data []byte
}

// Page is a run of one room's entries, oldest first.
type Page struct {
	Room    string
	Entries []Entry
	// Gap reports that entries after the requested position are missing
	// from Entries: they were trimmed by retention, a Query's Limit cut
	// older ones off, or the log was reset (a Redis restarted without its
	// data). The reader cannot get them back. After a reset, Entries start
	// from the new beginning of the log and their IDs may be lower than
	// the position asked for: readers move their cursor to the last entry
	// of the page, whatever it is.
	Gap bool
}

// Query selects entries of one room: those after After and, unless Through
// is zero, at or before Through.
type Query struct {
	Room    string
	After   codec.ID
	Through codec.ID
	// Limit caps the number of entries; zero means no cap.
	Limit int
	// Newest keeps the newest Limit entries instead of the oldest (the
	// page is still oldest first) and sets Gap when older ones were cut.
	Newest bool
}

// Cursor is a position to follow one room from.
type Cursor struct {
	Room  string
	After codec.ID
}

// Log is a set of per-room append-only logs with bounded retention. The
// embedded Memory log and the Redis Streams log implement it with the same
// semantics, so ingest and fan-out work unchanged on either.
type Log interface {
	// Append stores data as the newest entry of room and returns its ID.
	// It returns only after the entry is stored. It keeps a copy of
	// data, never data itself, and does not touch it once it returns, even
	// on error: the caller may reuse it (ingest encodes records into
	// pooled buffers).
	Append(ctx context.Context, room string, data []byte) (codec.ID, error)
	// Range returns the entries q selects, oldest first.
	Range(ctx context.Context, q Query) (Page, error)
	// Last returns the ID of room's newest entry, or the zero ID when the
	// room has none.
	Last(ctx context.Context, room string) (codec.ID, error)
	// Read returns, for each cursor whose room has entries after it, up to
	// count of them (oldest first). When no room has any, it waits up to
	// block for one to arrive and returns an empty result on timeout.
	Read(ctx context.Context, cursors []Cursor, count int, block time.Duration) ([]Page, error)
}
