package stream

import (
	"errors"
	"fmt"
	"strings"

	"github.com/danmu-dev/danmu/codec"

	"github.com/redis/rueidis"
)

// errReply reports a Redis reply of an unexpected shape. The Redis log
// wraps it in ErrUnavailable.
var errReply = errors.New("unexpected reply")

// appendEntries appends the entries of an XRANGE-shaped reply (an array of
// [id, [field, value, ...]]) to dst. What Redis returns is never a reason to
// panic: an entry whose ID does not parse is skipped, and an entry without a
// "d" field, written by something else, is kept with empty Data so that
// readers still move past it. Data aliases the reply (rueidis AsBytes), which
// nothing else references.
func appendEntries(dst []Entry, msg *rueidis.RedisMessage) ([]Entry, error) {
	items, err := msg.ToArray()
	if err != nil {
		return dst, fmt.Errorf("%w: entries: %w", errReply, err)
	}
	if dst == nil && len(items) > 0 {
		dst = make([]Entry, 0, len(items))
	}
	for i := range items {
		pair, err := items[i].ToArray()
		if err != nil || len(pair) != 2 {
			continue
		}
		s, err := pair[0].ToString()
		if err != nil {
			continue
		}
		id, err := codec.ParseID(s)
		if err != nil {
			continue
		}
		dst = append(dst, Entry{ID: id, Data: entryData(&pair[1])})
	}
	return dst, nil
}

// entryData returns the value of the "d" field of an entry's field list, or
// nil if there is none.
func entryData(fields *rueidis.RedisMessage) []byte {
	if fields.IsMap() {
		m, err := fields.AsMap()
		if err != nil {
			return nil
		}
		v, ok := m[dataField]
		if !ok {
			return nil
		}
		data, _ := v.AsBytes()
		return data
	}
	list, err := fields.ToArray()
	if err != nil {
		return nil
	}
	for i := 0; i+1 < len(list); i += 2 {
		if f, err := list[i].ToString(); err == nil && f == dataField {
			data, _ := list[i+1].AsBytes()
			return data
		}
	}
	return nil
}

// readStreams returns the streams of an XREAD reply by key: a RESP3 map, or
// the RESP2 array of [key, entries]. A nil reply (BLOCK timed out) has none.
func readStreams(res rueidis.RedisResult) (map[string]rueidis.RedisMessage, error) {
	msg, err := res.ToMessage()
	if rueidis.IsRedisNil(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if msg.IsMap() {
		streams, err := msg.AsMap()
		if err != nil {
			return nil, fmt.Errorf("%w: XREAD: %w", errReply, err)
		}
		return streams, nil
	}
	list, err := msg.ToArray()
	if err != nil {
		return nil, fmt.Errorf("%w: XREAD: %w", errReply, err)
	}
	streams := make(map[string]rueidis.RedisMessage, len(list))
	for i := range list {
		pair, err := list[i].ToArray()
		if err != nil || len(pair) != 2 {
			return nil, fmt.Errorf("%w: XREAD stream %d", errReply, i)
		}
		key, err := pair[0].ToString()
		if err != nil {
			return nil, fmt.Errorf("%w: XREAD stream %d: %w", errReply, i, err)
		}
		streams[key] = pair[1]
	}
	return streams, nil
}

// streamInfo is what the log needs from XINFO STREAM.
type streamInfo struct {
	exists        bool
	length        int64
	entriesAdded  int64 // ever added since the stream was created
	lastGenerated codec.ID
	first         codec.ID // oldest retained entry; zero when length is zero
}

// parseStreamInfo parses an XINFO STREAM reply. A missing key gives the
// zero streamInfo, whose exists is false.
func parseStreamInfo(res rueidis.RedisResult) (streamInfo, error) {
	msg, err := res.ToMessage()
	if err != nil {
		var redisErr *rueidis.RedisError
		// XINFO STREAM has no other way to say the key does not exist.
		if errors.As(err, &redisErr) && strings.Contains(redisErr.Error(), "no such key") {
			return streamInfo{}, nil
		}
		return streamInfo{}, err
	}
	fields, err := msg.AsMap()
	if err != nil {
		return streamInfo{}, fmt.Errorf("%w: XINFO STREAM: %w", errReply, err)
	}
	info := streamInfo{exists: true}
	length, okLength := fields["length"]
	added, okAdded := fields["entries-added"]
	last, okLast := fields["last-generated-id"]
	if !okLength || !okAdded || !okLast {
		return streamInfo{}, fmt.Errorf("%w: XINFO STREAM lacks length, entries-added or last-generated-id (Redis < 7.0?)", errReply)
	}
	if info.length, err = length.AsInt64(); err != nil {
		return streamInfo{}, fmt.Errorf("%w: XINFO STREAM length: %w", errReply, err)
	}
	if info.entriesAdded, err = added.AsInt64(); err != nil {
		return streamInfo{}, fmt.Errorf("%w: XINFO STREAM entries-added: %w", errReply, err)
	}
	if info.lastGenerated, err = parseIDMessage(&last); err != nil {
		return streamInfo{}, fmt.Errorf("%w: XINFO STREAM last-generated-id: %w", errReply, err)
	}
	if first, ok := fields["first-entry"]; ok && info.length > 0 {
		pair, err := first.ToArray()
		if err != nil || len(pair) != 2 {
			return streamInfo{}, fmt.Errorf("%w: XINFO STREAM first-entry", errReply)
		}
		if info.first, err = parseIDMessage(&pair[0]); err != nil {
			return streamInfo{}, fmt.Errorf("%w: XINFO STREAM first-entry: %w", errReply, err)
		}
	}
	return info, nil
}

// parseIDMessage parses a string reply holding an entry ID.
func parseIDMessage(msg *rueidis.RedisMessage) (codec.ID, error) {
	s, err := msg.ToString()
	if err != nil {
		return codec.ID{}, err
	}
	return codec.ParseID(s)
}

// infoCommand returns XINFO STREAM for room's stream.
func (r *Redis) infoCommand(room string) rueidis.Completed {
	return r.client.B().XinfoStream().Key(r.key(room)).Build()
}
