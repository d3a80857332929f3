package codec

import (
	"github.com/bytedance/sonic"
)

// Message is one comment. Ingest appends it to its room's stream as a
// stored record (EncodeStored), the stream assigns its ID, and readers
// decode each record once (DecodeEntry). Its JSON, in this field order, is
// the message object of the native protocol and of the HTTP API.
type Message struct {
	ID string `json:"id,omitempty"`
	// Prio above zero marks an admin, system or paid message: delivered
	// first in its batch and never dropped by the per-frame cap.
	Prio int `json:"prio,omitempty"`
	// CID is the client's own id for the comment: a client that retries
	// a POST after an ambiguous failure sends the same CID, and readers
	// show only the first stored copy of the author's (UID's) post with
	// that CID (see RetryKey).
	CID   string `json:"cid,omitempty"`
	UID   string `json:"uid"`
	Name  string `json:"name"`
	Text  string `json:"text"`
	Color string `json:"color"`
	Mode  string `json:"mode"`
	TS    int64  `json:"ts"`
}

// JSON is the sonic configuration danmu decodes and encodes JSON with,
// where it does not by hand (a stored record's body, AppendStored; a
// posted comment, in ingest: both checked against it). ValidateString rejects raw control characters in strings, but
// sonic replaces invalid UTF-8 with U+FFFD rather than failing: callers
// check utf8.Valid on input first. Unmarshal copies its input, so
// decoded strings never alias a reused buffer
// (TestDecodeClientMessageCopies).
var JSON = sonic.Config{ValidateString: true}.Froze()
