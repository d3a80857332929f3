package ingest

import (
	"bytes"
	"math"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// The JSON of a posted comment is read by hand (decodeComment): decoding
// it with sonic was a quarter of the handler's CPU and three allocations
// per post (docs/performance.md). So is a batch's body, split into its raw
// comments (decodeBatch). The reader is ingest's, not codec's, because what
// it reads is ingest's API: the body's keys, their defaults and the
// answers to a bad one (codec owns the Message and the formats danmu
// writes; the stored record's encoder is there). It accepts and refuses
// exactly what sonic (codec.JSON) did decoding the body into a struct
// (FuzzDecodeCommentSonic, FuzzDecodeBatchSonic): strict JSON (RFC 8259)
// with no raw control character in any string, but for two limits of how
// sonic skips a value (an unknown key's, or a batch's raw comment): how
// deep it may nest (maxSkipDepth), and which escapes of its strings are
// checked (skipString). Every comment still reaches the stream valid: the
// values read are checked in full.

// maxSkipDepth is how deep sonic lets the containers of a skipped value
// (an unknown key's, a raw comment) nest: a container opens at most this
// deep, and one this deep holds no key and no second element.
const maxSkipDepth = 4096

// jsonScanner reads JSON from data, valid UTF-8, from pos on.
type jsonScanner struct {
	data []byte
	pos  int
}

// jsonString is a string of the JSON, its escapes checked but not decoded.
type jsonString struct {
	raw     []byte // between the quotes; aliases the scanned data
	escaped bool   // raw holds an escape
}

// plainByte marks the bytes that stand for themselves in a JSON string.
var plainByte = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c != '"' && c != '\\'
	}
	return t
}()

// skipSpace moves past JSON whitespace and returns the next byte, or 0 at
// the end of data (0 never starts a token: callers refuse it either way).
func (s *jsonScanner) skipSpace() byte {
	for ; s.pos < len(s.data); s.pos++ {
		switch c := s.data[s.pos]; c {
		case ' ', '\t', '\n', '\r':
		default:
			return c
		}
	}
	return 0
}

// end reports whether only whitespace is left.
func (s *jsonScanner) end() bool {
	s.skipSpace()
	return s.pos == len(s.data)
}

// consume moves past c when it is the next byte after whitespace, and
// reports whether it was.
func (s *jsonScanner) consume(c byte) bool {
	if s.skipSpace() != c {
		return false
	}
	s.pos++
	return true
}

// scanString reads the string opening at pos.
func (s *jsonScanner) scanString() (jsonString, bool) {
	start := s.pos + 1
	escaped := false
	for i := start; i < len(s.data); {
		c := s.data[i]
		switch {
		case plainByte[c]:
			i++
		case c == '"':
			s.pos = i + 1
			return jsonString{raw: s.data[start:i], escaped: escaped}, true
		case c == '\\':
			n := escapeLen(s.data[i:])
			if n == 0 {
				return jsonString{}, false
			}
			escaped = true
			i += n
		default: // a control character
			return jsonString{}, false
		}
	}
	return jsonString{}, false
}

// skipString moves past the string opening at pos as sonic skips a string
// of a skipped value (a value's or a key's), where it checks escapes in
// the last bytes of the input only (advance_string_validate in sonic's
// native/scanning.h, found by FuzzDecodeCommentSonic): from the string's
// start it reads blocks of 64 bytes while as many are left, then one of 32
// if as many are, in which a backslash only escapes the next byte and
// control characters alone are refused; the escapes of the bytes after
// the blocks are checked, as in any string (scanString), except for the
// byte a backslash ending the blocks escapes, which is not checked at all.
func (s *jsonScanner) skipString() bool {
	start := s.pos + 1
	blocks := (len(s.data) - start) / 64 * 64
	if len(s.data)-start-blocks >= 32 {
		blocks += 32
	}
	escaped := false
	for i := start; i < start+blocks; i++ {
		switch c := s.data[i]; {
		case c < 0x20:
			return false
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			s.pos = i + 1
			return true
		}
	}
	s.pos = start + blocks - 1 // the scalar part's string opens here
	if escaped {
		s.pos++
	}
	_, ok := s.scanString()
	return ok
}

// escapeLen returns the length of the escape opening b, or 0 when it is
// not a valid one.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if len(b) >= 6 && hex4(b[2:6]) >= 0 {
			return 6
		}
	}
	return 0
}

// hex4 returns the value of the four hex digits of b, or -1.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// nextRune returns the character of the string content raw (its escapes
// checked) at i, and where the next one begins. Escapes decode as
// encoding/json and sonic decode them: a surrogate that is not half of a
// pair becomes U+FFFD.
func nextRune(raw []byte, i int) (rune, int) {
	c := raw[i]
	if c != '\\' {
		if c < utf8.RuneSelf {
			return rune(c), i + 1
		}
		r, n := utf8.DecodeRune(raw[i:])
		return r, i + n
	}
	switch c = raw[i+1]; c {
	case 'u':
		r := hex4(raw[i+2:])
		if !utf16.IsSurrogate(r) {
			return r, i + 6
		}
		if i+12 <= len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
			if pair := utf16.DecodeRune(r, hex4(raw[i+8:])); pair != utf8.RuneError {
				return pair, i + 12
			}
		}
		return utf8.RuneError, i + 6
	case 'b':
		return '\b', i + 2
	case 'f':
		return '\f', i + 2
	case 'n':
		return '\n', i + 2
	case 'r':
		return '\r', i + 2
	case 't':
		return '\t', i + 2
	}
	return rune(c), i + 2 // '"', '\\' or '/'
}

// appendUnquoted appends the value of str to dst. It is never longer than
// str.raw.
func appendUnquoted(dst []byte, str jsonString) []byte {
	raw := str.raw
	if !str.escaped {
		return append(dst, raw...)
	}
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\\')
		if j < 0 {
			return append(dst, raw[i:]...)
		}
		dst = append(dst, raw[i:i+j]...)
		var r rune
		r, i = nextRune(raw, i+j)
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// foldKey writes to dst the key lowered as sonic matches keys to fields
// (strings.ToLower, after an exact match, which a lower-case field name
// implies), and returns its length, or -1 when it is longer than dst or
// lowers to a character that is not ASCII: no field's name then.
func foldKey(dst []byte, key jsonString) int {
	if !key.escaped && len(key.raw) <= len(dst) {
		ascii := true
		for i, c := range key.raw {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst[i] = c
			ascii = ascii && c < utf8.RuneSelf
		}
		if ascii {
			return len(key.raw)
		}
	}
	n := 0
	for i := 0; i < len(key.raw); {
		var r rune
		r, i = nextRune(key.raw, i)
		if r = unicode.ToLower(r); r >= utf8.RuneSelf || n == len(dst) {
			return -1
		}
		dst[n] = byte(r)
		n++
	}
	return n
}

// scanObject reads the JSON object at pos and nothing after it but
// whitespace, as sonic decodes it into a struct: value reads the value of
// each key from s, in order, and reports whether it was valid. Keys are
// checked as any string (scanString), whether value reads them or not.
func (s *jsonScanner) scanObject(value func(key jsonString) bool) bool {
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return s.end()
	}
	for {
		if s.skipSpace() != '"' {
			return false
		}
		key, ok := s.scanString()
		if !ok || !s.consume(':') || !value(key) {
			return false
		}
		switch c := s.skipSpace(); c {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return s.end()
		default:
			return false
		}
	}
}

// scanInt reads the integer at pos, which must fit an int: a number with
// a fraction or an exponent is refused, as sonic refuses it for an int.
func (s *jsonScanner) scanInt() (int, bool) {
	i, neg := s.pos, false
	if i < len(s.data) && s.data[i] == '-' {
		neg = true
		i++
	}
	limit := uint64(math.MaxInt)
	if neg {
		limit++
	}
	var n uint64
	start := i
	for ; i < len(s.data) && s.data[i] >= '0' && s.data[i] <= '9'; i++ {
		if i > start && s.data[start] == '0' {
			break // a leading zero is the whole integer
		}
		d := uint64(s.data[i] - '0')
		if n > (limit-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	if i == start || i < len(s.data) && (s.data[i] == '.' || s.data[i] == 'e' || s.data[i] == 'E') {
		return 0, false
	}
	s.pos = i
	if neg {
		return int(-n), true
	}
	return int(n), true
}

// skipNumber moves past the number at pos.
func (s *jsonScanner) skipNumber() bool {
	d, i := s.data, s.pos
	digits := func() bool {
		start := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	s.pos = i
	return true
}

// skipLiteral moves past word when it is next.
func (s *jsonScanner) skipLiteral(word string) bool {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(word)) {
		return false
	}
	s.pos += len(word)
	return true
}

// skipScalar moves past the string, number, true, false or null at pos,
// whose first byte is c.
func (s *jsonScanner) skipScalar(c byte) bool {
	switch c {
	case '"':
		return s.skipString()
	case 't':
		return s.skipLiteral("true")
	case 'f':
		return s.skipLiteral("false")
	case 'n':
		return s.skipLiteral("null")
	}
	return s.skipNumber()
}

// skipKey moves past the key of an object of a skipped value, and its
// colon.
func (s *jsonScanner) skipKey() bool {
	return s.skipSpace() == '"' && s.skipString() && s.consume(':')
}

// skipValue moves past the value after whitespace at pos, of any type,
// nested containers included, checking it as sonic checks the value of an
// unknown key or a raw message (sonic.NoCopyRawMessage), which it skips
// alike: the same syntax, and no deeper than maxSkipDepth.
func (s *jsonScanner) skipValue() bool {
	var arrays [maxSkipDepth / 64]uint64 // bit d: the container at depth d+1 is an array
	depth := 0
	for {
		// A value is next.
		c := s.skipSpace()
		if c == '[' || c == '{' {
			if depth == maxSkipDepth {
				return false
			}
			close := byte('}')
			if c == '[' {
				arrays[depth/64] |= 1 << (depth % 64)
				close = ']'
			} else {
				arrays[depth/64] &^= 1 << (depth % 64)
			}
			depth++
			s.pos++
			if s.consume(close) {
				depth--
			} else {
				if c == '{' && (depth == maxSkipDepth || !s.skipKey()) {
					return false
				}
				continue
			}
		} else if !s.skipScalar(c) {
			return false
		}
		// A value ended: close the containers it ends.
		for ; depth > 0; depth-- {
			array := arrays[(depth-1)/64]&(1<<((depth-1)%64)) != 0
			c := s.skipSpace()
			s.pos++
			switch {
			case c == ',':
				if depth == maxSkipDepth || !array && !s.skipKey() {
					return false
				}
			case array && c == ']', !array && c == '}':
				continue
			default:
				return false
			}
			break
		}
		if depth == 0 {
			return true
		}
	}
}
