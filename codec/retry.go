package codec

// A client that retries a post after an ambiguous failure sends the same
// cid again, so both attempts may be stored. Readers show only the first
// stored copy of a post: fan-out within its de-duplication window, replay
// and history within the run of entries they read (Visible).
//
// A cid belongs to its author. The copies of one post are the stored
// messages with the same uid and cid, so nobody can hide another user's
// comment by posting its cid first. A retry key holds both,
// `<cid>","uid":"<uid>`.
const retryKeySeparator = `","uid":"`

// RetryKey returns the retry key of m: its cid and uid, or "" when m has
// no cid, or its cid or uid is not a valid id (a legacy record may hold
// anything): such a message is never taken for a copy. Both are ids, which
// hold no quote, so a key splits one way only.
func RetryKey(m *Message) string {
	if !ValidCID(m.CID) || !ValidUID(m.UID) {
		return ""
	}
	return m.CID + retryKeySeparator + m.UID
}
