package codec

import "bytes"

// A client that retries a post after an ambiguous failure sends the same
// cid again, so both attempts may be stored. Readers show only the first
// stored copy of a post: fan-out within its de-duplication window, replay
// and history within the run of entries they read (Visible).
//
// A cid belongs to its author. The copies of one post are the stored
// messages with the same uid and cid, so nobody can hide another user's
// comment by posting its cid first. The retry key of a message holds both
// as they appear in its stored form, `<cid>","uid":"<uid>`, where fan-out
// can slice it out of the stored bytes without decoding or allocating.
// Both are ids (ValidRoom) and hold no quote, so a key splits one way only.
const retryKeySeparator = `","uid":"`

// RetryKey returns the retry key of m, or "" when m has no cid, or its cid
// or uid is not a valid id: such a message is never taken for a copy.
func RetryKey(m *Message) string {
	if !ValidRoom(m.CID) || !ValidRoom(m.UID) {
		return ""
	}
	return m.CID + retryKeySeparator + m.UID
}

// StoredRetryKey returns the retry key of a stored message, or nil when it
// has none. It finds the cid and the uid by their position, the first keys
// of the stored form after "prio" (see Message), and allocates nothing: the
// result aliases stored. For the stored form of m it equals RetryKey(m).
func StoredRetryKey(stored []byte) []byte {
	rest := stored
	if bytes.HasPrefix(rest, []byte(prioPrefix)) {
		i := bytes.IndexByte(rest, ',')
		if i < 0 {
			return nil
		}
		rest = rest[i+1:]
	} else if len(rest) > 0 {
		rest = rest[1:]
	}
	const cidKey = `"cid":"`
	if !bytes.HasPrefix(rest, []byte(cidKey)) {
		return nil
	}
	key := rest[len(cidKey):]
	cidEnd := bytes.IndexByte(key, '"')
	if cidEnd < 0 || !validID(key[:cidEnd]) || !bytes.HasPrefix(key[cidEnd:], []byte(retryKeySeparator)) {
		return nil
	}
	uidStart := cidEnd + len(retryKeySeparator)
	uidLen := bytes.IndexByte(key[uidStart:], '"')
	if uidLen < 0 || !validID(key[uidStart:uidStart+uidLen]) {
		return nil
	}
	return key[:uidStart+uidLen]
}
