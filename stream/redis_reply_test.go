package stream

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strconv"
	"testing"

	"github.com/danmu-dev/danmu/codec"

	"github.com/redis/rueidis"
)

// Replies of Redis 7.0 captured on the wire (RESP3 unless named RESP2).
const (
	replyXRange = "*2\r\n" +
		"*2\r\n$15\r\n1700000000000-0\r\n*2\r\n$1\r\nd\r\n$5\r\nhello\r\n" +
		"*2\r\n$15\r\n1700000000000-1\r\n*4\r\n$1\r\nd\r\n$9\r\n{\"t\":\"x\"}\r\n$1\r\nx\r\n$1\r\n1\r\n"
	replyXRead  = "%1\r\n$11\r\ndanmu:{r}:s\r\n" + replyXRange
	replyXRead2 = "*1\r\n*2\r\n$11\r\ndanmu:{r}:s\r\n" + replyXRange
	replyNull   = "_\r\n"
	replyInfo   = "%10\r\n$6\r\nlength\r\n:2\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n" +
		"$17\r\nlast-generated-id\r\n$15\r\n1700000000000-1\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n" +
		"$13\r\nentries-added\r\n:2\r\n$23\r\nrecorded-first-entry-id\r\n$15\r\n1700000000000-0\r\n$6\r\ngroups\r\n:0\r\n" +
		"$11\r\nfirst-entry\r\n*2\r\n$15\r\n1700000000000-0\r\n*2\r\n$1\r\nd\r\n$5\r\nhello\r\n" +
		"$10\r\nlast-entry\r\n*2\r\n$15\r\n1700000000000-1\r\n*4\r\n$1\r\nd\r\n$9\r\n{\"t\":\"x\"}\r\n$1\r\nx\r\n$1\r\n1\r\n"
	replyNoKey = "-ERR no such key\r\n"
)

// respMessage decodes one RESP3 or RESP2 reply into the rueidis message it
// would become, through rueidis' cache serialization (a type byte, an
// 8-byte length, then the payload or the elements). Nesting and element
// counts are capped. ok is false unless in is exactly one reply.
func respMessage(in []byte) (msg rueidis.RedisMessage, ok bool) {
	buf, rest, ok := respToCache(make([]byte, 7, 7+2*len(in)), in, 0)
	if !ok || len(rest) != 0 {
		return msg, false
	}
	return msg, msg.CacheUnmarshalView(buf) == nil
}

func respToCache(dst, in []byte, depth int) (out, rest []byte, ok bool) {
	end := bytes.Index(in, []byte("\r\n"))
	if depth > 8 || end < 1 {
		return dst, in, false
	}
	typ, arg, rest := in[0], string(in[1:end]), in[end+2:]
	header := func(typ byte, n int) []byte { return binary.BigEndian.AppendUint64(append(dst, typ), uint64(n)) }
	switch typ {
	case '+', '-', ',', '(':
		return append(header(typ, len(arg)), arg...), rest, true
	case ':':
		n, err := strconv.ParseInt(arg, 10, 64)
		return binary.BigEndian.AppendUint64(append(dst, typ), uint64(n)), rest, err == nil
	case '#':
		return header(typ, boolInt(arg == "t")), rest, arg == "t" || arg == "f"
	case '_':
		return header(typ, 0), rest, arg == ""
	case '$', '!', '=':
		n, err := strconv.Atoi(arg)
		if err == nil && n == -1 && typ == '$' {
			return header('_', 0), rest, true
		}
		if err != nil || n < 0 || n > len(rest)-2 || string(rest[n:n+2]) != "\r\n" {
			return dst, in, false
		}
		return append(header(typ, n), rest[:n]...), rest[n+2:], true
	case '*', '~', '%':
		n, err := strconv.Atoi(arg)
		if err == nil && n == -1 && typ == '*' {
			return header('_', 0), rest, true
		}
		if err != nil || n < 0 || n > 64 {
			return dst, in, false
		}
		if typ == '%' {
			n *= 2
		}
		out = header(typ, n)
		for range n {
			if out, rest, ok = respToCache(out, rest, depth+1); !ok {
				return dst, in, false
			}
		}
		return out, rest, true
	}
	return dst, in, false
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// xrangeReply encodes entries as Redis replies to XRANGE.
func xrangeReply(entries []Entry) []byte {
	b := []byte("*" + strconv.Itoa(len(entries)) + "\r\n")
	for _, e := range entries {
		id := e.ID.String()
		b = append(b, "*2\r\n$"+strconv.Itoa(len(id))+"\r\n"+id+"\r\n*2\r\n$1\r\nd\r\n$"+strconv.Itoa(len(e.Data))+"\r\n"...)
		b = append(append(b, e.Data...), "\r\n"...)
	}
	return b
}

func mustMessage(t *testing.T, reply string) rueidis.RedisMessage {
	t.Helper()
	msg, ok := respMessage([]byte(reply))
	if !ok {
		t.Fatalf("respMessage(%q) failed", reply)
	}
	return msg
}

func TestAppendEntries(t *testing.T) {
	want := []Entry{
		{ID: codec.ID{MS: 1700000000000}, Data: []byte("hello")},
		{ID: codec.ID{MS: 1700000000000, Seq: 1}, Data: []byte(`{"t":"x"}`)},
	}
	for _, tc := range []struct {
		name  string
		reply string
		want  []Entry
	}{
		{"XRANGE", replyXRange, want},
		{"empty", "*0\r\n", nil},
		{"no d field", "*1\r\n*2\r\n$3\r\n5-1\r\n*2\r\n$1\r\nx\r\n$1\r\n1\r\n", []Entry{{ID: codec.ID{MS: 5, Seq: 1}}}},
		{"fields as a map", "*1\r\n*2\r\n$3\r\n5-1\r\n%1\r\n$1\r\nd\r\n$2\r\nhi\r\n", []Entry{{ID: codec.ID{MS: 5, Seq: 1}, Data: []byte("hi")}}},
		{"d not a string", "*1\r\n*2\r\n$3\r\n5-1\r\n*2\r\n$1\r\nd\r\n*0\r\n", []Entry{{ID: codec.ID{MS: 5, Seq: 1}}}},
		{"odd field list", "*1\r\n*2\r\n$3\r\n5-1\r\n*1\r\n$1\r\nd\r\n", []Entry{{ID: codec.ID{MS: 5, Seq: 1}}}},
		{"bad codec.ID skipped", "*2\r\n*2\r\n$2\r\nxx\r\n*0\r\n*2\r\n$3\r\n6-0\r\n*2\r\n$1\r\nd\r\n$1\r\ny\r\n", []Entry{{ID: codec.ID{MS: 6}, Data: []byte("y")}}},
		{"entry not a pair skipped", "*2\r\n:1\r\n*3\r\n$3\r\n6-0\r\n*0\r\n*0\r\n", nil},
		{"ID not a string skipped", "*1\r\n*2\r\n*0\r\n*0\r\n", nil},
	} {
		msg := mustMessage(t, tc.reply)
		got, err := appendEntries(nil, &msg)
		if err != nil || !equalEntries(got, tc.want) {
			t.Errorf("%s: appendEntries = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	for _, reply := range []string{replyNull, ":1\r\n", replyNoKey} {
		msg := mustMessage(t, reply)
		if got, err := appendEntries(nil, &msg); err == nil {
			t.Errorf("appendEntries(%q) = %v; want an error", reply, got)
		}
	}
}

func equalEntries(a, b []Entry) bool {
	return slices.EqualFunc(a, b, func(x, y Entry) bool { return x.ID == y.ID && bytes.Equal(x.Data, y.Data) })
}

func TestReadStreams(t *testing.T) {
	for _, tc := range []struct {
		reply string
		keys  []string
		fails bool
	}{
		{replyXRead, []string{"danmu:{r}:s"}, false},
		{replyXRead2, []string{"danmu:{r}:s"}, false},
		{replyNull, nil, false},
		{"*-1\r\n", nil, false},
		{"*1\r\n*1\r\n$1\r\nk\r\n", nil, true},
		{"*1\r\n*2\r\n*0\r\n*0\r\n", nil, true},
		{":5\r\n", nil, true},
		{"-ERR wrong\r\n", nil, true},
	} {
		streams, err := readStreams(rueidis.NewResult(mustMessage(t, tc.reply), nil))
		if (err != nil) != tc.fails || len(streams) != len(tc.keys) {
			t.Errorf("readStreams(%q) = %d streams, %v; want %v, error %v", tc.reply, len(streams), err, tc.keys, tc.fails)
		}
		for _, key := range tc.keys {
			if _, ok := streams[key]; !ok {
				t.Errorf("readStreams(%q) lacks %q", tc.reply, key)
			}
		}
	}
}

func TestParseStreamInfo(t *testing.T) {
	info2 := "*20" + replyInfo[3:] // the same fields as a RESP2 array
	for _, tc := range []struct {
		name  string
		reply string
		want  streamInfo
		fails bool
	}{
		{"RESP3", replyInfo, streamInfo{exists: true, length: 2, entriesAdded: 2,
			lastGenerated: codec.ID{MS: 1700000000000, Seq: 1}, first: codec.ID{MS: 1700000000000}}, false},
		{"RESP2", info2, streamInfo{exists: true, length: 2, entriesAdded: 2,
			lastGenerated: codec.ID{MS: 1700000000000, Seq: 1}, first: codec.ID{MS: 1700000000000}}, false},
		{"no such key", replyNoKey, streamInfo{}, false},
		{"empty stream", "%4\r\n$6\r\nlength\r\n:0\r\n$13\r\nentries-added\r\n:3\r\n" +
			"$17\r\nlast-generated-id\r\n$3\r\n9-0\r\n$11\r\nfirst-entry\r\n_\r\n",
			streamInfo{exists: true, entriesAdded: 3, lastGenerated: codec.ID{MS: 9}}, false},
		{"Redis 6.2 (no entries-added)", "%2\r\n$6\r\nlength\r\n:0\r\n$17\r\nlast-generated-id\r\n$3\r\n9-0\r\n", streamInfo{}, true},
		{"bad length", "%3\r\n$6\r\nlength\r\n$1\r\nx\r\n$13\r\nentries-added\r\n:3\r\n$17\r\nlast-generated-id\r\n$3\r\n9-0\r\n", streamInfo{}, true},
		{"bad entries-added", "%3\r\n$6\r\nlength\r\n:1\r\n$13\r\nentries-added\r\n*0\r\n$17\r\nlast-generated-id\r\n$3\r\n9-0\r\n", streamInfo{}, true},
		{"bad last ID", "%3\r\n$6\r\nlength\r\n:1\r\n$13\r\nentries-added\r\n:3\r\n$17\r\nlast-generated-id\r\n$1\r\nx\r\n", streamInfo{}, true},
		{"bad first entry", "%4\r\n$6\r\nlength\r\n:1\r\n$13\r\nentries-added\r\n:3\r\n$17\r\nlast-generated-id\r\n$3\r\n9-0\r\n$11\r\nfirst-entry\r\n*1\r\n$3\r\n9-0\r\n", streamInfo{}, true},
		{"bad first ID", "%4\r\n$6\r\nlength\r\n:1\r\n$13\r\nentries-added\r\n:3\r\n$17\r\nlast-generated-id\r\n$3\r\n9-0\r\n$11\r\nfirst-entry\r\n*2\r\n$1\r\n-\r\n*0\r\n", streamInfo{}, true},
		{"other error", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", streamInfo{}, true},
		{"not a map", ":1\r\n", streamInfo{}, true},
	} {
		got, err := parseStreamInfo(rueidis.NewResult(mustMessage(t, tc.reply), nil))
		if (err != nil) != tc.fails || got != tc.want {
			t.Errorf("%s: parseStreamInfo = %+v, %v; want %+v, error %v", tc.name, got, err, tc.want, tc.fails)
		}
	}
}

func FuzzRedisReplies(f *testing.F) {
	for _, seed := range []string{replyXRange, replyXRead, replyXRead2, replyNull, replyInfo, replyNoKey, "*0\r\n", "*-1\r\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, reply []byte) {
		msg, ok := respMessage(reply)
		if !ok {
			return
		}
		res := rueidis.NewResult(msg, nil)
		if info, err := parseStreamInfo(res); err == nil {
			info.classify(info.first)
		}
		if streams, err := readStreams(res); err == nil {
			for _, entries := range streams {
				_, _ = appendEntries(nil, &entries)
			}
		}
		_, _, _ = rangeEntries(res, 2, true)

		entries, err := appendEntries(nil, &msg)
		if err != nil {
			return
		}
		again, ok := respMessage(xrangeReply(entries))
		if !ok {
			t.Fatalf("xrangeReply(%v) does not decode", entries)
		}
		if got, err := appendEntries(nil, &again); err != nil || !equalEntries(got, entries) {
			t.Fatalf("entries %v re-encoded parse as %v, %v", entries, got, err)
		}
	})
}
